"""`digest init`: a new, working newsletter folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..scaffold import scaffold
from .common import CONTEXT


@click.command(context_settings=CONTEXT)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--list", "list_name", default="daily", show_default=True, help="Name of the list.")
@click.option("--title", help="The newsletter's title (default: from the folder name).")
def init(directory: Path, list_name: str, title: str | None) -> None:
    """Create a new, working newsletter folder.

    It holds a digest.toml, a templates/ folder that extends the built-in theme, an empty
    subscriber list and an articles/ folder with one example article.

    \b
    Example:
      digest init my-briefing && cd my-briefing && digest preview --open
    """
    created = scaffold(directory, list_name=list_name, title=title)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nNext: cd {directory} && digest preview --open")
