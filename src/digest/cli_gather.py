"""`digest gather` and `digest sources check`: the next issue, and the health of each source."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from .cli_common import CONTEXT, DigestGroup, config_option, get_config, source_progress
from .config import Config
from .gather import check_sources
from .gather import gather as gather_articles
from .identity import redact
from .state import SourceHealth

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """`2d`, `12h`, `30m`, `1w`, an ISO date (midnight in the list's time zone) or date-time."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a time span nor an ISO date",
            param_hint="--since",
        ) from None
    if len(value.strip()) == 10:  # a bare date
        dt = datetime.combine(dt.date(), time(0), tzinfo=zone)
    elif dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if dt else "-"


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--list", "-l", "list_name", help="The list to gather for (default: the first).")
@click.option(
    "--since",
    "since_text",
    metavar="WHEN",
    help="Take feed items published since WHEN: 2d, 12h, 30m, 1w, or an ISO date or "
    "date-time (in the list's time zone). Default: since the last sent issue, at least "
    "the look-back.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the articles and problems as JSON.")
@click.pass_context
def gather(
    ctx: click.Context, list_name: str | None, since_text: str | None, as_json: bool
) -> None:
    """Print what the next issue would contain, in order, with source and lead.

    Fetches every source of the list (feeds with a conditional GET), keeps what is recent and
    not yet sent to this list, one copy of each item, newest first. Nothing is marked sent.
    Problems with single sources are reported and the rest goes on.

    \b
    Examples:
      digest gather --list daily
      digest gather --since 2d --json
    """
    config = get_config(ctx)
    lst = config.get_list(list_name)
    since = parse_since(since_text, lst.zone) if since_text else None
    with source_progress("Fetching sources", not as_json) as progress:
        result = gather_articles(config, lst, since=since, progress=progress)
    if as_json:
        record = {
            "list": lst.name,
            "since": result.since.isoformat() if result.since else None,
            "articles": [
                {
                    "id": a.id,
                    "title": a.title,
                    "source": redact(a.source),
                    "url": a.url,
                    "published": a.published.isoformat() if a.published else None,
                    "author": a.author,
                    "image": a.image,
                    "lead": list(a.lead),
                }
                for a in result.articles
            ],
            "problems": list(result.problems),
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{lst.title}: {len(result.articles)} article(s) for the next issue "
        f"(feed items since {_when(result.since)})"
    )
    for n, a in enumerate(result.articles, 1):
        click.echo(f"\n{n}. {a.title}")
        click.echo(
            f"   {redact(a.source)} · {_when(a.published)}" + (f" · {a.url}" if a.url else "")
        )
        for p in a.lead:
            click.echo(textwrap.fill(p, width=96, initial_indent="   ", subsequent_indent="   "))
    if result.problems:
        click.echo(f"\n{len(result.problems)} source problem(s), logged above.", err=True)


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def sources() -> None:
    """Inspect the configured sources.

    \b
    Example:
      digest sources check
    """


def _short(location: str, config: Config) -> str:
    """A file or folder inside the newsletter folder, named relative to it."""
    if location.startswith(("http://", "https://")):
        return redact(location)
    try:
        return str(Path(location).relative_to(config.root))
    except ValueError:
        return location


def _text_kind(h: SourceHealth) -> str:
    if h.kind == "folder":
        return "full text (files)"
    if h.items == 0:
        return "-"
    if h.teasers == 0:
        return "full text"
    if h.teasers == h.items:
        return "teasers"
    return f"mixed ({h.teasers}/{h.items} teasers)"


@sources.command(context_settings=CONTEXT)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print each source's health as JSON.")
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Read every source now and print its health.

    For each source: the last status (HTTP code, 304, file or folder), the last success, how
    many items it holds, how many lack a date, whether it gives full text or teasers, and why
    it failed. Exits with status 1 when any source failed, so it can run from cron.

    \b
    Examples:
      digest sources check
      digest sources check --json
    """
    config = get_config(ctx)
    with source_progress("Checking sources", not as_json) as progress:
        health = check_sources(config, progress=progress)
    if as_json:
        records = [
            {**h.to_json(), "name": redact(h.name), "location": redact(h.location)} for h in health
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        table = Table(title=f"Sources of {config.path}", title_justify="left", expand=False)
        for column in ("Source", "Status", "Last success", "Items", "Undated", "Text", "Problem"):
            table.add_column(column, overflow="fold")
        for h in health:
            name = redact(h.name)
            where = name if h.name == h.location else f"{name}\n{_short(h.location, config)}"
            if h.feed_url:
                where += f"\nfeed found at {h.feed_url}"
            table.add_row(
                where,
                h.status,
                _when(h.last_success),
                str(h.items),
                str(h.missing_dates) if h.kind == "feed" else "-",
                _text_kind(h),
                h.problem or "",
            )
        Console(width=max(100, Console().width)).print(table)
    if any(h.status == "error" for h in health):
        ctx.exit(1)
