"""Atomic writes: all or nothing, and the permissions a person expects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.fsutil import atomic_open, write_atomic


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
