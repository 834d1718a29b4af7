"""Unsubscribe clicks recorded in the state and written into the CSV in batches
(`pipeline.changes.apply_pending`): what a batch may and may not do to a row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_newsletter

from digest.cli import main
from digest.config import load_config
from digest.pipeline.changes import UNDO, apply_pending
from digest.state import open_state

ROWS = [
    "email,name,status,subscribed_at,unsubscribed_at",
    "ada@example.com,Ada,subscribed,2026-11-01T08:00:00Z,",
    "kat@example.com,Kat,complained,2026-11-01T08:00:00Z,2026-11-20T08:00:00Z",
    "bob@example.com,Bob,bounced,2026-11-01T08:00:00Z,2026-11-21T08:00:00Z",
    "alan@example.com,Alan,unsubscribed,2026-10-20T12:00:00Z,2026-11-10T18:45:00Z",
    "grace@example.com,Grace,subscribed,2026-11-02T09:30:00Z,",
]
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def news(tmp_path: Path) -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return root


def _record(news: Path, email: str, status: str = "unsubscribed", origin: str = "web") -> None:
    config = load_config(news / "digest.toml")
    with open_state(config.state_dir) as state:
        state.changes.record("daily", email.casefold(), email, status, AT, origin)


def _apply(news: Path):
    config = load_config(news / "digest.toml")
    return apply_pending(config, config.get_list("daily"), now=AT + timedelta(seconds=5))


def _rows(news: Path) -> list[str]:
    return (news / "subscribers" / "daily.csv").read_text(encoding="utf-8").splitlines()


def _outcomes(news: Path) -> list[tuple[str, str, str | None]]:
    config = load_config(news / "digest.toml")
    with open_state(config.state_dir) as state:
        rows = state.db.conn.execute(
            "SELECT email, origin, outcome FROM status_changes ORDER BY id"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_a_batch_writes_every_pending_click_in_one_rewrite(news: Path) -> None:
    _record(news, "ada@example.com")
    _record(news, "grace@example.com", origin="one-click")
    before = _rows(news)
    applied = _apply(news)
    assert (applied.applied, applied.changed) == (2, 2)
    after = _rows(news)
    assert after[1] == "ada@example.com,Ada,unsubscribed,2026-11-01T08:00:00Z,2026-11-30T09:00:00Z"
    assert after[5].startswith("grace@example.com,Grace,unsubscribed,")
    assert after[:1] + after[2:5] == before[:1] + before[2:5]  # the others byte for byte
    assert _apply(news).applied == 0  # nothing pending any more


def test_a_click_never_replaces_a_complaint_or_a_bounce(news: Path) -> None:
    """A complaint is worth keeping (it must never be mailed again, nor undone by a click)."""
    _record(news, "kat@example.com")
    _record(news, "bob@example.com")
    before = _rows(news)
    _apply(news)
    assert _rows(news) == before
    assert [o[2] for o in _outcomes(news)] == ["kept complained", "kept bounced"]


def test_a_click_and_its_undo_pending_together_leave_the_row_as_it_was(news: Path) -> None:
    """Alan left long ago; a click on an old email and its undo must not bring him back."""
    _record(news, "alan@example.com")
    _record(news, "alan@example.com", "subscribed", UNDO)
    before = _rows(news)
    _apply(news)
    assert _rows(news) == before
    assert [o[2] for o in _outcomes(news)] == ["superseded", "cancelled"]


def test_an_undo_takes_back_a_click_that_was_written(news: Path) -> None:
    _record(news, "ada@example.com")
    _apply(news)
    _record(news, "ada@example.com", "subscribed", UNDO)
    _apply(news)
    assert _rows(news)[1].startswith("ada@example.com,Ada,subscribed,")


def test_an_undo_never_resubscribes_a_row_the_list_marked_bounced(news: Path) -> None:
    _record(news, "bob@example.com", "subscribed", UNDO)
    before = _rows(news)
    _apply(news)
    assert _rows(news) == before


def test_a_missing_list_file_keeps_the_clicks_pending(news: Path) -> None:
    """A list file away for a moment (a deploy, a mount not up) must not swallow clicks."""
    path = news / "subscribers" / "daily.csv"
    moved = path.with_name("away.csv")
    path.rename(moved)
    _record(news, "ada@example.com")
    applied = _apply(news)
    assert applied.error and applied.applied == 0
    assert not path.exists()  # no empty list made in its place
    moved.rename(path)
    assert _apply(news).changed == 1
    assert _rows(news)[1].startswith("ada@example.com,Ada,unsubscribed,")


def _cli(news: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(news / "digest.toml"), *args])


def test_subscribers_commands_see_pending_clicks(news: Path) -> None:
    _record(news, "ada@example.com")
    out = _cli(news, "subscribers", "list", "--json")
    assert out.exit_code == 0, out.output
    status = {r["email"]: r["status"] for r in json.loads(out.output)}
    assert status["ada@example.com"] == "unsubscribed"


def test_subscribers_commands_refuse_while_clicks_cannot_be_written(news: Path) -> None:
    """A broken row keeps the file from taking the clicks: showing Ada as subscribed would be
    wrong, so the command stops and says why (validate still runs: it is how to fix it)."""
    path = news / "subscribers" / "daily.csv"
    path.write_text(path.read_text() + "not-an-address,X,subscribed,,\n", encoding="utf-8")
    _record(news, "ada@example.com")
    for args in (("list",), ("count",)):
        out = _cli(news, "subscribers", *args)
        assert out.exit_code == 1
        assert "cannot be written into it yet" in out.output
        assert "Traceback" not in out.output
    out = _cli(news, "subscribers", "validate")
    assert "not-an-address" in out.output


def test_a_dry_run_counts_a_pending_undo(news: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "s")
    _record(news, "ada@example.com")
    _apply(news)
    _record(news, "ada@example.com", "subscribed", UNDO)
    out = _cli(news, "send", "--dry-run", "--since", "2026-11-01")
    assert out.exit_code == 0, out.output
    assert "would go to 2 reader(s)" in out.output  # Ada and Grace
