"""SendGrid's events as digest records them (pure): what each counts as, and the status it
gives its reader.

| event | counted as | reader becomes |
| --- | --- | --- |
| `bounce`, `type` "bounce" (or none) | `bounce` | `bounced` |
| `bounce`, `type` "blocked" (a soft bounce) | `blocked` | unchanged |
| `dropped`, reason "Bounced Address" or "Invalid" | `dropped_dead` | `bounced` |
| `dropped`, any other reason | `dropped` | unchanged |
| `spamreport` | `spamreport` | `complained` |
| `unsubscribe`, `group_unsubscribe` | the same | `unsubscribed` |
| `deferred`, `delivered`, `open`, `click`, `processed`, `group_resubscribe` | same | unchanged |

A drop for a dead address has a kind of its own so the list's health (`list_health`) can count
it with the hard bounces in the bounce rate; the other drops (an unsubscribe on file, spam
content) say nothing of the address. Total drops: `dropped` + `dropped_dead`.

The issue and list are the `custom_args` every message of digest carries (`issue_id`,
`list`); SendGrid gives them back as top-level fields of each event. The reader is `email`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..state import ProviderEvent

__all__ = ["PROVIDER", "Parsed", "parse_events"]

PROVIDER = "sendgrid"
"""The events' provider, and the origin of the status changes they make."""

COUNTED = frozenset(
    {"processed", "deferred", "delivered", "open", "click", "group_resubscribe", "dropped"}
)
STATUS = {
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}
DEAD_ADDRESS = ("bounced address", "invalid")
"""`dropped` reasons that mean the address cannot take mail (others: an unsubscribe on file,
spam content, a quota), compared casefolded."""


@dataclass(frozen=True)
class Parsed:
    """A batch's events, and how many were not digest's or not events at all."""

    events: tuple[ProviderEvent, ...]
    foreign: int
    """Objects without digest's `issue_id`/`list`, or without `email` or `sg_event_id`."""
    other: int
    """Event kinds digest does not count."""


def parse_events(batch: list[Any], now: datetime) -> Parsed:
    """The batch's events that digest records (the batch is a JSON array, already checked)."""
    events: list[ProviderEvent] = []
    foreign = other = 0
    for raw in batch:
        if not isinstance(raw, Mapping):
            foreign += 1
            continue
        args = _args(raw)
        email, event_id, name = raw.get("email"), raw.get("sg_event_id"), raw.get("event")
        list_name, issue_id = args.get("list"), args.get("issue_id")
        fields = (email, event_id, name, list_name, issue_id)
        if not all(isinstance(v, str) and v.strip() for v in fields):
            foreign += 1
            continue
        mapped = _map(raw)
        if mapped is None:
            other += 1
            continue
        kind, status = mapped
        events.append(
            ProviderEvent(
                provider=PROVIDER,
                event_id=str(event_id)[:200],
                list_name=str(list_name),
                issue_id=str(issue_id),
                reader=str(email).strip().casefold(),
                email=str(email).strip(),
                kind=kind,
                status=status,
                at=_when(raw.get("timestamp"), now),
            )
        )
    return Parsed(tuple(events), foreign, other)


def _map(raw: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(counted as, new status) for an event, or None for a kind digest does not know."""
    name = raw["event"]
    if name == "bounce":
        if str(raw.get("type", "bounce")).casefold() == "blocked":
            return "blocked", None
        return "bounce", "bounced"
    if name == "dropped":
        reason = str(raw.get("reason", "")).strip().casefold()
        return ("dropped_dead", "bounced") if reason in DEAD_ADDRESS else ("dropped", None)
    if name in STATUS:
        return name, STATUS[name]
    if name in COUNTED:
        return name, None
    return None


def _args(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message's custom args: top-level fields of the event, as SendGrid posts them (a
    nested `custom_args` object is read too, as some relays forward them)."""
    nested = raw.get("custom_args")
    if isinstance(nested, Mapping) and "issue_id" in nested:
        return nested
    return raw


def _when(value: object, now: datetime) -> datetime:
    """The event's time (Unix seconds), else now: the time a bounce is written into the CSV."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, UTC)
    return now
