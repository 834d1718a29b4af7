"""Local article files: .txt, .md with front matter, .html; bad files are skipped, named."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.sources.feeds import parse_feed
from digest.sources.folder import read_article, read_folder
from digest.sources.sanitise import plain_paragraphs

REPO = Path(__file__).resolve().parent.parent


def test_txt_title_is_the_bare_headline_and_body_follows() -> None:
    a = read_article(REPO / "examples/articles/nato-permanent-presence.txt", "Example")
    assert a.title == (
        "In response to the Russian threat: NATO plans to establish a permanent military presence"
    )
    assert a.paragraphs[0] == "by time news"
    assert a.source == "Example"


def test_markdown_front_matter(tmp_path: Path) -> None:
    p = tmp_path / "post.md"
    p.write_text(
        "---\ntitle: A *real* title\nurl: https://example.com/p\ndate: 2026-11-20\n"
        "author: Sam\n---\n\nFirst paragraph with a [link](https://x.example) and **bold** "
        "words in it.\n\nSecond one.\n",
        encoding="utf-8",
    )
    a = read_article(p, "Blog")
    assert a.title == "A *real* title"
    assert a.url == "https://example.com/p"
    assert a.published == datetime(2026, 11, 20, tzinfo=UTC)
    assert a.author == "Sam"
    assert a.paragraphs[0] == "First paragraph with a link and bold words in it."


def test_markdown_without_front_matter_uses_heading(tmp_path: Path) -> None:
    p = tmp_path / "note.md"
    p.write_text("# The heading\n\nBody text here.\n", encoding="utf-8")
    a = read_article(p)
    assert a.title == "The heading"
    assert a.paragraphs == ("Body text here.",)
    assert a.published == datetime.fromtimestamp(p.stat().st_mtime, tz=UTC)


def test_a_line_of_spaces_ends_a_paragraph_as_in_feeds(tmp_path: Path) -> None:
    """Plain text splits the same way in a .txt file and a feed's text field: a line that looks
    blank (only spaces or tabs) ends a paragraph, and runs of spaces are one space."""
    p = tmp_path / "story.txt"
    p.write_text("Title\n\nFirst  line\nsecond line\n  \t\nNext paragraph.\n", encoding="utf-8")
    paragraphs = read_article(p).paragraphs
    assert paragraphs == ("First line second line", "Next paragraph.")
    assert paragraphs == plain_paragraphs("First  line\nsecond line\n  \t\nNext paragraph.")


def test_file_and_feed_item_with_the_same_url_are_one_article(tmp_path: Path) -> None:
    """The one identity rule: a saved copy of a story is the feed's item, not a new one."""
    p = tmp_path / "saved.md"
    p.write_text("---\nurl: https://news.example.org/a?utm_source=x\n---\n\nText here.\n")
    rss = (
        "<rss version='2.0'><channel><title>T</title><item><title>A</title>"
        "<link>https://news.example.org/a</link><description>Text.</description></item>"
        "</channel></rss>"
    )
    entry = parse_feed(rss.encode(), url="https://news.example.org/rss").entries[0]
    assert read_article(p).id == entry.id


def test_html_uses_page_metadata() -> None:
    a = read_article(REPO / "examples/articles/river-cleanup-volunteers.html", "Gazette")
    assert a.title == "Volunteers pull two tonnes of rubbish from the river"
    assert a.url == "https://example.com/news/river-cleanup"
    assert a.published == datetime(2026, 11, 23, 18, 5, tzinfo=UTC)
    assert any(p.startswith("More than three hundred volunteers") for p in a.paragraphs)


def test_ids_are_stable_across_runs() -> None:
    p = REPO / "examples/articles/city-library-late-opening.md"
    assert read_article(p).id == read_article(p).id


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("blank.md", b"---\ntitle: Only a title\n---\n", "no article text"),
        ("latin1.txt", "Caf\xe9 news\n\nBody.".encode("latin-1"), "not UTF-8"),
        ("broken.md", b"---\ntitle: [unclosed\n---\nBody\n", "front matter is not valid YAML"),
    ],
)
def test_bad_file_raises_naming_it(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(SourceError) as err:
        read_article(p)
    assert str(p) in str(err.value) and reason in str(err.value)


def test_folder_skips_bad_files_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text("Title\n\nA paragraph of text.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with caplog.at_level(logging.WARNING):
        found = read_folder(tmp_path, "Mine")
    assert [a.title for a in found] == ["Title"]
    assert str(tmp_path / "empty.txt") in caplog.text
    assert str(tmp_path / "binary.md") in caplog.text


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is not a folder"):
        read_folder(tmp_path / "nope", "Mine")
