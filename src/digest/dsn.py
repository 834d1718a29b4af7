"""Delivery status notifications (RFC 3464) from a Maildir folder or an mbox file: who hard
bounced. For SMTP senders, whose bounces come back as mail rather than through an API.

Only the machine-readable part counts (`message/delivery-status`, inside a `multipart/report`,
even when a mail client forwarded it inside another message): free-text bounces say too little
too loosely to take a reader off a list. A recipient is a hard bounce when its `Action` is
`failed` and its `Status` is 5.x.x (permanent); a `delayed` one or a 4.x.x status is a soft
bounce, counted and never acted on, as the server may still deliver. The address is the one we
sent to: `Original-Recipient` when the report has it (`Final-Recipient` may be an internal
alias after forwarding), else `Final-Recipient`.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from .errors import DigestError

__all__ = ["DsnScan", "Recipient", "read_report", "scan"]

_STATUS = re.compile(r"^\s*([245])\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class Recipient:
    """One recipient block of a report: the address, its action and status as written."""

    address: str
    action: str
    status: str

    @property
    def hard(self) -> bool:
        """A permanent failure: `failed` with a 5.x.x status."""
        m = _STATUS.match(self.status)
        return self.action == "failed" and m is not None and m.group(1) == "5"


@dataclass(frozen=True)
class DsnScan:
    """What a folder held: the hard-bounced addresses (each once, in the order first seen),
    how many recipient blocks were soft (delayed, 4.x.x, or failed without a 5.x.x status),
    how many messages were reports and how many were not."""

    hard: tuple[str, ...]
    soft: int
    reports: int
    not_reports: int


def scan(path: Path) -> DsnScan:
    """Read every message of a Maildir folder (a directory with `cur` and `new`) or an mbox
    file; raise DigestError naming the path if it is neither."""
    hard: dict[str, None] = {}
    soft = reports = not_reports = 0
    for message in _messages(path):
        recipients = read_report(message)
        if recipients is None:
            not_reports += 1
            continue
        reports += 1
        for r in recipients:
            if r.hard:
                hard.setdefault(r.address, None)
            else:
                soft += 1
    return DsnScan(tuple(hard), soft, reports, not_reports)


def read_report(message: Message) -> list[Recipient] | None:
    """The recipient blocks of a delivery status notification, or None if `message` holds no
    `message/delivery-status` part. A block without a usable address is left out."""
    found: list[Recipient] | None = None
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        found = [] if found is None else found
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is about the message, the rest recipients
            r = _recipient(block)
            if r is not None:
                found.append(r)
    return found


def _recipient(block: Message) -> Recipient | None:
    address = _address(block.get("Original-Recipient")) or _address(block.get("Final-Recipient"))
    if not address:
        return None
    action = str(block.get("Action", "")).strip().split(maxsplit=1)
    return Recipient(
        address,
        action[0].lower() if action else "",
        str(block.get("Status", "")).strip(),
    )


def _address(field: object) -> str | None:
    """`rfc822; <ada@example.com>` → `ada@example.com`; other address types (x400) → None."""
    if field is None:
        return None
    kind, sep, value = str(field).partition(";")
    if not sep or kind.strip().lower() != "rfc822":
        return None
    value = value.strip().strip("<>").strip()
    return value if "@" in value else None


def _messages(path: Path) -> Iterator[Message]:
    if path.is_dir():
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise DigestError(
                f"{path}: not a Maildir folder (it has no cur/ and new/)",
                "Give a Maildir folder or an mbox file.",
            )
        box: mailbox.Mailbox = mailbox.Maildir(path, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, create=False)
    else:
        raise DigestError(
            f"{path}: no such file or folder", "Give a Maildir folder or an mbox file."
        )
    try:
        for key in box.iterkeys():
            try:
                yield box.get_message(key)
            except (OSError, KeyError):  # removed by a mail client meanwhile
                continue
    except OSError as exc:
        raise DigestError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        box.close()
