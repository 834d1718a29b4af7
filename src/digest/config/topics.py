"""Topics in `digest.toml`: a source's `topics`, the `[topics]` table (feed categories that mean
a topic) and a list's `for_everyone`. One rule for a topic's name, shared with the readers'
`topics` column, so "Science" in a CSV file matches `science` in the settings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..text import control_character
from .values import Reader, did_you_mean, key_text

__all__ = [
    "TOPIC_HINT",
    "category_topics",
    "is_topic",
    "parse_topic_table",
    "topic_list",
    "topic_name",
]

TOPIC_CHARS = 40
_TOPIC = re.compile(r"^\w[\w\- ]*$")
TOPIC_HINT = 'a short name such as "science" or "local-news" (letters, digits, - and _)'


def topic_name(text: str) -> str:
    """A topic as digest compares it: trimmed, inner spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()


def is_topic(name: str) -> bool:
    """Whether a name (as `topic_name` gives it) is a usable topic."""
    return 0 < len(name) <= TOPIC_CHARS and bool(_TOPIC.match(name))


def _checked(r: Reader, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        r.fail(key, f"expected a topic name, got {value!r}", TOPIC_HINT)
    if control_character(value, breaks=False):
        r.fail(key, "holds a control character", TOPIC_HINT)
    name = topic_name(value)
    if not is_topic(name):
        r.fail(key, f"{value!r} is not a topic name", TOPIC_HINT)
    return name


def topic_list(r: Reader, t: dict[str, Any], key: str) -> tuple[str, ...]:
    """`topics = ["science", "space"]` (or one string): sorted, lower-case, each once."""
    raw = t.get(key.rsplit(".", 1)[-1])
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        r.fail(key, f"expected a list of topic names, got {raw!r}", '["science", "space"]')
    return tuple(sorted({_checked(r, f"{key}[{i}]", v) for i, v in enumerate(raw)}))


def parse_topic_table(r: Reader, data: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`[topics]`: each topic and the feed categories that mean it (as written; they are
    matched ignoring case and spacing)."""
    out: dict[str, tuple[str, ...]] = {}
    for topic, categories in r.table(data, "topics").items():
        key = f"topics.{key_text(topic)}"
        name = _checked(r, key, topic)
        if name in out:
            r.fail(key, f"is the topic {name!r} again (names ignore case)", "each topic once")
        if isinstance(categories, str):
            categories = [categories]
        if not isinstance(categories, list) or not categories:
            r.fail(key, "expected a list of feed categories", 'e.g. ["Science", "Space"]')
        for i, c in enumerate(categories):
            if not isinstance(c, str) or not c.strip() or control_character(c, breaks=False):
                r.fail(f"{key}[{i}]", f"expected a feed category, got {c!r}", '"Science"')
        out[name] = tuple(categories)
    return tuple(sorted(out.items()))


def category_topics(table: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    """Feed category (as `topic_name` makes it) → the topics it means, for reading feeds."""
    found: dict[str, set[str]] = {}
    for topic, categories in table:
        for c in categories:
            found.setdefault(topic_name(c), set()).add(topic)
    return {c: tuple(sorted(ts)) for c, ts in found.items()}


def check_for_everyone(
    r: Reader, key: str, wanted: tuple[str, ...], producible: Mapping[str, object]
) -> None:
    """A `for_everyone` topic no source of the list has and no `[topics]` entry maps to is
    an error: a typo there would quietly keep those stories from most readers."""
    for i, topic in enumerate(wanted):
        if topic not in producible:
            known = ", ".join(sorted(producible)) or "none (give a source topics, or add [topics])"
            r.fail(
                f"{key}[{i}]",
                f"no source of this list has the topic {topic!r} and [topics] does not map "
                f"feed categories to it{did_you_mean(topic, producible)}",
                f"a topic of this list: {known}",
            )
