"""`SubscriberList`: one list's CSV file as a small database that never loses a row.

Reads stream the file (rows are never held; `iter_active` keeps 8 bytes a row to find
addresses listed twice) and need no lock: a writer replaces the file with a rename, so a
reader keeps reading the version it opened. Every change is a read-modify-write under a lock
on `<file>.lock`, streamed into a temp file in the same folder that is synced and renamed over
the old one, and done again if a hand edit replaced the file meanwhile (see `listfile`). Rows
a change does not touch are copied byte for byte; a file with a broken row is never
rewritten, the change is refused naming the lines. Each change is a `changes` class.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from ..errors import SubscriberError
from .addresses import InvalidAddress, normalise
from .changes import Adding, Removing, SettingStatus, SettingStatuses, StatusUpdate
from .csvfile import Dialect, Record, cell_limit, lenient_fields, parsed
from .listfile import ListFile, Problem
from .merge import ImportReport, merge
from .model import (
    STATUSES,
    SUBSCRIBED,
    Subscriber,
    check_timezone,
    format_topics,
    now,
)
from .plaintext import check_plain
from .rows import Layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Census:
    """What `SubscriberList.census` counted."""

    people: dict[str, int]
    """Distinct addresses by status (every status present, zero or more)."""
    rows: dict[str, int]
    """Readable rows by status."""
    repeated: int
    """Addresses with more than one row."""
    unreadable: int
    """Rows that could not be read (not counted above)."""

    @property
    def total(self) -> int:
        return sum(self.people.values())

    @property
    def row_total(self) -> int:
        return sum(self.rows.values())


class SubscriberList:
    """The subscribers of one list, kept in `path` (a CSV file with a header)."""

    def __init__(self, path: Path | str, lock_timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.file = ListFile(self.path, lock_timeout)

    # ----- reading -------------------------------------------------------------------------

    def iter_all(self, problems: list[Problem] | None = None) -> Iterator[Subscriber]:
        """Every readable subscriber, in file order, streamed. A bad row is skipped with a
        warning (and appended to `problems` when given); run `validate` to see them all."""
        with self.file.open(create=False, keep_raw=False) as (layout, _dialect, recs):
            yield from self._readable(layout, recs, problems)

    def iter_active(self) -> Iterator[Subscriber]:
        """The subscribers to send to, streamed, each address once: status `subscribed`, and
        no other row of the address (in any case) unsubscribed, bounced or complained.

        A hand-edited file can list an address twice, and its later row may be the one that
        says stop, so this reads the file twice: first noting 8 bytes per row to find such
        addresses, then delivering. The rows themselves are never held. A bad row whose
        address can be read says stop too, until it is fixed: it may be the one that says
        they left (`a@x.org,,unsubscribed,,,,,stray value`), and nobody can tell."""
        with self.file.open(create=False, keep_raw=True) as (layout, dialect, recs):
            repeated, stopped = _repeats(_stops(layout, dialect, recs))
            sent: set[int] = set()
            for sub in self._readable(layout, recs.again(), None, dialect):
                if not sub.active:
                    continue
                if repeated:
                    ident = _ident(sub.key)
                    if ident in repeated:
                        if ident in stopped or ident in sent:
                            continue
                        sent.add(ident)
                yield sub

    def _readable(
        self,
        layout: Layout,
        recs: Iterable[Record],
        problems: list[Problem] | None,
        sending: Dialect | None = None,
    ) -> Iterator[Subscriber]:
        """The rows that parse; a bad one is skipped with a warning. When `sending` (the
        file's dialect), the warning names the address the bad row holds back, if any."""
        for rec, sub, error in parsed(recs, layout.parse):
            if sub is not None:
                yield sub
            elif error is not None:
                problem = Problem(rec.line, error)
                held = _address_of(layout, sending, rec) if sending else None
                if held:
                    note = f"row skipped; {held} gets no mail until this row is fixed"
                else:
                    note = "row skipped"
                log.warning("%s: %s (%s)", self.path, problem, note)
                if problems is not None:
                    problems.append(problem)

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case), or None. If a hand-edited file lists
        the address twice, a row that is not `subscribed` wins, as in `iter_active`."""
        key = _key(email)
        first = None
        for sub in self.iter_all():
            if sub.key == key:
                if not sub.active:
                    return sub
                first = first or sub
        return first

    def count_by_status(self) -> dict[str, int]:
        """How many people (distinct addresses) have each status, decided as `census` does
        (every status is present, zero or more)."""
        return self.census().people

    def census(self, problems: list[Problem] | None = None) -> Census:
        """How many people the list has by status, and how many rows: an address listed
        twice (in any case) is one person, who counts as stopped if any of their rows is not
        `subscribed`, as `iter_active` decides (under the strongest of their stops:
        complained, then bounced, then unsubscribed). A bad row is skipped with a warning
        (and appended to `problems` when given) and counted as unreadable.

        Holds 8 bytes a row, not the rows, as `iter_active` does."""
        codes = {status: i for i, status in enumerate(STATUSES)}  # weakest first
        buckets = [array("q") for _ in range(256)]
        rows = dict.fromkeys(STATUSES, 0)
        unreadable = 0
        with self.file.open(create=False, keep_raw=False) as (layout, _dialect, recs):
            for rec, key_and_status, error in parsed(recs, layout.key_and_status):
                if key_and_status is not None:
                    key, status = key_and_status
                    rows[status] += 1
                    ident = hash(key) >> 2  # 62 bits, and 2 for the status
                    buckets[ident & 255].append(ident << 2 | codes[status])
                elif error is not None:
                    unreadable += 1
                    problem = Problem(rec.line, error)
                    log.warning("%s: %s (row not counted)", self.path, problem)
                    if problems is not None:
                        problems.append(problem)
        people = dict.fromkeys(STATUSES, 0)
        repeated = 0
        for n in range(len(buckets)):
            ordered = sorted(buckets[n])
            buckets[n] = array("q")
            i = 0
            while i < len(ordered):
                ident, strongest, j = ordered[i] >> 2, ordered[i] & 3, i + 1
                while j < len(ordered) and ordered[j] >> 2 == ident:
                    strongest = max(strongest, ordered[j] & 3)
                    j += 1
                people[STATUSES[strongest]] += 1
                repeated += j - i > 1
                i = j
        return Census(people=people, rows=rows, repeated=repeated, unreadable=unreadable)

    def extra_columns(self) -> list[str]:
        """The names of the file's columns the program does not know, in file order (a
        repeated name made unique, as in `Subscriber.extra`: `note`, `note (2)`)."""
        with self.file.open(create=False, keep_raw=False) as (layout, _dialect, _recs):
            return layout.extra_keys

    def validate(self) -> list[Problem]:
        """Every problem in the file: unreadable rows and addresses listed twice."""
        problems: list[Problem] = []
        first_line: dict[str, int] = {}
        with self.file.open(create=False, keep_raw=False) as (layout, _dialect, recs):
            for rec, sub, error in parsed(recs, layout.parse):
                if error is not None:
                    problems.append(Problem(rec.line, error))
                if sub is None:
                    continue
                seen = first_line.setdefault(sub.key, rec.line)
                if seen != rec.line:
                    problems.append(
                        Problem(rec.line, f"{sub.email} is listed again (first on line {seen})")
                    )
        return problems

    # ----- changing ------------------------------------------------------------------------

    def add(
        self,
        email: str,
        name: str = "",
        topics: Iterable[str] = (),
        timezone: str = "",
        at: datetime | None = None,
    ) -> Subscriber:
        """Add a new subscriber. Refused if the address is already on the list (in any
        status: someone who unsubscribed is only taken back with `resubscribe`), and if the
        name or a topic is not one line of plain text."""
        address = _normalise(email)
        if timezone:
            try:
                check_timezone(timezone)
            except ValueError as exc:
                raise SubscriberError(f"--timezone: {exc}") from None
        new = Subscriber(
            email=address,
            name=_plain("--name", name.strip()),
            topics=tuple(_plain("--topics", t.strip()) for t in topics if t.strip()),
            timezone=timezone,
            subscribed_at=at or now(),
        )
        _fits("--name", new.name)
        _fits("--topics", format_topics(new.topics))
        self.file.rewrite(lambda: Adding(self.path, new), columns=_needs_for_new(new))
        return new

    def set_status(self, email: str, status: str, at: datetime | None = None) -> Subscriber:
        """Give a subscriber a status and record when: `subscribed_at` for `subscribed`,
        `unsubscribed_at` for the others. Every row of the address is changed. Returns the
        subscriber as now stored; raises SubscriberError if the address is invalid (with the
        validator's reason) or not on the list."""
        if status not in STATUSES:
            raise SubscriberError(f"{status!r} is not a status", f"Use one of {STATUSES}.")
        key = _normalise(email).casefold()  # no valid row holds an invalid address
        when = at or now()
        cols = [] if status == SUBSCRIBED else ["status", "unsubscribed_at"]
        done = self.file.rewrite(
            lambda: SettingStatus(self.path, email, key, status, when),
            columns=cols,
            skip_if_unchanged=True,
        )
        return done.result[0]

    def set_statuses(self, updates: Mapping[str, StatusUpdate]) -> dict[str, str]:
        """Give many readers (by key: the casefolded address) their statuses in one rewrite,
        so a burst of unsubscribe clicks costs one pass over the file, not one each. Returns
        what happened to each key (see `SettingStatuses`); the file is rewritten only if a
        row changed."""
        for status in {u.status for u in updates.values()}:
            if status not in STATUSES:
                raise SubscriberError(f"{status!r} is not a status", f"Use one of {STATUSES}.")
        if not updates:
            return {}
        self.extra_columns()  # a missing file is an error here, never a new empty list
        cols = ["status", "unsubscribed_at"]
        done = self.file.rewrite(
            lambda: SettingStatuses(updates), columns=cols, skip_if_unchanged=True
        )
        return done.outcomes

    def unsubscribe(self, email: str, at: datetime | None = None) -> Subscriber:
        return self.set_status(email, "unsubscribed", at)

    def resubscribe(self, email: str, at: datetime | None = None) -> Subscriber:
        return self.set_status(email, SUBSCRIBED, at)

    def remove(self, email: str) -> Subscriber:
        """Delete every row of an address. Raises SubscriberError if it is invalid or not on
        the list."""
        key = _normalise(email).casefold()
        done = self.file.rewrite(lambda: Removing(self.path, email, key), columns=[])
        return done.removed[0]

    def import_file(
        self,
        source: Path | str,
        update: bool = False,
        dry_run: bool = False,
        at: datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
        encoding: str = "utf-8",
    ) -> ImportReport:
        """Merge the readers in another CSV export into this list (see `merge`), reading it
        in `encoding`; `charsets.AUTO` ("auto") reads UTF-8 if it is, else detects the
        encoding (`report.encoding` says which). `progress(bytes_read, size)` is called now
        and then while the source is read."""
        return merge(
            self.file,
            Path(source),
            update=update,
            dry_run=dry_run,
            at=at or now(),
            progress=progress,
            encoding=encoding,
        )


def _ident(key: str) -> int:
    """A 63-bit stand-in for an address key, for finding addresses listed twice."""
    return hash(key) >> 1


def _repeats(rows: Iterable[tuple[str, bool]]) -> tuple[set[int], set[int]]:
    """Of rows given as (address key, says stop): the addresses (`_ident`) listed more than
    once, and those of them with a row that says stop. Holds 8 bytes a row (not the rows),
    sorted in 256 small buckets."""
    buckets = [array("q") for _ in range(256)]
    for key, stop in rows:
        ident = _ident(key)
        buckets[ident & 255].append(ident << 1 | stop)
    repeated: set[int] = set()
    stopped: set[int] = set()
    for bucket in buckets:
        ordered = sorted(bucket)
        for a, b in pairwise(ordered):
            if a >> 1 == b >> 1:
                repeated.add(a >> 1)
                if (a | b) & 1:
                    stopped.add(a >> 1)
    return repeated, stopped


def _address_of(layout: Layout, dialect: Dialect, rec: Record) -> str | None:
    """The address a bad row is about, if its email cell can be read (for broken quoting,
    as a lenient reader sees the row)."""
    return layout.address_of(rec.fields or lenient_fields(rec.raw, dialect))


def _stops(layout: Layout, dialect: Dialect, recs: Iterable[Record]) -> Iterator[tuple[str, bool]]:
    """Each row as (address key, says stop): a row that is not `subscribed` says stop, and
    so does a bad row whose address can be read."""
    for rec, key_and_stop, error in parsed(recs, layout.key_and_stop):
        if key_and_stop is not None:
            yield key_and_stop
        elif error is not None:
            address = _address_of(layout, dialect, rec)
            if address is not None:
                yield address.casefold(), True


def _normalise(email: str) -> str:
    try:
        return normalise(email)
    except InvalidAddress as exc:
        raise SubscriberError(f"{email.strip()!r} is not a valid email address: {exc}") from None


def _plain(option: str, text: str) -> str:
    """Free text for a new row: one line of plain text."""
    try:
        return check_plain(option, text)
    except ValueError as exc:
        raise SubscriberError(
            str(exc), "Give it without line breaks, tabs or other control characters."
        ) from None


def _fits(option: str, cell: str) -> None:
    """A cell longer than a reader takes would make the whole row unreadable."""
    if len(cell) > cell_limit():
        raise SubscriberError(
            f"{option}: {len(cell)} characters, more than one cell of the list file may hold "
            f"({cell_limit()})",
            "Give a shorter one.",
        )


def _key(email: str) -> str:
    try:
        return normalise(email).casefold()
    except InvalidAddress:
        return email.strip().casefold()


def _needs_for_new(sub: Subscriber) -> list[str]:
    return [
        c
        for c, has in (
            ("name", bool(sub.name)),
            ("topics", bool(sub.topics)),
            ("timezone", bool(sub.timezone)),
        )
        if has
    ]
