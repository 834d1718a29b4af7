"""`digest send`: build the list's issue (or take the one already frozen in the ledger), and
deliver it to every subscribed reader who does not have it yet.

The order: pick the issue id (deterministic per list and local day), freeze the rendered issue
in the ledger the first time, mark batches a dead run left out as unknown, stream the readers
from the CSV through the sender with the ledger, and once every reader was tried, record the
issue's articles as sent for this list (so the next issue does not repeat them).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from filelock import FileLock, Timeout

from ..config import Config, ListConfig
from ..deliver.base import Letter
from ..deliver.retry import Backoff
from ..deliver.send import IssueLedger, Progress, Tally, deliver, open_sender
from ..deliver.senders import REAL_BACKENDS, make_sender
from ..errors import ConfigError, DigestError, NoArticlesError
from ..models import Issue
from ..selection import Selector
from ..state import State, open_state
from ..state.sends import FrozenSend, Waiting
from ..subscribers import InvalidAddress, SubscriberList, normalise
from .changes import apply_pending
from .frozen import FrozenIssue, frozen_from, frozen_json
from .health import check_pause
from .issue import build_issue, issue_id
from .letter import letter_for, letter_from, letter_json
from .report import SendReport, SendRequest, open_problems
from .trial import due_filter, ledger_readers, without_ledger
from .variants import Variants, variant_recipients
from .waves import WaveGate, issue_day, waiting_line

__all__ = ["SendReport", "SendRequest", "send_issue"]

log = logging.getLogger(__name__)


def send_issue(
    config: Config,
    lst: ListConfig,
    request: SendRequest,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SendReport:
    """Send the list's issue of today (see the module's docstring). Raises DigestError for
    what stops a send: settings, another send running, a provider refusing outright; and
    ListPaused before a new issue of a list its last issue's complaints paused
    (`pipeline.health`), unless `request.force`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    backend = request.backend or lst.backend or config.delivery.backend
    secret = _secret(config, backend, request)
    lock = FileLock(str(config.state_dir / f"send-{lst.name}.lock"), timeout=0)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    try:
        with lock, open_state(config.state_dir) as state:
            return _send(config, lst, request, backend, secret, state, now, progress)
    except Timeout:
        raise DigestError(
            f"another `digest send` of list {lst.name!r} is running",
            f"Wait for it to end (or remove {lock.lock_file} if none is running).",
        ) from None


def _secret(config: Config, backend: str, request: SendRequest) -> str:
    """DIGEST_SECRET signs every unsubscribe link; a real send without it (or without
    base_url, where the links point) would mail links that do not work."""
    secret = os.environ.get("DIGEST_SECRET", "")
    real = backend in REAL_BACKENDS and not request.dry_run
    missing = [
        n for n, ok in (("DIGEST_SECRET", secret), ("base_url", config.base_url_given)) if not ok
    ]
    if missing and real:
        raise ConfigError(
            f"a real send needs {' and '.join(missing)}: every message carries an unsubscribe "
            "link signed with DIGEST_SECRET under base_url",
            "Set DIGEST_SECRET in the environment (a long random string, kept secret) and "
            "`base_url` in [newsletter] of digest.toml.",
        )
    if missing:
        log.warning(
            "%s not set: the unsubscribe links in these copies do not work (a real send "
            "through smtp or sendgrid needs it)",
            " and ".join(missing),
        )
    return secret


