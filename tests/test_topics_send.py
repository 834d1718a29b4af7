"""Each reader's own digest: the stories of their topics (CSV column), one render per distinct
selection, empty selections skipped and counted, and a resumed send after a reader's topics
changed giving every reader one copy of the content the ledger recorded for them. Real parts:
the outbox and the SendGrid stand-in, real SQLite, readers from a real CSV."""

from __future__ import annotations

import email
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW
from sendgrid_standin import API_KEY, SendGridStandIn
from topic_news import STORIES, make_topic_news, titles_in

from digest.cli import main
from digest.config import load_config
from digest.pipeline import SendRequest, send_issue
from digest.state import SCHEMA_VERSION, STATE_FILE, State
from digest.state.schema import MIGRATIONS

DIGEST = Path(sys.executable).parent / "digest"
SCIENCE = [t for _, t, _ in STORIES["science"]]
HISTORY = [t for _, t, _ in STORIES["history"]]
LOCAL = [t for _, t, _ in STORIES["local"]]
GENERAL = [t for _, t, _ in STORIES[""]]
EVERYTHING = SCIENCE + HISTORY + LOCAL + GENERAL  # the issue's order: newest first


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "a-secret-for-tests")
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)


def outbox(root: Path, issue: str = "daily-2026-11-24") -> dict[str, email.message.EmailMessage]:
    out = {}
    for f in sorted((root / "outbox" / issue).glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        out[email.utils.parseaddr(msg["To"])[1]] = msg
    return out


def text_of(msg: email.message.EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_three_readers_get_the_stories_of_their_topics(tmp_path: Path) -> None:
    root = make_topic_news(tmp_path)
    config = load_config(root / "digest.toml")
    report = send_issue(config, config.get_list(), SendRequest(), now=NOW)
    assert report.finished and report.tally.sent == 3
    got = outbox(root)
    # Science: its stories, local (for everyone) and the untagged one; in the issue's order.
    ada = text_of(got["ada@example.com"])
    assert titles_in(ada) == SCIENCE + LOCAL + GENERAL
    assert "4 stories today." in ada
    grace = text_of(got["grace@example.com"])
    assert titles_in(grace) == HISTORY + LOCAL + GENERAL
    assert "3 stories today." in grace
    alan = text_of(got["alan@example.com"])  # no topics: everything
    assert titles_in(alan) == EVERYTHING
    assert "5 stories today." in alan
    # The subject follows the selection (its top story); the HTML too.
    assert got["grace@example.com"]["Subject"] == f"The Daily Example: {HISTORY[0]}"
    html = got["grace@example.com"].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert HISTORY[0] in html and SCIENCE[0] not in html
    assert report.renders == 3
    # Every story of the issue counts as sent for the list, whoever had it.
    with State.open(config.state_dir) as state:
        assert len(state.sent.sent_keys("daily").ids) == len(EVERYTHING)


def test_topics_match_ignoring_case_and_spacing(tmp_path: Path) -> None:
    readers = "email,status,topics\nada@example.com,subscribed, SCIENCE ; Nothing-Here\n"
    root = make_topic_news(tmp_path, readers)
    config = load_config(root / "digest.toml")
    send_issue(config, config.get_list(), SendRequest(), now=NOW)
    assert titles_in(text_of(outbox(root)["ada@example.com"])) == SCIENCE + LOCAL + GENERAL


def test_a_reader_with_nothing_in_their_topics_is_skipped_and_counted(tmp_path: Path) -> None:
    readers = (
        "email,status,topics\n"
        "ada@example.com,subscribed,science\n"
        "grace@example.com,subscribed,history\n"
        "edsger@example.com,subscribed,sports;history\n"
    )
    root = make_topic_news(tmp_path, readers, topics=("science",))
    r = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "send", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["tally"]["sent"] == 1 and report["nothing_for"] == 2
    assert report["finished"]
    assert "skipped 2: nothing in their topics today" in report["message"]
    assert sorted(outbox(root, report["issue_id"])) == ["ada@example.com"]
    with State.open(root / ".digest") as state:
        rows = state.db.conn.execute("SELECT email FROM deliveries").fetchall()
        assert rows == [("ada@example.com",)]  # not marked sent: never sent
    status = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "status", "--json"])
    (row,) = json.loads(status.output)
    assert row["nothing_for"] == 2 and row["renders"] == 1
    text = CliRunner().invoke(main, ["--config", str(root / "digest.toml"), "status"]).output
    assert "skipped 2: nothing in their topics today" in text


