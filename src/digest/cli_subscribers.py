"""`digest subscribers ...`: manage a list's CSV file safely."""

from __future__ import annotations

import click

from .cli_common import CONTEXT, DigestGroup, config_option


@click.group(cls=DigestGroup, context_settings=CONTEXT)
@config_option
def subscribers() -> None:
    """Manage the readers of a list (placeholder until issue 3 lands).

    \b
    Example:
      digest subscribers add reader@example.com --name "A Reader"
    """
