"""Write files so that a reader sees the old content or the new, never half of either."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock, Timeout

_TEMP_PREFIX = ".{name}."
_TEMP_SUFFIX = ".tmp"
_RANDOM = "[a-z0-9_]{8}"
"""The random part of a name `tempfile.mkstemp` makes (8 characters of this set)."""


@contextmanager
def atomic_open(
    path: Path,
    mode: str = "w",
    *,
    before_replace: Callable[[], None] | None = None,
    **kwargs: Any,
) -> Iterator[IO[Any]]:
    """Open a temp file beside `path`; on a clean exit flush, fsync and rename it over `path`,
    then sync the folder so the rename survives a crash. On an error nothing changes.

    A symlink is written through: the temp file goes beside the link's target and replaces the
    target, so the link stays a link. The old file's permissions are kept; a new file gets the
    usual ones (0666 less the umask), not mkstemp's private 0600. `before_replace` is called
    last before the rename: if it raises, the temp file is removed and `path` is untouched
    (a writer uses it to check that nobody replaced the file it read meanwhile).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', not {mode!r}")
    target = real_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=_TEMP_PREFIX.format(name=target.name), suffix=_TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, mode, **kwargs) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _mode_for(target))
        if before_replace is not None:
            before_replace()
        os.replace(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_dir(target.parent)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` (str is written as UTF-8) atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, "wb") as f:
        f.write(payload)


def real_path(path: Path) -> Path:
    """`path` with every symlink followed (also a dangling one: then where it points)."""
    return Path(os.path.realpath(path))


def temp_files(path: Path) -> list[Path]:
    """The temp files `atomic_open(path)` makes beside `path` (`.<name>.XXXXXXXX.tmp`), in
    name order: what a writer killed midway leaves behind. Only whoever can tell that no
    writer of `path` is running (one holding its lock) may remove them."""
    pattern = re.compile(
        re.escape(_TEMP_PREFIX.format(name=path.name)) + _RANDOM + re.escape(_TEMP_SUFFIX)
    )
    try:
        names = sorted(os.listdir(path.parent))
    except OSError:
        return []
    return [path.parent / n for n in names if pattern.fullmatch(n)]


@dataclass(frozen=True)
class FileVersion:
    """Which version of a file a path holds: the file itself (device and inode), its size and
    its modification and change times. An editor's save (a new file renamed over the old)
    changes the inode; a write in place the size or the times, even if it puts mtime back."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of_stat(cls, st: os.stat_result) -> FileVersion:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    @classmethod
    def of_file(cls, f: IO[Any]) -> FileVersion:
        """The version an open file is (the one being read, whatever the path holds now)."""
        return cls.of_stat(os.fstat(f.fileno()))

    @classmethod
    def of_path(cls, path: Path) -> FileVersion | None:
        """The version `path` holds now (links followed), or None if there is no file."""
        try:
            return cls.of_stat(os.stat(path))
        except FileNotFoundError:
            return None


def _mode_for(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _sync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def only_one(lock_file: Path, busy: Callable[[], BaseException]) -> Iterator[None]:
    """Hold `lock_file` for the block, or raise `busy()` at once when another process holds
    it (one scheduler, one poll round per state folder)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_file), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise busy() from None
    try:
        yield
    finally:
        lock.release()