def test_nobody_with_anything_in_their_topics_uses_up_nothing(tmp_path: Path) -> None:
    readers = "email,status,topics\ngrace@example.com,subscribed,history\n"
    root = make_topic_news(tmp_path, readers, topics=("science",))
    config = load_config(root / "digest.toml")
    report = send_issue(config, config.get_list(), SendRequest(), now=NOW)
    assert report.issue_id is None and report.nothing_for == 1
    assert "nothing in their topics today" in report.message
    with State.open(config.state_dir) as state:
        assert state.sends.issue_ids("daily") == []  # the stories stay for the next issue
        assert not state.sent.sent_keys("daily").ids


def test_readers_over_topic_sets_cost_one_render_per_selection(tmp_path: Path) -> None:
    """Five topic sets, four selections ("science;history" picks everything, like no topics):
    four renders; each SendGrid request carries readers of one selection and its content."""
    sets = ["", "science", "history", "science;history", "sports"]
    rows = "".join(f"r{i}@example.com,subscribed,{sets[i % 5]}\n" for i in range(300))
    root = make_topic_news(tmp_path, "email,status,topics\n" + rows)
    with SendGridStandIn(api_key=API_KEY) as sg:
        with (root / "digest.toml").open("a", encoding="utf-8") as f:
            f.write(
                f'\n[delivery]\nbackend = "sendgrid"\n\n[delivery.sendgrid]\nhost = "{sg.url}"\n'
                "batch_size = 40\nconcurrency = 2\n"
            )
        config = load_config(root / "digest.toml")
        report = send_issue(config, config.get_list(), SendRequest(), now=NOW)
        bodies = list(sg.accepted)
    assert report.tally.sent == 300 and report.renders == 4
    expected = {
        "": EVERYTHING,
        "science": SCIENCE + LOCAL + GENERAL,
        "history": HISTORY + LOCAL + GENERAL,
        "science;history": EVERYTHING,
        "sports": LOCAL + GENERAL,
    }
    seen = []
    for body in bodies:
        (plain,) = [c["value"] for c in body["content"] if c["type"] == "text/plain"]
        for p in body["personalizations"]:
            i = int(p["to"][0]["email"][1:].split("@")[0])
            assert titles_in(plain) == expected[sets[i % 5]], p["to"]
            seen.append(i)
    assert sorted(seen) == list(range(300))  # each reader once
    assert len({tuple(titles_in(c["value"])) for b in bodies for c in b["content"]}) == 4


