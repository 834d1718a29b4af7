"""`digest gather` and `digest sources check` as a person runs them, against a local feed server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.text import parse_since

DIGEST = Path(sys.executable).parent / "digest"
LEAD = (
    "The harbour master said on Monday that the new breakwater had already halved the number "
    "of boats damaged in storms since it was finished in the spring."
)

OWN = (
    "The sailing club will hold its winter lectures in the old lifeboat station this year, "
    "starting with a talk on tides and charts for beginners."
)
"""Our own story's text: not the feed's, or the two would be one story told twice."""


def feed(hours_ago: float) -> str:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=hours_ago))
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>'
        "<item><title>Breakwater works</title><link>https://h.example.org/1</link>"
        f"<guid>https://h.example.org/1</guid><pubDate>{when}</pubDate>"
        f"<description>&lt;p&gt;{LEAD}&lt;/p&gt;</description></item></channel></rss>"
    )


def newsletter(tmp_path: Path, feeds: list[str]) -> Path:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "own.md").write_text(
        f"---\ntitle: Our own story\ndate: 2020-05-01\n---\n\n{OWN}\n", encoding="utf-8"
    )
    sources = "".join(
        f'[[sources]]\nname = "Feed {i}"\nfeed = "{u}"\nfull_text = "never"\n\n'
        for i, u in enumerate(feeds)
    )
    (tmp_path / "digest.toml").write_text(
        '[[sources]]\nname = "Own"\nfolder = "articles"\n\n'
        + sources
        + '[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n',
        encoding="utf-8",
    )
    return tmp_path / "digest.toml"


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_gather_prints_the_next_issue(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f.xml").respond_with_data(
        feed(2), content_type="application/rss+xml"
    )
    newsletter(tmp_path, [httpserver.url_for("/f.xml")])
    r = digest("gather", "--list", "daily", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Daily: 2 article(s) for the next issue (feed items since ")
    assert "1. Breakwater works" in lines
    assert "2. Our own story" in lines
    assert "   Feed 0 · " in r.stdout and "https://h.example.org/1" in r.stdout
    assert "The harbour master said on Monday" in r.stdout


def test_gather_json_and_since(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f.xml").respond_with_data(
        feed(50), content_type="application/rss+xml"
    )
    newsletter(tmp_path, [httpserver.url_for("/f.xml")])
    recent = json.loads(digest("gather", "--json", cwd=tmp_path).stdout)
    assert [a["title"] for a in recent["articles"]] == ["Our own story"]
    wider = digest("gather", "--json", "--since", "3d", cwd=tmp_path)
    data = json.loads(wider.stdout)
    assert [a["title"] for a in data["articles"]] == ["Breakwater works", "Our own story"]
    assert data["articles"][0]["lead"] == [LEAD]
    assert data["problems"] == []


def test_gather_reports_a_broken_feed_and_goes_on(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    url = httpserver.url_for("/gone.xml")
    newsletter(tmp_path, [url])
    r = digest("gather", cwd=tmp_path)
    assert r.returncode == 0
    assert "1. Our own story" in r.stdout
    assert f"Feed 0 ({url}): HTTP 404 NOT FOUND" in " ".join(r.stderr.split())
    assert "1 source problem(s)" in r.stderr


def test_bad_since_is_a_clear_error(tmp_path: Path) -> None:
    newsletter(tmp_path, [])
    r = digest("gather", "--since", "yesterday-ish", cwd=tmp_path)
    assert r.returncode == 2
    assert "'yesterday-ish' is neither a time span nor an ISO date" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_list_is_a_clear_error(tmp_path: Path) -> None:
    newsletter(tmp_path, [])
    r = digest("gather", "--list", "nope", cwd=tmp_path)
    assert r.returncode == 1 and "there is no list named 'nope'" in r.stderr


def test_sources_check(tmp_path: Path, httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"1"':
            return Response(status=304)
        return Response(feed(2), content_type="application/rss+xml", headers={"ETag": '"1"'})

    httpserver.expect_request("/f.xml").respond_with_handler(handler)
    newsletter(tmp_path, [httpserver.url_for("/f.xml")])
    r = digest("sources", "check", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    own, f = json.loads(r.stdout)
    assert (own["name"], own["status"], own["items"]) == ("Own", "folder", 1)
    assert (f["name"], f["status"], f["items"], f["missing_dates"], f["teasers"]) == (
        "Feed 0",
        "200",
        1,
        0,
        1,
    )
    again = json.loads(digest("sources", "check", "--json", cwd=tmp_path).stdout)
    assert again[1]["status"] == "304"
    table = digest("sources", "check", cwd=tmp_path)
    assert "Feed 0" in table.stdout and "304" in table.stdout and "teasers" in table.stdout


def test_sources_check_fails_when_a_source_fails(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_data(
        "<html><body>hi</body></html>", content_type="text/html"
    )
    newsletter(tmp_path, [httpserver.url_for("/x")])
    r = digest("sources", "check", "--json", cwd=tmp_path)
    assert r.returncode == 1
    bad = json.loads(r.stdout)[1]
    assert bad["status"] == "error"
    assert bad["problem"] == (
        "an HTML page, not a feed, and it links to no feed; put the feed's own URL in digest.toml"
    )


LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", NOW - timedelta(days=2)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1w", NOW - timedelta(weeks=1)),
        ("2026-07-01", datetime(2026, 6, 30, 23, 0, tzinfo=UTC)),
        ("2026-11-20T08:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-20T08:00+02:00", datetime(2026, 11, 20, 6, 0, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, LONDON, NOW) == expected


def test_parse_since_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="neither a time span nor an ISO date"):
        parse_since("soon", LONDON, NOW)


def test_sources_check_never_prints_a_password(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/private.xml").respond_with_data("no", status=401)
    url = httpserver.url_for("/private.xml").replace("http://", "http://reader:s3cret@")
    newsletter(tmp_path, [url])
    for args in (("sources", "check", "--json"), ("sources", "check"), ("gather",)):
        r = digest(*args, cwd=tmp_path)
        assert "s3cret" not in r.stdout + r.stderr, args
    health = json.loads(digest("sources", "check", "--json", cwd=tmp_path).stdout)
    assert health[1]["location"] == url.replace("reader:s3cret@", "***@")


def test_gather_never_prints_a_password_of_an_unnamed_feed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """An unnamed feed is named by its URL, so its articles' source carried the password."""
    httpserver.expect_request("/private.xml").respond_with_data(
        feed(2), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/private.xml").replace("http://", "http://reader:s3cret@")
    (tmp_path / "digest.toml").write_text(
        f'[[sources]]\nfeed = "{url}"\nfull_text = "never"\n\n'
        '[lists.daily]\nsender = "d@example.org"\n',
        encoding="utf-8",
    )
    for args in (("gather",), ("gather", "--json")):
        r = digest(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert "Breakwater works" in r.stdout
        assert "s3cret" not in r.stdout + r.stderr, args
