"""The subscriber record and the small value rules (statuses, dates, topics) shared by every
module of the package. Frozen, so delivery cannot change what the list said."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..text import as_utc

SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
COMPLAINED = "complained"
STATUSES = (SUBSCRIBED, UNSUBSCRIBED, BOUNCED, COMPLAINED)
"""Weakest first: a stop is replaced only by a stronger one (see `weaker`)."""


def weaker(status: str) -> tuple[str, ...]:
    """The statuses `status` may replace: a bounce replaces an unsubscribe, a complaint a
    bounce, never the other way (what must stop mail for good stays)."""
    return STATUSES[: STATUSES.index(status)]


INACTIVE = frozenset({UNSUBSCRIBED, BOUNCED, COMPLAINED})

COLUMNS = ("email", "name", "status", "subscribed_at", "unsubscribed_at", "topics", "timezone")
"""The known columns, in the order a new list file gets them."""

EMPTY_EXTRA: Mapping[str, str] = MappingProxyType({})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One reader of one list.

    `email` is the normalised address (see `addresses.normalise`); `extra` holds the values of
    every column the program does not know, by column name, so nothing a person added is lost.
    """

    email: str
    name: str = ""
    status: str = SUBSCRIBED
    subscribed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    topics: tuple[str, ...] = ()
    timezone: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: EMPTY_EXTRA, hash=False)

    @property
    def key(self) -> str:
        """What makes two rows one subscriber: the address, ignoring case."""
        return self.email.casefold()

    @property
    def active(self) -> bool:
        return self.status == SUBSCRIBED


def cells(sub: Subscriber) -> tuple[str, ...]:
    """The subscriber's known values as written in a file, in the order of COLUMNS."""
    return (
        sub.email,
        sub.name,
        sub.status,
        format_time(sub.subscribed_at),
        format_time(sub.unsubscribed_at),
        format_topics(sub.topics),
        sub.timezone,
    )


def format_time(value: datetime | None) -> str:
    """ISO 8601 in UTC with a `Z`, to the second: `2026-11-24T07:00:00Z`."""
    if value is None:
        return ""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="seconds")[:19] + "Z"  # faster than strftime


def parse_time(text: str) -> datetime | None:
    """Read an ISO 8601 time; one without an offset is taken as UTC. Raises ValueError."""
    text = text.strip()
    if not text:
        return None
    value = _parse_time(text)
    return as_utc(value)


@lru_cache(maxsize=4096)
def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date and time (expected e.g. 2026-11-24T07:00:00Z)"
        ) from None


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@lru_cache(maxsize=4096)
def parse_topics(text: str) -> tuple[str, ...]:
    """`world; science` -> ("world", "science"); empty parts are dropped. Cached: a list has
    few distinct values, and each row then shares one tuple."""
    return tuple(t for t in (p.strip() for p in text.split(";")) if t)


def format_topics(topics: tuple[str, ...]) -> str:
    return ";".join(topics)


@lru_cache(maxsize=1024)
def check_timezone(name: str) -> str:
    """The name if it is an IANA time zone; raises ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone (expected e.g. Europe/Berlin)") from None
    return name


def check_status(text: str) -> str:
    """The status as written in a list file; empty means subscribed. Raises ValueError."""
    status = text.strip().lower() or SUBSCRIBED
    if status not in STATUSES:
        raise ValueError(f"{text!r} is not a status (expected one of: {', '.join(STATUSES)})")
    return status


def parse_timezone(text: str) -> str:
    """A time zone cell: empty, or an IANA name (surrounding space removed). Raises ValueError."""
    text = text.strip()
    return check_timezone(text) if text else ""


def checked(column: str, check: Callable[[str], T], text: str) -> T:
    """`check(text)`, with the column's name put before its ValueError's message, so that the
    reason for a bad row says which cell is wrong."""
    try:
        return check(text)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


def fit(fields: list[str], n: int, hint: str = "") -> list[str]:
    """A row's fields under a header of `n` columns, with one more empty cell at index `n`
    that columns the file lacks can point at. Empty cells past the header are harmless (a
    spreadsheet adds them); a value there raises ValueError, as the row cannot be placed."""
    if len(fields) > n:
        if any(v.strip() for v in fields[n:]):
            raise ValueError(f"has {len(fields)} fields but the header has {n}{hint}")
        return fields
    return fields + [""] * (n + 1 - len(fields))
