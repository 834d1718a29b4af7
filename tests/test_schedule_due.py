"""When a list is due, with a controlled clock: next runs per zone, cron weekdays, catch-up
inside the grace and not after it, no second run once the ledger has the day, and both
daylight-saving nights in London and New York (one issue per scheduled local day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digest.config import ListConfig
from digest.errors import ConfigError
from digest.schedule import GRACE, due, grace_for, missed, next_runs, occurrences

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
EARLIER = {date(2026, 11, 22), date(2026, 11, 23)}
"""Days the ledger has before the day a test is about."""


def a_list(send_at: str = "07:00", timezone: str = LONDON) -> ListConfig:
    return ListConfig(
        name="daily",
        title="Daily",
        sender="Daily <daily@example.com>",
        timezone=timezone,
        language="en",
        subscribers=Path("subscribers/daily.csv"),
        send_at=send_at,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def shown(runs: list) -> list[str]:
    return [f"{o.at:%a %Y-%m-%d %H:%M %Z} = {o.utc:%H:%M}Z" for o in runs]


def test_next_runs_are_at_the_lists_hour_in_its_own_zone() -> None:
    winter = utc("2026-11-24T12:00")
    assert shown(next_runs(a_list(), winter)) == [
        "Wed 2026-11-25 07:00 GMT = 07:00Z",
        "Thu 2026-11-26 07:00 GMT = 07:00Z",
        "Fri 2026-11-27 07:00 GMT = 07:00Z",
    ]
    assert shown(next_runs(a_list("07:30", NEW_YORK), winter)) == [
        "Tue 2026-11-24 07:30 EST = 12:30Z",
        "Wed 2026-11-25 07:30 EST = 12:30Z",
        "Thu 2026-11-26 07:30 EST = 12:30Z",
    ]
    summer = utc("2027-06-01T00:00")
    assert shown(next_runs(a_list(), summer))[0] == "Tue 2027-06-01 07:00 BST = 06:00Z"


def test_a_cron_expression_counts_weekdays_as_cron_does() -> None:
    friday_noon = utc("2026-11-27T12:00")
    assert shown(next_runs(a_list("0 7 * * 1-5"), friday_noon)) == [
        "Mon 2026-11-30 07:00 GMT = 07:00Z",
        "Tue 2026-12-01 07:00 GMT = 07:00Z",
        "Wed 2026-12-02 07:00 GMT = 07:00Z",
    ]
    sundays = next_runs(a_list("30 8 * * 0"), friday_noon, 2)
    assert [o.day for o in sundays] == [date(2026, 11, 29), date(2026, 12, 6)]
    assert [o.at.hour for o in sundays] == [8, 8]
    assert [o.day.weekday() for o in next_runs(a_list("0 7 * * 6,7"), friday_noon, 2)] == [5, 6]


@pytest.mark.parametrize("bad", ["7am", "25:00", "0 7 * *", "0 7 * * 9", "61 7 * * *"])
def test_a_bad_send_at_is_one_line_naming_the_key(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        next_runs(a_list(bad), utc("2026-11-24T12:00"))
    assert err.value.message.startswith(f"lists.daily.send_at: {bad!r} is not a schedule")


def test_a_run_missed_by_less_than_the_grace_is_caught_up_once() -> None:
    lst = a_list()
    late = utc("2026-11-24T12:59")  # 5 h 59 min after 07:00 GMT
    occ = due(lst, late, set(), GRACE)
    assert occ is not None and occ.day == date(2026, 11, 24)
    assert due(lst, late, {date(2026, 11, 24)}, GRACE) is None  # a restart: the ledger has it
    assert missed(lst, late, EARLIER, GRACE) == []
    assert due(lst, utc("2026-11-24T06:59"), set(), GRACE) is None  # not yet


def test_after_the_grace_or_the_next_day_yesterday_is_missed_not_sent_late() -> None:
    lst = a_list()
    too_late = utc("2026-11-24T13:01")
    assert due(lst, too_late, set(), GRACE) is None
    assert [o.day for o in missed(lst, too_late, EARLIER, GRACE)] == [date(2026, 11, 24)]
    next_morning = utc("2026-11-25T06:00")
    assert due(lst, next_morning, set(), GRACE) is None
    assert [o.day for o in missed(lst, next_morning, EARLIER, GRACE)] == [date(2026, 11, 24)]
    assert missed(lst, next_morning, {*EARLIER, date(2026, 11, 24)}, GRACE) == []
    on_time = due(lst, utc("2026-11-25T07:00"), set(), GRACE)
    assert on_time is not None and on_time.day == date(2026, 11, 25)


def test_a_run_caught_up_after_midnight_is_the_scheduled_days_issue() -> None:
    lst = a_list("23:30", NEW_YORK)
    occ = due(lst, utc("2026-11-25T06:00"), set(), GRACE)  # 01:00 EST on the 25th
    assert occ is not None and occ.day == date(2026, 11, 24)


@pytest.mark.parametrize(
    ("zone", "night", "first_utc", "second_utc"),
    [
        (LONDON, "2027-10-31", "2027-10-31T00:30", "2027-10-31T01:30"),
        (NEW_YORK, "2027-11-07", "2027-11-07T05:30", "2027-11-07T06:30"),
    ],
)
def test_the_night_clocks_go_back_0130_is_one_run(
    zone: str, night: str, first_utc: str, second_utc: str
) -> None:
    """01:30 happens twice; the first is the day's run, the second finds the day sent."""
    lst = a_list("01:30", zone)
    day = date.fromisoformat(night)
    runs = occurrences(lst, utc(night) - timedelta(days=1), utc(night) + timedelta(days=1))
    assert [o.utc for o in runs if o.day == day] == [utc(first_utc)]
    first = due(lst, utc(first_utc), set(), GRACE)
    assert first is not None and first.day == day
    assert due(lst, utc(second_utc) + timedelta(minutes=1), {day}, GRACE) is None
    assert [o.day for o in next_runs(lst, utc(night) - timedelta(hours=12))][:2] == [
        day,
        day + timedelta(days=1),
    ]
    between = next_runs(lst, utc(first_utc) + timedelta(minutes=1), 1)
    assert [o.day for o in between] == [day + timedelta(days=1)]  # not the second 01:30


