"""`digest init`: a new newsletter folder that works as it is, outside this repository."""

from __future__ import annotations

import json
import tomllib
from email.headerregistry import Address
from importlib import resources
from pathlib import Path

from .config import LIST_NAME
from .errors import DigestError
from .fsutil import write_atomic
from .subscribers import COLUMNS
from .text import line


def scaffold(directory: Path, *, list_name: str = "daily", title: str | None = None) -> list[Path]:
    """Write config, a starter template override, an empty list and an articles folder."""
    if not LIST_NAME.match(list_name):
        raise DigestError(
            f"{list_name!r} is not a usable list name",
            "Use letters, digits, - and _ (at most 64), e.g. daily or weekly-news.",
        )
    if (directory / "digest.toml").exists():
        raise DigestError(
            f"{directory / 'digest.toml'} already exists",
            "Choose another folder; digest init never overwrites a newsletter.",
        )
    title = title or directory.resolve().name.replace("-", " ").replace("_", " ").title()
    starter = resources.files("digest") / "starter"
    config = (starter / "digest.toml").read_text(encoding="utf-8")
    title = line(title) or "Newsletter"
    # A From name in a form digest.toml's check reads back as one mailbox: no angle brackets.
    name = " ".join(title.translate({ord(c): " " for c in '<>"'}).split())
    sender = str(Address(display_name=name, addr_spec="newsletter@example.com"))
    files = {
        directory / "digest.toml": config.format(
            title=_toml(title), sender=_toml(sender), list_name=list_name
        ),
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


def digest_checkout(directory: Path) -> Path | None:
    """The git checkout of digest's own source that `directory` lies in, if any. A newsletter
    made there (easy to do by running `init` from the clone) puts its files, and later its
    readers' addresses, among digest's own, where a `git add .` would take them along."""
    path = directory.resolve()
    for folder in (path, *path.parents):
        if (folder / ".git").exists():  # a folder in a clone, a file in a worktree
            return folder if is_digest_source(folder) else None
    return None


def is_digest_source(folder: Path) -> bool:
    """Whether `folder` holds digest's own source: a pyproject.toml naming the project digest."""
    try:
        with open(folder / "pyproject.toml", "rb") as f:
            project = tomllib.load(f).get("project")
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(project, dict) and project.get("name") == "digest"


def _toml(text: str) -> str:
    """`text` escaped for a TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]
