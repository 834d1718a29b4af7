"""Reading `digest.toml` into a `Config`: find it, parse the TOML, check every table."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import babel
import babel.dates

from ..cron import cron_trigger
from ..errors import ConfigError
from .delivery import backend, parse_delivery
from .model import (
    CONFIG_NAME,
    DEFAULT_PREHEADER,
    DEFAULT_REASON,
    DEFAULT_SUBJECT,
    DELIVER_MODES,
    FULL_TEXT_MODES,
    HOLD_OVER_HOURS,
    KEEP_DAYS,
    LEAD_PARAGRAPHS,
    LEAD_WORDS,
    LIST_NAME,
    PLURAL_CATEGORIES,
    POLL_MINUTES,
    SOURCE_NAME_CHARS,
    THEME_WORDS,
    Config,
    ListConfig,
    SourceConfig,
    WordOverride,
)
from .topics import check_for_everyone, parse_topic_table, topic_list
from .values import (
    LANGUAGE,
    LIST_NAME_HINT,
    SEND_AT,
    Reader,
    base_url,
    did_you_mean,
    key_text,
    logo_url,
    only_keys,
    postal_address,
    section,
    sender,
    source_location,
)


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
    r = Reader(path)
    root = path.parent.resolve()
    only_keys(r, data, "", {"newsletter", "sources", "lists", "delivery", "topics"})
    newsletter = r.table(data, "newsletter", required=False)
    keys = {"templates", "state", "base_url", "poll_minutes", "keep_days"}
    only_keys(r, newsletter, "newsletter", keys)
    poll_default = r.integer(newsletter, "newsletter.poll_minutes", default=POLL_MINUTES)
    templates_dir = root / r.string(newsletter, "newsletter.templates", default="templates")
    state_dir = root / r.string(newsletter, "newsletter.state", default=".digest")
    web_base = base_url(r, newsletter)

    sources = tuple(
        _parse_source(r, s, f"sources[{i}]", root, poll_default)
        for i, s in enumerate(r.array_of_tables(data, "sources"))
    )
    seen: set[str] = set()
    for i, s in enumerate(sources):
        if s.name in seen:
            r.fail(f"sources[{i}].name", f"the name {s.name!r} is used twice", "names must differ")
        seen.add(s.name)
    topics = parse_topic_table(r, data)

    lists_raw = r.table(data, "lists", required=True)
    if not lists_raw:
        r.fail("lists", "no list is defined", "add a table such as [lists.daily]")
    lists = {
        name: _parse_list(r, r.table(lists_raw, name, key=key), name, key, root, seen)
        for name, key in _list_keys(r, lists_raw)
    }
    for lst in lists.values():
        _check_topics(r, lst, sources, topics)
    return Config(
        path=path,
        root=root,
        lists=lists,
        sources=sources,
        templates_dir=templates_dir,
        state_dir=state_dir,
        base_url=web_base,
        base_url_given="base_url" in newsletter,
        delivery=parse_delivery(r, data, root),
        keep_days=r.integer(newsletter, "newsletter.keep_days", default=KEEP_DAYS),
        topics=topics,
    )


def _check_topics(
    r: Reader,
    lst: ListConfig,
    sources: tuple[SourceConfig, ...],
    table: tuple[tuple[str, tuple[str, ...]], ...],
) -> None:
    """The list's `for_everyone` topics must be ones its stories can have."""
    names = set(lst.sources) if lst.sources is not None else {s.name for s in sources}
    producible = {t: None for s in sources if s.name in names for t in s.topics}
    producible |= {t: None for t, _ in table}
    key = f"lists.{key_text(lst.name)}.for_everyone"
    check_for_everyone(r, key, lst.for_everyone, producible)


