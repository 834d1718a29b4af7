"""Change the `[[sources]]` of `digest.toml` in place, the way a careful person would by hand.

`digest sources add`, `remove`, `update-moved` and `import-opml` edit a file people write and
comment, so the edit goes through tomlkit, which keeps every comment, blank line and key order
it does not touch. A new table goes straight after the last `[[sources]]` one; a removed table
takes only its own lines (header, keys and their end-of-line comments) and the comment lines
around it stay. tomlkit hangs the comment lines before a header on the table above it, so those
lines are handed on from table to table instead of moving with the one added or removed.

Every edit is checked before the file is replaced: the new text must load as a `Config`, with
exactly the sources meant (the others unchanged, in order) and every other setting as it was.
Otherwise nothing is written. The file is replaced atomically, and not at all if someone saved
it in between (it is read again and compared just before the rename).

No I/O beyond the config file itself; like all of `config/`, it imports no stage.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, Comment, InlineTable, Item, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from ..errors import ConfigError
from ..fsutil import FileVersion, atomic_open
from ..urls import canonical_url, redact
from .load import find_config, parse_config
from .model import Config, SourceConfig
from .values import did_you_mean

__all__ = [
    "SourceEntry",
    "add_sources",
    "configured_as",
    "conflict",
    "move_sources",
    "remove_source",
    "with_moved",
    "with_sources",
    "without_source",
]


@dataclass(frozen=True)
class SourceEntry:
    """A `[[sources]]` table to write: exactly one of `feed` (URL or path, as it is to be
    written) and `folder`; no `name` lets digest name it from its address, as it does for any
    unnamed source."""

    feed: str | None = None
    folder: str | None = None
    name: str | None = None
    max_items: int | None = None
    full_text: str | None = None
    section: str | None = None

    def values(self) -> dict[str, Any]:
        """The keys to write, in the order the docs show them."""
        pairs = (
            ("name", self.name),
            ("feed", self.feed),
            ("folder", self.folder),
            ("max_items", self.max_items),
            ("full_text", self.full_text),
            ("section", self.section),
        )
        return {k: v for k, v in pairs if v is not None}


# --- the text: pure functions from one TOML text to another ---------------------------------


def with_sources(text: str, entries: Sequence[SourceEntry]) -> str:
    """`text` with `entries` added after the last `[[sources]]` table (or, when there is
    none yet, as a new `[[sources]]` block at the end)."""
    doc = _parse_toml(text)
    current = doc.get("sources")
    if current is None:
        aot = tomlkit.aot()
        for entry in entries:
            aot.append(_table(entry))
        doc.append("sources", aot)
    elif isinstance(current, AoT) and len(current):
        # The comment lines after the last table's keys belong to what follows it (a
        # commented-out example, the next table's heading): they move below the new ones.
        last = current[-1]
        tail = _take_trailing(last)
        gap = _leading_blank(tail)
        rest = tail[len(gap) :]
        between = gap or [tomlkit.ws("\n")]
        for item in between:
            last.add(item)
        for i, entry in enumerate(entries):
            table = _table(entry)
            current.append(table)
            if i < len(entries) - 1:
                table.add(tomlkit.ws("\n"))
        if tail:
            final = current[-1]
            for item in [*(_copy_ws(w) for w in between), *rest]:
                final.add(item)
    elif isinstance(current, Array):
        for entry in entries:
            inline = tomlkit.inline_table()
            inline.update(entry.values())
            current.append(inline)
    else:
        raise _layout_error()
    return _same_newlines(text, tomlkit.dumps(doc))


def without_source(text: str, index: int) -> str:
    """`text` without the `index`th source (counted as `Config.sources` counts them)."""
    doc = _parse_toml(text)
    current = doc.get("sources")
    if isinstance(current, Array):
        del current[index]
        return _same_newlines(text, tomlkit.dumps(doc))
    if not isinstance(current, AoT) or not 0 <= index < len(current):
        raise _layout_error()
    tail = _take_trailing(current[index])
    keep = any(isinstance(item, Comment) for item in tail)
    holder = current[index - 1] if index > 0 else _table_before(doc, "sources")
    if keep and holder is None:
        # Nothing but the file's opening comments above: the lines go where they were, before
        # the next header (the text tomlkit writes before a header is its `indent`).
        following = current[1] if len(current) > 1 else _first_header(_item_after(doc, "sources"))
        if following is not None:
            if doc.body and doc.body[0][1] is current:  # the file opened with this table
                tail = tail[len(_leading_blank(tail)) :]
            lines = "".join(item.as_string() for item in tail)
            following.trivia.indent = lines + following.trivia.indent
            keep = False
    if len(current) == 1:
        doc.remove("sources")
    else:
        del current[index]
    if keep:
        if holder is None:
            for item in tail:
                doc.add(item)  # the end of the file: the one place left, but never lost
        else:
            _append_trailing(_last_table(holder), tail)
    return _same_newlines(text, tomlkit.dumps(doc))


def with_moved(text: str, moves: Mapping[int, str]) -> str:
    """`text` with the `feed` of each source at an index (as `Config.sources` counts them)
    set to its new URL; the line's comment stays."""
    doc = _parse_toml(text)
    current = doc.get("sources")
    if not isinstance(current, AoT | Array):
        raise _layout_error()
    for index, url in moves.items():
        if not 0 <= index < len(current) or "feed" not in current[index]:
            raise _layout_error()
        table = current[index]
        old = table.item("feed") if isinstance(table, Table | InlineTable) else None
        new = tomlkit.string(url)
        if old is not None:
            new.trivia.comment_ws = old.trivia.comment_ws
            new.trivia.comment = old.trivia.comment
        table["feed"] = new
    return _same_newlines(text, tomlkit.dumps(doc))


