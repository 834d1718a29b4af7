"""The SMTP sender against a real SMTP server (aiosmtpd on 127.0.0.1): the sender contract, and
what a user notices when a server refuses, drops the connection, wants a login or speaks TLS."""

from __future__ import annotations

import base64
import email
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sender_contract import SenderContract, make_letter, recipients

from digest.config.delivery import SmtpSettings
from digest.deliver.base import Permanent, Recipient, Transient
from digest.deliver.smtp import SmtpSender

PASSWORD = "s3cret-Pa55word"
# aiosmtpd warns when AUTH is allowed without TLS; these servers are on 127.0.0.1 on purpose.
plain_auth = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@dataclass(frozen=True)
class Got:
    """One message the server took: its envelope, its bytes, and the connection it came on."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    content: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        """Parsed as text, so UTF-8 headers (SMTPUTF8, RFC 6532) read as they were sent."""
        text = self.content.decode("utf-8")
        return email.message_from_string(text, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it takes, and misbehaves as a test asks."""

    got: list[Got] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    """RCPT TO address → the refusal to answer with."""
    mail_reply: str | None = None
    """Answer every MAIL FROM with this once `mail_reply_after` messages are in."""
    mail_reply_after: int = 0
    per_connection: int | None = None
    """Hang up at the MAIL FROM after this many messages on one connection."""
    in_all: int | None = None
    """Hang up at every MAIL FROM once this many messages are in (on any connection)."""
    goodbye: str | None = None
    """Instead of hanging up silently, answer that MAIL FROM with this (a 421)."""
    vanish_for: str | None = None
    """Take this reader's message, then hang up before answering it."""

    def _on_this_connection(self, session: Any) -> int:
        return sum(1 for g in self.got if g.peer == session.peer)

    def _hang_up_now(self, session: Any) -> bool:
        if self.per_connection is not None:
            return self._on_this_connection(session) >= self.per_connection
        return self.in_all is not None and len(self.got) >= self.in_all

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self._hang_up_now(session):
            if self.goodbye:
                return self.goodbye
            server.transport.close()
            return "250 OK (never heard)"
        if self.mail_reply and len(self.got) >= self.mail_reply_after:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        got = Got(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            tuple(envelope.mail_options),
            envelope.content,
            session.peer,
        )
        self.got.append(got)
        if got.rcpt_tos == (self.vanish_for,):
            server.transport.close()
        return "250 OK: queued"

    def copies(self) -> dict[str, int]:
        """How many copies each address received."""
        out: dict[str, int] = {}
        for g in self.got:
            for rcpt in g.rcpt_tos:
                out[rcpt] = out.get(rcpt, 0) + 1
        return out

    def connections(self) -> int:
        return len({g.peer for g in self.got})


@dataclass(frozen=True)
class Server:
    inbox: Inbox
    port: int

    def settings(self, **changes: Any) -> SmtpSettings:
        values: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "security": "none"}
        return SmtpSettings(**(values | {"timeout": 10.0} | changes))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    """Start aiosmtpd servers on 127.0.0.1 (keyword arguments go to aiosmtpd); all stopped after."""
    running: list[Controller] = []

    def start(inbox: Inbox | None = None, **params: Any) -> Server:
        inbox = inbox or Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **params)
        controller.start()
        running.append(controller)
        return Server(inbox, port)

    yield start
    for controller in running:
        controller.stop()


