"""SendGrid's Event Webhook over real HTTP: an issue really sent through the SendGrid stand-in
(so the events carry the `custom_args` digest put on the messages), events signed with a test
ECDSA P-256 key pair made here, posted to `digest.web` on uvicorn; the state in a real SQLite
file and the readers in a real CSV file, checked after the flusher wrote them."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import NOW, make_newsletter
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sendgrid_standin import API_KEY, SendGridStandIn
from test_web_unsubscribe import HEADER, SECRET, changes, row
from webserver import FlushLog, run_app

from digest.config import Config, load_config
from digest.errors import ConfigError
from digest.pipeline import SendRequest, send_issue
from digest.state import SCHEMA_VERSION, STATE_FILE, State
from digest.web import Flusher, Site

NEVER = 3600.0
READERS = ["ada", "bea", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo"]
PATH = "/webhooks/sendgrid"


def _key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


KEY, PUBLIC = _key_pair()
OTHER_KEY, _ = _key_pair()


def email(name: str) -> str:
    return f"{name}@example.com"


@dataclass
class Sent:
    """A newsletter whose issue went to READERS through SendGrid: its folder, and the custom
    args the messages carried (as SendGrid gives them back in each event)."""

    root: Path
    args: dict[str, str]

    @property
    def config(self) -> Config:
        return load_config(self.root / "digest.toml")

    def csv(self) -> bytes:
        return self.config.lists["daily"].subscribers.read_bytes()

    def counts(self) -> dict[str, int]:
        with State.open(self.config.state_dir) as state:
            return state.events.counts(self.args["list"], self.args["issue_id"])


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sent:
    root = make_newsletter(tmp_path)
    rows = "".join(f"{email(n)},{n.title()},subscribed,,\n" for n in READERS)
    extra = "left@example.com,,unsubscribed,2025-05-05T00:00:00Z,2026-10-02T00:00:00Z\n"
    (root / "subscribers" / "daily.csv").write_text(HEADER + rows + extra, encoding="utf-8")
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        with (root / "digest.toml").open("a", encoding="utf-8") as f:
            f.write(
                '\n[delivery]\nbackend = "sendgrid"\nmax_retries = 0\n\n'
                f'[delivery.sendgrid]\nhost = "{sg.url}"\nwebhook_key = "{PUBLIC}"\n'
            )
        config = load_config(root / "digest.toml")
        send_issue(config, config.get_list("daily"), SendRequest(), now=NOW)
        bodies = [r.body for r in sg.requests if r.status == 202]
    args = bodies[0]["personalizations"][0]["custom_args"]
    assert set(args) == {"list", "issue_id"} and args["list"] == "daily"
    assert all(p["custom_args"] == args for b in bodies for p in b["personalizations"])
    return Sent(root, args)


@dataclass
class Hook:
    sent: Sent
    url: str
    client: httpx.Client
    flushes: FlushLog

    def post(
        self,
        events: list[dict[str, Any]] | bytes,
        *,
        key: ec.EllipticCurvePrivateKey = KEY,
        at: float | None = None,
        skew: float = 0.0,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST a batch signed as SendGrid signs it (timestamp header + raw body), stamped
        `at`, else now plus `skew` seconds (taken when posting: collection was long ago)."""
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        stamp = str(int(time.time() + skew if at is None else at))
        sig = signature
        if sig is None:
            raw = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            sig = base64.b64encode(raw).decode()
        headers = {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": sig,
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        return self.client.post(self.url + PATH, content=body, headers=headers)


@contextmanager
def hooked(sent: Sent, delay: float = 0.0) -> Iterator[Hook]:
    config = sent.config
    site = Site(config, SECRET)
    flushes = FlushLog()
    with (
        run_app(site, Flusher(site, delay=delay, apply=flushes)) as url,
        httpx.Client(timeout=30) as client,
    ):
        yield Hook(sent, url, client, flushes)


_ids = iter(range(1_000_000))


def event(sent: Sent, name: str, who: str, **fields: Any) -> dict[str, Any]:
    """An event as SendGrid posts it: custom args as top-level fields, a fresh sg_event_id."""
    return {
        "email": email(who),
        "timestamp": int(NOW.timestamp()),
        "event": name,
        "sg_event_id": f"ev-{next(_ids)}",
        "sg_message_id": "msg.filter0001",
        **sent.args,
        **fields,
    }


def mixed_batch(sent: Sent) -> list[dict[str, Any]]:
    return [
        event(sent, "processed", "ada"),
        event(sent, "delivered", "ada"),
        event(sent, "open", "ada"),
        event(sent, "click", "ada", url="https://news.example.org/"),
        event(sent, "bounce", "bea", type="bounce", reason="550 5.1.1 no such user"),
        event(sent, "bounce", "cy", type="blocked", reason="421 try later"),
        event(sent, "deferred", "dee", response="451 greylisted"),
        event(sent, "dropped", "eve", reason="Bounced Address"),
        event(sent, "dropped", "fay", reason="Invalid"),
        event(sent, "dropped", "gus", reason="Spam Content"),
        event(sent, "spamreport", "hal"),
        event(sent, "unsubscribe", "ivy"),
        event(sent, "group_unsubscribe", "jo", asm_group_id=1),
    ]


def status(data: bytes, who: str) -> str:
    return row(data, email(who)).split(",")[2]


# --- a valid batch ---------------------------------------------------------------------------


def test_a_signed_batch_of_every_event_reaches_the_csv_and_the_counts(sent: Sent) -> None:
    with hooked(sent) as hook:
        answer = hook.post(mixed_batch(sent))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"recorded": 13, "replayed": 0, "ignored": 0}
        hook.flushes.wait_applied("daily", 6)
    data = sent.csv()
    expected = {
        "ada": "subscribed",
        "bea": "bounced",
        "cy": "subscribed",  # a soft bounce changes nothing
        "dee": "subscribed",
        "eve": "bounced",
        "fay": "bounced",
        "gus": "subscribed",  # dropped for its content, not its address
        "hal": "complained",
        "ivy": "unsubscribed",
        "jo": "unsubscribed",
    }
    assert {n: status(data, n) for n in READERS} == expected
    assert sent.counts() == {
        "processed": 1,
        "delivered": 1,
        "open": 1,
        "click": 1,
        "bounce": 1,
        "blocked": 1,
        "deferred": 1,
        "dropped": 1,  # for its content
        "dropped_dead": 2,  # a bounced address, an invalid one
        "spamreport": 1,
        "unsubscribe": 1,
        "group_unsubscribe": 1,
    }
    origins = {(c["reader"], c["status"], c["origin"]) for c in changes(sent.config)}
    assert ("hal@example.com", "complained", "sendgrid") in origins
    assert all(c["applied_at"] for c in changes(sent.config))


