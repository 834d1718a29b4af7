"""`digest gather` and `digest sources`: what the next issue would contain, and source health."""

from __future__ import annotations

import click

from .cli_common import CONTEXT, DigestGroup, config_option


@click.command(context_settings=CONTEXT)
@config_option
def gather() -> None:
    """Print what the next issue would contain (placeholder until issue 4 lands).

    \b
    Example:
      digest gather --list daily
    """
    raise click.ClickException("not implemented yet")


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def sources() -> None:
    """Inspect the configured sources.

    \b
    Example:
      digest sources check
    """
