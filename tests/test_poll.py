"""Polling between issues (issue 17): a feed whose items rotate out between polls still gives
the issue all of them; feed hints are a floor on how often it is asked; `digest poll`; pruning
keeps the state bounded. Real parts: a local HTTP server, real SQLite state, a given clock."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.config import Config, parse_config
from digest.models import Entry
from digest.pipeline import gather, poll_sources
from digest.schedule import Daemon
from digest.sources.feeds import parse_feed
from digest.sources.polling import MAX_HINT, max_age
from digest.state import STATE_FILE, State

BASE = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ISSUE = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
WORDS = [
    "harbour",
    "council",
    "ferry",
    "bridge",
    "library",
    "orchard",
    "market",
    "railway",
    "school",
    "museum",
    "river",
    "theatre",
    "bakery",
    "clinic",
    "garden",
    "tower",
    "stadium",
    "canal",
    "forest",
    "airport",
    "glacier",
    "quarry",
    "vineyard",
    "lighthouse",
    "observatory",
    "meadow",
    "festival",
    "archive",
    "workshop",
    "brewery",
    "tunnel",
    "mill",
    "island",
    "valley",
    "summit",
]


def text(n: int) -> str:
    """A sentence of its own per item, so no two items are one story to the grouper."""
    pick = random.Random(n).sample(WORDS, 12)
    return f"On day {n} the {' and the '.join(pick)} all reported something new to residents."


def item(n: int) -> str:
    when = format_datetime(BASE + timedelta(minutes=10 * n))
    return (
        f"<item><title>Story number {n} {WORDS[n % len(WORDS)]}</title>"
        f"<link>https://news.example.org/story-{n}</link>"
        f'<guid isPermaLink="false">story-{n}</guid><pubDate>{when}</pubDate>'
        f"<description><![CDATA[<p>{text(n)}</p>]]></description></item>"
    )


def rss(numbers: range, extra: str = "") -> str:
    items = "".join(item(n) for n in reversed(numbers))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example.org/</link>{extra}{items}</channel></rss>"
    )


class RotatingFeed:
    """A feed that shows what the test says it shows now, and counts the requests."""

    def __init__(self) -> None:
        self.shows = range(1, 6)
        self.extra = ""
        self.headers: dict[str, str] = {}
        self.hits = 0

    def __call__(self, request: Request) -> Response:
        self.hits += 1
        return Response(
            rss(self.shows, self.extra), content_type="application/rss+xml", headers=self.headers
        )


@pytest.fixture
def feed(httpserver: HTTPServer) -> RotatingFeed:
    handler = RotatingFeed()
    httpserver.expect_request("/wire.xml").respond_with_handler(handler)
    return handler


def config(tmp_path: Path, url: str, **extra: Any) -> Config:
    data = {
        "newsletter": {"state": ".digest", **extra},
        "sources": [{"feed": url, "name": "Wire", "full_text": "never"}],
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def test_items_that_rotate_out_between_polls_all_reach_the_issue(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = config(tmp_path, httpserver.url_for("/wire.xml"))
    feed.shows = range(1, 6)
    first = poll_sources(cfg, now=BASE + timedelta(hours=1))
    feed.shows = range(4, 9)
    second = poll_sources(cfg, now=BASE + timedelta(hours=7))
    feed.shows = range(6, 11)

    issue = gather(cfg, cfg.get_list("daily"), now=ISSUE)

    assert [(p.items, p.new) for p in first.polled + second.polled] == [(5, 5), (5, 3)]
    titles = {a.title for a in issue.articles}
    assert titles == {f"Story number {n} {WORDS[n]}" for n in range(1, 11)}
    assert issue.articles[0].title == f"Story number 10 {WORDS[10]}"  # newest first
    assert feed.hits == 3


def test_sources_check_counts_the_items_only_polling_caught(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = write_config(tmp_path, httpserver.url_for("/wire.xml"))
    feed.shows = range(1, 6)
    poll_sources(cfg, now=BASE + timedelta(hours=1))
    feed.shows = range(4, 9)
    gather(cfg, cfg.get_list("daily"), now=BASE + timedelta(hours=2))  # an issue saw 4..8
    feed.shows = range(7, 12)
    poll_sources(cfg, now=BASE + timedelta(hours=3))

    out = digest("sources", "check", "--json", cwd=tmp_path, cfg=cfg)

    assert out.returncode == 0, out.stderr
    (record,) = json.loads(out.stdout)
    assert record["caught_by_polling"] == 3  # items 1, 2, 3: polled, gone, never in an issue's read


def test_the_feeds_ttl_is_a_floor_on_how_often_it_is_polled(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = config(tmp_path, httpserver.url_for("/wire.xml"))
    feed.extra = "<ttl>120</ttl>"
    t0 = BASE + timedelta(hours=1)

    poll_sources(cfg, now=t0)
    later = poll_sources(cfg, now=t0 + timedelta(minutes=61))  # poll_minutes is 60
    after = poll_sources(cfg, now=t0 + timedelta(minutes=120))

    assert later.polled == () and later.not_due == (("Wire", t0 + timedelta(minutes=120)),)
    assert len(after.polled) == 1
    assert feed.hits == 2


def test_cache_control_max_age_is_a_floor_too_and_a_short_one_is_not(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = config(tmp_path, httpserver.url_for("/wire.xml"), poll_minutes=30)
    t0 = BASE + timedelta(hours=1)
    feed.headers = {"Cache-Control": "public, max-age=5400"}
    poll_sources(cfg, now=t0)
    assert poll_sources(cfg, now=t0 + timedelta(minutes=31)).polled == ()
    assert len(poll_sources(cfg, now=t0 + timedelta(minutes=90)).polled) == 1
    feed.headers = {"Cache-Control": "max-age=60"}  # shorter than poll_minutes: no effect
    poll_sources(cfg, now=t0 + timedelta(minutes=180))
    assert len(poll_sources(cfg, now=t0 + timedelta(minutes=210)).polled) == 1
    assert feed.hits == 4


def test_a_source_with_poll_minutes_0_is_never_polled(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = config(tmp_path, httpserver.url_for("/wire.xml"), poll_minutes=0)
    report = poll_sources(cfg, now=BASE)
    assert report.polled == () and report.not_due == () and feed.hits == 0


def test_the_schedule_daemon_polls_what_is_due_each_pass(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = config(tmp_path, httpserver.url_for("/wire.xml"))
    clock = [BASE + timedelta(hours=1)]
    daemon = Daemon(cfg, clock=lambda: clock[0])
    scheduled = daemon._scheduler()  # the jobs it would run, not started

    daemon.poll()
    clock[0] += timedelta(minutes=30)
    daemon.poll()  # not due: nothing read
    feed.shows = range(4, 9)
    clock[0] += timedelta(minutes=30)
    daemon.poll()

    assert "poll" in {j.id for j in scheduled.get_jobs()}
    assert feed.hits == 2
    with State.open(cfg.state_dir) as state:
        assert len(state.polled.ids(cfg.sources[0].location)) == 8


def digest(*args: str, cwd: Path, cfg: Config) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "digest"
    return subprocess.run(
        [str(exe), "--config", str(cfg.path), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def write_config(tmp_path: Path, url: str) -> Config:
    (tmp_path / "digest.toml").write_text(
        f'[newsletter]\nstate = ".digest"\n\n[[sources]]\nname = "Wire"\nfeed = "{url}"\n'
        'full_text = "never"\n\n[lists.daily]\nsender = "Daily <d@example.com>"\n',
        encoding="utf-8",
    )
    return config(tmp_path, url)


def test_digest_poll_reads_what_is_due_and_says_so(
    tmp_path: Path, httpserver: HTTPServer, feed: RotatingFeed
) -> None:
    cfg = write_config(tmp_path, httpserver.url_for("/wire.xml"))
    t0 = BASE + timedelta(hours=1)

    first = digest("poll", "--json", "--now", t0.isoformat(), cwd=tmp_path, cfg=cfg)
    again = digest("poll", "--now", (t0 + timedelta(minutes=5)).isoformat(), cwd=tmp_path, cfg=cfg)
    forced = digest("poll", "--all", "--now", t0.isoformat(), cwd=tmp_path, cfg=cfg)

    assert first.returncode == 0, first.stderr
    record = json.loads(first.stdout)
    assert [(p["name"], p["items"], p["new"]) for p in record["polled"]] == [("Wire", 5, 5)]
    assert again.returncode == 0 and "Wire: not due until 2026-11-23 10:00 UTC" in again.stdout
    assert "Wire: 200, 5 item(s), 0 new" in forced.stdout
    assert feed.hits == 2
    bad = digest("poll", "--now", "yesterday-ish", cwd=tmp_path, cfg=cfg)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


# Pruning.


def entry(n: int, words: int = 200) -> Entry:
    return Entry(
        id=f"id-{n}",
        key=f"guid:story-{n}",
        title=f"Story {n}",
        url=f"https://news.example.org/{n}",
        canonical_url=f"https://news.example.org/{n}",
        published=BASE,
        paragraphs=(" ".join(["word"] * words),),
    )


def test_pruning_forgets_old_entries_unless_an_issue_in_the_window_used_them(
    tmp_path: Path,
) -> None:
    day0 = BASE
    with State.open(tmp_path) as state:
        state.polled.record("https://wire", [entry(1), entry(2), entry(3)], day0, seen_by="poll")
        state.items.note([("id-1", None), ("id-2", None), ("id-3", None)], day0)
        state.polled.record("https://wire", [entry(3)], day0 + timedelta(days=50), seen_by="poll")
        state.sent.record_issue("daily", "daily-x", ["id-2"], day0 + timedelta(days=5))

        assert state.polled.prune(day0 + timedelta(days=90), keep_days=90) == 0
        pruned = state.polled.prune(day0 + timedelta(days=91), keep_days=90)

        assert pruned == 1  # id-1: old, unused. id-2: an issue within the window used it.
        assert state.polled.ids("https://wire") == {"id-2", "id-3"}  # id-3: seen on day 50
        seen = {r[0] for r in state.db.conn.execute("SELECT id FROM items")}
        assert seen == {"id-2", "id-3"}


def test_the_state_file_stays_bounded_over_months_of_polls(tmp_path: Path) -> None:
    """A feed file rewritten with five new items before each poll, polled four times a day for
    120 days with keep_days = 30: the file is no bigger at the end than after 60 days
    (give or take a few pages)."""
    feed_file = tmp_path / "wire.xml"
    data = {
        "newsletter": {"state": ".digest", "keep_days": 30, "poll_minutes": 360},
        "sources": [{"feed": "wire.xml", "name": "Wire"}],
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    cfg = parse_config(data, tmp_path / "digest.toml")
    sizes = {}
    for round_ in range(4 * 120):
        feed_file.write_text(rss(range(5 * round_, 5 * round_ + 5)), encoding="utf-8")
        report = poll_sources(cfg, now=BASE + timedelta(hours=6 * round_))
        assert report.polled[0].new == 5
        if round_ + 1 in (4 * 60, 4 * 120):
            sizes[(round_ + 1) // 4] = (tmp_path / ".digest" / STATE_FILE).stat().st_size
    with State.open(tmp_path / ".digest") as state:
        kept = state.db.conn.execute("SELECT count(*) FROM polled").fetchone()[0]
        sightings = state.db.conn.execute("SELECT count(*) FROM items").fetchone()[0]
    assert kept <= 5 * 4 * 31 and sightings <= 5 * 4 * 31
    # Unbounded, the second 60 days would double it; SQLite's free pages may shift a few KB.
    assert sizes[120] <= sizes[60] * 1.05


def test_the_syndication_module_and_ttl_give_the_longest_hint() -> None:
    sy = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>W</title>'
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"
        "<ttl>45</ttl>" + item(1) + "</channel></rss>"
    )
    parsed = parse_feed(sy.encode(), url="https://news.example.org/rss")
    assert parsed.every == timedelta(minutes=45)  # ttl 45 over twice an hour
    weekly = sy.replace("hourly", "weekly").replace("<ttl>45</ttl>", "")
    assert parse_feed(weekly.encode(), url="x").every == MAX_HINT  # a day at most
    assert max_age({"cache-control": "no-cache, max-age=600"}) is None
    assert max_age({"cache-control": 'private, max-age="600"'}) == timedelta(minutes=10)
