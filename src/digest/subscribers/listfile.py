"""One list's CSV file as `SubscriberList` changes it: opened with its layout and dialect,
locked on `<file>.lock`, and rewritten in one streamed pass into a temp file that replaces it.

A `Change` sees every row (`visit` returns `KEEP`: its bytes are copied as they were, `DROP`,
or a changed `Subscriber`) and then gives the rows to append (`tail`); a file with a broken row
is never rewritten, the change is refused naming every bad line. Merging an import (`merge`)
uses the same pass.

The file may be edited by hand while a change runs. An editor or a spreadsheet saves by
renaming a new file over the list; a rename of ours after it would throw that edit away. So
right before the rename, the change checks that the path still holds the version it read
(`FileVersion`); if not, it drops its result and runs again, from a fresh `Change`, on the
new content, up to `ATTEMPTS` times, then refuses. (A save in the microseconds between that
check and the rename can still be lost: no file system offers a rename-if-unchanged.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, TypeVar

from filelock import FileLock, Timeout

from ..errors import SubscriberError
from ..fsutil import FileVersion, real_path, temp_files
from .csvfile import (
    Dialect,
    Record,
    RowWriter,
    atomic_write,
    first_undecodable,
    open_text,
    parsed,
    records,
    strip_newline,
)
from .model import COLUMNS, Subscriber
from .plaintext import printable
from .rows import Layout

__all__ = ["ATTEMPTS", "DROP", "KEEP", "Change", "ListFile", "Problem", "describe"]

log = logging.getLogger(__name__)

KEEP = object()
"""Returned by a visitor: leave the row exactly as it is."""
DROP = object()
"""Returned by a visitor: delete the row."""

ATTEMPTS = 5
"""How many times a change is tried on a file that keeps being replaced before it refuses."""


class Change(Protocol):
    """One attempt at a change. It may note what it sees (the rows it changed, a report):
    a fresh one is made for each attempt, so a redo never counts the last attempt's rows."""

    def visit(self, sub: Subscriber, rec: Record) -> object:
        """`KEEP`, `DROP` or the changed subscriber, for each readable row in file order."""
        ...

    def tail(self) -> Iterable[Subscriber]:
        """The new rows to append, after every row was visited; may raise SubscriberError."""
        ...


C = TypeVar("C", bound=Change)


