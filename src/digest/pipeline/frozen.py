"""The issue's stories frozen in the ledger as JSON when its send starts (with the list's
`for_everyone` topics of that moment), so a resumed send can still render a selection nobody
had in its first part from the very same stories, even if a feed changed meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from ..models import Article, Coverage, Digest

__all__ = ["FrozenIssue", "frozen_from", "frozen_json"]


@dataclass(frozen=True)
class FrozenIssue:
    """What every selection of an issue is rendered from."""

    digest: Digest
    """The issue with the stories it shows (those left out for size are not in it)."""
    for_everyone: tuple[str, ...] = ()


def frozen_json(frozen: FrozenIssue) -> dict[str, Any]:
    d = frozen.digest
    return {
        "list_name": d.list_name,
        "issue_id": d.issue_id,
        "date": d.date.isoformat(),
        "title": d.title,
        "subject": d.subject,
        "preheader": d.preheader,
        "number": d.number,
        "articles": [_article_json(a) for a in d.articles],
        "for_everyone": list(frozen.for_everyone),
    }


def frozen_from(d: dict[str, Any]) -> FrozenIssue:
    digest = Digest(
        list_name=d["list_name"],
        issue_id=d["issue_id"],
        date=date.fromisoformat(d["date"]),
        title=d["title"],
        articles=tuple(_article_from(a) for a in d["articles"]),
        subject=d.get("subject", ""),
        preheader=d.get("preheader", ""),
        number=d.get("number"),
    )
    return FrozenIssue(digest, tuple(d.get("for_everyone", ())))


def _article_json(a: Article) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(a):
        v = getattr(a, f.name)
        if isinstance(v, datetime):
            v = v.isoformat()
        elif f.name == "also":
            v = [{"source": c.source, "url": c.url, "id": c.id} for c in v]
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def _article_from(d: dict[str, Any]) -> Article:
    """Fields a later version added are left at their defaults; unknown ones are ignored."""
    known = {f.name for f in fields(Article)}
    kw: dict[str, Any] = {k: v for k, v in d.items() if k in known}
    if kw.get("published"):
        kw["published"] = datetime.fromisoformat(kw["published"])
    for k, v in list(kw.items()):
        if k == "also":
            kw[k] = tuple(Coverage(**c) for c in v)
        elif isinstance(v, list):
            kw[k] = tuple(v)
    return Article(**kw)
