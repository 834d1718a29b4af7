"""HTML pages to body paragraphs and metadata, on real corpus pages and realistic small ones."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.sources.extract import extract_html
from digest.summarise import pick_lead

LEADS = Path(__file__).resolve().parent / "data" / "leads"
TRUTH = json.loads((LEADS / "ground-truth.json").read_text(encoding="utf-8"))


def _first_truth(body: str) -> str:
    return next(line for line in body.split("\n") if len(line.split()) >= 8)


def _flat(text: str) -> str:
    return "".join(text.split()).replace("’", "'")


@pytest.mark.parametrize("page_id", sorted(TRUTH), ids=lambda p: p[:12])
def test_corpus_page_lead_is_the_first_real_paragraph(page_id: str) -> None:
    html = gzip.decompress((LEADS / f"{page_id}.html.gz").read_bytes())
    page = extract_html(html, url=TRUTH[page_id]["url"])
    lead = pick_lead(page.paragraphs, page.title or "")
    assert lead, "no lead picked"
    assert _flat(lead[0]) == _flat(_first_truth(TRUTH[page_id]["articleBody"]))


def test_hover_card_spliced_into_the_first_paragraph_is_repaired() -> None:
    page_id = next(p for p in TRUTH if p.startswith("156770"))
    page = extract_html(gzip.decompress((LEADS / f"{page_id}.html.gz").read_bytes()))
    assert page.paragraphs[0].startswith("South Dakota Gov. Kristi Noem (R) is defending")
    assert "MORE" not in page.paragraphs[0]


def test_teaser_above_the_headline_is_not_body() -> None:
    page_id = next(p for p in TRUTH if p.startswith("232a43"))
    page = extract_html(gzip.decompress((LEADS / f"{page_id}.html.gz").read_bytes()))
    assert page.title == "13-Inch MacBook Pro With Scissor Keyboard Expected in First Half of 2020"
    assert not any("Night mode" in p for p in page.paragraphs)
    assert page.paragraphs[0].startswith("Following the 16-inch MacBook Pro, Apple plans")


# -- small pages ------------------------------------------------------------------------------

FILLER = [
    "The Environment Agency said 40 flood warnings were in force on Tuesday, most of them "
    "along the Calder and the Aire, and that the peak would pass on Wednesday night.",
    "In Hebden Bridge, shopkeepers moved stock upstairs for the second time in a month and "
    "volunteers filled sandbags outside the town hall until late in the evening.",
    "The council said the new flood walls, begun in the spring, would not be finished before "
    "the end of the year because the contractor had been unable to work in the high water.",
]
LEAD = (
    "Schools across the north of the country stayed shut on Tuesday as rivers rose for a "
    "third day and forecasters warned of more rain to come."
)
TITLE = "Storm closes schools across the north as rivers keep rising"


def _page(body: str, head: str = "") -> str:
    rest = "".join(f"<p>{p}</p>" for p in FILLER)
    return (
        f"<!doctype html><html lang='en'><head><title>{TITLE} | The Northern Echo</title>{head}"
        "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<main><article>{body}{rest}</article></main>"
        "<footer><p>© The Northern Echo. All rights reserved.</p></footer></body></html>"
    )


def test_headline_and_dek_in_headings_are_not_paragraphs() -> None:
    dek = "Forecasters warn of more rain as the Calder and the Aire burst their banks again."
    page = extract_html(_page(f"<h1>{TITLE}</h1><h2>{dek}</h2><p>{LEAD}</p>"))
    assert page.paragraphs[0] == LEAD
    assert dek not in page.paragraphs


def test_bold_promotion_above_the_body_is_not_body() -> None:
    promo = (
        "<p><strong>Start your day with the Morning Briefing. It is the newsletter read by "
        "forty thousand people every morning. Sign up for free today.</strong></p>"
    )
    page = extract_html(_page(f"<h1>{TITLE}</h1>{promo}<p>{LEAD}</p>"))
    assert page.paragraphs[0] == LEAD


def test_hard_wrapped_lines_are_joined_and_br_paragraphs_split() -> None:
    wrapped = (
        "<p>Schools across the north of the country stayed shut<br>"
        "on Tuesday as rivers rose for a third day and forecasters<br>"
        "warned of more rain to come.<br><br>"
        "Parents were told to check the council's website each morning.</p>"
    )
    page = extract_html(_page(f"<h1>{TITLE}</h1>{wrapped}"))
    assert page.paragraphs[:2] == (
        LEAD,
        "Parents were told to check the council's website each morning.",
    )


def test_metadata_title_description_and_published_time() -> None:
    head = (
        "<meta property='og:description' content='Rivers rose for a third day.'>"
        "<meta property='article:published_time' content='2026-11-18T07:45:00+01:00'>"
        "<meta name='author' content='Maria Lopez'>"
    )
    page = extract_html(_page(f"<h1>{TITLE}</h1><p>{LEAD}</p>", head), url="https://ex.org/a")
    assert page.title == TITLE  # the <h1>, not the <title> with the site's name
    assert page.description == "Rivers rose for a third day."
    assert page.published == datetime(2026, 11, 18, 6, 45, tzinfo=UTC)
    assert page.author == "Maria Lopez"
    assert page.url == "https://ex.org/a"


def test_published_time_from_json_ld() -> None:
    ld = {"@type": "NewsArticle", "headline": TITLE, "datePublished": "2026-11-18T07:45:00Z"}
    head = f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
    page = extract_html(_page(f"<h1>{TITLE}</h1><p>{LEAD}</p>", head))
    assert page.published == datetime(2026, 11, 18, 7, 45, tzinfo=UTC)


def test_page_without_text_gives_no_paragraphs() -> None:
    page = extract_html("<html><head><title>Home</title></head><body><nav>Home</nav></body></html>")
    assert page.paragraphs == ()
