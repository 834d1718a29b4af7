"""Exporting a list for a spreadsheet: every cell that a spreadsheet would run as a formula
(one starting with `=`, `+`, `-`, `@`, a tab or a carriage return, also after leading spaces
or a double quote) gets a leading `'`, so an exported file cannot run formulas (OWASP's advice
on CSV injection).

An export must import back to the same list, so `unneutralise` undoes it: it drops a leading
`'` only where the rest would have been neutralised. For that to be exact, a cell that itself
starts with `'` and then such a formula start (`'-x@example.com`, a valid address) gets one
more `'` on export; a spreadsheet still shows it as text."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Protocol

from .csvfile import BOM
from .model import COLUMNS, Subscriber, cells


class Writer(Protocol):
    """Where an export goes: anything with `write(text)` (a text file, standard output)."""

    def write(self, text: str, /) -> object: ...


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


FORMULA_SIGNS = ("=", "+", "-", "@")
_SKIPPED = ' \t\r\n"'
"""What a spreadsheet may skip before a formula sign (spaces, line breaks, a quote)."""


def neutralise(cell: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`, and so for ` =1+1` and `"=1+1`, which some
    spreadsheets also run, and for `'=1` (see above); other cells are returned as they are."""
    return "'" + cell if _needs_quote(cell) else cell


def unneutralise(cell: str) -> str:
    """What `neutralise` was given: `'=HYPERLINK(...)` -> `=HYPERLINK(...)`, `''-x` -> `'-x`;
    a `'` before anything else is part of the cell (`'Tis`, `o'brien`) and stays."""
    return cell[1:] if cell.startswith("'") and _needs_quote(cell[1:]) else cell


def _needs_quote(cell: str) -> bool:
    """A formula start, or one already behind `'`s (which must survive the round trip)."""
    rest = cell.lstrip("'")
    return rest.startswith(FORMULA_STARTS) or rest.lstrip(_SKIPPED).startswith(FORMULA_SIGNS)


def export_rows(
    subscribers: Iterable[Subscriber],
    out: Writer,
    extra_columns: list[str] | None = None,
    bom: bool = False,
) -> int:
    """Write the subscribers as CSV (the known columns, then `extra_columns`; lines end in
    CRLF, as RFC 4180 and Excel have it) and return how many rows were written. `bom` starts
    the text with a byte order mark, which Excel needs to read a CSV file as UTF-8 (without
    it, Excel on Windows reads `Zoë` as `ZoÃ«`); an import reads it either way. Streams:
    memory does not grow with the list."""
    extra_columns = extra_columns or []
    if bom:
        out.write(BOM)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([neutralise(c) for c in (*COLUMNS, *extra_columns)])
    n = 0
    for s in subscribers:
        row = [*cells(s), *(s.extra.get(c, "") for c in extra_columns)]
        w.writerow([neutralise(c) for c in row])
        n += 1
    return n
