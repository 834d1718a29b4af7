"""The async fetcher against a local HTTP server: headers, 304s, redirects, gzip, caps, errors."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Response

from digest import __version__
from digest.sources.fetch import Fetched, Fetcher, FetchLimits


def fetch(url: str, limits: FetchLimits | None = None, **kw: Any) -> Fetched:
    """GET `url` as for a feed configured at that address (on this machine, so private hosts
    are allowed: see tests/test_guard.py for the rule)."""

    async def go() -> Fetched:
        async with Fetcher(limits) as f:
            return await f.get(url, source_url=url, **kw)

    return asyncio.run(go())


def test_user_agent_and_accept(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f").respond_with_data("<rss/>")
    r = fetch(httpserver.url_for("/f"))
    assert r.ok and r.body == b"<rss/>"
    (request, _), *_ = httpserver.log
    assert request.headers["User-Agent"].startswith(f"digest/{__version__} ")
    assert "application/rss+xml" in request.headers["Accept"]
    assert "gzip" in request.headers["Accept-Encoding"]


def test_conditional_get_sends_validators_and_reads_304(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/f",
        headers={"If-None-Match": '"abc"', "If-Modified-Since": "Mon, 23 Nov 2026 10:00:00 GMT"},
    ).respond_with_data("", status=304)
    r = fetch(httpserver.url_for("/f"), etag='"abc"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT")
    assert r.not_modified and r.error is None and r.body == b""


def test_validators_are_returned(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f").respond_with_data(
        "x", headers={"ETag": 'W/"1"', "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"}
    )
    r = fetch(httpserver.url_for("/f"))
    assert r.etag == 'W/"1"' and r.last_modified == "Mon, 23 Nov 2026 10:00:00 GMT"


def test_redirects_are_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("here")
    r = fetch(httpserver.url_for("/old"))
    assert r.ok and r.body == b"here" and r.final_url == httpserver.url_for("/new")


def test_redirect_loop_stops(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/loop")}
    )
    r = fetch(httpserver.url_for("/loop"), FetchLimits(max_redirects=3))
    assert not r.ok and r.error == "more than 3 redirects"


def test_gzip_content_encoding_is_decoded(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f").respond_with_data(
        gzip.compress(b"<rss>" + b"a" * 1000 + b"</rss>"), headers={"Content-Encoding": "gzip"}
    )
    r = fetch(httpserver.url_for("/f"))
    assert r.body == b"<rss>" + b"a" * 1000 + b"</rss>"


def test_gzip_bomb_is_capped_on_the_decoded_size(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f").respond_with_data(
        gzip.compress(b"\0" * 5_000_000), headers={"Content-Encoding": "gzip"}
    )
    r = fetch(httpserver.url_for("/f"), FetchLimits(max_bytes=1_000_000))
    assert r.body == b"" and r.error == "the response passed the 977 KB cap; cut off there"


def test_http_error_status(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/f").respond_with_data("no", status=403)
    r = fetch(httpserver.url_for("/f"))
    assert not r.ok and r.status == 403 and r.error == "HTTP 403 FORBIDDEN"


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = fetch(f"http://127.0.0.1:{port}/f")
    assert r.status is None and r.error is not None and r.error.startswith("cannot connect")


def test_not_http() -> None:
    r = fetch("ftp://example.org/feed")
    assert r.error == "not an http(s) URL"


def test_deadline_stops_a_server_that_drips(httpserver: HTTPServer) -> None:
    def drip() -> Any:
        for _ in range(20):
            time.sleep(0.1)
            yield b"x"

    httpserver.expect_request("/f").respond_with_response(Response(drip()))
    r = fetch(httpserver.url_for("/f"), FetchLimits(read_timeout=1, deadline=0.5))
    assert r.error == "no complete answer within 0.5 s"


def test_concurrency_is_bounded() -> None:
    """At most `concurrency` requests are in flight, seen from the server's side."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            time.sleep(0.05)
            with lock:
                state["now"] -= 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"

        async def go() -> list[Fetched]:
            async with Fetcher(FetchLimits(concurrency=3, per_host=10)) as f:
                return await asyncio.gather(
                    *(f.get(f"{url}{i}", source_url=url) for i in range(12))
                )

        results = asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
    assert all(r.ok for r in results)
    assert state["peak"] == 3


def test_invalid_url_is_an_error_not_an_exception() -> None:
    """httpx raises InvalidURL (not an HTTPError) for a host name it cannot encode; it escaped
    `get`, and from a teaser's page fetch, `gather` itself."""
    r = fetch("http://\u2603.example/story")
    assert r.status is None and r.error is not None
    assert r.error.startswith("not a valid URL (Invalid IDNA hostname")


def test_validator_that_cannot_be_sent_back_is_left_out(httpserver: HTTPServer) -> None:
    """A stored ETag with a non-ASCII character cannot go in a request header; sending it
    raised UnicodeEncodeError. The GET goes out unconditionally instead."""
    httpserver.expect_request("/f").respond_with_data("<rss/>")
    r = fetch(httpserver.url_for("/f"), etag='"caf\xe9"', last_modified="Mon, 23 Nov 2026")
    assert r.ok and r.body == b"<rss/>"
    (request, _), *_ = httpserver.log
    assert "If-None-Match" not in request.headers
    assert request.headers["If-Modified-Since"] == "Mon, 23 Nov 2026"


def test_gzip_bomb_never_inflates_far_past_the_cap(httpserver: HTTPServer) -> None:
    """100 KB of gzip that inflates to 100 MB: httpx inflated each network chunk whole
    (~64 MB at a time) before the cap was checked. Decoding in 64 KB pieces keeps the peak
    near the cap."""
    import tracemalloc

    httpserver.expect_request("/f").respond_with_data(
        gzip.compress(b"\0" * 100_000_000, 9), headers={"Content-Encoding": "gzip"}
    )
    tracemalloc.start()
    try:
        r = fetch(httpserver.url_for("/f"), FetchLimits(max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.error == "the response passed the 977 KB cap; cut off there"
    assert peak < 30_000_000  # before: ~150 MB; the server thread and pytest count in it too


def test_deflate_with_and_without_zlib_header(httpserver: HTTPServer) -> None:
    import zlib

    text = b"<rss>" + b"deflated " * 500 + b"</rss>"
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies = {"/zlib": zlib.compress(text), "/raw": raw.compress(text) + raw.flush()}
    for path, body in bodies.items():
        httpserver.expect_request(path).respond_with_data(
            body, headers={"Content-Encoding": "deflate"}
        )
        assert fetch(httpserver.url_for(path)).body == text, path


def test_two_gzip_members_and_a_broken_stream(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/two").respond_with_data(
        gzip.compress(b"<rss>one") + gzip.compress(b"two</rss>"),
        headers={"Content-Encoding": "gzip"},
    )
    httpserver.expect_request("/broken").respond_with_data(
        b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/br").respond_with_data(b"xx", headers={"Content-Encoding": "br"})
    assert fetch(httpserver.url_for("/two")).body == b"<rss>onetwo</rss>"
    broken = fetch(httpserver.url_for("/broken"))
    assert broken.error is not None and broken.error.startswith("the compressed response is broken")
    br = fetch(httpserver.url_for("/br"))
    assert (
        br.error == "the compressed response is broken: digest cannot decode Content-Encoding 'br'"
    )
