"""Gathering feeds served locally with 50 ms added latency: concurrent vs one after another, and
1,000 feeds on 50 hosts with the per-host limit, then 30 simulated days of hourly polls.

    .venv/bin/python bench/bench_gather.py [--sizes 25,50,100] [--items 20] [--repeat 3]
    .venv/bin/python bench/bench_gather.py --feeds 1000 --hosts 50 [--rss2email auto] \
        [--days 30 --sim-feeds 100 --keep-days 90,7]

A server in its own process serves the feeds, each on one of `--hosts` loopback addresses
(127.0.0.1 to 127.0.0.N: Linux routes all of 127.0.0.0/8 to loopback, so each is a host of its
own to digest's per-host limit), all on one port, and answers `If-None-Match` with 304; every
response, 200 or 304, waits `--latency` seconds first. It counts what it is asked (requests, 200
and 304, the most requests in flight at once to one host and in all) and reports it on
`/_stats`, which the measuring processes read before and after each run.

`--sizes` (the default mode): for each size, a fresh process runs `digest.pipeline.gather` twice
on a fresh state folder: the first run fetches and parses everything, the second finds every
feed unchanged (all 304). The same code runs with the default concurrency and with concurrency
1, the one-after-another way classic feed-to-email tools such as rss2email work. Each cell is
the median of `--repeat` runs, each in a fresh process; peak memory is the largest peak RSS of
those processes.

`--feeds N` (the scenario of issue 17): N feeds of 20 items with varied text, on `--hosts`
hosts. Each row is one fresh process (its peak RSS is the row's): `gather` on a fresh state,
then `gather` again on that state (all 304); a `digest poll` round (`poll_sources`) on a fresh
state, then again with `--all` (all 304); and rss2email (`r2e run --no-send` after an OPML
import of the same feeds, its first and second run) when `--rss2email` names its `r2e`, or
`auto` installs it into a throwaway venv (skipped, with a line saying why, when that fails).

`--days D` then drives `poll_sources` with an injected clock, hour by hour for D×24 rounds, on
`--sim-feeds` of the feeds, once per `--keep-days` value, in a fresh process each: every feed
publishes a new item every 2 to 6 hours (by its number) and keeps its last 20, the server's
clock following the poll's. At the end of days 1, 7, 15 and 30 it prints the state file's size
and row counts, the process's memory, and the requests of that stretch.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


# -- feeds whose items have text of their own and come and go with a clock -------------------

_SYLLABLES = [
    "ba",
    "ko",
    "ri",
    "tel",
    "man",
    "sor",
    "vi",
    "den",
    "lo",
    "pra",
    "gu",
    "ste",
    "na",
    "mi",
    "ther",
    "on",
    "cal",
    "fe",
    "zu",
    "ly",
]
VOCABULARY = [a + b for a in _SYLLABLES for b in _SYLLABLES] + [
    a + b + c for a in _SYLLABLES[:8] for b in _SYLLABLES for c in _SYLLABLES[:10]
]
"""About 2,000 made-up words, drawn with Zipf-like weights, so two stories rarely read alike
(the grouping stage compares them) while common words recur as in real text."""
_WEIGHTS = list(__import__("itertools").accumulate(1 / (r + 1) for r in range(len(VOCABULARY))))
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
ITEMS_KEPT = 20


def period_hours(index: int) -> int:
    """How often feed `index` publishes: every 2 to 6 hours."""
    return 2 + index % 5


def latest_item(index: int, at: datetime) -> int:
    """The number of feed `index`'s newest item at `at`."""
    hours = (at - EPOCH).total_seconds() / 3600 + (index * 37 % 60) / 60
    return int(hours // period_hours(index))


def _published(index: int, n: int) -> datetime:
    return EPOCH + timedelta(hours=n * period_hours(index) - (index * 37 % 60) / 60)


def live_item(index: int, n: int) -> str:
    rng = random.Random(index * 1_000_003 + n)
    words = rng.choices(VOCABULARY, cum_weights=_WEIGHTS, k=127)
    title = " ".join(words[:7]).capitalize()
    p1 = " ".join(words[7:67]).capitalize() + "."
    p2 = " ".join(words[67:]).capitalize() + "."
    url = f"https://site{index}.example.org/news/{n}"
    return (
        f"<item><title>{title}</title><link>{url}</link><guid>{url}</guid>"
        f"<pubDate>{format_datetime(_published(index, n))}</pubDate>"
        f"<description><![CDATA[<p>{p1}</p><p>{p2}</p>]]></description></item>"
    )


class LiveFeeds:
    """Feeds as they stand at the server's clock: the last `ITEMS_KEPT` items of each."""

    def __init__(self) -> None:
        self.clock = datetime.now(UTC)
        self._items: dict[tuple[int, int], str] = {}
        self._bodies: dict[int, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def feed(self, index: int) -> tuple[str, bytes]:
        """The feed's ETag and body now."""
        with self._lock:
            n = latest_item(index, self.clock)
            cached = self._bodies.get(index)
            if cached is None or cached[0] != n:
                numbers = range(n, n - ITEMS_KEPT, -1)
                for k in numbers:
                    if (index, k) not in self._items:
                        self._items[index, k] = live_item(index, k)
                self._items.pop((index, n - ITEMS_KEPT), None)
                body = (
                    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                    f"<title>Site {index}</title><link>https://site{index}.example.org/</link>"
                    + "".join(self._items[index, k] for k in numbers)
                    + "</channel></rss>"
                ).encode()
                cached = self._bodies[index] = (n, body)
            return f'"live-{index}-{cached[0]}"', cached[1]


# -- the server ------------------------------------------------------------------------------


def host_of(index: int, hosts: int) -> str:
    return f"127.0.0.{1 + index % hosts}"


def feed_urls(port: int, feeds: int, hosts: int, kind: str) -> list[str]:
    """`kind`: "feeds" (the `--sizes` feeds) or "live" (varied text, following the clock)."""
    return [f"http://{host_of(i, hosts)}:{port}/{kind}/{i}.xml" for i in range(feeds)]


class Counts:
    """What the server was asked since the last `/_stats`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.hosts: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_per_host = 0
        self.max_in_flight = 0

    def begin(self, host: str) -> None:
        with self.lock:
            self.hosts[host] += 1
            self.in_flight[host] += 1
            self.max_per_host = max(self.max_per_host, self.in_flight[host])
            self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))

    def end(self, host: str, status: int) -> None:
        with self.lock:
            self.in_flight[host] -= 1
            self.statuses[status] += 1

    def take(self) -> dict[str, object]:
        with self.lock:
            out = {
                "requests": sum(self.statuses.values()),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "hosts": len(self.hosts),
                "max_per_host": self.max_per_host,
                "max_in_flight": self.max_in_flight,
            }
            in_flight = self.in_flight
            self.reset()
            self.in_flight = in_flight
            return out


def serve(latency: float, items: int, count: int, hosts: int) -> None:
    """The feed server: prints its port, then serves until stdin closes.

    The `--sizes` feeds are made before serving, so the server's own work does not compete for
    the CPUs with the gatherer while it is measured; live feeds are made on first request at
    each clock (the scenario's first runs include that)."""
    feeds = {i: make_feed(i, items) for i in range(count)}
    live = LiveFeeds()
    counts = Counts()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every 200 on top of the latency we model.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith("/_"):
                self.control(parts.path, parse_qs(parts.query))
                return
            host = self.server.server_address[0]
            counts.begin(host)
            status = 0
            try:
                time.sleep(latency)
                status = self.feed(parts.path)
            finally:
                counts.end(host, status)

        def feed(self, path: str) -> int:
            kind, _, name = path.strip("/").partition("/")
            try:
                index = int(name.removesuffix(".xml"))
            except ValueError:
                index = -1
            if kind == "live" and index >= 0:
                etag, body = live.feed(index)
            elif kind == "feeds" and index in feeds:
                etag, body = f'"feed-{index}-v1"', feeds[index]
            else:
                self.send_error(404)
                return 404
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 304
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)
            return 200

        def control(self, path: str, query: dict[str, list[str]]) -> None:
            if path == "/_clock" and "at" in query:
                live.clock = datetime.fromisoformat(query["at"][0])
                out: dict[str, object] = {"clock": live.clock.isoformat()}
            elif path == "/_stats":
                out = counts.take()
            else:
                self.send_error(404)
                return
            body = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # the default 5 drops SYNs under load and adds 1 s retries
        daemon_threads = True

    for _ in range(20):  # one port free on every address
        servers = [Server(("127.0.0.1", 0), Handler)]
        port = servers[0].server_port
        try:
            for h in range(2, hosts + 1):
                servers.append(Server((f"127.0.0.{h}", port), Handler))
            break
        except OSError:
            for s in servers:
                s.server_close()
    else:
        raise SystemExit("no port free on all the loopback addresses")
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(port, flush=True)
    sys.stdin.read()  # then exit: the serving threads are daemons, and 50 shutdowns one after
    # another would take half a second each


def start_server(args: argparse.Namespace, static_feeds: int) -> tuple[subprocess.Popen, int]:
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
            str(static_feeds),
            "--hosts",
            str(args.hosts),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, int(server.stdout.readline())


def control(port: int, what: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{what}", timeout=30) as r:
        return json.loads(r.read())


# -- measuring processes ---------------------------------------------------------------------


def _config(urls: list[str], state: Path, keep_days: int | None = None):
    from digest.config import parse_config

    newsletter: dict[str, object] = {"state": str(state)}
    if keep_days is not None:
        newsletter["keep_days"] = keep_days
    data = {
        "newsletter": newsletter,
        "sources": [{"feed": u, "full_text": "never"} for u in urls],
        "lists": {"daily": {"sender": "d@example.org"}},
    }
    return parse_config(data, state.parent / "digest.toml")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def client(spec: dict) -> None:
    """One measurement in a fresh process, printed as JSON.

    `runs` gathers (or poll rounds) one after another on the state folder `state` (made when
    missing); each run's wall time, items, problems and what the server saw."""
    from digest.pipeline import gather, poll_sources
    from digest.sources.fetch import FetchLimits

    port = spec["port"]
    urls = feed_urls(port, spec["feeds"], spec["hosts"], spec["kind"])
    state = Path(spec["state"])
    config = _config(urls, state)
    lst = config.get_list("daily")
    limits = FetchLimits(concurrency=spec["concurrency"]) if spec.get("concurrency") else None
    base = _peak_mb()
    runs = []
    for k in range(spec["runs"]):
        control(port, "_stats")
        start = time.perf_counter()
        if spec["mode"] == "poll":
            report = poll_sources(config, limits=limits, every_source=k > 0 or spec["again"])
            items = sum(p.items for p in report.polled)
            problems = sum(len(p.problems) for p in report.polled)
            statuses = sorted({p.status for p in report.polled})
        else:
            result = gather(config, lst, limits=limits)
            items = sum(s.items for s in result.sources)
            problems = len(result.problems)
            statuses = sorted({s.status for s in result.sources})
        wall = time.perf_counter() - start
        runs.append(
            {
                "wall": wall,
                "items": items,
                "problems": problems,
                "source_statuses": statuses,
                "server": control(port, "_stats"),
            }
        )
    print(json.dumps({"runs": runs, "peak_rss_mb": _peak_mb(), "base_rss_mb": base}))


def run_client(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--client", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        out.check_returncode()
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(port: int, feeds: int, concurrency: int, hosts: int) -> dict[str, object]:
    """The `--sizes` cell: two gathers in one fresh process on a fresh state."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run_client(
            {
                "port": port,
                "feeds": feeds,
                "hosts": hosts,
                "kind": "feeds",
                "state": f"{tmp}/.digest",
                "mode": "gather",
                "runs": 2,
                "concurrency": concurrency,
            }
        )
    first, second = r["runs"]
    return {
        "first": first["wall"],
        "second": second["wall"],
        "problems": [first["problems"], second["problems"]],
        "second_statuses": second["source_statuses"],
        "peak_rss_mb": r["peak_rss_mb"],
    }


# -- rss2email -------------------------------------------------------------------------------


def find_rss2email(wanted: str | None, workdir: Path) -> tuple[str | None, str]:
    """The `r2e` to run and its version, or None and why not. `auto` installs rss2email from
    PyPI into a throwaway venv under `workdir`."""
    if not wanted:
        return None, "not asked (--rss2email auto, or the path of an r2e)"
    r2e = wanted
    if wanted == "auto":
        venv = workdir / "r2e-venv"
        try:
            subprocess.run(
                ["python3", "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120
            )
            subprocess.run(
                [str(venv / "bin/python"), "-m", "pip", "install", "-q", "rss2email>=3.14,<4"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"could not install rss2email into a venv: {exc}"
        r2e = str(venv / "bin/r2e")
    try:
        out = subprocess.run([r2e, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return None, f"cannot run {r2e}: {exc}"
    if out.returncode:
        return None, f"{r2e} --version failed: {out.stderr.strip()[-200:]}"
    return r2e, (out.stdout.strip() or out.stderr.strip()).split()[-1]


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd`; its wall time and its own peak RSS in MB (from wait4)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert p.stderr is not None
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])}… failed: {err.decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def measure_rss2email(r2e: str, port: int, urls: list[str]) -> list[dict[str, object]]:
    """rss2email, the classic feed-to-email tool, on the same server: the feeds imported from
    OPML, then `r2e run --no-send` twice (fetch and parse everything, then all 304), each timed
    as a whole command, with the server's counts and the command's peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        base = [r2e, "-c", f"{tmp}/r2e.cfg", "-d", f"{tmp}/r2e.json"]
        subprocess.run([*base, "new", "bench@example.org"], check=True, capture_output=True)
        outlines = "".join(
            f'<outline type="rss" text="f{i}" title="f{i}" xmlUrl="{u}"/>'
            for i, u in enumerate(urls)
        )
        opml = Path(tmp) / "feeds.opml"
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><head><title>bench</title></head>'
            f"<body>{outlines}</body></opml>"
        )
        subprocess.run([*base, "opmlimport", str(opml)], check=True, capture_output=True)
        runs = []
        for _ in range(2):
            control(port, "_stats")
            wall, peak = _timed([*base, "run", "--no-send"])
            runs.append({"wall": wall, "peak_rss_mb": peak, "server": control(port, "_stats")})
    return runs


# -- simulated days of hourly polls ----------------------------------------------------------

SIM_START = datetime(2026, 9, 1, tzinfo=UTC)
CHECKPOINT_DAYS = (1, 7, 15, 30)
_COUNTED = ("polled", "items", "http_cache", "poll_times")


def _state_files(state: Path) -> dict[str, object]:
    db = state / "state.sqlite3"
    wal = state / "state.sqlite3-wal"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _COUNTED}
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return {
        "db_bytes": db.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "free_bytes": free * page,
        "rows": rows,
    }


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def simulate(spec: dict) -> None:
    """Hourly poll rounds with an injected clock, in this process; a JSON line per checkpoint."""
    from digest.pipeline import poll_sources

    port, days = spec["port"], spec["days"]
    urls = feed_urls(port, spec["feeds"], spec["hosts"], "live")
    state = Path(spec["state"])
    config = _config(urls, state, keep_days=spec["keep_days"])
    checkpoints = sorted({d for d in CHECKPOINT_DAYS if d <= days} | {days})
    control(port, "_stats")
    walls: list[float] = []
    polled = new = pruned = 0
    servers: list[dict] = []
    for hour in range(days * 24):
        now = SIM_START + timedelta(hours=hour)
        control(port, f"_clock?at={now.isoformat().replace('+', '%2B')}")
        start = time.perf_counter()
        report = poll_sources(config, now=now)
        walls.append(time.perf_counter() - start)
        polled += len(report.polled)
        new += sum(p.new for p in report.polled)
        pruned += report.pruned
        problems = [p for s in report.polled for p in s.problems]
        if problems:
            print(json.dumps({"problems": problems[:5], "hour": hour}), file=sys.stderr)
        if (hour + 1) % 24 == 0 and (hour + 1) // 24 in checkpoints:
            server = control(port, "_stats")
            servers.append(server)
            print(
                json.dumps(
                    {
                        "day": (hour + 1) // 24,
                        "rounds": hour + 1,
                        "sources_read": polled,
                        "new_items": new,
                        "pruned": pruned,
                        "round_mean_s": statistics.fmean(walls),
                        "round_max_s": max(walls),
                        "rss_now_mb": _rss_now_mb(),
                        "peak_rss_mb": _peak_mb(),
                        "server": server,
                        **_state_files(state),
                    }
                ),
                flush=True,
            )
            walls = []


def run_simulation(spec: dict, say) -> list[dict]:
    p = subprocess.Popen(
        [sys.executable, __file__, "--simulate", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    points = []
    for line in p.stdout:
        point = json.loads(line)
        points.append(point)
        say(
            f"  keep_days={spec['keep_days']}: day {point['day']}, "
            f"{point['db_bytes'] / 1e6:.1f} MB, {point['rows']['polled']} polled rows"
        )
    if p.wait():
        raise RuntimeError(f"the simulation failed ({p.returncode})")
    return points


# -- the tables ------------------------------------------------------------------------------


def sizes_mode(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from digest.sources.fetch import FetchLimits

    concurrency = args.concurrency or FetchLimits().concurrency
    per_host = FetchLimits().per_host
    sizes = [int(x) for x in args.sizes.split(",")]
    repeat = args.repeat or 3
    server, port = start_server(args, max(sizes))
    feed_kb = len(make_feed(0, args.items)) / 1024
    table = Table(
        title=f"digest gather: {args.items} items (~{feed_kb:.0f} KB) per feed on {args.hosts} "
        f"host(s), {args.latency * 1000:.0f} ms latency per response, {os.cpu_count()} CPUs",
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
    tmp = Path(tempfile.mkdtemp(prefix="bench-gather-"))
    r2e, r2e_version = find_rss2email(args.rss2email, tmp)
    try:
        for n in sizes:
            results = {}
            for mode, c in (("concurrent", concurrency), ("one by one", 1)):
                runs = [measure(port, n, c, args.hosts) for _ in range(repeat)]
                for r in runs:
                    assert r["problems"] == [0, 0], r
                    assert r["second_statuses"] == ["304"], r
                r = {
                    "first": statistics.median(x["first"] for x in runs),
                    "second": statistics.median(x["second"] for x in runs),
                    "peak_rss_mb": max(x["peak_rss_mb"] for x in runs),
                }
                results[mode] = r
                label = f"{mode} ({c}, {per_host}/host)" if c > 1 else f"{mode} (1)"
                table.add_row(
                    str(n),
                    label,
                    f"{r['first']:.2f}",
                    f"{n / r['first']:.0f}",
                    f"{r['second']:.2f}",
                    f"{n / r['second']:.0f}",
                    f"{r['peak_rss_mb']:.0f}",
                )
            conc, seq = results["concurrent"], results["one by one"]
            speedups.append((n, seq["first"] / conc["first"], seq["second"] / conc["second"]))
            if r2e:
                urls = feed_urls(port, n, args.hosts, "feeds")
                runs2 = [measure_rss2email(r2e, port, urls) for _ in range(repeat)]
                r2 = {
                    k: statistics.median(x[i]["wall"] for x in runs2)
                    for i, k in enumerate(("first", "second"))
                }
                peak = max(x[i]["peak_rss_mb"] for x in runs2 for i in (0, 1))
                table.add_row(
                    str(n),
                    f"rss2email {r2e_version} (one by one)",
                    f"{r2['first']:.2f}",
                    f"{n / r2['first']:.0f}",
                    f"{r2['second']:.2f}",
                    f"{n / r2['second']:.0f}",
                    f"{peak:.0f}",
                )
                versus.append((n, r2["first"] / conc["first"], r2["second"] / conc["second"]))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    console = Console(width=120)
    console.print(table)
    if not r2e:
        console.print(f"rss2email skipped: {r2e_version}")
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


def _row(table, scenario: str, feeds: int, hosts: int, run: dict, peak: float) -> None:
    s = run["server"]
    st = s["statuses"]
    others = s["requests"] - st.get("200", 0) - st.get("304", 0)
    table.add_row(
        scenario,
        f"{feeds:,}",
        str(hosts),
        f"{run['wall']:.1f}",
        f"{s['requests']:,}",
        f"{st.get('200', 0):,}/{st.get('304', 0):,}" + (f" (+{others} other)" if others else ""),
        str(s["max_per_host"]),
        str(s["max_in_flight"]),
        f"{peak:.0f}",
    )


def scenario_mode(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from digest.sources.fetch import FetchLimits

    console = Console(width=150)
    say = console.print
    limits = FetchLimits()
    feeds, hosts = args.feeds, args.hosts
    began = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gather-"))
    server, port = start_server(args, 0)
    try:
        r2e, r2e_version = find_rss2email(args.rss2email, tmp)
        say(f"server on port {port}, {hosts} hosts; rss2email: {r2e_version}")
        table = Table(
            title=f"{feeds:,} feeds on {hosts} hosts, {ITEMS_KEPT} items each, "
            f"{args.latency * 1000:.0f} ms per response; digest {limits.concurrency} at once, "
            f"{limits.per_host} per host; {os.cpu_count()} CPUs",
            title_justify="left",
        )
        for col in (
            "scenario",
            "feeds",
            "hosts",
            "wall s",
            "requests",
            "200/304",
            "max/host",
            "max in flight",
            "peak MB",
        ):
            table.add_column(col, justify="left" if col == "scenario" else "right")
        repeat = args.repeat or 1
        for mode, label in (("gather", "digest gather"), ("poll", "digest poll")):
            for k in range(repeat):
                state = tmp / f"{mode}-{k}" / ".digest"
                for step, again in (("1st fetch", False), ("2nd, all 304", True)):
                    spec = {
                        "port": port,
                        "feeds": feeds,
                        "hosts": hosts,
                        "kind": "live",
                        "state": str(state),
                        "mode": mode,
                        "runs": 1,
                        "again": again,
                    }
                    r = run_client(spec)
                    run = r["runs"][0]
                    if run["problems"]:
                        say(f"  {label} {step}: {run['problems']} problem(s)")
                    say(f"  {label} {step}: {run['wall']:.1f} s")
                    name = f"{label} ({step})" + (" --all" if mode == "poll" and again else "")
                    _row(table, name, feeds, hosts, run, r["peak_rss_mb"])
        if r2e:
            urls = feed_urls(port, feeds, hosts, "live")
            for _ in range(repeat):
                runs = measure_rss2email(r2e, port, urls)
                for step, run in zip(("1st fetch", "2nd, all 304"), runs, strict=True):
                    say(f"  rss2email {step}: {run['wall']:.1f} s")
                    _row(
                        table,
                        f"rss2email {r2e_version} run --no-send ({step})",
                        feeds,
                        hosts,
                        run,
                        run["peak_rss_mb"],
                    )
        console.print(table)
        if not r2e:
            say(f"rss2email skipped: {r2e_version}")
        if args.days:
            simulation(args, port, tmp, say, console)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"bench took {time.perf_counter() - began:.0f} s")


def simulation(args: argparse.Namespace, port: int, tmp: Path, say, console) -> None:
    from rich.table import Table

    feeds = args.sim_feeds or args.feeds
    hosts = min(args.hosts, feeds)
    table = Table(
        title=f"{args.days} simulated days of hourly `digest poll` rounds ({args.days * 24} "
        f"rounds), {feeds:,} feeds on {hosts} hosts, each publishing every 2-6 h and keeping "
        f"its last {ITEMS_KEPT}; one process per keep_days",
        title_justify="left",
    )
    for col in (
        "keep_days",
        "day",
        "state MB",
        "free MB",
        "polled",
        "items",
        "cache",
        "new",
        "pruned",
        "requests",
        "200/304",
        "round s",
        "RSS MB",
    ):
        table.add_column(col, justify="right")
    for keep in (int(k) for k in args.keep_days.split(",")):
        spec = {
            "port": port,
            "feeds": feeds,
            "hosts": hosts,
            "days": args.days,
            "keep_days": keep,
            "state": str(tmp / f"sim-{keep}" / ".digest"),
        }
        for p in run_simulation(spec, say):
            st = p["server"]["statuses"]
            table.add_row(
                str(keep),
                str(p["day"]),
                f"{(p['db_bytes'] + p['wal_bytes']) / 1e6:.2f}",
                f"{p['free_bytes'] / 1e6:.2f}",
                f"{p['rows']['polled']:,}",
                f"{p['rows']['items']:,}",
                f"{p['rows']['http_cache']:,}",
                f"{p['new_items']:,}",
                f"{p['pruned']:,}",
                f"{p['server']['requests']:,}",
                f"{st.get('200', 0):,}/{st.get('304', 0):,}",
                f"{p['round_mean_s']:.2f}/{p['round_max_s']:.2f}",
                f"{p['rss_now_mb']:.0f}/{p['peak_rss_mb']:.0f}",
            )
    console.print(table)
    console.print(
        "state MB: the state file and its WAL at the end of the day; free MB: its free pages; "
        "polled, items, cache: rows of the tables polled (entries kept), items (first "
        "sightings), http_cache (one per feed); new, pruned: entries since the start; "
        "requests and 200/304 since the row before; round s: mean/max wall time of a round "
        "since the row before; RSS MB: the polling process's now/peak"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="25,50,100", help="feed counts (default 25,50,100)")
    ap.add_argument("--items", type=int, default=20, help="items per feed (default 20)")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added per response")
    ap.add_argument("--concurrency", type=int, default=None, help="default: FetchLimits'")
    ap.add_argument(
        "--repeat", type=int, default=None, help="runs per cell (default 3; --feeds: 1)"
    )
    ap.add_argument(
        "--hosts", type=int, default=1, help="loopback addresses the feeds spread over (1-254)"
    )
    ap.add_argument("--feeds", type=int, default=0, help="the scenario: this many feeds")
    ap.add_argument("--days", type=int, default=0, help="with --feeds: simulated days of polls")
    ap.add_argument("--sim-feeds", type=int, default=0, help="feeds polled in the simulation")
    ap.add_argument("--keep-days", default="90,7", help="keep_days values to simulate")
    ap.add_argument(
        "--rss2email",
        metavar="R2E",
        help="also run rss2email's `r2e` command: its path, or `auto` to install rss2email "
        "from PyPI into a throwaway venv",
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--max-feeds", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--client", help=argparse.SUPPRESS)
    ap.add_argument("--simulate", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not 1 <= args.hosts <= 254:
        ap.error("--hosts is between 1 and 254")
    if args.serve:
        serve(args.latency, args.items, args.max_feeds, args.hosts)
    elif args.client:
        client(json.loads(args.client))
    elif args.simulate:
        simulate(json.loads(args.simulate))
    elif args.feeds:
        scenario_mode(args)
    else:
        sizes_mode(args)


if __name__ == "__main__":
    main()
