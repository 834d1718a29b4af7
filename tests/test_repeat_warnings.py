"""A source's problems are said once per change of its health, not on every run (issue 13,
item 6): a feed with untitled entries warns on the first run, not on the second identical one
(where -v still shows it), not when only the counts change, and again when the kind of problem
changes; a feed that fails warns once, and again when it fails another way; a source that
recovers says so once. `digest sources check` lists every current problem every time. Real
runs of `digest` against a local feed server whose answer the test changes between runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.models import SourceHealth
from digest.sources.health import health_changed, problem_key

DIGEST = Path(sys.executable).parent / "digest"
TEXT = (
    "The harbour master said on Monday that the new breakwater had already halved the number "
    "of boats damaged in storms since it was finished in the spring."
)
UNTITLED = "entries have no title (titled from their text)"
NO_LINK = "entries have no link (kept without one)"
POINTER = "`digest sources check` lists them all"


def entry(i: int, *, title: bool = True, link: bool = True) -> str:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=i))
    return (
        "<item>"
        + (f"<title>Story {i}</title>" if title else "")
        + (f"<link>https://h.example.org/{i}</link>" if link else "")
        + (
            f"<guid>https://h.example.org/{i}</guid>"
            if link
            else f'<guid isPermaLink="false">story-{i}</guid>'
        )
        + f"<pubDate>{when}</pubDate>"
        f"<description>&lt;p&gt;{TEXT}&lt;/p&gt;</description></item>"
    )


def rss(*entries: str) -> str:
    return f'<rss version="2.0"><channel><title>T</title>{"".join(entries)}</channel></rss>'


class Feed:
    """A feed URL whose answer the test sets: a body (200) or a status."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.body = rss(entry(1))
        self.status = 200
        httpserver.expect_request("/f.xml").respond_with_handler(self)
        self.url = httpserver.url_for("/f.xml")

    def __call__(self, _request: Request) -> Response:
        if self.status != 200:
            return Response("no", status=self.status)
        return Response(self.body, content_type="application/rss+xml")


@pytest.fixture
def feed(httpserver: HTTPServer) -> Feed:
    return Feed(httpserver)


def newsletter(root: Path, url: str) -> Path:
    (root / "digest.toml").write_text(
        f'[[sources]]\nname = "Town Notes"\nfeed = "{url}"\nfull_text = "never"\n\n'
        '[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n',
        encoding="utf-8",
    )
    return root


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}  # the check's table on one line a source
    r = subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )
    assert "Traceback" not in r.stderr, r.stderr
    return r


def warnings(r: subprocess.CompletedProcess[str]) -> list[str]:
    return [" ".join(line.split()) for line in r.stderr.splitlines() if line.startswith("WARNING")]


def test_untitled_entries_warn_once_until_the_kind_of_problem_changes(
    tmp_path: Path, feed: Feed
) -> None:
    root = newsletter(tmp_path, feed.url)
    feed.body = rss(entry(1, title=False), entry(2, title=False), entry(3))
    first = digest("gather", cwd=root)
    assert first.returncode == 0, first.stderr
    said = warnings(first)
    assert any(f"2 of 3 {UNTITLED}" in w for w in said), first.stderr
    assert any("1 source problem(s), new since the last run" in w for w in said), said
    assert any(POINTER in w for w in said)

    second = digest("gather", cwd=root)  # the same feed again: nothing to say
    assert second.returncode == 0 and warnings(second) == [], second.stderr

    told = digest("gather", "-v", cwd=root)  # still there, with -v
    assert warnings(told) == [], told.stderr
    assert f"INFO Town Notes ({feed.url}): 2 of 3 {UNTITLED}" in " ".join(told.stderr.split())
    assert "1 problem, as in the last run" in told.stderr

    feed.body = rss(entry(1, title=False), entry(2, title=False), entry(3, title=False))
    counts = digest("gather", cwd=root)  # 3 of 3 instead of 2 of 3: the same problem
    assert warnings(counts) == [], counts.stderr

    feed.body = rss(entry(1, title=False), entry(2, link=False))
    changed = digest("gather", cwd=root)  # a link missing too: a new kind, so both are said
    said = warnings(changed)
    assert any(f"1 of 2 {UNTITLED}" in w for w in said), changed.stderr
    assert any(f"1 of 2 {NO_LINK}" in w for w in said)
    assert any("2 source problem(s), new since the last run" in w for w in said)

    feed.body = rss(entry(1), entry(2))
    fixed = digest("gather", cwd=root)  # clean again: said once
    assert warnings(fixed) == [f"WARNING Town Notes ({feed.url}): read without problems again"]
    assert warnings(digest("gather", cwd=root)) == []


def test_sources_check_lists_every_problem_every_time(tmp_path: Path, feed: Feed) -> None:
    root = newsletter(tmp_path, feed.url)
    feed.body = rss(entry(1, title=False), entry(2))
    digest("gather", cwd=root)
    assert warnings(digest("gather", cwd=root)) == []
    for _ in range(2):
        table = digest("sources", "check", cwd=root)
        assert table.returncode == 0, table.stderr
        assert f"1 of 2 {UNTITLED}" in table.stdout, table.stdout
        as_json = digest("sources", "check", "--json", cwd=root)
        assert f"1 of 2 {UNTITLED}" in as_json.stdout


