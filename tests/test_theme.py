"""The built-in theme's promises (issue 14): masthead, contents, sections, pictures with sizes,
site names and times, the footer's address, dark mode, teasers, subject and preheader, size."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import lxml.html
import pytest

from digest.compose import render
from digest.compose.personalise import Reader, fill
from digest.config.model import ComposeSettings
from digest.models import Article, Digest, Rendered

LOOK = ComposeSettings(list_name="daily", timezone="Europe/Berlin")
LEAD = (
    "The council said on Tuesday that its plans for the new bridge would go ahead despite "
    "objections from residents who fear more traffic and noise in the old town.",
    "Engineers expect work to begin next spring and finish within two years at a cost of "
    "forty million, the council's report said on its last page.",
)


def story(i: int, **kw: object) -> Article:
    fields: dict[str, object] = {
        "id": f"a{i}",
        "title": f"Headline number {i} about the new bridge",
        "source": "Town Feed",
        "url": f"https://news.example.com/{i}",
        "published": datetime(2026, 11, 24, 5, 30, tzinfo=UTC),
        "lead": LEAD,
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def rendered(
    articles: tuple[Article, ...], look: ComposeSettings = LOOK, number: int | None = 7
) -> Rendered:
    digest = Digest("daily", "daily-2026-11-24", date(2026, 11, 24), "The Daily", articles)
    return render(replace(digest, number=number), look, None)


def page(r: Rendered) -> lxml.html.HtmlElement:
    reader = Reader("ada@example.com", "https://x.test/u", "Ada")
    html = fill(r.html, reader, marker=r.marker, escape=True)
    return lxml.html.fromstring(html)


def text_of(r: Rendered) -> str:
    reader = Reader("ada@example.com", "https://x.test/u", "Ada")
    return fill(r.text, reader, marker=r.marker, escape=False)


def test_masthead_shows_the_issue_number_and_date_in_the_list_language() -> None:
    assert "TUESDAY" not in rendered((story(1),)).html  # upper case is CSS, not the text
    doc = page(rendered((story(1),)))
    kicker = doc.xpath("//p[@class='kicker']")[0].text_content()
    assert kicker == "Tuesday 24 November 2026 · Issue 7"
    german = page(rendered((story(1),), replace(LOOK, language="de"), number=12))
    assert "Ausgabe 12" in german.xpath("//p[@class='kicker']")[0].text_content()
    assert (
        "Issue"
        not in page(rendered((story(1),), number=None))
        .xpath("//p[@class='kicker']")[0]
        .text_content()
    )
    assert "Issue 7" in text_of(rendered((story(1),)))


def test_contents_link_to_every_story_in_the_order_shown() -> None:
    arts = (story(1), story(2, source="Sport Feed"), story(3))
    doc = page(rendered(arts))
    links = doc.xpath("//p[@class='toc']/a")
    shown = [h.text_content() for h in doc.xpath("//h2")]
    assert [a.text_content() for a in links] == shown
    for a in links:
        target = doc.get_element_by_id(a.get("href").removeprefix("#"))
        assert target.tag == "h2" and target.text_content() == a.text_content()
    one = page(rendered((story(1),)))
    assert one.xpath("//p[@class='toc']") == []  # one story needs no contents


def test_sections_group_stories_by_source_keeping_the_top_story_first() -> None:
    arts = (story(1), story(2, source="Sport Feed"), story(3), story(4, source="Sport Feed"))
    doc = page(rendered(arts))
    assert [p.text_content() for p in doc.xpath("//p[@class='section']")] == [
        "Town Feed",
        "Sport Feed",
    ]
    order = [h.text_content() for h in doc.xpath("//h2")]
    assert order == [arts[i].title for i in (0, 2, 1, 3)]
    text = text_of(rendered(arts))
    assert text.index("==== TOWN FEED ====") < text.index(arts[2].title)
    assert text.index(arts[2].title) < text.index("==== SPORT FEED ====")


def test_a_source_section_setting_and_turning_sections_off() -> None:
    arts = (story(1), story(2, source="Sport Feed", section="Town"), story(3, section="Town"))
    arts = (replace(arts[0], section="Town"), *arts[1:])
    assert page(rendered(arts)).xpath("//p[@class='section']") == []  # one section: no heading
    mixed = (story(1), story(2, source="Sport Feed"))
    assert len(page(rendered(mixed)).xpath("//p[@class='section']")) == 2
    off = replace(LOOK, sections=False)
    assert page(rendered(mixed, off)).xpath("//p[@class='section']") == []


def test_top_story_picture_spans_the_column_with_its_proportions() -> None:
    top = story(1, image="https://img.example.com/a.jpg", image_width=1200, image_height=675)
    doc = page(rendered((top, story(2))))
    img = doc.xpath("//img[contains(@src, 'a.jpg')]")[0]
    assert (img.get("width"), img.get("height")) == ("544", "306")
    assert img.get("alt") == top.title  # no alt given: the headline
    cell = img.getparent().getparent()  # <td style="width:544px"> <a> <img>
    assert "width:544px" in cell.get("style")


def test_other_pictures_are_thumbnails_with_sizes_and_alt() -> None:
    arts = (
        story(1),
        story(2, image="https://img.example.com/b.jpg", image_width=800, image_height=600,
              image_alt="A crane over the river"),
        story(3, image="https://img.example.com/c.jpg"),
    )  # fmt: skip
    doc = page(rendered(arts))
    b = doc.xpath("//img[contains(@src, 'b.jpg')]")[0]
    assert (b.get("width"), b.get("height"), b.get("align")) == ("120", "90", "right")
    assert b.get("alt") == "A crane over the river"
    assert "width:120px" in b.get("style").replace(" ", "")
    c = doc.xpath("//img[contains(@src, 'c.jpg')]")[0]
    assert c.get("width") == "120" and c.get("height") is None  # proportions unknown


def test_a_small_top_picture_is_a_thumbnail_not_stretched() -> None:
    top = story(1, image="https://img.example.com/s.jpg", image_width=300, image_height=200)
    img = page(rendered((top,))).xpath("//img[contains(@src, 's.jpg')]")[0]
    assert (img.get("width"), img.get("height")) == ("120", "80")


def test_right_to_left_thumbnails_sit_on_the_left() -> None:
    arts = (story(1), story(2, image="https://img.example.com/b.jpg"))
    img = page(rendered(arts, replace(LOOK, language="he"))).xpath("//img[@class='thumb']")[0]
    assert img.get("align") == "left"


def test_site_name_author_and_local_time_in_the_meta_line() -> None:
    art = story(1, site="The Example Gazette", author="Priya Raman")
    meta = page(rendered((art,))).xpath("//p[@class='meta']")[0].text_content()
    assert meta == "The Example Gazette · Priya Raman · 24 Nov, 06:30"  # Berlin, not UTC
    plain = page(rendered((story(1),))).xpath("//p[@class='meta']")[0].text_content()
    assert plain.startswith("Town Feed · ")  # no site: the source's own name
    assert "The Example Gazette · Priya Raman · 24 Nov, 06:30" in text_of(rendered((art,)))


def test_footer_has_the_postal_address_and_both_links() -> None:
    look = replace(LOOK, address="Example Club\n1 High Street\n\nTown AB1 2CD")
    r = rendered((story(1),), look)
    footer = page(r).xpath("//div[contains(., 'Example Club')]")[-1].text_content()
    assert "Example Club · 1 High Street · Town AB1 2CD" in footer
    assert "Unsubscribe" in footer and "View in browser" in footer
    assert "Example Club\n1 High Street\nTown AB1 2CD\n" in text_of(r)
    assert "High Street" not in rendered((story(1),)).html


def test_logo_has_explicit_size_and_alt() -> None:
    look = replace(LOOK, logo="https://img.example.com/logo.png", logo_width=180, logo_height=40)
    img = page(rendered((story(1),), look)).xpath("//img[contains(@src, 'logo.png')]")[0]
    assert (img.get("width"), img.get("height"), img.get("alt")) == ("180", "40", "The Daily")


def test_dark_mode_styles_for_apple_mail_and_outlook_com() -> None:
    html = rendered((story(1),)).html
    assert '<meta name="color-scheme" content="light dark"' in html
    dark = re.search(r"@media \(prefers-color-scheme: dark\) \{(.*?)\n\s*\}\n", html, re.S)
    assert dark and ".card" in dark.group(1) and "!important" in dark.group(1)
    assert "[data-ogsc] .card h2 a" in html and "[data-ogsb] .card" in html
    assert 'class="card"' in html  # the rules have something to hold on to


def test_a_teaser_cut_mid_word_ends_at_a_word_with_an_ellipsis() -> None:
    cut = "Thousands marched through the city on what many called the end of an era-and that s"
    art = story(1, lead=(cut,))
    paragraph = page(rendered((art,))).xpath("//h2/following-sibling::p")[1].text_content()
    assert paragraph.endswith("the end of an era-and that…")
    feed_mark = story(1, lead=("The council met on Tuesday to talk about the bridge […]",))
    text = text_of(rendered((feed_mark,)))
    assert "to talk about the bridge…" in text and "[…]" not in text
    whole = page(rendered((story(1),))).xpath("//h2/following-sibling::p")[2].text_content()
    assert whole == LEAD[1]  # a finished sentence is left alone


def test_default_subject_and_preheader_do_not_repeat_each_other() -> None:
    arts = (story(1, title="Bridge plans go ahead"), story(2, title="Library opens late"),
            story(3, title="Chess club for beginners"))  # fmt: skip
    r = rendered(arts)
    assert r.subject == "The Daily: Bridge plans go ahead"
    assert r.preheader == "Also: Library opens late · Chess club for beginners"
    lead = ("The bridge will be built. Work starts in spring.",)
    alone = rendered((story(1, title="Bridge plans go ahead", lead=lead),))
    assert alone.preheader == "The bridge will be built."  # the lead's opening, not the title
    german = rendered(arts, replace(LOOK, language="de"))
    assert german.preheader.startswith("Außerdem: Library opens late")


def test_twenty_stories_with_thumbnails_stay_under_60_kb() -> None:
    count = 20
    arts = tuple(
        story(i, source=f"Feed {i % 4}", site=f"Site {i % 4}", author="A. Reporter",
              image=f"https://img.example.com/{i}.jpg", image_width=1200, image_height=800)
        for i in range(count)
    )  # fmt: skip
    r = rendered(arts)
    assert r.articles_included == count
    assert len(page(r).xpath("//img")) == count
    assert r.size < 60_000, f"{r.size} bytes"


@pytest.mark.parametrize(
    "finished",
    [
        "The council will also extend the night bus routes:",
        "Will the bridge open before the end of the year؟",
        "The club celebrated forty years! 🎉",
        "The bridge reopened on Monday (AP)",
    ],
)
def test_a_finished_paragraph_keeps_every_word(finished: str) -> None:
    """Only text that ends in a letter, digit or comma looks cut; any other ending is kept."""
    text = text_of(rendered((story(1, lead=(finished,)),), replace(LOOK, language="ar")))
    assert finished in text and finished + "…" not in text


def test_pictures_too_tall_or_too_flat_are_left_out_and_a_tall_top_one_is_a_thumbnail() -> None:
    arts = (
        story(1, image="https://img.example.com/tall.jpg", image_width=400, image_height=10000),
        story(2, image="https://img.example.com/flat.jpg", image_width=2000, image_height=100),
        story(3, image="https://img.example.com/ok.jpg", image_width=600, image_height=900),
    )
    doc = page(rendered(arts))
    assert [i.get("src").rsplit("/", 1)[1] for i in doc.xpath("//img")] == ["ok.jpg"]
    portrait = story(1, image="https://img.example.com/p.jpg", image_width=800, image_height=1000)
    img = page(rendered((portrait,))).xpath("//img")[0]
    assert (img.get("class"), img.get("width"), img.get("height")) == ("thumb", "120", "150")


def test_article_index_counts_across_sections(tmp_path) -> None:
    """A user's article block numbering stories gets 1, 2, 3…, not a count per section."""
    (tmp_path / "digest.mjml.j2").write_text(
        '{% extends "default:digest.mjml.j2" %}{% block article %}'
        '<mj-text><p class="n">{{ article.index }}</p></mj-text>{% endblock %}',
        encoding="utf-8",
    )
    arts = (story(1), story(2, source="Sport Feed"), story(3), story(4, source="Sport Feed"))
    digest = Digest("daily", "daily-2026-11-24", date(2026, 11, 24), "The Daily", arts)
    r = render(digest, LOOK, tmp_path)
    assert [p.text_content() for p in page(r).xpath("//p[@class='n']")] == ["1", "2", "3", "4"]


def test_a_lone_story_without_a_lead_still_has_a_preheader() -> None:
    assert rendered((story(1, lead=()),)).preheader == "1 story today."
