"""`digest sources add` and `remove`: digest.toml edited through `config.edit`, which keeps its
comments and layout and refuses any edit that would not load. `add` takes a feed's URL, a page
that links to one (the feed it names is checked and used), or a feed file."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..config import Config, SourceConfig
from ..config.edit import SourceEntry, add_sources, conflict, remove_source
from ..config.model import SOURCE_NAME_CHARS
from ..config.values import SECTION_CHARS, web_url
from ..errors import DigestError, SourceError
from ..sources.feeds import ParsedFeed, parse_feed
from ..sources.fetch import Fetched, Fetcher, FetchLimits, human_size
from ..state import open_state
from ..text import control_character, line, shorten, title_line
from ..urls import redact
from .common import CONTEXT, config_option, get_config
from .sources import _count, _kind, _short, sources

# --- add --------------------------------------------------------------------------------------

_FORMATS = {
    "rss090": "RSS 0.90",
    "rss091n": "RSS 0.91",
    "rss091u": "RSS 0.91",
    "rss092": "RSS 0.92",
    "rss093": "RSS 0.93",
    "rss094": "RSS 0.94",
    "rss10": "RSS 1.0",
    "rss20": "RSS 2.0",
    "rss": "RSS",
    "atom01": "Atom 0.1",
    "atom02": "Atom 0.2",
    "atom03": "Atom 0.3",
    "atom10": "Atom 1.0",
    "atom": "Atom",
    "cdf": "CDF",
}


def _format_name(fmt: str) -> str:
    if fmt.startswith("json"):
        return f"JSON Feed {fmt[4:]}".strip()
    return _FORMATS.get(fmt, fmt or "unknown format")


@dataclass(frozen=True)
class _Found:
    """A feed read to be added: where it is, the page it was found on, what it holds."""

    feed: str
    page: str | None
    others: tuple[str, ...]
    parsed: ParsedFeed


def _read_file(path: Path, cap: int, outcome: str = "nothing added") -> bytes:
    """A local file (a feed, an OPML list), at most `cap` bytes (one more is read to tell a
    larger one). `outcome` ends each error: what was not done."""
    try:
        with open(path, "rb") as f:
            body = f.read(cap + 1)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror}); {outcome}") from None
    if len(body) > cap:
        raise SourceError(f"{path}: over the {human_size(cap)} cap; not read, {outcome}")
    return body


def _fetched(r: Fetched, url: str) -> None:
    """Raise for an answer that holds no document."""
    if r.error or not r.ok:
        raise SourceError(
            f"{redact(url)}: {r.error or f'HTTP {r.status}'}; nothing added",
            "check the URL, and that the site answers in a browser",
        )


async def _find(target: str, file: Path | None) -> _Found:
    """Read `target` (a URL, or the feed file `file`); follow a web page's first feed link."""
    limits = FetchLimits()
    async with Fetcher(limits) as fetcher:
        if file is not None:
            body = _read_file(file, limits.max_bytes)
            parsed = parse_feed(body, url=str(file), max_bytes=limits.max_bytes)
        else:
            # The URL given is the source, so a feed on a private host (an intranet, this
            # machine) may be added: the same rule as when it is read later (see `guard`).
            r = await fetcher.get(target, source_url=target)
            _fetched(r, target)
            parsed = parse_feed(
                r.body,
                url=r.final_url,
                headers=r.headers,
                feed_id=target,
                max_bytes=limits.max_bytes,
            )
        if not parsed.is_html:
            return _Found(target, None, (), parsed)
        shown = redact(target)
        if not parsed.feed_links:
            raise SourceError(
                f"{shown}: a web page that links to no feed; nothing added",
                "give the feed's own URL (sites often link it as RSS or Atom)",
            )
        feed_url, *others = parsed.feed_links
        r = await fetcher.get(feed_url, source_url=feed_url if file else target)
        _fetched(r, feed_url)
        linked = parse_feed(r.body, url=r.final_url, headers=r.headers, max_bytes=limits.max_bytes)
        if linked.is_html:
            raise SourceError(
                f"{redact(feed_url)}, the feed {shown} links to, is a web page too; nothing added",
                "give the feed's own URL",
            )
        return _Found(feed_url, target, tuple(others), linked)


