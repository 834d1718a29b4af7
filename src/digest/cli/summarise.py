"""`digest summarise`: the lead digest would pick for one article file or web page."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import LEAD_PARAGRAPHS, LEAD_WORDS, LeadSettings, find_config
from ..errors import SourceError
from ..sources import fetch_article, read_article
from ..summarise import summarise as summarise_article
from .common import CONTEXT, config_option, get_config


@click.command(context_settings=CONTEXT)
@config_option
@click.argument("path_or_url")
@click.option("--list", "-l", "list_name", metavar="NAME", help="Use this list's lead settings.")
@click.option(
    "--paragraphs",
    "-n",
    type=click.IntRange(min=1),
    help=f"How many lead paragraphs to pick (default: the list's, else {LEAD_PARAGRAPHS}).",
)
@click.option(
    "--words",
    type=click.IntRange(min=10),
    help=f"Word budget for the whole lead (default: the list's, else {LEAD_WORDS}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole article record as JSON.")
def summarise(
    path_or_url: str,
    list_name: str | None,
    paragraphs: int | None,
    words: int | None,
    as_json: bool,
) -> None:
    """Print the lead paragraphs of one article (a .txt, .md or .html file, or a URL).

    In a newsletter folder (or with --config) the list's `paragraphs` and `lead_words`
    settings apply unless --paragraphs and --words say otherwise.

    \b
    Examples:
      digest summarise examples/articles/nato-permanent-presence.txt
      digest summarise https://example.com/story.html --paragraphs 1 --json
    """
    if path_or_url.startswith(("http://", "https://")):
        article = fetch_article(path_or_url)
    else:
        path = Path(path_or_url)
        if not path.exists():
            raise SourceError(f"{path}: no such file", "Give the path of an article file or a URL.")
        article = read_article(path)
    ctx = click.get_current_context()
    lead = LeadSettings()
    if ctx.meta.get("digest.config") or find_config().exists() or list_name:
        lead = get_config(ctx).get_list(list_name).lead
    lead = LeadSettings(paragraphs or lead.paragraphs, words or lead.words)
    article = summarise_article(article, lead)
    if as_json:
        record = asdict(article)
        record["published"] = article.published.isoformat() if article.published else None
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(article.lead))