def _list_keys(r: Reader, lists_raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Each list's name and key. A name becomes file and URL parts, so it is a plain word,
    and two names never differ only in case (some disks ignore case)."""
    names: dict[str, str] = {}
    out = []
    for name in lists_raw:
        key = f"lists.{key_text(name)}"
        if not LIST_NAME.match(name):
            r.fail(key, "is not a usable list name (it names files and links)", LIST_NAME_HINT)
        if (other := names.setdefault(name.lower(), name)) != name:
            r.fail(key, f"differs from lists.{other} only in case", "names that differ more")
        out.append((name, key))
    return out


def _parse_source(
    r: Reader, s: dict[str, Any], key: str, root: Path, poll_minutes: int = POLL_MINUTES
) -> SourceConfig:
    keys = {"name", "feed", "folder", "max_items", "full_text", "section", "topics", "priority"}
    keys.add("poll_minutes")
    only_keys(r, s, key, keys)
    if ("feed" in s) == ("folder" in s):
        r.fail(key, "needs exactly one of `feed` or `folder`", 'e.g. feed = "https://…/rss"')
    kind: Literal["feed", "folder"] = "feed" if "feed" in s else "folder"
    location = source_location(r, s, f"{key}.{kind}", root)
    default_name = _default_source_name(kind, location)
    max_items = r.integer(s, f"{key}.max_items", default=None)
    full_text = r.string(s, f"{key}.full_text", default="auto")
    if full_text not in FULL_TEXT_MODES:
        problem = f"{full_text!r} is not allowed{did_you_mean(full_text, FULL_TEXT_MODES)}"
        r.fail(f"{key}.full_text", problem, "use auto, always or never")
    name = r.string(s, f"{key}.name", default=default_name)
    if len(name) > SOURCE_NAME_CHARS:
        r.fail(f"{key}.name", "is too long", f"at most {SOURCE_NAME_CHARS} characters")
    return SourceConfig(
        name=name,
        kind=kind,
        location=location,
        max_items=max_items,
        full_text=full_text,  # type: ignore[arg-type]
        section=section(r, s, f"{key}.section"),
        topics=topic_list(r, s, f"{key}.topics"),
        priority=r.integer(s, f"{key}.priority", default=0),
        poll_minutes=r.integer(s, f"{key}.poll_minutes", default=poll_minutes),
    )


def _default_source_name(kind: str, location: str) -> str:
    """A readable name for an unnamed source; never one that shows a password in a URL."""
    if kind == "feed" and location.startswith(("http://", "https://")):
        parts = urlsplit(location)
        host = parts.hostname or location
        return f"{host}{parts.path}".rstrip("/") or host
    return Path(location).name


_LIST_KEYS = {"title", "sender", "timezone", "language", "subscribers", "sources", "send_at"}
_LIST_KEYS |= {"paragraphs", "lead_words", "max_articles", "lookback_hours"}
_LIST_KEYS |= {"subject", "preheader", "reason", "backend", "reply_to", "min_articles"}
_LIST_KEYS |= {"grace_hours", "archive"}
_LIST_KEYS |= {"hold_over_hours"}
_LIST_KEYS |= {"words"}
_LIST_KEYS |= {"address", "logo", "logo_width", "logo_height", "sections"}
_LIST_KEYS |= {"for_everyone"}
_LIST_KEYS |= {"deliver"}


def _schedule_problem(text: str) -> str | None:
    """Why `send_at` is no schedule (read as the scheduler reads it), or None."""
    try:
        cron_trigger(text, ZoneInfo("UTC"))
    except ValueError as exc:
        return str(exc)
    return None


def _parse_list(
    r: Reader, t: dict[str, Any], name: str, k: str, root: Path, source_names: set[str]
) -> ListConfig:
    only_keys(r, t, k, _LIST_KEYS)
    tz = r.string(t, f"{k}.timezone", default="UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
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
                problem = f"no source is named {s!r}{did_you_mean(s, source_names)}"
                r.fail(f"{k}.sources", problem, f"sources are: {known}")
        sources = tuple(sources)
    send_at = r.string(t, f"{k}.send_at", default="07:00").strip()
    problem = None if SEND_AT.match(send_at) else _schedule_problem(send_at)
    if problem:
        r.fail(
            f"{k}.send_at",
            f"{send_at!r} is neither a time of day nor a cron expression ({problem})",
            'HH:MM such as "07:30", or five cron fields such as "0 7 * * 1-5" (weekdays)',
        )
    language = r.string(t, f"{k}.language", default="en")
    if not LANGUAGE.match(language):
        r.fail(f"{k}.language", f"{language!r} is not a language tag", 'e.g. "en" or "pt-BR"')
    try:
        babel.Locale.parse(language, sep="-")
    except (ValueError, babel.UnknownLocaleError):
        r.fail(f"{k}.language", f"{language!r} is no language Babel knows", 'e.g. "en" or "pt-BR"')
    return ListConfig(
        name=name,
        title=r.string(t, f"{k}.title", default=name.replace("-", " ").title()),
        sender=sender(r, t, f"{k}.sender"),
        timezone=tz,
        language=language,
        subscribers=root / r.string(t, f"{k}.subscribers", default=f"subscribers/{name}.csv"),
        sources=sources,
        paragraphs=r.integer(t, f"{k}.paragraphs", default=LEAD_PARAGRAPHS),
        lead_words=r.integer(t, f"{k}.lead_words", default=LEAD_WORDS),
        max_articles=r.integer(t, f"{k}.max_articles", default=20),
        lookback_hours=r.integer(t, f"{k}.lookback_hours", default=24),
        hold_over_hours=r.integer(t, f"{k}.hold_over_hours", default=HOLD_OVER_HOURS),
        send_at=send_at,
        subject=r.string(t, f"{k}.subject", default=DEFAULT_SUBJECT, breaks=True),
        preheader=r.string(t, f"{k}.preheader", default=DEFAULT_PREHEADER, breaks=True),
        reason=r.string(t, f"{k}.reason", default=DEFAULT_REASON, breaks=True),
        backend=backend(r, t, f"{k}.backend", None),
        reply_to=sender(r, t, f"{k}.reply_to") if "reply_to" in t else None,
        min_articles=r.integer(t, f"{k}.min_articles", default=1),
        grace_hours=r.integer(t, f"{k}.grace_hours", default=6),
        archive=r.boolean(t, f"{k}.archive", default=True),
        words=_parse_words(r, t, f"{k}.words", language),
        address=postal_address(r, t, f"{k}.address"),
        logo=logo_url(r, t, f"{k}.logo"),
        logo_width=r.integer(t, f"{k}.logo_width", default=160),
        logo_height=r.integer(t, f"{k}.logo_height", default=None),
        sections=r.boolean(t, f"{k}.sections", default=True),
        for_everyone=topic_list(r, t, f"{k}.for_everyone"),
        deliver=_deliver_mode(r, t, f"{k}.deliver"),
    )


def _deliver_mode(r: Reader, t: dict[str, Any], key: str) -> str:
    """`list` (everyone at the list's hour) or `reader-local` (each at their own)."""
    value = r.string(t, key, default="list")
    if value not in DELIVER_MODES:
        r.fail(
            key,
            f"{value!r} is not a way to deliver{did_you_mean(value, DELIVER_MODES)}",
            '"list" (everyone at send_at in the list\'s timezone) or "reader-local" (each '
            "reader at send_at in the timezone column of their row)",
        )
    return value


def _parse_words(
    r: Reader, t: dict[str, Any], k: str, language: str
) -> tuple[tuple[str, WordOverride], ...]:
    """`[lists.NAME.words]`: known words only; a counted word may be a table of plural forms."""
    out: list[tuple[str, WordOverride]] = []
    for word, value in r.table(t, "words", key=k).items():
        key = f"{k}.{key_text(word)}"
        if word not in THEME_WORDS:
            problem = f"is not a word of the theme{did_you_mean(word, THEME_WORDS)}"
            r.fail(key, problem, "one of " + ", ".join(THEME_WORDS))
        if not (THEME_WORDS[word] and isinstance(value, dict)):
            counted = THEME_WORDS[word]
            hint = "a string with {count}, or a table of plural forms" if counted else None
            out.append((word, r.string({word: value}, key, hint=hint)))
            if word in ("date_long", "date_short", "story_time"):
                _check_date_pattern(r, key, value, language, with_time=word == "story_time")
            continue
        for form in value:
            if form not in PLURAL_CATEGORIES:
                problem = f"{form!r} is no plural form{did_you_mean(form, PLURAL_CATEGORIES)}"
                r.fail(f"{key}.{key_text(form)}", problem, ", ".join(PLURAL_CATEGORIES))
        if "other" not in value:
            r.fail(key, "needs an `other` form", 'e.g. other = "{count} Artikel heute."')
        out.append((word, tuple((f, r.string(value, f"{key}.{f}")) for f in value)))
    return tuple(out)


def _check_date_pattern(
    r: Reader, key: str, pattern: str, language: str, *, with_time: bool = False
) -> None:
    """A date word formats a date with Babel (a pattern with a time field cannot); a time
    word (`story_time`) a date and time."""
    locale = babel.Locale.parse(language, sep="-")
    try:
        if with_time:
            babel.dates.format_datetime(
                datetime(2026, 1, 5, 7, 30, tzinfo=UTC), pattern, locale=locale
            )
        else:
            babel.dates.format_date(date(2026, 1, 5), pattern, locale=locale)
    except (ValueError, AttributeError, KeyError, TypeError):
        r.fail(
            key,
            f"{pattern!r} is not a date pattern",
            'full, long, medium, short, or Babel date letters such as "EEEE d MMMM y" '
            "(quote other words: \"d 'de' MMMM\")",
        )
