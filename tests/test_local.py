"""Local article files: .txt, .md with front matter, .html; bad files are skipped, named."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.sources.folder import read_article, read_folder

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
