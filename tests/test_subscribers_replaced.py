"""A list file replaced or changed by hand (an editor's or spreadsheet's save) while a command
is changing it: the command notices before it renames its result over the file, and does its
change again on the new content, so the hand edit is kept."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import SubscriberError
from digest.subscribers import Subscriber, SubscriberList
from digest.subscribers.changes import Adding, SettingStatus
from digest.subscribers.csvfile import Record
from digest.subscribers.import_file import read_source
from digest.subscribers.listfile import ATTEMPTS, Change, ListFile
from digest.subscribers.merge import Merging

HEADER = "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
DIGEST = Path(sys.executable).with_name("digest")
CONFIG = '[lists.daily]\nsender = "Daily <daily@example.com>"\nsubscribers = "daily.csv"\n'


def editor_save(path: Path, row: str) -> None:
    """What an editor or a spreadsheet does on save: write a copy, then rename it over."""
    copy = path.with_name(path.name + "~")
    shutil.copy2(path, copy)
    with open(copy, "a", encoding="utf-8") as f:
        f.write(row)
    copy.replace(path)


def temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


AT = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


class SavedMidway:
    """A real change that, in the middle of its pass over the file (after reading the first
    row, before the rename), meets an editor's save of the next row `saves` gives, if any."""

    def __init__(self, inner: Change, path: Path, saves: Iterator[str]) -> None:
        self.inner = inner
        self.path = path
        self.saves = saves
        self.saved = False

    def visit(self, sub: Subscriber, rec: Record) -> object:
        if not self.saved:
            self.saved = True
            row = next(self.saves, None)
            if row is not None:
                editor_save(self.path, row)
        return self.inner.visit(sub, rec)

    def tail(self) -> Iterable[Subscriber]:
        return self.inner.tail()


def make_list(tmp_path: Path, rows: str = "") -> Path:
    path = tmp_path / "daily.csv"
    path.write_text(HEADER + "ada@example.com,Ada,subscribed,,,,\n" + rows)
    return path


def test_a_save_midway_is_kept_and_the_change_done_again_on_it(tmp_path: Path) -> None:
    path = make_list(tmp_path)
    saves = iter(["hand@example.com,By Hand,subscribed,,,,\n"])
    new = Subscriber("new@example.com", subscribed_at=AT)
    done = ListFile(path).rewrite(lambda: SavedMidway(Adding(path, new), path, saves), columns=[])
    assert path.read_text() == (
        HEADER
        + "ada@example.com,Ada,subscribed,,,,\n"
        + "hand@example.com,By Hand,subscribed,,,,\n"
        + "new@example.com,,subscribed,2026-11-24T07:00:00Z,,,\n"
    )
    assert isinstance(done, SavedMidway) and done.saved  # the attempt that was written
    assert temp_files(tmp_path) == []


def test_a_redo_sees_only_the_new_content(tmp_path: Path) -> None:
    # The hand edit unsubscribes Ada: the redo must answer from the file as it now is.
    path = make_list(tmp_path)
    saves = iter(["ADA@example.com,Ada,unsubscribed,,2026-11-20T00:00:00Z,,\n"])
    done = ListFile(path).rewrite(
        lambda: SavedMidway(
            SettingStatus(path, "ada@example.com", "ada@example.com", "bounced", AT), path, saves
        ),
        columns=["status", "unsubscribed_at"],
        skip_if_unchanged=True,
    )
    assert isinstance(done.inner, SettingStatus)
    assert [s.status for s in done.inner.result] == ["bounced", "bounced"]
    assert [s.status for s in SubscriberList(path).iter_all()] == ["bounced", "bounced"]


def test_an_import_done_again_counts_each_row_once(tmp_path: Path) -> None:
    path = make_list(tmp_path)
    export = tmp_path / "export.csv"
    export.write_text("Email Address,First Name\nnew@example.com,New\nada@example.com,Ada\n")
    src = read_source(export)
    saves = iter(["hand@example.com,By Hand,subscribed,,,,\n"])
    try:
        done = ListFile(path).rewrite(
            lambda: SavedMidway(Merging(src, export, False, False, AT), path, saves),
            columns=[],
            skip_if_unchanged=True,
        )
    finally:
        src.spill.close()
    assert isinstance(done.inner, Merging)
    report = done.inner.report
    assert (report.added, report.updated, report.unchanged) == (1, 0, 1)
    assert [s.email for s in SubscriberList(path).iter_all()] == [
        "ada@example.com",
        "hand@example.com",
        "new@example.com",
    ]


def test_a_file_that_keeps_changing_is_refused_not_overwritten(tmp_path: Path) -> None:
    path = make_list(tmp_path)
    saves = (f"hand{i}@example.com,,subscribed,,,,\n" for i in itertools.count())
    new = Subscriber("new@example.com", subscribed_at=AT)
    with pytest.raises(SubscriberError) as exc:
        ListFile(path).rewrite(lambda: SavedMidway(Adding(path, new), path, saves), columns=[])
    assert str(path) in exc.value.message
    assert f"changed {ATTEMPTS} times while this command was changing it" in exc.value.message
    assert "not changed" in exc.value.message and exc.value.hint
    hand = [s.email for s in SubscriberList(path).iter_all()][1:]
    assert hand == [f"hand{i}@example.com" for i in range(ATTEMPTS)]  # every save kept
    assert temp_files(tmp_path) == []


def test_an_editors_save_while_digest_adds_is_kept(tmp_path: Path) -> None:
    (tmp_path / "digest.toml").write_text(CONFIG)
    path = tmp_path / "daily.csv"
    rows = "".join(f"r{i}@example.com,Reader {i},subscribed,,,,\n" for i in range(200_000))
    path.write_text(HEADER + rows)
    proc = subprocess.Popen(
        [str(DIGEST), "subscribers", "add", "cmd2@example.com", "--config", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Save by hand once the command is writing its new version (its temp file is there).
    # Whenever the save lands (before, during or after the command), both changes must stay.
    while proc.poll() is None and not temp_files(tmp_path):
        time.sleep(0.01)  # only to leave the CPU to the command; any order must pass
    editor_save(path, "hand@example.com,By Hand,subscribed,,,,\n")
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, out
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 200_000 + 2
    assert {lines[-1].split(",")[0], lines[-2].split(",")[0]} == {
        "hand@example.com",
        "cmd2@example.com",
    }
    assert temp_files(tmp_path) == []
