"""`digest sources check`: read every source now and print its health."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..config import Config
from ..models import SourceHealth
from ..pipeline import check_sources
from ..urls import redact
from .common import CONTEXT, DigestGroup, config_option, get_config, source_progress, when_text


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
                when_text(h.last_success),
                str(h.items),
                str(h.missing_dates) if h.kind == "feed" else "-",
                _text_kind(h),
                h.problem or "",
            )
        Console(width=max(100, Console().width)).print(table)
    if any(h.status == "error" for h in health):
        ctx.exit(1)
