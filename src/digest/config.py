"""Read and check `digest.toml`. Every bad value is reported with its key and what was expected."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .urls import redact

CONFIG_NAME = "digest.toml"
FULL_TEXT_MODES = ("auto", "always", "never")
FullText = Literal["auto", "always", "never"]

DEFAULT_SUBJECT = "{{ title }}: {{ top_title }}"
DEFAULT_PREHEADER = "{{ count }} stories for {{ date_long }}, starting with {{ top_title }}"
DEFAULT_REASON = "You are receiving this because you subscribed to {{ title }}."
LEAD_PARAGRAPHS = 2
LEAD_WORDS = 90


@dataclass(frozen=True)
class LeadSettings:
    """How long a lead is: at most `paragraphs` paragraphs and `words` words (the summariser's
    and `digest summarise`'s defaults, and a list's unless digest.toml says otherwise)."""

    paragraphs: int = LEAD_PARAGRAPHS
    words: int = LEAD_WORDS


@dataclass(frozen=True)
class ComposeSettings:
    """What rendering needs of a list: its name (for messages), language and the templates of
    its subject, preheader and footer reason."""

    list_name: str
    language: str = "en"
    subject: str = DEFAULT_SUBJECT
    preheader: str = DEFAULT_PREHEADER
    reason: str = DEFAULT_REASON


@dataclass(frozen=True)
class SourceConfig:
    """One place articles come from: a feed (URL or local file) or a folder of article files."""

    name: str
    kind: Literal["feed", "folder"]
    location: str
    """An http(s) URL, or an absolute path (relative paths are resolved against the config)."""
    max_items: int | None = None
    full_text: FullText = "auto"

    @property
    def is_remote(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    @property
    def label(self) -> str:
        """How a problem line names the source: its name, and its address when that differs.
        A password in a feed URL is never shown."""
        if self.kind == "feed" and self.name != self.location:
            return f"{redact(self.name)} ({redact(self.location)})"
        return redact(self.name)


@dataclass(frozen=True)
class ListConfig:
    """One mailing list: who it is from, where its readers are, and how its issues look."""

    name: str
    title: str
    sender: str
    timezone: str
    language: str
    subscribers: Path
    sources: tuple[str, ...] | None = None
    """Names of the sources this list takes; None means all of them."""
    paragraphs: int = LEAD_PARAGRAPHS
    lead_words: int = LEAD_WORDS
    max_articles: int = 20
    lookback_hours: int = 24
    send_at: str = "07:00"
    subject: str = DEFAULT_SUBJECT
    preheader: str = DEFAULT_PREHEADER
    reason: str = DEFAULT_REASON

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def lead(self) -> LeadSettings:
        return LeadSettings(paragraphs=self.paragraphs, words=self.lead_words)

    @property
    def compose(self) -> ComposeSettings:
        return ComposeSettings(
            list_name=self.name,
            language=self.language,
            subject=self.subject,
            preheader=self.preheader,
            reason=self.reason,
        )


@dataclass(frozen=True)
class Config:
    """The whole newsletter folder: its lists, its sources and where its files live."""

    path: Path
    root: Path
    lists: dict[str, ListConfig]
    sources: tuple[SourceConfig, ...]
    templates_dir: Path
    state_dir: Path
    base_url: str = "https://example.com"

    def get_list(self, name: str | None = None) -> ListConfig:
        """The named list, or the first one when no name is given."""
        if name is None:
            return next(iter(self.lists.values()))
        try:
            return self.lists[name]
        except KeyError:
            known = ", ".join(self.lists) or "none"
            raise ConfigError(
                f"{self.path}: there is no list named {name!r} (lists: {known})",
                f"Use --list with one of: {known}, or add [lists.{name}] to {CONFIG_NAME}.",
            ) from None

    def sources_for(self, lst: ListConfig) -> tuple[SourceConfig, ...]:
        if lst.sources is None:
            return self.sources
        by_name = {s.name: s for s in self.sources}
        return tuple(by_name[n] for n in lst.sources)


def find_config(path: Path | str | None = None) -> Path:
    """The config file to use: the one given, else `digest.toml` in the current folder."""
    p = Path(path) if path is not None else Path.cwd() / CONFIG_NAME
    if p.is_dir():
        p = p / CONFIG_NAME
    return p


def load_config(path: Path | str | None = None) -> Config:
    """Read and check a config file; raise ConfigError naming the file and key on any problem."""
    p = find_config(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: no such file",
            "Run digest in a newsletter folder, pass --config PATH, or create one with "
            "`digest init DIR`.",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read it ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text", "Save the file as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}", "Fix the line named above.") from None
    return parse_config(data, p)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Build a Config from parsed TOML; `path` is used in messages and to resolve relative paths."""
    r = _Reader(path)
    root = path.parent.resolve()
    _only_keys(r, data, "", {"newsletter", "sources", "lists"})
    newsletter = r.table(data, "newsletter", required=False)
    _only_keys(r, newsletter, "newsletter", {"templates", "state", "base_url"})
    templates_dir = root / r.string(newsletter, "newsletter.templates", default="templates")
    state_dir = root / r.string(newsletter, "newsletter.state", default=".digest")
    base_url = r.string(newsletter, "newsletter.base_url", default="https://example.com")

    sources = tuple(
        _parse_source(r, s, f"sources[{i}]", root)
        for i, s in enumerate(r.array_of_tables(data, "sources"))
    )
    seen: set[str] = set()
    for i, s in enumerate(sources):
        if s.name in seen:
            r.fail(f"sources[{i}].name", f"the name {s.name!r} is used twice", "names must differ")
        seen.add(s.name)

    lists_raw = r.table(data, "lists", required=True)
    if not lists_raw:
        r.fail("lists", "no list is defined", "add a table such as [lists.daily]")
    lists = {
        name: _parse_list(r, r.table(lists_raw, name, key=f"lists.{name}"), name, root, seen)
        for name in lists_raw
    }
    return Config(
        path=path,
        root=root,
        lists=lists,
        sources=sources,
        templates_dir=templates_dir,
        state_dir=state_dir,
        base_url=base_url.rstrip("/"),
    )