def _send(
    config: Config,
    lst: ListConfig,
    request: SendRequest,
    backend: str,
    secret: str,
    state: State,
    now: datetime,
    progress: Progress | None,
) -> SendReport:
    _check_request(request, backend)
    issue = _issue_to_send(state, lst, request, now)
    frozen = state.sends.get(lst.name, issue)
    if frozen is None:
        if not (request.to or request.sandbox):  # a new issue for the list's readers
            check_pause(state, lst.name, issue, force=request.force, dry_run=request.dry_run)
        SubscriberList(lst.subscribers).extra_columns()  # a missing list file: say so first
        built = _build(config, lst, now, request.since, request.day, issue)
        if isinstance(built, str):
            return SendReport(lst.name, None, backend, built)
        letter = letter_for(built, lst, config, now, issue)
        if request.dry_run or request.to:
            apply_pending(config, lst)  # count from the file as the clicks left it
            held = state.changes.held(lst.name, now)
            selector = Selector(
                built.digest.articles[: built.rendered.articles_included], lst.for_everyone
            )
            return without_ledger(
                config, lst, request, backend, secret, letter, built, held=held, selector=selector
            )
        shown = built.digest.articles[: built.rendered.articles_included]
        # An article left out for size is not sent: it may come next. A story's other copies
        # are sent with it, so none comes back alone.
        ids = [a.id for a in shown] + [c.id for a in shown for c in a.also]
        stories = FrozenIssue(replace(built.digest, articles=shown), lst.for_everyone)
        frozen = state.sends.start(
            lst.name, issue, backend, letter_json(letter), ids, now, frozen_json(stories)
        )
    letter = letter_from(frozen.letter)
    if request.dry_run or request.to:
        due = due_filter(state, lst.name, letter.issue_id, request.options)
        apply_pending(config, lst)
        held = state.changes.held(lst.name, now)
        stories = frozen_from(frozen.issue) if frozen.issue else None
        selector = Selector(stories.digest.articles, stories.for_everyone) if stories else None
        known = ledger_readers(state, lst.name, letter.issue_id)
        return without_ledger(
            config, lst, request, backend, secret, letter, None, due, held, selector, known
        )
    if frozen.finished_at is not None and not _retrying(request):
        state.sends.interrupted(lst.name, issue, now)  # a killed --retry-failed run's batches
        when = frozen.finished_at.strftime("%Y-%m-%d %H:%M UTC")
        totals = state.sends.counts(lst.name, issue).counts
        hint = "" if not open_problems(totals) else " (--retry-failed, --resend-unknown)"
        return SendReport(
            lst.name,
            issue,
            backend,
            f"{issue} was sent at {when}; nothing more to send (--new-issue makes another "
            f"issue today); {_totals_line(totals)}{hint}",
            totals=totals,
        )
    return _deliver(config, lst, request, backend, secret, state, frozen, progress, now)


def _check_request(request: SendRequest, backend: str) -> None:
    if request.sandbox and backend != "sendgrid":
        raise ConfigError(
            f"--sandbox is SendGrid's sandbox mode; the {backend} sender has none",
            "Use --dry-run to send nothing, or --backend sendgrid --sandbox.",
        )
    if request.to:
        try:
            normalise(request.to)
        except InvalidAddress as exc:
            raise ConfigError(f"--to: {request.to!r} is not an email address ({exc})") from None


def _issue_to_send(state: State, lst: ListConfig, request: SendRequest, now: datetime) -> str:
    """An unfinished issue first (a send killed yesterday evening is finished, not abandoned
    for today's); else today's, or with --new-issue the next of `<id>-2`, `<id>-3`…"""
    base = issue_id(lst, now, request.day) + ("-sandbox" if request.sandbox else "")
    unfinished = state.sends.unfinished(lst.name, sandbox=request.sandbox)
    if unfinished and request.new_issue:
        raise DigestError(
            f"{unfinished} is not finished yet",
            "Run `digest send` to finish it before starting another issue.",
        )
    if unfinished:
        if unfinished != base:
            log.warning("resuming %s, which a send started and did not finish", unfinished)
        return unfinished
    return _pick_issue(state, lst, base, request.new_issue)


def _totals_line(totals: dict[str, int]) -> str:
    shown = ", ".join(f"{k} {v}" for k, v in totals.items() if v or k == "sent")
    return f"all readers of the issue: {shown}"


def _retrying(request: SendRequest) -> bool:
    return request.options.retry_failed or request.options.resend_unknown


def _pick_issue(state: State, lst: ListConfig, base: str, new_issue: bool) -> str:
    """Today's issue id; with --new-issue the first of `<id>-2`, `<id>-3`… not yet started."""
    if not new_issue:
        return base
    n = 2
    while state.sends.get(lst.name, f"{base}-{n}") is not None:
        n += 1
    return f"{base}-{n}"


def _build(
    config: Config,
    lst: ListConfig,
    now: datetime,
    since: datetime | None,
    day: date | None,
    ledger_id: str,
) -> Issue | str:
    """The issue, or a line saying why there is nothing new to send."""
    try:
        issue = build_issue(config, lst, now=now, since=since, day=day, ledger_id=ledger_id)
    except NoArticlesError:
        return f"nothing new to send for list {lst.name!r}: no new articles"
    # issue.problems were said as the sources were read (a warning once per change of health)
    n = issue.rendered.articles_included
    if n < lst.min_articles:
        return (
            f"nothing new to send for list {lst.name!r}: {n} new article(s), "
            f"fewer than min_articles = {lst.min_articles}"
        )
    return issue