def authenticator(
    echo: bool = False,
) -> Callable[[Any, Any, Any, str, Any], AuthResult]:
    """Accept user "digest" with PASSWORD; with `echo`, a refusal repeats what it was sent."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        if echo:
            blob = base64.b64encode(b"\0" + data.login + b"\0" + data.password).decode()
            said = f"535 5.7.8 {data.password.decode()} is wrong (you sent {blob})"
            return AuthResult(success=False, handled=False, message=said)
        ok = data.login == b"digest" and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=data)

    return check


def send(sender: SmtpSender, batch: list[Recipient]) -> list[Any]:
    with sender:
        return sender.send(make_letter(), batch)


class TestSmtp(SenderContract):
    @pytest.fixture
    def server(self, serve: Callable[..., Server]) -> Server:
        return serve()

    @pytest.fixture
    def sender(self, server: Server) -> SmtpSender:
        return SmtpSender(server.settings())

    @pytest.fixture
    def delivered(self, server: Server) -> Callable[[], dict[str, EmailMessage]]:
        return lambda: {g.rcpt_tos[0]: g.message for g in server.inbox.got}


# Envelopes and the connection.


def test_each_reader_is_their_own_transaction_from_the_lists_address(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    sender = SmtpSender(server.settings())
    with sender:
        first = sender.send(make_letter(), recipients(3))
        second = sender.send(make_letter(), recipients(5)[3:])
    got = server.inbox.got
    assert [g.rcpt_tos for g in got] == [(f"reader{i}@example.com",) for i in range(5)]
    assert {g.mail_from for g in got} == {"daily@news.example.org"}
    ids = [r.message_id for r in first + second]
    assert ids == [g.message["Message-ID"] for g in got]
    assert server.inbox.connections() == 1  # one connection, reused across batches


# Refusals.


@pytest.mark.parametrize(
    "refusal", ["550 5.1.1 no such user here", "450 4.2.1 mailbox busy, try again later"]
)
def test_a_refused_reader_fails_alone(serve: Callable[..., Server], refusal: str) -> None:
    server = serve(Inbox(refuse={"reader1@example.com": refusal}))
    results = send(SmtpSender(server.settings()), recipients(3))
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert results[1].error == refusal
    assert server.inbox.copies() == {"reader0@example.com": 1, "reader2@example.com": 1}


@pytest.mark.parametrize(
    ("reply", "raised"),
    [
        ("553 5.7.1 not allowed to send as that address", Permanent),
        ("451 4.7.1 slow down", Transient),
    ],
)
def test_a_refused_sender_is_the_whole_batchs_answer(
    serve: Callable[..., Server], reply: str, raised: type[Exception]
) -> None:
    server = serve(Inbox(mail_reply=reply))
    with pytest.raises(raised, match=reply.split()[0]) as caught:
        send(SmtpSender(server.settings()), recipients(3))
    assert "daily@news.example.org" in str(caught.value)
    assert server.inbox.got == []


@pytest.mark.parametrize("reply", ["553 5.7.1 not allowed any more", "451 4.7.1 slow down"])
def test_a_refusal_after_some_went_out_keeps_them_sent(
    serve: Callable[..., Server], reply: str
) -> None:
    """Raising would retry (or release) the batch and send the first readers a second copy."""
    server = serve(Inbox(mail_reply=reply, mail_reply_after=2))
    results = send(SmtpSender(server.settings()), recipients(4))
    assert [r.status for r in results] == ["sent", "sent", "failed", "failed"]
    assert all(reply in (r.error or "") for r in results[2:])
    assert server.inbox.copies() == {"reader0@example.com": 1, "reader1@example.com": 1}


# Dropped connections.


@pytest.mark.parametrize("goodbye", [None, "421 4.7.0 too many messages, closing"])
def test_a_dropped_connection_is_reopened_and_nobody_gets_two_copies(
    serve: Callable[..., Server], goodbye: str | None
) -> None:
    server = serve(Inbox(per_connection=2, goodbye=goodbye))
    batch = recipients(5)
    results = send(SmtpSender(server.settings()), batch)
    assert [r.status for r in results] == ["sent"] * 5
    assert server.inbox.copies() == {r.email: 1 for r in batch}
    assert server.inbox.connections() == 3


def test_a_server_that_keeps_hanging_up_fails_the_rest_and_keeps_the_sent(
    serve: Callable[..., Server],
) -> None:
    server = serve(Inbox(in_all=2))
    results = send(SmtpSender(server.settings()), recipients(4))
    assert [r.status for r in results] == ["sent", "sent", "failed", "failed"]
    assert "dropped the connection twice" in (results[2].error or "")
    assert server.inbox.copies() == {"reader0@example.com": 1, "reader1@example.com": 1}


def test_a_server_that_hangs_up_before_taking_any_is_transient(
    serve: Callable[..., Server],
) -> None:
    server = serve(Inbox(in_all=0))
    with pytest.raises(Transient, match="dropped the connection twice"):
        send(SmtpSender(server.settings()), recipients(3))
    assert server.inbox.got == []


def test_a_connection_lost_before_datas_answer_is_unknown_and_not_sent_again(
    serve: Callable[..., Server],
) -> None:
    """Only the reader whose DATA lost its answer is in doubt: the ones before are sent, the
    ones after go out on a fresh connection, and nobody is sent twice."""
    server = serve(Inbox(vanish_for="reader1@example.com"))
    batch = recipients(4)
    sender = SmtpSender(server.settings())
    with sender:
        results = sender.send(make_letter(), batch)
    assert [r.status for r in results] == ["sent", "unknown", "sent", "sent"]
    assert "may have taken the message" in (results[1].error or "")
    assert server.inbox.copies() == {
        "reader0@example.com": 1,
        "reader1@example.com": 1,
        "reader2@example.com": 1,
        "reader3@example.com": 1,
    }


# Connecting.


def test_a_refused_connection_is_transient() -> None:
    port = free_port()
    sender = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, security="none"))
    with pytest.raises(Transient, match=re.escape(f"cannot connect to 127.0.0.1:{port}: ")):
        sender.open()


def test_a_server_that_never_greets_is_transient() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        sender = SmtpSender(SmtpSettings("127.0.0.1", port, security="none", timeout=0.5))
        with pytest.raises(Transient, match="timed out"):
            sender.open()


# Logging in.


@plain_auth
def test_a_login_with_smtp_password_sends(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"authenticator": authenticator(), "auth_required": True, "auth_require_tls": False}
    server = serve(**params)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    results = send(SmtpSender.from_env(server.settings(username="digest")), recipients(2))
    assert [r.status for r in results] == ["sent", "sent"]
    assert len(server.inbox.got) == 2


@plain_auth
def test_a_wrong_password_is_permanent_and_never_shown(
    serve: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    params = {"authenticator": authenticator(), "auth_required": True, "auth_require_tls": False}
    server = serve(**params)
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-" + PASSWORD
    sender = SmtpSender(server.settings(username="digest"), password=wrong)
    with pytest.raises(Permanent, match="535") as caught:
        sender.open()
    shown = [str(caught.value), repr(caught.value), repr(sender)]
    shown += [r.getMessage() for r in caplog.records if r.name.startswith("digest")]
    assert not any(wrong in s for s in shown)
    assert "SMTP_PASSWORD" in str(caught.value)
    assert server.inbox.got == []


def test_a_server_repeating_the_password_has_it_masked(serve: Callable[..., Server]) -> None:
    params = {"authenticator": authenticator(echo=True), "auth_require_tls": False}
    server = serve(**params)
    with pytest.raises(Permanent) as caught:
        SmtpSender(server.settings(username="digest"), password=PASSWORD).open()
    assert PASSWORD not in str(caught.value)
    assert base64.b64encode(f"\0digest\0{PASSWORD}".encode()).decode() not in str(caught.value)
    assert "*** is wrong" in str(caught.value)


def test_a_username_without_smtp_password_is_permanent(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with pytest.raises(Permanent, match="SMTP_PASSWORD is not set"):
        SmtpSender.from_env(server.settings(username="digest")).open()


def test_no_password_in_clear_text_to_another_machine() -> None:
    settings = SmtpSettings(host="smtp.example.com", port=25, security="none", username="digest")
    with pytest.raises(Permanent, match="unencrypted") as caught:
        SmtpSender(settings, password=PASSWORD).open()
    assert "starttls" in (caught.value.hint or "")


@plain_auth
def test_a_server_that_wants_a_login_when_none_is_set_is_permanent(
    serve: Callable[..., Server],
) -> None:
    params = {"authenticator": authenticator(), "auth_required": True, "auth_require_tls": False}
    server = serve(**params)
    with pytest.raises(Permanent, match="530") as caught:
        send(SmtpSender(server.settings()), recipients(2))
    assert "delivery.smtp.username" in (caught.value.hint or "")


# TLS.


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext
    """Trusts the server's self-signed certificate (and nothing else)."""


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1 and localhost, made now with `cryptography`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return Tls(server, ssl.create_default_context(cadata=cert_pem.decode()))


