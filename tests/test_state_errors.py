"""The state database when things go wrong (issue 9): a full disk, a read-only folder, another
process's lock and a damaged file are told apart, and only a damaged file gets the advice to
move it away; a hand-edited value is named with its file, table and column. All with real SQLite
behaviour on real files: the conditions are made with SQLite's own pragmas, permissions or a
read-only mount, never with fakes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import DigestError
from digest.models import Entry, SourceHealth
from digest.state import STATE_FILE, State, open_state

DIGEST = Path(sys.executable).parent / "digest"
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
MOVE_AWAY = "Move the file away"
ENTRY = Entry("0123456789abcdef", "guid:x", "T", "https://e.org/1", None, NOW, None, ("P.",), None)


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def sent_state(state_dir: Path) -> Path:
    """A healthy state database whose ledger holds one sent issue of `daily`."""
    with State.open(state_dir) as s:
        s.items.note([("a", "https://e.org/a")], NOW)
        s.sent.record_issue("daily", "daily-2026-11-24", ["a"], NOW)
    return state_dir / STATE_FILE


def ledger_is_intact(state_dir: Path) -> bool:
    with State.open(state_dir) as s:
        return s.sent.last_sent("daily") == NOW and s.sent.sent_keys("daily").ids == {"a"}


def run_read_only(state_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`digest ARGS` with the state folder read-only for it, for real: by permissions, or for
    root (whom permissions do not stop) by a read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        files = list(state_dir.iterdir())
        for f in files:
            f.chmod(0o444)
        state_dir.chmod(0o555)
        try:
            return digest(*args, cwd=cwd)
        finally:
            state_dir.chmod(0o755)
            for f in files:
                f.chmod(0o644)
    mount = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", mount, "sh", str(state_dir), str(DIGEST), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Disk, permissions and locks: the file is fine, so keep it.


def test_a_read_only_state_folder_is_not_called_damaged(newsletter: Path) -> None:
    state_dir = newsletter / ".digest"
    path = sent_state(state_dir)
    r = run_read_only(state_dir, "gather", cwd=newsletter)
    assert r.returncode == 1, r.stderr
    assert f"{path}: " in r.stderr and "read-only" in r.stderr, r.stderr
    assert "writable" in r.stderr and "not damaged" in r.stderr
    assert MOVE_AWAY not in r.stderr
    assert "Traceback" not in r.stderr
    assert ledger_is_intact(state_dir)


def test_a_full_disk_under_way_is_not_called_damaged(tmp_path: Path) -> None:
    sent_state(tmp_path)
    with pytest.raises(DigestError) as err, open_state(tmp_path) as state:
        # SQLite's own limit on the file's size: a genuine SQLITE_FULL, as on a full disk.
        pages = state.db.conn.execute("PRAGMA page_count").fetchone()[0]
        state.db.conn.execute(f"PRAGMA max_page_count = {pages}")
        state.sent.record_issue("daily", "daily-2026-11-25", [f"i{n:05}" for n in range(5000)], NOW)
    text = str(err.value)
    assert "disk is full" in text and "Free some space" in text
    assert MOVE_AWAY not in text
    assert ledger_is_intact(tmp_path)


def test_a_read_only_connection_under_way_is_not_called_damaged(tmp_path: Path) -> None:
    sent_state(tmp_path)
    with pytest.raises(DigestError) as err, open_state(tmp_path) as state:
        state.db.conn.execute("PRAGMA query_only = ON")  # SQLite answers SQLITE_READONLY
        state.items.note([("b", None)], NOW)
    assert "read-only" in str(err.value) and MOVE_AWAY not in str(err.value)


def test_another_process_holding_the_lock_is_named_as_such(tmp_path: Path) -> None:
    sent_state(tmp_path)
    other = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)
    try:
        with pytest.raises(DigestError) as err, open_state(tmp_path) as state:
            other.execute("BEGIN IMMEDIATE")
            state.db.conn.execute("PRAGMA busy_timeout = 0")  # fail at once, not in 30 s
            state.sent.record_issue("daily", "daily-2026-11-25", ["b"], NOW)
    finally:
        other.close()
    assert "another process" in str(err.value) and MOVE_AWAY not in str(err.value)
    assert ledger_is_intact(tmp_path)


# A damaged file: the one case for moving it away.


def test_a_file_that_is_not_a_database_gets_the_move_away_advice(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DigestError, match="not a usable state database") as err:
        State.open(tmp_path)
    assert MOVE_AWAY in str(err.value)


def test_a_damaged_table_under_way_gets_the_move_away_advice(tmp_path: Path) -> None:
    path = sent_state(tmp_path)
    conn = sqlite3.connect(path)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'issues'").fetchone()
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xff" * size)
    with pytest.raises(DigestError) as err, open_state(tmp_path) as state:
        state.sent.last_sent("daily")
    assert "the state database is damaged" in str(err.value) and MOVE_AWAY in str(err.value)


# Hand-edited values.


def test_cli_gather_names_a_sent_time_that_is_not_a_time(newsletter: Path) -> None:
    path = sent_state(newsletter / ".digest")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE issues SET sent_at = 'not-a-date'")
    conn.commit()
    conn.close()
    r = digest("gather", cwd=newsletter)
    assert r.returncode == 1
    assert f"{path}: table issues, column sent_at holds 'not-a-date'" in r.stderr, r.stderr
    assert "sqlite3" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("issues", "sent_at", "not-a-date"),
        ("issues", "sent_at", "2026-11-24T07:00:00"),  # no zone: a guess would be wrong
        ("issues", "sent_at", "0001-01-01"),  # sorts first: still read, still named
        ("issues", "sent_at", b"\x00"),  # a BLOB: TEXT affinity keeps it as it is
        ("items", "first_seen", "yesterday"),
    ],
)
def test_a_stored_time_that_is_not_a_time_is_named(
    tmp_path: Path, table: str, column: str, value: object
) -> None:
    sent_state(tmp_path)
    with State.open(tmp_path) as s:
        s.sent.record_issue("daily", "daily-2026-11-25", ["b"], NOW)
        s.db.conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = 1", (value,))
        with pytest.raises(DigestError) as err:
            s.sent.last_sent("daily")
            s.items.note([("a", None)], NOW)
    text = str(err.value)
    assert f"{tmp_path / STATE_FILE}: table {table}, column {column} holds {value!r}" in text
    assert "sqlite3" in text


@pytest.mark.parametrize(
    ("column", "value"), [("checked_at", "soon"), ("last_success", "2026-13-01T00:00:00+00:00")]
)
def test_cli_a_bad_health_row_is_named_and_written_anew(
    tmp_path: Path, column: str, value: str
) -> None:
    """Health is rewritten at every reading, so a hand-edited row costs only its last success:
    a warning, not a stopped run (and never a traceback)."""
    (tmp_path / "digest.toml").write_text(
        '[[sources]]\nname = "Gone"\nfeed = "missing.xml"\n\n'
        '[lists.daily]\nsender = "d@example.org"\n',
        encoding="utf-8",
    )
    location = str(tmp_path / "missing.xml")
    with State.open(tmp_path / ".digest") as s:
        s.health.record(SourceHealth("Gone", "feed", location, NOW, "file", NOW, 1, 0, 0))
        s.db.conn.execute(f"UPDATE source_health SET {column} = ?", (value,))
    r = digest("gather", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    warning = " ".join(r.stderr.split())
    assert f"table source_health, column {column} holds {value!r}" in warning, r.stderr
    assert "Traceback" not in r.stderr
    with State.open(tmp_path / ".digest") as s:
        health = s.health.get(location)
    assert health is not None and health.status == "error" and health.checked_at > NOW


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("fetched_at", "not-a-date"),
        ("entries", "[1, 2]"),
        ("entries", json.dumps([{**ENTRY.to_json(), "published": "2026-11-24T07:00:00"}])),
        ("problems", '"text"'),
        ("etag", b"42"),
    ],
)
def test_a_bad_feed_cache_row_is_a_cache_miss(tmp_path: Path, column: str, value: object) -> None:
    with State.open(tmp_path) as s:
        s.db.conn.execute(
            "INSERT INTO http_cache (url, fetched_at, entries) VALUES (?, ?, ?)",
            ("https://e.org/feed", NOW.isoformat(), json.dumps([ENTRY.to_json()])),
        )
        assert s.feeds.get("https://e.org/feed") is not None
        s.db.conn.execute(f"UPDATE http_cache SET {column} = ?", (value,))
        assert s.feeds.get("https://e.org/feed") is None  # fetched in full again


@pytest.mark.parametrize(
    ("column", "value"), [("fetched_at", "never"), ("paragraphs", "{oops"), ("paragraphs", "[1]")]
)
def test_a_bad_page_cache_row_is_a_cache_miss(tmp_path: Path, column: str, value: str) -> None:
    with State.open(tmp_path) as s:
        s.db.conn.execute(
            "INSERT INTO pages (url, fetched_at, paragraphs) VALUES (?, ?, '[\"One.\"]')",
            ("https://e.org/a", NOW.isoformat()),
        )
        assert s.pages.get("https://e.org/a") is not None
        s.db.conn.execute(f"UPDATE pages SET {column} = ?", (value,))
        assert s.pages.get("https://e.org/a") is None
