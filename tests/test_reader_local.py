"""Reader-local sends (`deliver = "reader-local"`): each reader gets the day's issue at the
list's `send_at` in their own zone, in waves; the issue is composed once, at the first wave.

Real parts throughout: a newsletter folder, the CSV, the SQLite ledger, the outbox and the
scheduler's own pass (`run_due`) on a controlled clock; SendGrid through the real client and
the validating stand-in. The expected instants below are worked out by hand from the zones'
rules, not from the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import make_newsletter
from sendgrid_standin import API_KEY, SendGridStandIn

from digest.config import load_config
from digest.deliver.send import SendOptions
from digest.errors import ConfigError
from digest.pipeline import SendRequest, send_issue
from digest.schedule import run_due
from digest.schedule.due import due
from digest.state import State
from digest.waves import plan, wave_at

DIGEST = Path(sys.executable).parent / "digest"

READERS = (
    "email,name,status,timezone\n"
    "berlin@example.com,,subscribed,\n"
    "ny@example.com,,subscribed,America/New_York\n"
    "tokyo@example.com,,subscribed,Asia/Tokyo\n"
    "sydney@example.com,,subscribed,Australia/Sydney\n"
    "gone@example.com,,unsubscribed,Asia/Tokyo\n"
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def folder(tmp_path: Path, send_at: str, readers: str = READERS, extra: str = "") -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(readers, encoding="utf-8")
    toml = root / "digest.toml"
    text = toml.read_text(encoding="utf-8").replace("Europe/London", "Europe/Berlin")
    toml.write_text(
        text + f'send_at = "{send_at}"\ndeliver = "reader-local"\n' + extra, encoding="utf-8"
    )
    return root


def sent(root: Path) -> set[tuple[str, str]]:
    """(issue, reader) the ledger has as sent."""
    config = load_config(root / "digest.toml")
    with State.open(config.state_dir) as state:
        rows = state.db.conn.execute("SELECT issue_id, reader FROM deliveries WHERE status='sent'")
        return {(i, r) for i, r in rows}


# The waves, worked out by hand.


def test_a_sample_lists_waves_group_readers_whose_hour_is_one_instant() -> None:
    root_cfg = _list_config("07:00")
    census = {"Asia/Tokyo": 120, "Europe/Berlin": 300, "Europe/Paris": 45, "America/New_York": 80}
    waves = plan(root_cfg, date(2026, 12, 8), census)
    assert [(w.at, w.zones, w.readers) for w in waves] == [
        (utc("2026-12-07T22:00"), ("Asia/Tokyo",), 120),
        (utc("2026-12-08T06:00"), ("Europe/Berlin", "Europe/Paris"), 345),
        (utc("2026-12-08T12:00"), ("America/New_York",), 80),
    ]


@pytest.mark.parametrize(
    ("send_at", "zone", "day", "expected"),
    [
        # Europe/Berlin springs forward on 2026-03-29 and falls back on 2026-10-25.
        ("07:00", "Europe/Berlin", "2026-03-28", "2026-03-28T06:00"),
        ("07:00", "Europe/Berlin", "2026-03-29", "2026-03-29T05:00"),
        ("07:00", "Europe/Berlin", "2026-10-24", "2026-10-24T05:00"),
        ("07:00", "Europe/Berlin", "2026-10-25", "2026-10-25T06:00"),
        ("02:30", "Europe/Berlin", "2026-03-29", "2026-03-29T01:30"),  # skipped: 03:30 CEST
        ("02:30", "Europe/Berlin", "2026-10-25", "2026-10-25T00:30"),  # twice: the first
        # America/New_York springs forward on 2026-03-08 and falls back on 2026-11-01.
        ("07:00", "America/New_York", "2026-03-07", "2026-03-07T12:00"),
        ("07:00", "America/New_York", "2026-03-08", "2026-03-08T11:00"),
        ("02:30", "America/New_York", "2026-03-08", "2026-03-08T07:30"),  # skipped: 03:30 EDT
        ("01:30", "America/New_York", "2026-11-01", "2026-11-01T05:30"),  # twice: the first
        ("07:00", "America/New_York", "2026-11-01", "2026-11-01T12:00"),
        # Australia/Sydney: the other hemisphere (ends 2026-04-05, starts 2026-10-04).
        ("07:00", "Australia/Sydney", "2026-04-05", "2026-04-04T21:00"),
        ("07:00", "Australia/Sydney", "2026-10-04", "2026-10-03T20:00"),
        ("07:00", "Asia/Tokyo", "2026-03-29", "2026-03-28T22:00"),
    ],
)
def test_a_readers_hour_follows_their_zones_daylight_saving_rules(
    send_at: str, zone: str, day: str, expected: str
) -> None:
    assert wave_at(_list_config(send_at), date.fromisoformat(day), zone) == utc(expected)


def test_the_day_is_due_at_its_first_wave_not_at_the_lists_own_hour() -> None:
    lst = _list_config("07:00")
    zones = {"Asia/Tokyo": 1, "Europe/Berlin": 1}
    occ = due(lst, utc("2026-12-07T22:00"), (), timedelta(hours=6), zones)
    assert occ is not None and occ.day == date(2026, 12, 8)
    assert due(lst, utc("2026-12-07T21:59"), (), timedelta(hours=6), zones) is None
    # The same list sent at one hour is due at 07:00 Berlin only.
    assert due(lst, utc("2026-12-07T22:00"), (), timedelta(hours=6)) is None


def _list_config(send_at: str):  # type: ignore[no-untyped-def]
    from digest.config.model import ListConfig

    return ListConfig(
        name="daily",
        title="Daily",
        sender="d@example.com",
        timezone="Europe/Berlin",
        language="en",
        subscribers=Path("unused.csv"),
        send_at=send_at,
        deliver="reader-local",
    )


# The scheduler's pass on a controlled clock, over both daylight-saving nights.

# Each reader's hour (send_at 02:30) per issue day, by hand: Sydney is UTC+11 (AEDT) and Tokyo
# UTC+9 on all these days; Berlin and New York change.
WINDOWS = {
    "Europe springs forward (Berlin 02:30 does not exist on 03-29)": {
        "2026-03-28": {"sydney": "03-27T15:30", "tokyo": "03-27T17:30", "berlin": "03-28T01:30",
                       "ny": "03-28T06:30"},
        "2026-03-29": {"sydney": "03-28T15:30", "tokyo": "03-28T17:30", "berlin": "03-29T01:30",
                       "ny": "03-29T06:30"},
        "2026-03-30": {"sydney": "03-29T15:30", "tokyo": "03-29T17:30", "berlin": "03-30T00:30",
                       "ny": "03-30T06:30"},
    },
    "Europe falls back (Berlin 02:30 comes twice on 10-25)": {
        "2026-10-24": {"sydney": "10-23T15:30", "tokyo": "10-23T17:30", "berlin": "10-24T00:30",
                       "ny": "10-24T06:30"},
        "2026-10-25": {"sydney": "10-24T15:30", "tokyo": "10-24T17:30", "berlin": "10-25T00:30",
                       "ny": "10-25T06:30"},
        "2026-10-26": {"sydney": "10-25T15:30", "tokyo": "10-25T17:30", "berlin": "10-26T01:30",
                       "ny": "10-26T06:30"},
    },
    "America springs forward (New York 02:30 does not exist on 03-08)": {
        "2026-03-07": {"sydney": "03-06T15:30", "tokyo": "03-06T17:30", "berlin": "03-07T01:30",
                       "ny": "03-07T07:30"},
        "2026-03-08": {"sydney": "03-07T15:30", "tokyo": "03-07T17:30", "berlin": "03-08T01:30",
                       "ny": "03-08T07:30"},
        "2026-03-09": {"sydney": "03-08T15:30", "tokyo": "03-08T17:30", "berlin": "03-09T01:30",
                       "ny": "03-09T06:30"},
    },
    "America falls back (11-01)": {
        "2026-10-31": {"sydney": "10-30T15:30", "tokyo": "10-30T17:30", "berlin": "10-31T01:30",
                       "ny": "10-31T06:30"},
        "2026-11-01": {"sydney": "10-31T15:30", "tokyo": "10-31T17:30", "berlin": "11-01T01:30",
                       "ny": "11-01T07:30"},
        "2026-11-02": {"sydney": "11-01T15:30", "tokyo": "11-01T17:30", "berlin": "11-02T01:30",
                       "ny": "11-02T07:30"},
    },
}  # fmt: skip


@pytest.mark.parametrize("window", list(WINDOWS))
def test_every_reader_gets_each_days_issue_once_at_their_own_hour_across_dst_nights(
    tmp_path: Path, window: str
) -> None:
    days = WINDOWS[window]
    root = folder(tmp_path, "02:30")
    expected = {
        (f"daily-{day}", f"{reader}@example.com"): utc(f"2026-{when}")
        for day, hours in days.items()
        for reader, when in hours.items()
    }
    first, last = min(expected.values()), max(expected.values())
    # Every hour, and a minute before and at each reader's hour (twice: a restart at once).
    # From 14:00Z: the day before's last wave (New York) is more than its grace behind.
    hour = first.replace(minute=0) - timedelta(hours=1)
    passes = {hour + timedelta(hours=h) for h in range(80)}
    passes |= {t - timedelta(minutes=1) for t in expected.values()} | set(expected.values())
    got: dict[tuple[str, str], datetime] = {}
    for n, now in enumerate(sorted(p for p in passes if p <= last + timedelta(hours=1))):
        if now.minute == 0:  # a new story now and then, so each day has something to send
            (root / "articles" / f"story-{n}.md").write_text(
                f"---\ntitle: Story {n}\n---\nSomething happened at pass {n}. " * 3,
                encoding="utf-8",
            )
        for _ in range(2 if now in expected.values() else 1):
            run_due(load_config(root / "digest.toml"), now)  # a fresh start every pass
            for key in sent(root) - got.keys():
                got[key] = now
    assert got == expected  # each at their hour, not a pass early or late, none missing
    assert "gone@example.com" not in {r for _, r in got}
    config = load_config(root / "digest.toml")
    with State.open(config.state_dir) as state:
        per_reader = Counter(r for (r,) in state.db.conn.execute("SELECT reader FROM deliveries"))
        unfinished = state.sends.unfinished("daily")
    assert set(per_reader.values()) == {3}  # three issues, once each
    assert unfinished is None
    copies = Counter(p.parent.name for p in (root / "outbox").rglob("*.eml"))
    assert copies == {f"daily-{day}": 4 for day in days}


def test_a_wave_the_machine_slept_through_is_not_sent_late_and_says_why(tmp_path: Path) -> None:
    root = folder(tmp_path, "07:00")
    config = load_config(root / "digest.toml")
    # 2026-12-08: Sydney 07:00 AEDT is 12-07 20:00Z, Tokyo 22:00Z, Berlin 06:00Z, NY 12:00Z.
    run_due(config, utc("2026-12-07T20:00"))
    run_due(config, utc("2026-12-07T22:00"))
    assert sent(root) == {("daily-2026-12-08", "sydney@example.com"),
                          ("daily-2026-12-08", "tokyo@example.com")}  # fmt: skip
    # Down from 22:05 until 12:30: Berlin's hour is 6.5 h behind (grace 6 h), New York's not.
    reports = run_due(config, utc("2026-12-08T12:30"))
    assert [r.tally.sent for r in reports] == [1]
    assert ("daily-2026-12-08", "ny@example.com") in sent(root)
    with State.open(config.state_dir) as state:
        counts = state.sends.counts("daily", "daily-2026-12-08")
    assert counts.counts["failed"] == 1
    assert counts.failed[0][0] == "berlin@example.com"
    assert "missed its hour (2026-12-08 07:00 Europe/Berlin); not sent late" in counts.failed[0][1]
    assert counts.finished_at is not None and counts.waiting is None
    # `digest send --retry-failed` is how a person sends it anyway.
    retry = SendRequest(options=SendOptions(retry_failed=True))
    again = send_issue(config, config.get_list("daily"), retry, now=utc("2026-12-08T13:00"))
    assert again.tally.sent == 1 and again.finished
    assert ("daily-2026-12-08", "berlin@example.com") in sent(root)


def test_a_first_wave_slept_through_loses_only_the_waves_past_their_grace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = folder(tmp_path, "07:00")
    caplog.set_level("WARNING", logger="digest.schedule")
    # Down from before Sydney's hour (12-07 20:00Z) until 04:30Z: Sydney's and Tokyo's waves
    # are past their 6 h grace, Berlin's (06:00Z) and New York's (12:00Z) are still ahead.
    reports = run_due(load_config(root / "digest.toml"), utc("2026-12-08T04:30"))
    assert [r.issue_id for r in reports] == ["daily-2026-12-08"]
    assert sent(root) == set()
    for when in ("2026-12-08T06:00", "2026-12-08T12:00"):
        run_due(load_config(root / "digest.toml"), utc(when))
    assert sent(root) == {("daily-2026-12-08", "berlin@example.com"),
                          ("daily-2026-12-08", "ny@example.com")}  # fmt: skip
    config = load_config(root / "digest.toml")
    with State.open(config.state_dir) as state:
        counts = state.sends.counts("daily", "daily-2026-12-08")
    assert sorted(e for e, _ in counts.failed) == ["sydney@example.com", "tokyo@example.com"]
    assert counts.finished_at is not None
    assert not [r for r in caplog.records if "2026-12-08 was missed" in r.getMessage()]
    # Back only after New York's grace too: the day is missed, said once, nothing sent late.
    late = folder(tmp_path / "late", "07:00")
    assert run_due(load_config(late / "digest.toml"), utc("2026-12-08T18:30")) == []
    assert [r for r in caplog.records if "2026-12-08 was missed" in r.getMessage()]


def test_readers_without_a_zone_follow_the_list_and_a_zone_change_takes_effect(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, "07:00")
    config = load_config(root / "digest.toml")
    run_due(config, utc("2026-12-07T20:00"))  # composed at Sydney's hour
    # Before New York's hour the reader moves to Tokyo, whose hour has passed: sent at once.
    csv = root / "subscribers" / "daily.csv"
    csv.write_text(
        csv.read_text(encoding="utf-8").replace("America/New_York", "Asia/Tokyo"), "utf-8"
    )
    run_due(load_config(root / "digest.toml"), utc("2026-12-07T22:00"))
    assert ("daily-2026-12-08", "ny@example.com") in sent(root)
    assert ("daily-2026-12-08", "berlin@example.com") not in sent(root)
    run_due(load_config(root / "digest.toml"), utc("2026-12-08T06:00"))
    assert ("daily-2026-12-08", "berlin@example.com") in sent(root)


def test_digest_send_by_hand_sends_the_waves_whose_hour_came_and_says_who_waits(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, "07:00")
    config = load_config(root / "digest.toml")
    lst = config.get_list("daily")
    now = utc("2026-12-08T07:00")  # Sydney, Tokyo and Berlin have had 07:00; New York not
    report = send_issue(config, lst, SendRequest(), now=now)
    assert report.tally.sent == 3 and not report.finished
    assert report.waiting is not None and report.waiting.readers == 1
    assert report.waiting.next_wave == utc("2026-12-08T12:00")
    assert "1 reader(s) wait for their hour; the next wave at 2026-12-08 12:00 UTC" in (
        report.message
    )
    again = send_issue(config, lst, SendRequest(), now=utc("2026-12-08T11:59"))
    assert again.tally.sent == 0 and again.issue_id == "daily-2026-12-08"
    last = send_issue(config, lst, SendRequest(), now=utc("2026-12-08T12:00"))
    assert last.tally.sent == 1 and last.finished
    assert len(sent(root)) == 4


def test_a_dry_run_says_the_waves_it_would_send_in(tmp_path: Path) -> None:
    root = folder(tmp_path, "07:00")
    config = load_config(root / "digest.toml")
    report = send_issue(
        config, config.get_list("daily"), SendRequest(dry_run=True), now=utc("2026-12-08T05:00")
    )
    assert report.message.endswith(
        "would go to 4 reader(s) through outbox, each at their own hour: 4 wave(s) from "
        "2026-12-07 20:00 to 2026-12-08 12:00 UTC (`digest schedule --show` lists them)"
    )
    assert sent(root) == set()


# SendGrid: waves handed over with send_at, grouped by send time.


def sendgrid(root: Path, url: str, ahead: int | None) -> None:
    with (root / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(
            f'\n[delivery]\nbackend = "sendgrid"\n\n[delivery.sendgrid]\nhost = "{url}"\n'
            + (f"schedule_ahead_hours = {ahead}\n" if ahead is not None else "")
        )


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_SECRET", "a-secret-for-tests")
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)


def _two_days_ahead() -> tuple[datetime, date]:
    """Now, and the Berlin day after tomorrow: every wave of it is 2 to 62 hours ahead."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now, (now.astimezone(load_zone()) + timedelta(days=2)).date()