def _parse_source(r: _Reader, s: dict[str, Any], key: str, root: Path) -> SourceConfig:
    _only_keys(r, s, key, {"name", "feed", "folder", "max_items", "full_text"})
    if ("feed" in s) == ("folder" in s):
        r.fail(key, "needs exactly one of `feed` or `folder`", 'e.g. feed = "https://…/rss"')
    kind: Literal["feed", "folder"] = "feed" if "feed" in s else "folder"
    location = r.string(s, f"{key}.{kind}")
    if not location.startswith(("http://", "https://")):
        location = str((root / location).resolve())
    default_name = _default_source_name(kind, location)
    max_items = r.integer(s, f"{key}.max_items", default=None, minimum=1)
    full_text = r.string(s, f"{key}.full_text", default="auto")
    if full_text not in FULL_TEXT_MODES:
        r.fail(f"{key}.full_text", f"{full_text!r} is not allowed", "use auto, always or never")
    return SourceConfig(
        name=r.string(s, f"{key}.name", default=default_name),
        kind=kind,
        location=location,
        max_items=max_items,
        full_text=full_text,  # type: ignore[arg-type]
    )


def _default_source_name(kind: str, location: str) -> str:
    """A readable name for an unnamed source; never one that shows a password in a URL."""
    if kind == "feed" and location.startswith(("http://", "https://")):
        parts = urlsplit(location)
        host = parts.hostname or location
        return f"{host}{parts.path}".rstrip("/") or host
    return Path(location).name


_LIST_KEYS = {
    "title",
    "sender",
    "timezone",
    "language",
    "subscribers",
    "sources",
    "paragraphs",
    "lead_words",
    "max_articles",
    "lookback_hours",
    "send_at",
    "subject",
    "preheader",
    "reason",
}


