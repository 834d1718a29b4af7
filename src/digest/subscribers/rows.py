"""Between CSV fields and Subscriber records for a list file: which column holds what, what is
wrong with a row, and the fields of a changed or new row (touching only what changed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from .addresses import InvalidAddress, normalise
from .model import (
    COLUMNS,
    EMPTY_EXTRA,
    SUBSCRIBED,
    Subscriber,
    cells,
    check_status,
    checked,
    fit,
    parse_time,
    parse_timezone,
    parse_topics,
)

_STRAY = " (a stray delimiter, or a value that needs quotes?)"


@dataclass
class Layout:
    """The header of a list file: its column names, and where each known column is."""

    header: list[str]
    index: dict[str, int] = field(init=False)
    keys: list[str] = field(init=False)
    """Each column's key in `Subscriber.extra`: its name, made unique (`note (2)`) when the
    header repeats a name, so that no column's values hide another's."""
    _pos: dict[str, int] = field(init=False, repr=False)
    _extra: list[tuple[int, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {}
        for i, name in enumerate(self.header):
            canonical = name.strip().lower()
            if canonical in COLUMNS and canonical not in self.index:
                self.index[canonical] = i
        n = len(self.header)
        self._pos = {c: self.index.get(c, n) for c in COLUMNS}
        self.keys = _unique(self.header)
        known = set(self.index.values())
        self._extra = [(i, k) for i, k in enumerate(self.keys) if i not in known]

    @property
    def extra_keys(self) -> list[str]:
        """The keys of the columns the program does not know, in file order."""
        return [k for _i, k in self._extra]

    def duplicates(self) -> list[str]:
        """Known columns named twice (case and spaces ignored): the file is ambiguous."""
        seen: set[str] = set()
        dup = []
        for name in self.header:
            c = name.strip().lower()
            if c in COLUMNS:
                if c in seen:
                    dup.append(name)
                seen.add(c)
        return dup

    def with_columns(self, names: list[str]) -> Layout:
        """This layout with the known columns in `names` added at the end where missing."""
        missing = [n for n in names if n not in self.index]
        return Layout([*self.header, *missing]) if missing else self

    def parse(self, fields: list[str]) -> Subscriber:
        """The subscriber a row holds. Raises ValueError naming the column."""
        row, email, status, subscribed_at, unsubscribed_at, timezone = self._checked(fields)
        p = self._pos
        extra = {name: row[i] for i, name in self._extra} if self._extra else None
        return Subscriber(
            email=email,
            name=row[p["name"]].strip(),
            status=status,
            subscribed_at=subscribed_at,
            unsubscribed_at=unsubscribed_at,
            topics=parse_topics(row[p["topics"]]),
            timezone=timezone,
            extra=MappingProxyType(extra) if extra is not None else EMPTY_EXTRA,
        )

    def key_and_stop(self, fields: list[str]) -> tuple[str, bool]:
        """A row's address key and whether it says stop (is not `subscribed`), for finding
        addresses listed twice. The same checks as `parse`, so it raises ValueError for
        exactly the rows `parse` refuses, but a third cheaper: no record is built."""
        _row, email, status, *_times_and_zone = self._checked(fields)
        return email.casefold(), status != SUBSCRIBED

    def key_and_status(self, fields: list[str]) -> tuple[str, str]:
        """A row's address key and status, with the same checks as `parse` (for counting)."""
        _row, email, status, *_times_and_zone = self._checked(fields)
        return email.casefold(), status

    def _checked(
        self, fields: list[str]
    ) -> tuple[list[str], str, str, datetime | None, datetime | None, str]:
        """Every check of a row: its fields placed under the header, and its address,
        status, times and time zone. Raises ValueError naming the column."""
        row = fit(fields, len(self.header), _STRAY)
        p = self._pos
        raw_email = row[p["email"]]
        if not raw_email.strip():
            raise ValueError("email: missing")
        try:
            email = normalise(raw_email)
        except InvalidAddress as exc:
            raise ValueError(f"email {raw_email.strip()!r}: {exc}") from None
        return (
            row,
            email,
            checked("status", check_status, row[p["status"]]),
            checked("subscribed_at", parse_time, row[p["subscribed_at"]]),
            checked("unsubscribed_at", parse_time, row[p["unsubscribed_at"]]),
            checked("timezone", parse_timezone, row[p["timezone"]]),
        )

    def address_of(self, fields: list[str]) -> str | None:
        """The address in a row's email cell, normalised, even if the rest of the row is
        bad; None if the cell is missing or holds no valid address."""
        i = self._pos["email"]
        if i >= len(fields):
            return None
        try:
            return normalise(fields[i])
        except InvalidAddress:
            return None

    def fields_for(
        self, new: Subscriber, old: Subscriber | None = None, base: list[str] | None = None
    ) -> list[str]:
        """The fields of a row holding `new`. For a changed row, `old` and its `base` fields
        keep every cell whose value did not change exactly as it was written; a new row gets
        its `extra` values by column name."""
        if old is None:
            fields = [new.extra.get(key, "") for key in self.keys]
            before: tuple[str | None, ...] = (None,) * len(COLUMNS)
        else:
            fields = list(base or [])
            fields += [""] * (len(self.header) - len(fields))
            before = cells(old)
        for col, value, was in zip(COLUMNS, cells(new), before, strict=True):
            i = self.index.get(col)
            if i is not None and value != was:
                fields[i] = value
        return fields


def _unique(names: list[str]) -> list[str]:
    """`["note", "note"]` -> `["note", "note (2)"]`; names already unique are kept."""
    taken = set(names)
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        key, n = name, 1
        while key in seen or (key != name and key in taken):
            n += 1
            key = f"{name} ({n})"
        seen.add(key)
        out.append(key)
    return out