def load_zone():  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")


@pytest.mark.usefixtures("keys")
def test_sendgrid_gets_every_wave_in_one_run_with_its_send_at(tmp_path: Path) -> None:
    readers = READERS + "".join(f"t{i}@example.com,,subscribed,Asia/Tokyo\n" for i in range(3))
    root = folder(tmp_path, "07:00", readers)
    now, day = _two_days_ahead()
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        sendgrid(root, sg.url, 71)
        config = load_config(root / "digest.toml")
        report = send_issue(config, config.get_list("daily"), SendRequest(day=day), now=now)
        bodies = list(sg.accepted)
    assert report.tally.sent == 7 and report.finished and report.waiting is None
    by_time = {
        b["send_at"]: sorted(p["to"][0]["email"] for p in b["personalizations"]) for b in bodies
    }
    lst = config.get_list("daily")
    expected = {
        int(wave_at(lst, day, "Australia/Sydney").timestamp()): ["sydney@example.com"],
        int(wave_at(lst, day, "Asia/Tokyo").timestamp()): sorted(
            ["tokyo@example.com"] + [f"t{i}@example.com" for i in range(3)]
        ),
        int(wave_at(lst, day, "Europe/Berlin").timestamp()): ["berlin@example.com"],
        int(wave_at(lst, day, "America/New_York").timestamp()): ["ny@example.com"],
    }
    assert by_time == expected
    assert len(bodies) == 4  # one request per send time: none mixes two


