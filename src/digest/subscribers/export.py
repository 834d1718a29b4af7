"""Exporting a list for a spreadsheet: every cell that a spreadsheet would run as a formula
(one starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so an
exported file cannot run formulas (OWASP's advice on CSV injection)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from .model import COLUMNS, Subscriber, format_time, format_topics

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """`=HYPERLINK(...)` -> `'=HYPERLINK(...)`; other cells are returned as they are."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


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
        row = [
            s.email,
            s.name,
            s.status,
            format_time(s.subscribed_at),
            format_time(s.unsubscribed_at),
            format_topics(s.topics),
            s.timezone,
            *(s.extra.get(c, "") for c in extra_columns),
        ]
        w.writerow([neutralise(c) for c in row])
        n += 1
    return n
