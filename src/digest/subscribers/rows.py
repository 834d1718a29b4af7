"""Between CSV fields and Subscriber records for a list file: which column holds what, what is
wrong with a row, and the fields of a changed or new row (touching only what changed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from .addresses import InvalidAddress, normalise
from .model import (
    COLUMNS,
    EMPTY_EXTRA,
    Subscriber,
    check_status,
    check_timezone,
    format_time,
    format_topics,
    parse_time,
    parse_topics,
)


class RowProblem(ValueError):
    """What is wrong with one row; the message names the column."""


@dataclass
class Layout:
    """The header of a list file: its column names, and where each known column is."""

    header: list[str]
    index: dict[str, int] = field(init=False)
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
        known = set(self.index.values())
        self._extra = [(i, h) for i, h in enumerate(self.header) if i not in known]

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
        """The subscriber a row holds. Raises RowProblem naming the column."""
        n = len(self.header)
        if len(fields) > n:
            if any(v.strip() for v in fields[n:]):
                raise RowProblem(
                    f"has {len(fields)} fields but the header has {n} "
                    "(a stray delimiter, or a value that needs quotes?)"
                )
            row = fields
        else:  # a short row, and one empty cell at index n for the columns the file lacks
            row = fields + [""] * (n + 1 - len(fields))
        p = self._pos
        raw_email = row[p["email"]]
        if not raw_email.strip():
            raise RowProblem("email: missing")
        try:
            email = normalise(raw_email)
        except InvalidAddress as exc:
            raise RowProblem(f"email {raw_email.strip()!r}: {exc}") from None
        try:
            status = check_status(row[p["status"]])
        except ValueError as exc:
            raise RowProblem(f"status: {exc}") from None
        try:
            subscribed_at = parse_time(row[p["subscribed_at"]])
        except ValueError as exc:
            raise RowProblem(f"subscribed_at: {exc}") from None
        try:
            unsubscribed_at = parse_time(row[p["unsubscribed_at"]])
        except ValueError as exc:
            raise RowProblem(f"unsubscribed_at: {exc}") from None
        tz = row[p["timezone"]].strip()
        if tz:
            try:
                check_timezone(tz)
            except ValueError as exc:
                raise RowProblem(f"timezone: {exc}") from None
        extra = {name: row[i] for i, name in self._extra} if self._extra else None
        return Subscriber(
            email=email,
            name=row[p["name"]].strip(),
            status=status,
            subscribed_at=subscribed_at,
            unsubscribed_at=unsubscribed_at,
            topics=parse_topics(row[p["topics"]]),
            timezone=tz,
            extra=MappingProxyType(extra) if extra is not None else EMPTY_EXTRA,
        )

    def fields_for(
        self, new: Subscriber, old: Subscriber | None = None, base: list[str] | None = None
    ) -> list[str]:
        """The fields of a row holding `new`. For a changed row, `old` and its `base` fields
        keep every cell whose value did not change exactly as it was written."""
        if old is None:
            return self._new_fields(new)
        fields = list(base or [])
        fields += [""] * (len(self.header) - len(fields))
        values = {
            "email": (new.email, old.email if old else None),
            "name": (new.name, old.name if old else None),
            "status": (new.status, old.status if old else None),
            "subscribed_at": (
                format_time(new.subscribed_at),
                format_time(old.subscribed_at) if old else None,
            ),
            "unsubscribed_at": (
                format_time(new.unsubscribed_at),
                format_time(old.unsubscribed_at) if old else None,
            ),
            "topics": (format_topics(new.topics), format_topics(old.topics) if old else None),
            "timezone": (new.timezone, old.timezone if old else None),
        }
        for col, (value, before) in values.items():
            i = self.index.get(col)
            if i is not None and value != before:
                fields[i] = value
        return fields

    def _new_fields(self, new: Subscriber) -> list[str]:
        """The fields of a new row: the known values, and `extra` by column name."""
        if new.extra:
            fields = [new.extra.get(name, "") for name in self.header]
        else:
            fields = [""] * len(self.header)
        ix = self.index
        for col, value in (
            ("email", new.email),
            ("name", new.name),
            ("status", new.status),
            ("subscribed_at", format_time(new.subscribed_at)),
            ("unsubscribed_at", format_time(new.unsubscribed_at)),
            ("topics", format_topics(new.topics)),
            ("timezone", new.timezone),
        ):
            i = ix.get(col)
            if i is not None:
                fields[i] = value
        return fields
