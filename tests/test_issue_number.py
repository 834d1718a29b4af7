"""The issue number in the masthead: 1 for a list's first issue, one more for each earlier issue
that reached a reader (the send ledger says), the same for a resend of the same day's issue.

Real sends through the outbox sender, real SQLite, the example articles as sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW, make_newsletter

from digest.cli import main
from digest.config import load_config
from digest.pipeline import SendRequest, build_issue, send_issue
from digest.state import State


@pytest.fixture
def news(tmp_path: Path) -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(
        "email,name,status\nada@example.com,Ada,subscribed\n", encoding="utf-8"
    )
    return root


def late_story(root: Path, name: str, when: str) -> None:
    (root / "articles" / f"{name}.md").write_text(
        f"---\ntitle: {name.capitalize()} story\ndate: {when}\n---\n\n"
        "The council met again late on Monday and agreed to keep the pool open all winter.\n",
        encoding="utf-8",
    )


def number(root: Path, **kw: object) -> int | None:
    config = load_config(root / "digest.toml")
    kw.setdefault("now", NOW)
    return build_issue(config, config.get_list("daily"), **kw).digest.number  # type: ignore[arg-type]


def test_first_issue_is_1_the_next_days_2_and_a_resend_the_same_day_stays_1(news: Path) -> None:
    assert number(news) == 1
    config = load_config(news / "digest.toml")
    lst = config.get_list("daily")
    sent = send_issue(config, lst, SendRequest(), now=NOW)
    assert sent.tally.sent == 1
    # The same day's issue, built again for its send (a rerun after a late story): still 1.
    late_story(news, "late", "2026-11-24T06:50:00Z")
    later = NOW + timedelta(hours=3)
    assert number(news, now=later, ledger_id="daily-2026-11-24") == 1
    # A preview now shows what the next send would be: another issue, so number 2.
    assert number(news, now=later) == 2
    # The next day's issue follows the one that went out.
    late_story(news, "tuesday", "2026-11-25T06:00:00Z")
    assert number(news, now=NOW + timedelta(days=1)) == 2
    # Another issue the same day (`--new-issue`) is the next number too.
    assert number(news, now=NOW + timedelta(hours=1), ledger_id="daily-2026-11-24-2") == 2


def test_an_issue_nobody_received_does_not_count(news: Path) -> None:
    config = load_config(news / "digest.toml")
    with State.open(config.state_dir) as state:
        # A sandbox send (SendGrid delivers nothing), and a send whose every reader failed.
        for issue in ("daily-2026-11-20-sandbox", "daily-2026-11-21"):
            state.sends.start("daily", issue, "outbox", {}, [], NOW - timedelta(days=3))
            claim = state.sends.claim("daily", issue, [("ada", "ada@example.com")], NOW)
            assert claim is not None
            status = "sent" if issue.endswith("sandbox") else "failed"
            state.sends.mark("daily", issue, [("ada", status, None, None)], NOW)
        # Another list's issue is not this list's.
        state.sends.start("weekly", "weekly-2026-11-20", "outbox", {}, [], NOW - timedelta(days=3))
        state.sends.claim("weekly", "weekly-2026-11-20", [("ada", "ada@example.com")], NOW)
        state.sends.mark("weekly", "weekly-2026-11-20", [("ada", "sent", None, None)], NOW)
    assert number(news) == 1


def test_the_preview_shows_the_number_the_next_send_would_have(news: Path) -> None:
    config = load_config(news / "digest.toml")
    yesterday = datetime.now(UTC) - timedelta(days=1)  # `digest preview` runs now
    send_issue(config, config.get_list("daily"), SendRequest(), now=yesterday)
    late_story(news, "today", datetime.now(UTC).isoformat())
    with State.open(config.state_dir) as state:
        before = state.sends.issue_ids("daily")
    args = ["preview", "--config", str(news / "digest.toml"), "--out", str(news / "p"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["number"], shown["articles"]) == (2, 1)
    with State.open(config.state_dir) as state:
        assert state.sends.issue_ids("daily") == before  # a preview records nothing
    # Previewed again, nothing having been sent since: the same number.
    again = json.loads(CliRunner().invoke(main, args).stdout)
    assert again["number"] == 2


def test_a_list_named_with_sandbox_has_real_issues(tmp_path: Path) -> None:
    """Only a `-sandbox` after the list's name marks a sandbox send: a list called
    `team-sandbox` counts its issues and is archived like any other."""
    from digest.state.sends import is_sandbox

    assert is_sandbox("daily", "daily-2026-11-24-sandbox")
    assert not is_sandbox("team-sandbox", "team-sandbox-2026-11-24")
    assert is_sandbox("team-sandbox", "team-sandbox-2026-11-24-sandbox")
    root = make_newsletter(tmp_path)
    toml = root / "digest.toml"
    toml.write_text(toml.read_text().replace("[lists.daily]", "[lists.team-sandbox]"))
    (root / "subscribers" / "daily.csv").write_text(
        "email,name,status\nada@example.com,Ada,subscribed\n", encoding="utf-8"
    )
    config = load_config(toml)
    lst = config.get_list("team-sandbox")
    assert send_issue(config, lst, SendRequest(), now=NOW).tally.sent == 1
    late_story(root, "tuesday", "2026-11-25T06:00:00Z")
    nxt = build_issue(config, lst, now=NOW + timedelta(days=1))
    assert nxt.digest.number == 2
