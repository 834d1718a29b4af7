"""`run_due` and `digest run-due` on a real newsletter folder (real SQLite ledger, real outbox),
with a controlled clock: a day's issue goes out once, caught up inside the grace, never late
after it, keyed by the scheduled day across midnight and daylight-saving nights; a failed run
is one line, shown by `digest schedule --show`, and does not stop the next run."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_newsletter

from digest.config import load_config
from digest.schedule import RunLog, run_due
from digest.state import State

DIGEST = Path(sys.executable).parent / "digest"
READERS = "email,name,status\nada@example.com,Ada,subscribed\ngrace@example.com,,subscribed\n"


def folder(tmp_path: Path, send_at: str = "07:00", zone: str = "Europe/London") -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(READERS, encoding="utf-8")
    toml = root / "digest.toml"
    text = toml.read_text(encoding="utf-8").replace("Europe/London", zone)
    toml.write_text(text + f'send_at = "{send_at}"\n', encoding="utf-8")
    return root


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def issues(root: Path) -> list[tuple[str, bool]]:
    config = load_config(root / "digest.toml")
    with State.open(config.state_dir) as state:
        rows = state.db.conn.execute("SELECT issue_id, finished_at FROM sends ORDER BY issue_id")
        return [(i, f is not None) for i, f in rows]


def copies(root: Path) -> int:
    return len(list((root / "outbox").rglob("*.eml"))) if (root / "outbox").exists() else 0


def test_inside_the_grace_the_days_issue_goes_out_once_and_a_restart_sends_nothing(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path)
    config = load_config(root / "digest.toml")
    reports = run_due(config, utc("2026-11-24T09:00"))  # two hours late: caught up
    assert [(r.issue_id, r.tally.sent) for r in reports] == [("daily-2026-11-24", 2)]
    for later in ("2026-11-24T09:05", "2026-11-24T12:30", "2026-11-24T23:59"):
        assert run_due(load_config(root / "digest.toml"), utc(later)) == []
    assert issues(root) == [("daily-2026-11-24", True)]
    assert copies(root) == 2
    last = RunLog(config.state_dir).last("daily")
    assert last is not None and last.outcome == "sent" and last.day == "2026-11-24"


def test_after_the_grace_nothing_is_sent_late_it_is_logged_and_the_next_day_goes_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = folder(tmp_path)
    config = load_config(root / "digest.toml")
    caplog.set_level("WARNING", logger="digest.schedule")
    assert run_due(config, utc("2026-11-24T13:30")) == []
    assert run_due(config, utc("2026-11-25T06:59")) == []  # next morning, before the hour
    said = [r.getMessage() for r in caplog.records if "2026-11-24 was missed" in r.getMessage()]
    assert len(said) == 1  # said once, not at every pass
    assert issues(root) == []
    reports = run_due(config, utc("2026-11-25T07:00"))
    assert [r.issue_id for r in reports] == ["daily-2026-11-25"]


def test_a_run_caught_up_after_midnight_sends_the_scheduled_days_issue(tmp_path: Path) -> None:
    root = folder(tmp_path, "23:30")
    reports = run_due(load_config(root / "digest.toml"), utc("2026-11-25T01:00"))
    assert [r.issue_id for r in reports] == ["daily-2026-11-24"]


@pytest.mark.parametrize(
    ("zone", "send_at", "runs", "issue"),
    [
        # clocks go back: 01:30 BST (00:30Z), then 01:30 GMT (01:30Z) again
        ("Europe/London", "01:30", ["2027-10-31T00:31", "2027-10-31T01:31"], "daily-2027-10-31"),
        ("America/New_York", "01:30", ["2027-11-07T05:31", "2027-11-07T06:31"], "daily-2027-11-07"),
        # clocks go forward: 01:30 London and 02:30 New York do not exist; an hour later
        ("Europe/London", "01:30", ["2027-03-28T00:59", "2027-03-28T01:31"], "daily-2027-03-28"),
        ("America/New_York", "02:30", ["2027-03-14T06:59", "2027-03-14T07:31"], "daily-2027-03-14"),
    ],
)
def test_daylight_saving_nights_send_the_days_issue_exactly_once(
    tmp_path: Path, zone: str, send_at: str, runs: list[str], issue: str
) -> None:
    root = folder(tmp_path, send_at, zone)
    sent = []
    for when in [*runs, runs[-1].replace(":31", ":45")]:
        sent += [r.issue_id for r in run_due(load_config(root / "digest.toml"), utc(when))]
    assert sent == [issue]
    assert issues(root) == [(issue, True)]
    assert copies(root) == 2


def run_due_cli(root: Path, now: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), "run-due", "--now", now, *args],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_run_due_sends_once_when_run_every_few_minutes(tmp_path: Path) -> None:
    root = folder(tmp_path)
    first = run_due_cli(root, "2026-11-24T07:02:00Z", "--json")
    assert first.returncode == 0, first.stderr
    assert [r["issue_id"] for r in json.loads(first.stdout)] == ["daily-2026-11-24"]
    again = run_due_cli(root, "2026-11-24T07:07:00Z")
    assert (again.returncode, again.stdout.strip()) == (0, "nothing is due")
    assert copies(root) == 2


def test_a_failed_run_is_one_line_shown_and_does_not_stop_the_next(tmp_path: Path) -> None:
    root = folder(tmp_path)
    csv = root / "subscribers" / "daily.csv"
    csv.rename(root / "away.csv")
    failed = run_due_cli(root, "2026-11-24T07:01:00Z")
    assert failed.returncode == 1
    assert "daily: run for 2026-11-24 failed:" in failed.stderr
    assert "Traceback" not in failed.stderr
    show = subprocess.run(
        [str(DIGEST), "schedule", "--show", "--now", "2026-11-24T07:02:00Z"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert "last run: 2026-11-24 failed:" in show.stdout
    status = subprocess.run([str(DIGEST), "status"], cwd=root, capture_output=True, text=True)
    assert "last scheduled run (2026-11-24" in status.stdout and "failed:" in status.stdout
    (root / "away.csv").rename(csv)
    assert run_due_cli(root, "2026-11-24T07:05:00Z").stdout.strip() == "nothing is due"
    retried = run_due_cli(root, "2026-11-24T07:20:00Z")  # tried again after 15 minutes
    assert retried.returncode == 0 and "daily-2026-11-24: sent 2" in retried.stdout
    (root / "articles" / "next-day.txt").write_text(
        "The bridge reopens\n\nThe old bridge reopened this morning after a year of repairs, "
        "and the first buses crossed it before seven.\n",
        encoding="utf-8",
    )
    assert run_due_cli(root, "2026-11-25T07:00:00Z").returncode == 0
    assert [i for i, _ in issues(root)] == ["daily-2026-11-24", "daily-2026-11-25"]


def test_a_weekday_cron_list_in_digest_toml_skips_the_weekend(tmp_path: Path) -> None:
    root = folder(tmp_path, send_at="0 7 * * 1-5")
    show = subprocess.run(
        [str(DIGEST), "schedule", "--show", "--json", "--now", "2026-11-27T08:00:00Z"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert show.returncode == 0, show.stderr
    text = show.stdout
    # Friday 27 November 2026 08:00 UTC: next are Monday, Tuesday, Wednesday at 07:00 London.
    for day in ("2026-11-30", "2026-12-01", "2026-12-02"):
        assert day in text
    assert "2026-11-28" not in text and "2026-11-29" not in text
    saturday = run_due_cli(root, "2026-11-28T07:05:00Z")
    assert saturday.stdout.strip() == "nothing is due"