@dataclass(frozen=True)
class Problem:
    """A bad row: its first physical line in the file and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def describe(problems: list[Problem]) -> str:
    """`2 row(s) are broken: line 4: ...; line 9: ...`, naming the first five."""
    shown = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f"{len(problems)} row(s) are broken: {shown}{more}"


class ListFile:
    """The CSV file of one list: `open` to read it, `rewrite` to change it under its lock."""

    def __init__(self, path: Path, lock_timeout: float = 60.0) -> None:
        self.path = path
        self.lock_timeout = lock_timeout

    @contextmanager
    def lock(self, target: Path | None = None) -> Iterator[None]:
        """Hold the list's lock on `<file>.lock` beside the file (a symlink's target: so every
        link to one file shares its lock). Not re-entrant: one change at a time."""
        lock = FileLock(str(target or real_path(self.path)) + ".lock", timeout=self.lock_timeout)
        try:
            with lock:
                yield
        except Timeout:
            raise SubscriberError(
                f"{self.path}: another digest command has been changing this list for "
                f"{self.lock_timeout:.0f} s",
                f"Wait for it to finish, or remove {lock.lock_file} if no digest is running.",
            ) from None

    def rewrite(
        self,
        start: Callable[[], C],
        columns: list[str],
        dry_run: bool = False,
        skip_if_unchanged: bool = False,
    ) -> C:
        """Under the lock, stream the file through a `Change` made by `start()` into a new
        one, append what its `tail` gives, and replace the file; return that change. If the
        file was replaced or changed meanwhile, start again on the new content. Any bad row
        aborts before anything is replaced."""
        target = real_path(self.path)  # a symlink is written through, and stays a link
        try:
            with self.lock(target):
                if not dry_run:
                    self._remove_leftovers(target)
                for attempt in range(1, ATTEMPTS + 1):
                    change = start()
                    if self._attempt(target, change, columns, dry_run, skip_if_unchanged):
                        return change
                    log.info(
                        "%s was replaced or changed while this change was made (attempt %d "
                        "of %d): doing it again on the new content",
                        self.path,
                        attempt,
                        ATTEMPTS,
                    )
        except OSError as exc:
            raise SubscriberError(
                f"{self.path}: cannot write the list ({exc.strerror or exc}); it is unchanged",
                "Check the folder's permissions and free space.",
            ) from None
        raise SubscriberError(
            f"{self.path}: not changed, because the file was replaced or changed {ATTEMPTS} "
            "times while this command was changing it",
            "Something keeps saving it (an editor, a spreadsheet, a sync tool?): close it or let "
            "it finish, then run this again.",
        )

    def _attempt(
        self, target: Path, change: Change, columns: list[str], dry_run: bool, skip: bool
    ) -> bool:
        """One pass; False if the file is no longer the version it read (nothing written)."""
        with self.open(create=True, keep_raw=True, at=target) as opened:
            layout, dialect, recs = opened
            new_layout = layout.with_columns(columns)
            if dry_run:
                self._scan(layout, new_layout, recs, change, None)
                return True

            def still_the_version_read() -> None:
                if FileVersion.of_path(target) != recs.version:
                    raise _ChangedMeanwhile

            try:
                with atomic_write(target, dialect.bom, still_the_version_read) as out:
                    w = RowWriter(out, dialect)
                    if new_layout is layout and recs.header_raw is not None:
                        w.raw(recs.header_raw)
                        changed = False
                    else:
                        w.row(new_layout.header)
                        changed = True
                    changed |= self._scan(layout, new_layout, recs, change, w)
                    if skip and not changed:
                        raise _Unchanged
            except _Unchanged:
                pass
            except _ChangedMeanwhile:
                return False
        return True

    def _remove_leftovers(self, target: Path) -> None:
        """Remove the temp files of changes that were killed midway (up to the list's size
        each). Under the lock no other change of this list is running, so none is in use."""
        for leftover in temp_files(target):
            with suppress(OSError):
                os.unlink(leftover)
                log.info("removed %s, left by a change that did not finish", leftover)

    def _scan(
        self,
        layout: Layout,
        new_layout: Layout,
        recs: Iterable[Record],
        change: Change,
        w: RowWriter | None,
    ) -> bool:
        problems: list[Problem] = []
        changed = False
        widen = len(new_layout.header) - len(layout.header)
        for rec, sub, error in parsed(recs, layout.parse):
            if error is not None:
                problems.append(Problem(rec.line, error))
                continue
            if sub is None:  # a blank line
                if w:
                    w.raw(rec.raw)
                continue
            if problems:
                continue  # keep checking, so the error names every bad line
            action = change.visit(sub, rec)
            if w is None:
                continue
            if action is KEEP:
                if widen:
                    pad = len(new_layout.header) - len(rec.fields)
                    w.raw(strip_newline(rec.raw) + w.dialect.delimiter * pad + w.dialect.newline)
                else:
                    w.raw(rec.raw)
            elif action is DROP:
                changed = True
            else:
                assert isinstance(action, Subscriber)
                w.row(new_layout.fields_for(action, sub, rec.fields))
                changed = True
        if problems:
            raise self._broken(problems)
        for new in change.tail():
            if w is not None:
                w.row(new_layout.fields_for(new))
                changed = True
        return changed

    def _broken(self, problems: list[Problem]) -> SubscriberError:
        return SubscriberError(
            f"{self.path}: not changed, because {describe(problems)}",
            "Fix those lines (`digest subscribers validate` lists them all), then run this again.",
        )

    @contextmanager
    def open(
        self, create: bool, keep_raw: bool, at: Path | None = None
    ) -> Iterator[tuple[Layout, Dialect, _After]]:
        """The file's layout, dialect and records after the header (read from `at`, the
        file's real path, if given). A missing or empty file reads as an empty list with the
        standard header when `create` is set."""
        try:
            f, dialect = open_text(at or self.path)
        except FileNotFoundError:
            if not create:
                raise SubscriberError(
                    f"{self.path}: no such subscriber file",
                    "Create it with the header line "
                    f"`{','.join(COLUMNS)}`, or add someone with `digest subscribers add`.",
                ) from None
            yield Layout(list(COLUMNS)), Dialect(), _After(None)
            return
        except OSError as exc:
            raise SubscriberError(f"{self.path}: cannot read it ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise self._not_utf8() from None
        with f:
            version = FileVersion.of_file(f)
            try:
                it, header = _from_the_top(f, dialect, keep_raw)
                if header is None:
                    yield Layout(list(COLUMNS)), dialect, _After(None, version=version)
                    return
                layout = self._check_header(header)

                def again() -> Iterator[Record]:
                    return _from_the_top(f, dialect, keep_raw)[0]

                yield layout, dialect, _After(it, header.raw, again, version)
            except UnicodeDecodeError:
                raise self._not_utf8() from None

    def _check_header(self, header: Record) -> Layout:
        if header.error:
            raise SubscriberError(f"{self.path}: line {header.line}: header: {header.error}")
        layout = Layout(header.fields)
        if "email" not in layout.index:
            raise SubscriberError(
                f"{self.path}: line {header.line}: the header has no `email` column "
                f"(it has: {printable(', '.join(header.fields))})",
                f"The first line must name the columns, e.g. `{','.join(COLUMNS)}`.",
            )
        dup = layout.duplicates()
        if dup:
            names = printable(", ".join(dup))
            raise SubscriberError(
                f"{self.path}: line {header.line}: the header names {names} twice",
                "Rename or remove one of them.",
            )
        return layout

    def _not_utf8(self) -> SubscriberError:
        bad = first_undecodable(self.path)
        where = bad.says("UTF-8 text") if bad else "not UTF-8 text"
        return SubscriberError(
            f"{self.path}: {where}",
            "A list file is always UTF-8: save it as CSV UTF-8 (in Excel: Save As > CSV UTF-8), "
            "or convert it (e.g. `iconv -f cp1252 -t utf-8`).",
        )


class _After:
    """The records after the header, carrying the header's raw text for a rewrite and the
    `version` of the file they come from (None: there was no file); `again()` reads the same
    open file (so the same version of the list) once more from the top."""

    def __init__(
        self,
        it: Iterator[Record] | None,
        header_raw: str | None = None,
        again: Callable[[], Iterator[Record]] | None = None,
        version: FileVersion | None = None,
    ) -> None:
        self._it = it if it is not None else iter(())
        self.header_raw = header_raw
        self._again = again
        self.version = version

    def __iter__(self) -> Iterator[Record]:
        return self._it

    def __next__(self) -> Record:
        return next(self._it)

    def again(self) -> Iterator[Record]:
        return self._again() if self._again is not None else iter(())


def _from_the_top(
    f: IO[str], dialect: Dialect, keep_raw: bool
) -> tuple[Iterator[Record], Record | None]:
    """The records of an open list file from its start, and its header (None if empty)."""
    f.seek(0)
    if dialect.bom:
        f.read(1)
    it = records(f, dialect, keep_raw=keep_raw)
    return it, next((r for r in it if not r.blank), None)


class _Unchanged(Exception):
    """Raised inside atomic_write to leave the file untouched when nothing changed."""


class _ChangedMeanwhile(Exception):
    """Raised before the rename when the file is no longer the version the pass read."""
