"""`digest sources import-opml` and `export-opml`: feeds to and from other feed readers
(`sources.opml`), in one rewrite of digest.toml."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from ..config import Config
from ..config.edit import SourceEntry, add_sources, configured_as
from ..config.model import SOURCE_NAME_CHARS
from ..config.values import web_url
from ..errors import DigestError
from ..fsutil import write_atomic
from ..sources.opml import OpmlFeed, read_opml, write_opml
from ..text import shorten
from ..urls import canonical_url, redact
from .common import CONTEXT, config_option, get_config
from .sources import _count, sources
from .sources_edit import _read_file

# --- OPML -------------------------------------------------------------------------------------

_OPML_CAP = 10 * 1024 * 1024


@dataclass
class _Import:
    """What an OPML import adds, and what it skips and why."""

    added: list[tuple[SourceEntry, OpmlFeed]] = field(default_factory=list)
    skipped: list[tuple[OpmlFeed, str]] = field(default_factory=list)
    renamed: int = 0


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}{parts.path}".rstrip("/") or host


def _unique(name: str, taken: set[str], url: str) -> str:
    """`name`, or with the feed's host (and a number) added when a source has it already."""
    name = shorten(name, SOURCE_NAME_CHARS)
    if name not in taken:
        return name
    host = urlsplit(url).hostname or "feed"
    n = 1
    while True:
        suffix = f" ({host})" if n == 1 else f" ({host} {n})"
        candidate = shorten(name, SOURCE_NAME_CHARS - len(suffix)) + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _plan(config: Config, feeds: Sequence[OpmlFeed]) -> _Import:
    plan = _Import()
    taken = {s.name for s in config.sources}
    seen: dict[str, str] = {}
    for feed in feeds:
        url = feed.url
        if url.lower().startswith(("http://", "https://")):
            url = url.split("://", 1)[0].lower() + "://" + url.split("://", 1)[1]
        if not web_url(url):
            plan.skipped.append((feed, "not an http(s) feed URL"))
            continue
        key = canonical_url(url) or url
        if key in seen:
            plan.skipped.append((feed, f"listed twice in the file (as {seen[key]!r})"))
            continue
        existing = configured_as(config, url)
        if existing is not None:
            plan.skipped.append((feed, f"already configured as {redact(existing.name)!r}"))
            continue
        wanted = feed.title or _name_from_url(url)
        name = _unique(wanted, taken, url)
        plan.renamed += name != shorten(wanted, SOURCE_NAME_CHARS)
        taken.add(name)
        seen[key] = name
        plan.added.append((SourceEntry(feed=url, name=name), feed))
    return plan


@sources.command("import-opml", context_settings=CONTEXT)
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was added and skipped as JSON.")
@click.pass_context
def import_opml(ctx: click.Context, file: Path, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML file (a feed reader's export) to digest.toml.

    Every outline with an xmlUrl is a feed, however deep in folders; its name is the outline's
    title (or text), with its host added when a source has that name already. Feeds already
    configured, or listed twice, are skipped and counted. digest.toml is rewritten once,
    keeping its comments and layout. The feeds are not read here: `digest sources check`
    reads them.

    \b
    Examples:
      digest sources import-opml subscriptions.opml --dry-run
      digest sources import-opml subscriptions.opml
    """
    config = get_config(ctx)
    feeds = read_opml(_read_file(file, _OPML_CAP, "nothing imported"), str(file))
    plan = _plan(config, feeds)
    if plan.added and not dry_run:
        add_sources(config.path, [entry for entry, _feed in plan.added])
    if as_json:
        record = {
            "file": str(file),
            "config": str(config.path),
            "dry_run": dry_run,
            "feeds": len(feeds),
            "added": [
                {"name": e.name, "feed": redact(e.feed or ""), "folders": list(f.folders)}
                for e, f in plan.added
            ],
            "renamed": plan.renamed,
            "skipped": [
                {"title": f.title, "url": redact(f.url), "reason": why} for f, why in plan.skipped
            ],
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    verb = "Would add" if dry_run else "Added"
    for entry, _feed in plan.added:
        click.echo(f"  + {entry.name}")
    for feed, why in plan.skipped:
        click.echo(f"  - {feed.title or redact(feed.url)}: {why}")
    skipped = f"; skipped {len(plan.skipped)}" if plan.skipped else ""
    renamed = f" ({plan.renamed} renamed, as a source had the name)" if plan.renamed else ""
    click.echo(
        f"{verb} {_count(len(plan.added), 'source')}{renamed} from {file} "
        f"({_count(len(feeds), 'feed')} in it){skipped}."
    )
    if dry_run:
        click.echo(f"Nothing written (--dry-run); {config.path} is unchanged.")
    elif plan.added:
        click.echo("`digest sources check` reads them now.")


@sources.command("export-opml", context_settings=CONTEXT)
@config_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the OPML to this file (replaced atomically) instead of printing it.",
)
@click.pass_context
def export_opml(ctx: click.Context, out: Path | None) -> None:
    """Write the configured feeds as an OPML 2.0 file, which every feed reader imports.

    Only feed URLs go in: folders and feed files on this machine are left out, with a note.
    A feed URL with a user name and password keeps them (the reader needs them), so keep the
    file private then.

    \b
    Examples:
      digest sources export-opml --out feeds.opml
      digest sources export-opml > feeds.opml
    """
    config = get_config(ctx)
    feeds = [s for s in config.sources if s.kind == "feed" and s.is_remote]
    left_out = [s for s in config.sources if s not in feeds]
    title = next(iter(config.lists.values())).title if config.lists else config.root.name
    data = write_opml([(s.name, s.location) for s in feeds], title, datetime.now(UTC))
    if out is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        try:
            write_atomic(out, data)
        except OSError as exc:
            raise DigestError(f"{out}: cannot write it ({exc.strerror})") from None
        click.echo(f"Wrote {_count(len(feeds), 'feed')} to {out}.", err=True)
    if left_out:
        names = ", ".join(repr(redact(s.name)) for s in left_out)
        click.echo(
            f"Left out {_count(len(left_out), 'source')} that OPML cannot hold "
            f"(folders and feed files on this machine): {names}.",
            err=True,
        )
    secret = sum(1 for s in feeds if redact(s.location) != s.location)
    if secret:
        click.echo(
            f"Note: {_count(secret, 'feed URL')} in it hold a user name and password.", err=True
        )
    if not feeds:
        click.echo("No feed URLs are configured: the OPML file has no feeds.", err=True)


__all__ = ["sources"]