@pytest.mark.usefixtures("keys")
def test_sendgrid_by_default_takes_a_wave_an_hour_ahead_and_the_rest_wait(tmp_path: Path) -> None:
    root = folder(tmp_path, "07:00")
    now, day = _two_days_ahead()
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        sendgrid(root, sg.url, None)
        config = load_config(root / "digest.toml")
        lst = config.get_list("daily")
        first = send_issue(config, lst, SendRequest(day=day), now=now)
        assert first.tally.sent == 0 and first.waiting is not None
        sydney = wave_at(lst, day, "Australia/Sydney")
        assert first.waiting.next_wave == sydney
        assert first.waiting.resume_at == sydney - timedelta(hours=1)
        status = subprocess.run(
            [str(DIGEST), "status"], cwd=root, capture_output=True, text=True, check=True
        ).stdout
        assert "4 reader(s) wait for their hour" in status
        second = send_issue(config, lst, SendRequest(), now=sydney - timedelta(hours=1))
        assert second.tally.sent == 1
        assert [b["send_at"] for b in sg.accepted] == [int(sydney.timestamp())]


# Settings and --show.


def test_schedule_show_lists_the_days_waves_with_reader_counts(tmp_path: Path) -> None:
    root = folder(tmp_path, "07:00")
    args = [str(DIGEST), "schedule", "--show", "--now", "2026-12-07T12:00:00Z"]
    out = subprocess.run(args, cwd=root, capture_output=True, text=True, check=True).stdout
    assert "each reader in their own zone" in out
    assert "waves of 2026-12-08:" in out
    for line in (
        "2026-12-07 20:00 UTC          1 reader(s)  Australia/Sydney",
        "2026-12-07 22:00 UTC          1 reader(s)  Asia/Tokyo",
        "2026-12-08 06:00 UTC          1 reader(s)  Europe/Berlin",
        "2026-12-08 12:00 UTC          1 reader(s)  America/New_York",
    ):
        assert line in out
    data = json.loads(
        subprocess.run(
            [*args, "--json"], cwd=root, capture_output=True, text=True, check=True
        ).stdout
    )
    assert data[0]["deliver"] == "reader-local"
    assert data[0]["next"][0] == {
        "day": "2026-12-08",
        "local": "2026-12-07T21:00:00+01:00",
        "utc": "2026-12-07T20:00:00Z",
    }
    assert [w["readers"] for w in data[0]["waves"]] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[lists.daily]\ndeliver = "reader_local"\n',
            "line 17: lists.daily.deliver: 'reader_local' is not a way to deliver. "
            "Did you mean 'reader-local'",
        ),
        ("[delivery.sendgrid]\nschedule_ahead_hours = 80\n", "schedule_ahead_hours"),
    ],
)
def test_a_bad_delivery_setting_is_one_clear_error(
    tmp_path: Path, extra: str, message: str
) -> None:
    root = make_newsletter(tmp_path)
    toml = root / "digest.toml"
    text = toml.read_text(encoding="utf-8")
    if extra.startswith("[lists.daily]"):
        text += extra.split("\n", 1)[1]
    else:
        text += "\n" + extra
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(toml)
    out = subprocess.run(
        [str(DIGEST), "schedule", "--show"], cwd=root, capture_output=True, text=True
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr


def test_a_version_6_ledger_migrates_and_its_issues_wait_for_nobody(tmp_path: Path) -> None:
    import sqlite3

    from digest.state import SCHEMA_VERSION, STATE_FILE
    from digest.state.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / STATE_FILE)
    for version in range(1, 7):
        conn.executescript(MIGRATIONS[version])
    conn.execute(
        "INSERT INTO sends (list, issue_id, started_at, backend, letter, article_ids) "
        "VALUES ('daily', 'daily-2026-11-24', ?, 'outbox', '{}', '[]')",
        (utc("2026-11-24T07:00").isoformat(),),
    )
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    with State.open(tmp_path) as state:
        assert state.sends.unfinished("daily") == "daily-2026-11-24"
        assert state.sends.waiting("daily", "daily-2026-11-24") is None
        assert state.db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 7


@pytest.mark.usefixtures("keys")
def test_a_sandbox_send_of_a_reader_local_list_checks_every_reader_at_once(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, "07:00")
    now = datetime.now(UTC).replace(microsecond=0)
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        sendgrid(root, sg.url, None)
        config = load_config(root / "digest.toml")
        report = send_issue(config, config.get_list("daily"), SendRequest(sandbox=True), now=now)
        bodies = list(sg.accepted)
    assert report.finished and report.waiting is None and report.tally.sent == 4
    assert all("send_at" not in b for b in bodies)  # nobody is mailed: no hour to wait for
