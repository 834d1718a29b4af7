"""`digest init`: a new newsletter folder that works as it is, outside this repository."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from .errors import DigestError
from .fsutil import write_atomic
from .subscribers import COLUMNS

_LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def scaffold(directory: Path, *, list_name: str = "daily", title: str | None = None) -> list[Path]:
    """Write config, a starter template override, an empty list and an articles folder."""
    if not _LIST_NAME.match(list_name):
        raise DigestError(
            f"{list_name!r} is not a usable list name",
            "Use lower-case letters, digits, - and _, e.g. daily or weekly-news.",
        )
    if (directory / "digest.toml").exists():
        raise DigestError(
            f"{directory / 'digest.toml'} already exists",
            "Choose another folder; digest init never overwrites a newsletter.",
        )
    title = title or directory.resolve().name.replace("-", " ").replace("_", " ").title()
    starter = resources.files("digest") / "starter"
    config = (starter / "digest.toml").read_text(encoding="utf-8")
    title_toml = title.replace("\\", "\\\\").replace('"', '\\"')
    files = {
        directory / "digest.toml": config.format(title=title_toml, list_name=list_name),
        directory / "templates" / "digest.mjml.j2": (
            starter / "templates" / "digest.mjml.j2"
        ).read_text(encoding="utf-8"),
        directory / "articles" / "welcome.md": (starter / "articles" / "welcome.md").read_text(
            encoding="utf-8"
        ),
        directory / "subscribers" / f"{list_name}.csv": ",".join(COLUMNS) + "\n",
        directory / ".gitignore": "preview/\n.digest/\noutbox/\nsubscribers/*.lock\n",
    }
    for path, content in files.items():
        write_atomic(path, content)
    return list(files)
