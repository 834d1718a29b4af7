"""`digest subscribers ...`: manage a list's CSV file safely from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ..errors import SubscriberError
from ..pipeline.changes import apply_pending
from ..subscribers import (
    STATUSES,
    Census,
    Problem,
    Subscriber,
    SubscriberList,
    format_time,
    suggest,
)
from ..subscribers.plaintext import printable
from .common import CONTEXT, Choice, DigestGroup, config_option, get_config


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
    return click.option("--status", "-s", type=Choice(STATUSES), default=None, help=help_text)


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


# import and export live in their own module; importing it registers them.
from . import subscribers_io  # noqa: E402, F401
