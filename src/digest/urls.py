"""URLs as digest trusts them: http(s) only, canonical for comparing, passwords hidden.

Every link and image taken from a feed, a file or a page goes through `http_url`; every URL a
log line or message shows goes through `redact`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["canonical_url", "http_url", "redact"]

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


_CREDENTIALS = re.compile(r"//[^/?#]*@")


def redact(url: str) -> str:
    """The URL as logs and problem lines may show it: a user name and password are hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed ("http://u:pw@[::1"): hide what looks like credentials
        return _CREDENTIALS.sub("//***@", url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
