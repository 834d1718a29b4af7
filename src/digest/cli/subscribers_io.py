"""`digest subscribers import` and `export`: readers in from other tools' exports (their
encodings detected), and out to a spreadsheet-safe file that imports back unchanged."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from ..errors import SubscriberError
from ..subscribers import (
    AUTO,
    ImportReport,
    Problem,
    SubscriberList,
    describe,
    export_rows,
)
from ..subscribers.charsets import display
from ..subscribers.csvfile import atomic_write
from ..subscribers.plaintext import printable
from .common import CONTEXT, config_option
from .subscribers import _list_option, _open_list, _status_option, subscribers


@subscribers.command("import", context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--update", is_flag=True, help="Also update names, topics and time zones.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--encoding",
    "-e",
    default=AUTO,
    show_default=True,
    metavar="NAME",
    help="The file's encoding, e.g. cp1252; auto: UTF-8 if it is, else detected (and said).",
)
def import_(
    list_name: str | None,
    file: Path,
    dry_run: bool,
    update: bool,
    as_json: bool,
    encoding: str,
) -> None:
    """Import readers from a CSV export (Excel, Google Sheets, Mailchimp, listmonk, ...).

    New addresses are added; known ones keep their name, topics and time zone unless
    --update. Someone who unsubscribed, bounced or complained is never taken back by an
    import, but an address the export marks as unsubscribed, bounced or complained (e.g. a
    Mailchimp unsubscribed or cleaned export) is marked so on the list too. Exits 1 if any
    row was invalid (the valid rows are still imported; the report names each one).

    The file is read as UTF-8 (with or without a byte order mark) if it is that; else its
    encoding is detected (Excel's plain CSV is cp1252 in Western Europe and the Americas) and
    the report says which it used, with a few of the words it read. --encoding names it.
    Addresses whose domain looks like a typo (bob@gmial.com) are imported as they are and
    listed in the report, with the likely address.

    \b
    Examples:
      digest subscribers import members_export.csv --dry-run
      digest subscribers import readers.csv --update --list weekly
      digest subscribers import excel.csv --encoding cp1252
    """
    people = _open_list(list_name)
    stderr = Console(stderr=True)
    if stderr.is_terminal:
        with Progress(
            TextColumn("reading {task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            task = bar.add_task(file.name, total=None)
            report = people.import_file(
                file,
                update=update,
                dry_run=dry_run,
                progress=lambda done, size: bar.update(task, completed=done, total=size),
                encoding=encoding,
            )
    else:
        report = people.import_file(file, update=update, dry_run=dry_run, encoding=encoding)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, people)
    if report.invalid:
        sys.exit(1)


def _print_report(report: ImportReport, people: SubscriberList) -> None:
    """The report, every line printed as plain text: paths, column names and reasons come
    from files (no rich markup, control characters escaped)."""
    console = Console(highlight=False, soft_wrap=True)

    def say(line: str) -> None:
        console.print(printable(line), markup=False)

    verb = "would be" if report.dry_run else "were"
    table = Table(title=Text(printable(f"{report.source} -> {people.path}")), show_header=True)
    table.add_column("rows")
    table.add_column("count", justify="right")
    for label, n in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("duplicates", report.duplicates),
        ("invalid", len(report.invalid)),
    ):
        table.add_row(label, str(n))
    console.print(table)
    used = report.encoding
    if used.detected:
        words = ", ".join(used.sample)
        say(
            f"read as {display(used.name)} (detected, as the file is not UTF-8"
            + (f"; it reads: {words}" if words else "")
            + "); if that looks wrong, import it again with --encoding NAME"
        )
    elif used.name != "utf-8":
        say(f"read as {display(used.name)}")
    for r in report.invalid:
        say(f"invalid: {report.source}: line {r.line}: {r.reason}")
    for line, first in report.duplicate_lines[:20]:
        say(f"duplicate: line {line} repeats line {first}")
    for line, email, status in report.not_resubscribed:
        say(
            f"not resubscribed: line {line}: {email} is {status} "
            "(use `digest subscribers resubscribe` if they asked)"
        )
    if report.typos:
        n = len(report.typos)
        these = (
            "1 address looks like a typo (imported as it is"
            if n == 1
            else f"{n} addresses look like typos (imported as they are"
        )
        say(f"{these}; `digest subscribers remove` takes one off):")
        for line, email, likely in report.typos[:20]:
            say(f"typo?: line {line}: {email}: did you mean {likely}?")
        if n > 20:
            say(f"(and {n - 20} more: --json lists them all)")
    if report.ignored_columns:
        say("columns not imported: " + ", ".join(report.ignored_columns))
    if report.dry_run:
        say(f"Dry run: nothing {verb} written.")


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@_status_option("Only readers with this status.")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (atomically) instead of standard output.",
)
@click.option(
    "--excel",
    is_flag=True,
    help="Start with a UTF-8 byte order mark, so that Excel reads names such as Zoë right.",
)
def export(list_name: str | None, status: str | None, out: Path | None, excel: bool) -> None:
    """Export a list as CSV (UTF-8, CRLF line ends) with formulas neutralised for spreadsheets;
    for Excel, add --excel.

    Cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or
    carriage return, also after spaces or a quote) get a leading ' so they show as text.
    Excel on Windows reads a CSV file as UTF-8 only if it starts with a byte order mark
    (else "Zoë Ångström" shows as "ZoÃ« Ã…ngstrÃ¶m"): --excel writes one. An import reads
    both back to the same list. Exits 1 if a row of the list cannot be read (with --out,
    nothing is written then).

    \b
    Examples:
      digest subscribers export --status subscribed --out readers.csv
      digest subscribers export --excel --out readers.csv
      digest subscribers export | head
    """
    people = _open_list(list_name)
    extra = people.extra_columns()
    problems: list[Problem] = []
    rows = (s for s in people.iter_all(problems) if status is None or s.status == status)
    if out is None:
        with _stdout() as f:
            export_rows(rows, f, extra, bom=excel)
        _refuse_incomplete(people, problems, "the export above lacks them")
        return
    try:
        with atomic_write(out) as f:
            seen = _Ascii(f)
            n = export_rows(rows, seen, extra, bom=excel)
            _refuse_incomplete(people, problems, f"{out} was not written")
    except OSError as exc:
        raise SubscriberError(
            f"{out}: cannot write the export ({exc.strerror or exc})",
            "Check that the folder exists as a folder, its permissions and free space.",
        ) from None
    click.echo(f"Wrote {n} rows to {out}.", err=True)
    if not excel and not seen.ascii:
        click.echo(
            "Note: it is UTF-8 without a byte order mark, which Excel misreads (Zoë as ZoÃ«); "
            "for Excel, export with --excel.",
            err=True,
        )


@contextmanager
def _stdout() -> Iterator[IO[str]]:
    """Standard output as UTF-8 text with the CSV's own line ends (no newline translation,
    which would make \\r\\r\\n of them on Windows)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # standard output replaced by a text-only stream
        yield sys.stdout
        return
    sys.stdout.flush()
    out = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        yield out
    finally:
        out.flush()
        out.detach()


class _Ascii:
    """A text file that notes whether everything written to it was ASCII."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.ascii = True

    def write(self, text: str) -> int:
        self.ascii = self.ascii and text.isascii()
        return self.out.write(text)


def _refuse_incomplete(people: SubscriberList, problems: list[Problem], outcome: str) -> None:
    """An export that silently left out rows would lose them for whoever relies on it."""
    if problems:
        raise SubscriberError(
            f"{people.path}: {describe(problems)}; {outcome}",
            "Fix those lines (`digest subscribers validate` lists them all), then export again.",
        )
