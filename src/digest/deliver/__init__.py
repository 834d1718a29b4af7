"""The deliver stage: where a rendered issue goes. `preview` writes files for a person to look
at; `send` hands batches of readers to a sender (`base`: one small interface; `outbox`,
`console`, `smtp`, `sendgrid`: one module each; `senders` picks one by name), retrying refused
batches (`retry`) and keeping the ledger as it goes."""

from __future__ import annotations

from .preview import PreviewResult, preview_reader, write_preview

__all__ = ["PreviewResult", "preview_reader", "write_preview"]
