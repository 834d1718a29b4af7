"""The contract (tests/sender_contract.py) against the outbox and console senders."""

from __future__ import annotations

import email
import io
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sender_contract import SenderContract, make_letter, recipients

from digest.deliver.console import ConsoleSender
from digest.deliver.outbox import OutboxSender


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


class TestOutbox(SenderContract):
    @pytest.fixture
    def sender(self, tmp_path: Path) -> OutboxSender:
        return OutboxSender(tmp_path / "outbox")

    @pytest.fixture
    def delivered(self, tmp_path: Path) -> Callable[[], dict[str, EmailMessage]]:
        def read() -> dict[str, EmailMessage]:
            files = sorted((tmp_path / "outbox").rglob("*.eml"))
            msgs = [_parse(f.read_bytes()) for f in files]
            return {email.utils.parseaddr(m["To"])[1]: m for m in msgs}

        return read


class TestConsole(SenderContract):
    @pytest.fixture
    def stream(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def sender(self, stream: io.StringIO) -> ConsoleSender:
        return ConsoleSender(stream)

    @pytest.fixture
    def delivered(self, stream: io.StringIO) -> Callable[[], dict[str, EmailMessage]]:
        def read() -> dict[str, EmailMessage]:
            chunks = [c for c in stream.getvalue().split("\n" + "-" * 78 + "\n") if c.strip()]
            msgs = [_parse(c.encode()) for c in chunks]
            return {email.utils.parseaddr(m["To"])[1]: m for m in msgs}

        return read


def test_outbox_files_are_per_issue_and_reader(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox")
    with sender:
        sender.send(make_letter("daily-2026-11-24"), recipients(2))
        sender.send(make_letter("daily-2026-11-25"), recipients(2))
    assert len(list((tmp_path / "outbox" / "daily-2026-11-24").glob("*.eml"))) == 2
    assert len(list((tmp_path / "outbox" / "daily-2026-11-25").glob("*.eml"))) == 2
    assert not list((tmp_path / "outbox").rglob("*.tmp"))
