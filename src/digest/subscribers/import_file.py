"""Reading what people really have: exports from Excel, Google Sheets, Mailchimp and
listmonk, or any CSV with an email column, into checked Subscriber rows.

The delimiter (`,` `;` or tab, or Excel's `sep=` line), byte-order mark and line endings are
detected; the header is matched loosely (`Email Address`, `E-mail`, `First Name` + `Last Name`,
`OPTIN_TIME`, listmonk's `created_at` and `enabled`/`blocklisted` statuses, Mailchimp's
`UNSUB_TIME` and `CLEAN_TIME`). The `'` a spreadsheet-safe export (digest's own, and others
that follow OWASP) puts before a formula-like cell is taken off again (`export.unneutralise`).
Each bad row is kept with its physical line and reason; a name or topic that is not one line
of plain text (`plaintext`) is one. The file is read in the encoding `charsets.choose` picked;
each new address that looks like a typo of a common one (`typos`) is noted, not changed.
"""

from __future__ import annotations

import gc
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import IO

from ..errors import SubscriberError
from .addresses import InvalidAddress, normalise
from .charsets import display
from .csvfile import Dialect, Record, first_undecodable, open_text, parsed, records
from .export import unneutralise
from .model import (
    BOUNCED,
    COMPLAINED,
    EMPTY_EXTRA,
    INACTIVE,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Subscriber,
    T,
    checked,
    fit,
    parse_time,
    parse_timezone,
)
from .plaintext import check_plain, printable
from .spill import Spill
from .typos import suggest

# Header names, lower-cased with everything but letters and digits removed, by field.
# Earlier names win when a file has several (Mailchimp has both OPTIN_TIME and CONFIRM_TIME).
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "emailadresse", "courriel", "subscriberemail"),
    "name": ("name", "fullname", "displayname", "subscribername"),
    "first_name": ("firstname", "fname", "givenname", "vorname"),
    "last_name": ("lastname", "lname", "surname", "familyname", "nachname"),
    "status": ("status", "subscriptionstatus", "subscriberstatus"),
    "subscribed_at": (
        "subscribedat",
        "optintime",
        "confirmtime",
        "createdat",
        "subscribed",
        "dateadded",
        "signupdate",
    ),
    "unsubscribed_at": ("unsubscribedat", "unsubtime", "unsubscribed"),
    "cleaned_at": ("cleantime",),
    "changed_at": ("updatedat", "lastchanged"),
    "topics": ("topics", "tags", "groups", "interests", "lists"),
    "timezone": ("timezone", "tz", "timezonename"),
}

STATUS_WORDS = {
    SUBSCRIBED: ("subscribed", "subscribe", "active", "enabled", "confirmed", "optin", "yes"),
    UNSUBSCRIBED: ("unsubscribed", "unsubscribe", "disabled", "blocklisted", "blacklisted"),
    BOUNCED: ("bounced", "bounce", "cleaned", "hardbounce"),
    COMPLAINED: ("complained", "complaint", "spam", "abuse"),
}
_STATUS = {w: status for status, words in STATUS_WORDS.items() for w in words}
_SQUASH = re.compile(r"[^a-z0-9]+")


def _squash(text: str) -> str:
    return _SQUASH.sub("", text.strip().lower())


@dataclass(frozen=True)
class InvalidRow:
    line: int
    reason: str


