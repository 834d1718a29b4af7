"""An issue as every reader of a list gets it (`Letter`), frozen in the ledger as JSON, and the
list's readers as `Recipient`s, each with their own signed unsubscribe link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit

from ..compose.personalise import fill_issue
from ..config import Config, ListConfig
from ..deliver.base import Letter, Recipient
from ..models import Issue, Rendered
from ..subscribers import Subscriber, SubscriberList
from ..tokens import unsubscribe_url
from .issue import web_url

__all__ = ["letter_for", "letter_from", "letter_json", "letter_of", "recipient", "recipients"]


def letter_for(
    issue: Issue, lst: ListConfig, config: Config, now: datetime, ledger_id: str
) -> Letter:
    """The issue as every reader of `lst` gets it, before their own parts. `ledger_id` is the
    issue's id in the ledger (today's, or `-2`… with --new-issue)."""
    return letter_of(issue.rendered, lst, config, now, ledger_id)


def letter_of(
    r: Rendered, lst: ListConfig, config: Config, now: datetime, ledger_id: str
) -> Letter:
    """A render (the whole issue, or one selection of its stories) as a `Letter`."""
    host = urlsplit(config.base_url).hostname or "localhost"
    sender_address = parseaddr(lst.sender)[1]
    mailto = parseaddr(lst.reply_to)[1] if lst.reply_to else sender_address
    web = web_url(config, lst, ledger_id)
    return Letter(
        list_name=lst.name,
        issue_id=ledger_id,
        sender=lst.sender,
        reply_to=lst.reply_to,
        subject=r.subject,
        preheader=r.preheader,
        html=fill_issue(r.html, marker=r.marker, web_url=web, escape=True),
        text=fill_issue(r.text, marker=r.marker, web_url=web, escape=False),
        marker=r.marker,
        list_id=formataddr((lst.title, f"{lst.name}.{host}")),
        unsubscribe_mailto=mailto,
        date=now,
    )


def letter_json(letter: Letter) -> dict[str, Any]:
    d = asdict(letter)
    d["date"] = letter.date.isoformat()
    return d


def letter_from(d: dict[str, Any]) -> Letter:
    return Letter(**{**d, "date": datetime.fromisoformat(d["date"])})


def recipients(config: Config, lst: ListConfig, secret: str) -> Iterator[Recipient]:
    """The list's subscribed readers, streamed, each with their own unsubscribe link."""
    for sub in SubscriberList(lst.subscribers).iter_active():
        yield recipient(config, lst, secret, sub)


def recipient(
    config: Config, lst: ListConfig, secret: str, sub: Subscriber, variant: str = ""
) -> Recipient:
    """One reader as a send hands them to the sender, with their signed unsubscribe link."""
    url = unsubscribe_url(config.base_url, secret, lst.name, sub.email)
    return Recipient(
        email=sub.email, name=sub.name, unsubscribe_url=url, key=sub.key, variant=variant
    )
