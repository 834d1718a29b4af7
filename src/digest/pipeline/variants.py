"""Each reader's selection of an issue's stories (their topics), rendered once per distinct
selection and kept in the ledger, so a resumed send gives every reader the same content.

`Variants` is a send's `deliver.send.Letters`: the whole issue is the letter frozen when the
send started (rendered with the issue); any other selection is rendered from the issue's
frozen stories the first time one of its batches goes out, kept in the ledger before a reader
is claimed with it, and taken from there on a resume. `variant_recipients` streams the list's
readers with their selection: a reader the ledger already has keeps the selection recorded
for them (their copy went out, may have, or will be retried: it must be that content), and
any other reader gets the selection of the topics the CSV gives them now, from the same
frozen stories. A reader whose selection is empty is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from itertools import islice

from ..compose import render
from ..config import Config, ListConfig
from ..deliver.base import Letter, Recipient
from ..errors import StateError
from ..selection import FULL, Selection, Selector
from ..state import State
from ..state.sends import FrozenSend
from ..subscribers import SubscriberList
from .frozen import frozen_from
from .letter import letter_from, letter_json, letter_of, recipient
from .waves import WaveGate

__all__ = ["Variants", "variant_recipients"]

_LOOKUP = 900
"""Readers looked up in the ledger at once (SQLite's parameter limit is 999)."""


class Variants:
    """The letters of one issue's selections (a `Letters` callable), and what they cost."""

    def __init__(
        self, config: Config, lst: ListConfig, state: State, frozen: FrozenSend, now: datetime
    ) -> None:
        self.config, self.lst, self.state, self.now = config, lst, state, now
        self.issue_id = frozen.issue_id
        self.full = letter_from(frozen.letter)
        issue = frozen_from(frozen.issue) if frozen.issue else None
        self.digest = issue.digest if issue else None
        self.selector = Selector(issue.digest.articles, issue.for_everyone) if issue else None
        self._letters: dict[str, Letter] = {FULL: self.full}
        self.nothing_for = 0
        """Readers skipped: nothing in their topics."""
        self._resumed = state.sends.has_readers(lst.name, frozen.issue_id)

    def key_for(self, topics: tuple[str, ...]) -> str | None:
        """The selection of a reader with these topics; None when it is empty. An issue
        started before topics existed has only the whole issue."""
        if self.selector is None:
            return FULL
        chosen = self.selector.of(topics)
        return chosen.key if chosen.articles else None

    def recorded(self, keys: list[str]) -> dict[str, str]:
        """The selections the ledger has for these readers (none on a fresh send)."""
        if not self._resumed:
            return {}
        return self.state.sends.variants_of(self.lst.name, self.issue_id, keys)

    def __call__(self, key: str) -> Letter:
        found = self._letters.get(key)
        if found is None:
            kept = self.state.sends.variant(self.lst.name, self.issue_id, key)
            found = letter_from(kept) if kept is not None else self._render(key)
            self._letters[key] = found
        return found

    def _render(self, key: str) -> Letter:
        chosen: Selection | None = self.selector.by_key.get(key) if self.selector else None
        if chosen is None or self.digest is None:
            raise StateError(
                f"the ledger gives readers of {self.issue_id} a selection of stories "
                f"({key}) it has no copy of",
                "Run `digest status` and report this; the state file may be damaged.",
            )
        look = self.lst.compose
        rendered = render(
            replace(self.digest, articles=chosen.articles), look, self.config.templates_dir
        )
        letter = letter_of(rendered, self.lst, self.config, self.full.date, self.issue_id)
        kept = self.state.sends.add_variant(
            self.lst.name, self.issue_id, key, chosen.ids, letter_json(letter), self.now
        )
        return letter_from(kept)


def variant_recipients(
    config: Config,
    lst: ListConfig,
    secret: str,
    variants: Variants,
    gate: WaveGate | None = None,
) -> Iterator[Recipient]:
    """The list's subscribed readers, streamed, each with their selection (see the module's
    docstring); those with nothing in their topics are counted in `variants.nothing_for`.
    A reader-local send's `gate` lets through only the readers whose hour has come."""
    readers = _selected(config, lst, secret, variants)
    if gate is None:
        yield from (r for r, _ in readers)
    else:
        yield from gate.release(readers)


def _selected(
    config: Config, lst: ListConfig, secret: str, variants: Variants
) -> Iterator[tuple[Recipient, str]]:
    """Each reader with their selection, and their own `timezone` cell."""
    subs = SubscriberList(lst.subscribers).iter_active()
    while chunk := list(islice(subs, _LOOKUP)):
        recorded = variants.recorded([s.key for s in chunk])
        for sub in chunk:
            key = recorded.get(sub.key)
            if key is None:
                key = variants.key_for(sub.topics)
            if key is None:
                variants.nothing_for += 1
                continue
            yield recipient(config, lst, secret, sub, key), sub.timezone
