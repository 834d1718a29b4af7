"""`digest init`: a new, working newsletter folder, and a next step that runs where it is printed.

The printed next step is copied and pasted, so it must work in the shell that ran `init`: plain
`digest` only when the `digest` on PATH is this very program, otherwise the absolute path of the
one running now (a relative `.venv/bin/digest` would break after the `cd`), each path quoted.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import click

from ..scaffold import digest_checkout, is_digest_source, scaffold
from .common import CONTEXT


@click.command(context_settings=CONTEXT)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--list", "list_name", default="daily", show_default=True, help="Name of the list.")
@click.option("--title", help="The newsletter's title (default: from the folder name).")
def init(directory: Path, list_name: str, title: str | None) -> None:
    """Create a new, working newsletter folder.

    It holds a digest.toml, a templates/ folder that extends the built-in theme, an empty
    subscriber list and an articles/ folder with one example article. Make it outside the
    digest repository (a folder in your home is a good place).

    \b
    Example:
      digest init ~/my-briefing && cd ~/my-briefing && digest preview --open
    """
    created = scaffold(directory, list_name=list_name, title=title)
    for path in created:
        click.echo(f"created {path}")
    checkout = digest_checkout(directory)
    if checkout is not None:
        home = Path.home() / directory.resolve().name
        click.echo(
            f"warning: {directory} is inside the digest repository {checkout}, so git sees your "
            f"newsletter (and its readers' addresses) as part of digest; a folder of its own is "
            f"better, e.g. digest init {shlex.quote(str(home))}",
            err=True,
        )
    command, advice = _digest_command()
    click.echo(f"\nNext: cd {shlex.quote(str(directory))} && {command} preview --open")
    if advice:
        click.echo(advice)


def _digest_command() -> tuple[str, str | None]:
    """How to run this digest again from any folder, and advice when that is not plain `digest`."""
    running = _running_executable()
    if running is None:  # not started through a `digest` script, e.g. PYTHONPATH=src python -m
        return f"{shlex.quote(sys.executable)} -m digest", None
    found = shutil.which("digest")
    if found and _same_file(found, running):
        return "digest", None
    if found:
        advice = f"(the digest on your PATH, {found}, is another installation)"
    elif running.is_symlink():  # a link such as make install's ~/.local/bin/digest
        folder = shlex.quote(str(running.parent))
        advice = (
            f"To run it as plain digest, put {running.parent} on your PATH: "
            f'export PATH={folder}:"$PATH" (in ~/.bashrc or ~/.profile to keep it)'
        )
    else:
        clone = _source_checkout()
        where = shlex.quote(str(clone)) if clone else "CLONE"
        how = f"make -C {where} install" if clone else "make install in a clone of digest"
        advice = f"To run it as plain digest from anywhere: {how} (or pipx install {where})"
    return shlex.quote(str(running)), advice


def _running_executable() -> Path | None:
    """The `digest` script running now, absolute but not resolved: a link stays the link."""
    script = Path(sys.argv[0])
    if script.stem == "digest" and script.is_file():
        return Path(os.path.abspath(script))
    # `python -m digest`: the script installed beside this interpreter runs the same program.
    beside = Path(sys.executable).parent / "digest"
    return Path(os.path.abspath(beside)) if beside.is_file() else None


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _source_checkout() -> Path | None:
    """The clone this program runs from (an editable install), which `make install` can use."""
    root = Path(__file__).resolve().parents[3]  # src/digest/cli/init.py
    return root if is_digest_source(root) and (root / "Makefile").is_file() else None
