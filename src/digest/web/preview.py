"""`/preview/<list>`: the next issue exactly as the next send would make it (an issue a send
started and did not finish is what the next send finishes, so that is shown), at desktop and
phone widths side by side, with its subject, preheader and plain text. `?as=ADDRESS` shows it
as that reader gets it (their name, link and topics); `?topics=science;history` as the
readers of those topics get it, and the page links each selection the list's readers get,
with its reader count. Every load builds it afresh, so an edited article or template shows on
reload; the page also reloads itself when one changes (a small script; without it, reload)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..compose import render
from ..compose.personalise import Reader, fill
from ..config import Config, ListConfig
from ..deliver.base import Letter
from ..deliver.preview import preview_reader
from ..errors import DigestError, NoArticlesError
from ..models import Digest
from ..pipeline.frozen import frozen_from
from ..pipeline.issue import build_issue, issue_id
from ..pipeline.letter import letter_for, letter_from, letter_of
from ..pipeline.selections import shown, topics_arg
from ..schedule.due import next_runs
from ..selection import FULL, Selector
from ..subscribers import SubscriberList
from ..tokens import unsubscribe_url
from .render import message_page, page
from .site import Site

__all__ = ["preview", "preview_stamp", "stamp"]


async def preview(request: Request) -> Response:
    site: Site = request.app.state.site
    lst = site.list(request.path_params["list"])
    if lst is None:
        return message_page("en", "not_found", "not_found_note", status=404)
    q = request.query_params
    return await run_in_threadpool(_preview, site, lst, q.get("as", ""), q.get("topics"))


async def preview_stamp(request: Request) -> Response:
    site: Site = request.app.state.site
    lst = site.list(request.path_params["list"])
    if lst is None:
        return PlainTextResponse("", status_code=404)
    value = await run_in_threadpool(stamp, site.config, lst)
    return PlainTextResponse(value, headers={"Cache-Control": "no-store"})


def stamp(config: Config, lst: ListConfig) -> str:
    """A fingerprint of what the preview is made from on disk: digest.toml, the templates,
    the list file, and the local article folders and feed files."""
    paths: list[Path] = [config.path, lst.subscribers]
    roots = [config.templates_dir] + [
        Path(s.location) for s in config.sources_for(lst) if not s.is_remote
    ]
    for root in roots:
        paths.extend(sorted(root.rglob("*")) if root.is_dir() else [root])
    h = hashlib.sha256()
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            h.update(f"{p}:-\n".encode())
            continue
        h.update(f"{p}:{st.st_mtime_ns}:{st.st_size}\n".encode())
    return h.hexdigest()[:16]


def _preview(site: Site, lst: ListConfig, as_address: str, topics_text: str | None) -> Response:
    config = site.config
    now = datetime.now(UTC)
    found = _reader(site, config, lst, as_address.strip())
    if isinstance(found, Response):
        return found
    reader, own = found
    topics = topics_arg(topics_text) if topics_text is not None else own
    try:
        nxt = _next_letter(site, config, lst, now)
        letter, problems, counts, frozen = nxt.letter, nxt.problems, nxt.counts, nxt.frozen
        choices = _choices(site, lst, nxt, topics_text)
        picked = _selection(config, lst, nxt, topics)
    except NoArticlesError as exc:
        return _problem(config, lst, "Nothing to send yet", exc, 200)
    except DigestError as exc:
        return _problem(config, lst, "The issue cannot be built", exc, 500)
    if picked is None:
        note = DigestError(
            f"Readers with the topics {';'.join(topics)} get nothing of this issue: a send "
            "skips them today."
        )
        return _problem(config, lst, "Nothing in these topics", note, 200, choices)
    if picked is not True:
        letter, counts = picked
    html = fill(letter.html, reader, marker=letter.marker, escape=True)
    text = fill(letter.text, reader, marker=letter.marker, escape=False)
    return page(
        "preview",
        language="en",
        width="80rem",
        page_title=f"Preview: {lst.title}",
        subject=letter.subject,
        preheader=letter.preheader,
        issue_id=letter.issue_id,
        frozen=frozen,
        reader=reader.email,
        as_value=as_address,
        topics=";".join(topics),
        choices=choices,
        action=lst.name,
        count=counts[0],
        omitted=counts[1],
        problems=problems,
        html=html,
        text=text,
        stamp=stamp(config, lst),
        stamp_url=f"{lst.name}/stamp",
    )


@dataclass(frozen=True)
class _Next:
    """The next send's issue: its whole letter, and the stories its selections come from."""

    letter: Letter
    problems: tuple[str, ...]
    counts: tuple[int, int]
    frozen: bool
    digest: Digest | None
    """The stories it shows; None for an issue started before topics (all get the whole)."""
    for_everyone: tuple[str, ...]


@dataclass(frozen=True)
class _Choice:
    """A link to one selection of the issue, with how many readers get it."""

    label: str
    href: str
    readers: int
    stories: int
    current: bool


