"""A list's health, issue by issue (pure): how many readers each issue was sent to, what the
provider reported of them, the bounce and complaint rates, the warnings past the limits mail
providers hold senders to, and the pause of the next send past the complaint limit.

**The denominator is `sent`**, the readers the send ledger says the sender accepted the issue
for. It is always there (the provider's `processed` and `delivered` events are only there if
the webhook is set up and subscribed to them, and may lag), a bounce is by definition not
`delivered` (so over `delivered` the bounce rate would not be a share of anything), and it is
the number the sender knows it put its name to. Gmail's and Yahoo's limits count complaints
over delivered mail, which is slightly fewer: over `sent` the rate errs a hair low, never
wildly.

**Counted** (the provider's events per issue, `state.events`; see `web.sendgrid_events`):

- delivered: `delivered`; deferred: `deferred` (tried again by the provider, not lost);
- bounced: `bounce` (hard) and `dropped_dead` (dropped for a dead or invalid address), so
  both say the list holds an address that cannot take mail; soft bounces (`blocked`) and
  other drops are not bounces;
- complained: `spamreport`;
- unsubscribed: `unsubscribe` and `group_unsubscribe` (the provider's links) and
  `unsubscribe_click` (digest's own link, counted against the last issue its reader was sent:
  `state.events.count_click`).

Rates are compared as exact fractions, strictly greater than the limit: 20 bounces in 1,000
(2%) is no warning, 21 is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "BOUNCE_WARNING",
    "COMPLAINT_PAUSE",
    "COMPLAINT_WARNING",
    "IssueHealth",
    "Pause",
    "issue_health",
    "limit",
    "pause_for",
    "percent",
]

BOUNCE_WARNING = Fraction(2, 100)
"""Past 2% bounces, providers start to doubt the list was gathered with consent."""
COMPLAINT_WARNING = Fraction(1, 1000)
"""Past 0.1% complaints: Gmail's and Yahoo's bulk-sender guidance says stay below this."""
COMPLAINT_PAUSE = Fraction(3, 1000)
"""Past 0.3% complaints, Gmail and Yahoo start to refuse a sender's mail: the list's next send
waits for a person (`--force`) rather than go out and make it worse."""

BOUNCED = ("bounce", "dropped_dead")
COMPLAINED = ("spamreport",)
UNSUBSCRIBED = ("unsubscribe", "group_unsubscribe", "unsubscribe_click")
OWN = frozenset({"unsubscribe_click"})
"""Kinds digest counts itself; any other kind means the provider reported on the issue."""


def _sum(events: Mapping[str, int], kinds: tuple[str, ...]) -> int:
    return sum(events.get(k, 0) for k in kinds)


def percent(rate: Fraction | None) -> str:
    """`0.33%`, two decimals (`<0.01%` for a rate too small to show, `-` for none)."""
    if rate is None:
        return "-"
    if 0 < rate < Fraction(1, 10000):
        return "<0.01%"
    return f"{float(rate * 100):.2f}%"


def limit(rate: Fraction) -> str:
    """A limit as people write it: `2%`, `0.1%`, `0.3%`."""
    return f"{float(rate * 100):g}%"


@dataclass(frozen=True)
class IssueHealth:
    """One issue's readers and what became of them, as far as anyone told digest."""

    list_name: str
    issue_id: str
    sent: int
    """Readers whose copy the sender accepted (the send ledger): every rate's denominator."""
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    complained: int = 0
    unsubscribed: int = 0
    reported: bool = False
    """The provider reported at least one event for the issue (no webhook: nothing known)."""

    @property
    def bounce_rate(self) -> Fraction | None:
        """Bounced over sent; None when the issue reached nobody."""
        return Fraction(self.bounced, self.sent) if self.sent else None

    @property
    def complaint_rate(self) -> Fraction | None:
        """Complained over sent; None when the issue reached nobody."""
        return Fraction(self.complained, self.sent) if self.sent else None

    @property
    def bounces_high(self) -> bool:
        return self.bounce_rate is not None and self.bounce_rate > BOUNCE_WARNING

    @property
    def complaints_high(self) -> bool:
        return self.complaint_rate is not None and self.complaint_rate > COMPLAINT_WARNING

    @property
    def pauses(self) -> bool:
        """Past the complaint limit that pauses the list's next send."""
        return self.complaint_rate is not None and self.complaint_rate > COMPLAINT_PAUSE

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per limit passed (without the issue's id; the caller shows it)."""
        out = []
        if self.bounces_high:
            out.append(
                f"bounce rate {percent(self.bounce_rate)} ({self.bounced} of {self.sent:,} "
                f"sent) is past {limit(BOUNCE_WARNING)}: the list holds dead addresses"
            )
        if self.complaints_high:
            past = (
                f"{limit(COMPLAINT_PAUSE)}, where the list's next send pauses"
                if self.pauses
                else limit(COMPLAINT_WARNING)
            )
            out.append(
                f"complaint rate {percent(self.complaint_rate)} ({self.complained} of "
                f"{self.sent:,} sent) is past {past}: readers marked it as spam"
            )
        return tuple(out)

    def as_json(self) -> dict[str, Any]:
        """The counts, the rates as fractions of one (None: sent to nobody) and the warnings."""
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "deferred": self.deferred,
            "bounced": self.bounced,
            "complained": self.complained,
            "unsubscribed": self.unsubscribed,
            "reported": self.reported,
            "bounce_rate": _float(self.bounce_rate),
            "complaint_rate": _float(self.complaint_rate),
            "warnings": list(self.warnings),
            "pauses": self.pauses,
        }


def _float(rate: Fraction | None) -> float | None:
    return None if rate is None else round(float(rate), 6)


def issue_health(
    list_name: str, issue_id: str, sent: int, events: Mapping[str, int]
) -> IssueHealth:
    """An issue's health from the ledger's `sent` and its events counted by kind."""
    return IssueHealth(
        list_name,
        issue_id,
        sent,
        delivered=events.get("delivered", 0),
        deferred=events.get("deferred", 0),
        bounced=_sum(events, BOUNCED),
        complained=_sum(events, COMPLAINED),
        unsubscribed=_sum(events, UNSUBSCRIBED),
        reported=any(n for k, n in events.items() if k not in OWN),
    )


@dataclass(frozen=True)
class Pause:
    """The list's next send waits: the issue the gate looked at drew too many complaints."""

    issue: IssueHealth

    @property
    def message(self) -> str:
        i = self.issue
        return (
            f"list {i.list_name!r} is paused for complaints: its last issue, {i.issue_id}, "
            f"drew {i.complained} complaint(s) from {i.sent:,} reader(s) "
            f"({percent(i.complaint_rate)}), past the {limit(COMPLAINT_PAUSE)} at which digest "
            "holds the next send"
        )

    @property
    def hint(self) -> str:
        return (
            "Look at what readers complained about in that issue (its sources, its subject, "
            "readers who never asked for it) before sending more; `digest send --force` sends "
            "anyway (the scheduler: `digest run-due --force` or `digest schedule --force`)."
        )


def pause_for(last: IssueHealth | None) -> Pause | None:
    """The pause, if the issue the gate looks at (the list's last real issue that reached
    readers; `pipeline.health`) is past the complaint limit."""
    return Pause(last) if last is not None and last.pauses else None
