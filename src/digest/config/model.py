"""The settings of a newsletter folder, as the rest of digest sees them: frozen, checked, and
with small views (`LeadSettings`, `ComposeSettings`) so each stage takes only what it needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from ..errors import ConfigError
from ..urls import redact
from .delivery import DeliverySettings
from .values import did_you_mean

CONFIG_NAME = "digest.toml"
FULL_TEXT_MODES = ("auto", "always", "never")
FullText = Literal["auto", "always", "never"]

DEFAULT_SUBJECT = "{{ title }}: {{ top_title }}"
DEFAULT_PREHEADER = "{{ also_line }}"
DEFAULT_REASON = "You are receiving this because you subscribed to {{ title }}."
LEAD_PARAGRAPHS = 2
LEAD_WORDS = 90
HOLD_OVER_HOURS = 72
POLL_MINUTES = 60
KEEP_DAYS = 90
READER_LOCAL = "reader-local"
DELIVER_MODES = ("list", READER_LOCAL)
"""`[lists.NAME] deliver`: everyone at the list's hour, or each reader at their own."""

LIST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""A list name becomes file names (`subscribers/<name>.csv`, previews) and part of URLs."""
SOURCE_NAME_CHARS = 200

THEME_WORDS = {
    "greeting": False,
    "stories_today": True,
    "read_more": False,
    "left_out": True,
    "unsubscribe": False,
    "sent_to": False,
    "view_in_browser": False,
    "date_long": False,
    "date_short": False,
    "in_this_issue": False,
    "issue_number": True,
    "also": False,
    "also_covered_by": False,
    "story_time": False,
}
"""The theme's fixed words a list can set in `[lists.NAME.words]` (docs/templates.md), and
whether each takes a count (then it is a string with `{count}`, or a table of plural forms)."""
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
"""CLDR's plural categories: the keys of a counted word's table in `[lists.NAME.words]`."""

WordOverride = str | tuple[tuple[str, str], ...]
"""A word as digest.toml sets it: one string, or (category, string) pairs for a counted word."""


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
    archive: bool = True
    """Whether the issue links to its web version."""
    words: tuple[tuple[str, WordOverride], ...] = ()
    """The list's own theme words (`[lists.NAME.words]`), over its language's catalog."""
    timezone: str = "UTC"
    """Where story times are shown in (the list's zone)."""
    address: str = ""
    """The sender's postal address for the footer (CAN-SPAM asks it of commercial mail)."""
    logo: str | None = None
    """An https URL of the masthead's logo, shown `logo_width` pixels wide."""
    logo_width: int = 160
    logo_height: int | None = None
    sections: bool = True
    """Group stories under a heading per section (a source's `section`, else its name) when an
    issue has more than one."""


@dataclass(frozen=True)
class SourceConfig:
    """One place articles come from: a feed (URL or local file) or a folder of article files."""

    name: str
    kind: Literal["feed", "folder"]
    location: str
    """An http(s) URL, or an absolute path (relative paths are resolved against the config)."""
    max_items: int | None = None
    full_text: FullText = "auto"
    section: str | None = None
    """The heading its stories go under in the email (else the source's name)."""
    topics: tuple[str, ...] = ()
    """Topics every story of this source has (lower-case)."""
    priority: int = 0
    """When sources tell the same story, the copy from the highest priority is shown."""
    poll_minutes: int = POLL_MINUTES
    """How often `digest poll` and `digest schedule` read the feed between issues (0: never);
    the feed's own hints (`<ttl>`, `Cache-Control: max-age`) may make it less often."""

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
    hold_over_hours: int = HOLD_OVER_HOURS
    """How long a story an issue had no room for is kept for later ones, from its publication
    (see `gather`, rule 2)."""
    send_at: str = "07:00"
    """`HH:MM` every day, or a five-field cron expression (`0 7 * * 1-5`), in `timezone`."""
    subject: str = DEFAULT_SUBJECT
    preheader: str = DEFAULT_PREHEADER
    reason: str = DEFAULT_REASON
    backend: str | None = None
    """This list's sender, when it is not `[delivery] backend`."""
    reply_to: str | None = None
    min_articles: int = 1
    """An issue with fewer new articles is not sent (nothing new: a plain message, exit 0)."""
    grace_hours: int = 6
    """How late a scheduled send may still go out (after a restart or a machine asleep)."""
    archive: bool = True
    """Whether `digest serve` shows the sent issues (`/issues/…`, `/archive/…`) and every
    message links to its web version ("view in browser")."""
    words: tuple[tuple[str, WordOverride], ...] = ()
    """`[lists.NAME.words]`: theme words that replace the language's (see `THEME_WORDS`)."""
    address: str = ""
    """The sender's postal address, shown in every footer (CAN-SPAM asks it of commercial mail)."""
    logo: str | None = None
    logo_width: int = 160
    logo_height: int | None = None
    sections: bool = True
    for_everyone: tuple[str, ...] = ()
    """Topics whose stories every reader gets, whatever topics the reader chose."""
    deliver: str = "list"
    """`list`: every reader at `send_at` in the list's zone; `reader-local`: each reader at
    `send_at` in their own zone (the CSV's `timezone`, else the list's), in waves."""

    @property
    def reader_local(self) -> bool:
        return self.deliver == READER_LOCAL

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
            archive=self.archive,
            words=self.words,
            timezone=self.timezone,
            address=self.address,
            logo=self.logo,
            logo_width=self.logo_width,
            logo_height=self.logo_height,
            sections=self.sections,
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
    base_url_given: bool = False
    """Whether digest.toml sets `base_url` (a real send needs it: the unsubscribe links)."""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    keep_days: int = KEEP_DAYS
    """`[newsletter] keep_days`: how long the state keeps entries polls saw (unless an issue
    in that time used them)."""
    topics: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """`[topics]`: each topic and the feed categories that mean it (`science = ["Science",
    "Space"]`); a feed item with such a category has that topic."""

    def get_list(self, name: str | None = None) -> ListConfig:
        """The named list, or the first one when no name is given."""
        if name is None:
            return next(iter(self.lists.values()))
        try:
            return self.lists[name]
        except KeyError:
            known = ", ".join(self.lists) or "none"
            raise ConfigError(
                f"{self.path}: there is no list named {name!r} (lists: {known})"
                + did_you_mean(name, self.lists),
                f"Use --list with one of: {known}, or add [lists.{name}] to {CONFIG_NAME}.",
            ) from None

    def sources_for(self, lst: ListConfig) -> tuple[SourceConfig, ...]:
        if lst.sources is None:
            return self.sources
        by_name = {s.name: s for s in self.sources}
        return tuple(by_name[n] for n in lst.sources)
