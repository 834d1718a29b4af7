"""List health (issue 16, item 3): each issue's sent, delivered, deferred, bounced, complained
and unsubscribed, the bounce and complaint rates with their warnings, and the pause of a list
whose last issue drew complaints from more than 0.3% of its readers.

The limits are checked on the pure computation at their exact boundaries; the rest runs on
real newsletter folders (real SQLite state, real outbox sends), with SendGrid's events parsed
by the webhook's own mapping and recorded as the webhook records them, or posted through the
signed webhook itself, and unsubscribe clicks posted to the running web app."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CHROMIUM_ARGS, NOW, chromium_path, make_newsletter
from test_web_unsubscribe import SECRET
from test_web_unsubscribe import serving as clicking
from test_webhook_sendgrid import Sent, hooked, mixed_batch
from test_webhook_sendgrid import sent as sent  # the fixture, by its name
from webserver import run_app

from digest.config import Config, load_config
from digest.errors import ListPaused
from digest.list_health import (
    issue_health,
    pause_for,
    percent,
)
from digest.pipeline import SendRequest, send_issue
from digest.pipeline.health import list_health
from digest.schedule import Daemon, RunLog, run_due
from digest.state import State
from digest.web import Flusher, Site
from digest.web.sendgrid_events import parse_events

DIGEST = Path(sys.executable).parent / "digest"
DAY = timedelta(days=1)
ISSUE = "daily-2026-11-24"

# --- the limits, exactly ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "bounced", "warns"),
    [(1000, 20, False), (1000, 21, True), (50, 1, False), (49, 1, True), (1000, 0, False)],
)
def test_a_bounce_warning_only_past_2_percent(sent: int, bounced: int, warns: bool) -> None:
    h = issue_health("daily", ISSUE, sent, {"bounce": bounced})
    assert h.bounces_high is warns
    said = [w for w in h.warnings if w.startswith("bounce rate")]
    assert len(said) == warns
    assert not h.complaints_high and not h.pauses


@pytest.mark.parametrize(
    ("sent", "complained", "warns", "pauses"),
    [
        (1000, 1, False, False),  # exactly 0.1%
        (1000, 2, True, False),
        (1001, 2, True, False),
        (1000, 3, True, False),  # exactly 0.3%: a warning, not a pause
        (3000, 9, True, False),  # exactly 0.3%
        (334, 1, True, False),  # 0.2994%
        (333, 1, True, True),  # 0.3003%
        (3000, 10, True, True),
        (1000, 4, True, True),
    ],
)
def test_complaints_warn_past_0_1_and_pause_past_0_3_percent(
    sent: int, complained: int, warns: bool, pauses: bool
) -> None:
    h = issue_health("daily", ISSUE, sent, {"spamreport": complained})
    assert (h.complaints_high, h.pauses) == (warns, pauses)
    said = [w for w in h.warnings if w.startswith("complaint rate")]
    assert len(said) == warns
    if pauses:
        assert "is past 0.3%, where the list's next send pauses" in said[0]
    elif warns:
        assert "is past 0.1%" in said[0]
    assert (pause_for(h) is not None) is pauses


def test_an_issue_sent_to_nobody_has_no_rate_and_never_pauses() -> None:
    h = issue_health("daily", ISSUE, 0, {"spamreport": 3, "bounce": 2})
    assert h.bounce_rate is None and h.complaint_rate is None
    assert h.warnings == () and not h.pauses and pause_for(h) is None
    assert percent(h.bounce_rate) == "-"


def test_each_kind_counts_where_it_belongs() -> None:
    events = {
        "processed": 9,
        "delivered": 7,
        "deferred": 3,
        "open": 5,
        "click": 2,
        "bounce": 2,  # hard
        "dropped_dead": 1,  # dropped: a dead or invalid address
        "blocked": 4,  # a soft bounce is no bounce
        "dropped": 6,  # dropped for its content or an unsubscribe on file
        "spamreport": 1,
        "unsubscribe": 1,
        "group_unsubscribe": 2,
        "unsubscribe_click": 3,
        "group_resubscribe": 1,
    }
    h = issue_health("daily", ISSUE, 100, events)
    got = (h.sent, h.delivered, h.deferred, h.bounced, h.complained, h.unsubscribed)
    assert got == (100, 7, 3, 3, 1, 6)
    assert h.reported
    assert (percent(h.bounce_rate), percent(h.complaint_rate)) == ("3.00%", "1.00%")
    only_clicks = issue_health("daily", ISSUE, 100, {"unsubscribe_click": 1})
    assert not only_clicks.reported and only_clicks.unsubscribed == 1
    assert percent(Fraction(1, 100_000)) == "<0.01%"


# --- a newsletter folder ---------------------------------------------------------------------


def folder(tmp_path: Path, readers: int = 4, send_at: str | None = None) -> Path:
    """The example newsletter with readers r0…r{n-1}@example.com."""
    root = make_newsletter(tmp_path)
    rows = "".join(f"r{i}@example.com,,subscribed\n" for i in range(readers))
    (root / "subscribers" / "daily.csv").write_text("email,name,status\n" + rows, encoding="utf-8")
    if send_at:
        with (root / "digest.toml").open("a", encoding="utf-8") as f:
            f.write(f'send_at = "{send_at}"\n')
    return root


def add_article(root: Path, when: datetime, title: str = "The bridge reopens") -> None:
    """A new story for the next issue, published at `when`."""
    name = re.sub(r"\W+", "-", title.lower()) + f"-{when:%Y%m%d%H%M}.md"
    (root / "articles" / name).write_text(
        f"---\ntitle: {title}\ndate: {when.isoformat()}\n---\n\nThe old bridge reopened this "
        "morning after a year of repairs, and the first buses crossed it before seven.\n",
        encoding="utf-8",
    )


def config_of(root: Path) -> Config:
    return load_config(root / "digest.toml")


_event_ids = count()


def report(
    root: Path, issue: str, *events: tuple[str, str], at: datetime = NOW, **fields: Any
) -> None:
    """SendGrid's events (kind, reader) for `issue`, at `at`, through the webhook's own
    mapping (`parse_events`) into the state as the webhook records them."""
    raw = [
        {
            "email": who,
            "event": kind,
            "sg_event_id": f"ev-{next(_event_ids)}",
            "timestamp": int(at.timestamp()),
            "list": "daily",
            "issue_id": issue,
            **fields,
        }
        for kind, who in events
    ]
    parsed = parse_events(raw, NOW)
    assert parsed.foreign == parsed.other == 0
    with State.open(config_of(root).state_dir) as state:
        done = state.events.record(parsed.events, NOW)
    assert done.recorded == len(events) and not done.unknown


def send(root: Path, now: datetime = NOW, **request: Any) -> Any:
    config = config_of(root)
    return send_issue(config, config.get_list("daily"), SendRequest(**request), now=now)


def issues(root: Path) -> list[str]:
    with State.open(config_of(root).state_dir) as state:
        return state.sends.issue_ids("daily")


def digest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [str(DIGEST), *args], cwd=root, capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def complained(tmp_path: Path) -> Path:
    """A folder whose first issue went to 4 readers, one of whom marked it as spam (25%)."""
    root = folder(tmp_path)
    first = send(root)
    assert first.issue_id == ISSUE and first.tally.sent == 4
    report(root, ISSUE, ("delivered", "r0@example.com"), ("spamreport", "r1@example.com"))
    return root


# --- the pause in digest send ----------------------------------------------------------------


def test_a_paused_list_refuses_a_new_issue_saying_why_and_force_sends_it(
    complained: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = complained
    add_article(root, NOW + DAY - timedelta(hours=2))
    with pytest.raises(ListPaused) as refused:
        send(root, NOW + DAY)
    said = str(refused.value)
    assert refused.value.issue_id == ISSUE
    for part in (
        "list 'daily' is paused for complaints",
        ISSUE,
        "1 complaint(s) from 4 reader(s) (25.00%)",
        "past the 0.3%",
        "Look at what readers complained about",
        "`digest send --force` sends anyway",
    ):
        assert part in said
    assert issues(root) == [ISSUE]  # nothing built into the ledger

    caplog.set_level(logging.WARNING)
    dry = send(root, NOW + DAY, dry_run=True)
    assert dry.readers == 3  # the complainer is off the list
    assert any("a real send would be refused" in r.getMessage() for r in caplog.records)
    test_copy = send(root, NOW + DAY, to="me@example.org")
    assert "one test copy" in test_copy.message
    assert issues(root) == [ISSUE]

    forced = send(root, NOW + DAY, force=True)
    assert forced.issue_id == "daily-2026-11-25" and forced.tally.sent == 3
    assert any("sending anyway (--force)" in r.getMessage() for r in caplog.records)

    # The pause looks at the last issue: a clean one lifts it without --force.
    add_article(root, NOW + 2 * DAY - timedelta(hours=2), "The ferry returns")
    assert send(root, NOW + 2 * DAY).issue_id == "daily-2026-11-26"


def test_finishing_an_issue_already_started_is_never_paused(complained: Path) -> None:
    root = complained
    add_article(root, NOW + DAY - timedelta(hours=2))
    assert send(root, NOW + DAY, force=True).tally.sent == 3
    with State.open(config_of(root).state_dir) as state:  # as if that send had been killed
        state.db.conn.execute("UPDATE sends SET finished_at = NULL WHERE issue_id != ?", (ISSUE,))
    with (root / "subscribers" / "daily.csv").open("a", encoding="utf-8") as f:
        f.write("late@example.com,,subscribed\n")
    resumed = send(root, NOW + DAY + timedelta(hours=1))  # no --force: the issue is under way
    assert resumed.issue_id == "daily-2026-11-25"
    assert resumed.tally.sent == 1 and resumed.finished


def test_a_sandbox_send_is_neither_paused_nor_looked_at(tmp_path: Path) -> None:
    root = folder(tmp_path)
    send(root)
    with State.open(config_of(root).state_dir) as state:
        state.db.conn.execute(  # a sandbox send after it, as `--sandbox` records one
            "INSERT INTO sends (list, issue_id, started_at, backend, letter, article_ids) "
            "SELECT list, issue_id || '-sandbox', ?, backend, letter, article_ids FROM sends",
            ((NOW + timedelta(hours=1)).isoformat(),),
        )
        state.db.conn.execute(
            "INSERT INTO deliveries (list, issue_id, reader, email, status, updated_at) "
            "SELECT list, issue_id || '-sandbox', reader, email, status, updated_at "
            "FROM deliveries"
        )
        health = list_health(state, "daily")
    assert [h.issue_id for h in health.issues] == [ISSUE]
    report(root, ISSUE, ("spamreport", "r1@example.com"))
    with State.open(config_of(root).state_dir) as state:
        paused = list_health(state, "daily").pause
    assert paused is not None and paused.issue.issue_id == ISSUE


def test_digest_send_refuses_with_one_line_and_exit_1_and_force_sends(complained: Path) -> None:
    root = complained
    refused = digest(root, "send")
    assert refused.returncode == 1
    assert "Error: list 'daily' is paused for complaints" in refused.stderr
    assert f"its last issue, {ISSUE}, drew 1 complaint(s) from 4 reader(s)" in refused.stderr
    assert "`digest send --force` sends anyway" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert issues(root) == [ISSUE]
    add_article(root, datetime.now(UTC) - timedelta(hours=1))
    forced = digest(root, "send", "--force", "--since", "1d")
    assert forced.returncode == 0, forced.stderr
    assert "sent 3," in forced.stdout
    assert "sending anyway (--force)" in forced.stderr
    assert len(issues(root)) == 2


def test_send_help_shows_force_with_an_example(tmp_path: Path) -> None:
    for command in (["send"], ["run-due"], ["schedule"]):
        out = digest(tmp_path, *command, "--help").stdout
        assert "--force" in out and f"digest {command[0]} --force" in out


# --- digest status --------------------------------------------------------------------------


def test_status_shows_each_issues_health_its_warnings_and_the_pause(tmp_path: Path) -> None:
    root = folder(tmp_path, readers=40)
    send(root)
    report(
        root,
        ISSUE,
        *(("delivered", f"r{i}@example.com") for i in range(36)),
        ("deferred", "r36@example.com"),
        ("bounce", "r37@example.com"),
        ("spamreport", "r38@example.com"),
        ("group_unsubscribe", "r39@example.com"),
        type="bounce",
    )
    report(root, ISSUE, ("dropped", "r36@example.com"), reason="Bounced Address")
    r = digest(root, "status")
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith(ISSUE + " "))
    assert row.split() == [ISSUE, "40", "36", "1", "2", "(5.00%)", "1", "(2.50%)", "1"]
    assert "warning: bounce rate 5.00% (2 of 40 sent) is past 2%" in r.stdout
    assert "warning: complaint rate 2.50% (1 of 40 sent) is past 0.3%" in r.stdout
    text = " ".join(r.stdout.split())
    assert (
        f"Next send paused: list 'daily' is paused for complaints: its last issue, {ISSUE}, "
        "drew 1 complaint(s) from 40 reader(s) (2.50%)"
    ) in text
    assert "`digest send --force` sends anyway" in text

    rows = json.loads(digest(root, "status", "--json").stdout)
    assert rows[0]["counts"]["sent"] == 40  # the ledger's fields are as they were
    assert rows[0]["health"] == {
        "sent": 40,
        "delivered": 36,
        "deferred": 1,
        "bounced": 2,
        "complained": 1,
        "unsubscribed": 1,
        "reported": True,
        "bounce_rate": 0.05,
        "complaint_rate": 0.025,
        "warnings": [
            "bounce rate 5.00% (2 of 40 sent) is past 2%: the list holds dead addresses",
            "complaint rate 2.50% (1 of 40 sent) is past 0.3%, where the list's next send "
            "pauses: readers marked it as spam",
        ],
        "pauses": True,
        "pauses_next_send": True,
    }


def test_status_of_a_healthy_list_without_a_webhook_says_what_it_cannot_know(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path)
    send(root)
    r = digest(root, "status")
    assert r.returncode == 0
    row = next(line for line in r.stdout.splitlines() if line.startswith(ISSUE + " "))
    assert row.split() == [ISSUE, "4", "-", "-", "0", "(0.00%)", "0", "(0.00%)", "0"]
    assert "no provider events recorded" in r.stdout
    assert "warning:" not in r.stdout and "Next send paused" not in r.stdout
    health = json.loads(digest(root, "status", "--json").stdout)[0]["health"]
    assert health["reported"] is False and health["pauses_next_send"] is False


def test_the_signed_webhooks_events_make_the_health(sent: Sent) -> None:
    with hooked(sent) as hook:
        assert hook.post(mixed_batch(sent)).status_code == 200
    row = json.loads(digest(sent.root, "status", "--json").stdout)[0]
    health = row["health"]
    assert row["issue_id"] == sent.args["issue_id"]
    # 10 readers: bea's hard bounce, eve's and fay's dead addresses; hal's spam report; ivy's
    # and jo's unsubscribes. cy's soft bounce and gus's drop for content are no bounces.
    assert [health[k] for k in ("sent", "delivered", "deferred", "bounced")] == [10, 1, 1, 3]
    assert [health[k] for k in ("complained", "unsubscribed")] == [1, 2]
    assert (health["bounce_rate"], health["complaint_rate"]) == (0.3, 0.1)
    assert health["pauses_next_send"] is True


# --- unsubscribe clicks on digest's own link -------------------------------------------------


def test_a_click_counts_once_against_the_last_issue_its_reader_was_sent(tmp_path: Path) -> None:
    root = folder(tmp_path)
    send(root)  # r0…r3
    csv = root / "subscribers" / "daily.csv"
    text = csv.read_text(encoding="utf-8").replace(
        "r3@example.com,,subscribed", "r3@example.com,,unsubscribed"
    )
    csv.write_text(text + "r4@example.com,,subscribed\n", encoding="utf-8")
    add_article(root, NOW + DAY - timedelta(hours=2))
    second = send(root, NOW + DAY)  # r0, r1, r2, r4
    assert second.issue_id == "daily-2026-11-25" and second.tally.sent == 4
    sendgrids = NOW + DAY + timedelta(hours=1)  # r1 used SendGrid's link, an hour after
    report(root, "daily-2026-11-25", ("unsubscribe", "r1@example.com"), at=sendgrids)
    with clicking(root) as web:
        for who in ("r0", "r0", "r1", "r3", "r4", "never-sent"):  # r0 twice: a replay
            assert web.one_click(f"{who}@example.com").status_code == 200
        undo = web.client.post(
            web.url + "/resubscribe",
            data={"list": "daily", "email": "r4@example.com", "token": _token("r4@example.com")},
        )
        assert undo.status_code == 200, undo.text
        assert web.one_click("r4@example.com").status_code == 200  # again, after the undo
    with State.open(config_of(root).state_dir) as state:
        first = state.events.counts("daily", ISSUE)
        latest = state.events.counts("daily", "daily-2026-11-25")
        health = {h.issue_id: h.unsubscribed for h in list_health(state, "daily").issues}
    assert first == {"unsubscribe_click": 1}  # r3 had only the first issue
    assert latest == {"unsubscribe": 1, "unsubscribe_click": 2}  # r0, r4; r1 counted by SendGrid
    assert health == {ISSUE: 1, "daily-2026-11-25": 3}


def _token(email: str) -> str:
    from digest.tokens import token

    return token(SECRET, "daily", email)


# --- the / page of digest serve --------------------------------------------------------------


@pytest.fixture
def page_of(complained: Path) -> Iterator[httpx.Response]:
    site = Site(config_of(complained), SECRET)
    with run_app(site, Flusher(site, delay=0.0)) as base:
        yield httpx.get(base + "/", timeout=60)


def test_the_home_page_shows_health_warnings_and_the_pause(page_of: httpx.Response) -> None:
    r = page_of
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")
    health = r.text.split('<table class="health">', 1)[1].split("</table>", 1)[0]
    headers = [html.unescape(h) for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", health)]
    assert headers == [
        "Issue",
        "sent",
        "delivered",
        "deferred",
        "bounced",
        "complained",
        "unsubscribed",
        "bounce rate",
        "complaint rate",
    ]
    row = re.search(rf"<tr><td>{ISSUE}</td>(.*?)</tr>", health)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["4", "1", "0", "0", "1", "0", "0.00%", "25.00%"]
    assert re.search(r'<td class="n warn">25\.00%</td>', row.group(1))
    text = html.unescape(re.sub(r"<[^>]+>", "", r.text))
    assert "warning: complaint rate 25.00% (1 of 4 sent) is past 0.3%" in text
    assert "The next send is paused: list 'daily' is paused for complaints" in text
    assert "`digest send --force` sends anyway" in text
    assert "list &#39;daily&#39; is paused" in r.text  # escaped, as every value
    assert '<div class="paused" role="alert">' in r.text


def test_the_home_page_of_a_healthy_list_has_no_pause(tmp_path: Path) -> None:
    root = folder(tmp_path)
    send(root)
    site = Site(config_of(root), SECRET)
    with run_app(site, Flusher(site, delay=0.0)) as base:
        r = httpx.get(base + "/", timeout=60)
    assert '<table class="health">' in r.text and 'class="paused"' not in r.text
    assert "No provider events recorded yet" in r.text and "warning:" not in r.text


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium; CI installs it")
def test_the_home_page_fits_a_phone_its_tables_scroll_in_their_box(complained: Path) -> None:
    from playwright.sync_api import sync_playwright  # after the send: it holds an event loop

    site = Site(config_of(complained), SECRET)
    with run_app(site, Flusher(site, delay=0.0)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 375, "height": 800})
        page.goto(base + "/")
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] == widths[1] == 375  # the page itself never scrolls sideways
        assert page.get_by_role("alert").is_visible()
        assert page.locator("table.health").evaluate("t => t.closest('.scroll') !== null")
        browser.close()


# --- the scheduler ----------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_scheduler_records_paused_warns_once_and_run_due_force_sends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = folder(tmp_path, send_at="07:00")
    assert [r.issue_id for r in run_due(config_of(root), utc("2026-11-24T07:05"))] == [ISSUE]
    report(root, ISSUE, ("spamreport", "r2@example.com"))
    add_article(root, utc("2026-11-25T05:00"))
    caplog.set_level(logging.INFO, logger="digest")
    for when in ("2026-11-25T07:01", "2026-11-25T07:02", "2026-11-25T07:03"):
        assert run_due(config_of(root), utc(when)) == []
    assert issues(root) == [ISSUE]
    said = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING  # once, not every pass
    line = said[0].getMessage()
    for part in (
        "daily: run for daily-2026-11-25 paused:",
        f"its last issue, {ISSUE}, drew 1 complaint(s) from 4 reader(s) (25.00%)",
        "past the 0.3%",
        "digest run-due --force",
    ):
        assert part in line
    assert "\n" not in line
    assert not any("starts" in r.getMessage() for r in caplog.records if "11-25" in r.getMessage())
    last = RunLog(config_of(root).state_dir).last("daily")
    assert last is not None and last.outcome == "paused" and last.day == "2026-11-25"

    plain = digest(root, "run-due", "--now", "2026-11-25T07:04:00Z")
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "daily: run for 2026-11-25 paused: list 'daily' is paused" in plain.stderr
    status = digest(root, "status")
    assert "last scheduled run (2026-11-25" in status.stdout and ") paused: " in status.stdout
    forced = digest(root, "run-due", "--now", "2026-11-25T07:05:00Z", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "daily: daily-2026-11-25: sent 3," in forced.stdout
    assert issues(root) == [ISSUE, "daily-2026-11-25"]


def test_schedule_force_overrides_the_pause_in_effect_and_not_a_later_one(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, send_at="07:00")
    run_due(config_of(root), utc("2026-11-24T07:05"))
    report(root, ISSUE, ("spamreport", "r2@example.com"))
    add_article(root, utc("2026-11-25T05:00"))
    clock = [utc("2026-11-25T07:01")]
    daemon = Daemon(config_of(root), clock=lambda: clock[0], force=True)
    daemon.check()
    assert issues(root) == [ISSUE, "daily-2026-11-25"]
    report(root, "daily-2026-11-25", ("spamreport", "r3@example.com"))  # 1 of 3: paused again
    add_article(root, utc("2026-11-26T05:00"), "The ferry returns")
    clock[0] = utc("2026-11-26T07:01")
    daemon.check()
    assert issues(root) == [ISSUE, "daily-2026-11-25"]
    last = RunLog(config_of(root).state_dir).last("daily")
    assert last is not None and last.outcome == "paused" and "daily-2026-11-25," in last.message
