"""Parking an import's rows on disk: memory then holds one offset per address, not the rows,
so a million-row import needs a few hundred MB less."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from types import MappingProxyType

from .model import EMPTY_EXTRA, Subscriber, cells, parse_time, parse_topics

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_DECODE = json.JSONDecoder().decode


class Spill:
    """The valid rows of a source, parked in an anonymous temp file (one JSON array a line)
    so that an import's memory holds only an offset per address, not every row."""

    def __init__(self) -> None:
        self._f = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._end = 0
        self._moved = False  # True when a read left the position before the end

    def put(self, line: int, sub: Subscriber) -> int:
        """Park a row; returns where it is."""
        record = [line, *cells(sub), dict(sub.extra)]
        data = _ENCODE(record).encode() + b"\n"
        at = self._end
        if self._moved:
            self._f.seek(at)
            self._moved = False
        self._f.write(data)
        self._end += len(data)
        return at

    def get(self, at: int) -> tuple[int, Subscriber]:
        self._moved = True
        self._f.seek(at)
        return _unpack(self._f.readline())

    def __iter__(self) -> Iterator[tuple[int, int, Subscriber]]:
        """Every parked row in order: (where it is, its line, the row)."""
        self._moved = True
        self._f.seek(0)
        pos = 0
        while pos < self._end:
            raw = self._f.readline()
            line, sub = _unpack(raw)
            yield pos, line, sub
            pos += len(raw)

    def close(self) -> None:
        self._f.close()


def _unpack(raw: bytes) -> tuple[int, Subscriber]:
    line, email, name, status, sub_at, unsub_at, topics, tz, extra = _DECODE(raw.decode())
    return line, Subscriber(
        email=email,
        name=name,
        status=status,
        subscribed_at=parse_time(sub_at),
        unsubscribed_at=parse_time(unsub_at),
        topics=parse_topics(topics),
        timezone=tz,
        extra=MappingProxyType(extra) if extra else EMPTY_EXTRA,
    )
