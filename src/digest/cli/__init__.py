"""The `digest` command line. Domain errors become one clear line and a non-zero exit here, and
only here; every command has help with an example."""

from __future__ import annotations

import click

from .. import __version__
from .common import CONTEXT, DigestGroup, add_verbosity, config_option


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
@click.version_option(__version__, "-V", "--version", prog_name="digest")
def main() -> None:
    """Gather recent articles, pick their leads and build a newsletter digest.

    Run it in a newsletter folder (one with a digest.toml), or point --config at one.

    \b
    Examples:
      digest init ~/my-briefing      # a new newsletter folder
      digest preview --open          # render the next issue and look at it
      digest summarise article.html  # just the lead paragraphs of one article
    """


def _register() -> None:
    from .bounces import bounces
    from .gather import gather
    from .init import init
    from .poll import poll
    from .preview import preview
    from .schedule import run_due_command, schedule
    from .send import send, status
    from .serve import serve
    from .sources import sources
    from .subscribers import subscribers
    from .summarise import summarise
    from .suppressions import sync_suppressions  # noqa: F401  (registers itself)

    for cmd in (
        init,
        preview,
        summarise,
        gather,
        sources,
        send,
        status,
        subscribers,
        bounces,
        schedule,
        serve,
        run_due_command,
        poll,
    ):
        main.add_command(cmd)
    # -v and -q on every command, before or after its name (`digest gather -v`); logging is
    # set up by their callbacks (`common.setup_logging`).
    add_verbosity(main)


_register()


__all__ = ["main"]
