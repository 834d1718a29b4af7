"""The state database: the sent ledger, the feed cache, item sightings and source health."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.models import Entry, SourceHealth
from digest.state import SCHEMA_VERSION, STATE_FILE, CachedFeed, SentKeys, State

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_new_database_is_wal_and_versioned(tmp_path: Path) -> None:
    with State.open(tmp_path / ".digest"):
        pass
    conn = sqlite3.connect(tmp_path / ".digest" / STATE_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    with State.open(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / STATE_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SourceError, match="from a newer digest"):
        State.open(tmp_path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SourceError, match="not a usable state database"):
        State.open(tmp_path)


def test_record_issue_and_last_sent(tmp_path: Path) -> None:
    with State.open(tmp_path) as s:
        assert s.sent.last_sent("daily") is None
        s.items.note([("a", "https://e.org/a"), ("b", None)], NOW)
        s.sent.record_issue("daily", "daily-2026-11-23", ["a", "b"], NOW - timedelta(days=1))
        s.sent.record_issue("daily", "daily-2026-11-24", ["c"], NOW)
        s.sent.record_issue("daily", "daily-2026-11-24", ["c"], NOW)  # a resumed send: no change
        assert s.sent.last_sent("daily") == NOW
        assert s.sent.last_sent("weekly") is None
        sent = s.sent.sent_keys("daily")
        assert sent.ids == {"a", "b", "c"} and sent.urls == {"https://e.org/a"}
        assert s.sent.sent_keys("weekly") == SentKeys()


def test_record_issue_requires_aware_time(tmp_path: Path) -> None:
    with State.open(tmp_path) as s, pytest.raises(ValueError, match="timezone-aware"):
        s.sent.record_issue("daily", "x", [], datetime(2026, 1, 1))


def test_first_seen_is_kept(tmp_path: Path) -> None:
    with State.open(tmp_path) as s:
        first = s.items.note([("a", None)], NOW)
        later = s.items.note([("a", "https://e.org/a"), ("b", None)], NOW + timedelta(hours=5))
    assert first == {"a": NOW}
    assert later == {"a": NOW, "b": NOW + timedelta(hours=5)}


def test_feed_cache_round_trip(tmp_path: Path) -> None:
    entry = Entry(
        id="0123456789abcdef",
        key="guid:x",
        title="Title ü",
        url="https://e.org/1",
        canonical_url="https://e.org/1",
        published=NOW,
        author="Ana",
        paragraphs=("One.", "Two."),
        image=None,
    )
    feed = CachedFeed(
        url="https://e.org/feed",
        etag='"v1"',
        last_modified=None,
        body_hash="h",
        fetched_at=NOW,
        title="Feed",
        format="rss20",
        problems=("a problem",),
        entries=(entry,),
    )
    with State.open(tmp_path) as s:
        s.feeds.put(feed)
    with State.open(tmp_path) as s:
        assert s.feeds.get("https://e.org/feed") == feed
        assert s.feeds.get("https://e.org/other") is None


def test_health_keeps_last_success_through_failures(tmp_path: Path) -> None:
    ok = SourceHealth("F", "feed", "https://e.org/f", NOW, "200", NOW, 3, 1, 0)
    bad = SourceHealth(
        "F",
        "feed",
        "https://e.org/f",
        NOW + timedelta(days=1),
        "error",
        None,
        0,
        0,
        0,
        problem="HTTP 500",
    )
    with State.open(tmp_path) as s:
        s.health.record(ok)
        s.health.record(bad)
        h = s.health.all()["https://e.org/f"]
    assert h.status == "error" and h.problem == "HTTP 500" and h.last_success == NOW


def test_processes_write_the_ledger_at_once(tmp_path: Path) -> None:
    """Four processes open a new database at once and write: all land (WAL, busy timeouts,
    and the schema is created once)."""
    code = (
        "import sys; from datetime import datetime, UTC; from digest.state import State\n"
        "s = State.open(sys.argv[1])\n"
        "for i in range(50):\n"
        "    s.sent.record_issue(sys.argv[2], f'{sys.argv[2]}-{i}', [f'{sys.argv[2]}{i}'], "
        "datetime.now(UTC))\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), name])
        for name in ("daily", "weekly", "monthly", "news")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    with State.open(tmp_path) as s:
        for name in ("daily", "weekly", "monthly", "news"):
            assert len(s.sent.sent_keys(name).ids) == 50


def test_opening_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """Runs that start together open a new state database. While it is still in the default
    rollback mode and another connection holds the write lock, SQLite fails the switch to WAL
    at once with "database is locked" (it does not wait when a reader must become a writer):
    opening must wait for the lock, not fail. Seen as a rare failure of the test above."""
    sqlite3.connect(tmp_path / STATE_FILE).execute("CREATE TABLE other_run (a)").connection.close()
    other = sqlite3.connect(
        tmp_path / STATE_FILE, timeout=10, isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    commit = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    commit.start()
    try:
        with State.open(tmp_path) as s:
            assert s.sent.last_sent("daily") is None
    finally:
        commit.join()
        other.close()
    conn = sqlite3.connect(tmp_path / STATE_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_database_is_upgraded_and_keeps_its_ledger(tmp_path: Path) -> None:
    """A state file from before sending existed gains the send ledger and loses nothing."""
    from digest.state.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / STATE_FILE)
    conn.executescript(MIGRATIONS[1])
    conn.execute("INSERT INTO issues VALUES ('daily', 'daily-2026-11-23', ?)", (NOW.isoformat(),))
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as s:
        assert s.sent.last_sent("daily") == NOW
        assert s.sends.issue_ids("daily") == []
    conn = sqlite3.connect(tmp_path / STATE_FILE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 7


def test_a_version_3_page_cache_keeps_its_pages_and_learns_image_sizes(tmp_path: Path) -> None:
    """Pages cached before version 4 load (no alt, no size, no site); new pages keep them."""
    from digest.state import CachedPage
    from digest.state.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / STATE_FILE)
    for version in (1, 2, 3):
        conn.executescript(MIGRATIONS[version])
    conn.execute(
        "INSERT INTO pages (url, fetched_at, title, paragraphs, image) VALUES (?, ?, ?, ?, ?)",
        ("https://ex.com/old", NOW.isoformat(), "Old", '["Old text."]', "https://ex.com/o.jpg"),
    )
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as s:
        old = s.pages.get("https://ex.com/old")
        assert old is not None
        assert (old.paragraphs, old.image) == (("Old text.",), "https://ex.com/o.jpg")
        assert (old.image_alt, old.image_width, old.image_height, old.site) == (None,) * 4
        s.pages.put(
            CachedPage(
                "https://ex.com/new",
                NOW,
                "New",
                ("New text.",),
                "https://ex.com/n.jpg",
                image_alt="A red barn",
                image_width=1200,
                image_height=630,
                site="The Planet",
            )
        )
        new = s.pages.get("https://ex.com/new")
    assert new is not None
    assert (new.image_alt, new.image_width, new.image_height, new.site) == (
        "A red barn",
        1200,
        630,
        "The Planet",
    )


def test_a_state_file_that_numbered_polling_8_reaches_9_with_every_table(tmp_path: Path) -> None:
    """main at df236cb numbered the polling tables 8; its files must still open."""
    from digest.state.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / STATE_FILE)
    for version in range(1, 8):
        conn.executescript(MIGRATIONS[version])
    conn.executescript(
        "CREATE TABLE polled (location TEXT NOT NULL, id TEXT NOT NULL, first_seen TEXT NOT "
        "NULL, last_seen TEXT NOT NULL, seen_by TEXT NOT NULL, entry TEXT NOT NULL, "
        "PRIMARY KEY (location, id));"
        "CREATE INDEX polled_by_last_seen ON polled (last_seen);"
        "CREATE TABLE poll_times (location TEXT PRIMARY KEY, read_at TEXT NOT NULL, "
        "hint_seconds INTEGER);"
    )
    conn.execute("PRAGMA user_version = 8")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as s:
        assert s.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert s.places.get("https://example.org/feed").failures == 0  # source_places exists
        s.poll_times.mark("https://example.org/feed", NOW, timedelta(hours=2))


def test_a_304s_short_max_age_does_not_shorten_the_feeds_own_hint(tmp_path: Path) -> None:
    url = "https://example.org/feed"
    with State.open(tmp_path) as s:
        s.poll_times.mark(url, NOW, timedelta(days=1))  # a 200 whose <ttl> said a day
        s.poll_times.mark(url, NOW, timedelta(minutes=5), unchanged=True)  # 304, max-age=300
        assert s.poll_times.next_at(url, timedelta(hours=1)) == NOW + timedelta(days=1)
        s.poll_times.mark(url, NOW, timedelta(days=2), unchanged=True)  # a longer one counts
        assert s.poll_times.next_at(url, timedelta(hours=1)) == NOW + timedelta(days=2)
        s.poll_times.mark(url, NOW, timedelta(hours=3))  # a new body says anew
        assert s.poll_times.next_at(url, timedelta(hours=1)) == NOW + timedelta(hours=3)
