"""Text and time helpers every stage shares, so each rule is written once.

Paragraphs, words and comparisons are used by the sources (feed and file text), the summariser
(leads) and gathering (which copy has the most text); times are kept in UTC everywhere, and a
`--since` value means the same to `digest gather`, `digest preview` and, later, the scheduler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "as_utc",
    "clean",
    "norm",
    "paragraphs",
    "parse_iso",
    "parse_since",
    "word_count",
]

_SPACES = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n\s*\n")
_NOT_ALNUM = re.compile(r"[\W_]+")


def clean(text: str) -> str:
    """One line: every run of white space (line breaks, no-break spaces) made one space."""
    return _SPACES.sub(" ", text).strip()


def norm(text: str) -> str:
    """For comparing texts: lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", text.lower())


def word_count(text: str | Iterable[str]) -> int:
    """Words in a text, or in all of a sequence of paragraphs."""
    if isinstance(text, str):
        return len(text.split())
    return sum(len(p.split()) for p in text)


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of plain text: a blank line (spaces allowed) ends one; the lines within one
    are joined with a space."""
    blocks = _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    return tuple(p for p in (clean(b) for b in blocks) if p)


def as_utc(value: datetime | date) -> datetime:
    """A time in UTC; a time without a zone is taken as UTC, a bare date as its midnight."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 date or time (a trailing `Z` too) in UTC, or None if it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """`2d`, `12h`, `30m`, `1w`, an ISO date (midnight in `zone`) or date-time (in `zone` when
    it names none), as a UTC time. Raises ValueError for anything else."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is neither a time span nor an ISO date") from None
    if len(value.strip()) == 10:  # a bare date
        dt = datetime.combine(dt.date(), time(0), tzinfo=zone)
    elif dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)
