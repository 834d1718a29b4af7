"""One identity rule for every article, from a feed, a folder or a web page, so the same
article is recognised across runs and across sources (and the sent ledger never repeats one).

An article is keyed by its GUID (feeds only), else its canonical URL, else its file (folder
articles: the folder and file name, so editing the text keeps the id), else a hash of its title
and text. The canonical URL is also kept on its own: two feeds that link the same page give one
item even when their GUIDs differ.
"""

from __future__ import annotations

import hashlib

from ..urls import canonical_url

__all__ = ["item_id", "item_key"]


def item_key(
    *,
    guid: str | None = None,
    url: str | None = None,
    file: str | None = None,
    title: str | None = None,
    text: str = "",
    feed: str = "",
) -> str:
    """The identity of an article, as readable text (hashed by `item_id`).

    A GUID that is a URI (it has a scheme, like `https://…` or `tag:…`) is global; a bare one such
    as "42" only means something inside its own feed, so it is qualified with the feed. `file` is
    a folder article's `folder/name`.
    """
    if guid and guid.strip():
        g = guid.strip()
        return f"guid:{g}" if ":" in g else f"guid:{feed}#{g}"
    canon = canonical_url(url)
    if canon:
        return f"url:{canon}"
    if file:
        return f"file:{file}"
    digest = hashlib.sha256(f"{(title or '').strip()}\n{text.strip()}".encode()).hexdigest()
    return f"hash:{digest}"


def item_id(key: str) -> str:
    """A short, stable id for a key: what `Article.id` holds and the sent ledger stores."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
