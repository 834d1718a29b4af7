"""`digest subscribers ...`: manage a list's CSV file safely from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from ..errors import SubscriberError
from ..pipeline.changes import apply_pending
from ..subscribers import (
    STATUSES,
    ImportReport,
    Problem,
    Subscriber,
    SubscriberList,
    describe,
    export_rows,
    format_time,
)
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

    \b
    Example:
      digest subscribers add ada@example.com --name "Ada Lovelace" --topics "world;science"
    """
    people = _open_list(list_name)
    sub = people.add(email, name=name, topics=topics.split(";"), timezone=timezone)
    click.echo(f"Added {sub.email} to {people.path}.")


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

    \b
    Examples:
      digest subscribers list --status subscribed
      digest subscribers list --json > readers.json
    """
    people = _open_list(list_name)
    rows = (s for s in people.iter_all() if status is None or s.status == status)
    if as_json:
        first = True
        click.echo("[", nl=False)
        for s in rows:
            click.echo(("\n  " if first else ",\n  ") + json.dumps(_record(s)), nl=False)
            first = False
        click.echo("\n]" if not first else "]")
        return
    for s in rows:  # a hand edit may have put a line break in a name: it stays one line
        click.echo("\t".join(printable(c) for c in (s.email, s.status, s.name, ";".join(s.topics))))


@subscribers.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def count(list_name: str | None, as_json: bool) -> None:
    """Count the readers of a list by status.

    \b
    Example:
      digest subscribers count --list daily
    """
    people = _open_list(list_name)
    counts = people.count_by_status()
    total = sum(counts.values())
    if as_json:
        click.echo(json.dumps({**counts, "total": total}))
        return
    for status, n in counts.items():
        click.echo(f"{status:<13}{n:>9}")
    click.echo(f"{'total':<13}{total:>9}")


@subscribers.command("import", context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--update", is_flag=True, help="Also update names, topics and time zones.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_(list_name: str | None, file: Path, dry_run: bool, update: bool, as_json: bool) -> None:
    """Import readers from a CSV export (Excel, Google Sheets, Mailchimp, listmonk, ...).

    New addresses are added; known ones keep their name, topics and time zone unless
    --update. Someone who unsubscribed, bounced or complained is never taken back by an
    import, but an address the export marks as unsubscribed, bounced or complained (e.g. a
    Mailchimp unsubscribed or cleaned export) is marked so on the list too. Exits 1 if any
    row was invalid (the valid rows are still imported; the report names each one).

    \b
    Examples:
      digest subscribers import members_export.csv --dry-run
      digest subscribers import readers.csv --update --list weekly
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
            )
    else:
        report = people.import_file(file, update=update, dry_run=dry_run)
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
    for r in report.invalid:
        say(f"invalid: {report.source}: line {r.line}: {r.reason}")
    for line, first in report.duplicate_lines[:20]:
        say(f"duplicate: line {line} repeats line {first}")
    for line, email, status in report.not_resubscribed:
        say(
            f"not resubscribed: line {line}: {email} is {status} "
            "(use `digest subscribers resubscribe` if they asked)"
        )
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
def export(list_name: str | None, status: str | None, out: Path | None) -> None:
    """Export a list as CSV that is safe to open in a spreadsheet.

    Cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or
    carriage return, also after spaces or a quote) get a leading ' so they show as text.
    Exits 1 if a row of the list cannot be read (with --out, nothing is written then).

    \b
    Examples:
      digest subscribers export --status subscribed --out readers.csv
      digest subscribers export | head
    """
    people = _open_list(list_name)
    extra = people.extra_columns()
    problems: list[Problem] = []
    rows = (s for s in people.iter_all(problems) if status is None or s.status == status)
    if out is None:
        export_rows(rows, sys.stdout, extra)
        _refuse_incomplete(people, problems, "the export above lacks them")
        return
    try:
        with atomic_write(out) as f:
            n = export_rows(rows, f, extra)
            _refuse_incomplete(people, problems, f"{out} was not written")
    except OSError as exc:
        raise SubscriberError(
            f"{out}: cannot write the export ({exc.strerror or exc})",
            "Check that the folder exists as a folder, its permissions and free space.",
        ) from None
    click.echo(f"Wrote {n} rows to {out}.", err=True)


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
