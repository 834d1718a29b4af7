"""Gathering N feeds served locally with 50 ms added latency: concurrent vs one after another.

    .venv/bin/python bench/bench_gather.py [--sizes 25,50,100] [--items 20] [--repeat 3]

A server in its own process serves N distinct RSS 2.0 feeds (each `--items` items with
two-paragraph descriptions, dated within the last hours) and answers `If-None-Match` with 304;
every response, 200 or 304, waits `--latency` seconds first. For each size, a fresh process
runs `digest.pipeline.gather` twice on a fresh state folder: the first run fetches and parses
everything, the second finds every feed unchanged (all 304). The same code runs with the
default concurrency and with concurrency 1, the one-after-another way classic feed-to-email
tools such as rss2email work. Each cell is the median of `--repeat` runs, each in a fresh
process; peak memory is the largest peak RSS of those processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = [
    "the",
    "council",
    "said",
    "on",
    "tuesday",
    "that",
    "its",
    "plans",
    "for",
    "the",
    "new",
    "bridge",
    "would",
    "go",
    "ahead",
    "despite",
    "objections",
    "from",
    "residents",
    "who",
    "fear",
    "more",
    "traffic",
    "and",
    "noise",
    "in",
    "the",
    "old",
    "town",
    "while",
    "engineers",
    "expect",
    "work",
    "to",
    "begin",
    "next",
    "spring",
    "and",
    "finish",
    "within",
    "two",
    "years",
    "at",
    "a",
    "cost",
    "of",
    "forty",
    "million",
]


def make_feed(index: int, items: int) -> bytes:
    """A realistic RSS 2.0 feed: `items` entries with two paragraphs of about 60 words each."""
    now = datetime.now(UTC)
    parts = []
    for j in range(items):
        words = [WORDS[(index * 7 + j * 3 + k) % len(WORDS)] for k in range(120)]
        p1 = " ".join(words[:60]).capitalize() + "."
        p2 = " ".join(words[60:]).capitalize() + "."
        when = format_datetime(now - timedelta(minutes=10 * j + index))
        parts.append(
            f"<item><title>Feed {index} story {j}</title>"
            f"<link>https://site{index}.example.org/2026/story-{j}</link>"
            f"<guid>https://site{index}.example.org/2026/story-{j}</guid>"
            f"<pubDate>{when}</pubDate>"
            f"<description><![CDATA[<p>{p1}</p><p>{p2}</p>]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {index}</title><link>https://site{index}.example.org/</link>"
        f"{''.join(parts)}</channel></rss>"
    ).encode()


def serve(latency: float, items: int, count: int) -> None:
    """The feed server: prints its port, then serves until stdin closes.

    Feeds are made before serving, so the server's own work does not compete for the CPUs
    with the gatherer while it is measured."""
    feeds = {i: make_feed(i, items) for i in range(count)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every 200 on top of the latency we model.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            time.sleep(latency)
            try:
                index = int(self.path.rsplit("/", 1)[-1].removesuffix(".xml"))
            except ValueError:
                index = -1
            etag = f'"feed-{index}-v1"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = feeds.get(index)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default 5 drops SYNs under load and adds 1 s retries

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()


def client(port: int, feeds: int, concurrency: int) -> None:
    """One measurement in a fresh process: two gathers, printed as JSON."""
    from digest.config import parse_config
    from digest.pipeline import gather
    from digest.sources.fetch import FetchLimits

    with tempfile.TemporaryDirectory() as tmp:
        data = {
            "newsletter": {"state": ".digest"},
            "sources": [
                {"feed": f"http://127.0.0.1:{port}/feeds/{i}.xml", "full_text": "never"}
                for i in range(feeds)
            ],
            "lists": {"daily": {"sender": "d@example.org"}},
        }
        config = parse_config(data, Path(tmp) / "digest.toml")
        lst = config.get_list("daily")
        limits = FetchLimits(concurrency=concurrency)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times, counts, problems = [], [], []
        for _ in range(2):
            start = time.perf_counter()
            result = gather(config, lst, limits=limits)
            times.append(time.perf_counter() - start)
            counts.append(sum(s.items for s in result.sources))
            problems.append(len(result.problems))
            statuses = {s.status for s in result.sources}
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "first": times[0],
                "second": times[1],
                "items": counts,
                "problems": problems,
                "second_statuses": sorted(statuses),
                "peak_rss_mb": peak / 1024,
                "base_rss_mb": rss_before / 1024,
            }
        )
    )


def measure(port: int, feeds: int, concurrency: int) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--client", str(port), str(feeds), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_rss2email(r2e: str, port: int, feeds: int) -> dict[str, float]:
    """rss2email, the classic feed-to-email tool, on the same server: `r2e run --no-send`
    twice (fetch and parse everything, then all 304), timed as whole commands."""
    with tempfile.TemporaryDirectory() as tmp:
        base = [r2e, "-c", f"{tmp}/r2e.cfg", "-d", f"{tmp}/r2e.json"]
        subprocess.run([*base, "new", "bench@example.org"], check=True, capture_output=True)
        for i in range(feeds):
            subprocess.run(
                [*base, "add", f"f{i}", f"http://127.0.0.1:{port}/feeds/{i}.xml"],
                check=True,
                capture_output=True,
            )
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run([*base, "run", "--no-send"], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return {"first": times[0], "second": times[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="25,50,100", help="feed counts (default 25,50,100)")
    ap.add_argument("--items", type=int, default=20, help="items per feed (default 20)")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added per response")
    ap.add_argument("--concurrency", type=int, default=None, help="default: FetchLimits'")
    ap.add_argument("--repeat", type=int, default=3, help="runs per cell; the median is shown")
    ap.add_argument(
        "--rss2email",
        metavar="R2E",
        help="also time rss2email's `r2e` command (install it in a venv of its own, e.g. "
        "python3 -m venv /tmp/r2e && /tmp/r2e/bin/pip install rss2email)",
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--max-feeds", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--client", nargs=3, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.latency, args.items, args.max_feeds)
        return
    if args.client:
        client(*args.client)
        return

    from rich.console import Console
    from rich.table import Table

    from digest.sources.fetch import FetchLimits

    concurrency = args.concurrency or FetchLimits().concurrency
    sizes = [int(x) for x in args.sizes.split(",")]
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--latency",
            str(args.latency),
            "--items",
            str(args.items),
            "--max-feeds",
            str(max(sizes)),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    feed_kb = len(make_feed(0, args.items)) / 1024
    table = Table(
        title=f"digest gather: {args.items} items (~{feed_kb:.0f} KB) per feed, "
        f"{args.latency * 1000:.0f} ms latency per response, {os.cpu_count()} CPUs",
        title_justify="left",
    )
    for col in (
        "feeds",
        "mode",
        "1st fetch s",
        "feeds/s",
        "2nd (304) s",
        "feeds/s",
        "peak RSS MB",
    ):
        table.add_column(col, justify="right")
    speedups: list[tuple[int, float, float]] = []
    versus: list[tuple[int, float, float]] = []
    began = time.perf_counter()
    try:
        for n in sizes:
            results = {}
            for mode, c in (("concurrent", concurrency), ("one by one", 1)):
                runs = [measure(port, n, c) for _ in range(args.repeat)]
                for r in runs:
                    assert r["problems"] == [0, 0], r
                    assert r["second_statuses"] == ["304"], r
                r = {
                    "first": statistics.median(x["first"] for x in runs),
                    "second": statistics.median(x["second"] for x in runs),
                    "peak_rss_mb": max(x["peak_rss_mb"] for x in runs),
                }
                results[mode] = r
                table.add_row(
                    str(n),
                    f"{mode} ({c})",
                    f"{r['first']:.2f}",
                    f"{n / r['first']:.0f}",
                    f"{r['second']:.2f}",
                    f"{n / r['second']:.0f}",
                    f"{r['peak_rss_mb']:.0f}",
                )
            conc, seq = results["concurrent"], results["one by one"]
            speedups.append((n, seq["first"] / conc["first"], seq["second"] / conc["second"]))
            if args.rss2email:
                runs = [measure_rss2email(args.rss2email, port, n) for _ in range(args.repeat)]
                r2e = {k: statistics.median(x[k] for x in runs) for k in ("first", "second")}
                table.add_row(
                    str(n),
                    "rss2email 3 (one by one)",
                    f"{r2e['first']:.2f}",
                    f"{n / r2e['first']:.0f}",
                    f"{r2e['second']:.2f}",
                    f"{n / r2e['second']:.0f}",
                    "",
                )
                versus.append((n, r2e["first"] / conc["first"], r2e["second"] / conc["second"]))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    console = Console(width=120)
    console.print(table)
    for n, first, second in speedups:
        console.print(
            f"{n:>4} feeds: concurrent is {first:.1f}x faster than one by one on the first "
            f"fetch, {second:.1f}x on the second (all 304)"
        )
    for n, first, second in versus:
        console.print(
            f"{n:>4} feeds: digest is {first:.1f}x faster than rss2email on the first fetch, "
            f"{second:.1f}x on the second (all 304)"
        )
    console.print(f"bench took {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
