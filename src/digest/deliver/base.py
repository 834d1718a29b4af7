"""The one small interface every sender has (after Django's mail backends): `open`, `send` a
batch, `close`; and the data a send hands it.

A `Letter` is the issue as every reader gets it, rendered once, with per-reader slots still in
its HTML and text (see `compose.personalise`); a `Recipient` holds one reader's values for those
slots. A sender that delivers whole messages (outbox, console, SMTP) fills the slots itself with
`Letter.message_for`; one that takes templates (SendGrid) maps the slots to its own per-reader
substitutions. `send` answers with one `Result` per recipient, or raises:

- `Transient`: the whole batch was refused for now (429, 5xx, a connection that failed before
  the request was sent); the send retries it with backoff.
- `Permanent`: nothing will work until a person acts (a bad key, a refused request); the send
  stops at once with the provider's message.
- `Unknown`: the request may have gone out (a timeout after it left, a connection dropped
  before the answer): the batch is marked unknown and resent only with `--resend-unknown`.

A refused single recipient (an SMTP 550) is that reader's failed `Result`, not an exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from functools import cached_property
from types import TracebackType
from typing import Literal

from ..compose.message import build_message
from ..compose.personalise import Reader, Template
from ..errors import DigestError

__all__ = [
    "Letter",
    "Permanent",
    "Recipient",
    "Result",
    "Sender",
    "Transient",
    "Unknown",
]


@dataclass(frozen=True)
class Recipient:
    """One reader of one send: the values of the per-reader slots, and the ledger's key."""

    email: str
    name: str
    unsubscribe_url: str
    """The one-click (RFC 8058) unsubscribe link, with the reader's own token."""
    key: str
    """The reader's key in the ledger: the address in its casefolded form."""
    variant: str = ""
    """The selection of stories this reader gets (their topics); "" is the whole issue.
    Readers of one selection share its one render and are batched together."""
    send_at: datetime | None = None
    """A reader-local wave handed over before its hour: the provider holds the copy until
    then (only senders with `schedule_ahead` get one). None: deliver now."""

    @property
    def reader(self) -> Reader:
        return Reader(email=self.email, unsubscribe_url=self.unsubscribe_url, name=self.name)

    @property
    def to(self) -> str:
        """The To header's value: `Name <address>` where the list has a name. Built from the
        parts, so an address with a non-ASCII local part (sent with SMTPUTF8) works too."""
        local, _, domain = self.email.rpartition("@")
        return str(Address(display_name=self.name, username=local, domain=domain))


@dataclass(frozen=True)
class Letter:
    """An issue as every reader gets it, before the per-reader parts."""

    list_name: str
    issue_id: str
    sender: str
    """The From header: `Name <address>`."""
    reply_to: str | None
    subject: str
    html: str
    text: str
    marker: str
    """The render's slot marker (`compose.personalise`)."""
    list_id: str
    """The List-Id header's value, e.g. `The Daily <daily.news.example.org>`."""
    unsubscribe_mailto: str
    """The `mailto:` half of List-Unsubscribe (the address, no scheme)."""
    date: datetime
    preheader: str = ""
    """The line mail clients show after the subject (kept for the web preview)."""

    def headers_for(self, r: Recipient) -> dict[str, str]:
        """The headers a reader's copy carries besides From, To, Subject, Date, Message-ID."""
        headers = {
            "List-Id": self.list_id,
            "List-Unsubscribe": (
                f"<{r.unsubscribe_url}>, <mailto:{self.unsubscribe_mailto}?subject=unsubscribe>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Digest-Issue": self.issue_id,
        }
        if self.reply_to:
            headers["Reply-To"] = self.reply_to
        return headers

    @cached_property
    def _parts(self) -> tuple[Template, Template]:
        """The HTML and text split at their slots once per issue, not once per reader."""
        return (
            Template(self.html, marker=self.marker, escape=True),
            Template(self.text, marker=self.marker, escape=False),
        )

    def message_for(self, r: Recipient) -> EmailMessage:
        """The reader's complete copy: multipart/alternative, plain text first, then HTML."""
        html_part, text_part = self._parts
        html, text = html_part.fill(r.reader), text_part.fill(r.reader)
        return build_message(
            sender=self.sender,
            to=r.to,
            subject=self.subject,
            text=text,
            html=html,
            when=self.date,
            extra_headers=self.headers_for(r),
        )


@dataclass(frozen=True)
class Result:
    """What became of one recipient of a batch."""

    email: str
    status: Literal["sent", "failed", "unknown"]
    """`unknown`: this reader's copy may or may not have gone out (resent only when asked)."""
    message_id: str | None = None
    error: str | None = None


class Transient(Exception):
    """The batch was refused for now; try it again later. `retry_after` is in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Unknown(Exception):
    """The request may or may not have been delivered: do not resend without being asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Permanent(DigestError):
    """Stop the send: nothing will work until a person acts (the message says what)."""


class Sender(ABC):
    """A way to deliver a batch of readers' copies. Use as a context manager (open/close)."""

    name: str = "sender"
    batch_size: int = 100
    """Readers per `send` call."""
    concurrency: int = 1
    """Batches in flight at once; more than 1 only for senders whose `send` is thread-safe."""
    schedule_ahead: timedelta = timedelta(0)
    """How long before a reader's hour this sender may take their copy (with
    `Recipient.send_at`); 0: only at the hour (it cannot hold mail back)."""

    def open(self) -> None:  # noqa: B027 - most senders have nothing to open
        """Get ready (connect, check credentials). May raise Permanent."""

    def close(self) -> None:  # noqa: B027
        """Let go of what `open` took."""

    @abstractmethod
    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        """Deliver one batch; one Result per recipient, in order (or raise, see above)."""

    def __enter__(self) -> Sender:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