def test_a_resumed_send_after_a_topic_change_keeps_each_readers_recorded_content(
    tmp_path: Path,
) -> None:
    """Killed mid-send, the CSV's topics swapped, run again: nobody is sent twice; a reader the
    first part had (sent or in doubt) keeps the content recorded for them; a reader it never
    reached gets the selection of their topics now, from the same frozen stories."""
    n = 3000
    before = {i: ("science", "history", "")[i % 3] for i in range(n)}
    swap = {"science": "history", "history": "science", "": "science"}
    after = {i: swap[t] for i, t in before.items()}
    csv = "email,status,topics\n"
    root = make_topic_news(
        tmp_path, csv + "".join(f"r{i}@example.com,subscribed,{t}\n" for i, t in before.items())
    )
    box = root / "outbox"
    proc = subprocess.Popen([str(DIGEST), "send"], cwd=root, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once some copies are written, not all
        if box.exists() and len(list(box.rglob("*.eml"))) >= 300:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p.name: p.read_bytes() for p in box.rglob("*.eml")}
    assert 0 < len(first) < n, "the send was not caught mid-way"
    with State.open(root / ".digest") as state:
        had = dict(state.db.conn.execute("SELECT email, variant FROM deliveries").fetchall())
        sent_first = {
            e for (e,) in state.db.conn.execute("SELECT email FROM deliveries WHERE status='sent'")
        }
    # The readers' topics change in the file between the two parts.
    (root / "subscribers" / "daily.csv").write_text(
        csv + "".join(f"r{i}@example.com,subscribed,{t}\n" for i, t in after.items()),
        encoding="utf-8",
    )
    r = subprocess.run([str(DIGEST), "send", "--json"], cwd=root, capture_output=True, text=True)
    report = json.loads(r.stdout)
    with State.open(root / ".digest") as state:
        rows = {
            e: (s, v)
            for e, s, v in state.db.conn.execute("SELECT email, status, variant FROM deliveries")
        }
    assert len(rows) == n
    unknown = {e for e, (s, _) in rows.items() if s == "unknown"}
    assert len(unknown) == report["interrupted"]
    assert all(s == "sent" for e, (s, _) in rows.items() if e not in unknown)
    assert report["tally"]["sent"] == n - len(sent_first) - len(unknown)
    assert report["renders"] == 3  # everything, science, history: the only selections
    # A reader the first part had keeps the selection recorded for them then.
    assert all(rows[e][1] == v for e, v in had.items())
    selection = {
        "science": SCIENCE + LOCAL + GENERAL,
        "history": HISTORY + LOCAL + GENERAL,
        "": EVERYTHING,
    }
    files = {}
    for p in box.rglob("*.eml"):
        msg = email.message_from_bytes(p.read_bytes(), policy=policy.default)
        files[email.utils.parseaddr(msg["To"])[1]] = (p, msg)
    assert set(files) >= {e for e, (s, _) in rows.items() if s == "sent"}
    changed = 0
    for address, (p, msg) in files.items():
        i = int(address[1:].split("@")[0])
        if address in sent_first:  # the first part's copy, never sent again
            assert p.read_bytes() == first[p.name]
        # In the ledger before the resume: the topics of then; else the topics of now.
        topics = before[i] if address in had else after[i]
        changed += address not in had
        assert titles_in(text_of(msg)) == selection[topics], (address, topics)
    assert changed > 0  # some readers did get their new topics' selection
    # The readers in doubt, sent again when asked, get the content recorded for them: the
    # selection of their topics of then, not of now.
    assert unknown, "the kill left no batch in doubt"
    r = subprocess.run([str(DIGEST), "send", "--resend-unknown"], cwd=root, capture_output=True)
    assert r.returncode == 0, r.stderr
    for p in box.rglob("*.eml"):
        msg = email.message_from_bytes(p.read_bytes(), policy=policy.default)
        address = email.utils.parseaddr(msg["To"])[1]
        if address in unknown:
            i = int(address[1:].split("@")[0])
            assert before[i] != after[i]
            assert titles_in(text_of(msg)) == selection[before[i]], address


def test_a_version_4_ledger_migrates_and_its_unfinished_issue_goes_whole_to_everyone(
    tmp_path: Path,
) -> None:
    """An issue a version before topics started has no frozen stories: a resume sends every
    reader the whole issue (one render), whatever their topics say now."""
    a = make_topic_news(tmp_path / "a", "email,status,topics\nx@example.com,subscribed,\n")
    config = load_config(a / "digest.toml")
    send_issue(config, config.get_list(), SendRequest(), now=NOW)
    with State.open(config.state_dir) as state:
        row = state.db.conn.execute(
            "SELECT list, issue_id, started_at, backend, letter, article_ids FROM sends"
        ).fetchone()
    b = make_topic_news(tmp_path / "b")  # ada: science, grace: history, alan: none
    (b / ".digest").mkdir()
    conn = sqlite3.connect(b / ".digest" / STATE_FILE)
    for version in (1, 2, 3, 4):
        conn.executescript(MIGRATIONS[version])
    conn.execute(
        "INSERT INTO sends (list, issue_id, started_at, backend, letter, article_ids) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        row,
    )
    conn.execute(
        "INSERT INTO deliveries (list, issue_id, reader, email, status, updated_at) "
        "VALUES ('daily', ?, 'ada@example.com', 'ada@example.com', 'failed', ?)",
        (row[1], row[2]),
    )
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    config = load_config(b / "digest.toml")
    with State.open(config.state_dir) as state:
        assert state.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        frozen = state.sends.get("daily", row[1])
        assert frozen is not None and frozen.issue is None
        counts = state.sends.counts("daily", row[1])
        assert counts.variants == {"": 1} and counts.renders == 1 and counts.nothing_for == 0
    report = send_issue(config, config.get_list(), SendRequest(), now=NOW)
    assert report.tally.sent == 2 and report.renders == 1  # ada failed: not retried unasked
    got = outbox(b)
    assert sorted(got) == ["alan@example.com", "grace@example.com"]
    assert titles_in(text_of(got["grace@example.com"])) == EVERYTHING


