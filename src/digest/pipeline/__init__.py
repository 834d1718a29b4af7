"""The only package that knows the order of the stages: sources → gather → summarise →
compose (`issue`) → deliver with the ledger (`send`). Each stage is a function with plain frozen
data in and out; this package opens what they share for one run (the state database and one
HTTP client) and hands each its few settings."""

from __future__ import annotations

from .issue import (
    build_issue,
    check_sources,
    gather,
    issue_id,
    preview_issue,
    preview_selection,
)
from .poll import PollBusy, PollReport, caught_by_polling, poll_sources
from .send import SendReport, SendRequest, send_issue

__all__ = [
    "PollBusy",
    "PollReport",
    "SendReport",
    "SendRequest",
    "build_issue",
    "caught_by_polling",
    "check_sources",
    "gather",
    "issue_id",
    "poll_sources",
    "preview_issue",
    "preview_selection",
    "send_issue",
]
