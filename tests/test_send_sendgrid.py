"""`digest send` through SendGrid end to end: the real client against the validating stand-in,
the ledger in a real SQLite file, readers from a real CSV."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_newsletter
from sendgrid_standin import API_KEY, SendGridStandIn, rate_limited, server_error

from digest.config import load_config
from digest.deliver.base import Permanent
from digest.deliver.send import SendOptions
from digest.pipeline import SendRequest, send_issue
from digest.state import State

DIGEST = Path(sys.executable).parent / "digest"
READERS = 250


@pytest.fixture
def news(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_newsletter(tmp_path)
    rows = "".join(f"reader{i}@example.com,Reader {i},subscribed\n" for i in range(READERS))
    rows += "left@example.com,,unsubscribed\n"
    (root / "subscribers" / "daily.csv").write_text("email,name,status\n" + rows, encoding="utf-8")
    monkeypatch.setenv("DIGEST_SECRET", "a-secret-for-tests")
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    return root


def configure(root: Path, url: str) -> None:
    with (root / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(
            f'\n[delivery]\nbackend = "sendgrid"\nmax_retries = 6\n\n'
            f'[delivery.sendgrid]\nhost = "{url}"\nbatch_size = 100\nconcurrency = 2\n'
        )


def test_a_run_of_429s_and_500s_ends_with_every_reader_sent_once(news: Path) -> None:
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        configure(news, sg.url)
        sg.script(rate_limited(int(time.time())), server_error(500), server_error(503))
        config = load_config(news / "digest.toml")
        report = send_issue(config, config.get_list("daily"), SendRequest())
        delivered = sg.addresses()
    assert report.tally.sent == READERS and report.tally.failed == report.tally.unknown == 0
    assert sorted(delivered) == sorted(f"reader{i}@example.com" for i in range(READERS))
    assert len(delivered) == len(set(delivered))  # nobody twice, after three refusals
    assert "left@example.com" not in delivered
    with State.open(config.state_dir) as state:
        counts = state.sends.counts("daily", report.issue_id or "").counts  # type: ignore[arg-type]
    assert counts["sent"] == READERS


def test_a_wrong_key_stops_the_send_before_it_burns_through_the_list(news: Path) -> None:
    with SendGridStandIn(api_key="SG.the-real-key") as sg:
        configure(news, sg.url)
        config = load_config(news / "digest.toml")
        with pytest.raises(Permanent, match="401"):
            send_issue(config, config.get_list("daily"), SendRequest())
        assert sg.accepted_recipients == 0
        assert len(sg.requests) <= 2  # the batches already out when the first 401 came back
        env = dict(os.environ)
        r = subprocess.run([str(DIGEST), "send"], cwd=news, capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "401" in r.stderr and "Traceback" not in r.stderr
    assert API_KEY not in r.stderr + r.stdout
    with State.open(config.state_dir) as state:
        row = state.sends.counts("daily", state.sends.issue_ids("daily")[0])
    assert row.counts["sent"] == 0 and row.counts["claimed"] == 0 and row.finished_at is None


def test_a_sandbox_send_is_its_own_issue_and_counts_nothing_as_sent(news: Path) -> None:
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        configure(news, sg.url)
        config = load_config(news / "digest.toml")
        report = send_issue(
            config, config.get_list("daily"), SendRequest(sandbox=True), now=datetime.now(UTC)
        )
        assert report.tally.sent == READERS and sg.addresses() == []
        assert report.issue_id and report.issue_id.endswith("-sandbox")
        real = send_issue(config, config.get_list("daily"), SendRequest())
        assert real.tally.sent == READERS  # the sandbox run did not count as the issue
        assert len(sg.addresses()) == READERS


def test_an_issue_a_send_did_not_finish_is_finished_the_next_day_not_abandoned(
    news: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    day1 = datetime(2026, 11, 24, 23, 58, tzinfo=UTC)  # London: two minutes to midnight
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        configure(news, sg.url)
        config = load_config(news / "digest.toml")
        lst = config.get_list("daily")
        monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong")
        with pytest.raises(Permanent):
            send_issue(config, lst, SendRequest(), now=day1)
        monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
        resumed = send_issue(config, lst, SendRequest(), now=day1 + timedelta(minutes=10))
        assert resumed.issue_id == "daily-2026-11-24" and resumed.tally.sent == READERS
        after = send_issue(config, lst, SendRequest(), now=day1 + timedelta(minutes=20))
        assert after.issue_id is None and "nothing new" in after.message
        delivered = sg.addresses()
    assert len(delivered) == len(set(delivered)) == READERS


def test_an_issue_nobody_got_leaves_its_articles_new_and_says_so(news: Path) -> None:
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        with (news / "digest.toml").open("a", encoding="utf-8") as f:
            f.write(
                f'\n[delivery]\nbackend = "sendgrid"\nmax_retries = 0\n\n'
                f'[delivery.sendgrid]\nhost = "{sg.url}"\nbatch_size = 1000\n'
            )
        sg.script(server_error(503))
        config = load_config(news / "digest.toml")
        lst = config.get_list("daily")
        failed = send_issue(config, lst, SendRequest())
        assert failed.tally.failed == READERS and failed.problems == READERS
        again = send_issue(config, lst, SendRequest())
        assert "nothing more to send" in again.message and again.problems == READERS
        with State.open(config.state_dir) as state:
            assert state.sent.last_sent("daily") is None  # nobody had it: nothing used up
        retried = send_issue(config, lst, SendRequest(options=SendOptions(retry_failed=True)))
        assert retried.tally.sent == READERS and retried.problems == 0
