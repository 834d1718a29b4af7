"""The `digest` command line. Domain errors become one clear line and a non-zero exit here, and
only here; every command has help with an example."""

from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.logging import RichHandler

from .. import __version__
from .common import CONTEXT, DigestGroup, config_option

log = logging.getLogger("digest")


def _setup_logging(verbose: int, quiet: bool) -> None:
    """Warnings by default (skipped files, failed feeds), -v for progress, -vv for debug. On a
    terminal through rich; otherwise (a service, cron, a pipe) one plain line per record, never
    wrapped, so log files and journald get whole lines."""
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    console = Console(stderr=True)
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(
            console=console,
            show_time=False,
            show_path=False,
            markup=False,
            rich_tracebacks=False,
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
@click.option("-v", "--verbose", count=True, help="Say more (-vv for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(__version__, "-V", "--version", prog_name="digest")
def main(verbose: int, quiet: bool) -> None:
    """Gather recent articles, pick their leads and build a newsletter digest.

    Run it in a newsletter folder (one with a digest.toml), or point --config at one.

    \b
    Examples:
      digest init my-briefing        # a new newsletter folder
      digest preview --open          # render the next issue and look at it
      digest summarise article.html  # just the lead paragraphs of one article
    """
    _setup_logging(verbose, quiet)


def _register() -> None:
    from .gather import gather
    from .init import init
    from .preview import preview
    from .schedule import run_due_command, schedule
    from .send import send, status
    from .serve import serve
    from .sources import sources
    from .subscribers import subscribers
    from .summarise import summarise

    for cmd in (
        init,
        preview,
        summarise,
        gather,
        sources,
        send,
        status,
        subscribers,
        schedule,
        serve,
        run_due_command,
    ):
        main.add_command(cmd)


_register()


__all__ = ["main"]
