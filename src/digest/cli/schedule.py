"""`digest schedule` (the daemon, or `--show` its next runs) and `digest run-due` (one pass,
for cron or a systemd timer)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..config import Config, ListConfig
from ..pipeline.waves import zone_census
from ..schedule import Daemon, RunLog, grace_for, next_runs, run_due, trigger_for
from ..schedule.daemon import SchedulerBusy, schedule_lock
from ..waves import plan
from .common import (
    CONTEXT,
    config_option,
    get_config,
    log_file_option,
    now_option,
    service_logging,
)


@click.command(context_settings=CONTEXT)
@config_option
@click.option(
    "--show",
    is_flag=True,
    help="Print each list's next three run times (a reader-local list: its waves) and exit.",
)
@click.option("--json", "as_json", is_flag=True, help="With --show: print them as JSON.")
@click.option("--now", "now_text", metavar="WHEN", help="With --show: after WHEN (ISO time).")
@log_file_option
@click.option(
    "--force",
    is_flag=True,
    help="Send a list paused for complaints anyway: its next issue goes out (a later pause "
    "holds again).",
)
def schedule(
    show: bool, as_json: bool, now_text: str | None, log_file: Path | None, force: bool
) -> None:
    """Send each list at its send_at, in its time zone, once a day (runs until stopped).

    send_at is "07:00" or a cron expression ("0 7 * * 1-5": weekdays). A run missed while
    the daemon or the machine was down is sent when it is back within grace_hours (default
    6), and reported
    as missed (not sent late) after that. The send ledger decides: a day's issue is never sent
    twice, across restarts and clock changes. SIGTERM or Ctrl-C lets the batch in flight
    finish and exits.

    A list whose last issue drew complaints from more than 0.3% of its readers is paused:
    its runs are recorded as paused, and the log says why once a day. --force lets its next
    issue go out anyway.

    \b
    Examples:
      digest schedule --show            # the next three runs of each list (and its waves)
      digest schedule --log-file digest.log
      digest schedule -v                # as a service (see docs/deploy.md)
      digest schedule --force           # a list paused for complaints sends its next issue
    """
    config = get_config(click.get_current_context())
    if show:
        _show(config, now_option(now_text), as_json)
        return
    service_logging(log_file)
    Daemon(config, force=force).run()


def _show(config: Config, now: datetime, as_json: bool) -> None:
    rows = [_show_row(config, lst, now) for lst in config.lists.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for lst, row in zip(config.lists.values(), rows, strict=True):
        hours = row["grace_hours"]
        local = ", each reader in their own zone" if lst.reader_local else ""
        click.echo(f"{row['list']}: {row['send_at']} {row['timezone']}{local} (grace {hours:g} h)")
        for o in next_runs(lst, now, 3, _zones(lst)):
            day = f"   first wave of {o.day}" if lst.reader_local else ""
            click.echo(f"  {o.at:%a %Y-%m-%d %H:%M %Z}   {o.utc:%Y-%m-%d %H:%M} UTC{day}")
        if not row["next"]:
            click.echo("  (no run time ahead)")
        if row["waves"]:
            click.echo(f"  waves of {row['next'][0]['day']}:")
            for w in row["waves"]:
                when = w["utc"][:16].replace("T", " ")
                zones = ", ".join(w["zones"])
                click.echo(f"    {when} UTC  {w['readers']:>9,} reader(s)  {zones}")
        last = row["last_run"]
        if last:
            click.echo(f"  last run: {last['day']} {last['outcome']}: {last['message']}")


def _show_row(config: Config, lst: ListConfig, now: datetime) -> dict[str, Any]:
    trigger_for(lst)  # a bad send_at is one line
    last = RunLog(config.state_dir).last(lst.name)
    zones = _zones(lst)
    upcoming = next_runs(lst, now, 3, zones)
    return {
        "list": lst.name,
        "send_at": lst.send_at,
        "timezone": lst.timezone,
        "grace_hours": grace_for(lst).total_seconds() / 3600,
        "next": [
            {
                "day": o.day.isoformat(),
                "local": o.at.isoformat(),
                "utc": o.utc.isoformat().replace("+00:00", "Z"),
            }
            for o in upcoming
        ],
        "deliver": lst.deliver,
        "waves": [
            {
                "utc": w.at.isoformat().replace("+00:00", "Z"),
                "zones": list(w.zones),
                "readers": w.readers,
            }
            for w in (plan(lst, upcoming[0].day, zones) if zones and upcoming else [])
        ],
        "last_run": last.__dict__ if last else None,
    }


def _zones(lst: ListConfig) -> dict[str, int]:
    """A reader-local list's readers per zone; nothing for a list sent at one hour."""
    return dict(zone_census(lst)) if lst.reader_local else {}


@click.command("run-due", context_settings=CONTEXT)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print what was sent as JSON.")
@click.option("--now", "now_text", metavar="WHEN", hidden=True, help="Act as if it were WHEN.")
@log_file_option
@click.option(
    "--force", is_flag=True, help="Send what is due even for a list paused for complaints."
)
def run_due_command(
    as_json: bool, now_text: str | None, log_file: Path | None, force: bool
) -> None:
    """Send whatever is due now, by the rules of `digest schedule`, and exit.

    For cron or a systemd timer instead of the daemon; safe to run every few minutes: a day's
    issue is sent once, an interrupted send is resumed. Exits 1 if a run failed or was paused
    (the list's last issue drew complaints from more than 0.3% of its readers; --force sends
    anyway), or a reader's copy failed or is unknown.

    \b
    Examples:
      digest run-due
      */5 * * * * cd /srv/briefing && digest run-due --log-file digest.log   # crontab
      digest run-due --force            # send what is due, paused for complaints or not
    """
    config = get_config(click.get_current_context())
    service_logging(log_file)
    for lst in config.lists.values():
        trigger_for(lst)
    now = now_option(now_text)
    try:
        with schedule_lock(config.state_dir):
            reports = run_due(config, now, force=force)
    except SchedulerBusy as exc:
        logging.getLogger(__name__).warning("%s; it sends what is due", exc.message)
        return
    failed = _failed_runs(config, now)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in reports], indent=2, default=str))
    else:
        for r in reports:
            click.echo(f"{r.list_name}: {r.message}")
        if not reports and not failed:
            click.echo("nothing is due")
    for line in failed:
        click.echo(line, err=True)
    if failed or any(r.problems for r in reports):
        raise SystemExit(1)


def _failed_runs(config: Config, now: datetime) -> list[str]:
    """This pass's failed and paused runs (from the runs file), one line each."""
    runs = RunLog(config.state_dir)
    out = []
    for name in config.lists:
        last = runs.last(name)
        if (
            last
            and last.outcome in ("failed", "paused")
            and datetime.fromisoformat(last.started) == now
        ):
            out.append(f"{name}: run for {last.day} {last.outcome}: {last.message}")
    return out
