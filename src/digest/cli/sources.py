"""`digest sources`: see the configured sources and change them without editing TOML by hand.

`check` reads every source now and prints its health; `list` shows what is configured; `add`
(a feed's URL, a page that links to one, or a feed file) and `remove` edit digest.toml through
`config.edit`, which keeps its comments and layout and refuses any edit that would not load;
`update-moved` writes the new URL of a feed that moved for good; `import-opml` and
`export-opml` move feeds to and from other feed readers (`sources.opml`).

The tables fit the terminal (80 columns and up): one line per source, names cut with "…" when
they must be, problems wrapped under their source, and URLs only where they help (`--wide`
shows them all, `--json` keeps every field).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from ..config import Config, SourceConfig
from ..models import SourceHealth
from ..pipeline import caught_by_polling, check_sources
from ..state import open_state
from ..urls import redact
from .common import CONTEXT, DigestGroup, config_option, get_config, source_progress
from .table import Row, table, term_width


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def sources() -> None:
    """See, check and change the configured sources.

    \b
    Examples:
      digest sources check                         # read every source now: is it healthy?
      digest sources list
      digest sources add https://example.org/      # finds the site's feed, checks it, adds it
      digest sources remove "Example feed"
      digest sources update-moved                  # write feeds' new URLs (301, 308)
      digest sources import-opml subscriptions.opml
      digest sources export-opml --out feeds.opml
    """


def _short(location: str, config: Config) -> str:
    """A file or folder inside the newsletter folder, named relative to it; a URL without its
    password."""
    if location.startswith(("http://", "https://")):
        return redact(location)
    try:
        return str(Path(location).relative_to(config.root))
    except ValueError:
        return location


# --- check ------------------------------------------------------------------------------------


def _text_kind(h: SourceHealth) -> str:
    if h.kind == "folder":
        return "files"
    if h.items == 0:
        return "-"
    if h.teasers == 0:
        return "full text"
    if h.teasers == h.items:
        return "teasers"
    return f"{h.teasers}/{h.items} teasers"


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if dt else "-"


def _health_rows(
    health: Sequence[SourceHealth],
    config: Config,
    wide: bool,
    caught: Mapping[str, int],
    moved: Mapping[str, str],
) -> list[Row]:
    rows = []
    for h in health:
        same = h.name == h.location
        row = Row(
            [
                _short(h.location, config) if same else redact(h.name),
                h.status,
                _when(h.last_success),
                str(h.items),
                str(caught[h.location]) if h.location in caught else "-",
                _text_kind(h),
            ]
        )
        if h.problem:
            row.notes.append(h.problem)
        if h.missing_dates:
            row.notes.append(f"{h.missing_dates} of {h.items} items have no date")
        if h.location in moved:
            row.notes.append(
                f"moved permanently to {redact(moved[h.location])}; `digest sources "
                "update-moved` writes it into digest.toml"
            )
        if not same and (wide or h.status in ("error", "gone")):
            row.lines.append(_short(h.location, config))
        if wide and h.feed_url:
            row.lines.append(f"feed found at {redact(h.feed_url)}")
        rows.append(row)
    return rows


@sources.command(context_settings=CONTEXT)
@config_option
@click.option("--wide", is_flag=True, help="Show every source's address, and cut nothing to fit.")
@click.option("--json", "as_json", is_flag=True, help="Print each source's health as JSON.")
@click.pass_context
def check(ctx: click.Context, wide: bool, as_json: bool) -> None:
    """Read every source now and print its health.

    One line per source: the last status (HTTP code, 304, file or folder), the last success
    (UTC), how many items it holds, how many only polling caught (`digest poll`: seen by a
    poll, gone from the feed before an issue read it, within keep_days), whether it gives
    full text or teasers; under it, why it
    failed or what is wrong with it, and the address of a source that failed. --wide shows
    every address and cuts nothing to fit; --json has every field (the count of undated
    items, the feed a page led to).
    Exits with status 1 when any source failed, so it can run from cron.

    \b
    Examples:
      digest sources check
      digest sources check --wide
      digest sources check --json
    """
    config = get_config(ctx)
    with source_progress("Checking sources", not as_json) as progress:
        health = check_sources(config, progress=progress)
    caught = caught_by_polling(config)
    if as_json:
        records = [
            {
                **h.to_json(),
                "caught_by_polling": caught.get(h.location, 0),
                "name": redact(h.name),
                "location": redact(h.location),
                "feed_url": redact(h.feed_url) if h.feed_url else None,
            }
            for h in health
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        headers = ("Source", "Status", "Last success (UTC)", "Items", "Polled", "Text")
        with open_state(config.state_dir) as state:
            moved = {k: p.moved_to for k, p in state.places.all().items() if p.moved_to}
        rows = _health_rows(health, config, wide, caught, moved)
        for line in table(headers, rows, term_width(), shrink=[0], right=[3, 4], wide=wide):
            click.echo(line)
        failed = sum(1 for h in health if h.status in ("error", "gone"))
        click.echo(f"{_count(len(health), 'source')}, {failed} failed.")
    if any(h.status in ("error", "gone") for h in health):
        ctx.exit(1)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --- list -------------------------------------------------------------------------------------


def _kind(s: SourceConfig) -> str:
    if s.kind == "folder":
        return "folder"
    return "feed" if s.is_remote else "file"


def _lists_of(config: Config, s: SourceConfig) -> list[str]:
    return [n for n, lst in config.lists.items() if lst.sources is None or s.name in lst.sources]


@sources.command("list", context_settings=CONTEXT)
@config_option
@click.option("--wide", is_flag=True, help="Cut no name or address to fit the terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
@click.pass_context
def list_command(ctx: click.Context, wide: bool, as_json: bool) -> None:
    """List the configured sources: name, kind, item cap and address. Reads nothing.

    \b
    Examples:
      digest sources list
      digest sources list --json
    """
    config = get_config(ctx)
    if as_json:
        records = [
            {
                "name": redact(s.name),
                "kind": _kind(s),
                "location": redact(s.location),
                "max_items": s.max_items,
                "full_text": s.full_text,
                "lists": _lists_of(config, s),
            }
            for s in config.sources
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if not config.sources:
        click.echo(f"No sources in {config.path}. Add one with `digest sources add URL`.")
        return
    rows = [
        Row(
            [
                redact(s.name),
                _kind(s),
                str(s.max_items) if s.max_items else "-",
                _short(s.location, config),
            ]
        )
        for s in config.sources
    ]
    headers = ("Name", "Kind", "Max", "Address")
    for line in table(headers, rows, term_width(), shrink=[0, 3], right=[2], wide=wide):
        click.echo(line)


# The commands that edit the sources live in their own modules; importing them registers them.
from . import sources_edit, sources_moved, sources_opml  # noqa: E402, F401
