"""`digest subscribers ...`: manage a list's CSV file safely from the command line."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from ..errors import SubscriberError
from ..pipeline.changes import apply_pending
from ..subscribers import (
    AUTO,
    STATUSES,
    Census,
    ImportReport,
    Problem,
    Subscriber,
    SubscriberList,
    describe,
    export_rows,
    format_time,
    suggest,
)
from ..subscribers.charsets import display
from ..subscribers.csvfile import atomic_write
from ..subscribers.plaintext import printable
from .common import CONTEXT, DigestGroup, config_option, get_config


def _list_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--list",
        "-l",
        "list_name",
        metavar="NAME",
        help="The list to work on (default: the first list in digest.toml).",
    )(f)


def _open_list(list_name: str | None, *, strict: bool = True) -> SubscriberList:
    """The list, with the unsubscribe clicks `digest serve` recorded written into it first,
    so every command sees the file as the readers left it. Clicks the file cannot take yet (a
    broken row, a lock held too long) stop the command (`strict`) rather than show readers
    as subscribed who are not: they are kept, and written once the file is fixed."""
    config = get_config(click.get_current_context())
    lst = config.get_list(list_name)
    applied = apply_pending(config, lst)
    if applied.error and strict:
        raise SubscriberError(
            f"{lst.subscribers}: unsubscribe clicks recorded by digest serve cannot be written "
            f"into it yet ({applied.error})",
            "Fix the file (`digest subscribers validate` shows what is wrong); the clicks are "
            "kept and written then, and sends leave those readers out meanwhile.",
        )
    return SubscriberList(lst.subscribers)


def _status_option(help_text: str) -> Callable[..., Any]:
    return click.option("--status", "-s", type=click.Choice(STATUSES), default=None, help=help_text)


def _record(s: Subscriber) -> dict[str, Any]:
    return {
        "email": s.email,
        "name": s.name,
        "status": s.status,
        "subscribed_at": format_time(s.subscribed_at) or None,
        "unsubscribed_at": format_time(s.unsubscribed_at) or None,
        "topics": list(s.topics),
        "timezone": s.timezone or None,
        "extra": dict(s.extra),
    }


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def subscribers() -> None:
    """Manage the readers of a list, kept in its CSV file (see `subscribers` in digest.toml).

    Every change is made under a lock and written atomically; rows a command does not touch
    stay byte for byte as they were, and a file with a broken row is never rewritten.

    \b
    Examples:
      digest subscribers add reader@example.com --name "A Reader"
      digest subscribers import mailchimp-export.csv --dry-run
      digest subscribers count --list daily
    """


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("email")
@click.option("--name", "-n", default="", help="The reader's name.")
@click.option("--topics", "-t", default="", help="Topics, separated by semicolons.")
@click.option("--timezone", "-z", default="", help="An IANA time zone, e.g. Europe/Berlin.")
def add(list_name: str | None, email: str, name: str, topics: str, timezone: str) -> None:
    """Add a reader (refused if the address is already on the list).

    An address whose domain looks like a typo of a common one (bob@gmial.com) is added as
    typed, with a warning that suggests the likely one.

    \b
    Example:
      digest subscribers add ada@example.com --name "Ada Lovelace" --topics "world;science"
    """
    people = _open_list(list_name)
    sub = people.add(email, name=name, topics=topics.split(";"), timezone=timezone)
    click.echo(f"Added {sub.email} to {people.path}.")
    likely = suggest(sub.email)
    if likely is not None:
        click.echo(
            f"warning: did you mean {likely}? {sub.email} was added as typed; if it is a typo, "
            f"`digest subscribers remove {sub.email} --yes` takes it off again.",
            err=True,
        )


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("email")
def unsubscribe(list_name: str | None, email: str) -> None:
    """Mark a reader as unsubscribed (the row and its history stay).

    \b
    Example:
      digest subscribers unsubscribe ada@example.com
    """
    people = _open_list(list_name)
    _change_status(people, email, "unsubscribed", people.unsubscribe)


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("email")
def resubscribe(list_name: str | None, email: str) -> None:
    """Take a reader back who unsubscribed, bounced or complained (only on their request).

    \b
    Example:
      digest subscribers resubscribe ada@example.com
    """
    people = _open_list(list_name)
    _change_status(people, email, "subscribed", people.resubscribe)


def _change_status(
    people: SubscriberList, email: str, status: str, change: Callable[[str], Subscriber]
) -> None:
    """Say so when the reader already has the status; else change it and say what it is now."""
    before = people.get(email)
    if before is not None and before.status == status:
        click.echo(f"{before.email} is already {status}; nothing changed.")
        return
    sub = change(email)
    click.echo(f"{sub.email} is now {sub.status} in {people.path}.")


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("email")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def remove(list_name: str | None, email: str, yes: bool) -> None:
    """Delete a reader's row for good (to stop mail, `unsubscribe` is usually better).

    Asks first; without a terminal to ask on, it refuses unless --yes is given.

    \b
    Example:
      digest subscribers remove ada@example.com --yes
    """
    people = _open_list(list_name)
    if not yes:
        sub = people.get(email)
        if sub is None:
            raise SubscriberError(f"{people.path}: {email.strip()} is not on the list")
        if not sys.stdin.isatty():
            raise SubscriberError(
                f"not removing {sub.email} without confirmation (no terminal to ask on)",
                "Pass --yes to remove it.",
            )
        if not click.confirm(f"Remove {sub.email} ({sub.status}) from {people.path}?"):
            click.echo("Nothing removed.")
            return
    removed = people.remove(email)
    click.echo(f"Removed {removed.email} from {people.path}.")


@subscribers.command("list", context_settings=CONTEXT)
@config_option
@_list_option
@_status_option("Only readers with this status.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of records.")
def list_(list_name: str | None, status: str | None, as_json: bool) -> None:
    """Print the readers of a list, one a line (address, status, name, topics).

    A row that cannot be read is left out with a warning, and the command then exits 1.

    \b
    Examples:
      digest subscribers list --status subscribed
      digest subscribers list --json > readers.json
    """
    people = _open_list(list_name)
    problems: list[Problem] = []
    rows = (s for s in people.iter_all(problems) if status is None or s.status == status)
    if as_json:
        first = True
        click.echo("[", nl=False)
        for s in rows:
            click.echo(("\n  " if first else ",\n  ") + json.dumps(_record(s)), nl=False)
            first = False
        click.echo("\n]" if not first else "]")
    else:
        for s in rows:  # a hand edit may have put a line break in a name: it stays one line
            cells = (s.email, s.status, s.name, ";".join(s.topics))
            click.echo("\t".join(printable(c) for c in cells))
    _fail_if_unreadable(people, len(problems), "listed")


def _fail_if_unreadable(people: SubscriberList, unreadable: int, what: str) -> None:
    """After showing what could be read: a script must notice that some rows could not be."""
    if unreadable:
        rows = "1 row" if unreadable == 1 else f"{unreadable} rows"
        raise SubscriberError(
            f"{people.path}: {rows} could not be read and {'is' if unreadable == 1 else 'are'} "
            f"not {what} (the warnings above name the lines)",
            "Run `digest subscribers validate` to see every problem, and fix those lines.",
        )


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def count(list_name: str | None, as_json: bool) -> None:
    """Count the people on a list by status.

    An address listed twice (in any case) is one person, who counts as stopped if any of
    their rows says unsubscribed, bounced or complained, as sending decides; the count says
    when it found more rows than people. A row that cannot be read is not counted, with a
    warning, and the command then exits 1.

    \b
    Example:
      digest subscribers count --list daily
    """
    people = _open_list(list_name)
    census = people.census()
    if as_json:
        click.echo(json.dumps(_census_record(census)))
    else:
        for status, n in census.people.items():
            click.echo(f"{status:<13}{n:>9}")
        click.echo(f"{'total':<13}{census.total:>9}")
        if census.repeated:
            listed = (
                "1 address is listed"
                if census.repeated == 1
                else f"{census.repeated} addresses are listed"
            )
            click.echo(
                f"{_people(census.total)} in {census.row_total} rows: {listed} more than once "
                "(`digest subscribers validate` names the lines)"
            )
    _fail_if_unreadable(people, census.unreadable, "counted")


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _census_record(census: Census) -> dict[str, Any]:
    """People by status and their total; when there are more rows than people, the rows too;
    and how many rows could not be read, when some could not."""
    record: dict[str, Any] = {**census.people, "total": census.total}
    if census.repeated:
        record["rows"] = {**census.rows, "total": census.row_total}
        record["listed_more_than_once"] = census.repeated
    if census.unreadable:
        record["unreadable_rows"] = census.unreadable
    return record


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


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate(list_name: str | None, as_json: bool) -> None:
    """Check every row of a list file and report each problem with its line; changes nothing.
    Exits 1 if there is any problem.

    \b
    Example:
      digest subscribers validate --list daily
    """
    people = _open_list(list_name, strict=False)
    problems = people.validate()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "file": str(people.path),
                    "problems": [{"line": p.line, "message": p.message} for p in problems],
                }
            )
        )
    else:
        for p in problems:
            click.echo(f"{people.path}: {p}")
        if not problems:
            click.echo(f"{people.path}: no problems.")
        else:
            click.echo(f"{len(problems)} problem(s).", err=True)
    if problems:
        sys.exit(1)