def _parse_list(
    r: _Reader, t: dict[str, Any], name: str, root: Path, source_names: set[str]
) -> ListConfig:
    k = f"lists.{name}"
    _only_keys(r, t, k, _LIST_KEYS)
    tz = r.string(t, f"{k}.timezone", default="UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        r.fail(
            f"{k}.timezone", f"{tz!r} is not a time zone", "use an IANA name such as Europe/Berlin"
        )
    sources = t.get("sources")
    if sources is not None:
        if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
            r.fail(f"{k}.sources", "expected a list of source names", 'e.g. ["Example articles"]')
        for s in sources:
            if s not in source_names:
                known = ", ".join(sorted(source_names)) or "none"
                r.fail(f"{k}.sources", f"no source is named {s!r}", f"sources are: {known}")
        sources = tuple(sources)
    send_at = r.string(t, f"{k}.send_at", default="07:00")
    hh, _, mm = send_at.partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60 and len(mm) == 2):
        r.fail(f"{k}.send_at", f"{send_at!r} is not a time of day", 'use HH:MM, e.g. "07:30"')
    return ListConfig(
        name=name,
        title=r.string(t, f"{k}.title", default=name.replace("-", " ").title()),
        sender=r.string(t, f"{k}.sender"),
        timezone=tz,
        language=r.string(t, f"{k}.language", default="en"),
        subscribers=root / r.string(t, f"{k}.subscribers", default=f"subscribers/{name}.csv"),
        sources=sources,
        paragraphs=r.integer(t, f"{k}.paragraphs", default=LEAD_PARAGRAPHS, minimum=1),
        lead_words=r.integer(t, f"{k}.lead_words", default=LEAD_WORDS, minimum=10),
        max_articles=r.integer(t, f"{k}.max_articles", default=20, minimum=1),
        lookback_hours=r.integer(t, f"{k}.lookback_hours", default=24, minimum=1),
        send_at=send_at,
        subject=r.string(t, f"{k}.subject", default=DEFAULT_SUBJECT),
        preheader=r.string(t, f"{k}.preheader", default=DEFAULT_PREHEADER),
        reason=r.string(t, f"{k}.reason", default=DEFAULT_REASON),
    )


def _only_keys(r: _Reader, t: dict[str, Any], where: str, allowed: set[str]) -> None:
    for key in t:
        if key not in allowed:
            full = f"{where}.{key}" if where else key
            r.fail(full, "is not a known setting", f"known here: {', '.join(sorted(allowed))}")


class _Reader:
    """Typed access to TOML values; each failure names the file and the dotted key."""

    _MISSING = object()

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str, hint: str | None = None) -> None:
        raise ConfigError(f"{self.path}: {key}: {problem}", f"Expected: {hint}" if hint else None)

    def _get(self, t: dict[str, Any], key: str, default: Any) -> Any:
        leaf = key.rsplit(".", 1)[-1]
        if leaf in t:
            return t[leaf]
        if default is self._MISSING:
            self.fail(key, "is missing", "add it")
        return default

    def string(self, t: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
        v = self._get(t, key, default)
        if v is not default and (not isinstance(v, str) or not v.strip()):
            self.fail(key, f"expected a non-empty string, got {v!r}")
        return v

    def integer(
        self, t: dict[str, Any], key: str, default: Any = _MISSING, minimum: int = 0
    ) -> Any:
        v = self._get(t, key, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self.fail(key, f"expected a whole number of at least {minimum}, got {v!r}")
        return v

    def table(
        self, t: dict[str, Any], name: str, required: bool = False, key: str | None = None
    ) -> dict[str, Any]:
        v = t.get(name)
        if v is None:
            if required:
                self.fail(key or name, "is missing", f"a [{key or name}] table")
            return {}
        if not isinstance(v, dict):
            self.fail(key or name, f"expected a table, got {type(v).__name__}")
        return v

    def array_of_tables(self, t: dict[str, Any], name: str) -> list[dict[str, Any]]:
        v = t.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            self.fail(name, "expected an array of tables", f"[[{name}]] blocks")
        return v
