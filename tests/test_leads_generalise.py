"""Leads by rules that generalise (issue 14): one page of our own for each class of miss on
pages the rules were not tuned on, the budget in scripts without spaces, and items without a
lead kept in the issue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from digest.config import LeadSettings
from digest.models import Article, Item
from digest.sources.extract import extract_html
from digest.summarise import is_prose, pick_lead, split_sentences
from digest.summarise.items import summarise_items
from digest.summarise.lead import CHARS_PER_WORD, lead_words

PAGES = Path(__file__).parent / "data" / "leads" / "classes"


def lead_of(name: str) -> tuple[str, ...]:
    page = extract_html((PAGES / name).read_text(encoding="utf-8"))
    return pick_lead(page.paragraphs, page.title or "")


def test_japanese_page_has_a_lead_cut_at_its_own_full_stop() -> None:
    lead = lead_of("japanese.html")
    assert lead, "a page in Japanese must give a lead"
    assert lead[0].startswith("北浜市は十四日、市立中央図書館の開館時間を")
    assert lead[0].endswith("。")


def test_chinese_page_has_a_lead() -> None:
    lead = lead_of("chinese.html")
    assert lead and lead[0].startswith("江城地铁五号线今天上午正式开通运营")
    assert "来源" not in lead[0]  # the source line is not the lead


def test_budget_counts_characters_in_scripts_without_spaces() -> None:
    assert lead_words("今天上午正式开通运营") == 10 // CHARS_PER_WORD
    assert lead_words("Tokyo 東京都 opened") == 2 + 2  # two words, three characters -> 2
    assert lead_words(["one two", "三四"]) == 3
    sentence = "市立中央図書館の開館時間を来月一日から午後九時まで延長すると発表した。"
    text = sentence * 6
    assert split_sentences(text) == [sentence] * 6
    lead = pick_lead([text], max_paragraphs=1, max_words=40)
    assert lead and lead_words(lead) <= 40 and lead[0].endswith("。")
    assert lead[0] == sentence * (lead_words(lead) // lead_words(sentence))


def test_reprint_notice_is_not_the_lead() -> None:
    lead = lead_of("reprint.html")
    assert lead[0].startswith("Shares of the shipping company Harbour Freight fell 6%")


def test_hover_card_is_not_glued_into_the_sentence() -> None:
    lead = lead_of("hovercard.html")
    assert lead[0] == (
        "Police in Ohio arrested a man accused of threatening Sen. Maria Lopez (D-Ohio) in a "
        "series of voicemails, her office said on Friday."
    )


def test_tags_and_calls_to_action_are_not_the_lead() -> None:
    lead = lead_of("cta_tags.html")
    assert lead[0].startswith("A federação paulista de automobilismo divulgou")
    assert all("www." not in p and not p.startswith("Tags") for p in lead)


def test_bold_news_lead_is_kept_over_the_quote_after_it() -> None:
    lead = lead_of("pullquote.html")
    assert lead[0] == (
        "The city council has dropped a plan to close three fire stations after residents "
        "packed two public meetings to oppose it."
    )


def test_bold_lead_sharing_a_sentence_with_the_summary_is_kept_over_a_bold_promotion() -> None:
    lead = lead_of("bold_lead.html")
    assert lead[0].startswith("The harbour ferry will run every hour through the night")
    assert all("briefing" not in p for p in lead)


def test_a_pull_quote_above_the_story_is_not_the_lead_but_later_quotes_stay() -> None:
    page = extract_html((PAGES / "pullquote_above.html").read_text(encoding="utf-8"))
    lead = pick_lead(page.paragraphs, page.title or "")
    assert lead[0].startswith("The regional transport board approved on Wednesday")
    assert any(p.startswith("“It is the single most useful thing") for p in page.paragraphs)


def test_a_caption_closed_by_a_credit_in_brackets_is_not_the_lead() -> None:
    lead = lead_of("caption_credit.html")
    assert lead[0].startswith("The disused paper mill on the east bank will reopen")
    assert all("Karin Holm" not in p for p in lead)


def test_a_line_that_is_all_link_text_is_not_the_lead() -> None:
    lead = lead_of("link_cta.html")
    assert lead[0].startswith("The Riverside public library opened a games room")
    assert all("Click here" not in p for p in lead)


def test_a_paragraph_with_some_linked_names_is_still_body_text() -> None:
    page = extract_html((PAGES / "link_cta.html").read_text(encoding="utf-8"))
    assert any(p.startswith("Ana Ruiz of the Friends of the Library said") for p in page.paragraphs)


@pytest.mark.parametrize(
    "text",
    [
        "Tags election 2024, city council, budget vote, fire stations, public meetings, local news",
        "Topics: climate | energy | oil prices | electric cars | Europe | policy",
        "To order presentation-ready copies for your colleagues, clients or customers, "
        "visit https://reprints.example.com.",
        "Volunteers sort donated coats in the church hall on Saturday morning before the sale. "
        "[Photo: Karin Holm / Northside Courier]",
    ],
)
def test_lists_web_addresses_and_credited_captions_are_not_prose(text: str) -> None:
    assert not is_prose(text)


def test_a_sentence_with_commas_is_still_prose() -> None:
    assert is_prose(
        "The mayor, the police chief, two council members and a judge met on Monday, "
        "officials said."
    )


def test_a_sentence_with_brackets_is_still_prose() -> None:
    assert is_prose(
        "The club (founded in 1921) will move into the mill next summer, its chairman said "
        "(in a letter to members)."
    )


class _Source:
    label = "S"
    full_text = "never"


def test_an_item_without_a_lead_keeps_its_title_and_link() -> None:
    bare = Article(id="a", title="Only a headline", source="S", url="https://example.com/a")
    told = Article(
        id="b",
        title="A story",
        source="S",
        url="https://example.com/b",
        paragraphs=("The council voted on Monday to keep all three fire stations open.",),
    )
    items = [
        Item(article=a, canonical=a.url, source=_Source(), from_folder=False)  # type: ignore[arg-type]
        for a in (bare, told)
    ]

    async def no_page(item: Item) -> str:
        return "not asked"

    done = asyncio.run(summarise_items(items, LeadSettings(), 5, no_page))
    assert [a.title for a in done.articles] == ["Only a headline", "A story"]
    assert done.articles[0].lead == () and done.articles[0].url == "https://example.com/a"
    assert done.problems == (
        "S: 1 item(s) had no text to quote as a lead; kept with headline and link",
    )
