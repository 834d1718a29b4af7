"""The theme's fixed words in the list's language: gettext catalogs (`locales/LANG.po`, read
with Babel when first needed, so there is no build step and no compiled file to keep in step),
dates and numbers from Babel (CLDR), and the list's own words from `[lists.NAME.words]` over
both. The keys are `THEME_WORDS` (config); the English words here are the catalogs' msgids."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from ..config import ComposeSettings
from ..config.model import THEME_WORDS, WordOverride

__all__ = [
    "ENGLISH",
    "LOCALES",
    "Words",
    "catalog_languages",
    "format_day",
    "format_time",
    "locale_of",
    "right_to_left",
    "words_for",
]

LOCALES = Path(__file__).resolve().parent / "locales"

ENGLISH: dict[str, str | tuple[str, str]] = {
    "greeting": "Good morning",
    "stories_today": ("{count} story today.", "{count} stories today."),
    "read_more": "Read more",
    "left_out": (
        "{count} more story was left out to keep this email short.",
        "{count} more stories were left out to keep this email short.",
    ),
    "unsubscribe": "Unsubscribe",
    "sent_to": "sent to",
    "view_in_browser": "View in browser",
    # Babel date patterns (or one of full, long, medium, short: CLDR's for the language).
    "date_long": "EEEE d MMMM y",
    "date_short": "d MMM y",
    "in_this_issue": "In this issue",
    "issue_number": ("Issue {count}", "Issue {count}"),
    "also": "Also",
    "also_covered_by": "Also covered by",
    # A story's time, in the list's zone: a Babel pattern, or a CLDR format name.
    "story_time": "d MMM, HH:mm",
}
"""Each theme word in English, a counted one as (singular, plural)."""
assert set(ENGLISH) == set(THEME_WORDS)

_CLDR_DATES = {"date_long": "full", "date_short": "medium", "story_time": "short"}
"""A language with no catalog takes its dates in CLDR's formats (the English patterns above
would put its words in English order)."""


def locale_of(language: str) -> Locale:
    """The Babel locale of a BCP 47 tag (config checked that Babel knows it)."""
    return Locale.parse(language, sep="-")


def catalog_languages() -> list[str]:
    """The languages the theme ships words for, besides English."""
    return sorted(p.stem for p in LOCALES.glob("*.po"))


@functools.lru_cache(maxsize=32)
def _translations(language: str) -> NullTranslations:
    """The catalog for `language` (`pt-BR` falls back to `pt`), or none: English words."""
    loc = locale_of(language)
    for name in (str(loc), loc.language):
        po = LOCALES / f"{name}.po"
        if po.is_file():
            with po.open("rb") as f:
                catalog = read_po(f, locale=name)
            mo = io.BytesIO()
            write_mo(mo, catalog)
            mo.seek(0)
            return Translations(mo)
    return NullTranslations()


class Words:
    """What templates call `words`: `words.read_more` is a word, `words.stories_today(count)`
    a counted one with its number in place, in the plural form the language uses for it."""

    def __init__(self, language: str, overrides: tuple[tuple[str, WordOverride], ...] = ()):
        self.locale = locale_of(language)
        """The Babel locale (dates, numbers, plural rules)."""
        self._t = _translations(language)
        self._own = dict(overrides)
        self._uncatalogued = (
            isinstance(self._t, NullTranslations)
            and not isinstance(self._t, Translations)
            and self.locale.language != "en"
        )
        for key, english in ENGLISH.items():
            if THEME_WORDS[key]:
                setattr(self, key, self._counted(key, english))
            else:
                assert isinstance(english, str)
                setattr(self, key, self._word(key, english))

    def _word(self, key: str, english: str) -> str:
        own = self._own.get(key)
        if isinstance(own, str):
            return own
        if key in _CLDR_DATES and self._uncatalogued:
            return _CLDR_DATES[key]
        return self._t.gettext(english)

    def _counted(self, key: str, english: str | tuple[str, str]) -> Callable[[int], str]:
        singular, plural = english
        own = self._own.get(key)

        def say(count: int) -> str:
            if isinstance(own, str):
                text = own
            elif own is not None:
                forms = dict(own)
                text = forms.get(self.locale.plural_form(count), forms["other"])
            else:
                text = self._t.ngettext(singular, plural, count)
            return text.replace("{count}", format_decimal(count, locale=self.locale))

        return say


def format_day(words: Words, d: date, key: str) -> str:
    """`d` as the word `key` (date_long, date_short) says: a Babel pattern or format name."""
    return format_date(d, getattr(words, key), locale=words.locale)


def format_time(words: Words, when: datetime, zone: str) -> str:
    """A story's time in the list's zone, as the word `story_time` says."""
    return format_datetime(when.astimezone(ZoneInfo(zone)), words.story_time, locale=words.locale)


def right_to_left(words: Words) -> bool:
    return words.locale.character_order == "right-to-left"


def words_for(look: ComposeSettings) -> Words:
    return Words(look.language, look.words)