def _checked(found: _Found) -> _Found:
    """Refuse a feed without items: added, it would give nothing."""
    if not found.parsed.entries:
        why = "; ".join(found.parsed.problems) or "the feed is empty"
        raise SourceError(
            f"{redact(found.feed)}: no items to read ({why}); nothing added",
            "check it is the feed you meant, or add it anyway with --no-check",
        )
    return found


def _written_path(path: Path, config: Config) -> str:
    """A file's path as digest.toml should hold it: relative to the newsletter folder when
    inside it (the folder can move), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(config.root).as_posix()
    except ValueError:
        return str(resolved)


def _name_option(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    if not name:
        raise click.BadParameter("is empty", param_hint="--name")
    if (bad := control_character(name)) is not None:
        raise click.BadParameter(f"holds a control character ({bad})", param_hint="--name")
    if len(name) > SOURCE_NAME_CHARS:
        raise click.BadParameter(
            f"is longer than {SOURCE_NAME_CHARS} characters", param_hint="--name"
        )
    return name


def _section_option(section: str | None) -> str | None:
    """`--section`, checked as digest.toml checks `section`: one visible line, not too long."""
    if section is None:
        return None
    if (bad := control_character(section)) is not None:
        raise click.BadParameter(f"holds a control character ({bad})", param_hint="--section")
    section = line(section)
    if not section:
        raise click.BadParameter("is empty", param_hint="--section")
    if len(section) > SECTION_CHARS:
        raise click.BadParameter(
            f"is longer than {SECTION_CHARS} characters", param_hint="--section"
        )
    return section


def _refuse_conflict(config: Config, name: str | None, location: str) -> None:
    problem = conflict(config, name, location)
    if problem:
        hint = (
            "choose another name with --name"
            if problem.startswith("a source is already named")
            else None
        )
        raise DigestError(f"{config.path}: not changed: {problem}", hint)


@sources.command(context_settings=CONTEXT)
@config_option
@click.argument("target", metavar="URL|FILE")
@click.option("--name", help="The source's name (default: the feed's title).")
@click.option(
    "--max-items",
    type=click.IntRange(1, 10000),
    help="Take at most this many of its items per issue.",
)
@click.option(
    "--section",
    metavar="NAME",
    help="The heading its stories go under in the email (default: the source's name).",
)
@click.option(
    "--no-check",
    is_flag=True,
    help="Write it without reading it first (the name is then --name, or made from the URL).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was added as JSON.")
@click.pass_context
def add(
    ctx: click.Context,
    target: str,
    name: str | None,
    max_items: int | None,
    section: str | None,
    no_check: bool,
    as_json: bool,
) -> None:
    """Add a feed to digest.toml: its URL, a web page that links to it, or a feed file.

    The feed is read first: for a web page, the first feed it links to (RSS, Atom or JSON
    Feed) is taken and the others are listed; the feed must parse and hold items. Its name is
    the feed's title unless --name says otherwise. A name or a feed already configured is
    refused, saying which source has it. The new [[sources]] table goes after the last one;
    the file's comments and layout stay as they are, and nothing is written unless the result
    loads.

    \b
    Examples:
      digest sources add https://example.org/
      digest sources add https://example.org/feed.xml --name "Example" --max-items 5
      digest sources add https://example.org/feed.xml --section "Local news"
      digest sources add feeds/saved.xml
    """
    config = get_config(ctx)
    name = _name_option(name)
    section = _section_option(section)
    file: Path | None = None
    if target.lower().startswith(("http://", "https://")):
        if not web_url(target):
            raise click.BadParameter(
                f"{redact(target)!r} is not an http(s) URL with a host", param_hint="URL"
            )
        location = target
    elif "://" in target:
        raise click.BadParameter("only http(s) URLs and feed files can be added", param_hint="URL")
    else:
        file = Path(target).expanduser()
        if file.is_dir():
            raise DigestError(
                f"{target}: a folder, not a feed file; nothing added",
                f'add a folder of articles by hand: [[sources]] folder = "{target}"',
            )
        if not file.exists():
            raise DigestError(f"{target}: no such file, and not an http(s) URL; nothing added")
        location = str(file.resolve())
    _refuse_conflict(config, name, location)

    found: _Found | None = None
    if not no_check:
        found = _checked(asyncio.run(_find(target, file)))
        if found.page is not None:  # the feed it led to may be configured already
            _refuse_conflict(config, name, found.feed)
    feed = found.feed if found else target
    written = feed if file is None or (found and found.page) else _written_path(file, config)
    if name is None and found and found.parsed.title:
        name = shorten(title_line(found.parsed.title), SOURCE_NAME_CHARS)
    entry = SourceEntry(feed=written, name=name, max_items=max_items, section=section)
    _old, new = add_sources(config.path, [entry])
    source = new.sources[-1]
    _report_added(config, source, found, as_json)


def _report_added(
    config: Config, source: SourceConfig, found: _Found | None, as_json: bool
) -> None:
    if as_json:
        record: dict[str, Any] = {
            "name": redact(source.name),
            "kind": _kind(source),
            "location": redact(source.location),
            "max_items": source.max_items,
            "section": source.section,
            "config": str(config.path),
            "checked": found is not None,
        }
        if found:
            record |= {
                "found_on": redact(found.page) if found.page else None,
                "other_feeds": [redact(u) for u in found.others],
                "title": found.parsed.title,
                "format": found.parsed.format,
                "items": len(found.parsed.entries),
                "problems": list(found.parsed.problems),
            }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    if found and found.page:
        click.echo(f"{redact(found.page)} is a web page; it links to the feed {redact(found.feed)}")
        if found.others:
            click.echo(f"  It links to {_count(len(found.others), 'other feed')} as well:")
            for url in found.others:
                click.echo(f"    {redact(url)}")
    what = f"{_kind(source)} {_short(source.location, config)}"
    if found:
        items = _count(len(found.parsed.entries), "item")
        what += f" ({_format_name(found.parsed.format)}, {items})"
    click.echo(f"Added source {redact(source.name)!r} to {config.path}: {what}.")
    for problem in found.parsed.problems if found else ():
        click.echo(f"  Note: {problem}")
    if not found:
        click.echo("  Not read (--no-check): `digest sources check` reads it.")


# --- remove -----------------------------------------------------------------------------------


@sources.command(context_settings=CONTEXT)
@config_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the source removed as JSON.")
@click.pass_context
def remove(ctx: click.Context, name: str, as_json: bool) -> None:
    """Remove the source NAME from digest.toml.

    Only its own lines go (its [[sources]] header and keys); the comments around it stay. A
    source that a list names in its `sources = [...]` is not removed: take it out of the list
    first. A name no source has is refused, with the nearest one.

    \b
    Examples:
      digest sources remove "Example feed"
    """
    config = get_config(ctx)
    _old, _new, gone = remove_source(config.path, name)
    if gone.is_remote:  # a source added again later starts afresh (not gone, no back-off)
        with open_state(config.state_dir) as state:
            state.places.forget(gone.location)
    if as_json:
        record = {
            "name": redact(gone.name),
            "kind": _kind(gone),
            "location": redact(gone.location),
            "config": str(config.path),
        }
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Removed source {redact(gone.name)!r} ({_kind(gone)} {_short(gone.location, config)}) "
        f"from {config.path}."
    )
