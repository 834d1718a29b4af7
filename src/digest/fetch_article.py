"""One article from the web: fetch its page over HTTP and turn it into an `Article`.

The body is read as a stream and cut off at `max_bytes`, so a huge or endless answer cannot
fill memory; an article's text sits near the top of its page, so what arrived is extracted and
the cut is logged. Every failure a user can act on (no connection, an HTTP error, an answer
that is not a web page, a page without article text) is a `SourceError` naming the URL.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

import httpx

from . import __version__
from .errors import SourceError
from .extract import extract_html
from .models import Article

log = logging.getLogger(__name__)

USER_AGENT = f"digest/{__version__} (+https://github.com/digest)"
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def fetch_article(
    url: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000, source: str | None = None
) -> Article:
    """Fetch `url` (following redirects) and extract its article.

    `timeout` bounds connecting and each read; `source` defaults to the site's host name.
    """
    try:
        with (
            httpx.Client(
                headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"},
                follow_redirects=True,
                timeout=httpx.Timeout(timeout),
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise SourceError(
                    f"{url}: the server answered {response.status_code} "
                    f"{response.reason_phrase}".rstrip(),
                    "Check the address; the page may have moved, be gone or need a login.",
                )
            _check_html(url, response.headers.get("content-type", ""))
            body = _read_capped(response, max_bytes, url)
            final_url = str(response.url)
            charset = response.charset_encoding
    except httpx.TimeoutException:
        raise SourceError(
            f"{url}: no answer within {timeout:g} s",
            "Check the address and your network connection, or try again later.",
        ) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise SourceError(
            f"{url}: not a web address ({exc})", "Give a full http:// or https:// URL."
        ) from None
    except httpx.HTTPError as exc:
        raise SourceError(
            f"{url}: cannot fetch it ({exc.__class__.__name__}: {exc})",
            "Check the address and your network connection.",
        ) from None
    html: str | bytes = body
    if charset:
        try:
            html = body.decode(charset, errors="replace")
        except LookupError:
            html = body
    return article_from_html(html, final_url, source or _host(final_url))


def article_from_html(html: bytes | str, url: str | None, source: str) -> Article:
    """An `Article` from a page's HTML. Its id is the first 16 hex digits of the SHA-256 of the
    URL (the page's own canonical URL when `url` is None), as for local files."""
    page = extract_html(html, url=url)
    where = url or page.url or "the page"
    if not page.paragraphs:
        raise SourceError(
            f"{where}: no article text found in the page",
            "Check that the address is an article, not a home or index page.",
        )
    link = url or page.url
    key = link or "\n".join(page.paragraphs)
    return Article(
        id=hashlib.sha256(key.encode()).hexdigest()[:16],
        title=(page.title or _title_from_url(link) or "Untitled").strip(),
        source=source,
        url=link,
        published=page.published,
        author=page.author,
        paragraphs=page.paragraphs,
        image=page.image,
    )


def _check_html(url: str, content_type: str) -> None:
    kind = content_type.split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        raise SourceError(
            f"{url}: the answer is {kind}, not a web page",
            "Give the address of an article's HTML page (not a feed, PDF or image).",
        )


def _read_capped(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    """The body, at most `max_bytes` of it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            log.warning(
                "%s: page larger than %d bytes; using its first %d", url, max_bytes, max_bytes
            )
            break
    return b"".join(chunks)[:max_bytes]


def _host(url: str) -> str:
    return urlsplit(url).hostname or "web"


def _title_from_url(url: str | None) -> str | None:
    if not url:
        return None
    slug = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    slug = slug.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").strip()
    return slug.capitalize() or None
