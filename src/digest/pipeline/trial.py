"""What `digest send` does without the ledger: a dry run (how many readers an issue would still
go to) and one test copy to `--to`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import islice

from ..config import Config, ListConfig
from ..deliver.base import Letter, Recipient, Transient, Unknown
from ..deliver.retry import Backoff
from ..deliver.send import SendOptions, open_sender
from ..deliver.senders import make_sender
from ..errors import DigestError
from ..models import Issue
from ..selection import Selector
from ..state import State
from ..subscribers import SubscriberList
from ..tokens import unsubscribe_url
from ..waves import plan, reader_zone
from .report import SendReport, SendRequest
from .waves import issue_day

__all__ = ["due_filter", "without_ledger"]


def due_filter(
    state: State, list_name: str, issue: str, options: SendOptions
) -> Callable[[list[str]], int]:
    """How many of some readers a started issue would still send to (new ones count)."""
    not_due = {"sent", "claimed"} | ({"failed"} if not options.retry_failed else set())
    not_due |= {"unknown"} if not options.resend_unknown else set()

    def count(keys: list[str]) -> int:
        marks = ",".join("?" * len(keys))
        found = state.db.conn.execute(
            f"SELECT status FROM deliveries WHERE list = ? AND issue_id = ? AND reader IN "
            f"({marks})",
            (list_name, issue, *keys),
        ).fetchall()
        return len(keys) - sum(1 for (status,) in found if status in not_due)

    return count


def ledger_readers(state: State, list_name: str, issue: str) -> Callable[[list[str]], set[str]]:
    """Which of some readers a started issue already has (they keep the selection recorded
    for them, whatever their topics say now)."""

    def known(keys: list[str]) -> set[str]:
        marks = ",".join("?" * len(keys))
        rows = state.db.conn.execute(
            f"SELECT reader FROM deliveries WHERE list = ? AND issue_id = ? AND reader IN "
            f"({marks})",
            (list_name, issue, *keys),
        )
        return {r[0] for r in rows}

    return known


def without_ledger(
    config: Config,
    lst: ListConfig,
    request: SendRequest,
    backend: str,
    secret: str,
    letter: Letter,
    built: Issue | None,
    due: Callable[[list[str]], int] | None = None,
    held: frozenset[str] = frozenset(),
    selector: Selector | None = None,
    known: Callable[[list[str]], set[str]] | None = None,
) -> SendReport:
    """A dry run (count the readers still due) or one test copy (`--to`, the whole issue):
    the ledger is not touched. `due` counts which of some reader keys an issue already started
    is still due; `held` are readers whose unsubscribe click is not in the file yet (not
    counted); `selector` the issue's selections, to leave out (and count) the readers whose
    topics select nothing, but for those `known` says the started issue already has."""
    articles = built.rendered.articles_included if built else 0
    if request.to and not request.dry_run:
        return _test_copy(config, lst, request, backend, secret, letter, articles)
    n = nothing = 0
    zones: Counter[str] = Counter()

    def keys() -> Iterator[str]:
        nonlocal nothing
        readers = (s for s in SubscriberList(lst.subscribers).iter_active() if s.key not in held)
        while chunk := list(islice(readers, 900)):
            have = known([s.key for s in chunk]) if known and selector else set()
            for sub in chunk:
                if selector and sub.key not in have and not selector.of(sub.topics).articles:
                    nothing += 1
                    continue
                zones[reader_zone(lst, sub.timezone)] += 1
                yield sub.key

    stream = keys()
    while chunk := list(islice(stream, 900)):
        n += due(chunk) if due else len(chunk)
    skipped = f", skipped {nothing}: nothing in their topics today" if nothing else ""
    return SendReport(
        lst.name,
        letter.issue_id,
        backend,
        f"dry run: {letter.issue_id} would go to {n} reader(s) through {backend}{skipped}"
        + _waves_line(lst, letter.issue_id, zones, request.sandbox),
        articles,
        readers=n,
        nothing_for=nothing,
    )


def _waves_line(lst: ListConfig, issue_id: str, zones: Counter[str], sandbox: bool) -> str:
    """A reader-local list's waves, in a word: how many, the first and the last."""
    day = issue_day(lst.name, issue_id)
    if not lst.reader_local or sandbox or day is None or not zones:
        return ""
    waves = plan(lst, day, zones)
    return (
        f", each at their own hour: {len(waves)} wave(s) from {waves[0].at:%Y-%m-%d %H:%M} to "
        f"{waves[-1].at:%Y-%m-%d %H:%M} UTC (`digest schedule --show` lists them)"
    )


def _test_copy(
    config: Config,
    lst: ListConfig,
    request: SendRequest,
    backend: str,
    secret: str,
    letter: Letter,
    articles: int,
) -> SendReport:
    """One copy to `--to`, outside the ledger (in the outbox: under `<issue>-test/`)."""
    assert request.to is not None
    url = unsubscribe_url(config.base_url, secret, lst.name, request.to)
    test = Recipient(email=request.to, name="", unsubscribe_url=url, key=request.to.casefold())
    sender = make_sender(backend, config.delivery, sandbox=request.sandbox)
    open_sender(sender, Backoff(tries=2))
    try:
        result = sender.send(replace(letter, issue_id=f"{letter.issue_id}-test"), [test])[0]
    except (Transient, Unknown) as exc:
        raise DigestError(f"the test copy to {request.to} failed: {exc.reason}") from None
    finally:
        sender.close()
    if result.status != "sent":
        raise DigestError(f"the test copy to {request.to} failed: {result.error}")
    return SendReport(
        lst.name, letter.issue_id, backend, f"sent one test copy to {request.to}", articles
    )
