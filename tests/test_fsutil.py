"""Atomic writes: all or nothing, and the permissions a person expects."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from digest.fsutil import FileVersion, atomic_open, temp_files, write_atomic


def test_new_file_gets_umask_permissions_not_private_ones(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "hello")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    p = tmp_path / "list.csv"
    p.write_text("old")
    p.chmod(0o640)
    write_atomic(p, b"new")
    assert p.read_bytes() == b"new"
    assert p.stat().st_mode & 0o777 == 0o640


def test_error_midway_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "list.csv"
    p.write_text("old content\n")
    with pytest.raises(RuntimeError), atomic_open(p, "w", encoding="utf-8") as f:
        f.write("half of the new")
        raise RuntimeError("disk on fire")
    assert p.read_text() == "old content\n"
    assert [x.name for x in tmp_path.iterdir()] == ["list.csv"]


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "here").mkdir()
    target = tmp_path / "shared" / "list.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "here" / "list.csv"
    link.symlink_to(Path("..") / "shared" / "list.csv")
    write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "shared" / "list.csv")
    assert target.read_text() == "new\n" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(x.name for x in (tmp_path / "here").iterdir()) == ["list.csv"]
    assert sorted(x.name for x in (tmp_path / "shared").iterdir()) == ["list.csv"]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "list.csv"
    link.symlink_to(tmp_path / "real.csv")
    write_atomic(link, "new\n")
    assert link.is_symlink() and (tmp_path / "real.csv").read_text() == "new\n"


def test_a_refusal_before_the_rename_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "list.csv"
    p.write_text("old\n")

    def refuse() -> None:
        # The temp file is there, and `temp_files` knows it by its name.
        assert temp_files(p) == [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")] != []
        raise RuntimeError("changed meanwhile")

    with pytest.raises(RuntimeError), atomic_open(p, "w", before_replace=refuse) as f:
        f.write("new\n")
    assert p.read_text() == "old\n"
    assert [x.name for x in tmp_path.iterdir()] == ["list.csv"]


def test_file_version_tells_a_replaced_or_changed_file_from_the_one_opened(
    tmp_path: Path,
) -> None:
    p = tmp_path / "list.csv"
    p.write_text("email\nada@example.com\n")
    assert FileVersion.of_path(tmp_path / "missing.csv") is None
    with open(p, "rb") as f:
        opened = FileVersion.of_file(f)
        assert FileVersion.of_path(p) == opened
        # An editor's save: a copy with the same bytes and times, renamed over the file.
        shutil.copy2(p, tmp_path / "copy")
        os.replace(tmp_path / "copy", p)
        assert FileVersion.of_path(p) != opened
    with open(p, "rb") as f:
        opened = FileVersion.of_file(f)
    with open(p, "a") as f:  # an append in place
        f.write("bob@example.com\n")
    assert FileVersion.of_path(p) != opened
    with open(p, "rb") as f:
        opened = FileVersion.of_file(f)
    stat = p.stat()
    with open(p, "r+") as f:  # the same size, written in place, its mtime put back
        f.write("EMAIL")
    os.utime(p, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert FileVersion.of_path(p) != opened


def test_temp_files_names_only_the_temp_files_atomic_open_makes(tmp_path: Path) -> None:
    p = tmp_path / "daily.csv"
    names = [
        "daily.csv",
        ".daily.csv.k1ll3d_0.tmp",
        ".daily.csv.bak.k1ll3d_0.tmp",
        ".weekly.csv.k1ll3d_0.tmp",
        ".daily.csv.notes.tmp",
        "daily.csv.lock",
    ]
    for name in names:
        (tmp_path / name).write_text("x")
    assert [x.name for x in temp_files(p)] == [".daily.csv.k1ll3d_0.tmp"]