def test_starttls_then_login(serve: Callable[..., Server], tls: Tls) -> None:
    """The server refuses AUTH before TLS (aiosmtpd's default), so a login proves STARTTLS."""
    server = serve(
        tls_context=tls.server,
        require_starttls=True,
        authenticator=authenticator(),
        auth_required=True,
    )
    settings = server.settings(security="starttls", username="digest")
    sender = SmtpSender(settings, password=PASSWORD, ssl_context=tls.client)
    results = send(sender, recipients(2))
    assert [r.status for r in results] == ["sent", "sent"]
    assert len(server.inbox.got) == 2


def test_implicit_tls(serve: Callable[..., Server], tls: Tls) -> None:
    server = serve(ssl_context=tls.server)
    sender = SmtpSender(server.settings(security="ssl"), ssl_context=tls.client)
    results = send(sender, recipients(2))
    assert [r.status for r in results] == ["sent", "sent"]
    assert len(server.inbox.got) == 2


def test_an_untrusted_certificate_is_permanent(serve: Callable[..., Server], tls: Tls) -> None:
    server = serve(tls_context=tls.server)
    with pytest.raises(
        Permanent, match=re.escape(f"certificate of 127.0.0.1:{server.port} is not trusted")
    ):
        SmtpSender(server.settings(security="starttls")).open()


