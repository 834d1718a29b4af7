"""`digest sources add`, `remove`, `list` and the `check` table, and the digest.toml edits behind
them (`config.edit`): comments and layout kept, nothing written unless the result loads.

Feeds are served by a real local HTTP server; the commands run as a person runs them."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from rich.cells import cell_len

from digest.config import load_config
from digest.config.edit import (
    SourceEntry,
    add_sources,
    remove_source,
    with_sources,
    without_source,
)
from digest.errors import ConfigError
from digest.fsutil import temp_files

DIGEST = Path(sys.executable).parent / "digest"

CONFIG = """\
# My newsletter.

[newsletter]
state = ".digest"   # kept between runs

# Where articles come from.
[[sources]]
name = "Own"
folder = "articles"

[[sources]]
name = "Harbour"          # the town's paper
feed = "https://harbour.example.org/rss"
max_items = 5

# [[sources]]
# name = "Example feed"
# feed = "https://example.com/feed.xml"

# The list.
[lists.daily]
sender = "d@example.org"   # who it is from
"""

ITEM = (
    "<item><title>Breakwater works</title><link>https://h.example.org/1</link>"
    "<guid>https://h.example.org/1</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate>"
    "<description>The harbour master spoke.</description></item>"
)


def rss(title: str = "Harbour News", items: str = ITEM) -> str:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"{items}</channel></rss>"
    )


def folder(tmp_path: Path, text: str = CONFIG) -> Path:
    (tmp_path / "articles").mkdir(exist_ok=True)
    (tmp_path / "digest.toml").write_text(text, encoding="utf-8")
    return tmp_path / "digest.toml"


def digest(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def one_line_error(r: subprocess.CompletedProcess[str], *expected: str) -> None:
    """A refusal: exit 1, `Error: …` with the expected words, no traceback, nothing on stdout."""
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("Error: "), r.stderr
    assert "Traceback" not in r.stderr
    for words in expected:
        assert words in r.stderr, r.stderr


# --- the text edits ----------------------------------------------------------------------------


def test_an_added_source_goes_after_the_last_one_and_every_comment_stays() -> None:
    out = with_sources(CONFIG, [SourceEntry(feed="https://gazette.example.org/feed", name="Gaz")])
    assert out == CONFIG.replace(
        "max_items = 5\n\n",
        'max_items = 5\n\n[[sources]]\nname = "Gaz"\nfeed = "https://gazette.example.org/feed"\n\n',
    )


def test_several_sources_are_added_in_order_with_a_blank_line_between() -> None:
    entries = [
        SourceEntry(feed="https://a.example.org/feed", name="A", max_items=3),
        SourceEntry(feed="feeds/b.xml", name="B"),
    ]
    out = with_sources(CONFIG, entries)
    assert out == CONFIG.replace(
        "max_items = 5\n\n",
        "max_items = 5\n\n"
        '[[sources]]\nname = "A"\nfeed = "https://a.example.org/feed"\nmax_items = 3\n\n'
        '[[sources]]\nname = "B"\nfeed = "feeds/b.xml"\n\n',
    )


def test_a_removed_source_takes_only_its_own_lines() -> None:
    out = without_source(CONFIG, 1)
    assert out == CONFIG.replace(
        '[[sources]]\nname = "Harbour"          # the town\'s paper\n'
        'feed = "https://harbour.example.org/rss"\nmax_items = 5\n\n',
        "",
    )


def test_removing_the_first_source_keeps_the_comments_above_and_below_it() -> None:
    out = without_source(CONFIG, 0)
    assert out == CONFIG.replace('[[sources]]\nname = "Own"\nfolder = "articles"\n\n', "")


def test_removing_the_only_source_leaves_its_comments_and_no_empty_table() -> None:
    only = CONFIG.replace(
        '[[sources]]\nname = "Harbour"          # the town\'s paper\n'
        'feed = "https://harbour.example.org/rss"\nmax_items = 5\n\n',
        "",
    )
    out = without_source(only, 0)
    assert "[[sources]]\n" not in out.replace("# [[sources]]\n", "")
    for comment in ("# Where articles come from.", '# name = "Example feed"', "# The list."):
        assert comment in out
    assert "sources" not in tomllib.loads(out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[sources]]\nname = "A"\nfolder = "a"\n\n# B, the paper\n'
            '[[sources]]\nname = "B"\nfolder = "b"\n\n[lists.daily]\nsender = "d@e.org"\n',
            '# B, the paper\n[[sources]]\nname = "B"\nfolder = "b"\n\n'
            '[lists.daily]\nsender = "d@e.org"\n',
        ),
        (
            '# My file.\n[[sources]]\nname = "A"\nfolder = "a"\n\n# The lists.\n'
            '[lists.daily]\nsender = "d@e.org"\n',
            '# My file.\n\n# The lists.\n[lists.daily]\nsender = "d@e.org"\n',
        ),
    ],
)
def test_removing_a_source_that_opens_the_file_keeps_the_comments_after_it_in_place(
    text: str, expected: str
) -> None:
    assert without_source(text, 0) == expected


def test_names_with_quotes_and_backslashes_are_written_as_toml_strings() -> None:
    name = 'The "Quay" \\ Times — café'
    out = with_sources(CONFIG, [SourceEntry(feed="https://q.example.org/rss", name=name)])
    assert tomllib.loads(out)["sources"][-1]["name"] == name


def test_sources_written_as_an_inline_array_are_edited_there() -> None:
    text = 'sources = [{name = "A", folder = "articles"}]\n\n[lists.daily]\nsender = "d@e.org"\n'
    out = with_sources(text, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert [s["name"] for s in tomllib.loads(out)["sources"]] == ["A", "B"]
    assert [s["name"] for s in tomllib.loads(without_source(out, 0))["sources"]] == ["B"]


def test_windows_line_ends_stay_windows_line_ends() -> None:
    text = CONFIG.replace("\n", "\r\n")
    out = with_sources(text, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert "\n" not in out.replace("\r\n", "")
    assert out.count("\r\n") == text.count("\r\n") + 4


def test_a_file_without_sources_gets_a_sources_table() -> None:
    text = '[newsletter]\nstate = ".digest"\n\n[lists.daily]\nsender = "d@example.org"\n'
    out = with_sources(text, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert out.startswith(text)
    assert tomllib.loads(out)["sources"] == [{"name": "B", "feed": "https://b.example.org/rss"}]


# --- the file edits ----------------------------------------------------------------------------


def test_an_edit_replaces_the_file_atomically_keeping_its_mode(tmp_path: Path) -> None:
    path = folder(tmp_path)
    path.chmod(0o640)
    before = path.stat().st_ino
    old, new = add_sources(path, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert [s.name for s in new.sources] == ["Own", "Harbour", "B"]
    assert load_config(path).sources == new.sources
    assert path.stat().st_ino != before, "written in place, not replaced"
    assert path.stat().st_mode & 0o777 == 0o640
    assert temp_files(path) == []
    assert old.sources == new.sources[:2]


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = folder(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "digest.toml"
    link.symlink_to(real)
    add_sources(link, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert link.is_symlink()
    assert 'name = "B"' in real.read_text(encoding="utf-8")


def test_an_edit_that_would_not_load_writes_nothing(tmp_path: Path) -> None:
    path = folder(tmp_path)
    with pytest.raises(ConfigError, match=r"not changed: with this change it would not load"):
        add_sources(path, [SourceEntry(feed="https://b.example.org/rss", name="bell\x07")])
    with pytest.raises(ConfigError, match="would not load"):
        add_sources(path, [SourceEntry(feed="ftp://b.example.org/rss", name="B")])
    assert path.read_text(encoding="utf-8") == CONFIG
    assert temp_files(path) == []


def test_a_name_or_feed_already_configured_is_refused_naming_its_source(tmp_path: Path) -> None:
    path = folder(tmp_path)
    with pytest.raises(ConfigError) as named:
        add_sources(path, [SourceEntry(feed="https://other.example.org/rss", name="Harbour")])
    assert "already named 'Harbour' (sources[1], feed https://harbour" in str(named.value)
    with pytest.raises(ConfigError) as same:
        add_sources(path, [SourceEntry(feed="https://HARBOUR.example.org/rss", name="New")])
    assert "is already configured as source 'Harbour'" in str(same.value)
    with pytest.raises(ConfigError, match="already named 'X'"):
        add_sources(
            path,
            [
                SourceEntry(feed="https://x.example.org/1", name="X"),
                SourceEntry(feed="https://x.example.org/2", name="X"),
            ],
        )
    assert path.read_text(encoding="utf-8") == CONFIG


def test_a_broken_config_is_not_edited(tmp_path: Path) -> None:
    path = folder(tmp_path, CONFIG + "\n[lists.daily.nope]\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError):
        add_sources(path, [SourceEntry(feed="https://b.example.org/rss", name="B")])
    assert path.read_bytes() == before


def test_remove_refuses_a_source_a_list_names(tmp_path: Path) -> None:
    path = folder(tmp_path, CONFIG + 'sources = ["Own", "Harbour"]\n')
    with pytest.raises(ConfigError) as refused:
        remove_source(path, "Harbour")
    assert "not changed: lists.daily.sources names 'Harbour'" in str(refused.value)
    assert "take it out of that list first" in str(refused.value)
    assert path.read_text(encoding="utf-8") == CONFIG + 'sources = ["Own", "Harbour"]\n'


def test_remove_of_an_unknown_name_suggests_the_nearest(tmp_path: Path) -> None:
    path = folder(tmp_path)
    with pytest.raises(ConfigError, match=r"no source is named 'harbor'\. Did you mean 'Harbour'"):
        remove_source(path, "harbor")
    _old, new, gone = remove_source(path, "Harbour")
    assert gone.name == "Harbour" and [s.name for s in new.sources] == ["Own"]


# --- digest sources add / remove / list, as run --------------------------------------------------

PAGE = (
    "<!doctype html><html><head><title>Harbour</title>"
    '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
    '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    "</head><body>Welcome</body></html>"
)


def test_add_finds_the_feed_of_a_web_page_and_names_it_by_its_title(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(), content_type="application/rss+xml"
    )
    path = folder(tmp_path)
    page = httpserver.url_for("/")
    r = digest("sources", "add", page, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    feed = httpserver.url_for("/feed.xml")
    assert f"{page} is a web page; it links to the feed {feed}" in r.stdout
    assert httpserver.url_for("/atom.xml") in r.stdout  # the other feed is listed
    assert "Added source 'Harbour News'" in r.stdout and "(RSS 2.0, 1 item)" in r.stdout
    assert path.read_text(encoding="utf-8") == CONFIG.replace(
        "max_items = 5\n\n",
        f'max_items = 5\n\n[[sources]]\nname = "Harbour News"\nfeed = "{feed}"\n\n',
    )
    listed = json.loads(digest("sources", "list", "--json", cwd=tmp_path).stdout)
    assert listed[-1] == {
        "name": "Harbour News",
        "kind": "feed",
        "location": feed,
        "max_items": None,
        "full_text": "auto",
        "lists": ["daily"],
    }
    again = digest("sources", "add", page, "--name", "Other", cwd=tmp_path)
    one_line_error(again, f"{feed} is already configured as source 'Harbour News'")


def test_add_refuses_what_gives_nothing_and_writes_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/page").respond_with_data(
        "<html><body>no feed here</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/empty.xml").respond_with_data(
        rss(items=""), content_type="application/rss+xml"
    )
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    httpserver.expect_request("/harbour.xml").respond_with_data(
        rss(title="Harbour"), content_type="application/rss+xml"
    )
    path = folder(tmp_path)
    cases = [
        ("/page", "a web page that links to no feed; nothing added"),
        ("/empty.xml", "no items to read"),
        ("/gone.xml", "HTTP 404"),
        ("/harbour.xml", "a source is already named 'Harbour'"),
    ]
    for where, words in cases:
        one_line_error(digest("sources", "add", httpserver.url_for(where), cwd=tmp_path), words)
    one_line_error(digest("sources", "add", "missing.xml", cwd=tmp_path), "no such file")
    bad = digest("sources", "add", "ftp://example.org/feed", cwd=tmp_path)
    assert bad.returncode == 2 and "only http(s) URLs and feed files" in bad.stderr
    assert path.read_text(encoding="utf-8") == CONFIG


def test_add_a_feed_file_writes_its_path_relative_to_the_folder(tmp_path: Path) -> None:
    path = folder(tmp_path)
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "saved.xml").write_text(rss("Saved"), encoding="utf-8")
    r = digest("sources", "add", "feeds/saved.xml", "--max-items", "3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    added = tomllib.loads(path.read_text(encoding="utf-8"))["sources"][-1]
    assert added == {"name": "Saved", "feed": "feeds/saved.xml", "max_items": 3}
    assert load_config(path).sources[-1].location == str(tmp_path / "feeds" / "saved.xml")


def test_add_no_check_reads_nothing(tmp_path: Path, httpserver: HTTPServer) -> None:
    path = folder(tmp_path)
    url = httpserver.url_for("/later.xml")
    r = digest("sources", "add", url, "--no-check", "--name", "Later", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert httpserver.log == []
    record = json.loads(r.stdout)
    assert (record["name"], record["location"], record["checked"]) == ("Later", url, False)
    assert load_config(path).sources[-1].name == "Later"


def test_add_json_says_what_was_found(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(), content_type="application/rss+xml"
    )
    folder(tmp_path)
    r = digest("sources", "add", httpserver.url_for("/"), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["name"] == "Harbour News" and record["items"] == 1
    assert record["found_on"] == httpserver.url_for("/")
    assert record["other_feeds"] == [httpserver.url_for("/atom.xml")]
    assert record["format"] == "rss20"


def test_remove_as_run(tmp_path: Path) -> None:
    path = folder(tmp_path, CONFIG + 'sources = ["Harbour"]\n')
    refused = digest("sources", "remove", "Harbour", cwd=tmp_path)
    one_line_error(refused, "lists.daily.sources names 'Harbour'")
    one_line_error(digest("sources", "remove", "Harbor", cwd=tmp_path), "Did you mean 'Harbour'?")
    r = digest("sources", "remove", "Own", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Removed source 'Own' (folder articles)" in r.stdout
    text = path.read_text(encoding="utf-8")
    assert 'name = "Own"' not in text and "# Where articles come from." in text


@pytest.mark.parametrize(
    "command", ["add", "remove", "list", "check", "import-opml", "export-opml", ""]
)
def test_every_sources_command_has_help_with_an_example(tmp_path: Path, command: str) -> None:
    for flag in ("--help", "-h"):
        r = digest("sources", *([command] if command else []), flag, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Example" in r.stdout


# --- digest sources check: a table that fits ---------------------------------------------------

WIDE = "港口新闻 每日港口与船只消息"
LONG = "The Harbour Master's Weekly Notes on Boats, Tides, Storms and the New Breakwater Works"


def check_config(httpserver: HTTPServer) -> str:
    return (
        '[[sources]]\nname = "Own"\nfolder = "articles"\n\n'
        f'[[sources]]\nname = "{LONG}"\nfeed = "{httpserver.url_for("/long.xml")}"\n\n'
        f'[[sources]]\nname = "{WIDE}"\nfeed = "{httpserver.url_for("/zh.xml")}"\n\n'
        f'[[sources]]\nname = "Gone"\nfeed = "{httpserver.url_for("/gone/" + "x" * 90)}"\n\n'
        f'[[sources]]\nfeed = "{httpserver.url_for("/unnamed/feed.xml")}"\n\n'
        '[lists.daily]\nsender = "d@example.org"\n'
    )


def serve_check_feeds(httpserver: HTTPServer) -> None:
    for where in ("/long.xml", "/zh.xml", "/unnamed/feed.xml"):
        httpserver.expect_request(where).respond_with_data(
            rss(), content_type="application/rss+xml"
        )
    httpserver.expect_request("/gone/" + "x" * 90).respond_with_data("gone", status=404)


@pytest.mark.parametrize("columns", [80, 100])
def test_check_fits_the_terminal_one_row_per_source(
    tmp_path: Path, httpserver: HTTPServer, columns: int
) -> None:
    serve_check_feeds(httpserver)
    folder(tmp_path, check_config(httpserver))
    r = digest("sources", "check", cwd=tmp_path, columns=columns)
    assert r.returncode == 1  # one source failed
    lines = r.stdout.splitlines()
    assert all(cell_len(line) <= columns for line in lines), "\n".join(lines)
    header = ["Source", "Status", "Last", "success", "(UTC)", "Items", "Polled", "Text"]
    assert lines[0].split() == header
    rows = [i for i, line in enumerate(lines) if line and not line.startswith(" ")][1:-1]
    assert len(rows) == 5, "\n".join(lines)  # one row per source, then the summary
    starts = ["Own", "The Harbour Master", "港口新闻", "Gone", "localhost/unnamed/feed.xml"]
    for i, start in zip(rows, starts, strict=True):
        assert lines[i].startswith(start), lines[i]
    bounds = [*rows, len(lines) - 1]
    assert all(b - a <= 5 for a, b in itertools.pairwise(bounds)), "\n".join(lines)
    gone = lines[rows[3] : rows[4]]
    assert gone[0].split()[1:4] == ["error", "-", "0"]
    assert "HTTP 404" in " ".join(gone) and any(httpserver.url_for("/gone/") in g for g in gone)
    assert httpserver.url_for("/long.xml") not in r.stdout  # a healthy source's URL: --wide
    assert lines[-1] == "5 sources, 1 failed."


def test_check_wide_shows_every_address_and_json_keeps_every_field(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve_check_feeds(httpserver)
    folder(tmp_path, check_config(httpserver))
    wide = digest("sources", "check", "--wide", cwd=tmp_path, columns=80)
    assert httpserver.url_for("/long.xml") in wide.stdout
    assert LONG in wide.stdout and "  articles" in wide.stdout
    records = json.loads(digest("sources", "check", "--json", cwd=tmp_path).stdout)
    assert [r["name"] for r in records][:2] == ["Own", LONG]
    expected = {"name", "kind", "location", "checked_at", "status", "last_success", "items"}
    expected |= {"missing_dates", "teasers", "feed_url", "problem"}
    assert all(expected <= set(r) for r in records)
    assert records[1]["location"] == httpserver.url_for("/long.xml")
