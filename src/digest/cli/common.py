"""Pieces every command shares: the error-reporting group, --config, -v/-q and the logging they
set, loading the config, reading --since, and the progress bar shown while sources are read."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Config, load_config
from ..config.values import did_you_mean
from ..errors import DigestError
from ..sources import Progress as ProgressCallback
from ..text import parse_iso, parse_since

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Choice(click.Choice):
    """click's Choice, with a "did you mean" for a near miss (`--backend sendgird`)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            hint = did_you_mean(str(value), [str(c) for c in self.choices])
            if hint:
                exc.message = exc.message.rstrip(".") + hint
            raise


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


_VERBOSE, _QUIET, _SET = "digest.verbose", "digest.quiet", "digest.logging"

# Libraries that say every request at INFO: their lines are debug output here, shown from this
# many -v (httpcore's, each connection step, from -vvv).
_CHATTY = {"httpx": 2, "httpcore": 3}


class ChattyFilter(logging.Filter):
    """Keeps the chatty libraries' lines below WARNING out, unless asked for. A filter on our
    handler, not a level on their loggers: nothing else that listens (tests) loses them."""

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        top = record.name.partition(".")[0]
        return self.verbose >= _CHATTY.get(top, 0)


def setup_logging(verbose: int, quiet: bool) -> None:
    """Warnings by default (new source problems, skipped files, size), -v for the story of a run
    (what each source gave, what was kept), -vv for debug output and each HTTP request; -q only
    errors. On a terminal through rich; otherwise (a service, cron, a pipe) one plain line per
    record, never wrapped, so log files and journald get whole lines."""
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    console = Console(stderr=True)
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(
            console=console,
            show_time=False,
            show_path=False,
            markup=False,
            rich_tracebacks=False,
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
    handler.addFilter(ChattyFilter(verbose))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def verbosity(ctx: click.Context) -> tuple[int, bool]:
    """The -v count and -q of this invocation, wherever they were given (`digest -v gather -v`
    is -vv)."""
    return ctx.meta.get(_VERBOSE, 0), ctx.meta.get(_QUIET, False)


def _apply(ctx: click.Context) -> None:
    """(Re)configure logging when -v or -q changed it: the group's are seen first, a command's
    after, before the command runs. Shell completion parses quietly and sets nothing."""
    if ctx.resilient_parsing:
        return
    wanted = verbosity(ctx)
    if ctx.meta.get(_SET) != wanted:
        setup_logging(*wanted)
        ctx.meta[_SET] = wanted


def _count_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    ctx.meta[_VERBOSE] = ctx.meta.get(_VERBOSE, 0) + (value or 0)
    _apply(ctx)


def _note_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    ctx.meta[_QUIET] = ctx.meta.get(_QUIET, False) or bool(value)
    _apply(ctx)


def verbosity_params() -> list[click.Parameter]:
    """-v and -q for one command: eager, kept in ctx.meta like --config, so they work before
    and after the command's name and add up (`verbosity`)."""
    return [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            is_eager=True,
            callback=_count_verbose,
            help="Say more: what each source gave and what was kept (-vv: debug output and "
            "each HTTP request).",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_note_quiet,
            help="Only errors.",
        ),
    ]


def add_verbosity(command: click.Command) -> None:
    """-v and -q on a command and, for a group, on every command in it, however deep."""
    command.params.extend(verbosity_params())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_verbosity(sub)


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


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def service_logging(log_file: Path | None) -> None:
    """Run lines (start, end, missed) are shown by default here: a service is watched by its
    log. `-v` (before or after the command, as everywhere) adds the story of the stages, `-vv`
    debug; `-q` leaves only errors; `--log-file` also appends to a file."""
    verbose, quiet = verbosity(click.get_current_context())  # the root level is set by them
    if not quiet:
        logging.getLogger("digest.schedule").setLevel(logging.INFO)
    debug = verbose > 1 and not quiet
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if debug else logging.WARNING)
    root = logging.getLogger()
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(ChattyFilter(verbose))
        root.addHandler(handler)


def now_option(text: str | None) -> datetime:
    """The hidden `--now WHEN` of the scheduler's commands (tests, and replaying a day)."""
    if not text:
        return datetime.now(UTC)
    when = parse_iso(text)
    if when is None:
        raise click.BadParameter(f"{text!r} is not an ISO date or time", param_hint="--now")
    return when


def log_file_option(f: Any) -> Any:
    return click.option(
        "--log-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also append the log to PATH (with times).",
    )(f)
