"""OPML in and out (`sources.opml`, `digest sources import-opml` and `export-opml`): nested
folders, names from `title` or `text`, no XML entity ever read, duplicates skipped and counted,
one rewrite of digest.toml, and an export that imports back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from digest.config import load_config
from digest.errors import SourceError
from digest.sources.opml import OpmlFeed, read_opml, write_opml

DIGEST = Path(sys.executable).parent / "digest"

CONFIG = """\
# Sources first.
[[sources]]
name = "Own"
folder = "articles"

[[sources]]
name = "Harbour"   # the town's paper
feed = "https://harbour.example.org/rss"

# The list.
[lists.daily]
sender = "d@example.org"
"""

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="harbour (text)" title="Harbour" xmlUrl="https://other.example.org/rss"/>
      <outline type="rss" text="Tides &amp; Times" xmlUrl="https://tides.example.org/feed"/>
      <outline text="Local">
        <outline type="rss" title="Quay" xmlUrl="https://quay.example.org/atom.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Again" xmlUrl="https://tides.example.org/feed"/>
    <outline type="rss" text="Known" xmlUrl="https://HARBOUR.example.org/rss"/>
    <outline type="rss" text="Script" xmlUrl="javascript:alert(1)"/>
    <outline type="rss" xmlUrl="https://bare.example.org/blog/feed/"/>
    <outline type="link" text="Just a link" url="https://example.org/"/>
  </body>
</opml>
"""


def newsletter(tmp_path: Path, text: str = CONFIG) -> Path:
    (tmp_path / "articles").mkdir(exist_ok=True)
    (tmp_path / "digest.toml").write_text(text, encoding="utf-8")
    return tmp_path / "digest.toml"


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


# --- reading -----------------------------------------------------------------------------------


def test_feeds_come_from_every_outline_with_an_xml_url_however_deep() -> None:
    feeds = read_opml(READER_EXPORT, "subs.opml")
    assert feeds[:3] == (
        OpmlFeed("https://other.example.org/rss", "Harbour", ("News",)),
        OpmlFeed("https://tides.example.org/feed", "Tides & Times", ("News",)),
        OpmlFeed("https://quay.example.org/atom.xml", "Quay", ("News", "Local")),
    )
    assert [f.title for f in feeds[3:]] == ["Again", "Known", "Script", None]
    assert len(feeds) == 7  # the link outline has no xmlUrl


def test_feed_scheme_urls_are_read_as_http() -> None:
    doc = (
        b'<opml version="2.0"><body><outline text="a" xmlUrl="feed://a.example.org/rss"/>'
        b'<outline text="b" xmlUrl="feed:https://b.example.org/rss"/></body></opml>'
    )
    assert [f.url for f in read_opml(doc, "x.opml")] == [
        "http://a.example.org/rss",
        "https://b.example.org/rss",
    ]


BOMB = (
    '<?xml version="1.0" encoding="{enc}"?>\n<!DOCTYPE opml [\n<!ENTITY a "{a}">\n'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
    ']>\n<opml version="2.0"><body><outline text="&c;" xmlUrl="https://x.example.org/"/>'
    "</body></opml>"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_declared_entities_are_refused_in_any_encoding(encoding: str) -> None:
    doc = BOMB.format(enc=encoding, a="x" * 1000).encode(encoding)
    with pytest.raises(SourceError, match=r"bomb.opml: it declares XML entities.*; not read"):
        read_opml(doc, "bomb.opml")


def test_an_outside_dtd_is_never_fetched(httpserver: HTTPServer) -> None:
    dtd = httpserver.url_for("/evil.dtd")
    httpserver.expect_request("/evil.dtd").respond_with_data('<!ENTITY x "boom">')
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "{dtd}"><opml version="2.0">'
        "<head><title>&x;</title></head><body>"
        '<outline text="&x;" xmlUrl="https://x.example.org/"/></body></opml>'
    ).encode()
    with pytest.raises(SourceError, match="entities defined outside it, which digest never"):
        read_opml(doc, "ext.opml")
    in_attribute = doc.replace(b"<title>&x;</title>", b"<title>t</title>")
    with pytest.raises(SourceError, match="entities defined outside it"):  # not a silent gap
        read_opml(in_attribute, "ext.opml")
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the file is empty|no element found"),
        (b"<opml><body><outline text='a'>", "not well-formed XML at line 1"),
        (b'<?xml version="1.0"?><rss version="2.0"/>', "a feed, not an OPML file"),
        (b"<html><body>hi</body></html>", r"not an OPML file \(it is <html>"),
    ],
)
def test_what_is_not_opml_is_one_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        read_opml(body, "x.opml")


# --- writing -----------------------------------------------------------------------------------


