"""Reading CSV text record by record with its exact raw text and physical line numbers, and
writing a file atomically. Keeping the raw text is what lets a rewrite leave every row it did
not change byte for byte as it was."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from ..fsutil import atomic_open

DELIMITERS = (",", ";", "\t")
_QUOTED = re.compile(r'"[^"]*"')
BOM = "\ufeff"
T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """One CSV record: where it starts (a physical line number, 1-based), its exact text
    including its line ending, and its fields. `error` is set when the quoting is broken."""

    line: int
    raw: str
    fields: list[str]
    error: str | None = None

    @property
    def blank(self) -> bool:
        return not self.fields and self.error is None


@dataclass(frozen=True)
class Dialect:
    """How a file is written, so a rewrite keeps it: delimiter, line ending and byte-order mark."""

    delimiter: str = ","
    newline: str = "\n"
    bom: bool = False


def sniff(first_line: str, bom: bool = False) -> Dialect:
    """The delimiter most used outside quotes on the header line (`,` on a tie), or the one
    an Excel `sep=;` line declares, and that line's ending."""
    if first_line[:4].lower() == "sep=" and first_line[4:5] in DELIMITERS:
        delimiter = first_line[4]  # Excel's hint line: `sep=;`
        return Dialect(delimiter, _newline_of(first_line), bom)
    unquoted = _QUOTED.sub("", first_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return Dialect(delimiter, _newline_of(first_line), bom)


def _newline_of(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith("\r"):
        return "\r"
    return "\n"


def open_text(path: Path, encoding: str = "utf-8") -> tuple[IO[str], Dialect]:
    """Open a CSV file for reading (as UTF-8 unless told) and work out its dialect from the
    first line. The byte-order mark, if any, is consumed. Raises OSError or
    UnicodeDecodeError."""
    f = open(path, encoding=encoding, newline="")  # noqa: SIM115 - the caller closes it
    try:
        first = f.readline()
        bom = first.startswith(BOM)
        f.seek(0)
        if bom:
            f.read(1)
        return f, sniff(first.removeprefix(BOM), bom)
    except BaseException:
        f.close()
        raise


def records(f: IO[str], dialect: Dialect, keep_raw: bool = True) -> Iterator[Record]:
    """Every record of an open file (header included), blank lines too (with no fields).

    Broken quoting is reported as a Record with `error` and reading goes on after it. With
    `keep_raw` False the raw text is left empty, which is faster for plain reading.
    """
    buf: list[str] = []

    def lines() -> Iterator[str]:
        for line in f:
            buf.append(line)
            yield line

    reader = csv.reader(
        lines() if keep_raw else f, delimiter=dialect.delimiter, strict=True, quotechar='"'
    )
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raw = "".join(buf)
            buf.clear()
            yield Record(start, raw, [], _unreadable(exc))
            start = reader.line_num + 1
            continue
        raw = "".join(buf) if keep_raw else ""
        buf.clear()
        yield Record(start, raw, fields)
        start = reader.line_num + 1


def cell_limit() -> int:
    """The most characters one cell may hold: longer ones make a row unreadable."""
    return csv.field_size_limit()


def _unreadable(exc: csv.Error) -> str:
    """Why the csv module could not read a record, said so that a person can fix it."""
    if "field larger than field limit" in str(exc):
        return (
            f"field too large: a cell is over {cell_limit()} characters, the most one cell may "
            "hold; shorten it (a quote left open can also make a cell run on)"
        )
    return f"broken quoting ({exc}); check the quotes on this row"


def lenient_fields(raw: str, dialect: Dialect) -> list[str]:
    """The fields of an unreadable record's raw text as a lenient reader sees them (quotes in
    the middle of a cell taken as text), or [] if even that fails: enough to tell which
    address a broken row is about."""
    try:
        reader = csv.reader(io.StringIO(raw, newline=""), delimiter=dialect.delimiter)
        return next(reader, [])
    except csv.Error:
        return []


def parsed(
    recs: Iterable[Record], parse: Callable[[list[str]], T]
) -> Iterator[tuple[Record, T | None, str | None]]:
    """Each record with what `parse` made of its fields, or why it could not: `(rec, value,
    None)`, `(rec, None, reason)` for broken quoting or a ValueError from `parse`, and
    `(rec, None, None)` for a blank line. The one loop every reader of rows shares."""
    for rec in recs:
        if rec.blank:
            yield rec, None, None
        elif rec.error:
            yield rec, None, rec.error
        else:
            try:
                value = parse(rec.fields)
            except ValueError as exc:
                yield rec, None, str(exc)
            else:
                yield rec, value, None


def strip_newline(raw: str) -> str:
    if raw.endswith("\r\n"):
        return raw[:-2]
    if raw.endswith(("\n", "\r")):
        return raw[:-1]
    return raw


class RowWriter:
    """Writes raw records and new rows in one dialect, adding a line ending before a row when
    the text so far does not end with one (a hand-edited file often lacks the last one)."""

    def __init__(self, out: IO[str], dialect: Dialect) -> None:
        self.out = out
        self.dialect = dialect
        self._csv = csv.writer(
            out, delimiter=dialect.delimiter, lineterminator=dialect.newline, quotechar='"'
        )
        self._open_line = False

    def raw(self, text: str) -> None:
        if not text:
            return
        if self._open_line:
            self.out.write(self.dialect.newline)
        self.out.write(text)
        self._open_line = not text.endswith(("\n", "\r"))

    def row(self, fields: list[str]) -> None:
        if self._open_line:
            self.out.write(self.dialect.newline)
            self._open_line = False
        self._csv.writerow(fields)


@contextmanager
def atomic_write(
    path: Path, bom: bool = False, before_replace: Callable[[], None] | None = None
) -> Iterator[IO[str]]:
    """A CSV file written whole or not at all (see `fsutil.atomic_open`), with its BOM kept."""
    with atomic_open(path, "w", encoding="utf-8", newline="", before_replace=before_replace) as out:
        if bom:
            out.write(BOM)
        yield out


@dataclass(frozen=True)
class BadBytes:
    """Where a file stops being text in an encoding: its physical line (1-based), the offset
    of the first byte that does not decode (0-based) and that byte."""

    line: int
    offset: int
    byte: int

    def says(self, what: str) -> str:
        """`line 3: not UTF-8 text (byte 45 is 0xe9)`, for an error message."""
        return f"line {self.line}: not {what} (byte {self.offset} is 0x{self.byte:02x})"


def first_undecodable(path: Path, encoding: str = "utf-8") -> BadBytes | None:
    """The first place where the file is not text in `encoding`, or None if it all is.
    Streams the file in 1 MiB chunks (a million rows take a fraction of a second); lines
    are counted as the CSV reader counts them (`\n`, `\r\n` or a lone `\r`)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    fed = 0  # bytes given to the decoder so far
    lines = _LineCount()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            state = decoder.getstate()
            try:
                lines.add(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as exc:
                pending = state[0]  # bytes the decoder held back from the last chunk
                decoder.setstate(state)
                good = (pending + chunk)[: exc.start][len(pending) :]
                lines.add(decoder.decode(good))
                return BadBytes(lines.line, fed - len(pending) + exc.start, exc.object[exc.start])
            except UnicodeError:  # utf-16 or utf-32 without a byte order mark
                return BadBytes(lines.line, fed, chunk[0] if chunk else 0)
            if not chunk:
                return None
            fed += len(chunk)


class _LineCount:
    def __init__(self) -> None:
        self.line = 1
        self._after_cr = False

    def add(self, text: str) -> None:
        if not text:
            return
        self.line += text.count("\n") + text.count("\r") - text.count("\r\n")
        if self._after_cr and text[0] == "\n":
            self.line -= 1  # a \r\n split between two chunks
        self._after_cr = text[-1] == "\r"