def test_a_dry_run_counts_only_readers_with_something_in_their_topics(tmp_path: Path) -> None:
    readers = (
        "email,status,topics\n"
        "ada@example.com,subscribed,science\n"
        "grace@example.com,subscribed,history\n"
        "alan@example.com,subscribed,\n"
    )
    root = make_topic_news(tmp_path, readers, topics=("science",))
    config = load_config(root / "digest.toml")
    report = send_issue(config, config.get_list(), SendRequest(dry_run=True), now=NOW)
    assert report.readers == 2 and report.nothing_for == 1
    assert "skipped 1: nothing in their topics today" in report.message
    with State.open(config.state_dir) as state:
        assert state.sends.issue_ids("daily") == []  # a dry run records nothing


def test_batches_hold_one_selection_and_memory_stays_bounded(tmp_path: Path) -> None:
    """Twenty selections, readers interleaved, batches of two: every batch goes out with its
    own selection's letter, nobody twice, and no more than
    eight batches' worth of readers wait at any time."""
    from dataclasses import replace as changed
    from threading import Lock

    from sender_contract import make_letter

    from digest.deliver.base import Letter, Recipient, Result, Sender
    from digest.deliver.retry import Backoff
    from digest.deliver.send import IssueLedger, SendOptions, deliver

    class Recording(Sender):
        name = "recording"
        batch_size = 2

        def __init__(self) -> None:
            self.batches: list[tuple[str, list[str]]] = []
            self.lock = Lock()

        def send(self, letter: Letter, batch: list[Recipient]) -> list[Result]:  # type: ignore[override]
            with self.lock:
                self.batches.append((letter.subject, [r.variant for r in batch]))
            return [Result(r.email, "sent") for r in batch]

    asked: list[str] = []

    def letters(variant: str) -> Letter:
        asked.append(variant)
        return changed(make_letter(), subject=f"selection {variant}")

    pulled = 0

    def readers() -> Iterator[Recipient]:
        nonlocal pulled
        for i in range(400):
            pulled += 1
            v = f"v{i % 20}"
            yield Recipient(f"r{i}@example.com", "", "https://u.example/x", f"r{i}", v)

    sent_before: list[int] = []
    state = State.open(tmp_path)
    state.sends.start("daily", "daily-1", "recording", {}, [], NOW)
    ledger = IssueLedger(
        state.sends, "daily", "daily-1", SendOptions(backoff=Backoff(tries=1, base=0.0))
    )
    sender = Recording()

    def progress(t: object) -> None:
        sent_before.append(pulled - getattr(t, "sent", 0))  # read, not yet sent

    tally = deliver(letters, readers(), sender, ledger, progress=progress)
    state.close()
    assert tally.sent == 400
    assert set(asked) == {f"v{i}" for i in range(20)}  # (`Variants` renders each once)
    for subject, variants in sender.batches:
        assert len(set(variants)) == 1 and subject == f"selection {variants[0]}"
    assert max(sent_before) <= 8 * 2 + 2  # the buffers, and the batch out


def test_a_dry_run_of_a_started_issue_counts_readers_by_their_recorded_selection(
    tmp_path: Path,
) -> None:
    """Killed mid-send, then every reader's topics changed to one that selects nothing: a
    dry run still counts the readers the ledger has by the selection recorded for them, and
    skips only those it never reached."""
    n = 3000
    csv = "email,status,topics\n"
    root = make_topic_news(
        tmp_path,
        csv + "".join(f"r{i}@example.com,subscribed,science\n" for i in range(n)),
        topics=("science", "history"),
    )
    box = root / "outbox"
    proc = subprocess.Popen([str(DIGEST), "send"], cwd=root, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if box.exists() and len(list(box.rglob("*.eml"))) >= 300:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with State.open(root / ".digest") as state:
        had = state.db.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    assert 0 < had < n, "the send was not caught mid-way"
    (root / "subscribers" / "daily.csv").write_text(
        csv + "".join(f"r{i}@example.com,subscribed,sports\n" for i in range(n)),
        encoding="utf-8",
    )
    args = [str(DIGEST), "send", "--dry-run", "--json", "--resend-unknown"]
    dry = json.loads(subprocess.run(args, cwd=root, capture_output=True, text=True).stdout)
    assert dry["nothing_for"] == n - had
