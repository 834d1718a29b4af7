"""`digest subscribers sync-suppressions` against a local stand-in for SendGrid's suppression
endpoints, through the real `sendgrid` client: counts, the file after, paging, idempotence,
--dry-run and the errors."""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from suppressions_standin import API_KEY, SuppressionsStandIn

from digest.cli import main

LIST = """\
email,name,status,subscribed_at,unsubscribed_at
ada@example.com,Ada,subscribed,2026-11-01T08:00:00Z,
grace@example.com,Grace,subscribed,2026-11-01T08:00:00Z,
alan@example.com,Alan,unsubscribed,2026-11-01T08:00:00Z,2026-11-10T18:45:00Z
kat@example.com,Kat,complained,2026-11-01T08:00:00Z,2026-11-10T18:45:00Z
lin@example.com,Lin,subscribed,2026-11-01T08:00:00Z,
mo@example.com,Mo,subscribed,2026-11-01T08:00:00Z,
Nia@Example.com,Nia,subscribed,2026-11-01T08:00:00Z,
"""
STRANGERS = [f"stranger{i}@example.org" for i in range(1200)]
SUPPRESSED = {
    "bounces": [*STRANGERS, "ada@example.com", "alan@example.com"],  # 3 pages of 500
    "blocks": ["lin@example.com", "someone@example.org"],
    "spam_reports": ["grace@example.com"],
    "invalid_emails": ["nia@example.com", "not an address"],
    "unsubscribes": ["grace@example.com", "kat@example.com"],
    "group:42": ["mo@example.com", "ada@example.com"],
}
AFTER = {
    "ada@example.com": "bounced",
    "grace@example.com": "complained",  # a spam report beats the unsubscribe
    "alan@example.com": "bounced",  # a bounce is worth more than an unsubscribe
    "kat@example.com": "complained",  # never replaced by an unsubscribe
    "lin@example.com": "subscribed",  # blocks are counted only
    "mo@example.com": "unsubscribed",
    "Nia@Example.com": "bounced",
}


@pytest.fixture
def standin() -> Iterator[SuppressionsStandIn]:
    with SuppressionsStandIn(SUPPRESSED) as sg:
        yield sg


def make_folder(tmp_path: Path, host: str) -> Path:
    (tmp_path / "digest.toml").write_text(
        '[lists.daily]\nsender = "Daily <daily@example.com>"\n'
        'subscribers = "subscribers/daily.csv"\n\n'
        f'[delivery.sendgrid]\nhost = "{host}"\nasm_group_id = 42\ntimeout = 5\n'
    )
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "daily.csv").write_text(LIST)
    return tmp_path


@pytest.fixture
def folder(tmp_path: Path, standin: SuppressionsStandIn, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    return make_folder(tmp_path, standin.url)


def sync(folder: Path, *args: str):
    return CliRunner().invoke(
        main, ["subscribers", "sync-suppressions", "--config", str(folder), *args]
    )


def statuses(folder: Path) -> dict[str, str]:
    text = (folder / "subscribers" / "daily.csv").read_text()
    return {row["email"]: row["status"] for row in csv.DictReader(io.StringIO(text))}


def counts(output: str) -> dict[str, tuple[int, int, int, int]]:
    data = json.loads(output)
    return {
        k["kind"]: (k["found"], k["changed"], k["already"], k["not_on_list"]) for k in data["kinds"]
    }


def test_sync_marks_the_suppressed_readers_and_counts_each_kind(
    folder: Path, standin: SuppressionsStandIn
) -> None:
    result = sync(folder, "--json")
    assert result.exit_code == 0, result.output
    assert statuses(folder) == AFTER
    assert counts(result.output) == {
        "bounces": (1202, 2, 0, 1200),
        "spam_reports": (1, 1, 0, 0),
        "invalid_emails": (2, 1, 0, 1),
        "unsubscribes": (2, 0, 2, 0),  # grace got the stronger complaint, kat stays complained
        "group_unsubscribes": (2, 1, 1, 0),  # ada bounced, which beats it
    }
    data = json.loads(result.output)
    assert data["counted_only"] == {"blocks": 2}
    assert data["changed"] == 5 and data["dry_run"] is False
    bounce_pages = [q for p, q in standin.requests if p == "/v3/suppression/bounces"]
    assert bounce_pages == [{"limit": "500", "offset": str(n)} for n in (0, 500, 1000)]
    assert ("/v3/asm/groups/42/suppressions", {}) in standin.requests
    # the rows changed record when
    row = next(csv.DictReader(io.StringIO((folder / "subscribers/daily.csv").read_text())))
    assert row["unsubscribed_at"].endswith("Z")


def test_a_second_sync_changes_nothing(folder: Path) -> None:
    assert sync(folder).exit_code == 0
    before = (folder / "subscribers" / "daily.csv").read_bytes()
    result = sync(folder, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changed"] == 0
    assert all(changed == 0 for _, changed, _, _ in counts(result.output).values())
    assert (folder / "subscribers" / "daily.csv").read_bytes() == before


def test_dry_run_says_what_would_change_and_writes_nothing(folder: Path) -> None:
    before = (folder / "subscribers" / "daily.csv").read_bytes()
    result = sync(folder, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would change" in result.output
    assert "Dry run: 5 reader(s) would change; nothing was written." in result.output
    assert "2 block(s) found; blocks are counted only" in result.output
    assert (folder / "subscribers" / "daily.csv").read_bytes() == before
    # and the real run then does what the dry run said
    assert json.loads(sync(folder, "--json").output)["changed"] == 5


def test_a_refused_key_is_one_clear_line_and_changes_nothing(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "SG.wrong-key-never-to-be-printed"
    monkeypatch.setenv("SENDGRID_API_KEY", wrong)
    before = (folder / "subscribers" / "daily.csv").read_bytes()
    result = sync(folder)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and wrong not in result.output
    assert "/v3/suppression/bounces: SendGrid refused the key (401)" in result.output
    assert "SENDGRID_API_KEY" in result.output
    assert (folder / "subscribers" / "daily.csv").read_bytes() == before


def test_a_missing_key_is_an_error(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY")
    result = sync(folder)
    assert result.exit_code == 1
    assert "SENDGRID_API_KEY is not set" in result.output
    assert "Traceback" not in result.output


def test_no_answer_names_the_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = make_folder(tmp_path, f"http://127.0.0.1:{port}")
    result = sync(folder)
    assert result.exit_code == 1
    assert f"GET http://127.0.0.1:{port}/v3/suppression/bounces: cannot reach SendGrid" in (
        result.output
    )
    assert "Traceback" not in result.output and API_KEY not in result.output


def test_the_key_is_never_logged(folder: Path, capfd: pytest.CaptureFixture[str]) -> None:
    result = CliRunner().invoke(
        main, ["-vv", "subscribers", "sync-suppressions", "--config", str(folder)]
    )
    assert result.exit_code == 0, result.output
    logged = capfd.readouterr()
    assert API_KEY not in result.output + logged.out + logged.err
