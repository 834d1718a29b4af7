"""The list file as a file: a symlinked list, the temp files a killed change leaves, and
cells too large to read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from digest.errors import SubscriberError
from digest.subscribers import SubscriberList

HEADER = "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"

KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from digest.fsutil import atomic_open
writing = atomic_open(Path(sys.argv[1]), "w")
f = writing.__enter__()
f.write("email\\nhalf of a new vers")
f.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_symlinked_list_is_changed_through_the_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "subscribers").mkdir()
    target = tmp_path / "shared" / "daily.csv"
    target.write_text(HEADER + "ada@example.com,Ada,subscribed,,,,\n")
    link = tmp_path / "subscribers" / "daily.csv"
    link.symlink_to(Path("..") / "shared" / "daily.csv")
    people = SubscriberList(link)
    people.add("bob@example.com", name="Bob")
    people.unsubscribe("ada@example.com")
    people.remove("bob@example.com")
    people.add("cy@example.com")
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "shared" / "daily.csv")
    assert [s.email for s in SubscriberList(target).iter_all()] == [
        "ada@example.com",
        "cy@example.com",
    ]
    assert SubscriberList(target).get("ada@example.com").status == "unsubscribed"
    assert sorted(p.name for p in (tmp_path / "subscribers").iterdir()) == ["daily.csv"]
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == [
        "daily.csv",
        "daily.csv.lock",
    ]


def test_a_change_removes_the_temp_files_a_killed_change_left(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text(HEADER + "ada@example.com,Ada,subscribed,,,,\n")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert killed.returncode == -9
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".daily.csv.")
    others = [".weekly.csv.abcd1234.tmp", ".daily.csv.bak.abcd1234.tmp", "notes.tmp"]
    for name in others:
        (tmp_path / name).write_text("not ours\n")
    people = SubscriberList(path)
    people.add("bob@example.com")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["daily.csv", "daily.csv.lock", *others]
    )
    assert [s.email for s in people.iter_all()] == ["ada@example.com", "bob@example.com"]


TOO_BIG = 10_000_000


def test_a_cell_too_large_is_named_with_its_line_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text(
        HEADER
        + "ada@example.com,Ada,subscribed,,,,\n"
        + "big@example.com,"
        + "x" * TOO_BIG
        + ",subscribed,,,,\n"
        + "bob@example.com,Bob,subscribed,,,,\n"
    )
    people = SubscriberList(path)
    [problem] = people.validate()
    assert problem.line == 3
    assert problem.message.startswith("field too large: a cell is over 131072 characters")
    assert "broken quoting" not in problem.message
    assert [s.email for s in people.iter_all()] == ["ada@example.com", "bob@example.com"]
    with pytest.raises(SubscriberError, match="line 3: field too large"):
        people.add("new@example.com")


def test_an_import_names_a_cell_too_large(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text('Email,Name\nada@example.com,"' + "x" * TOO_BIG + '"\nbob@example.com,Bob\n')
    report = SubscriberList(tmp_path / "daily.csv").import_file(export)
    assert report.added == 1
    assert [r.line for r in report.invalid] == [2]
    assert report.invalid[0].reason.startswith("field too large: a cell is over 131072")


def test_add_refuses_a_name_too_large_for_a_cell(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text(HEADER)
    with pytest.raises(SubscriberError) as exc:
        SubscriberList(path).add("big@example.com", name="x" * 200_000)
    assert exc.value.message == (
        "--name: 200000 characters, more than one cell of the list file may hold (131072)"
    )
    assert path.read_text() == HEADER


def test_header_names_in_errors_are_printed_as_one_line(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text('"mail\nOK: all good",name\nada@example.com,Ada\n')
    with pytest.raises(SubscriberError) as exc:
        SubscriberList(path).add("bob@example.com")
    assert "(it has: mail\\nOK: all good, name)" in exc.value.message
    assert "\n" not in exc.value.message
