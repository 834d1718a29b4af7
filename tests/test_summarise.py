"""The lead picker: which paragraphs make a lead, the word budget, and `digest summarise`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import LeadSettings
from digest.sources.folder import read_article
from digest.summarise import is_prose, pick_lead, split_sentences, summarise

REPO = Path(__file__).resolve().parent.parent
NATO = REPO / "examples" / "articles" / "nato-permanent-presence.txt"
STANDFIRST = (
    "The secretary general of the military alliance said the organization wanted to carry out "
    "a strategic “reset” that would be an adaptation to the new security reality."
)
NATO_BODY = (
    "The North Atlantic Treaty Organization (NATO) is working on plans for a permanent military "
    "presence within its borders – in an effort to combat future Russian aggression, the "
    "British Telegraph reported, citing Secretary-General Jens Stoltenberg."
)

TITLE = "Storm closes schools across the north as rivers keep rising"
BODY = (
    "Schools across the north of the country stayed shut on Tuesday as rivers rose for a "
    "third day and forecasters warned of more rain to come."
)


# -- the example article ----------------------------------------------------------------------


def test_example_article_lead_is_standfirst_then_first_body_paragraph() -> None:
    article = summarise(read_article(NATO, "Example"))
    assert article.lead == (STANDFIRST, NATO_BODY)


def test_example_article_one_paragraph() -> None:
    article = summarise(read_article(NATO, "Example"), LeadSettings(paragraphs=1))
    assert article.lead == (STANDFIRST,)


# -- what is not a lead -----------------------------------------------------------------------

NOT_LEADS = {
    "headline": TITLE,
    "headline with the site's name": f"The Northern Echo – {TITLE}",
    "headline, reworded": "Storm closes schools across the north as the rivers keep on rising",
    "byline": "By Maria Lopez and Tom Becker, Northern Affairs Correspondents",
    "byline with date": "Maria Lopez | Published 18 November 2026, 07:45 GMT | Updated 09:10",
    "photo credit": "(Photo: Shutterstock)",
    "caption with credit": (
        "Floodwater surrounds houses in the village of Hebden Bridge on Monday. "
        "Photograph: Christopher Furlong/Getty Images"
    ),
    "dateline alone": "LEEDS, England (AP) —",
    "share line": "Share this article on Facebook Twitter WhatsApp LinkedIn Email",
    "read more": "Read more: Flood warnings in place for Yorkshire and Cumbria Rivers",
    "did you like this": "Did you like this article? Share it with your friends!",
    "leave a comment": "Leave a comment",
    "like this story": "Like this story? Share it with a friend!",
}


@pytest.mark.parametrize("text", NOT_LEADS.values(), ids=NOT_LEADS.keys())
def test_furniture_is_not_prose(text: str) -> None:
    assert not is_prose(text, TITLE)


@pytest.mark.parametrize("text", NOT_LEADS.values(), ids=NOT_LEADS.keys())
def test_furniture_before_the_body_is_skipped(text: str) -> None:
    assert pick_lead([text, BODY], TITLE, max_paragraphs=1) == (BODY,)


PROSE = {
    "news sentence": BODY,
    "quote": "“We have never seen the river this high in November,” said the mayor, Ann Hale.",
    "ends with an emoji": (
        "Visitors who booked through the app came to the theatre and left their reviews! 🙂"
    ),
    "ends with hashtags": (
        "This post was sponsored by Acme, Inc. and its partners. All opinions are my own. #ad"
    ),
    "no final full stop, sentence case": (
        "Chelsea have this morning paid the £71.6million fee to the Spanish league to secure "
        "the world record signing of Athletic Bilbao keeper Kepa Arrizabalaga"
    ),
    "introduces a list": "The Latest on a deadly stabbing on a commuter train (all times local):",
    "not in English": (
        "Nesta página você terá sempre a classificação atualizada da NASCAR até a última corrida!"
    ),
}


@pytest.mark.parametrize("text", PROSE.values(), ids=PROSE.keys())
def test_prose_is_accepted(text: str) -> None:
    assert is_prose(text, TITLE)


def test_lead_skips_furniture_between_its_paragraphs() -> None:
    second = (
        "The Environment Agency said 40 flood warnings were in force, most of them along the "
        "Calder and the Aire, and that the peak would pass on Wednesday night."
    )
    paragraphs = [TITLE, "By Maria Lopez", BODY, "(Photo: Shutterstock)", second, "Read more"]
    assert pick_lead(paragraphs, TITLE) == (BODY, second)


def test_no_prose_gives_an_empty_lead() -> None:
    assert pick_lead([TITLE, "By Maria Lopez", "Leave a comment"], TITLE) == ()


# -- the word budget --------------------------------------------------------------------------

S1 = "The council met on Monday night to discuss the flood defences along the river."  # 14
S2 = "Residents asked why the new walls had not been finished before the winter."  # 13
S3 = "The council said the work would resume in the spring once the water had gone down."  # 16


def _words(lead: tuple[str, ...]) -> int:
    return sum(len(p.split()) for p in lead)


def test_two_paragraphs_that_fit_are_kept_whole() -> None:
    assert pick_lead([S1, S2, S3], max_words=90) == (S1, S2)


def test_at_most_max_paragraphs() -> None:
    assert pick_lead([S1, S2, S3], max_paragraphs=3, max_words=90) == (S1, S2, S3)
    assert pick_lead([S1, S2, S3], max_paragraphs=1, max_words=90) == (S1,)


def test_second_paragraph_cut_at_a_sentence_end_to_fit() -> None:
    lead = pick_lead([S1, f"{S2} {S3}"], max_words=30)
    assert lead == (S1, S2)
    assert _words(lead) <= 30


def test_second_paragraph_dropped_when_not_even_a_sentence_fits() -> None:
    assert pick_lead([S1, S3], max_words=20) == (S1,)


def test_long_first_paragraph_cut_at_a_sentence_end() -> None:
    lead = pick_lead([f"{S1} {S2} {S3}", S1], max_words=30)
    assert lead == (f"{S1} {S2}",)
    assert _words(lead) <= 30


def test_first_sentence_longer_than_the_budget_is_kept_whole() -> None:
    # A lead is never empty when the article has prose: half a sentence would read worse.
    assert pick_lead([f"{S1} {S2}"], max_words=10) == (S1,)


def test_sentence_far_over_the_budget_is_cut_between_words() -> None:
    words = [f"word{i}" for i in range(100)]
    text = "An unpunctuated transcript runs on " + " ".join(words)
    (lead,) = pick_lead([text], max_words=20)
    assert lead.endswith("…")
    assert len(lead.split()) == 20
    assert text.startswith(lead.removesuffix("…"))  # whole words only
    assert lead.removesuffix("…").split()[-1] in text.split()


def test_cut_never_ends_at_an_abbreviation() -> None:
    p = (
        "South Dakota Gov. Kristi Noem defended the campaign on Monday night in a long post. "
        "The U.S. Department of Health said it had not been consulted about the slogan."
    )
    assert split_sentences(p) == [
        "South Dakota Gov. Kristi Noem defended the campaign on Monday night in a long post.",
        "The U.S. Department of Health said it had not been consulted about the slogan.",
    ]
    assert pick_lead([p], max_words=20) == (split_sentences(p)[0],)


def test_sentence_ending_inside_quotes() -> None:
    p = "“We are here to get it out,” she wrote on Monday. “Meth is a serious problem.” It is."
    assert split_sentences(p) == [
        "“We are here to get it out,” she wrote on Monday.",
        "“Meth is a serious problem.”",
        "It is.",
    ]


# -- digest summarise ---------------------------------------------------------------------------


def test_cli_prints_only_the_lead_separated_by_a_blank_line() -> None:
    result = CliRunner().invoke(main, ["summarise", str(NATO)])
    assert result.exit_code == 0, result.output
    assert result.output == f"{STANDFIRST}\n\n{NATO_BODY}\n"


def test_cli_paragraphs_option() -> None:
    result = CliRunner().invoke(main, ["summarise", str(NATO), "--paragraphs", "1"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{STANDFIRST}\n"


def test_cli_json_is_the_whole_article_record() -> None:
    result = CliRunner().invoke(main, ["summarise", str(NATO), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["title"] == (
        "In response to the Russian threat: NATO plans to establish a permanent military presence"
    )
    assert record["lead"] == [STANDFIRST, NATO_BODY]
    assert record["paragraphs"][0] == "by time news"


def test_cli_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["summarise", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1
    assert "nope.txt: no such file" in result.output
    assert "Traceback" not in result.output
