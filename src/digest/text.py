"""Text and time helpers every stage shares, so each rule is written once.

Paragraphs, words and comparisons are used by the sources (feed and file text), the summariser
(leads) and gathering (which copy has the most text); times are kept in UTC everywhere, and a
`--since` value means the same to `digest gather`, `digest preview` and, later, the scheduler.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "as_utc",
    "clean",
    "control_character",
    "line",
    "norm",
    "paragraphs",
    "parse_iso",
    "parse_since",
    "shorten",
    "site_line",
    "visible",
    "word_count",
]

_SPACES = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n\s*\n")
_NOT_ALNUM = re.compile(r"[\W_]+")
# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
# overrides and isolates (which make a terminal or mail client show text other than it is).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What has no place in one line of plain text: C0 and C1 controls, DEL, line and paragraph
separators, bidirectional embeddings, overrides and isolates."""
_CONTROL_BUT_BREAKS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def clean(text: str) -> str:
    """One line: every run of white space (line breaks, no-break spaces) made one space."""
    return _SPACES.sub(" ", text).strip()


# Characters that change how text reads without being seen: bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069, which can make a Subject read backwards), marks, the
# zero-width space, the word joiner, the BOM, the C0/C1 controls, tag characters (which hide
# text: U+E0000 on), variation selectors other than the emoji one (U+FE0F), and characters that
# show as blank (Hangul fillers, the braille blank). ZWJ and ZWNJ (U+200C, U+200D) stay: emoji
# sequences and Persian or Indic words need them.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u2800"
    "\u3164\ufe00-\ufe0e\ufeff\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def visible(text: str) -> str:
    """Without invisible and direction-changing characters (see `_INVISIBLE`)."""
    return _INVISIBLE.sub("", text)


def line(text: str) -> str:
    """One visible line: invisible characters gone, line breaks and runs of space one space."""
    return clean(visible(text))


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last space that fits (or mid-word when there is
    none) and marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff66-\uff9f]"
)
"""A character of a script written without spaces between words (Thai, Lao, Myanmar, Khmer,
kana and CJK ideographs)."""
_CUT_MARK = re.compile(r"\s*[\[(]?(?:…|\.\.\.)[\])]?$")
_FIRST_SENTENCE = re.compile(r"^.+?[.!?…。！？؟][\"'”’»)\]」』]*(?=\s|$)", re.S)


def finish_teaser(text: str) -> str:
    """A paragraph that stops mid-word or mid-clause (a feed's teaser cut at so many
    characters: "…era-and that s") ends at its last whole word with "…"; one that ends in any
    punctuation, symbol or emoji (a full stop, "؟", a colon, "(AP)", "🎉") is finished and left
    as it is; a feed's own "[…]" or "..." becomes that same "…"."""
    text = text.rstrip()
    marked = _CUT_MARK.search(text)
    if marked:
        text = text[: marked.start()].rstrip()
    if not text or not (marked or _looks_cut(text[-1])):
        return text
    space = text.rfind(" ")
    if not marked and space > 0 and not UNSPACED.match(text[-1]):
        text = text[:space]  # the last word may be a fragment: the feed cut it anywhere
    return text.rstrip(" ,;:-–—") + "…"


def _looks_cut(last: str) -> bool:
    """Text cut at a character count ends in a letter, a digit or a joining mark."""
    return unicodedata.category(last)[0] in "LN" or last in ",;-–—"


def first_sentence(text: str) -> str:
    """Up to the first sentence end (or the whole text when there is none)."""
    m = _FIRST_SENTENCE.match(text)
    return m.group(0) if m else text


TITLE_CHARS = 300
"""Longer titles are cut at a word (with "…"): a headline is a line, not a page."""


def title_line(text: str) -> str:
    """A title, author or name as shown: one visible line of at most `TITLE_CHARS`."""
    return shorten(line(text), TITLE_CHARS)


SITE_CHARS = 100
"""A publisher's name is a few words; longer is a tagline or a feed title used as an ad."""


def site_line(text: object) -> str | None:
    """A site's own name as shown beside its story (`og:site_name`, a feed's title): one
    visible line of at most `SITE_CHARS`, or None when there is no text."""
    if not isinstance(text, str):
        return None
    return shorten(line(text), SITE_CHARS) or None


def control_character(text: str, *, breaks: bool = False) -> str | None:
    """The first control character in `text` as `U+000A`, or None. Settings that reach message
    headers, file names or one-line messages refuse them; with `breaks`, tab and line breaks
    are allowed (for templates, whose output is made one line)."""
    m = (_CONTROL_BUT_BREAKS if breaks else CONTROL).search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def norm(text: str) -> str:
    """For comparing texts: lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", text.lower())


def word_count(text: str | Iterable[str]) -> int:
    """Words in a text, or in all of a sequence of paragraphs."""
    if isinstance(text, str):
        return len(text.split())
    return sum(len(p.split()) for p in text)


def paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of plain text: a blank line (spaces allowed) ends one; the lines within one
    are joined with a space."""
    blocks = _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    return tuple(p for p in (clean(b) for b in blocks) if p)


def as_utc(value: datetime | date) -> datetime:
    """A time in UTC; a time without a zone is taken as UTC, a bare date as its midnight.
    Raises ValueError for a time that leaves the calendar once moved to UTC (year 1 or 9999
    with an offset)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is outside the calendar in UTC") from None


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 date or time (a trailing `Z` too) in UTC, or None if it is not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):  # OverflowError: a year 1 or 9999 time moved to UTC
        return None


_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """`2d`, `12h`, `30m`, `1w`, an ISO date (midnight in `zone`) or date-time (in `zone` when
    it names none), as a UTC time. Raises ValueError with a message for a person for anything
    else, a span that reaches back before the year 1 included."""
    now = now or datetime.now(UTC)
    m = _RELATIVE.match(value)
    if m:
        try:
            return now - timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
        except (ValueError, OverflowError):  # too many digits, or too far back
            raise ValueError(
                f"{_short(value)} reaches back before the year 1; use a shorter span or a date"
            ) from None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{_short(value)} is neither a time span nor an ISO date") from None
    if len(value.strip()) == 10:  # a bare date
        dt = datetime.combine(dt.date(), time(0), tzinfo=zone)
    elif dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{_short(value)} is outside the years 1 to 9999 once in UTC; use a later date"
        ) from None


def _short(value: str) -> str:
    """A value as a message quotes it: at most 40 characters of it."""
    return repr(value if len(value) <= 40 else value[:37] + "...")