def test_written_opml_is_opml_2_and_reads_back() -> None:
    feeds = [
        ('Tides & "Times" <daily>', "https://tides.example.org/feed?a=1&b=2"),
        ("港口新闻", "https://zh.example.org/rss"),
    ]
    data = write_opml(feeds, "The Daily", datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    root = ET.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "The Daily"
    assert root.findtext("head/dateCreated") == "Tue, 24 Nov 2026 07:00:00 GMT"
    outlines = root.findall("body/outline")
    assert [(o.get("type"), o.get("text"), o.get("xmlUrl")) for o in outlines] == [
        ("rss", name, url) for name, url in feeds
    ]
    assert [(f.title, f.url) for f in read_opml(data, "out.opml")] == feeds


# --- digest sources import-opml / export-opml, as run ------------------------------------------


def test_import_adds_new_feeds_once_and_counts_what_it_skips(tmp_path: Path) -> None:
    path = newsletter(tmp_path)
    (tmp_path / "subs.opml").write_bytes(READER_EXPORT)
    dry = digest("sources", "import-opml", "subs.opml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Would add 4 sources" in dry.stdout and "Nothing written (--dry-run)" in dry.stdout
    assert path.read_text(encoding="utf-8") == CONFIG

    r = digest("sources", "import-opml", "subs.opml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Added 4 sources (1 renamed, as a source had the name) from subs.opml" in r.stdout
    assert "(7 feeds in it); skipped 3." in r.stdout
    assert "  - Again: listed twice in the file (as 'Tides & Times')" in r.stdout
    assert "  - Known: already configured as 'Harbour'" in r.stdout
    assert "  - Script: not an http(s) feed URL" in r.stdout
    added = [(s.name, s.location) for s in load_config(path).sources[2:]]
    assert added == [
        ("Harbour (other.example.org)", "https://other.example.org/rss"),
        ("Tides & Times", "https://tides.example.org/feed"),
        ("Quay", "https://quay.example.org/atom.xml"),
        ("bare.example.org/blog/feed", "https://bare.example.org/blog/feed/"),
    ]
    text = path.read_text(encoding="utf-8")
    assert text.startswith(CONFIG.split("# The list.")[0])  # the old lines, comments and all
    assert text.endswith('# The list.\n[lists.daily]\nsender = "d@example.org"\n')

    again = json.loads(digest("sources", "import-opml", "subs.opml", "--json", cwd=tmp_path).stdout)
    assert again["added"] == [] and again["feeds"] == 7
    assert {s["reason"].split(" ")[0] for s in again["skipped"]} == {"already", "not"}
    assert path.read_text(encoding="utf-8") == text


def test_import_json_keeps_the_folders(tmp_path: Path) -> None:
    newsletter(tmp_path)
    (tmp_path / "subs.opml").write_bytes(READER_EXPORT)
    r = digest("sources", "import-opml", "subs.opml", "--dry-run", "--json", cwd=tmp_path)
    record = json.loads(r.stdout)
    assert record["dry_run"] is True and record["renamed"] == 1
    assert record["added"][2] == {
        "name": "Quay",
        "feed": "https://quay.example.org/atom.xml",
        "folders": ["News", "Local"],
    }


def test_a_bad_opml_file_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    path = newsletter(tmp_path)
    (tmp_path / "bomb.opml").write_text(BOMB.format(enc="utf-8", a="x"), encoding="utf-8")
    for name in ("bomb.opml", "missing.opml"):
        r = digest("sources", "import-opml", name, cwd=tmp_path)
        assert r.returncode == 1 and r.stderr.startswith("Error: ")
        assert "Traceback" not in r.stderr
    assert path.read_text(encoding="utf-8") == CONFIG


def test_export_holds_the_feed_urls_and_names_what_it_left_out(tmp_path: Path) -> None:
    newsletter(tmp_path)
    r = digest("sources", "export-opml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    root = ET.fromstring(r.stdout)
    assert [(o.get("title"), o.get("xmlUrl")) for o in root.iter("outline")] == [
        ("Harbour", "https://harbour.example.org/rss")
    ]
    assert "Left out 1 source that OPML cannot hold" in r.stderr and "'Own'" in r.stderr

    out = digest("sources", "export-opml", "--out", "feeds.opml", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout == ""
    assert "Wrote 1 feed to feeds.opml." in out.stderr
    assert (tmp_path / "feeds.opml").read_bytes().startswith(b'<?xml version="1.0"')


def test_an_export_imports_back_into_another_newsletter(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    many = CONFIG.replace(
        "# The list.",
        '[[sources]]\nname = "Tides & \\"Times\\""\nfeed = "https://tides.example.org/feed?x=1&y=2"'
        '\nmax_items = 3\n\n[[sources]]\nname = "港口新闻"\nfeed = "https://zh.example.org/rss"\n\n'
        "# The list.",
    )
    newsletter(first, many)
    newsletter(second, '[lists.daily]\nsender = "d@example.org"\n')
    assert digest("sources", "export-opml", "--out", "../x.opml", cwd=first).returncode == 0
    r = digest("sources", "import-opml", "../x.opml", cwd=second)
    assert r.returncode == 0, r.stderr
    exported = [(s.name, s.location) for s in load_config(first / "digest.toml").sources[1:]]
    imported = [(s.name, s.location) for s in load_config(second / "digest.toml").sources]
    assert imported == exported
    assert tomllib.loads((second / "digest.toml").read_text(encoding="utf-8"))["lists"]


def test_a_malformed_url_with_credentials_never_shows_the_password() -> None:
    from digest.urls import redact

    assert "hunter2" not in redact("http://u:hunter2@[::1")
    assert redact("https://u:pw@x.example.org/feed") == "https://***@x.example.org/feed"
    assert redact("https://x.example.org/a@b") == "https://x.example.org/a@b"
