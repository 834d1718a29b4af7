"""The changes `SubscriberList` makes, one `listfile.Change` each: what a pass over the file
does to each row and appends at the end, and what it saw. `ListFile.rewrite` makes a fresh
one for every attempt, so what an attempt notes is always about the file that was written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class StatusUpdate:
    """One reader's new status in a batch (`SettingStatuses`), and when it was asked for.
    `only_from`: apply it only to a row that has one of these statuses (an undo of an
    unsubscribe click must not take back someone the list marked bounced)."""

    status: str
    when: datetime
    only_from: tuple[str, ...] | None = None


class SettingStatuses:
    """Many readers' statuses in one pass (the unsubscribe clicks of a burst, applied in one
    rewrite). `outcomes` says, for each key, what happened: `changed`, `unchanged`, `kept
    <status>` (refused by `only_from`) or `not on the list` (no row has the address)."""

    def __init__(self, updates: Mapping[str, StatusUpdate]) -> None:
        self.updates = updates
        self.outcomes: dict[str, str] = {}

    def visit(self, sub: Subscriber, _rec: Record) -> object:
        update = self.updates.get(sub.key)
        if update is None:
            return KEEP
        if update.only_from is not None and sub.status not in update.only_from:
            self.outcomes.setdefault(sub.key, f"kept {sub.status}")
            return KEEP
        if sub.status == update.status:
            self.outcomes.setdefault(sub.key, "unchanged")
            return KEEP
        self.outcomes[sub.key] = "changed"
        if update.status == SUBSCRIBED:
            return replace(sub, status=SUBSCRIBED, subscribed_at=update.when, unsubscribed_at=None)
        return replace(sub, status=update.status, unsubscribed_at=update.when)

    def tail(self) -> Iterable[Subscriber]:
        for key in self.updates:
            self.outcomes.setdefault(key, "not on the list")
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
