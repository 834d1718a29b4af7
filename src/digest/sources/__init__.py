"""The sources stage: where articles come from. Folders of article files (`folder`), feeds
(`fetch` over HTTP, `feeds`/`jsonfeed` to parse, `sanitise` their HTML, `remote` through the
HTTP cache), article pages (`pages`, `extract`), one identity rule (`identity`) and each
source's health (`health`). `read_sources` reads a list's sources at once into `SourceRead`s."""

from __future__ import annotations

from .fetch import Fetcher, FetchLimits
from .folder import read_article, read_folder
from .pages import PageReader, article_from_html, fetch_article
from .read import Progress, Reading, read_sources

__all__ = [
    "FetchLimits",
    "Fetcher",
    "PageReader",
    "Progress",
    "Reading",
    "article_from_html",
    "fetch_article",
    "read_article",
    "read_folder",
    "read_sources",
]