def test_a_replayed_batch_is_counted_once(sent: Sent) -> None:
    batch = mixed_batch(sent)
    with hooked(sent, delay=NEVER) as hook:
        assert hook.post(batch).json()["recorded"] == 13
        again = hook.post(batch)
        assert again.status_code == 200
        assert again.json() == {"recorded": 0, "replayed": 13, "ignored": 0}
    assert sent.counts()["delivered"] == 1 and sent.counts()["dropped_dead"] == 2
    assert len(changes(sent.config)) == 6  # one status change per event, not per post


# --- requests that are not SendGrid's ---------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"key": OTHER_KEY}, id="another-key"),
        pytest.param({"signature": ""}, id="missing"),
        pytest.param({"signature": "not base64!"}, id="garbage"),
        pytest.param({"skew": -11 * 60}, id="stale"),
        pytest.param({"skew": 11 * 60}, id="from-the-future"),
    ],
)
def test_a_forged_or_stale_signature_gets_403_and_changes_nothing(
    sent: Sent, forge: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    before = sent.csv()
    with caplog.at_level(logging.WARNING), hooked(sent) as hook:
        answer = hook.post(mixed_batch(sent), **forge)
        assert answer.status_code == 403
    assert sent.csv() == before
    assert sent.counts() == {} and changes(sent.config) == []
    assert "POST /webhooks/sendgrid refused (403)" in caplog.text
    assert PUBLIC not in caplog.text


def test_a_body_signed_then_altered_gets_403(sent: Sent) -> None:
    body = json.dumps([event(sent, "bounce", "ada", type="bounce")]).encode()
    stamp = str(int(time.time()))
    sig = base64.b64encode(KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    with hooked(sent) as hook:
        altered = body.replace(b"ada@", b"bea@")
        answer = hook.post(altered, signature=sig, at=int(stamp))
        assert answer.status_code == 403
    assert changes(sent.config) == []


def test_a_signed_body_that_is_not_a_json_array_gets_400_and_a_huge_one_413(sent: Sent) -> None:
    with hooked(sent) as hook:
        assert hook.post(b"[{not json").status_code == 400
        assert hook.post(b'{"event": "bounce"}').status_code == 400
        assert hook.post(b"[" + b" " * (9 * 1024 * 1024) + b"]").status_code == 413
    assert changes(sent.config) == []


def test_without_a_webhook_key_the_route_is_404_and_says_why(
    sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    toml = sent.root / "digest.toml"
    toml.write_text(
        "\n".join(ln for ln in toml.read_text().splitlines() if "webhook_key" not in ln) + "\n"
    )
    with caplog.at_level(logging.WARNING), hooked(sent) as hook:
        assert hook.post(mixed_batch(sent)).status_code == 404
    assert "no [delivery.sendgrid] webhook_key" in caplog.text
    assert changes(sent.config) == []


# --- events digest did not send ----------------------------------------------------------------


def test_events_of_an_unknown_issue_or_reader_are_logged_and_ignored_with_a_2xx(
    sent: Sent, caplog: pytest.LogCaptureFixture
) -> None:
    other_issue = {**sent.args, "issue_id": "daily-1999-01-01"}
    batch = [
        event(sent, "bounce", "stranger", type="bounce"),  # never sent to
        event(sent, "bounce", "left", type="bounce"),  # on the list, but was not sent the issue
        {**event(sent, "spamreport", "ada"), **other_issue},
        {**event(sent, "spamreport", "ada"), "list": "weekly"},
        {"email": "ada@example.com", "event": "bounce", "sg_event_id": "x"},  # not digest's mail
        event(sent, "delivered", "bea"),
    ]
    before = sent.csv()
    with caplog.at_level(logging.INFO), hooked(sent) as hook:
        answer = hook.post(batch)
        assert answer.status_code == 200
        assert answer.json() == {"recorded": 1, "replayed": 0, "ignored": 5}
    assert sent.csv() == before
    assert sent.counts() == {"delivered": 1}
    assert changes(sent.config) == []
    assert "s***@example.com" in caplog.text and "stranger@example.com" not in caplog.text


# --- precedence over clicks --------------------------------------------------------------------


def test_a_bounce_wins_over_a_later_unsubscribe_click_and_its_undo(sent: Sent) -> None:
    from digest.tokens import unsubscribe_url

    with hooked(sent, delay=NEVER) as hook:
        assert hook.post([event(sent, "bounce", "ada", type="bounce")]).status_code == 200
        link = unsubscribe_url(hook.url, SECRET, "daily", email("ada"))
        clicked = hook.client.post(link, content=b"List-Unsubscribe=One-Click")
        assert clicked.status_code == 200
        fields = {"list": "daily", "email": email("ada"), "token": link.split("token=")[1]}
        hook.client.post(hook.url + "/resubscribe", data=fields)
        with State.open(sent.config.state_dir) as state:
            assert email("ada") in state.changes.held("daily", NOW)
    # the server stopped: its flusher wrote everything pending in one rewrite
    assert status(sent.csv(), "ada") == "bounced"
    outcomes = [(c["status"], c["outcome"]) for c in changes(sent.config)]
    assert outcomes[0] == ("bounced", "changed")
    assert all(o == "superseded" for _, o in outcomes[1:])


def test_a_complaint_replaces_an_earlier_unsubscribe_but_a_click_never_a_complaint(
    sent: Sent,
) -> None:
    from digest.tokens import unsubscribe_url

    with hooked(sent) as hook:
        link = unsubscribe_url(hook.url, SECRET, "daily", email("bea"))
        hook.client.post(link, content=b"List-Unsubscribe=One-Click")
        hook.flushes.wait_applied("daily", 1)
        assert status(sent.csv(), "bea") == "unsubscribed"
        hook.post([event(sent, "spamreport", "bea"), event(sent, "bounce", "cy")])
        hook.flushes.wait_applied("daily", 3)
        assert status(sent.csv(), "bea") == "complained"
        assert status(sent.csv(), "cy") == "bounced"
        hook.post([event(sent, "unsubscribe", "cy")])
        hook.flushes.wait_applied("daily", 4)
    assert status(sent.csv(), "cy") == "bounced"


# --- the state file -----------------------------------------------------------------------------


def test_a_version_5_state_file_migrates_to_6_and_keeps_its_changes(tmp_path: Path) -> None:
    from digest.state.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / STATE_FILE)
    for version in range(1, 6):
        conn.executescript(MIGRATIONS[version])
    conn.execute(
        "INSERT INTO status_changes (list, reader, email, status, at, origin) "
        "VALUES ('daily', 'a@example.com', 'a@example.com', 'unsubscribed', ?, 'web')",
        (NOW.isoformat(),),
    )
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as state:
        assert [c.reader for c in state.changes.pending("daily")] == ["a@example.com"]
        assert state.events.counts("daily", "daily-2026-11-24") == {}
    conn = sqlite3.connect(tmp_path / STATE_FILE)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"provider_events", "issue_events"} <= tables
    conn.close()


# --- digest.toml ---------------------------------------------------------------------------------


def _rsa_key() -> str:
    der = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


def _p384_key() -> str:
    der = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not a key at all", "is not a public key in base64 DER"),
        (base64.b64encode(b"0123456789").decode(), "is not a public key in base64 DER"),
        (_rsa_key(), "is not an ECDSA P-256 public key"),
        (_p384_key(), "is not an ECDSA P-256 public key"),
    ],
)
def test_a_bad_webhook_key_in_digest_toml_is_a_clear_error(
    tmp_path: Path, value: str, problem: str
) -> None:
    root = make_newsletter(tmp_path)
    with (root / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[delivery.sendgrid]\nwebhook_key = "{value}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(root / "digest.toml")
    assert "delivery.sendgrid.webhook_key" in err.value.message
    assert problem in err.value.message
    assert "line" in err.value.message and "Event Webhook" in (err.value.hint or "")


def test_a_webhook_key_with_spaces_around_it_loads(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    with (root / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[delivery.sendgrid]\nwebhook_key = "  {PUBLIC} "\n')
    config = load_config(root / "digest.toml")
    assert config.delivery.sendgrid.webhook_key == base64.b64decode(PUBLIC)
