"""The SendGrid sender, with the real `sendgrid` client, against a local stand-in that validates
requests as SendGrid does (tests/sendgrid_standin.py) and rebuilds what each reader would get."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from python_http_client.exceptions import HTTPError
from sender_contract import SenderContract, make_letter, recipients
from sendgrid import SendGridAPIClient
from sendgrid_standin import (
    API_KEY,
    DELIVER_THEN_DROP,
    DROP,
    HANG,
    Answer,
    SendGridStandIn,
    bad_request,
    rate_limited,
    server_error,
)

from digest.compose.personalise import token
from digest.config.delivery import SendGridSettings
from digest.deliver.base import Permanent, Recipient, Transient, Unknown
from digest.deliver.sendgrid import SendGridSender, text_token

NOW = 1_900_000_000.0


@pytest.fixture
def standin() -> Iterator[SendGridStandIn]:
    with SendGridStandIn() as sg:
        yield sg


def make_sender(url: str, key: str = API_KEY, **settings: Any) -> SendGridSender:
    sandbox = settings.pop("sandbox", False)
    return SendGridSender(
        SendGridSettings(host=url, **settings), key, sandbox=sandbox, clock=lambda: NOW
    )


def post(url: str, body: dict[str, Any], key: str = API_KEY) -> HTTPError | int:
    """Post a body straight to the stand-in with the real client: its status, or its error."""
    try:
        return SendGridAPIClient(key, host=url).client.mail.send.post(request_body=body).status_code
    except HTTPError as exc:
        return exc


def good_body(standin: SendGridStandIn, n: int = 2) -> dict[str, Any]:
    """A body the stand-in accepted: what the sender posts for `n` readers."""
    make_sender(standin.url).send(make_letter(), recipients(n))
    return standin.accepted[-1]


class TestSendGrid(SenderContract):
    @pytest.fixture
    def sender(self, standin: SendGridStandIn) -> SendGridSender:
        return make_sender(standin.url)

    @pytest.fixture
    def delivered(self, standin: SendGridStandIn) -> Callable[[], dict[str, EmailMessage]]:
        return standin.messages


def test_the_request_carries_every_field(standin: SendGridStandIn) -> None:
    sender = make_sender(standin.url, categories=("daily", "news"), asm_group_id=1234)
    letter, batch = make_letter(), recipients(3)
    results = sender.send(letter, batch)
    assert len(standin.requests) == 1
    body = standin.accepted[0]
    assert body["from"] == {"email": "daily@news.example.org", "name": "The Daily"}
    assert body["reply_to"] == {"email": "editors@news.example.org", "name": "Editors"}
    assert body["subject"] == "The Daily, 24 Nov 2026: A story"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][1]["value"] == letter.html
    assert body["headers"] == {
        "List-Id": "The Daily <daily.news.example.org>",
        "X-Digest-Issue": "daily-2026-11-24",
    }
    assert body["categories"] == ["daily", "news"]
    assert body["asm"] == {"group_id": 1234}
    assert "mail_settings" not in body
    people = body["personalizations"]
    assert len(people) == 3
    assert people[0]["to"] == [{"email": "reader0@example.com", "name": "Ann <O'Neil> & Co"}]
    assert people[1]["to"] == [{"email": "reader1@example.com"}]
    assert people[1]["headers"] == {
        "List-Unsubscribe": f"<{batch[1].unsubscribe_url}>, "
        "<mailto:unsubscribe@news.example.org?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert all(p["custom_args"] == {"issue_id": letter.issue_id, "list": "daily"} for p in people)
    message_id = standin.requests[0].message_id
    assert message_id and all(r.message_id == message_id for r in results)


def test_html_gets_escaped_values_and_text_raw_ones(standin: SendGridStandIn) -> None:
    letter = make_letter()
    make_sender(standin.url).send(letter, recipients(1))
    body = standin.accepted[0]
    text = body["content"][0]["value"]
    subs = body["personalizations"][0]["substitutions"]
    m = letter.marker
    assert token(m, "EMAIL") not in text and text_token(m, "EMAIL") in text
    assert text_token(m, "EMAIL") not in letter.html
    assert subs[token(m, "NAME_SUFFIX")] == ", Ann &lt;O&#x27;Neil&gt; &amp; Co"
    assert subs[text_token(m, "NAME_SUFFIX")] == ", Ann <O'Neil> & Co"
    assert "%%DIGEST_EMAIL%%" in text  # the feed's look-alike is no slot


def test_sandbox_mode_is_checked_but_delivers_nothing(standin: SendGridStandIn) -> None:
    results = make_sender(standin.url, sandbox=True).send(make_letter(), recipients(2))
    assert standin.accepted[0]["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert standin.requests[0].status == 200
    assert [r.status for r in results] == ["sent", "sent"]
    assert standin.messages() == {}


def test_a_reader_listed_twice_fails_alone(standin: SendGridStandIn) -> None:
    batch = recipients(3)
    twin = replace(batch[1], email="Reader1@Example.com", key="reader1@example.com")
    results = make_sender(standin.url).send(make_letter(), [*batch, twin])
    assert [r.status for r in results] == ["sent", "sent", "sent", "failed"]
    assert results[3].error == "listed twice in one batch"
    assert len(standin.accepted[0]["personalizations"]) == 3


def test_a_reader_past_the_substitutions_limit_fails_alone(standin: SendGridStandIn) -> None:
    batch = recipients(3)
    batch[2] = replace(batch[2], name="&" * 2000)  # 10,000 bytes escaped, 2,000 raw
    results = make_sender(standin.url).send(make_letter(), batch)
    assert [r.status for r in results] == ["sent", "sent", "failed"]
    assert "10000" in (results[2].error or "")
    assert [p["to"][0]["email"] for p in standin.accepted[0]["personalizations"]] == [
        "reader0@example.com",
        "reader1@example.com",
    ]


def test_a_full_batch_of_1000_goes_in_one_request(standin: SendGridStandIn) -> None:
    batch = recipients(1000)
    results = make_sender(standin.url).send(make_letter(), batch)
    assert [r.status for r in results] == ["sent"] * 1000
    assert len(standin.requests) == 1
    assert standin.addresses() == [r.email for r in batch]
    last = standin.message("reader999@example.com")
    text = last.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Unsubscribe: {batch[999].unsubscribe_url}" in text


def test_more_than_1000_is_refused_by_sender_and_standin(standin: SendGridStandIn) -> None:
    with pytest.raises(ValueError, match="1000"):
        make_sender(standin.url).send(make_letter(), recipients(1001))
    assert standin.requests == []
    body = good_body(standin, 1000)
    extra = {**body["personalizations"][0], "to": [{"email": "one.more@example.com"}]}
    refused = post(standin.url, {**body, "personalizations": [*body["personalizations"], extra]})
    assert isinstance(refused, HTTPError) and refused.status_code == 400
    assert b"more than 1000" in refused.body


def _twice(b: dict[str, Any]) -> dict[str, Any]:
    return {**b, "personalizations": [b["personalizations"][0]] * 2}


def _reversed(b: dict[str, Any]) -> dict[str, Any]:
    return {**b, "content": b["content"][::-1]}


def _oversize(b: dict[str, Any]) -> dict[str, Any]:
    p = {**b["personalizations"][0], "substitutions": {"%%X%%": "x" * 10_000}}
    return {**b, "personalizations": [p]}


def _reserved(b: dict[str, Any]) -> dict[str, Any]:
    return {**b, "headers": {**b["headers"], "Reply-To": "x@example.com"}}


def _no_from(b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in b.items() if k != "from"}


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (_twice, b"duplicate instance of [reader0@example.com]"),
        (_reversed, b"text/plain must be first"),
        (_oversize, b"10000 bytes per personalization"),
        (_reserved, b"Reply-To is reserved"),
        (_no_from, b"from object must be provided"),
    ],
)
def test_the_standin_refuses_what_sendgrid_refuses(
    standin: SendGridStandIn, spoil: Callable[[dict[str, Any]], dict[str, Any]], says: bytes
) -> None:
    body = good_body(standin)
    assert post(standin.url, body) == 202
    refused = post(standin.url, spoil(body))
    assert isinstance(refused, HTTPError) and refused.status_code == 400
    assert says in refused.body
    assert len(standin.accepted) == 2


@pytest.mark.parametrize(("reset", "wait"), [(NOW + 90, 90.0), (NOW - 5, 0.0)])
def test_429_is_transient_until_the_rate_limit_resets(
    standin: SendGridStandIn, reset: float, wait: float
) -> None:
    standin.script(rate_limited(reset))
    with pytest.raises(Transient) as caught:
        make_sender(standin.url).send(make_letter(), recipients(2))
    assert caught.value.retry_after == wait
    assert "429" in caught.value.reason
    assert standin.messages() == {}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(standin: SendGridStandIn, status: int) -> None:
    standin.script(server_error(status))
    with pytest.raises(Transient) as caught:
        make_sender(standin.url).send(make_letter(), recipients(2))
    assert str(status) in caught.value.reason
    assert caught.value.retry_after is None


def test_a_wrong_key_stops_the_send_with_sendgrid_s_words(
    standin: SendGridStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "SG.wrong-key.ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvutsrqp"
    with pytest.raises(Permanent) as caught:
        make_sender(standin.url, key=wrong).send(make_letter(), recipients(2))
    said = str(caught.value)
    assert "401" in said and "authorization grant is invalid, expired, or revoked" in said
    assert "SENDGRID_API_KEY" in said  # the hint says where the key comes from
    assert wrong not in said and wrong not in caplog.text
    assert standin.requests[0].authorization == f"Bearer {wrong}"  # it did go to SendGrid


def test_the_key_is_never_logged_nor_repeated(
    standin: SendGridStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = make_sender(standin.url)
    sender.send(make_letter(), recipients(2))
    standin.script(Answer(403, {"errors": [{"message": f"key {API_KEY} lacks mail.send"}]}))
    with pytest.raises(Permanent) as caught:
        sender.send(make_letter(), recipients(2))
    assert "lacks mail.send" in str(caught.value)
    assert API_KEY not in str(caught.value) and API_KEY not in caplog.text
    assert "reader0@example.com" not in caplog.text  # nor the readers' addresses


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (bad_request(("Does not contain a valid address.", "from.email")), "from.email: Does not"),
        (bad_request(("one", None), ("two", "subject")), "one; subject: two"),
        (Answer(403, {"errors": [{"message": "access forbidden"}]}), "access forbidden"),
        (Answer(413, {"errors": [{"message": "too large"}]}), "too large"),
        (Answer(404, None), "404"),
    ],
)
def test_other_refusals_stop_the_send_with_sendgrid_s_messages(
    standin: SendGridStandIn, answer: Answer, says: str
) -> None:
    standin.script(answer)
    with pytest.raises(Permanent) as caught:
        make_sender(standin.url).send(make_letter(), recipients(2))
    assert says in str(caught.value)
    assert f"({answer.status})" in str(caught.value)


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as nobody:  # bound, never listening: connections are refused
        nobody.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{nobody.getsockname()[1]}"
        with pytest.raises(Transient) as caught:
            make_sender(url).send(make_letter(), recipients(2))
    assert "cannot reach SendGrid" in caught.value.reason
    assert caught.value.retry_after is None


def test_no_answer_within_the_timeout_is_unknown(standin: SendGridStandIn) -> None:
    standin.script(HANG)
    with pytest.raises(Unknown) as caught:
        make_sender(standin.url, timeout=1).send(make_letter(), recipients(2))
    assert "after sending" in caught.value.reason
    assert standin.requests[0].body["personalizations"]  # the request did arrive


def test_a_connection_dropped_after_sending_is_unknown(standin: SendGridStandIn) -> None:
    standin.script(DROP)
    with pytest.raises(Unknown):
        make_sender(standin.url).send(make_letter(), recipients(2))
    assert len(standin.requests) == 1


def test_a_delivered_batch_whose_answer_is_lost_is_unknown(standin: SendGridStandIn) -> None:
    standin.script(DELIVER_THEN_DROP)
    with pytest.raises(Unknown):
        make_sender(standin.url).send(make_letter(), recipients(2))
    # The readers did get it: why an unknown batch is not resent unless asked.
    assert standin.addresses() == ["reader0@example.com", "reader1@example.com"]


def test_batches_in_threads_each_reach_their_readers_once(standin: SendGridStandIn) -> None:
    sender = make_sender(standin.url, concurrency=4, batch_size=50)
    letter, readers = make_letter(), recipients(400)
    batches = [readers[i : i + 50] for i in range(0, 400, 50)]
    with sender, ThreadPoolExecutor(sender.concurrency) as pool:
        results = [r for rs in pool.map(lambda b: sender.send(letter, b), batches) for r in rs]
    assert [r.email for r in results] == [r.email for r in readers]
    assert sorted(standin.addresses()) == sorted(r.email for r in readers)
    assert len({p.message_id for p in standin.requests}) == 8


def test_from_env_needs_the_key(monkeypatch: pytest.MonkeyPatch, standin: SendGridStandIn) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    with pytest.raises(Permanent, match="set SENDGRID_API_KEY"):
        SendGridSender.from_env(SendGridSettings(host=standin.url), sandbox=False)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY + "\n")
    sender = SendGridSender.from_env(SendGridSettings(host=standin.url), sandbox=False)
    assert (sender.name, sender.batch_size, sender.concurrency) == ("sendgrid", 1000, 4)
    assert sender.send(make_letter(), recipients(1))[0].status == "sent"


def test_a_key_with_a_line_break_is_refused_without_showing_it() -> None:
    key = "SG.abc\r\nX-Evil: 1"
    with pytest.raises(Permanent) as caught:
        SendGridSender(SendGridSettings(), key)
    assert key not in str(caught.value) and "SG.abc" not in str(caught.value)


def test_an_all_failed_batch_sends_nothing(standin: SendGridStandIn) -> None:
    r = Recipient(email="a@example.com", name="&" * 3000, unsubscribe_url="https://x/u", key="a")
    results = make_sender(standin.url).send(make_letter(), [r])
    assert results[0].status == "failed"
    assert standin.requests == []
