"""Send an issue to a stream of readers through a sender, batch by batch, with the ledger.

For each batch: claim it in the ledger (committed before anything goes out), hand it to the
sender (a few at once when the sender allows), retry a refused batch with backoff, then mark
each reader's outcome. Readers stream in; only the batches in flight are held, so a list of a
million costs the same memory as one of a thousand.

Readers carry the selection of stories they get (`Recipient.variant`, from their topics); a
batch holds readers of one selection only (a SendGrid request has one content), and of one
send time (`Recipient.send_at`, a reader-local wave handed over early), so readers wait in a
small buffer per selection and time until their batch is full, and the letter of each
selection is asked for (and so rendered) only when its first batch goes out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from ..errors import DigestError
from ..state.sends import Claim, SendLedger
from .base import Letter, Permanent, Recipient, Result, Sender, Transient, Unknown
from .retry import Backoff

__all__ = ["IssueLedger", "SendOptions", "Tally", "deliver", "open_sender"]

log = logging.getLogger(__name__)

Progress = Callable[["Tally"], None]
Letters = Callable[[str], Letter]
"""The letter of a selection (`Recipient.variant`), rendered when first asked."""

_BUFFERED_BATCHES = 8
"""Readers waiting for their selection's batch to fill, at most this many batches' worth:
then the fullest buffer goes out part-full, so memory stays flat however many selections."""


@dataclass(frozen=True)
class SendOptions:
    retry_failed: bool = False
    """Claim readers whose last try failed, too."""
    resend_unknown: bool = False
    """Claim readers whose batch may or may not have gone out, too."""
    backoff: Backoff | None = None
    """How to retry a refused batch (default `Backoff()`; `digest send` takes
    `[delivery] max_retries` from digest.toml)."""


@dataclass
class Tally:
    """What a send did so far."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    """Readers not due: they had this issue already (or failed or unknown, unless asked)."""
    withheld: int = 0
    """Readers who left while the send was under way (an unsubscribe click): not sent."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(address, reason) of this run's failed and unknown readers (the first 100)."""

    def note(self, email: str, reason: str) -> None:
        if len(self.failures) < 100:
            self.failures.append((email, reason))


@dataclass(frozen=True)
class IssueLedger:
    """The ledger as one issue's send uses it."""

    ledger: SendLedger
    list_name: str
    issue_id: str
    options: SendOptions

    def claim(self, batch: Sequence[Recipient]) -> Claim | None:
        return self.ledger.claim(
            self.list_name,
            self.issue_id,
            [(r.key, r.email) for r in batch],
            _now(),
            retry_failed=self.options.retry_failed,
            resend_unknown=self.options.resend_unknown,
            variant=batch[0].variant if batch else "",
        )

    def mark(self, outcomes: list[tuple[str, str, str | None, str | None]]) -> None:
        self.ledger.mark(self.list_name, self.issue_id, outcomes, _now())

    def release(self, claim: Claim) -> None:
        self.ledger.release(self.list_name, self.issue_id, claim.batch, _now())


Outcome = tuple[Literal["done", "gave up", "unknown", "halted"], list[Result] | str]


def deliver(
    letter: Letter | Letters,
    readers: Iterable[Recipient],
    sender: Sender,
    ledger: IssueLedger,
    *,
    progress: Progress | None = None,
    sleep: Callable[[float], None] | None = None,
    held: Callable[[], Collection[str]] | None = None,
) -> Tally:
    """Send `letter` to every due reader of `readers` (or, given `Letters`, each reader the
    letter of their selection). Raises Permanent (after settling the batches already out)
    when the sender says nothing will work.

    A batch is claimed only when a worker is free to send it at once, so no more than
    `sender.concurrency` batches are ever claimed and not yet answered: a kill leaves at most
    those in doubt, and a stop (a Permanent refusal, Ctrl-C) sends nothing more: batches
    waiting to be retried are given back as pending. `held()`, asked before each batch is
    claimed, names the readers (keys) who left since the stream started: they are not sent."""
    letters: Letters = letter if callable(letter) else (lambda _variant: letter)
    tally = Tally()
    backoff = ledger.options.backoff or Backoff()
    halt = threading.Event()
    pause = sleep or (lambda seconds: halt.wait(seconds))
    inflight: dict[Future[Outcome], tuple[Claim, list[Recipient]]] = {}
    stop: BaseException | None = None
    with ThreadPoolExecutor(max_workers=sender.concurrency, thread_name_prefix="send") as pool:
        try:
            for chunk in _batched(readers, sender.batch_size):
                while len(inflight) >= sender.concurrency and stop is None:
                    stop = _settle_some(inflight, ledger, tally, progress)
                if stop is not None:
                    break
                if held is not None and (gone := held()):
                    kept = [r for r in chunk if r.key not in gone]
                    tally.withheld += len(chunk) - len(kept)
                    chunk = kept
                    if not chunk:
                        continue
                # The selection's letter is kept in the ledger before any reader is claimed
                # with it, so a resumed send finds the same content.
                content = letters(chunk[0].variant)
                claim = ledger.claim(chunk)
                tally.skipped += len(chunk) - (len(claim.readers) if claim else 0)
                if claim is None:
                    continue
                claimed = set(claim.readers)
                batch = [r for r in chunk if r.key in claimed]
                future = pool.submit(_attempts, sender, content, batch, backoff, pause, halt)
                inflight[future] = (claim, batch)
        except BaseException:
            halt.set()  # Ctrl-C or a broken reader stream: no more tries
            raise
        finally:
            if stop is not None:
                halt.set()
            while inflight:  # the answers of batches already out are real: record them
                stop = _settle_some(inflight, ledger, tally, progress) or stop
    if stop is not None:
        raise stop
    return tally