def _parse_toml(text: str) -> TOMLDocument:
    if not text.endswith("\n"):
        text += "\n"  # so that a table added after the last line starts on a line of its own
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"cannot edit the file: {exc}", "fix it, then run this again") from None


def _layout_error() -> ConfigError:
    return ConfigError(
        "cannot edit the sources of this file: they are not [[sources]] tables digest can find",
        "edit digest.toml by hand",
    )


def _table(entry: SourceEntry) -> Table:
    table = tomlkit.table()
    for key, value in entry.values().items():
        table.add(key, value)
    return table


def _take_trailing(table: Table) -> list[Item]:
    """Remove and return the comment and blank lines after the table's last key.

    tomlkit has no call for this; they are taken off the end of the table's body list, which
    is safe as they come after every key (no key's place in the list moves)."""
    body = table.value.body
    out: list[Item] = []
    while body and body[-1][0] is None and isinstance(body[-1][1], Whitespace | Comment):
        out.insert(0, body.pop()[1])
    return out


def _leading_blank(items: list[Item]) -> list[Item]:
    """The blank lines at the start of `items`."""
    out: list[Item] = []
    for item in items:
        if not isinstance(item, Whitespace):
            break
        out.append(item)
    return out


def _copy_ws(item: Item) -> Item:
    return tomlkit.ws(item.as_string()) if isinstance(item, Whitespace) else item


def _append_trailing(table: Table, items: list[Item]) -> None:
    """Put comment and blank lines after the table's last key, one blank line between."""
    body = table.value.body
    if items and isinstance(items[0], Whitespace) and body and isinstance(body[-1][1], Whitespace):
        items = items[1:]
    for item in items:
        table.add(item)


def _table_before(doc: TOMLDocument, key: str) -> Table | None:
    """The table whose lines come just before `key`'s first table in the file, if a table
    does (not the file's opening comments)."""
    previous: Any = None
    for k, item in doc.body:
        if k is not None and k.key == key:
            break
        previous = item
    if isinstance(previous, AoT) and len(previous):
        return previous[-1]
    return previous if isinstance(previous, Table) else None


def _item_after(doc: TOMLDocument, key: str) -> Any:
    """What comes after `key` in the file, at its top level."""
    found = False
    for k, item in doc.body:
        if found:
            return item
        found = k is not None and k.key == key
    return None