def _choices(
    site: Site, lst: ListConfig, nxt: _Next, topics_text: str | None
) -> tuple[_Choice, ...]:
    """Each selection the list's readers get, as a link (counted again only when the list
    file or the issue's stories changed)."""
    if nxt.digest is None:
        return ()
    counted = site.selections(lst, nxt.digest, nxt.for_everyone)
    if len(counted.variants) < 2 and not counted.nothing_for and topics_text is None:
        return ()  # everyone gets the whole issue: nothing to switch between
    out = []
    for v in counted.variants:
        query = urlencode({"topics": ";".join(v.topics)}) if v.topics else ""
        label = ";".join(v.topics) if v.topics else "no topics (the whole issue)"
        current = ";".join(v.topics) == (topics_text or "")
        out.append(
            _Choice(
                label,
                f"{lst.name}?{query}" if query else lst.name,
                v.readers,
                len(v.articles),
                current,
            )
        )
    if counted.nothing_for:
        out.append(_Choice("nothing in their topics (skipped)", "", counted.nothing_for, 0, False))
    return tuple(out)


def _selection(
    config: Config, lst: ListConfig, nxt: _Next, topics: tuple[str, ...]
) -> tuple[Letter, tuple[int, int]] | bool | None:
    """The letter of the readers of `topics`: True for the whole issue, None for nothing."""
    if not topics or nxt.digest is None:
        return True
    chosen = Selector(nxt.digest.articles, nxt.for_everyone).of(topics)
    if chosen.key == FULL:
        return True
    if not chosen.articles:
        return None
    digest = replace(nxt.digest, articles=chosen.articles)
    r = render(digest, lst.compose, config.templates_dir)
    letter = letter_of(r, lst, config, nxt.letter.date, nxt.letter.issue_id)
    return letter, (r.articles_included, r.articles_omitted)


def _next_letter(site: Site, config: Config, lst: ListConfig, now: datetime) -> _Next:
    """The letter the next `digest send` sends: a started issue's frozen one; else a new
    build (recording nothing) under the id it would get: today's, or, once today's was sent,
    the next scheduled day's."""
    with site.state() as state:
        started = state.sends.unfinished(lst.name)
        frozen = state.sends.get(lst.name, started) if started else None
        today = issue_id(lst, now)
        sent_today = frozen is None and state.sends.get(lst.name, today) is not None
    if frozen is not None:
        stories = frozen_from(frozen.issue) if frozen.issue else None
        return _Next(
            letter_from(frozen.letter),
            (),
            (frozen.stories, 0),
            True,
            stories.digest if stories else None,
            stories.for_everyone if stories else (),
        )
    notes: list[str] = []
    day = None
    if sent_today:
        day = _next_day(lst, now)
        notes.append(
            f"{today} was sent already; this is what the next scheduled issue ({day}) would "
            "carry if it were built now"
        )
    issue = build_issue(config, lst, now=now, day=day)
    letter = letter_for(issue, lst, config, now, issue_id(lst, now, day))
    r = issue.rendered
    if r.articles_included < lst.min_articles:
        notes.append(
            f"{r.articles_included} new article(s), fewer than min_articles = "
            f"{lst.min_articles}: a send now would send nothing"
        )
    problems = (*notes, *issue.problems, *r.warnings)
    counts = (r.articles_included, r.articles_omitted)
    return _Next(letter, problems, counts, False, shown(issue), lst.for_everyone)


def _next_day(lst: ListConfig, now: datetime) -> date:
    """The first scheduled day after today (the list's zone)."""
    today = now.astimezone(lst.zone).date()
    for occ in next_runs(lst, now, 3):
        if occ.day > today:
            return occ.day
    return today + timedelta(days=1)


def _reader(
    site: Site, config: Config, lst: ListConfig, address: str
) -> tuple[Reader, tuple[str, ...]] | Response:
    """The reader to show the issue to, and their topics."""
    if not address:
        return preview_reader(config.base_url, lst.name, lst.sender), ()
    try:
        sub = SubscriberList(lst.subscribers).get(address)
    except DigestError as exc:
        return _problem(config, lst, "The list cannot be read", exc, 500)
    if sub is None:
        return page(
            "message",
            404,
            language="en",
            page_title="Not on the list",
            heading=f"{address} is not on the list {lst.name}",
            note="Check the address; `digest subscribers list` shows who is.",
            form=None,
            error=True,
        )
    link = unsubscribe_url(config.base_url, site.secret, lst.name, sub.email)
    return Reader(email=sub.email, name=sub.name, unsubscribe_url=link), sub.topics


def _problem(
    config: Config,
    lst: ListConfig,
    heading: str,
    exc: DigestError,
    status: int,
    choices: tuple[_Choice, ...] = (),
) -> Response:
    """What stops the preview, on a page that still reloads itself once it is fixed."""
    note = exc.message + (f" {exc.hint}" if exc.hint else "")
    return page(
        "message",
        status,
        language="en",
        page_title=heading,
        heading=heading,
        note=note,
        form=None,
        error=status >= 500,
        stamp=stamp(config, lst),
        stamp_url=f"{lst.name}/stamp",
        choices=choices,
    )
