"""`digest subscribers sync-suppressions`: SendGrid's suppression lists into a list's file, for
senders without a public web server; and the report both it and `digest bounces scan` print."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from ..deliver.suppressions import pull_suppressions
from ..subscribers import SubscriberList
from ..subscribers.stops import Found, Tally, apply_stops
from .common import CONTEXT, config_option, get_config
from .subscribers import _list_option, _open_list, subscribers

BLOCKS_NOTE = (
    "blocks are counted only: a block is often temporary (a full mailbox, a server's spam "
    "filter), and SendGrid retries and lifts it"
)


@subscribers.command("sync-suppressions", context_settings=CONTEXT)
@config_option
@_list_option
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def sync_suppressions(list_name: str | None, dry_run: bool, as_json: bool) -> None:
    """Mark the readers SendGrid suppresses: bounces and invalid addresses become bounced, spam
    reports complained, global (and `asm_group_id` group) unsubscribes unsubscribed.

    Reads every page of each suppression list through SendGrid's API ([delivery.sendgrid]
    host, the key from SENDGRID_API_KEY) and changes only addresses on the list. A stronger
    stop is never replaced (complained > bounced > unsubscribed), so a second run changes
    nothing. Blocks are counted, not applied: they are often temporary.

    \b
    Example:
      SENDGRID_API_KEY=SG.xxx digest subscribers sync-suppressions --list daily --dry-run
    """
    config = get_config(click.get_current_context())
    people = _open_list(list_name)
    pulled = pull_suppressions(config.delivery.sendgrid)
    found = [Found(p.kind.name, p.kind.status, p.emails) for p in pulled if p.kind.status]
    blocks = sum(len(p.emails) for p in pulled if p.kind.status is None)
    tallies = apply_stops(people, found, dry_run=dry_run)
    source = f"SendGrid ({config.delivery.sendgrid.host})"
    report(people, source, tallies, dry_run=dry_run, as_json=as_json, counted={"blocks": blocks})
    if not as_json:
        click.echo(f"{blocks} block(s) found; {BLOCKS_NOTE}.")


def report(
    people: SubscriberList,
    source: str,
    tallies: Sequence[Tally],
    *,
    dry_run: bool,
    as_json: bool,
    counted: dict[str, int],
) -> None:
    """Counts per kind: found, changed (or would change), already so, not on the list."""
    changed = sum(t.changed for t in tallies)
    if as_json:
        kinds = [
            {
                "kind": t.kind,
                "status": t.status,
                "found": t.found,
                "changed": t.changed,
                "already": t.already,
                "not_on_list": t.not_on_list,
            }
            for t in tallies
        ]
        data = {
            "file": str(people.path),
            "source": source,
            "dry_run": dry_run,
            "kinds": kinds,
            "counted_only": counted,
            "changed": changed,
        }
        click.echo(json.dumps(data))
        return
    verb = "would change" if dry_run else "changed"
    click.echo(f"{people.path}: from {source}")
    width = max((len(f"{t.kind} → {t.status}") for t in tallies), default=4)
    click.echo(f"  {'kind':<{width}}  {'found':>6}  {verb:>12}  {'already':>7}  not on the list")
    for t in tallies:
        name = f"{t.kind} → {t.status}"
        click.echo(
            f"  {name:<{width}}  {t.found:>6}  {t.changed:>12}  {t.already:>7}  {t.not_on_list:>15}"
        )
    if dry_run:
        click.echo(f"Dry run: {changed} reader(s) would change; nothing was written.")
    else:
        click.echo(f"{changed} reader(s) changed.")