def _first_header(item: Any) -> Table | None:
    """The first table of `item` whose header the file shows (`[lists.daily]` of a `lists`
    table that has no header of its own)."""
    while True:
        if isinstance(item, AoT):
            return item[0] if len(item) else None
        if not isinstance(item, Table) or isinstance(item, InlineTable):
            return None
        if not item.is_super_table():
            return item
        item = next((v for k, v in item.value.body if k is not None), None)


def _last_table(table: Table) -> Table:
    """The table whose lines end `table`'s part of the file: its last sub-table, if any."""
    while True:
        keyed = [item for k, item in table.value.body if k is not None]
        last = keyed[-1] if keyed else None
        if isinstance(last, AoT) and len(last):
            table = last[-1]
        elif isinstance(last, Table) and not isinstance(last, InlineTable):
            table = last
        else:
            return table


def _same_newlines(before: str, after: str) -> str:
    """The new lines written as the file writes its own (Windows line ends stay)."""
    if "\r\n" in before:
        return re.sub(r"(?<!\r)\n", "\r\n", after)
    return after


# --- the file: read, change, check, replace ----------------------------------------------


def conflict(config: Config, name: str | None, location: str) -> str | None:
    """Why a source with this name or address cannot be added (naming the source that has
    it), or None. `location` is a URL or an absolute path, as `SourceConfig.location` is."""
    for i, s in enumerate(config.sources):
        if name is not None and s.name == name:
            where = f"{s.kind} {_shown(s.location, config)}"
            return f"a source is already named {name!r} (sources[{i}], {where})"
        if _same_place(s.location, location):
            return (
                f"{_shown(location, config)} is already configured as source {s.name!r} "
                f"(sources[{i}])"
            )
    return None


def configured_as(config: Config, location: str) -> SourceConfig | None:
    """The source configured at this address (the same URL, tracking parameters and case of
    the host aside, or the same absolute path), if any."""
    return next((s for s in config.sources if _same_place(s.location, location)), None)


def add_sources(path: Path | str, entries: Sequence[SourceEntry]) -> tuple[Config, Config]:
    """Add `entries` to the config file in one rewrite; the config before and after.

    Refuses (ConfigError, file untouched) a name or address already configured, and anything
    that would not load."""

    def check(old: Config, new: Config) -> None:
        added = new.sources[len(old.sources) :]
        if new.sources[: len(old.sources)] != old.sources or len(added) != len(entries):
            raise _not_what_was_meant()
        for entry, source in zip(entries, added, strict=True):
            if entry.name is not None and source.name != entry.name:
                raise _not_what_was_meant()

    def change(text: str, old: Config) -> str:
        seen = old
        for entry in entries:
            where = entry.feed or entry.folder or ""
            problem = conflict(seen, entry.name, _absolute(where, old))
            if problem:
                raise ConfigError(
                    f"{old.path}: not changed: {problem}",
                    "choose another name with --name"
                    if problem.startswith("a source is already named")
                    else None,
                )
            seen = replace(seen, sources=(*seen.sources, _placeholder(entry, old)))
        return with_sources(text, entries)

    return _rewrite(path, change, check)


def remove_source(path: Path | str, name: str) -> tuple[Config, Config, SourceConfig]:
    """Remove the source named `name`; the config before and after, and the source removed.

    Refuses (ConfigError, file untouched) a name no source has (with the nearest one), and a
    source a list names in its `sources = [...]`."""
    removed: list[SourceConfig] = []

    def change(text: str, old: Config) -> str:
        names = [s.name for s in old.sources]
        if name not in names:
            raise ConfigError(
                f"{old.path}: no source is named {name!r}{did_you_mean(name, names)}",
                "`digest sources list` shows their names",
            )
        users = [n for n, lst in old.lists.items() if lst.sources and name in lst.sources]
        if users:
            keys = ", ".join(f"lists.{n}.sources" for n in users)
            raise ConfigError(
                f"{old.path}: not changed: {keys} names {name!r}",
                "take it out of that list first (or remove the list's `sources` line so it "
                "takes every source)",
            )
        index = names.index(name)
        removed.append(old.sources[index])
        return without_source(text, index)

    def check(old: Config, new: Config) -> None:
        index = [s.name for s in old.sources].index(name)
        if new.sources != old.sources[:index] + old.sources[index + 1 :]:
            raise _not_what_was_meant()

    old, new = _rewrite(path, change, check)
    return old, new, removed[0]


