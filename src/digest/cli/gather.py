"""`digest gather`: what the next issue would contain, in order, with source and lead."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

import click

from ..models import Article, Coverage
from ..pipeline import gather as gather_articles
from ..urls import redact
from .common import CONTEXT, config_option, get_config, since_option, source_progress, when_text


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--list", "-l", "list_name", help="The list to gather for (default: the first).")
@click.option(
    "--since",
    "since_text",
    metavar="WHEN",
    help="Take feed items published since WHEN: 2d, 12h, 30m, 1w, or an ISO date or "
    "date-time (in the list's time zone). Default: since the last sent issue, at least "
    "the look-back.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the articles and problems as JSON.")
@click.pass_context
def gather(
    ctx: click.Context, list_name: str | None, since_text: str | None, as_json: bool
) -> None:
    """Print what the next issue would contain, in order, with source and lead.

    Fetches every source of the list (feeds with a conditional GET), keeps what is recent and
    not yet sent to this list, one copy of each item, newest first. A story that several
    sources tell is shown once, its other copies under it ("also:"). Nothing is marked sent.
    When there are more than max_articles, the issue takes a fair share of each source and
    the rest is held over for a later issue (hold_over_hours); both are counted. Problems
    with single sources are reported and the rest goes on.

    \b
    Examples:
      digest gather --list daily
      digest gather --since 2d --json
    """
    config = get_config(ctx)
    lst = config.get_list(list_name)
    since = since_option(since_text, lst.zone)
    with source_progress("Fetching sources", not as_json) as progress:
        result = gather_articles(config, lst, since=since, progress=progress)
    held = result.held_over
    until = min((h.until for h in held if h.until), default=None)
    if as_json:
        record = {
            "list": lst.name,
            "since": result.since.isoformat() if result.since else None,
            "articles": [
                {
                    "id": a.id,
                    "title": a.title,
                    "source": redact(a.source),
                    "url": a.url,
                    "published": a.published.isoformat() if a.published else None,
                    "author": a.author,
                    "topics": list(a.topics),
                    "image": a.image,
                    "lead": list(a.lead),
                    "carried_over": a.id in result.carried,
                    "also": _also(a),
                }
                for a in result.articles
            ],
            "held_over": len(held),
            "held_until": until.isoformat() if until else None,
            "held_over_items": [
                {
                    "id": h.article.id,
                    "title": h.article.title,
                    "source": redact(h.article.source),
                    "url": h.article.url,
                    "published": h.article.published.isoformat() if h.article.published else None,
                    "until": h.until.isoformat() if h.until else None,
                    "also": _also(h.article),
                }
                for h in held
            ],
            "dropped": result.dropped,
            "problems": list(result.problems),
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    carried = sum(a.id in result.carried for a in result.articles)
    click.echo(
        f"{lst.title}: {len(result.articles)} article(s) for the next issue "
        f"(feed items since {when_text(result.since)}"
        + (f"; {carried} held over from an earlier issue)" if carried else ")")
    )
    for n, a in enumerate(result.articles, 1):
        click.echo(f"\n{n}. {a.title}")
        click.echo(
            f"   {redact(a.source)} · {when_text(a.published)}"
            + (f" · {a.url}" if a.url else "")
            + (" · held over" if a.id in result.carried else "")
            + (f" · topics: {', '.join(a.topics)}" if a.topics else "")
        )
        if a.also:
            click.echo("   also: " + " · ".join(_copy_line(c) for c in a.also))
        for p in a.lead:
            click.echo(textwrap.fill(p, width=96, initial_indent="   ", subsequent_indent="   "))
    if held:
        per_source = Counter(redact(h.article.source) for h in held)
        shares = ", ".join(f"{name} {n}" for name, n in per_source.items())
        kept = f"the oldest is kept until {when_text(until)}" if until else "kept until sent"
        click.echo(f"\n{len(held)} more held over for a later issue ({shares}; {kept})")
    if result.dropped:
        click.echo(
            f"\n{result.dropped} left out of an earlier issue and now older than "
            f"hold_over_hours = {lst.hold_over_hours}: dropped"
        )
    # The sources' problems were logged when read: as warnings when new (the pipeline then
    # points at `digest sources check`), else with -v.


def _also(article: Article) -> list[dict[str, str | None]]:
    """The story's other copies (other sources told it too), as `--json` gives them."""
    return [{"source": redact(c.source), "url": c.url, "id": c.id} for c in article.also]


def _copy_line(copy: Coverage) -> str:
    return redact(copy.source) + (f" ({copy.url})" if copy.url else "")
