"""Fetch feeds and article pages over HTTP: several at once, politely, within limits.

One `httpx.AsyncClient` serves a whole gathering run: a bounded number of requests at a time,
connect and read timeouts plus an overall deadline per request, redirects, gzip, a User-Agent
that names digest, a size cap that stops reading (not reads and then drops) an oversized body,
and conditional GET (If-None-Match / If-Modified-Since) so an unchanged feed costs one 304.

Polite to hosts: at most `per_host` requests at once to one host (within the overall limit),
and a 429 or 503 with `Retry-After` waited out and asked once more when the wait is within
`retry_after_cap`; a longer wait is an error line, and that host is not asked again this run.
A redirect chain that starts with 301 or 308 is reported (`Fetched.moved_to`) for the caller to
remember; 302 and 307 are followed and forgotten.

Failures never raise: a `Fetched` carries either a body or an `error` line saying why not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from itertools import pairwise
from types import TracebackType

import httpx

from .. import __version__
from ..urls import redact
from .guard import Guard, NotPublic

__all__ = [
    "FEED_ACCEPT",
    "PAGE_ACCEPT",
    "USER_AGENT",
    "FetchLimits",
    "Fetched",
    "Fetcher",
    "human_size",
]

log = logging.getLogger(__name__)


class _HideCredentials(logging.Filter):
    """httpx logs each request's URL at INFO (`digest -v`), password included; hide it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_HideCredentials())

USER_AGENT = f"digest/{__version__} (newsletter digest; +https://pypi.org/project/digest/)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.8, text/html;q=0.5, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# Only what `_Inflater` can decode in bounded steps (httpx would also offer br and zstd).
ACCEPT_ENCODING = "gzip, deflate"
_PIECE = 64 * 1024
_PRIVATE_OK = "digest_private_ok"
"""A request extension (httpx passes it along redirects): the source may reach private hosts."""


@dataclass(frozen=True)
class FetchLimits:
    """How hard and how long to try. The defaults suit a daily digest of a hundred feeds."""

    concurrency: int = 32
    """Requests in flight at once, over all hosts (feeds are mostly on different hosts, so
    each host sees about one request at a time)."""
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    """Longest wait for the next bytes of a response."""
    deadline: float = 60.0
    """Longest time for one whole request, so a server that drips bytes cannot hold a run."""
    max_bytes: int = 10 * 1024 * 1024
    """A response larger than this is cut off with a message; feeds and pages are far smaller."""
    max_redirects: int = 5
    per_host: int = 2
    """Requests in flight at once to one host, within `concurrency`: many feeds of one site
    (a blog's per-category feeds) are asked a few at a time, not all at once."""
    retry_after_cap: float = 30.0
    """Longest `Retry-After` (429, 503) digest waits out before asking once more; a host that
    asks for longer is skipped this run."""


_BUSY = (429, 503)
"""The statuses whose `Retry-After` digest honours."""


@dataclass(frozen=True)
class Fetched:
    """The outcome of one GET: a status and body, a 304, or an error saying what went wrong."""

    url: str
    final_url: str
    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    moved_to: str | None = None
    """The new address, when the request was redirected for good (301, 308) and answered."""
    retry_after: float | None = None
    """Seconds the host asked digest to wait (429, 503 with `Retry-After`)."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


class _TooLarge(Exception):
    pass


class _Inflater:
    """Decodes a Content-Encoding in pieces of at most 64 KB, so the size cap is checked
    before memory is spent: httpx inflates each network chunk whole, and 64 KB of gzip can
    hold 64 MB."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise httpx.DecodingError(f"digest cannot decode Content-Encoding {encoding!r}")
        self._d = self._new()
        self._first = True

    def _new(self) -> zlib._Decompress | None:
        if self.encoding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.encoding == "deflate":
            return zlib.decompressobj()
        return None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            yield data
            return
        if self._first and self.encoding == "deflate" and data:
            self._first = False
            if data[0] & 0x0F != 8:  # raw deflate, without the zlib header servers often omit
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        while data or (self._d.eof and self._d.unused_data):
            if self._d.eof:  # gzip may hold several members one after another
                data, self._d = self._d.unused_data + data, self._new()
                assert self._d is not None
            piece = self._d.decompress(data, _PIECE)
            data = self._d.unconsumed_tail
            if piece:
                yield piece
            elif not data and not self._d.eof:
                break


