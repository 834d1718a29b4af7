"""Stops learnt from outside the list (a provider's suppression lists, bounce messages) applied
to it in one rewrite, with the list's precedence: a stronger stop is never replaced by a
weaker one (complained > bounced > unsubscribed), so a complaint stays a complaint when the
same reader also unsubscribed. Running it twice changes nothing the second time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import SubscriberError
from .addresses import InvalidAddress, normalise
from .changes import SettingStatuses, StatusUpdate
from .listfile import Problem
from .model import STATUSES, weaker
from .store import SubscriberList

__all__ = ["Found", "Tally", "apply_stops"]

STRENGTH = {status: n for n, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class Found:
    """Addresses one source gave for one kind of stop (`bounces` → `bounced`)."""

    kind: str
    status: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class Tally:
    """What became of one kind's addresses: `changed` rows, rows `already` so (this status or
    a stronger one, also when an earlier or stronger kind of this run changed the row),
    and addresses `not_on_list`. `found` counts distinct addresses."""

    kind: str
    status: str
    found: int = 0
    changed: int = 0
    already: int = 0
    not_on_list: int = 0


def apply_stops(
    people: SubscriberList,
    found: Sequence[Found],
    *,
    dry_run: bool = False,
    at: datetime | None = None,
) -> list[Tally]:
    """Give each address on the list its strongest stop found. `dry_run` reads the list and
    reports the same counts, writing nothing."""
    when = at or datetime.now(UTC)
    wanted: dict[str, tuple[str, str]] = {}  # key → (status, kind that gave it)
    keys_of: list[tuple[Found, set[str]]] = []
    for f in found:
        keys = {_key(e) for e in f.emails if e.strip()}
        keys_of.append((f, keys))
        for k in keys:
            have = wanted.get(k)
            if have is None or STRENGTH[f.status] > STRENGTH[have[0]]:
                wanted[k] = (f.status, f.kind)
    updates = {
        k: StatusUpdate(status, when, weaker(status)) for k, (status, _kind) in wanted.items()
    }
    outcomes = _preview(people, updates) if dry_run else people.set_statuses(updates)
    tallies = []
    for f, keys in keys_of:
        changed = missing = 0
        for k in keys:
            outcome = outcomes.get(k, "not on the list")
            if outcome == "not on the list":
                missing += 1
            elif outcome == "changed" and wanted[k][1] == f.kind:
                changed += 1  # else another kind's stronger stop changed the row
        already = len(keys) - changed - missing
        tallies.append(Tally(f.kind, f.status, len(keys), changed, already, missing))
    return tallies


def _preview(people: SubscriberList, updates: dict[str, StatusUpdate]) -> dict[str, str]:
    """The outcomes `set_statuses` would give, from one read of the list; a file with a broken
    row is refused here too, as the real run would refuse to rewrite it."""
    change = SettingStatuses(updates)
    problems: list[Problem] = []
    for sub in people.iter_all(problems):
        change.visit(sub, None)  # type: ignore[arg-type]  # the record is not looked at
    if problems and updates:
        raise SubscriberError(
            f"{people.path}: {problems[0]} ({len(problems)} broken row(s)); "
            "no change can be written to it",
            "`digest subscribers validate` lists them; fix them, then run this again.",
        )
    change.tail()
    return change.outcomes


def _key(email: str) -> str:
    """The list's key for an address; one the list could not hold stays as given (and is then
    simply not on the list)."""
    try:
        return normalise(email).casefold()
    except InvalidAddress:
        return email.strip().casefold()
