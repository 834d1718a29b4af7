"""Pick a sender by name: `--backend`, else the list's `backend`, else `[delivery] backend`."""

from __future__ import annotations

from ..config.delivery import BACKENDS, DeliverySettings
from ..errors import ConfigError
from .base import Sender
from .console import ConsoleSender
from .outbox import OutboxSender

__all__ = ["REAL_BACKENDS", "make_sender"]

REAL_BACKENDS = frozenset({"smtp", "sendgrid"})
"""Senders that reach real readers: they need DIGEST_SECRET and base_url for the links."""


def make_sender(name: str, delivery: DeliverySettings, *, sandbox: bool = False) -> Sender:
    """The named sender, set up from digest.toml and the environment (keys, passwords)."""
    if name == "outbox":
        return OutboxSender(delivery.outbox)
    if name == "console":
        return ConsoleSender()
    if name == "smtp":
        from .smtp import SmtpSender

        return SmtpSender.from_env(delivery.smtp)
    if name == "sendgrid":
        from .sendgrid import SendGridSender

        return SendGridSender.from_env(delivery.sendgrid, sandbox=sandbox)
    raise ConfigError(f"{name!r} is not a sender", f"Use one of: {', '.join(BACKENDS)}.")