def _proxied(url: httpx.URL) -> bool:
    """Whether httpx sends this request through a proxy from the environment."""
    proxies = urllib.request.getproxies()
    if url.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(url.host)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle takes ~60 ms; do it once per process, not once per run."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


class Fetcher:
    """An async HTTP client for one run: `async with Fetcher(limits) as f: await f.get(url)`."""

    def __init__(self, limits: FetchLimits | None = None) -> None:
        self.limits = limits or FetchLimits()
        self._slots = asyncio.Semaphore(self.limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._resting: dict[str, float] = {}
        """Hosts that asked for a wait over the cap this run, with the wait they asked."""
        self._client: httpx.AsyncClient | None = None
        self.guard = Guard()

    async def __aenter__(self) -> Fetcher:
        lim = self.limits
        self._client = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            verify=_tls_context(),
            timeout=httpx.Timeout(
                connect=lim.connect_timeout, read=lim.read_timeout, write=10.0, pool=None
            ),
            follow_redirects=True,
            max_redirects=lim.max_redirects,
            limits=httpx.Limits(
                max_connections=lim.concurrency, max_keepalive_connections=lim.concurrency
            ),
            event_hooks={"request": [self._before], "response": [self._after]},
        )
        return self

    async def _before(self, request: httpx.Request) -> None:
        """Every request, redirects too: only public hosts, unless the source is private."""
        if not request.extensions.get(_PRIVATE_OK):
            await self.guard.check(str(request.url))

    async def _after(self, response: httpx.Response) -> None:
        """The address really connected to, in case the name resolved differently this time.
        Through a proxy (HTTP_PROXY and the like) that is the proxy, which resolved the name."""
        request = response.request
        if not request.extensions.get(_PRIVATE_OK) and not _proxied(request.url):
            stream = response.extensions.get("network_stream")
            peer = stream.get_extra_info("server_addr") if stream is not None else None
            self.guard.check_peer(response.request.url.host, peer)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        keep_partial: bool = False,
        source_url: str | None = None,
    ) -> Fetched:
        """GET `url`, conditionally when a validator is given. Never raises for network trouble.

        A body over the size cap is an error; with `keep_partial` what arrived up to the cap
        comes back with it (an article's text sits near the top of its page). `url` and every
        redirect must be on public hosts, unless `source_url` (the configured source the
        request is for) is itself on a private host (see `guard`)."""
        assert self._client is not None, "use Fetcher as an async context manager"
        headers = {"Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
        for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)):
            # A validator that cannot go back in a header (non-ASCII, control characters)
            # would fail every later request; without it the GET is simply unconditional.
            if value and value.isascii() and value.isprintable():
                headers[name] = value
        host = _host(url)
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.limits.per_host)
        async with self._hosts[host]:
            result = await self._polite(url, host, headers, keep_partial, source_url)
        return result

    async def _polite(
        self,
        url: str,
        host: str,
        headers: dict[str, str],
        keep_partial: bool,
        source_url: str | None,
    ) -> Fetched:
        """One GET, and one more after a `Retry-After` within the cap (the host's slot is held
        while waiting, so its other requests wait too: that is what the host asked)."""
        cap = self.limits.retry_after_cap
        for attempt in (1, 2):
            if host in self._resting:
                wait = self._resting[host]
                return Fetched(
                    url,
                    url,
                    None,
                    error=f"{host} asked digest to wait {_seconds(wait)}, more than the "
                    f"{_seconds(cap)} cap; not asked again this run",
                    retry_after=wait,
                )
            result = await self._once(url, headers, keep_partial, source_url)
            wait = _retry_after(result)
            if wait is None:
                return result
            if wait > cap:
                self._resting[host] = wait
                return replace(
                    result,
                    error=f"{result.error}; {host} asks digest to wait {_seconds(wait)}, more "
                    f"than the {_seconds(cap)} cap",
                    retry_after=wait,
                )
            if attempt == 1:
                log.info("%s: %s; retrying in %s", redact(url), result.error, _seconds(wait))
                await asyncio.sleep(wait)
        return replace(result, retry_after=wait)

    async def _once(
        self, url: str, headers: dict[str, str], keep_partial: bool, source_url: str | None
    ) -> Fetched:
        async with self._slots:
            start = time.perf_counter()
            try:
                private_ok = source_url is not None and await self.guard.is_private(source_url)
                async with asyncio.timeout(self.limits.deadline):
                    result = await self._get(url, headers, keep_partial, private_ok)
            except TimeoutError:
                result = Fetched(
                    url, url, None, error=f"no complete answer within {self.limits.deadline:g} s"
                )
            except NotPublic as exc:
                result = Fetched(url, url, None, error=str(exc))
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                result = Fetched(url, url, None, error=self._describe(exc))
            seconds = time.perf_counter() - start
        log.debug("GET %s -> %s in %.3f s", redact(url), result.status or result.error, seconds)
        return replace(result, seconds=seconds)

    async def _get(
        self, url: str, headers: dict[str, str], keep_partial: bool, private_ok: bool
    ) -> Fetched:
        assert self._client is not None
        cap = self.limits.max_bytes
        extensions = {_PRIVATE_OK: private_ok}
        async with self._client.stream(
            "GET", url, headers=headers, extensions=extensions
        ) as response:
            final = str(response.url)
            got = {k.lower(): v for k, v in response.headers.items()}
            status = response.status_code
            moved = _moved(response)
            if status == 304:
                return Fetched(url, final, status, headers=got, moved_to=moved)
            if status >= 400:
                reason = response.reason_phrase or ""
                return Fetched(url, final, status, headers=got, error=f"HTTP {status} {reason}")
            declared = got.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                return Fetched(
                    url,
                    final,
                    status,
                    headers=got,
                    error=f"the response is {human_size(int(declared))}, over the "
                    f"{human_size(cap)} cap; not read",
                )
            chunks: list[bytes] = []
            size = 0
            inflater = _Inflater(got.get("content-encoding", ""))
            try:
                async for raw in response.aiter_raw():
                    try:
                        for piece in inflater.feed(raw):
                            size += len(piece)
                            if size > cap:
                                raise _TooLarge
                            chunks.append(piece)
                    except zlib.error as exc:
                        raise httpx.DecodingError(str(exc)) from None
            except _TooLarge:
                return Fetched(
                    url,
                    final,
                    status,
                    b"".join(chunks) if keep_partial else b"",
                    got,
                    error=f"the response passed the {human_size(cap)} cap; cut off there",
                )
            return Fetched(url, final, status, b"".join(chunks), got, moved_to=moved)

    def _describe(self, exc: Exception) -> str:
        """One line a user can act on, instead of an exception's repr."""
        lim = self.limits
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within {lim.connect_timeout:g} s"
        if isinstance(exc, httpx.ReadTimeout):
            return f"no answer within {lim.read_timeout:g} s"
        if isinstance(exc, httpx.TimeoutException):
            return f"timed out ({type(exc).__name__})"
        if isinstance(exc, httpx.TooManyRedirects):
            return f"more than {lim.max_redirects} redirects"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect: {exc or 'connection refused'}"
        if isinstance(exc, httpx.UnsupportedProtocol):
            return "not an http(s) URL"
        if isinstance(exc, httpx.InvalidURL | ValueError):
            return f"not a valid URL ({exc})"
        if isinstance(exc, httpx.DecodingError):
            return f"the compressed response is broken: {exc}"
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"the server broke the HTTP exchange: {exc}"
        return f"{type(exc).__name__}: {exc}"


def _host(url: str) -> str:
    """The host a request goes to, as the per-host limit counts them."""
    try:
        return httpx.URL(url).host.lower() or url
    except (httpx.InvalidURL, ValueError, TypeError):
        return url


def _moved(response: httpx.Response) -> str | None:
    """Where the redirects that came first and were permanent (301, 308) led: the address to
    ask from now on. A temporary one (302, 307) ends the chain that counts."""
    hops = [*response.history, response]
    moved = None
    for hop, after in pairwise(hops):
        if hop.status_code not in (301, 308):
            break
        moved = str(after.request.url)
    return moved


def _retry_after(r: Fetched) -> float | None:
    """The wait a 429 or 503 asks for (`Retry-After`: seconds or an HTTP date), else None."""
    if r.status not in _BUSY:
        return None
    value = r.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _seconds(s: float) -> str:
    if s >= 3600 and s % 3600 == 0:
        return f"{s / 3600:g} h"
    return f"{s:g} s" if s < 120 else f"{s / 60:.0f} min"
