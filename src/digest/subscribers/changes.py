"""The changes `SubscriberList` makes, one `listfile.Change` each: what a pass over the file
does to each row and appends at the end, and what it saw. `ListFile.rewrite` makes a fresh
one for every attempt, so what an attempt notes is always about the file that was written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ..errors import SubscriberError
from .csvfile import Record
from .listfile import DROP, KEEP
from .model import INACTIVE, SUBSCRIBED, Subscriber


class Adding:
    """Append `new`, unless a row has its address already (in any status: someone who left
    is only taken back with `resubscribe`). `found` is that row."""

    def __init__(self, path: Path, new: Subscriber) -> None:
        self.path = path
        self.new = new
        self.found: Subscriber | None = None

    def visit(self, sub: Subscriber, _rec: Record) -> object:
        if self.found is None and sub.key == self.new.key:
            self.found = sub
        return KEEP

    def tail(self) -> Iterable[Subscriber]:
        old = self.found
        if old is None:
            return [self.new]
        hint = (
            "Use `digest subscribers resubscribe` if they asked to be taken back."
            if old.status in INACTIVE
            else "Nothing to do."
        )
        raise SubscriberError(f"{self.path}: {old.email} is already {old.status}", hint)


class SettingStatus:
    """Give every row of the address `key` the status, recording when; `result` holds each
    row as now stored. `email` is the address as given, for the error when none has it."""

    def __init__(self, path: Path, email: str, key: str, status: str, when: datetime) -> None:
        self.path = path
        self.email = email
        self.key = key
        self.status = status
        self.when = when
        self.result: list[Subscriber] = []

    def visit(self, sub: Subscriber, _rec: Record) -> object:
        if sub.key != self.key:
            return KEEP
        if sub.status == self.status:
            self.result.append(sub)
            return KEEP
        if self.status == SUBSCRIBED:
            new = replace(sub, status=self.status, subscribed_at=self.when, unsubscribed_at=None)
        else:
            new = replace(sub, status=self.status, unsubscribed_at=self.when)
        self.result.append(new)
        return new

    def tail(self) -> Iterable[Subscriber]:
        if not self.result:
            raise not_found(self.path, self.email)
        return ()


class Removing:
    """Delete every row of the address `key`; `removed` holds them."""

    def __init__(self, path: Path, email: str, key: str) -> None:
        self.path = path
        self.email = email
        self.key = key
        self.removed: list[Subscriber] = []

    def visit(self, sub: Subscriber, _rec: Record) -> object:
        if sub.key == self.key:
            self.removed.append(sub)
            return DROP
        return KEEP

    def tail(self) -> Iterable[Subscriber]:
        if not self.removed:
            raise not_found(self.path, self.email)
        return ()


def not_found(path: Path, email: str) -> SubscriberError:
    return SubscriberError(
        f"{path}: {email.strip()} is not on the list",
        "Check the spelling; `digest subscribers list` shows who is.",
    )
