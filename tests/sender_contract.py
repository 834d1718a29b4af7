"""One contract every sender keeps, run against each (see tests/test_senders.py and the SMTP and
SendGrid test files): each reader gets one complete copy with their own parts and nobody else's,
the headers bulk mail needs, and one result each, in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from digest.compose.personalise import new_marker, reader_slots
from digest.deliver.base import Letter, Recipient, Result, Sender

WHEN = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def make_letter(issue_id: str = "daily-2026-11-24") -> Letter:
    """A small rendered issue with every slot, and a feed's look-alike token that must stay."""
    marker = new_marker()
    slots = reader_slots(marker)
    html = (
        "<html><body><p>Good morning{name_suffix}.</p>"
        '<p><a href="https://evil.example/?e=%%DIGEST_EMAIL%%">A story</a></p>'
        '<p><a href="{unsubscribe_url}">Unsubscribe</a> · sent to {email}</p></body></html>'
    ).format(**slots)
    text = (
        "Good morning{name_suffix}.\n\nA story: https://evil.example/?e=%%DIGEST_EMAIL%%\n\n"
        "Unsubscribe: {unsubscribe_url}\nSent to {email}\n"
    ).format(**slots)
    return Letter(
        list_name="daily",
        issue_id=issue_id,
        sender="The Daily <daily@news.example.org>",
        reply_to="Editors <editors@news.example.org>",
        subject="The Daily, 24 Nov 2026: A story",
        html=html,
        text=text,
        marker=marker,
        list_id="The Daily <daily.news.example.org>",
        unsubscribe_mailto="unsubscribe@news.example.org",
        date=WHEN,
    )


def recipients(n: int) -> list[Recipient]:
    out = []
    for i in range(n):
        email = f"reader{i}@example.com"
        name = "Ann <O'Neil> & Co" if i == 0 else ("" if i % 2 else f"Reader {i}")
        url = f"https://news.example.org/unsubscribe?list=daily&email=reader{i}%40example.com&token=t{i}"
        out.append(Recipient(email=email, name=name, unsubscribe_url=url, key=email.casefold()))
    return out


class SenderContract:
    """Subclass with fixtures `sender` (a Sender, not yet opened) and `delivered` (a function
    returning the messages delivered so far, by recipient address)."""

    def send(self, sender: Sender, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        with sender:
            return sender.send(letter, batch)

    def test_one_result_per_reader_in_order(self, sender: Sender) -> None:
        batch = recipients(5)
        results = self.send(sender, make_letter(), batch)
        assert [r.email for r in results] == [r.email for r in batch]
        assert all(r.status == "sent" and r.message_id for r in results)

    def test_each_reader_gets_one_complete_copy(self, sender: Sender, delivered) -> None:  # type: ignore[no-untyped-def]
        batch = recipients(3)
        self.send(sender, make_letter(), batch)
        got: dict[str, EmailMessage] = delivered()
        assert sorted(got) == sorted(r.email for r in batch)
        msg = got["reader0@example.com"]
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg["Subject"] == "The Daily, 24 Nov 2026: A story"
        assert getaddresses([msg["From"]]) == [("The Daily", "daily@news.example.org")]
        assert getaddresses([msg["To"]]) == [("Ann <O'Neil> & Co", "reader0@example.com")]
        assert getaddresses([msg["Reply-To"]]) == [("Editors", "editors@news.example.org")]
        assert msg["List-Id"] == "The Daily <daily.news.example.org>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        lu = msg["List-Unsubscribe"]
        assert f"<{batch[0].unsubscribe_url}>" in lu
        assert "<mailto:unsubscribe@news.example.org?subject=unsubscribe>" in lu
        assert msg["Date"] and msg["Message-ID"]

    def test_each_copy_holds_its_readers_parts_and_no_one_elses(
        self,
        sender: Sender,
        delivered,  # type: ignore[no-untyped-def]
    ) -> None:
        batch = recipients(4)
        self.send(sender, make_letter(), batch)
        got: dict[str, EmailMessage] = delivered()
        for r in batch:
            msg = got[r.email]
            text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
            assert f"Unsubscribe: {r.unsubscribe_url}" in text
            assert f"Sent to {r.email}" in text
            assert r.unsubscribe_url.replace("&", "&amp;") in html
            others = [o.email for o in batch if o is not r]
            assert not any(o in text or o in html for o in others)
            # A feed's look-alike token is text, never this reader's address.
            assert "https://evil.example/?e=%%DIGEST_EMAIL%%" in text
        first = got["reader0@example.com"]
        html0 = first.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text0 = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Good morning, Ann &lt;O&#x27;Neil&gt; &amp; Co." in html0
        assert "Good morning, Ann <O'Neil> & Co." in text0
        assert "Good morning." in got["reader1@example.com"].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def test_an_empty_batch_sends_nothing(self, sender: Sender, delivered) -> None:  # type: ignore[no-untyped-def]
        assert self.send(sender, make_letter(), []) == []
        assert delivered() == {}


@pytest.fixture
def letter() -> Letter:
    return make_letter()