@pytest.mark.parametrize(
    ("zone", "send_at", "night", "runs_at", "local"),
    [
        (LONDON, "01:30", "2027-03-28", "2027-03-28T01:30", "02:30 BST"),
        (NEW_YORK, "02:30", "2027-03-14", "2027-03-14T07:30", "03:30 EDT"),
    ],
)
def test_the_night_an_hour_does_not_exist_the_run_is_one_hour_later_by_the_clock(
    zone: str, send_at: str, night: str, runs_at: str, local: str
) -> None:
    lst = a_list(send_at, zone)
    day = date.fromisoformat(night)
    runs = occurrences(lst, utc(night) - timedelta(days=1), utc(night) + timedelta(days=1))
    tonight = [o for o in runs if o.day == day]
    assert [(o.utc, f"{o.at:%H:%M %Z}") for o in tonight] == [(utc(runs_at), local)]
    assert due(lst, utc(runs_at) - timedelta(minutes=1), set(), GRACE) is None
    occ = due(lst, utc(runs_at), set(), GRACE)
    assert occ is not None and occ.day == day


def test_a_lists_grace_hours_setting_is_its_grace(tmp_path: Path) -> None:
    from digest.config import parse_config

    data = {
        "sources": [{"folder": "a"}],
        "lists": {"daily": {"sender": "d@example.org", "grace_hours": 2}},
    }
    lst = parse_config(data, tmp_path / "digest.toml").get_list("daily")
    assert grace_for(lst) == timedelta(hours=2)


@pytest.mark.parametrize(
    ("send_at", "days"),
    [
        ("0 7 * * 5-7", {"Fri", "Sat", "Sun"}),
        ("0 7 * * 0,7", {"Sun"}),
        ("0 7 * * sun-tue", {"Sun", "Mon", "Tue"}),
        ("0 7 * * 1-5/2", {"Mon", "Wed", "Fri"}),
    ],
)
def test_cron_weekdays_that_load_are_the_ones_that_run(
    tmp_path: Path, send_at: str, days: set[str]
) -> None:
    """digest.toml accepts what the scheduler runs, numbered as cron numbers weekdays."""
    from digest.config import parse_config

    data = {"sources": [{"folder": "a"}], "lists": {"daily": {"sender": "d@e.org"}}}
    data["lists"]["daily"]["send_at"] = send_at  # type: ignore[index]
    lst = parse_config(data, tmp_path / "digest.toml").get_list("daily")
    runs = next_runs(lst, datetime(2026, 11, 23, tzinfo=UTC), 7)
    assert {f"{r.at:%a}" for r in runs} == days


def test_day_of_month_and_weekday_together_are_refused_not_guessed(tmp_path: Path) -> None:
    from digest.config import parse_config

    data = {"sources": [{"folder": "a"}], "lists": {"daily": {"sender": "d@e.org"}}}
    data["lists"]["daily"]["send_at"] = "0 7 1 * 1"  # type: ignore[index]
    with pytest.raises(ConfigError, match="restricts both the day of the month and the weekday"):
        parse_config(data, tmp_path / "digest.toml")


def test_a_grace_of_zero_hours_is_refused(tmp_path: Path) -> None:
    from digest.config import parse_config

    data = {"sources": [{"folder": "a"}], "lists": {"daily": {"sender": "d@e.org"}}}
    data["lists"]["daily"]["grace_hours"] = 0  # type: ignore[index]
    with pytest.raises(ConfigError, match="grace_hours"):
        parse_config(data, tmp_path / "digest.toml")
