"""`/`: each list with its readers by status, the clicks not yet in its file, its next
scheduled send (or why it is paused), its recent issues from the ledger, each linking to its
pages, and their health (`list_health`): what the provider reported, the rates, warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..config import ListConfig
from ..errors import DigestError
from ..list_health import (
    BOUNCE_WARNING,
    COMPLAINT_PAUSE,
    COMPLAINT_WARNING,
    IssueHealth,
    limit,
    percent,
)
from ..pipeline.health import list_health
from ..pipeline.waves import zone_census
from ..schedule.due import next_runs
from ..state.sends import STATUSES
from .render import page
from .site import Site

__all__ = ["home"]

RECENT = 10


async def home(request: Request) -> Response:
    site: Site = request.app.state.site
    lists = await run_in_threadpool(_summaries, site)
    return page(
        "home",
        language="en",
        width="60rem",
        page_title=f"digest: {site.config.root.name}",
        lists=lists,
        statuses=STATUSES,
        limits={
            "bounces": limit(BOUNCE_WARNING),
            "complaints": limit(COMPLAINT_WARNING),
            "pause": limit(COMPLAINT_PAUSE),
        },
    )


def _summaries(site: Site) -> list[dict[str, Any]]:
    return [_summary(site, lst) for lst in site.config.lists.values()]


def _summary(site: Site, lst: ListConfig) -> dict[str, Any]:
    now = datetime.now(UTC)
    counts: dict[str, int] | None = None
    error = ""
    try:
        counts = site.counts(lst)
    except DigestError as exc:
        error = exc.message
    try:
        zones = zone_census(lst) if lst.reader_local and not error else {}
    except DigestError:  # the counts above say what is wrong with the file
        zones = {}
    upcoming = next_runs(lst, now, 1, zones)
    with site.state() as state:
        pending = len(state.changes.pending(lst.name))
        issues = [
            {
                "id": f.issue_id,
                "url": f"issues/{quote(f.issue_id)}" if lst.archive and not f.sandbox else "",
                "started": f"{f.started_at:%Y-%m-%d %H:%M} UTC",
                "finished": f.finished_at is not None,
                "counts": state.sends.counts(lst.name, f.issue_id).counts,
            }
            for f in state.sends.recent(lst.name, RECENT)
        ]
        health = list_health(state, lst.name, RECENT)
    return {
        "name": lst.name,
        "title": lst.title,
        "file": lst.subscribers.name,
        "counts": counts,
        "counts_error": error,
        "pending": pending,
        "next_send": f"{upcoming[0].at:%A %Y-%m-%d %H:%M %Z}" if upcoming else "",
        "issues": issues,
        "health": [_health(i) for i in health.issues],
        "reported": health.reported,
        "paused": (
            {"message": health.pause.message, "hint": health.pause.hint} if health.pause else None
        ),
        "preview_url": f"preview/{lst.name}",
        "archive_url": f"archive/{lst.name}" if lst.archive else "",
    }


def _health(i: IssueHealth) -> dict[str, Any]:
    return {
        "id": i.issue_id,
        "counts": [
            i.sent,
            i.delivered if i.reported else "-",
            i.deferred if i.reported else "-",
            i.bounced,
            i.complained,
            i.unsubscribed,
        ],
        "bounce_rate": percent(i.bounce_rate),
        "complaint_rate": percent(i.complaint_rate),
        "bounces_high": i.bounces_high,
        "complaints_high": i.complaints_high,
        "warnings": i.warnings,
    }
