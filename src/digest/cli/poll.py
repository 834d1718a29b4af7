"""`digest poll`: one round of polling between issues, for cron or a systemd timer (the daemon
of `digest schedule` polls by itself)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from ..pipeline import PollBusy, poll_sources
from ..urls import redact
from .common import (
    CONTEXT,
    config_option,
    get_config,
    log_file_option,
    now_option,
    service_logging,
    source_progress,
    when_text,
)


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--all", "every_source", is_flag=True, help="Read every polled source, due or not.")
@click.option("--json", "as_json", is_flag=True, help="Print what each source gave as JSON.")
@click.option("--now", "now_text", metavar="WHEN", hidden=True, help="Act as if it were WHEN.")
@log_file_option
def poll(every_source: bool, as_json: bool, now_text: str | None, log_file: Path | None) -> None:
    """Read each feed that is due, keep its items for the next issue, and exit.

    A busy feed keeps only its last 20 to 50 items, so a story can leave it between two
    issues; polled items stay in the state, and an issue takes every item seen since the
    list's last one. A feed is due every poll_minutes (default 60; per source, or for all in
    [newsletter]; 0: never polled), and never sooner than the feed's own hint (<ttl>,
    sy:updatePeriod, Cache-Control: max-age). Items older than keep_days (default 90) that no
    issue used are pruned. `digest schedule` polls by itself: this is for cron and timers.

    \b
    Examples:
      digest poll
      digest poll --json
      */10 * * * * cd /srv/briefing && digest poll --log-file digest.log   # crontab
    """
    config = get_config(click.get_current_context())
    service_logging(log_file)
    now = now_option(now_text)
    try:
        with source_progress("Polling sources", not as_json) as progress:
            result = poll_sources(config, now=now, every_source=every_source, progress=progress)
    except PollBusy as exc:
        logging.getLogger(__name__).warning("%s; it reads what is due", exc.message)
        return
    if as_json:
        record = result.as_json()
        for p in record["polled"]:  # type: ignore[union-attr]
            p["name"], p["location"] = redact(p["name"]), redact(p["location"])
        click.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    for p in result.polled:
        click.echo(f"{redact(p.name)}: {p.status}, {p.items} item(s), {p.new} new")
        for line in p.problems:
            click.echo(f"  {line}", err=True)
    for name, at in result.not_due:
        click.echo(f"{redact(name)}: not due until {when_text(at)}")
    if not result.polled and not result.not_due:
        click.echo("no feed source is polled (poll_minutes = 0, or no feeds)")
    if result.pruned:
        click.echo(f"pruned {result.pruned} item(s) older than {config.keep_days} days")
