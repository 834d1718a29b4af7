"""`digest bounces scan` on real delivery status notifications (tests/data/dsn, from
flufl.bounce's test data, Apache-2.0) in a Maildir folder and in an mbox file."""

from __future__ import annotations

import csv
import email
import io
import json
import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.dsn import read_report, scan

DSN = Path(__file__).parent / "data" / "dsn"
REPORTS = sorted(DSN.glob("dsn_*.txt"))
OTHERS = [DSN / "qmail_01.txt", DSN / "simple_01.txt"]  # free-text bounces, not RFC 3464
HARD = {
    "userx@example.com",  # dsn_01 (Original-Recipient; Final is an internal alias), dsn_13
    "userx@example.ch",  # dsn_04
    "joem@example.com",  # dsn_11: eleven blocks for one address
    "userx@example.jp",  # dsn_12: "Action: failed (Bad destination mailbox address)"
}
LIST = """\
email,name,status
userx@example.com,X,subscribed
USERX@example.ch,CH,subscribed
joem@example.com,Joe,complained
zzzzz@example.uk,UK,subscribed
userx@example.cz,CZ,subscribed
userx@example.fi,FI,subscribed
reader@example.org,Reader,subscribed
"""


def test_each_sample_reads_as_its_report_says() -> None:
    def hard(path: Path) -> set[str] | None:
        found = read_report(email.message_from_bytes(path.read_bytes()))
        return None if found is None else {r.address for r in found if r.hard}

    assert hard(DSN / "dsn_01.txt") == {"userx@example.com"}
    assert hard(DSN / "dsn_02.txt") == set()  # failed, but 4.4.7: not permanent
    assert hard(DSN / "dsn_05.txt") == set()  # delayed
    assert hard(DSN / "dsn_13.txt") == {"userx@example.com"}  # forwarded inside another mail
    assert hard(DSN / "dsn_17.txt") == set()  # delayed, forwarded
    assert all(hard(p) is None for p in OTHERS)


def make_maildir(path: Path) -> Path:
    box = mailbox.Maildir(path, create=True)
    for p in [*REPORTS, *OTHERS]:
        box.add(p.read_bytes())
    box.close()
    return path


def make_mbox(path: Path) -> Path:
    box = mailbox.mbox(path, create=True)
    for p in [*REPORTS, *OTHERS]:
        box.add(email.message_from_bytes(p.read_bytes()))
    box.close()
    return path


@pytest.mark.parametrize("make", [make_maildir, make_mbox], ids=["maildir", "mbox"])
def test_scan_finds_the_hard_bounces(tmp_path: Path, make) -> None:
    found = scan(make(tmp_path / "bounces"))
    assert set(found.hard) == HARD and len(found.hard) == 4
    assert found.reports == len(REPORTS) and found.not_reports == len(OTHERS)
    assert found.soft == 3  # dsn_02 (failed with 4.4.7), dsn_05 and dsn_17 (delayed)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "digest.toml").write_text(
        '[lists.daily]\nsender = "Daily <daily@example.com>"\n'
        'subscribers = "subscribers/daily.csv"\n'
    )
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "daily.csv").write_text(LIST)
    return tmp_path


def bounces(folder: Path, *args: str):
    return CliRunner().invoke(main, ["bounces", "scan", "--config", str(folder), *args])


def statuses(folder: Path) -> dict[str, str]:
    text = (folder / "subscribers" / "daily.csv").read_text()
    return {row["email"]: row["status"] for row in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("make", [make_maildir, make_mbox], ids=["maildir", "mbox"])
def test_scan_marks_hard_bounces_once(folder: Path, make) -> None:
    path = make(folder / "bounces")
    result = bounces(folder, str(path), "--json")
    assert result.exit_code == 0, result.output
    assert statuses(folder) == {
        "userx@example.com": "bounced",
        "USERX@example.ch": "bounced",  # the address matched ignoring case
        "joem@example.com": "complained",  # a complaint is kept
        "zzzzz@example.uk": "subscribed",  # 4.x.x: counted only
        "userx@example.cz": "subscribed",  # delayed
        "userx@example.fi": "subscribed",
        "reader@example.org": "subscribed",
    }
    data = json.loads(result.output)
    [kind] = data["kinds"]
    assert (kind["found"], kind["changed"], kind["already"], kind["not_on_list"]) == (4, 2, 1, 1)
    assert data["counted_only"] == {"soft": 3, "reports": 8, "not_reports": 2}

    before = (folder / "subscribers" / "daily.csv").read_bytes()
    again = bounces(folder, str(path), "--json")
    assert json.loads(again.output)["changed"] == 0
    assert (folder / "subscribers" / "daily.csv").read_bytes() == before


def test_dry_run_writes_nothing(folder: Path) -> None:
    path = make_maildir(folder / "bounces")
    before = (folder / "subscribers" / "daily.csv").read_bytes()
    result = bounces(folder, str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: 2 reader(s) would change; nothing was written." in result.output
    assert "8 report(s) read, 2 other message(s) skipped; 3 delayed" in result.output
    assert (folder / "subscribers" / "daily.csv").read_bytes() == before


def test_a_missing_path_is_one_line(folder: Path) -> None:
    result = bounces(folder, str(folder / "nowhere"))
    assert result.exit_code == 1
    assert "nowhere: no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_a_folder_that_is_no_maildir_is_refused(folder: Path) -> None:
    result = bounces(folder, str(folder / "subscribers"))
    assert result.exit_code == 1
    assert "not a Maildir folder" in result.output


def test_a_file_with_no_messages_is_said(folder: Path) -> None:
    (folder / "one.eml").write_text("Subject: not an mbox\n\nhello\n")
    result = bounces(folder, str(folder / "one.eml"))
    assert result.exit_code == 0
    assert "warning: no messages in" in result.output


def test_dry_run_refuses_a_broken_file_as_the_real_run_would(folder: Path) -> None:
    path = make_mbox(folder / "bounces")
    with (folder / "subscribers" / "daily.csv").open("a") as f:
        f.write("not an address,Broken,subscribed\n")
    for args in (["--dry-run"], []):
        result = bounces(folder, str(path), *args)
        assert result.exit_code == 1, result.output
        assert "line 9" in result.output and "Traceback" not in result.output
