"""`digest schedule` as a real process on the real clock: its start-up pass catches up a run
from an hour ago, a second daemon on the same folder is refused, and SIGTERM in the middle of
an outbox send of thousands lets the batch finish, leaves no reader claimed, exits 0, and the
next start resumes the issue without sending anyone a second copy."""

from __future__ import annotations

import email
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

from conftest import make_newsletter

DIGEST = Path(sys.executable).parent / "digest"
BIG = 3000
WAIT = 120  # a safety net for a hung process, not a measure of speed


def folder(tmp_path: Path, send_at: datetime, readers: int) -> Path:
    """A newsletter whose list runs daily at `send_at`'s minute, in UTC."""
    root = make_newsletter(tmp_path)
    rows = "".join(f"reader{i}@example.com,,subscribed\n" for i in range(readers))
    (root / "subscribers" / "daily.csv").write_text("email,name,status\n" + rows, encoding="utf-8")
    toml = root / "digest.toml"
    text = toml.read_text(encoding="utf-8").replace("Europe/London", "UTC")
    toml.write_text(text + f'send_at = "{send_at:%H:%M}"\n', encoding="utf-8")
    return root


def start(root: Path, log: str = "daemon.log") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(DIGEST), "schedule", "--log-file", log],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(check: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def logged(root: Path, text: str, log: str = "daemon.log") -> bool:
    path = root / log
    return path.exists() and text in path.read_text(encoding="utf-8")


def statuses(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / ".digest" / "state.sqlite3") as db:
        return dict(db.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))


def eml_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "outbox").rglob("*.eml")}


def test_a_second_daemon_on_the_same_folder_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(hours=3)  # nothing due: yesterday's is past grace
    root = folder(tmp_path, later, 2)
    first = start(root)
    try:
        wait_for(lambda: logged(root, "digest schedule started"), "the first daemon")
        second = subprocess.run(
            [str(DIGEST), "schedule"], cwd=root, capture_output=True, text=True, timeout=WAIT
        )
        assert second.returncode == 1
        assert "another `digest schedule` (or `run-due`) is running on" in second.stderr
        assert "Traceback" not in second.stderr
        busy = subprocess.run(
            [str(DIGEST), "run-due"], cwd=root, capture_output=True, text=True, timeout=WAIT
        )
        assert busy.returncode == 0 and "is running on" in busy.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(WAIT) == 0
    assert logged(root, "was missed")
    assert not (root / "outbox").exists()


def test_sigterm_during_a_send_finishes_the_batch_and_the_next_start_resumes(
    tmp_path: Path,
) -> None:
    hour_ago = datetime.now(UTC) - timedelta(hours=1)  # due: caught up at start-up
    root = folder(tmp_path, hour_ago, BIG)
    daemon = start(root)
    outbox = root / "outbox"
    wait_for(lambda: outbox.exists() and len(list(outbox.rglob("*.eml"))) >= 200, "the send")
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(WAIT) == 0
    counts = statuses(root)
    assert counts.get("claimed", 0) == 0 and counts.get("unknown", 0) == 0
    assert 0 < counts["sent"] < BIG  # stopped mid-way, after a whole batch
    first = eml_files(root)
    assert len(first) == counts["sent"]  # every copy written is marked sent, and no more
    assert logged(root, "run for daily-") and logged(root, "the next run resumes it")

    again = start(root, "again.log")
    try:
        wait_for(lambda: logged(root, "run ends:", "again.log"), "the resumed send")
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(WAIT) == 0
    assert statuses(root) == {"sent": BIG}
    files = eml_files(root)
    assert len(files) == BIG
    assert all(files[name] == body for name, body in first.items())  # nobody got two
    readers = {email.message_from_bytes(b, policy=policy.default)["To"] for b in files.values()}
    assert len(readers) == BIG
    assert logged(root, "resuming", "again.log")