@dataclass
class Source:
    """A parsed import file: where the row used for each address is parked, and the rest."""

    index: dict[str, int]
    """Address key -> offset in `spill` of the row used for it (`spill` may also hold rows
    a later row of the same address replaced: skip those)."""
    spill: Spill
    invalid: list[InvalidRow]
    duplicate_lines: list[tuple[int, int]]
    columns: dict[str, str]
    ignored: list[str]
    has: set[str]
    """Known columns some valid row has a value for (`status` when not subscribed)."""
    typos: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, address, suggestion) of addresses that look like a typo (`typos.suggest`)."""


Progress = Callable[[int, int], None]
"""Called now and then while reading a source with (bytes read, file size)."""


def read_source(
    path: Path,
    keep_columns: frozenset[str] = frozenset(),
    progress: Progress | None = None,
    encoding: str = "utf-8",
) -> Source:
    """Read an export file in `encoding` (see `charsets.choose`). `keep_columns` are column
    names the list file also has: their values travel with new rows; other unknown columns
    are reported as ignored. The caller closes `spill` of the result."""
    f, dialect = _open(path, encoding)
    src = Source({}, Spill(), [], [], {}, [], set())
    # A million small objects that live until the end: the cyclic collector would walk
    # them over and over for nothing (they hold no cycles), so it waits until we are done.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with f:
            it = records(f, dialect, keep_raw=False)
            header = [unneutralise(h) for h in _header(path, it).fields]
            mapper = _Mapper(path, header, keep_columns)
            src.columns, src.ignored = mapper.used, mapper.ignored
            size = path.stat().st_size
            for rec, sub, error in parsed(it, mapper.subscriber):
                if progress is not None and rec.line % 10000 == 0:
                    progress(f.buffer.tell(), size)
                if error is not None:
                    src.invalid.append(InvalidRow(rec.line, error))
                if sub is not None:
                    _take(src, rec.line, sub)
    except UnicodeDecodeError:
        src.spill.close()
        raise _not_text(path, encoding) from None
    except BaseException:
        src.spill.close()
        raise
    finally:
        if gc_was_enabled:
            gc.enable()
    return src


def _open(path: Path, encoding: str) -> tuple[IO[str], Dialect]:
    try:
        return open_text(path, encoding)
    except FileNotFoundError:
        raise SubscriberError(f"{path}: no such file", "Give the path of a CSV export.") from None
    except IsADirectoryError:
        raise SubscriberError(f"{path}: is a folder", "Give the path of a CSV export.") from None
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise _not_text(path, encoding) from None


def _header(path: Path, it: Iterator[Record]) -> Record:
    """The header row, after Excel's `sep=;` line if there is one."""
    header = next((r for r in it if not r.blank), None)
    if header and 1 <= len(header.fields) <= 2 and header.fields[0].lower() == "sep=":
        header = next((r for r in it if not r.blank), None)
    if header is None:
        raise SubscriberError(f"{path}: the file is empty", "Export it again with a header.")
    if header.error:
        raise SubscriberError(f"{path}: line {header.line}: header: {header.error}")
    return header


def _take(src: Source, line: int, sub: Subscriber) -> None:
    """Park a valid row, once per address; a repeat is counted, and wins only when it says
    the reader left (an import never subscribes someone its own file says unsubscribed)."""
    first = src.index.get(sub.key)
    if first is None:
        src.index[sub.key] = src.spill.put(line, sub)
        likely = suggest(sub.email)
        if likely is not None:
            src.typos.append((line, sub.email, likely))
    else:
        first_line, kept = src.spill.get(first)
        src.duplicate_lines.append((line, first_line))
        if not (kept.status == SUBSCRIBED and sub.status in INACTIVE):
            return
        src.index[sub.key] = src.spill.put(first_line, sub)
    src.has.update(_filled(sub))


