"""Sending with the ledger: every subscribed reader gets the issue once, nobody who left gets it,
a send run again resumes instead of mailing twice, and a killed send loses nobody."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from conftest import NOW, make_newsletter

from digest.config import load_config
from digest.deliver.base import Letter, Permanent, Recipient, Result, Sender, Transient, Unknown
from digest.deliver.retry import Backoff
from digest.deliver.send import IssueLedger, SendOptions, deliver
from digest.pipeline import SendRequest, send_issue
from digest.state import State
from digest.subscribers import SubscriberList
from digest.tokens import verify

DIGEST = Path(sys.executable).parent / "digest"
READERS = (
    "email,name,status\n"
    "ada@example.com,Ada Lovelace,subscribed\n"
    "grace@example.com,,subscribed\n"
    "alan@example.com,Alan Turing,unsubscribed\n"
)


@pytest.fixture
def news(tmp_path: Path) -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(READERS, encoding="utf-8")
    return root


def outbox_messages(
    root: Path, issue: str = "daily-2026-11-24"
) -> dict[str, email.message.Message]:
    out = {}
    for f in sorted((root / "outbox" / issue).glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        out[email.utils.parseaddr(msg["To"])[1]] = msg
    return out


def test_each_subscribed_reader_gets_one_copy_and_the_one_who_left_none(
    news: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "s3cret-for-tests")
    config = load_config(news / "digest.toml")
    report = send_issue(config, config.get_list("daily"), SendRequest(), now=NOW)
    assert report.finished and report.tally.sent == 2 and report.tally.failed == 0
    got = outbox_messages(news)
    assert sorted(got) == ["ada@example.com", "grace@example.com"]
    ada = got["ada@example.com"]
    assert email.utils.getaddresses([ada["To"]]) == [("Ada Lovelace", "ada@example.com")]
    assert ada["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = ada["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert link.startswith(
        "https://news.example.org/unsubscribe?list=daily&email=ada@example.com&token="
    )
    token = link.rsplit("token=", 1)[1]
    assert verify("s3cret-for-tests", "daily", "ada@example.com", token)
    assert not verify("s3cret-for-tests", "daily", "grace@example.com", token)
    text = ada.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Unsubscribe: {link}" in text  # the same link, visible in the footer


def test_sending_again_the_same_day_sends_nothing_more(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    first = send_issue(config, lst, SendRequest(), now=NOW)
    files = {p: p.read_bytes() for p in (news / "outbox").rglob("*.eml")}
    again = send_issue(config, lst, SendRequest(), now=NOW + timedelta(hours=2))
    assert first.tally.sent == 2
    assert again.tally.sent == 0 and "nothing more to send" in again.message
    assert {p: p.read_bytes() for p in (news / "outbox").rglob("*.eml")} == files


def test_the_next_issue_does_not_repeat_what_was_sent(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    send_issue(config, lst, SendRequest(), now=NOW)
    tomorrow = send_issue(config, lst, SendRequest(), now=NOW + timedelta(days=1))
    assert tomorrow.issue_id is None and "nothing new to send" in tomorrow.message


def test_a_new_issue_the_same_day_is_its_own_issue(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    send_issue(config, lst, SendRequest(), now=NOW)
    (news / "articles" / "late.md").write_text(
        "---\ntitle: A late story\ndate: 2026-11-24T06:50:00Z\n---\n\n"
        "The council met again late on Monday and agreed to keep the pool open all winter.\n",
        encoding="utf-8",
    )
    extra = send_issue(config, lst, SendRequest(new_issue=True), now=NOW + timedelta(hours=1))
    assert extra.issue_id == "daily-2026-11-24-2" and extra.tally.sent == 2
    assert extra.articles == 1  # only what the first issue did not have


def test_a_resumed_send_sends_the_frozen_issue_even_if_a_source_changed(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    people = SubscriberList(lst.subscribers)
    people.add("new@example.com")
    first = send_issue(config, lst, SendRequest(), now=NOW)
    subject = outbox_messages(news)["ada@example.com"]["Subject"]
    for f in (news / "articles").iterdir():
        f.write_text(f.read_text(encoding="utf-8").replace("library", "LIBRARY"), encoding="utf-8")
    people.add("later@example.com")
    with State.open(config.state_dir) as state:  # reopen the issue as if unfinished
        state.db.conn.execute("UPDATE sends SET finished_at = NULL")
    resumed = send_issue(config, lst, SendRequest(), now=NOW + timedelta(hours=1))
    assert first.tally.sent == 3 and resumed.tally.sent == 1 and resumed.tally.skipped == 3
    assert outbox_messages(news)["later@example.com"]["Subject"] == subject


def test_dry_run_and_test_copy_leave_the_ledger_alone(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    dry = send_issue(config, lst, SendRequest(dry_run=True), now=NOW)
    assert dry.readers == 2 and "would go to 2 reader(s)" in dry.message
    test = send_issue(config, lst, SendRequest(to="me@example.org"), now=NOW)
    assert "one test copy" in test.message
    assert sorted(outbox_messages(news, "daily-2026-11-24-test")) == ["me@example.org"]
    real = send_issue(config, lst, SendRequest(), now=NOW)
    assert real.tally.sent == 2


def test_a_real_send_without_secret_or_base_url_stops_with_one_line(
    news: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_SECRET"}
    r = subprocess.run(
        [str(DIGEST), "send", "--backend", "smtp"],
        cwd=news,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 1
    assert "a real send needs DIGEST_SECRET" in r.stderr and "Traceback" not in r.stderr
    assert not (news / ".digest" / "state.sqlite3").exists() or "sent" not in r.stdout


def test_status_shows_the_ledger(news: Path) -> None:
    config = load_config(news / "digest.toml")
    send_issue(config, config.get_list("daily"), SendRequest(), now=NOW)
    r = subprocess.run(
        [str(DIGEST), "status", "--json"], cwd=news, capture_output=True, text=True, check=True
    )
    rows = json.loads(r.stdout)
    assert rows[0]["issue_id"] == "daily-2026-11-24" and rows[0]["counts"]["sent"] == 2
    plain = subprocess.run([str(DIGEST), "status"], cwd=news, capture_output=True, text=True)
    assert "daily-2026-11-24: sent 2" in plain.stdout


# The send loop, with senders that answer as a provider would.


class Scripted(Sender):
    """Answers each `send` from a script: an exception to raise, or None to deliver."""

    name = "scripted"
    batch_size = 2

    def __init__(self, script: Sequence[BaseException | None] = (), fail: str = "") -> None:
        self.script = list(script)
        self.fail = fail
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        with self.lock:
            step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step
        out = []
        for r in batch:
            if r.email == self.fail:
                out.append(Result(r.email, "failed", error="550 no such user"))
            else:
                with self.lock:
                    self.delivered.append(r.email)
                out.append(Result(r.email, "sent", message_id=f"<{r.email}>"))
        return out


def _letter() -> Letter:
    from sender_contract import make_letter

    return make_letter()


def _readers(n: int) -> list[Recipient]:
    return [
        Recipient(f"r{i}@example.com", "", f"https://u.example/{i}", f"r{i}@example.com")
        for i in range(n)
    ]


def _ledger(tmp_path: Path, **options: bool) -> tuple[IssueLedger, State]:
    state = State.open(tmp_path)
    state.sends.start("daily", "daily-1", "scripted", {}, [], NOW)
    opts = SendOptions(backoff=Backoff(tries=4, base=0.0), **options)
    return IssueLedger(state.sends, "daily", "daily-1", opts), state


def test_refused_batches_are_retried_until_each_reader_has_one_copy(tmp_path: Path) -> None:
    ledger, state = _ledger(tmp_path)
    sender = Scripted([Transient("429 too many"), Transient("503"), None, Transient("500")])
    tally = deliver(_letter(), _readers(5), sender, ledger, sleep=lambda s: None)
    assert tally.sent == 5 and sorted(sender.delivered) == sorted(r.email for r in _readers(5))
    assert state.sends.counts("daily", "daily-1").counts["sent"] == 5


def test_a_permanent_refusal_stops_at_once_and_keeps_the_batch_pending(tmp_path: Path) -> None:
    ledger, state = _ledger(tmp_path)
    sender = Scripted([None, Permanent("401 The provided authorization grant is invalid")])
    with pytest.raises(Permanent, match="authorization grant"):
        deliver(_letter(), _readers(10), sender, ledger, sleep=lambda s: None)
    counts = state.sends.counts("daily", "daily-1").counts
    assert counts["sent"] == 2 and counts["pending"] == 2 and counts["claimed"] == 0
    assert len(sender.delivered) == 2  # not 10: a bad key does not burn through the list


def test_an_unknown_outcome_is_not_resent_unless_asked(tmp_path: Path) -> None:
    ledger, state = _ledger(tmp_path)
    first = deliver(_letter(), _readers(4), Scripted([Unknown("timed out after sending")]), ledger)
    assert first.unknown == 2 and first.sent == 2
    again = Scripted()
    deliver(_letter(), _readers(4), again, ledger)
    assert again.delivered == []
    asked = IssueLedger(state.sends, "daily", "daily-1", SendOptions(resend_unknown=True))
    deliver(_letter(), _readers(4), again, asked)
    assert sorted(again.delivered) == ["r0@example.com", "r1@example.com"]


def test_a_refused_reader_fails_alone_and_is_retried_when_asked(tmp_path: Path) -> None:
    ledger, state = _ledger(tmp_path)
    tally = deliver(_letter(), _readers(3), Scripted(fail="r1@example.com"), ledger)
    assert (tally.sent, tally.failed) == (2, 1)
    assert state.sends.counts("daily", "daily-1").failed == (
        ("r1@example.com", "550 no such user"),
    )
    retry = IssueLedger(state.sends, "daily", "daily-1", SendOptions(retry_failed=True))
    sender = Scripted()
    deliver(_letter(), _readers(3), sender, retry)
    assert sender.delivered == ["r1@example.com"]


def test_retries_give_up_and_the_batch_is_failed_with_the_reason(tmp_path: Path) -> None:
    ledger, state = _ledger(tmp_path)
    sender = Scripted([Transient("503 busy")] * 10)
    tally = deliver(_letter(), _readers(2), sender, ledger, sleep=lambda s: None)
    assert tally.failed == 2
    assert "503 busy (gave up after 4 tries)" in state.sends.counts("daily", "daily-1").failed[0][1]


# A real process killed mid-send.

BIG = 3000


def test_a_send_killed_mid_way_and_run_again_loses_nobody_and_repeats_nobody(
    tmp_path: Path,
) -> None:
    root = make_newsletter(tmp_path)
    rows = "".join(f"reader{i}@example.com,,subscribed\n" for i in range(BIG))
    (root / "subscribers" / "daily.csv").write_text("email,name,status\n" + rows, encoding="utf-8")
    outbox = root / "outbox"
    proc = subprocess.Popen([str(DIGEST), "send"], cwd=root, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once some copies are written, not all
        if outbox.exists() and len(list(outbox.rglob("*.eml"))) >= 200:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {p.name: p.read_bytes() for p in outbox.rglob("*.eml")}
    assert 0 < len(before) < BIG, "the send was not caught mid-way"
    config = load_config(root / "digest.toml")
    with State.open(config.state_dir) as state:
        sent_first = {
            r[0]
            for r in state.db.conn.execute("SELECT email FROM deliveries WHERE status = 'sent'")
        }
    r = subprocess.run([str(DIGEST), "send", "--json"], cwd=root, capture_output=True, text=True)
    report = json.loads(r.stdout)
    assert r.returncode == 1  # some readers are unknown: said, and the exit code says so
    assert 0 < report["interrupted"] <= 500
    with State.open(config.state_dir) as state:
        rows2 = dict(state.db.conn.execute("SELECT email, status FROM deliveries").fetchall())
    assert len(rows2) == BIG
    unknown = {e for e, s in rows2.items() if s == "unknown"}
    assert len(unknown) == report["interrupted"]
    assert all(s == "sent" for e, s in rows2.items() if e not in unknown)
    assert report["tally"]["sent"] == BIG - len(sent_first) - len(unknown)
    # Nobody marked sent in the first run got a second copy: their files are as they were.
    for p in outbox.rglob("*.eml"):
        to = email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"]
        if to in sent_first:
            assert p.read_bytes() == before[p.name]


# What the review of the send found (each failed before its fix).


def test_sandbox_is_refused_for_a_sender_that_has_none(news: Path) -> None:
    from digest.errors import ConfigError

    config = load_config(news / "digest.toml")
    with pytest.raises(ConfigError, match="--sandbox is SendGrid's sandbox mode"):
        send_issue(config, config.get_list("daily"), SendRequest(sandbox=True), now=NOW)
    assert not (news / "outbox").exists()


def test_a_dry_run_with_to_sends_nothing_and_a_bad_to_is_refused(news: Path) -> None:
    from digest.errors import ConfigError

    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    send_issue(config, lst, SendRequest(dry_run=True, to="me@example.org"), now=NOW)
    assert not (news / "outbox").exists()
    with pytest.raises(ConfigError, match="--to: 'not an address' is not an email address"):
        send_issue(config, lst, SendRequest(to="not an address"), now=NOW)


def test_nobody_to_send_to_uses_up_nothing(news: Path) -> None:
    (news / "subscribers" / "daily.csv").write_text("email,name,status\n", encoding="utf-8")
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    empty = send_issue(config, lst, SendRequest(), now=NOW)
    assert "nobody to send to" in empty.message
    SubscriberList(lst.subscribers).add("first@example.com")
    later = send_issue(config, lst, SendRequest(), now=NOW + timedelta(hours=1))
    assert later.tally.sent == 1 and later.articles == 3  # the articles were still new


def test_a_sender_that_cannot_connect_is_one_line_not_a_traceback(news: Path) -> None:
    import socket

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with (news / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(
            '\n[delivery]\nbackend = "smtp"\nmax_retries = 0\n\n'
            f'[delivery.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        )
    env = {**os.environ, "DIGEST_SECRET": "s"}
    r = subprocess.run([str(DIGEST), "send"], cwd=news, capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"cannot connect to 127.0.0.1:{port}" in r.stderr


def test_a_token_from_a_request_is_checked_not_crashed_on() -> None:
    assert not verify("s", "daily", "ada@example.com", "ünïcode")
    assert not verify("s", "daily", "ada@example.com", None)


def test_a_stop_asked_mid_send_settles_every_batch_already_out(tmp_path: Path) -> None:
    """Several batches out when the caller says stop: each one's answer is recorded, none is
    left claimed (and later called unknown, and mailed twice by --resend-unknown)."""
    ledger, state = _ledger(tmp_path)
    sender = Scripted()
    sender.concurrency = 3

    class Stop(Exception):
        pass

    def stop_now(_tally: object) -> None:
        raise Stop()

    with pytest.raises(Stop):
        deliver(_letter(), _readers(6), sender, ledger, progress=stop_now)
    counts = state.sends.counts("daily", "daily-1").counts
    assert counts["claimed"] == 0
    assert counts["sent"] == len(sender.delivered) > 0


def test_a_dry_run_of_a_started_issue_counts_only_the_readers_still_due(news: Path) -> None:
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    send_issue(config, lst, SendRequest(), now=NOW)
    with State.open(config.state_dir) as state:  # reopen it, as a send that stopped would
        state.db.conn.execute("UPDATE sends SET finished_at = NULL")
    SubscriberList(lst.subscribers).add("new@example.com")
    dry = send_issue(config, lst, SendRequest(dry_run=True), now=NOW)
    assert dry.readers == 1 and "would go to 1 reader(s)" in dry.message
