"""Polite to hosts (issue 17): the per-host limit, `Retry-After`, permanent redirects, 410 Gone,
a page source's remembered feed and the back-off of a failing source, seen from a real local
server's side (what it was asked, and how many at once) and through real state."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from digest.sources.fetch import Fetched, Fetcher, FetchLimits

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Server:
    """A threaded HTTP server on 127.0.0.1: `routes[path]` answers (a function of how many
    times that path was asked, from 1); it counts requests per path and the most requests in
    flight at once per Host header."""

    routes: dict[str, Callable[[int], Answer]] = field(default_factory=dict)
    delay: float = 0.0
    asked: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _now: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, path: str, host: str) -> Answer:
        with self._lock:
            self.asked[path] += 1
            n = self.asked[path]
            self._now[host] += 1
            self.peak[host] = max(self.peak[host], self._now[host])
        try:
            if self.delay:
                time.sleep(self.delay)
            route = self.routes.get(path)
            return route(n) if route else (404, {}, b"not here")
        finally:
            with self._lock:
                self._now[host] -= 1


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "").rsplit(":", 1)[0]
            status, headers, body = server.answer(self.path, host)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = httpd.server_port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def ok(body: bytes = b"ok", **headers: str) -> Callable[[int], Answer]:
    return lambda n: (200, dict(headers), body)


def get_all(urls: list[str], limits: FetchLimits | None = None) -> list[Fetched]:
    async def go() -> list[Fetched]:
        async with Fetcher(limits) as f:
            return await asyncio.gather(*(f.get(u, source_url=u) for u in urls))

    return asyncio.run(go())


# The per-host limit.


def test_per_host_limit_is_observed_by_the_server() -> None:
    """Six feeds on one host are asked two at a time, while another host's feeds go ahead."""
    server = Server(delay=0.2)
    for i in range(8):
        server.routes[f"/f{i}"] = ok()
    with serving(server):
        urls = [server.url(f"/f{i}") for i in range(6)]
        urls += [server.url(f"/f{i}", host="localhost") for i in (6, 7)]
        results = get_all(urls)
    assert all(r.ok for r in results)
    assert server.peak["127.0.0.1"] == 2
    assert server.peak["localhost"] == 2  # not held behind the first host's queue


def test_per_host_limit_is_a_setting() -> None:
    server = Server(delay=0.1)
    for i in range(4):
        server.routes[f"/f{i}"] = ok()
    with serving(server):
        results = get_all([server.url(f"/f{i}") for i in range(4)], FetchLimits(per_host=1))
    assert all(r.ok for r in results)
    assert server.peak["127.0.0.1"] == 1


# Retry-After.


def busy_then_ok(status: int, retry_after: str) -> Callable[[int], Answer]:
    return lambda n: (status, {"Retry-After": retry_after}, b"busy") if n == 1 else (200, {}, b"ok")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_within_the_cap_is_waited_out(status: int) -> None:
    server = Server(routes={"/f": busy_then_ok(status, "1")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.ok and r.body == b"ok"
    assert server.asked["/f"] == 2


def test_retry_after_as_an_http_date() -> None:
    server = Server(routes={"/f": busy_then_ok(503, "Thu, 01 Jan 1970 00:00:00 GMT")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.ok and server.asked["/f"] == 2


def test_retry_after_over_the_cap_skips_the_host_for_the_run() -> None:
    server = Server(
        routes={
            "/a": busy_then_ok(429, "3600"),
            "/b": ok(),
            "/elsewhere": ok(),
        }
    )
    with serving(server):
        urls = [server.url("/a"), server.url("/b"), server.url("/elsewhere", host="localhost")]
        a, b, elsewhere = get_all(urls, FetchLimits(retry_after_cap=2, per_host=1))
    assert a.error == (
        "HTTP 429 Too Many Requests; 127.0.0.1 asks digest to wait 1 h, more than the 2 s cap"
    )
    assert a.retry_after == 3600
    # /b, on the same host, is not asked after that; another host is.
    assert b.error is not None and "not asked again this run" in b.error
    assert server.asked == Counter({"/a": 1, "/elsewhere": 1})
    assert elsewhere.ok


def test_a_second_busy_answer_is_not_waited_for_again() -> None:
    server = Server(routes={"/f": lambda n: (503, {"Retry-After": "1"}, b"busy")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.status == 503 and r.error == "HTTP 503 Service Unavailable"
    assert server.asked["/f"] == 2


# Redirects, as the fetcher reports them.


def redirect(status: int, to: str) -> Callable[[int], Answer]:
    return lambda n: (status, {"Location": to}, b"")


@pytest.mark.parametrize(
    ("status", "moved"), [(301, True), (308, True), (302, False), (307, False)]
)
def test_permanent_redirects_are_reported(status: int, moved: bool) -> None:
    server = Server(routes={"/old": redirect(status, "/new"), "/new": ok()})
    with serving(server):
        (r,) = get_all([server.url("/old")])
    assert r.ok
    assert r.moved_to == (server.url("/new") if moved else None)


def test_a_temporary_hop_ends_the_move() -> None:
    """301 to /b, then 302 to /c: the feed moved to /b (its /c is for now only)."""
    server = Server(routes={"/a": redirect(301, "/b"), "/b": redirect(302, "/c"), "/c": ok()})
    with serving(server):
        (r,) = get_all([server.url("/a")])
    assert r.ok and r.moved_to == server.url("/b")


def test_a_move_to_nowhere_is_not_a_move() -> None:
    server = Server(routes={"/old": redirect(301, "/new")})
    with serving(server):
        (r,) = get_all([server.url("/old")])
    assert r.status == 404 and r.moved_to is None
