"""Pieces every command shares: the error-reporting group, --config, loading the config, reading
--since, and the progress bar shown while sources are read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Config, load_config
from ..errors import DigestError
from ..sources import Progress as ProgressCallback
from ..text import parse_since

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class DigestGroup(click.Group):
    """A group whose commands report DigestError as a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta["digest.config"] = value


def config_option(f: Any) -> Any:
    """`--config` on every command, so it can be given before or after the command name."""
    return click.option(
        "--config",
        "-c",
        type=click.Path(dir_okay=True, path_type=str),
        expose_value=False,
        is_eager=True,
        callback=_remember_config,
        help="The digest.toml to use (default: ./digest.toml).",
    )(f)


def get_config(ctx: click.Context) -> Config:
    """Load the config once per invocation, from --config or the current folder."""
    if "digest.loaded" not in ctx.meta:
        ctx.meta["digest.loaded"] = load_config(ctx.meta.get("digest.config"))
    return ctx.meta["digest.loaded"]


def when_text(dt: datetime | None) -> str:
    """A time as the commands print it: `2026-11-24 07:00 UTC`, or `-`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if dt else "-"


def since_option(value: str | None, zone: ZoneInfo) -> datetime | None:
    """The `--since` value as a UTC time (None when not given); a bad one is a usage error."""
    if not value:
        return None
    try:
        return parse_since(value, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


@contextmanager
def source_progress(label: str, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr while sources are read (only on a terminal)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[last]}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, last="")

        def update(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, last=name)

        yield update