def move_sources(path: Path | str, moves: Mapping[str, str]) -> tuple[Config, Config]:
    """Set the feed URL of each source named in `moves` (name → new URL) in one rewrite; the
    config before and after. Refuses (ConfigError, file untouched) a name no source has, a
    source that is not a feed URL, and anything that would not load (a list naming a source
    whose name was its old URL)."""

    def indexes(old: Config) -> dict[int, str]:
        names = [s.name for s in old.sources]
        out = {}
        for name, url in moves.items():
            if name not in names:
                raise ConfigError(
                    f"{old.path}: not changed: no source is named {name!r}"
                    f"{did_you_mean(name, names)}"
                )
            index = names.index(name)
            if not old.sources[index].is_remote:
                raise ConfigError(f"{old.path}: not changed: source {name!r} is not a feed URL")
            out[index] = url
        return out

    def change(text: str, old: Config) -> str:
        return with_moved(text, indexes(old))

    def check(old: Config, new: Config) -> None:
        moved = indexes(old)
        if len(new.sources) != len(old.sources):
            raise _not_what_was_meant()
        for i, (a, b) in enumerate(zip(old.sources, new.sources, strict=True)):
            if i not in moved:
                if a != b:
                    raise _not_what_was_meant()
            elif b.location != moved[i] or replace(b, location=a.location, name=a.name) != a:
                raise _not_what_was_meant()

    return _rewrite(path, change, check)


def _rewrite(
    path: Path | str,
    change: Callable[[str, Config], str],
    check: Callable[[Config, Config], None],
) -> tuple[Config, Config]:
    """Read the file, change its text, load the result and check it, then replace the file
    atomically unless it changed meanwhile. Nothing is written when any step fails."""
    p = find_config(path)
    try:
        with open(p, "rb") as f:
            raw = f.read()
            version = FileVersion.of_file(f)
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: no such file", "Run digest in a newsletter folder, or pass --config PATH."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read it ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text", "Save the file as UTF-8.") from None
    old = _load_text(text, p)
    new_text = change(text, old)
    try:
        new = _load_text(new_text, p)
    except ConfigError as exc:
        raise ConfigError(
            f"{p}: not changed: with this change it would not load ({exc.message})", exc.hint
        ) from None
    if replace(new, sources=old.sources) != old:
        raise _not_what_was_meant()
    check(old, new)

    def unchanged() -> None:
        if FileVersion.of_path(p) != version:
            raise ConfigError(
                f"{p}: not changed: the file was saved by something else meanwhile",
                "run the command again",
            )

    try:
        with atomic_open(p, "wb", before_replace=unchanged) as out:
            out.write(new_text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot write it ({exc.strerror}); not changed") from None
    return old, new


def _load_text(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", "Fix the line named above.") from None
    return parse_config(data, path)


def _not_what_was_meant() -> ConfigError:
    return ConfigError(
        "not changed: the edited file would not hold exactly the change asked for",
        "a layout digest cannot edit safely; edit digest.toml by hand (and please report it)",
    )


def _absolute(location: str, config: Config) -> str:
    if location.lower().startswith(("http://", "https://")):
        return location
    return str((config.root / location).resolve())


def _placeholder(entry: SourceEntry, config: Config) -> SourceConfig:
    """What an entry will be once loaded, enough to check the next entries against it."""
    where = entry.feed or entry.folder or ""
    return SourceConfig(
        name=entry.name or where,
        kind="feed" if entry.feed else "folder",
        location=_absolute(where, config),
    )


def _same_place(a: str, b: str) -> bool:
    if a == b:
        return True
    ca, cb = canonical_url(a), canonical_url(b)
    return ca is not None and ca == cb


def _shown(location: str, config: Config) -> str:
    if location.startswith(("http://", "https://")):
        return redact(location)
    try:
        return str(Path(location).relative_to(config.root))
    except ValueError:
        return location
