"""Tables that fit the terminal (80 columns and up), measured in screen cells so wide
characters count double: names cut with "…" when they must be, notes wrapped under a row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.text import Text


def term_width() -> int:
    """The terminal's width, or COLUMNS, or 80 when the output is not a terminal."""
    return max(40, Console().width)


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` in exactly `width` cells: padded, or cut with "…" (wide characters count two)."""
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - size)
    return pad + text if right else text + pad


def wrap(text: str, width: int, indent: str = "  ") -> list[str]:
    """A note under a row: wrapped at words to fit `width`, every line indented."""
    lines = Text(text).wrap(Console(width=width), width - len(indent))
    return [indent + line.plain.rstrip() for line in lines]


@dataclass
class Row:
    cells: list[str]
    notes: list[str] = field(default_factory=list)
    """Wrapped below the row (a problem)."""
    lines: list[str] = field(default_factory=list)
    """Shown below the row on one line each, cut to fit unless wide (an address)."""


def table(
    headers: Sequence[str],
    rows: Sequence[Row],
    width: int,
    shrink: Sequence[int],
    right: Sequence[int] = (),
    wide: bool = False,
) -> list[str]:
    """Aligned columns two spaces apart, within `width`: the `shrink` columns give up cells
    (the widest first) until the line fits; `wide` gives every column its full width."""
    sizes = [
        max([cell_len(h)] + [cell_len(r.cells[i]) for r in rows]) for i, h in enumerate(headers)
    ]
    while not wide and sum(sizes) + 2 * (len(sizes) - 1) > width:
        i = max(shrink, key=lambda c: sizes[c])
        if sizes[i] <= max(8, cell_len(headers[i])):
            break
        sizes[i] -= 1

    def line(cells: Sequence[str]) -> str:
        return "  ".join(fit(c, sizes[i], i in right) for i, c in enumerate(cells)).rstrip()

    out = [line(headers)]
    for row in rows:
        out.append(line(row.cells))
        for note in row.notes:
            out.extend(wrap(note, width))
        for extra in row.lines:
            out.append("  " + (extra if wide else fit(extra, width - 2).rstrip()))
    return out