def test_a_failing_feed_warns_once_and_again_when_it_fails_another_way(
    tmp_path: Path, feed: Feed
) -> None:
    root = newsletter(tmp_path, feed.url)
    assert warnings(digest("gather", cwd=root)) == []  # fine: nothing said

    feed.status = 404
    down = digest("gather", cwd=root)
    assert any("HTTP 404 NOT FOUND" in w for w in warnings(down)), down.stderr

    again = digest("gather", "-v", cwd=root)  # the same failure: not a warning
    assert warnings(again) == [], again.stderr
    said = " ".join(again.stderr.split())
    assert "INFO Town Notes: failed (last success " in said
    assert "; 1 source failing: Town Notes (last success " in said  # in the summary line
    assert "INFO Town Notes (" in said and "HTTP 404 NOT FOUND" in said

    feed.status = 500
    other = digest("gather", cwd=root)  # another failure: said
    assert any("HTTP 500 INTERNAL SERVER ERROR" in w for w in warnings(other)), other.stderr

    feed.status = 200
    back = digest("gather", cwd=root)
    assert warnings(back) == [f"WARNING Town Notes ({feed.url}): read without problems again"]
    assert warnings(digest("gather", cwd=root)) == []


def test_preview_says_a_problem_once_and_not_again(tmp_path: Path, feed: Feed) -> None:
    """`digest preview` logged each source problem twice (when read, and again with the
    preview's warnings), on every run."""
    root = newsletter(tmp_path, feed.url)
    feed.body = rss(entry(1, title=False), entry(2))
    first = digest("preview", cwd=root)
    assert first.returncode == 0, first.stderr
    assert sum(f"1 of 2 {UNTITLED}" in w for w in warnings(first)) == 1, first.stderr
    second = digest("preview", cwd=root)
    assert second.returncode == 0 and warnings(second) == [], second.stderr


def health(status: str = "200", problem: str | None = None) -> SourceHealth:
    now = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    return SourceHealth("F", "feed", "https://e.org/f", now, status, now, 20, 0, 0, None, problem)


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        (None, health(), False),  # a new, clean source: nothing to say
        (None, health(problem="1 of 2 entries have no link"), True),
        (
            health(problem="10 of 20 entries have no title (titled from their text)"),
            health(problem="11 of 21 entries have no title (titled from their text)"),
            False,
        ),
        (health("200"), health("304"), False),  # not modified is no news
        (
            health("error", "HTTP 404 NOT FOUND; check the feed's URL in digest.toml"),
            health("error", "HTTP 500 INTERNAL SERVER ERROR; the site has trouble"),
            True,
        ),
        (
            health(
                "error", "no answer within 10 s (using the 20 entries fetched 2026-11-23 07:00)"
            ),
            health(
                "error", "no answer within 10 s (using the 21 entries fetched 2026-11-24 09:00)"
            ),
            False,
        ),
        (health("error", "HTTP 404 NOT FOUND"), health("200"), True),  # back: said once
    ],
)
def test_the_change_rule(before: SourceHealth | None, after: SourceHealth, changed: bool) -> None:
    assert health_changed(before, after) is changed


def test_problem_key_keeps_status_codes_and_drops_counts() -> None:
    assert problem_key("HTTP 404 NOT FOUND") == "HTTP 404 NOT FOUND"
    assert problem_key("3 of 20 entries lack  dates") == "# of # entries lack dates"
    assert problem_key(None) == problem_key("") == ""


def test_unreadable_article_pages_are_one_warning_per_source(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Ten teasers whose pages are gone are one line, not ten, on every run; -v names each."""
    base = httpserver.url_for("/")
    items = "".join(
        f"<item><title>Story {i}</title><link>{base}gone/{i}</link>"
        f"<guid>{base}gone/{i}</guid><pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
        "<description>Short teaser.</description></item>"
        for i in range(10)
    )
    httpserver.expect_request("/f.xml").respond_with_data(
        rss(items), content_type="application/rss+xml"
    )
    for i in range(10):
        httpserver.expect_request(f"/gone/{i}").respond_with_data("no", status=404)
    root = tmp_path
    (root / "digest.toml").write_text(
        f'[[sources]]\nname = "Town Notes"\nfeed = "{base}f.xml"\nfull_text = "always"\n\n'
        '[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n',
        encoding="utf-8",
    )
    quiet = digest("gather", cwd=root)
    pages = [w for w in warnings(quiet) if "could not be read" in w or "full text of" in w]
    assert pages == [
        f"WARNING Town Notes ({base}f.xml): 10 article page(s) could not be read; used the "
        "feed's text (-v names them)"
    ], quiet.stderr
    told = digest("gather", "-v", cwd=root)
    assert sum("full text of" in line for line in told.stderr.splitlines()) == 10, told.stderr
