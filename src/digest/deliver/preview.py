"""Write an issue to files (HTML, text, .eml) for a person to look at. Sends nothing and
records nothing: previewing twice gives the same issue twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ..compose import Reader, build_message, fill
from ..compose.personalise import fill_issue
from ..errors import DigestError
from ..fsutil import write_atomic
from ..models import Held, Issue
from ..subscribers import Subscriber, SubscriberList
from ..tokens import unsubscribe_url

__all__ = ["PreviewResult", "preview_parts", "preview_reader", "reader_as", "write_preview"]


@dataclass(frozen=True)
class PreviewResult:
    paths: tuple[Path, ...]
    html_bytes: int
    articles: int
    omitted: int
    """Every story the issue leaves out: no room (`max_articles`, `max_items`) or for size."""
    warnings: tuple[str, ...]
    omitted_for_size: int = 0
    held_over: tuple[Held, ...] = ()
    """The stories left out, each kept for a later issue until its `until`."""
    carried: int = 0
    """How many of the issue's stories an earlier issue left out."""
    dropped: int = 0
    """Stories earlier issues left out, now past `hold_over_hours`: lost for good."""
    reader: str = ""
    """Whom the preview is addressed to."""
    number: int | None = None
    """The issue's number, as the next send would have it."""

    @property
    def held_until(self) -> datetime | None:
        """When the first of the held-over stories stops being offered (None: none will)."""
        return min((h.until for h in self.held_over if h.until), default=None)

    def as_json(self) -> dict[str, Any]:
        until = self.held_until
        return {
            "html": str(self.paths[0]),
            "text": str(self.paths[1]),
            "eml": str(self.paths[2]),
            "reader": self.reader,
            "html_bytes": self.html_bytes,
            "articles": self.articles,
            "omitted": self.omitted,
            "omitted_for_size": self.omitted_for_size,
            "held_over": len(self.held_over),
            "held_until": until.isoformat() if until else None,
            "carried_over": self.carried,
            "dropped": self.dropped,
            "warnings": list(self.warnings),
            "number": self.number,
        }


def preview_reader(base_url: str, list_name: str, sender: str) -> Reader:
    """Previews are addressed to the list's own sender, with a clearly fake unsubscribe link."""
    return Reader(
        email=parseaddr(sender)[1] or "preview@example.com",
        name="",
        unsubscribe_url=f"{base_url}/unsubscribe?list={list_name}&preview=1",
    )


def reader_as(
    base_url: str, secret: str, list_name: str, subscribers: Path, address: str
) -> tuple[Reader, Subscriber]:
    """The preview as a reader of the list gets it: their name, address and own (signed)
    unsubscribe link. An address not on the list is an error naming the list."""
    sub = SubscriberList(subscribers).get(address.strip())
    if sub is None:
        raise DigestError(
            f"{address.strip()} is not on the list {list_name} ({subscribers}); "
            f"`digest subscribers list --list {list_name}` shows who is"
        )
    link = unsubscribe_url(base_url, secret, list_name, sub.email)
    return Reader(email=sub.email, name=sub.name, unsubscribe_url=link), sub


def preview_parts(issue: Issue, reader: Reader, web_url: str = "") -> tuple[str, str]:
    """The issue's HTML and text as `reader` would get them."""
    r = issue.rendered
    html = fill_issue(r.html, marker=r.marker, web_url=web_url, escape=True)
    text = fill_issue(r.text, marker=r.marker, web_url=web_url, escape=False)
    return (
        fill(html, reader, marker=r.marker, escape=True),
        fill(text, reader, marker=r.marker, escape=False),
    )


def write_preview(
    issue: Issue, out: Path, *, sender: str, reader: Reader, now: datetime, web_url: str = ""
) -> PreviewResult:
    """Write `<list>-<date>.html`, `.txt` and `.eml` into `out`, each atomically."""
    html, text = preview_parts(issue, reader, web_url)
    rendered = issue.rendered
    message = build_message(
        sender=sender,
        to=reader.email,
        subject=rendered.subject,
        text=text,
        html=html,
        when=now,
        unsubscribe_url=reader.unsubscribe_url,
    )
    stem = out / f"{issue.digest.list_name}-{issue.digest.date.isoformat()}"
    paths = (stem.with_suffix(".html"), stem.with_suffix(".txt"), stem.with_suffix(".eml"))
    write_atomic(paths[0], html)
    write_atomic(paths[1], text)
    write_atomic(paths[2], message.as_bytes())
    return PreviewResult(
        paths=paths,
        html_bytes=len(html.encode("utf-8")),
        articles=rendered.articles_included,
        omitted=len(issue.held_over),
        warnings=issue.problems + rendered.warnings,
        omitted_for_size=rendered.articles_omitted,
        held_over=issue.held_over,
        carried=issue.carried,
        dropped=issue.dropped,
        reader=reader.email,
        number=issue.digest.number,
    )