class _Mapper:
    """Turns the fields of a source row into a Subscriber, by the source's header."""

    def __init__(self, path: Path, header: list[str], keep: frozenset[str]) -> None:
        self.n = len(header)
        self.index: dict[str, int] = {}
        self.used: dict[str, str] = {}
        squashed = [_squash(h) for h in header]
        for fld, names in ALIASES.items():
            for alias in names:
                if alias in squashed:
                    i = squashed.index(alias)
                    if i not in self.index.values():
                        self.index[fld] = i
                        self.used[fld] = header[i]
                    break
        if "email" not in self.index:
            raise SubscriberError(
                f"{path}: line 1: no email column (the header has: {printable(', '.join(header))})",
                "Name the column with the addresses `email` (or `Email Address`, `E-mail`).",
            )
        taken = set(self.index.values())
        self.keep = {i: h for i, h in enumerate(header) if i not in taken and h in keep}
        self.ignored = [h for i, h in enumerate(header) if i not in taken and i not in self.keep]
        # Where each field is in a row; a column the file lacks points at the empty cell
        # `subscriber` adds at index n.
        self.pos = {fld: self.index.get(fld, self.n) for fld in ALIASES}

    def subscriber(self, fields: list[str]) -> Subscriber:
        row = [unneutralise(c) if c[:1] == "'" else c for c in fit(fields, self.n)]
        p = self.pos
        raw_email = row[p["email"]].strip()
        if not raw_email:
            raise ValueError("no email address")
        try:
            email = normalise(raw_email)
        except InvalidAddress as exc:
            raise ValueError(f"email {raw_email!r}: {exc}") from None
        name = self._plain("name", row) or " ".join(
            x for x in (self._plain("first_name", row), self._plain("last_name", row)) if x
        )
        subscribed_at = self._check("subscribed_at", parse_time, row[p["subscribed_at"]])
        unsubscribed_at = self._check("unsubscribed_at", parse_time, row[p["unsubscribed_at"]])
        cleaned_at = self._check("cleaned_at", parse_time, row[p["cleaned_at"]])
        status = self._status(row[p["status"]].strip())
        if status is None:  # Mailchimp exports each status to its own file, with its time
            status = BOUNCED if cleaned_at else UNSUBSCRIBED if unsubscribed_at else SUBSCRIBED
        if status in INACTIVE and unsubscribed_at is None:
            unsubscribed_at = cleaned_at or self._check(
                "changed_at", parse_time, row[p["changed_at"]]
            )
        tz = self._check("timezone", parse_timezone, row[p["timezone"]])
        topics = _topics(self._plain("topics", row))
        extra = {h: row[i] for i, h in self.keep.items()} if self.keep else None
        return Subscriber(
            email=email,
            name=name,
            status=status,
            subscribed_at=subscribed_at,
            unsubscribed_at=unsubscribed_at if status in INACTIVE else None,
            topics=topics,
            timezone=_shared(tz),
            extra=MappingProxyType(extra) if extra else EMPTY_EXTRA,
        )

    def _plain(self, fld: str, row: list[str]) -> str:
        """A free-text cell, stripped; raises ValueError if it is not one line of plain text."""
        return check_plain(self.used.get(fld, fld), row[self.pos[fld]].strip())

    def _check(self, fld: str, check: Callable[[str], T], text: str) -> T:
        """`check` the cell, naming the source's column if it is bad."""
        return checked(self.used.get(fld, fld), check, text)

    def _status(self, text: str) -> str | None:
        if not text:
            return None
        status = _STATUS.get(_squash(text))
        if status is None:
            col = self.used["status"]
            if _squash(text) in ("pending", "unconfirmed"):
                raise ValueError(f"{col}: {text!r}: never confirmed, so not imported")
            raise ValueError(
                f"{col}: {text!r} is not a status I know "
                "(e.g. subscribed, unsubscribed, bounced, complained, enabled, blocklisted)"
            )
        return status


def _filled(sub: Subscriber) -> list[str]:
    """The known columns a row has a value for (`status` when not subscribed)."""
    return [
        col
        for col, value in (
            ("name", sub.name),
            ("status", sub.status != SUBSCRIBED),
            ("unsubscribed_at", sub.unsubscribed_at),
            ("topics", sub.topics),
            ("timezone", sub.timezone),
        )
        if value
    ]


@lru_cache(maxsize=4096)
def _topics(text: str) -> tuple[str, ...]:
    """`world;science`, `world, science` or Mailchimp's `"world","science"`; shared, as a
    million rows often have a handful of distinct values."""
    parts = (p.strip().strip('"').strip() for p in re.split(r"[;,]", text))
    return tuple(sys.intern(p) for p in parts if p)


def _shared(text: str) -> str:
    return sys.intern(text) if len(text) < 64 else text


def _not_text(path: Path, encoding: str) -> SubscriberError:
    """A file that stopped being text in its encoding while it was read (changed meanwhile:
    `charsets.choose` checked it whole before)."""
    bad = first_undecodable(path, encoding)
    what = f"{display(encoding)} text"
    return SubscriberError(
        f"{path}: {bad.says(what) if bad else 'not ' + what}",
        "Export it again as CSV UTF-8 (in Excel: Save As > CSV UTF-8), or give the encoding it "
        "is in with --encoding.",
    )
