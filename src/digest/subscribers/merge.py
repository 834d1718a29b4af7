"""Merging an export into a list: each row of the source is added, updated, left unchanged,
or counted as a duplicate or as invalid with its line and reason.

An import never takes back someone who unsubscribed, bounced or complained; it does record
that someone on the list unsubscribed, bounced or complained elsewhere (a Mailchimp
unsubscribed or cleaned export). It reads the source first, then rewrites the list in one
locked pass (see `listfile`), or not at all for a dry run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .charsets import Encoding, choose
from .csvfile import Record, open_text, records
from .import_file import InvalidRow, Progress, Source, read_source
from .listfile import KEEP, ListFile
from .model import INACTIVE, SUBSCRIBED, Subscriber

UTF8 = Encoding("utf-8")


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do), row by row of the source."""

    source: Path
    dry_run: bool
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    invalid: list[InvalidRow] = field(default_factory=list)
    not_resubscribed: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, address, status on the list) of rows the import will not take back."""
    duplicate_lines: list[tuple[int, int]] = field(default_factory=list)
    """(line, line of the first row with the same address)."""
    columns: dict[str, str] = field(default_factory=dict)
    """Which source column was read for which field."""
    ignored_columns: list[str] = field(default_factory=list)
    encoding: Encoding = UTF8
    """The encoding the source was read in, and whether it was detected."""
    typos: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, address, suggestion) of addresses that look like a typo; imported as they are."""

    def as_dict(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "dry_run": self.dry_run,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "invalid": len(self.invalid),
            "invalid_rows": [{"line": r.line, "reason": r.reason} for r in self.invalid],
            "not_resubscribed": [
                {"line": line, "email": e, "status": s} for line, e, s in self.not_resubscribed
            ],
            "duplicate_rows": [{"line": a, "first_line": b} for a, b in self.duplicate_lines],
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "encoding": self.encoding.name,
            "encoding_detected": self.encoding.detected,
            "typos": [{"line": line, "email": e, "suggestion": s} for line, e, s in self.typos],
        }


def merge(
    target: ListFile,
    path: Path,
    update: bool,
    dry_run: bool,
    at: datetime,
    progress: Progress | None = None,
    encoding: str = "utf-8",
) -> ImportReport:
    """Read `path` (in `encoding`, or detected for `charsets.AUTO`) and merge it into
    `target` in one locked rewrite (or none, for a dry run)."""
    chosen = choose(path, encoding)
    known = _list_columns(target)
    src = read_source(path, known, progress, chosen.name)
    try:
        return _merge(target, src, path, update, dry_run, at, chosen)
    finally:
        src.spill.close()


def _merge(
    target: ListFile,
    src: Source,
    path: Path,
    update: bool,
    dry_run: bool,
    at: datetime,
    encoding: Encoding,
) -> ImportReport:
    columns = [
        c for c in ("name", "status", "unsubscribed_at", "topics", "timezone") if c in src.has
    ]
    done = target.rewrite(
        lambda: Merging(src, path, update, dry_run, at, encoding),
        columns=columns,
        dry_run=dry_run,
        skip_if_unchanged=True,
    )
    return done.report


class Merging:
    """One pass of an import over the list (a `listfile.Change`): each row of an address the
    source has may change; the source's new addresses are appended. `report` says what this
    pass did, so a pass done again on a file replaced meanwhile starts from a fresh one."""

    def __init__(
        self,
        src: Source,
        path: Path,
        update: bool,
        dry_run: bool,
        at: datetime,
        encoding: Encoding = UTF8,
    ):
        self.src = src
        self.update = update
        self.at = at
        self.report = ImportReport(
            source=path,
            dry_run=dry_run,
            duplicates=len(src.duplicate_lines),
            invalid=src.invalid,
            duplicate_lines=src.duplicate_lines,
            columns=src.columns,
            ignored_columns=src.ignored,
            encoding=encoding,
            typos=src.typos,
        )
        self.outcome: dict[str, str] = {}

    def visit(self, sub: Subscriber, _rec: Record) -> object:
        at_offset = self.src.index.get(sub.key)
        if at_offset is None:
            return KEEP
        line, incoming = self.src.spill.get(at_offset)
        new = sub
        if sub.status == SUBSCRIBED and incoming.status in INACTIVE:
            new = replace(
                new, status=incoming.status, unsubscribed_at=incoming.unsubscribed_at or self.at
            )
        elif (
            sub.status in INACTIVE and incoming.status == SUBSCRIBED and sub.key not in self.outcome
        ):
            self.report.not_resubscribed.append((line, sub.email, sub.status))
        if self.update:
            new = replace(
                new,
                name=incoming.name or new.name,
                topics=incoming.topics or new.topics,
                timezone=incoming.timezone or new.timezone,
            )
        changed = new != sub
        if changed or sub.key not in self.outcome:
            self.outcome[sub.key] = "updated" if changed else self.outcome.get(sub.key, "unchanged")
        return new if changed else KEEP

    def tail(self) -> Iterator[Subscriber]:
        report, outcome = self.report, self.outcome
        report.updated = sum(1 for v in outcome.values() if v == "updated")
        report.unchanged = len(outcome) - report.updated
        for at_offset, _line, sub in self.src.spill:
            if sub.key not in outcome and self.src.index[sub.key] == at_offset:
                report.added += 1
                yield sub if sub.subscribed_at else replace(sub, subscribed_at=self.at)


def _list_columns(target: ListFile) -> frozenset[str]:
    """The names of the list file's columns (none if it does not exist yet)."""
    try:
        f, dialect = open_text(target.path)
    except (FileNotFoundError, UnicodeDecodeError):
        return frozenset()
    with f:
        header = next((r for r in records(f, dialect, keep_raw=False) if not r.blank), None)
    return frozenset(header.fields) if header and not header.error else frozenset()
