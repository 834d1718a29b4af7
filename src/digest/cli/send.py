"""`digest send` and `digest status`: deliver today's issue with the ledger, and read the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..config.delivery import BACKENDS
from ..deliver.send import SendOptions, Tally
from ..errors import DigestError
from ..list_health import (
    BOUNCE_WARNING,
    COMPLAINT_PAUSE,
    COMPLAINT_WARNING,
    IssueHealth,
    Pause,
    issue_health,
    limit,
    pause_for,
    percent,
)
from ..pipeline import SendRequest, send_issue
from ..pipeline.health import last_issue_health
from ..pipeline.waves import waiting_line
from ..schedule.runs import RunLog
from ..state import open_state
from ..state.sends import DeliveryCounts, is_sandbox
from .common import CONTEXT, Choice, config_option, get_config, since_option, when_text
from .table import Row, table, term_width, wrap


@contextmanager
def _progress(enabled: bool) -> Iterator[object]:
    """A live count on stderr while batches go out (only on a terminal)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sending", total=None)

        def update(t: Tally) -> None:
            bar.update(task, description=f"sent {t.sent}, failed {t.failed}, unknown {t.unknown}")

        yield update


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--list", "-l", "list_name", metavar="NAME", help="The list (default: the first).")
@click.option(
    "--backend", "-b", type=Choice(BACKENDS), help="The sender (default: from digest.toml)."
)
@click.option(
    "--dry-run", is_flag=True, help="Build the issue and count its readers; send nothing."
)
@click.option(
    "--since",
    "since_text",
    metavar="WHEN",
    help="For a new issue, take feed items published since WHEN (2d, 12h, or an ISO date) "
    "instead of since the last sent issue.",
)
@click.option("--sandbox", is_flag=True, help="SendGrid's sandbox mode: checked, not delivered.")
@click.option("--to", metavar="ADDRESS", help="Send one test copy to ADDRESS, outside the ledger.")
@click.option("--new-issue", is_flag=True, help="Start another issue today instead of resuming.")
@click.option("--retry-failed", is_flag=True, help="Try the readers whose copy failed again.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again to readers whose batch may or may not have gone out (they may get two).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Send even though the list is paused: its last issue drew more than 0.3% complaints "
    "(see `digest status`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def send(
    list_name: str | None,
    backend: str | None,
    dry_run: bool,
    since_text: str | None,
    sandbox: bool,
    to: str | None,
    new_issue: bool,
    retry_failed: bool,
    resend_unknown: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Send today's issue of a list to every subscribed reader who does not have it yet.

    The first send of the day freezes the issue in the ledger; running it again resumes that
    issue (a killed send finishes the readers it missed) and never mails anyone twice. Readers
    whose batch may have gone out when a send died are reported as unknown and sent again only
    with --resend-unknown. Exits 1 if a reader failed or is unknown.

    A list whose last issue drew complaints from more than 0.3% of its readers is paused: a
    new issue is refused (exit 1) until you have looked at why, and --force sends it anyway.

    \b
    Examples:
      digest send                         # through [delivery] backend (default: the outbox)
      digest send --dry-run
      digest send --to me@example.com     # one test copy
      digest send --backend sendgrid --sandbox
      digest send --force                 # the list is paused for complaints: send anyway
    """
    config = get_config(click.get_current_context())
    lst = config.get_list(list_name)
    options = SendOptions(retry_failed=retry_failed, resend_unknown=resend_unknown)
    since = since_option(since_text, lst.zone)
    request = SendRequest(backend, dry_run, sandbox, to, new_issue, options, since, force=force)
    with _progress(not as_json) as progress:
        report = send_issue(config, lst, request, progress=progress)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(report.message + (f" in {report.seconds:.1f} s" if report.finished else ""))
        if report.backend == "outbox" and report.finished:
            click.echo(f"The messages are in {config.delivery.outbox / str(report.issue_id)}")
        for email, reason in report.tally.failures[:20]:
            click.echo(f"  {email}: {reason}", err=True)
    if report.problems:
        raise SystemExit(1)


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--list", "-l", "list_name", metavar="NAME", help="The list (default: the first).")
@click.option("--issue", "issue_id", metavar="ID", help="Only this issue, e.g. daily-2026-11-24.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def status(list_name: str | None, issue_id: str | None, as_json: bool) -> None:
    """Show the send ledger and the list's health.

    The ledger: each issue's readers by state, and who failed and why. The health, per issue
    that reached readers: sent, and what the provider reported (SendGrid's Event Webhook):
    delivered, deferred, bounced, complained, unsubscribed (digest's own link counted too),
    with the bounce and complaint rates over the readers sent to. A warning past 2% bounces
    or 0.1% complaints; past 0.3% complaints on the last issue the next send is paused
    (`digest send --force` sends anyway).

    \b
    Examples:
      digest status
      digest status --issue daily-2026-11-24 --json
    """
    config = get_config(click.get_current_context())
    lst = config.get_list(list_name)
    with open_state(config.state_dir) as state:
        ids = [issue_id] if issue_id else state.sends.issue_ids(lst.name)
        try:
            rows = [state.sends.counts(lst.name, i) for i in ids]
        except KeyError:
            raise DigestError(
                f"list {lst.name!r} has no issue {issue_id!r} in the ledger",
                "`digest status` without --issue lists its issues.",
            ) from None
        health = {
            r.issue_id: issue_health(
                lst.name, r.issue_id, r.counts["sent"], state.events.counts(lst.name, r.issue_id)
            )
            for r in rows
            if r.counts["sent"] and not is_sandbox(lst.name, r.issue_id)
        }
        # An unfinished issue (a waiting wave, a resumed send) is finished, never paused: the
        # pause is for the next new issue, judged without it.
        unfinished = state.sends.unfinished(lst.name)
        last = last_issue_health(state, lst.name, but=unfinished or "")
    pause = pause_for(last)
    if as_json:
        click.echo(
            json.dumps([_status_json(r, health, pause) for r in rows], indent=2, default=str)
        )
        return
    run = RunLog(config.state_dir).last(lst.name)
    # A scheduled run that never sent (a pause only while it holds: `send --force` lifts it).
    if run is not None and (run.outcome == "failed" or (run.outcome == "paused" and pause)):
        click.echo(
            f"last scheduled run ({run.day}, ended {run.ended}) {run.outcome}: {run.message}"
        )
    if not rows:
        click.echo(f"No issue of {lst.name!r} has been sent yet.")
    for r in rows:
        done = f"finished {when_text(r.finished_at)}" if r.finished_at else "not finished"
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items() if v or k == "sent")
        if r.nothing_for:
            counts += f", skipped {r.nothing_for}: nothing in their topics today"
        if r.renders > 1:
            counts += f"; {r.renders} renders for {len(r.variants)} selections"
        click.echo(f"{r.issue_id}: {counts} (started {when_text(r.started_at)}, {done})")
        if r.waiting:
            click.echo(f"  {waiting_line(r.waiting)}")
        for email, reason in r.failed:
            click.echo(f"  {email}: {reason}")
    if health:
        click.echo("")
        for line in _health_table(list(health.values())):
            click.echo(line)
    if pause is not None:
        click.echo("")
        which = f"After {unfinished} is finished, the next issue is" if unfinished else "Next send"
        for line in wrap(f"{which} paused: {pause.message}.", term_width(), indent=""):
            click.echo(line)
        for line in wrap(pause.hint, term_width()):
            click.echo(line)


HEALTH_HEADERS = ("issue", "sent", "delivered", "deferred", "bounced", "complained", "unsubs")


def _health_table(issues: list[IssueHealth]) -> list[str]:
    """The list's health, an issue a row (each rate beside its count), its warnings wrapped
    under it."""
    rows = [
        Row(
            [
                i.issue_id,
                f"{i.sent:,}",
                *(f"{n:,}" if i.reported else "-" for n in (i.delivered, i.deferred)),
                f"{i.bounced:,} ({percent(i.bounce_rate)})",
                f"{i.complained:,} ({percent(i.complaint_rate)})",
                f"{i.unsubscribed:,}",
            ],
            notes=[f"warning: {w}" for w in i.warnings],
        )
        for i in issues
    ]
    out = wrap(
        f"Health: rates over the readers sent to; a warning past {limit(BOUNCE_WARNING)} "
        f"bounces or {limit(COMPLAINT_WARNING)} complaints, the next send paused past "
        f"{limit(COMPLAINT_PAUSE)} complaints",
        term_width(),
        indent="",
    )
    out += table(HEALTH_HEADERS, rows, term_width(), shrink=[0], right=list(range(1, 7)))
    if not any(i.reported for i in issues):
        out += wrap(
            "(no provider events recorded: delivered, deferred, bounces and complaints come "
            "from SendGrid's Event Webhook, see docs/deploy.md)",
            term_width(),
        )
    return out


def _status_json(
    r: DeliveryCounts, health: dict[str, IssueHealth], pause: Pause | None
) -> dict[str, Any]:
    """An issue's ledger counts, and its health (None for a sandbox send or one that reached
    nobody); `pauses_next_send` on the issue the pause is about."""
    row = asdict(r)
    h = health.get(r.issue_id)
    row["health"] = h.as_json() if h else None
    if row["health"] is not None:
        row["health"]["pauses_next_send"] = pause is not None and pause.issue.issue_id == r.issue_id
    return row
