"""Exporting a list for a spreadsheet: every cell that a spreadsheet would run as a formula
(one starting with `=`, `+`, `-`, `@`, a tab or a carriage return, also after leading spaces
or a double quote) gets a leading `'`, so an
exported file cannot run formulas (OWASP's advice on CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from .model import COLUMNS, Subscriber, cells

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


FORMULA_SIGNS = ("=", "+", "-", "@")
_SKIPPED = ' \t\r\n"'
"""What a spreadsheet may skip before a formula sign (spaces, line breaks, a quote)."""


def neutralise(cell: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`, and so for ` =1+1` and `"=1+1`, which some
    spreadsheets also run; other cells are returned as they are."""
    if cell.startswith(FORMULA_STARTS) or cell.lstrip(_SKIPPED).startswith(FORMULA_SIGNS):
        return "'" + cell
    return cell


def export_rows(
    subscribers: Iterable[Subscriber], out: IO[str], extra_columns: list[str] | None = None
) -> int:
    """Write the subscribers as CSV (the known columns, then `extra_columns`) and return how
    many rows were written. Streams: memory does not grow with the list."""
    extra_columns = extra_columns or []
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([neutralise(c) for c in (*COLUMNS, *extra_columns)])
    n = 0
    for s in subscribers:
        row = [*cells(s), *(s.extra.get(c, "") for c in extra_columns)]
        w.writerow([neutralise(c) for c in row])
        n += 1
    return n