def _deliver(
    config: Config,
    lst: ListConfig,
    request: SendRequest,
    backend: str,
    secret: str,
    state: State,
    frozen: FrozenSend,
    progress: Progress | None,
    now: datetime,
) -> SendReport:
    start = time.perf_counter()
    opened = datetime.now(UTC)
    variants = Variants(config, lst, state, frozen, opened)
    letter = variants.full
    apply_pending(config, lst)  # the file as the clicks so far left it
    interrupted = state.sends.interrupted(lst.name, letter.issue_id, opened)
    backoff = request.options.backoff or Backoff(tries=config.delivery.max_retries + 1)
    options = replace(request.options, backoff=backoff)
    ledger = IssueLedger(state.sends, lst.name, letter.issue_id, options)
    sender = make_sender(backend, config.delivery, sandbox=request.sandbox)
    gate = _gate(lst, request, state, letter.issue_id, sender.schedule_ahead, now)
    open_sender(sender, backoff)
    try:
        tally = deliver(
            variants,
            variant_recipients(config, lst, secret, variants, gate),
            sender,
            ledger,
            progress=progress,
            held=lambda: state.changes.held(lst.name, opened),
        )
    finally:
        sender.close()
        state.sends.set_nothing_for(lst.name, letter.issue_id, variants.nothing_for)
    waiting = gate.record() if gate else None
    return _conclude(
        state, lst, request, backend, letter, frozen, tally, interrupted, start, waiting
    )


def _gate(
    lst: ListConfig,
    request: SendRequest,
    state: State,
    issue: str,
    ahead: timedelta,
    now: datetime,
) -> WaveGate | None:
    """A reader-local list's gate for this run (see `pipeline.waves`); None otherwise."""
    if not lst.reader_local or request.sandbox:  # a sandbox send reaches nobody: no waves
        return None
    day = issue_day(lst.name, issue)
    if day is None:
        log.warning("%s: no day in the issue's id; every reader is sent now", issue)
        return None
    return WaveGate(lst, day, now, ahead, request.late_after, state.sends, issue)


def _conclude(
    state: State,
    lst: ListConfig,
    request: SendRequest,
    backend: str,
    letter: Letter,
    frozen: FrozenSend,
    tally: Tally,
    interrupted: int,
    start: float,
    waiting: Waiting | None = None,
) -> SendReport:
    """The issue's articles count as sent once a reader has the issue; the issue is finished
    once no reader is left to try. Nobody on the list at all: the issue is forgotten."""
    ledger = state.sends.counts(lst.name, letter.issue_id)
    totals = ledger.counts
    done = datetime.now(UTC)
    nothing = ledger.nothing_for
    skipped_topics = f"skipped {nothing}: nothing in their topics today" if nothing else ""
    if not any(totals.values()) and waiting is None:
        state.sends.forget(lst.name, letter.issue_id)
        line = f"nobody to send to on list {lst.name!r}"
        return SendReport(
            lst.name,
            None,
            backend,
            line + (f" ({skipped_topics})" if nothing else ""),
            nothing_for=nothing,
        )
    if totals["sent"] and not request.sandbox:  # a sandbox send delivered nothing
        # The issue's time is when it was built and frozen, not when its last reader was
        # reached: the next issue's window (and what this one was offered) starts there, so a
        # long send, a resumed one or a --retry-failed run the next day loses no story.
        state.sent.record_issue(lst.name, letter.issue_id, frozen.article_ids, letter.date)
    finished = not totals["pending"] and not totals["claimed"] and waiting is None
    if finished:
        state.sends.finish(lst.name, letter.issue_id, done)
    line = (
        f"{letter.issue_id}: sent {tally.sent}, skipped {tally.skipped} (not due), "
        f"failed {tally.failed}, unknown {tally.unknown}"
        + (f", left out {tally.withheld} (unsubscribed meanwhile)" if tally.withheld else "")
        + (f", {skipped_topics}" if nothing else "")
        + (
            f"; {ledger.renders} renders for {len(ledger.variants)} selections"
            if ledger.renders > 1
            else ""
        )
        + (f"; {interrupted} left in doubt by a send that stopped" if interrupted else "")
        + (f"; {waiting_line(waiting)}" if waiting else "")
        + (f"; {_totals_line(totals)}" if open_problems(totals) else "")
    )
    return SendReport(
        lst.name,
        letter.issue_id,
        backend,
        line,
        frozen.stories,
        tally,
        interrupted,
        seconds=time.perf_counter() - start,
        finished=finished,
        totals=totals,
        renders=ledger.renders,
        nothing_for=nothing,
        variants=ledger.variants,
        waiting=waiting,
    )
