"""Stable keys for feed items, so the same article is recognised across runs and across feeds.

An item is keyed by its GUID, else by its canonical URL, else by a hash of its title and text.
The canonical URL is also kept on its own: two feeds that link the same page give one item even
when their GUIDs differ.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["canonical_url", "http_url", "item_id", "item_key", "redact"]

# Query parameters that only say where a click came from; they never change the page.
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "_hs", "vero_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "ncid",
        "cmpid",
        "ref_src",
        "ref_url",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def http_url(href: object, base: str | None = None) -> str | None:
    """`href` made absolute against `base`, if the result is an http(s) URL with a host; else None.

    Every link and image URL taken from a feed or a page goes through here, so a
    `javascript:` or `data:` URL, a file path or a malformed URL never reaches an Article.
    """
    if not isinstance(href, str) or not href.strip() or _CONTROL.search(href.strip()):
        return None
    try:
        url = urljoin(base or "", href.strip())
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError when out of range
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return url


def canonical_url(url: str | None) -> str | None:
    """The URL without its fragment and click-tracking parameters, host in lower case.

    Returns None for anything that is not an absolute http(s) URL, since such a "link" cannot
    identify a page.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, safe="/:@,;"), ""))


def item_key(*, guid: str | None, url: str | None, title: str | None, text: str, feed: str) -> str:
    """The identity of an item, as readable text (hashed by `item_id`).

    A GUID that is a URI (it has a scheme, like `https://…` or `tag:…`) is global; a bare one such
    as "42" only means something inside its own feed, so it is qualified with the feed.
    """
    if guid and guid.strip():
        g = guid.strip()
        return f"guid:{g}" if ":" in g else f"guid:{feed}#{g}"
    canon = canonical_url(url)
    if canon:
        return f"url:{canon}"
    digest = hashlib.sha256(f"{(title or '').strip()}\n{text.strip()}".encode()).hexdigest()
    return f"hash:{digest}"


def item_id(key: str) -> str:
    """A short, stable id for a key: what `Article.id` holds and the sent ledger stores."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def redact(url: str) -> str:
    """The URL as logs and problem lines may show it: a user name and password are hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
