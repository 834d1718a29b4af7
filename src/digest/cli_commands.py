"""`digest init`, `digest preview` and `digest summarise`: make, look at, and try a newsletter."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from .cli_common import CONTEXT, config_option, get_config
from .errors import SourceError
from .local import read_article
from .summarise import summarise as summarise_article


@click.command(context_settings=CONTEXT)
@config_option
@click.argument("path_or_url")
@click.option(
    "--paragraphs",
    "-n",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="How many lead paragraphs to pick.",
)
@click.option(
    "--words",
    type=click.IntRange(min=10),
    default=90,
    show_default=True,
    help="Word budget for the whole lead.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole article record as JSON.")
def summarise(path_or_url: str, paragraphs: int, words: int, as_json: bool) -> None:
    """Print the lead paragraphs of one article (a .txt, .md or .html file, or a URL).

    \b
    Examples:
      digest summarise examples/articles/nato-permanent-presence.txt
      digest summarise https://example.com/story.html --paragraphs 1 --json
    """
    if path_or_url.startswith(("http://", "https://")):
        from .fetch_article import fetch_article

        article = fetch_article(path_or_url)
    else:
        path = Path(path_or_url)
        if not path.exists():
            raise SourceError(f"{path}: no such file", "Give the path of an article file or a URL.")
        article = read_article(path)
    article = summarise_article(article, max_paragraphs=paragraphs, max_words=words)
    if as_json:
        record = asdict(article)
        record["published"] = article.published.isoformat() if article.published else None
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(article.lead))


@click.command(context_settings=CONTEXT)
@config_option
def preview() -> None:
    """Render the next issue to files without sending anything.

    \b
    Example:
      digest preview --list daily --open
    """
    get_config(click.get_current_context())


@click.command(context_settings=CONTEXT)
@click.argument("directory", type=click.Path(path_type=Path))
def init(directory: Path) -> None:
    """Create a new newsletter folder.

    \b
    Example:
      digest init my-briefing
    """
