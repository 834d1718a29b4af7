"""One list's CSV file as `SubscriberList` changes it: opened with its layout and dialect,
locked on `<file>.lock`, and rewritten in one streamed pass into a temp file that replaces it.

A visitor sees every row and returns `KEEP` (its bytes are copied as they were), `DROP`, or a
changed `Subscriber`; a file with a broken row is never rewritten, the change is refused naming
every bad line. Merging an import (`merge`) uses the same pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from filelock import FileLock, Timeout

from ..errors import SubscriberError
from .csvfile import (
    Dialect,
    Record,
    RowWriter,
    atomic_write,
    first_bad_utf8_line,
    open_text,
    parsed,
    records,
    strip_newline,
)
from .model import COLUMNS, Subscriber
from .rows import Layout

__all__ = ["DROP", "KEEP", "ListFile", "Problem", "Visitor", "describe"]

KEEP = object()
"""Returned by a visitor: leave the row exactly as it is."""
DROP = object()
"""Returned by a visitor: delete the row."""

Visitor = Callable[[Subscriber, Record], object]


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
    def lock(self) -> Iterator[None]:
        """Hold the list's lock on `<file>.lock` (not re-entrant: one change at a time)."""
        lock = FileLock(str(self.path) + ".lock", timeout=self.lock_timeout)
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
        visit: Visitor,
        tail: Callable[[], Iterable[Subscriber]],
        columns: list[str],
        dry_run: bool = False,
        skip_if_unchanged: bool = False,
    ) -> None:
        """Stream the file through `visit` into a new one, append what `tail` returns, and
        replace the file, all under the lock. Any bad row aborts before anything is replaced."""
        try:
            with self.lock(), self.open(create=True, keep_raw=True) as opened:
                layout, dialect, recs = opened
                target = layout.with_columns(columns)
                if dry_run:
                    self._scan(layout, target, recs, visit, tail, None)
                    return
                with atomic_write(self.path, bom=dialect.bom) as out:
                    w = RowWriter(out, dialect)
                    if target is layout and recs.header_raw is not None:
                        w.raw(recs.header_raw)
                        changed = False
                    else:
                        w.row(target.header)
                        changed = True
                    changed |= self._scan(layout, target, recs, visit, tail, w)
                    if skip_if_unchanged and not changed:
                        raise _Unchanged
        except _Unchanged:
            pass
        except OSError as exc:
            raise SubscriberError(
                f"{self.path}: cannot write the list ({exc.strerror or exc}); it is unchanged",
                "Check the folder's permissions and free space.",
            ) from None

    def _scan(
        self,
        layout: Layout,
        target: Layout,
        recs: Iterable[Record],
        visit: Visitor,
        tail: Callable[[], Iterable[Subscriber]],
        w: RowWriter | None,
    ) -> bool:
        problems: list[Problem] = []
        changed = False
        widen = len(target.header) - len(layout.header)
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
            action = visit(sub, rec)
            if w is None:
                continue
            if action is KEEP:
                if widen:
                    pad = len(target.header) - len(rec.fields)
                    w.raw(strip_newline(rec.raw) + w.dialect.delimiter * pad + w.dialect.newline)
                else:
                    w.raw(rec.raw)
            elif action is DROP:
                changed = True
            else:
                assert isinstance(action, Subscriber)
                w.row(target.fields_for(action, sub, rec.fields))
                changed = True
        if problems:
            raise self._broken(problems)
        for new in tail():
            if w is not None:
                w.row(target.fields_for(new))
                changed = True
        return changed

    def _broken(self, problems: list[Problem]) -> SubscriberError:
        return SubscriberError(
            f"{self.path}: not changed, because {describe(problems)}",
            "Fix those lines (`digest subscribers validate` lists them all), then run this again.",
        )

    @contextmanager
    def open(self, create: bool, keep_raw: bool) -> Iterator[tuple[Layout, Dialect, _After]]:
        """The file's layout, dialect and records after the header. A missing or empty file
        reads as an empty list with the standard header when `create` is set."""
        try:
            f, dialect = open_text(self.path)
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
            try:
                it, header = _from_the_top(f, dialect, keep_raw)
                if header is None:
                    yield Layout(list(COLUMNS)), dialect, _After(None)
                    return
                layout = self._check_header(header)

                def again() -> Iterator[Record]:
                    return _from_the_top(f, dialect, keep_raw)[0]

                yield layout, dialect, _After(it, header.raw, again)
            except UnicodeDecodeError:
                raise self._not_utf8() from None

    def _check_header(self, header: Record) -> Layout:
        if header.error:
            raise SubscriberError(f"{self.path}: line {header.line}: header: {header.error}")
        layout = Layout(header.fields)
        if "email" not in layout.index:
            raise SubscriberError(
                f"{self.path}: line {header.line}: the header has no `email` column "
                f"(it has: {', '.join(header.fields)})",
                f"The first line must name the columns, e.g. `{','.join(COLUMNS)}`.",
            )
        dup = layout.duplicates()
        if dup:
            raise SubscriberError(
                f"{self.path}: line {header.line}: the header names {', '.join(dup)} twice",
                "Rename or remove one of them.",
            )
        return layout

    def _not_utf8(self) -> SubscriberError:
        line = first_bad_utf8_line(self.path)
        return SubscriberError(
            f"{self.path}: line {line}: not UTF-8 text",
            "Save the file as CSV UTF-8 (in Excel: Save As > CSV UTF-8).",
        )


class _After:
    """The records after the header, carrying the header's raw text for a rewrite; `again()`
    reads the same open file (so the same version of the list) once more from the top."""

    def __init__(
        self,
        it: Iterator[Record] | None,
        header_raw: str | None = None,
        again: Callable[[], Iterator[Record]] | None = None,
    ) -> None:
        self._it = it if it is not None else iter(())
        self.header_raw = header_raw
        self._again = again

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
