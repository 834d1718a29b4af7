"""Shared time rules: `--since` values and stored or published ISO times, hostile ones included."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.text import parse_iso, parse_since

DIGEST = Path(sys.executable).parent / "digest"
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def test_spans_and_dates_still_parse() -> None:
    assert parse_since("2d", LONDON, NOW) == NOW - timedelta(days=2)
    assert parse_since(" 12H ", LONDON, NOW) == NOW - timedelta(hours=12)
    assert parse_since("2026-11-01", LONDON, NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-06-01T09:00", LONDON, NOW) == datetime(2026, 6, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    ["99999999999d", "99999999999999999999w", "2000000000h", "1000000w", "9" * 5000 + "m"],
)
def test_a_span_too_long_is_a_clear_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="reaches back before the year 1") as err:
        parse_since(value, LONDON, NOW)
    assert len(str(err.value)) < 200  # the value is shortened, not echoed in full


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("0001-01-01", "Asia/Tokyo"),  # midnight, east of Greenwich: before year 1 in UTC
        ("0001-01-01T03:00+05:00", "UTC"),
        ("9999-12-31T23:00-05:00", "UTC"),  # after year 9999 in UTC
    ],
)
def test_a_date_at_the_edge_of_the_calendar_is_a_clear_value_error(value: str, zone: str) -> None:
    with pytest.raises(ValueError, match="is outside the years 1 to 9999"):
        parse_since(value, ZoneInfo(zone), NOW)


def test_a_stored_or_published_time_beyond_the_calendar_is_no_time() -> None:
    assert parse_iso("0001-01-01T00:00:00+05:00") is None
    assert parse_iso("9999-12-31T23:59:59-01:00") is None
    assert parse_iso("2026-11-24T07:00:00Z") == NOW


def test_cli_since_too_long_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "digest.toml").write_text(
        '[[sources]]\nname = "Own"\nfolder = "articles"\n\n'
        '[lists.daily]\nsender = "d@example.org"\n',
        encoding="utf-8",
    )
    r = subprocess.run(
        [str(DIGEST), "gather", "--since", "99999999999d"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert "--since" in r.stderr and "reaches back before the year 1" in r.stderr
    assert "Traceback" not in r.stderr