def test_starttls_asked_for_but_not_offered_is_permanent(serve: Callable[..., Server]) -> None:
    server = serve()
    with pytest.raises(Permanent, match="does not offer STARTTLS"):
        SmtpSender(server.settings(security="starttls")).open()


def test_tls_on_a_plain_port_is_permanent(serve: Callable[..., Server]) -> None:
    server = serve()
    with pytest.raises(Permanent, match=re.escape(f"TLS with 127.0.0.1:{server.port} failed")):
        SmtpSender(server.settings(security="ssl")).open()


# Addresses beyond ASCII.


def international(email_address: str) -> Recipient:
    url = "https://news.example.org/unsubscribe?token=t9"
    return Recipient(email=email_address, name="Zoë", unsubscribe_url=url, key=email_address)


def test_an_international_address_goes_with_smtputf8(serve: Callable[..., Server]) -> None:
    server = serve(enable_SMTPUTF8=True)  # aiosmtpd's Controller's default, said out loud
    reader = international("leser@bücher.example")
    results = send(SmtpSender(server.settings()), [*recipients(1), reader])
    assert [r.status for r in results] == ["sent", "sent"]
    got = server.inbox.got[1]
    assert got.rcpt_tos == ("leser@bücher.example",)
    assert "SMTPUTF8" in got.mail_options
    assert got.message["To"].addresses[0].addr_spec == "leser@bücher.example"
    assert "SMTPUTF8" not in server.inbox.got[0].mail_options


def test_an_international_address_fails_alone_without_smtputf8(
    serve: Callable[..., Server],
) -> None:
    server = serve(enable_SMTPUTF8=False)
    batch = [international("leser@bücher.example"), *recipients(1)]
    results = send(SmtpSender(server.settings()), batch)
    assert [r.status for r in results] == ["failed", "sent"]
    assert "SMTPUTF8" in (results[0].error or "")
    assert server.inbox.copies() == {"reader0@example.com": 1}


def test_a_non_ascii_local_part_goes_with_smtputf8(
    serve: Callable[..., Server],
) -> None:
    """docs/subscribers.md accepts such addresses: a server that offers SMTPUTF8 gets them."""
    server = serve(enable_SMTPUTF8=True)
    batch = [international("ünicode@example.com"), *recipients(1)]
    results = send(SmtpSender(server.settings()), batch)
    assert [r.status for r in results] == ["sent", "sent"]
    assert server.inbox.copies() == {"ünicode@example.com": 1, "reader0@example.com": 1}
