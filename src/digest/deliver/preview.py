"""Write an issue to files (HTML, text, .eml) for a person to look at. Sends nothing and
records nothing: previewing twice gives the same issue twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from ..compose import Reader, build_message, fill
from ..compose.personalise import fill_issue
from ..fsutil import write_atomic
from ..models import Issue

__all__ = ["PreviewResult", "preview_parts", "preview_reader", "write_preview"]


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


def preview_reader(base_url: str, list_name: str, sender: str) -> Reader:
    """Previews are addressed to the list's own sender, with a clearly fake unsubscribe link."""
    return Reader(
        email=parseaddr(sender)[1] or "preview@example.com",
        name="",
        unsubscribe_url=f"{base_url}/unsubscribe?list={list_name}&preview=1",
    )


def preview_parts(issue: Issue, reader: Reader, web_url: str = "") -> tuple[str, str]:
    """The issue's HTML and text as `reader` would get them."""
    r = issue.rendered
    html = fill_issue(r.html, marker=r.marker, web_url=web_url, escape=True)
    text = fill_issue(r.text, marker=r.marker, web_url=web_url, escape=False)
    return (
        fill(html, reader, marker=r.marker, escape=True),
        fill(text, reader, marker=r.marker, escape=False),
    )


def write_preview(
    issue: Issue, out: Path, *, sender: str, reader: Reader, now: datetime, web_url: str = ""
) -> PreviewResult:
    """Write `<list>-<date>.html`, `.txt` and `.eml` into `out`, each atomically."""
    html, text = preview_parts(issue, reader, web_url)
    rendered = issue.rendered
    message = build_message(
        sender=sender,
        to=reader.email,
        subject=rendered.subject,
        text=text,
        html=html,
        when=now,
        unsubscribe_url=reader.unsubscribe_url,
    )
    stem = out / f"{issue.digest.list_name}-{issue.digest.date.isoformat()}"
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
