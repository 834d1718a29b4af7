"""Build a complete email (multipart/alternative: plain text, then HTML) for one reader."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    when: datetime,
    unsubscribe_url: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> EmailMessage:
    """An RFC 5322 message any mail client opens; bodies are UTF-8, lines folded for SMTP."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for key, value in (extra_headers or {}).items():
        msg[key] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg
