"""`digest preview`: render the next issue to files and look at it."""

from __future__ import annotations

import json
import logging
import webbrowser
from pathlib import Path

import click

from ..pipeline import preview_issue
from .common import CONTEXT, config_option, get_config, since_option, source_progress

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
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML in your browser.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def preview(
    list_name: str | None, out: Path, since_text: str | None, open_browser: bool, as_json: bool
) -> None:
    """Render the next issue to files, without sending or recording anything.

    Writes LIST-DATE.html, .txt and .eml (a complete email any mail client opens) into --out,
    then prints the paths, the HTML size and the article count.

    \b
    Examples:
      digest preview
      digest preview --list daily --out /tmp/preview --open
      digest preview --since 2026-11-01
    """
    config = get_config(click.get_current_context())
    lst = config.get_list(list_name)
    since = since_option(since_text, lst.zone)
    with source_progress("Reading sources", enabled=True) as progress:
        result = preview_issue(config, lst, out, since=since, progress=progress)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for path in result.paths:
            click.echo(str(path))
        plural = "" if result.articles == 1 else "s"
        click.echo(
            f"{result.articles} article{plural}, HTML {result.html_bytes / 1000:.1f} KB"
            + (f", {result.omitted} left out for size" if result.omitted else "")
        )
    for warning in result.warnings:
        log.warning("%s", warning)
    if open_browser:
        webbrowser.open(result.paths[0].resolve().as_uri())
