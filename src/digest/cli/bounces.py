"""`digest bounces scan`: hard bounces from delivery status notifications (a Maildir folder or
an mbox file) into a list's file, for lists sent over SMTP."""

from __future__ import annotations

from pathlib import Path

import click

from ..dsn import scan as scan_folder
from ..subscribers import BOUNCED
from ..subscribers.stops import Found, apply_stops
from .common import CONTEXT, DigestGroup, config_option
from .subscribers import _list_option, _open_list
from .suppressions import report


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def bounces() -> None:
    """Bounce messages that came back to the sender's mailbox.

    \b
    Example:
      digest bounces scan ~/Maildir/.bounces --dry-run
    """


@bounces.command(context_settings=CONTEXT)
@config_option
@_list_option
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def scan(list_name: str | None, path: Path, dry_run: bool, as_json: bool) -> None:
    """Mark the readers whose mail hard bounced, from the delivery status notifications
    (RFC 3464) in PATH: a Maildir folder or an mbox file.

    A recipient whose report says `Action: failed` with a 5.x.x `Status` becomes bounced
    (only if on the list, and never replacing a complaint). Delayed and 4.x.x ones are
    counted only: the server may still deliver. Messages that are not such reports (out of
    office replies, free-text bounces) are skipped and counted. A second run changes nothing.

    \b
    Examples:
      digest bounces scan ~/Maildir/.bounces --list daily --dry-run
      digest bounces scan /var/mail/digest --json
    """
    people = _open_list(list_name)
    found = scan_folder(path)
    tallies = apply_stops(people, [Found("hard_bounces", BOUNCED, found.hard)], dry_run=dry_run)
    counted = {"soft": found.soft, "reports": found.reports, "not_reports": found.not_reports}
    report(people, str(path), tallies, dry_run=dry_run, as_json=as_json, counted=counted)
    if not as_json and found.reports + found.not_reports == 0:
        click.echo(
            f"warning: no messages in {path} (an mbox file starts each message with a "
            "`From ` line; a Maildir folder keeps them in cur/ and new/)",
            err=True,
        )
    if not as_json:
        click.echo(
            f"{found.reports} report(s) read, {found.not_reports} other message(s) skipped; "
            f"{found.soft} delayed or temporary failure(s) counted only."
        )