def open_sender(
    sender: Sender, backoff: Backoff, sleep: Callable[[float], object] = time.sleep
) -> None:
    """Open the sender, trying again with backoff while it cannot connect (a server down for a
    minute must not abort the send); what still fails is one line for the user."""
    attempt = 0
    while True:
        attempt += 1
        try:
            sender.open()
            return
        except Transient as exc:
            pause = backoff.wait(attempt, exc.retry_after)
            if pause is None:
                raise DigestError(
                    f"{sender.name}: {exc.reason} (tried {attempt} times)",
                    "Check that the server is up and reachable, then run `digest send` again.",
                ) from None
            log.info("%s: %s; trying again in %.1f s", sender.name, exc.reason, pause)
            sleep(pause)
        except Unknown as exc:
            raise DigestError(f"{sender.name}: {exc.reason}") from None


def _batched(readers: Iterable[Recipient], size: int) -> Iterator[list[Recipient]]:
    """Batches of `size` readers of one selection and one send time each, in the order they
    fill up."""
    waiting: dict[tuple[str, datetime | None], list[Recipient]] = {}
    held = 0
    for r in readers:
        key = (r.variant, r.send_at)
        buffer = waiting.setdefault(key, [])
        buffer.append(r)
        held += 1
        if len(buffer) >= size:
            held -= len(buffer)
            yield waiting.pop(key)
        elif held >= size * _BUFFERED_BATCHES:
            fullest = max(waiting, key=lambda v: len(waiting[v]))
            held -= len(waiting[fullest])
            yield waiting.pop(fullest)
    yield from (b for b in waiting.values() if b)


def _attempts(
    sender: Sender,
    letter: Letter,
    batch: list[Recipient],
    backoff: Backoff,
    sleep: Callable[[float], object],
    halt: threading.Event,
) -> Outcome:
    """One batch, tried until it is answered, may have gone out, or retries run out; or
    given back untried (`halted`) when the send is stopping."""
    attempt = 0
    while True:
        if halt.is_set():
            return "halted", "the send stopped before this batch was tried again"
        attempt += 1
        try:
            return "done", sender.send(letter, batch)
        except Transient as exc:
            pause = backoff.wait(attempt, exc.retry_after)
            if pause is None:
                return "gave up", f"{exc.reason} (gave up after {attempt} tries)"
            log.info("%s refused a batch (%s); trying again in %.1f s", sender.name, exc, pause)
            sleep(pause)
        except Unknown as exc:
            return "unknown", exc.reason


def _settle_some(
    inflight: dict[Future[Outcome], tuple[Claim, list[Recipient]]],
    ledger: IssueLedger,
    tally: Tally,
    progress: Progress | None,
) -> BaseException | None:
    """Record the batches that have finished; the exception that should stop the send."""
    done, _ = wait(inflight, return_when=FIRST_COMPLETED)
    stop: BaseException | None = None
    for future in done:
        claim, batch = inflight.pop(future)
        try:
            kind, value = future.result()
        except Permanent as exc:
            ledger.release(claim)  # refused outright: nothing of it went out
            stop = exc
            continue
        except Exception as exc:  # a bug in a sender: the batch may have gone out
            reason = f"unexpected error: {type(exc).__name__}: {exc} (a bug in digest)"
            _record(ledger, tally, batch, None, missing="unknown", reason=reason)
            log.error("sending a batch failed", exc_info=exc)
            stop = exc
            continue
        if kind == "halted":
            ledger.release(claim)  # refused each time it was tried: nothing of it went out
        elif kind == "done":
            assert isinstance(value, list)
            why = "the sender gave no answer for this reader"
            _record(ledger, tally, batch, value, missing="unknown", reason=why)
        else:
            assert isinstance(value, str)
            missing = "unknown" if kind == "unknown" else "failed"
            _record(ledger, tally, batch, None, missing=missing, reason=value)
        if progress:
            try:
                progress(tally)
            except BaseException as exc:  # the caller asks to stop: settle what is out first
                stop = stop or exc
    return stop


def _record(
    ledger: IssueLedger,
    tally: Tally,
    batch: list[Recipient],
    results: list[Result] | None,
    *,
    missing: str,
    reason: str,
) -> None:
    """Mark a batch: each reader's own result, or `missing` (with `reason`) for one without."""
    answered = {res.email: res for res in results or []}
    outcomes: list[tuple[str, str, str | None, str | None]] = []
    for r in batch:
        res = answered.get(r.email)
        status, why = (res.status, res.error) if res else (missing, reason)
        outcomes.append((r.key, status, res.message_id if res else None, why))
        if status == "sent":
            tally.sent += 1
            continue
        if status == "failed":
            tally.failed += 1
        else:
            tally.unknown += 1
        tally.note(r.email, why or "")
    ledger.mark(outcomes)


def _now() -> datetime:
    return datetime.now(UTC)
