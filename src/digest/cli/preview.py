"""`digest preview`: render the next issue to files and look at it."""

from __future__ import annotations

import json
import logging
import os
import webbrowser
from pathlib import Path

import click

from ..compose import Reader
from ..config import Config, ListConfig
from ..deliver import PreviewResult
from ..deliver.preview import reader_as
from ..pipeline import preview_selection
from ..pipeline.selections import topics_arg
from .common import CONTEXT, config_option, get_config, since_option, source_progress, when_text

log = logging.getLogger(__name__)


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--list", "-l", "list_name", metavar="NAME", help="The list (default: the first).")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Folder to write the preview files into.",
)
@click.option(
    "--since",
    "since_text",
    metavar="WHEN",
    help="Take feed items published since WHEN (2d, 12h, or an ISO date) instead of since the "
    "last sent issue.",
)
@click.option(
    "--as",
    "as_address",
    metavar="ADDRESS",
    help="Address the preview to this reader of the list: their name, and their own "
    "unsubscribe link (signed with DIGEST_SECRET).",
)
@click.option(
    "--topics",
    "topics_text",
    metavar="TOPICS",
    help='Show the issue as readers of these topics get it ("science;history", as in the '
    "list's topics column); with --as, instead of that reader's own topics.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML in your browser.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON, with the selections readers' topics make and how many "
    "readers get each.",
)
def preview(
    list_name: str | None,
    out: Path,
    since_text: str | None,
    as_address: str | None,
    topics_text: str | None,
    open_browser: bool,
    as_json: bool,
) -> None:
    """Render the next issue to files, without sending or recording anything.

    Writes LIST-DATE.html, .txt and .eml (a complete email any mail client opens) into --out,
    then prints the paths, the HTML size, the article count, and how many stories the issue
    has no room for (held over for a later issue, see hold_over_hours).

    \b
    Examples:
      digest preview
      digest preview --list daily --out /tmp/preview --open
      digest preview --as ada@example.com    # with Ada's name, link and topics
      digest preview --topics "science;history"
      digest preview --since 2026-11-01
    """
    config = get_config(click.get_current_context())
    lst = config.get_list(list_name)
    since = since_option(since_text, lst.zone)
    topics = topics_arg(topics_text) if topics_text is not None else None
    if topics_text is not None and not topics:
        raise click.BadParameter(
            'give one or more topics, e.g. "science;history"', param_hint="--topics"
        )
    reader = None
    if as_address is not None:
        reader, own = _reader(config, lst, as_address)
        topics = own if topics is None else topics
    with source_progress("Reading sources", enabled=True) as progress:
        result, selections = preview_selection(
            config,
            lst,
            out,
            since=since,
            progress=progress,
            reader=reader,
            topics=topics,
            count=as_json,
        )
    if as_json:
        assert selections is not None
        shown = {"topics": list(topics or ()), **selections.as_json()}
        click.echo(json.dumps({**result.as_json(), **shown}, indent=2, ensure_ascii=False))
    else:
        if topics:
            click.echo(f"As readers of the topics {';'.join(topics)} get it:")
        for path in result.paths:
            click.echo(str(path))
        for line in _summary(result, lst):
            click.echo(line)
    # result.warnings were logged as they arose: each source's problems when read (once per
    # change of its health), the size warnings when rendered.
    if open_browser:
        _open(result.paths[0])


def _reader(config: Config, lst: ListConfig, address: str) -> tuple[Reader, tuple[str, ...]]:
    """The reader `--as` names, with their own unsubscribe link, and their topics; warns as
    `digest send` does when that link cannot work."""
    secret = os.environ.get("DIGEST_SECRET", "")
    reader, sub = reader_as(config.base_url, secret, lst.name, lst.subscribers, address)
    missing = [
        n for n, ok in (("DIGEST_SECRET", secret), ("base_url", config.base_url_given)) if not ok
    ]
    if missing:
        log.warning(
            "%s not set: the unsubscribe link in this preview does not work (a real send "
            "through smtp or sendgrid needs it)",
            " and ".join(missing),
        )
    if not sub.active:
        log.warning(
            "%s is %s on list %s: a send does not reach them", sub.email, sub.status, lst.name
        )
    return reader, sub.topics


def _summary(result: PreviewResult, lst: ListConfig) -> list[str]:
    """The count lines: what the issue carries, and what it leaves for later or loses."""
    plural = "" if result.articles == 1 else "s"
    earlier = f" ({result.carried} held over from an earlier issue)" if result.carried else ""
    size = f", {result.omitted_for_size} left out for size" if result.omitted_for_size else ""
    lines = [
        f"{result.articles} article{plural}{earlier}, HTML {result.html_bytes / 1000:.1f} KB{size}"
    ]
    if result.held_over:
        until = result.held_until
        kept = f"the oldest is kept until {when_text(until)}" if until else "kept until sent"
        lines.append(f"{len(result.held_over)} held over for a later issue ({kept})")
    if result.dropped:
        lines.append(
            f"{result.dropped} left out of an earlier issue and now older than "
            f"hold_over_hours = {lst.hold_over_hours}: dropped"
        )
    return lines


def _open(path: Path) -> None:
    """Open the HTML in the browser Python finds (BROWSER, else the desktop's); say so when
    there is none (a server, a container, an SSH session)."""
    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        opened = False
    if not opened:
        click.echo(f"No web browser was found to open {path}; open it yourself.", err=True)
