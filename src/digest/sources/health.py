"""How a source is doing: the health record of one reading, the teaser test it counts, and what
a reading is worth saying (`report`).

**Said once per change.** Most source problems are the publisher's (entries without titles,
missing dates, a feed that is down) and come back on every run; repeating them teaches people to
ignore warnings. So a source's problems are warnings only when its health changed since it was
last read (by any command: `gather`, `preview`, `send`, the scheduler, `digest sources check`),
and otherwise INFO lines, shown with `-v`. Its health, for this rule, is:

- whether it failed (status `error`) or was read (`200`, `304`, `file`, `folder` are alike);
- its problem text with the numbers taken out, so "10 of 20 entries have no title" and
  "11 of 20 entries have no title" are the same problem, and a failure's "(using the 20
  entries fetched …)" is left out; HTTP status codes stay in (404 and 500 are different);
- the feed it found when its URL is a web page.

A source read for the first time is compared with a healthy one: a problem is said, a clean
source is not. A source that is clean again after a problem or a failure is said once too (one
warning line), since no more warnings would otherwise look the same as the same problem going on.
`digest sources check` shows every current problem every time, and, like every reading, records
the health the next run compares with.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

from ..config import LEAD_PARAGRAPHS, LEAD_WORDS, SourceConfig
from ..models import Entry, SourceHealth, SourceRead
from ..state.health import HealthLog
from ..text import word_count
from ..urls import redact

__all__ = [
    "FAILED",
    "entries_health",
    "failed_health",
    "health_changed",
    "looks_like_teaser",
    "problem_key",
    "report",
]

log = logging.getLogger(__name__)

FAILED = ("error", "gone")
"""The statuses of a source that gave nothing new: it failed now, or answered 410 once."""


def looks_like_teaser(
    paragraphs: Sequence[str], max_paragraphs: int = LEAD_PARAGRAPHS, words: int = LEAD_WORDS
) -> bool:
    """For source health only, and cheap: fewer real paragraphs (8+ words) and words than a
    default lead needs. The summariser decides with the list's own lead settings."""
    prose = [p for p in paragraphs if word_count(p) >= 8]
    return len(prose) < max_paragraphs and word_count(prose) < words


def last_success(log: HealthLog, source: SourceConfig, ok: bool, now: datetime) -> datetime | None:
    """Now, or for a failure the last success on record (the state keeps it the same way)."""
    if ok:
        return now
    previous = log.get(source.location)
    return previous.last_success if previous else None


def failed_health(log: HealthLog, source: SourceConfig, reason: str, now: datetime) -> SourceHealth:
    """A source that gave nothing this time; recorded."""
    health = SourceHealth(
        name=source.name,
        kind=source.kind,
        location=source.location,
        checked_at=now,
        status="error",
        last_success=last_success(log, source, False, now),
        items=0,
        missing_dates=0,
        teasers=0,
        problem=reason,
    )
    log.record(health)
    return health


def entries_health(
    log: HealthLog,
    source: SourceConfig,
    entries: Sequence[Entry],
    problems: Sequence[str],
    status: str,
    feed_url: str | None,
    ok: bool,
    now: datetime,
) -> SourceHealth:
    """A feed's entries this time (fresh, cached or from its last good answer); recorded."""
    health = SourceHealth(
        name=source.name,
        kind="feed",
        location=source.location,
        checked_at=now,
        status=status,
        last_success=last_success(log, source, ok, now),
        items=len(entries),
        missing_dates=sum(1 for e in entries if e.published is None),
        teasers=sum(1 for e in entries if looks_like_teaser(e.paragraphs)),
        feed_url=feed_url,
        problem="; ".join(problems) or None,
    )
    log.record(health)
    return health


_USING_CACHED = re.compile(r"\s*\(using the \d+ entries fetched [^)]*\)")
_NUMBER = re.compile(r"(?<!HTTP )\b\d+(?:[.:,]\d+)*")


def problem_key(problem: str | None) -> str:
    """A problem text as the change rule compares it: without counts, times and the note about
    the cached entries used, so that only a different kind of problem is a change."""
    if not problem:
        return ""
    return " ".join(_NUMBER.sub("#", _USING_CACHED.sub("", problem)).split())


def _key(h: SourceHealth | None) -> tuple[bool, str, str | None]:
    if h is None:
        return (False, "", None)
    return (h.status in FAILED, problem_key(h.problem), h.feed_url)


def _unwell(h: SourceHealth | None) -> bool:
    return h is not None and (h.status in FAILED or bool(h.problem))


def health_changed(before: SourceHealth | None, after: SourceHealth) -> bool:
    """Whether a reading's health differs from the one recorded before it (see the module's
    rule); `before` is None for a source never read."""
    return _key(before) != _key(after)


def _when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def story(read: SourceRead, new: int | None = None, kept: int | None = None) -> str:
    """One line on what a source gave: `Town Notes: 20 items in the feed, 5 new, 3 kept
    (max_items 3)`. `new` (recent and not yet sent) and `kept` (chosen for the issue) are the
    gathering's counts, None for `digest sources check`."""
    h = read.health
    name = redact(read.source.name)
    last = f"last success {_when(h.last_success)}" if h.last_success else "never read"
    if h.status == "gone":
        return f"{name}: gone (HTTP 410); {_count(len(read.items), 'item')} from its last answer"
    if h.status == "error" and not read.items:
        return f"{name}: failed ({last})"
    if h.kind == "folder":
        line = f"{name}: {_count(h.items, 'file')}"
    elif h.status == "error":
        cached = _count(len(read.items), "item")
        line = f"{name}: failed ({last}); {cached} from its last good answer"
    else:
        where = {"304": "in the feed (not modified)", "file": "in the feed file"}
        line = f"{name}: {_count(h.items, 'item')} {where.get(h.status, 'in the feed')}"
    if new is not None and kept is not None:
        line += f", {new} new, {kept} kept"
        cap = read.source.max_items
        capped = min(new, cap) if cap else new
        why = [f"max_items {cap}"] if capped < new else []
        if kept < capped:
            why.append(f"{capped - kept} also in another source")
        line += f" ({', '.join(why)})" if why else ""
    return line


def report(
    read: SourceRead,
    before: SourceHealth | None,
    new: int | None = None,
    kept: int | None = None,
    *,
    problems: bool = True,
) -> int:
    """Log one reading of a source: its story (INFO), then each problem line, a warning only
    when the source's health changed since `before` (the module's rule), else INFO. With
    `problems=False` (`digest sources check`, whose table lists them) the problem lines are left
    out. Returns how many problem lines were warnings."""
    h = read.health
    changed = health_changed(before, h)
    line = story(read, new, kept)
    n = len(read.problems)
    if n:
        line += f"; {_count(n, 'problem')}"
        if problems:
            line += ", new since the last run" if changed else ", as in the last run"
    log.info("%s", line)
    if not problems:
        return 0
    if h.feed_url and (before is None or before.feed_url != h.feed_url):
        log.warning(
            "%s: %s is a web page; using the feed it links to, %s (put that URL in "
            "digest.toml to save a request)",
            redact(read.source.name),
            redact(h.location),
            redact(h.feed_url),
        )
    if changed and not n and _unwell(before):
        log.warning("%s: read without problems again", read.source.label)
    # A gone source is said every run: it stays in digest.toml until someone removes it.
    level = logging.WARNING if changed or h.status == "gone" else logging.INFO
    for p in read.problems:
        log.log(level, "%s", " ".join(p.split()))  # one line, whatever a server put in it
    return n if changed else 0
