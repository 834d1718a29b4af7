"""Write a list's next issue to files (HTML, text, .eml) for a person to look at. Sends nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from .config import Config, ListConfig
from .fsutil import write_atomic
from .gather import Progress
from .message import build_message
from .personalise import Reader, fill
from .pipeline import build_issue


@dataclass(frozen=True)
class PreviewResult:
    paths: tuple[Path, ...]
    html_bytes: int
    articles: int
    omitted: int
    warnings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "html": str(self.paths[0]),
            "text": str(self.paths[1]),
            "eml": str(self.paths[2]),
            "html_bytes": self.html_bytes,
            "articles": self.articles,
            "omitted": self.omitted,
            "warnings": list(self.warnings),
        }


def preview_reader(config: Config, lst: ListConfig) -> Reader:
    """Previews are addressed to the list's own sender, with a clearly fake unsubscribe link."""
    return Reader(
        email=parseaddr(lst.sender)[1] or "preview@example.com",
        name="",
        unsubscribe_url=f"{config.base_url}/unsubscribe?list={lst.name}&preview=1",
    )


def write_preview(
    config: Config,
    lst: ListConfig,
    out: Path,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> PreviewResult:
    """Render the next issue and write `<list>-<date>.html`, `.txt` and `.eml` into `out`."""
    now = now or datetime.now(UTC)
    issue = build_issue(config, lst, now=now, since=since, progress=progress)
    rendered = issue.rendered
    reader = preview_reader(config, lst)
    html = fill(rendered.html, reader, escape=True)
    text = fill(rendered.text, reader, escape=False)
    message = build_message(
        sender=lst.sender,
        to=reader.email,
        subject=rendered.subject,
        text=text,
        html=html,
        when=now,
        unsubscribe_url=reader.unsubscribe_url,
    )
    stem = out / f"{lst.name}-{issue.digest.date.isoformat()}"
    paths = (stem.with_suffix(".html"), stem.with_suffix(".txt"), stem.with_suffix(".eml"))
    write_atomic(paths[0], html)
    write_atomic(paths[1], text)
    write_atomic(paths[2], message.as_bytes())
    return PreviewResult(
        paths=paths,
        html_bytes=len(html.encode("utf-8")),
        articles=rendered.articles_included,
        omitted=rendered.articles_omitted,
        warnings=issue.problems + rendered.warnings,
    )
