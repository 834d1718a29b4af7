"""`digest init`, `digest preview` and `digest summarise`: make, look at, and try a newsletter."""

from __future__ import annotations

import json
import logging
import webbrowser
from dataclasses import asdict
from pathlib import Path

import click

from .cli_common import CONTEXT, config_option, get_config, source_progress
from .cli_gather import parse_since
from .config import find_config
from .errors import SourceError
from .local import read_article
from .preview import write_preview
from .scaffold import scaffold
from .summarise import summarise as summarise_article

log = logging.getLogger(__name__)


@click.command(context_settings=CONTEXT)
@config_option
@click.argument("path_or_url")
@click.option("--list", "-l", "list_name", metavar="NAME", help="Use this list's lead settings.")
@click.option(
    "--paragraphs",
    "-n",
    type=click.IntRange(min=1),
    help="How many lead paragraphs to pick (default: the list's, else 2).",
)
@click.option(
    "--words",
    type=click.IntRange(min=10),
    help="Word budget for the whole lead (default: the list's, else 90).",
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
        from .fetch_article import fetch_article

        article = fetch_article(path_or_url)
    else:
        path = Path(path_or_url)
        if not path.exists():
            raise SourceError(f"{path}: no such file", "Give the path of an article file or a URL.")
        article = read_article(path)
    ctx = click.get_current_context()
    if ctx.meta.get("digest.config") or find_config().exists() or list_name:
        lst = get_config(ctx).get_list(list_name)
        paragraphs = paragraphs or lst.paragraphs
        words = words or lst.lead_words
    article = summarise_article(article, max_paragraphs=paragraphs or 2, max_words=words or 90)
    if as_json:
        record = asdict(article)
        record["published"] = article.published.isoformat() if article.published else None
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(article.lead))


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
    since = parse_since(since_text, lst.zone) if since_text else None
    with source_progress("Reading sources", enabled=True) as progress:
        result = write_preview(config, lst, out, since=since, progress=progress)
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
