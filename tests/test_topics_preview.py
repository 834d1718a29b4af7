"""Looking at readers' selections: `digest preview --topics/--as/--json` through the CLI, and
the preview page of `digest serve` switching between the selections its readers get."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_web_pages import Parsed, by_id, frames, get, serving
from topic_news import STORIES, make_topic_news, titles_in

from digest.cli import main

SCIENCE = [t for _, t, _ in STORIES["science"]]
HISTORY = [t for _, t, _ in STORIES["history"]]
LOCAL = [t for _, t, _ in STORIES["local"]]
GENERAL = [t for _, t, _ in STORIES[""]]
EVERYTHING = SCIENCE + HISTORY + LOCAL + GENERAL
READERS = (
    "email,name,status,topics\n"
    "ada@example.com,Ada,subscribed,Science\n"
    "grace@example.com,Grace,subscribed,history\n"
    "alan@example.com,Alan,subscribed,\n"
    "linus@example.com,Linus,subscribed,science\n"
    "edsger@example.com,Edsger,subscribed,history;science\n"
    "left@example.com,Left,unsubscribed,history\n"
)


@pytest.fixture
def news(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_SECRET", "a-secret-for-tests")
    return make_topic_news(tmp_path, READERS)


def preview(news: Path, *args: str) -> tuple[int, str, str]:
    """Exit code, output, and the text part written."""
    out = news / "preview"
    r = CliRunner().invoke(
        main, ["--config", str(news / "digest.toml"), "preview", "-o", str(out), *args]
    )
    texts = sorted(out.glob("*.txt"))
    return r.exit_code, r.output, texts[0].read_text(encoding="utf-8") if texts else ""


def test_preview_topics_shows_that_selection(news: Path) -> None:
    code, out, text = preview(news, "--topics", "science;HISTORY")
    assert code == 0, out
    assert titles_in(text) == EVERYTHING  # both topics, local for everyone, the untagged one
    code, out, text = preview(news, "--topics", "history")
    assert code == 0 and "As readers of the topics history get it" in out
    assert titles_in(text) == HISTORY + LOCAL + GENERAL
    assert "3 stories today." in text and "3 articles" in out


def test_preview_topics_that_select_nothing_says_so(tmp_path: Path) -> None:
    news = make_topic_news(tmp_path, READERS, topics=("science",))
    code, out, _ = preview(news, "--topics", "history")
    assert code != 0
    assert "nothing in the topics 'history'" in out


def test_preview_as_a_reader_follows_their_topics(news: Path) -> None:
    code, out, text = preview(news, "--as", "grace@example.com")
    assert code == 0, out
    assert titles_in(text) == HISTORY + LOCAL + GENERAL
    assert "Good morning, Grace." in text
    _, _, text = preview(news, "--as", "alan@example.com")  # no topics: everything
    assert titles_in(text) == EVERYTHING
    _, _, text = preview(news, "--as", "grace@example.com", "--topics", "science")
    assert titles_in(text) == SCIENCE + LOCAL + GENERAL and "Good morning, Grace." in text


def test_preview_json_lists_the_selections_with_their_readers(news: Path) -> None:
    code, out, _ = preview(news, "--json")
    assert code == 0, out
    found = json.loads(out)
    got = {tuple(v["titles"]): v["readers"] for v in found["variants"]}
    # ada and linus share one (their topics differ in case only); edsger's pick everything,
    # like alan's none; the reader who left is not counted.
    assert got == {
        tuple(EVERYTHING): 2,
        tuple(SCIENCE + LOCAL + GENERAL): 2,
        tuple(HISTORY + LOCAL + GENERAL): 1,
    }
    assert found["nothing_for"] == 0
    whole = [v for v in found["variants"] if v["key"] == ""]
    assert whole and whole[0]["topics"] == []


def test_preview_json_works_before_the_list_has_a_file(news: Path) -> None:
    (news / "subscribers" / "daily.csv").unlink()
    code, out, _ = preview(news, "--json")
    assert code == 0, out
    assert json.loads(out)["variants"] == []


# --- digest serve ------------------------------------------------------------------------


@pytest.fixture
def url(news: Path) -> Iterator[str]:
    with serving(news, "a-secret-for-tests") as base:
        yield base


def test_the_preview_page_links_each_selection_with_its_readers(url: str) -> None:
    r = get(url, "/preview/daily")
    assert r.status_code == 200
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = Parsed(r.text, "/preview/daily")
    links = {a["href"]: a for a in page.all("a") if "topics=" in a.get("href", "")}
    nav = r.text[r.text.index('<nav id="selections"') :]
    assert "no topics (the whole issue)</a>: 2 readers, 5 stories" in nav
    assert len(links) == 2
    science = next(h for h in links if "cience" in h)
    assert "2 readers, 4 stories" in nav and "1 reader, 3 stories" in nav
    switched = get(url, "/preview/" + science)
    assert switched.status_code == 200
    shown = titles_in(by_id(switched.text, "pre", "text"))
    assert shown == SCIENCE + LOCAL + GENERAL
    assert set(frames(switched.text)) == {"375", "600"}
    assert titles_in(Parsed(frames(switched.text)["600"]).text) == shown
    assert 'aria-current="page"' in switched.text


def test_the_preview_page_follows_a_readers_topics_and_topics_given(url: str) -> None:
    r = get(url, "/preview/daily", params={"as": "grace@example.com"})
    assert titles_in(by_id(r.text, "pre", "text")) == HISTORY + LOCAL + GENERAL
    r = get(url, "/preview/daily", params={"topics": "science"})
    assert titles_in(by_id(r.text, "pre", "text")) == SCIENCE + LOCAL + GENERAL
    assert "5 stories today." not in by_id(r.text, "pre", "text")


def test_the_preview_page_escapes_topics_it_is_given(url: str) -> None:
    hostile = "<script>alert(1)</script>\"'><b>sports"
    r = get(url, "/preview/daily", params={"topics": hostile})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "<b>sports" not in r.text
    assert "&lt;script&gt;" in r.text
    # Nothing of the issue is in those topics but the general and local stories.
    assert titles_in(by_id(r.text, "pre", "text")) == LOCAL + GENERAL
    assert "default-src 'none'" in r.headers["content-security-policy"]
