"""The only module that knows the order of the stages: gather → summarise → compose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .compose import render
from .config import Config, ListConfig
from .errors import NoArticlesError
from .gather import Progress, gather
from .models import Digest, Rendered


@dataclass(frozen=True)
class Issue:
    """A list's next issue, rendered once, with what went wrong on the way."""

    digest: Digest
    rendered: Rendered
    problems: tuple[str, ...]


def issue_id(lst: ListConfig, now: datetime) -> str:
    """Deterministic per list and local day, so a rerun of the same day is the same issue."""
    return f"{lst.name}-{now.astimezone(lst.zone).date().isoformat()}"


def build_issue(
    config: Config,
    lst: ListConfig,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> Issue:
    """Gather, summarise and render the next issue of `lst`. Records nothing."""
    now = now or datetime.now(UTC)
    found = gather(config, lst, now=now, since=since, progress=progress)
    if not found.articles:
        names = ", ".join(s.name for s in config.sources_for(lst)) or "none configured"
        raise NoArticlesError(
            f"no new articles for list {lst.name!r} (sources: {names})",
            "Add article files or feeds to digest.toml, or widen the window with --since.",
        )
    digest = Digest(
        list_name=lst.name,
        issue_id=issue_id(lst, now),
        date=now.astimezone(lst.zone).date(),
        title=lst.title,
        articles=found.articles,
    )
    rendered = render(digest, lst, config.templates_dir)
    return Issue(digest=digest, rendered=rendered, problems=found.problems)
