"""`digest sources update-moved`: write the new addresses of feeds that moved for good (a 301 or
308 digest remembered, `sources.visit`) into digest.toml, through `config.edit` (comments and
layout kept). The remembered move then moves with the source in the state, so nothing is asked
twice and nothing is said again."""

from __future__ import annotations

from dataclasses import replace

import click

from ..config.edit import move_sources
from ..state import open_state
from ..urls import redact
from .common import CONTEXT, config_option, get_config
from .sources import sources


@sources.command("update-moved", context_settings=CONTEXT)
@config_option
@click.option("--dry-run", is_flag=True, help="Show the moves; change nothing.")
@click.pass_context
def update_moved(ctx: click.Context, dry_run: bool) -> None:
    """Write the new URLs of feeds that moved permanently into digest.toml.

    When a feed answers with a permanent redirect (301 or 308), digest asks the new address
    from then on and says so once; this command writes that address into digest.toml, keeping
    its comments and layout.

    \b
    Examples:
      digest sources update-moved --dry-run     # which feeds moved, and where to
      digest sources update-moved
    """
    config = get_config(ctx)
    with open_state(config.state_dir) as state:
        places = state.places.all()
        moves = {
            s.name: place.moved_to
            for s in config.sources
            if s.is_remote
            and (place := places.get(s.location)) is not None
            and place.moved_to
            and place.moved_to != s.location
        }
        if not moves:
            click.echo("No feed has moved: digest.toml is up to date.")
            return
        by_name = {s.name: s for s in config.sources}
        for name, url in moves.items():
            click.echo(f"{redact(name)}: {redact(by_name[name].location)} -> {redact(url)}")
        if dry_run:
            click.echo(f"{len(moves)} to update; nothing changed (--dry-run).")
            return
        move_sources(config.path, moves)
        for name, url in moves.items():
            old = by_name[name].location
            place = places[old]
            # The source is now configured at the new address: what was learnt moves with it.
            state.places.put(replace(place, location=url, moved_to=None, moved_at=None))
            state.places.forget(old)
            state.polled.move(old, url)
    click.echo(f"Updated {len(moves)} in {config.path}.")
