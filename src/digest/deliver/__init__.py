"""The deliver stage: where a rendered issue goes. Today only `preview` (files for a person to
look at); the senders (outbox, console, SMTP, SendGrid) land here next, one module each behind
one small interface."""

from __future__ import annotations

from .preview import PreviewResult, preview_reader, write_preview

__all__ = ["PreviewResult", "preview_reader", "write_preview"]
