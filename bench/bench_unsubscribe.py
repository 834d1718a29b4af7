"""A burst of RFC 8058 one-click unsubscribes against a real `digest serve`, at several list sizes.

    .venv/bin/python bench/bench_unsubscribe.py                  # 10k, 100k, 1M rows
    .venv/bin/python bench/bench_unsubscribe.py --sizes 10000,50000 --clicks 500
    .venv/bin/python bench/bench_unsubscribe.py --quick          # 10k rows, 200 clicks

For each size: a newsletter folder in a temp dir with one list of N rows (the project's CSV
format, every 50th row already unsubscribed, every 7th name quoted, every 10th address with a
`+`), `digest serve --port 0` in its own process (uvicorn on 127.0.0.1, DIGEST_SECRET set),
and `--clicks` subscribed readers picked at random over the whole file. After one untimed GET
of another reader's link (it creates the state database), their one-click POSTs (body
`List-Unsubscribe=One-Click`) go out `--concurrency` at a time: as many asyncio workers, each
with its own httpx.AsyncClient and keep-alive connection, each click timed from send to full
response.

Measured per size:
- req/s: clicks / (last response - first request); p50/p99/max: per-click latency.
- no answer, retried: POSTs that got a connection error instead of an answer; each is sent
  again (the POST is idempotent; a mail client retries), up to 3 times. Any makes the run exit
  1 after the table.
- CSV complete after: from the first click until a poll of the list file (every 5 ms, stat,
  then a read of each new version) first shows all the clicks in it.
- rewrites: how many times the server wrote the file, two ways: the distinct file versions
  (inode, mtime, size) the poll saw until the file was complete, and after the server stopped
  the distinct `applied_at` stamps in the state's status_changes (one per apply pass that
  wrote): shown as "seen/passes".
- server peak MB: VmHWM of the server process, read just before SIGTERM; its exit code must
  be 0 and its last line "digest serve: stopped".
- one rewrite per click: the median of 3 `SubscriberList(path).unsubscribe(address)` calls
  on a fresh copy of the original file, in this process after the server has stopped: the
  cost of one click in a design that rewrites the file on every click.

Then the CSV check: each clicked reader's row says `unsubscribed` with an `unsubscribed_at`
(address and name as before), and every other line is byte for byte the original one.
Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from digest.subscribers import SubscriberList
from digest.tokens import unsubscribe_url

SECRET = "bench-unsubscribe-secret"
LIST = "daily"
BODY = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ADDRESS = re.compile(r"digest serve: (http://\S+?)/? \(Ctrl-C to stop\)")
HEADER = "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", ""]
MARK = b",unsubscribed,"

CONFIG = """
[newsletter]
base_url = "https://news.example.org"

[[sources]]
name = "Articles"
folder = "articles"

[lists.daily]
title = "The Daily Bench"
sender = "Daily <daily@news.example.org>"
subscribers = "subscribers/daily.csv"
"""


class Failed(Exception):
    """A check did not hold: the run exits non-zero."""


def row(i: int, domain: str) -> tuple[str, str]:
    """Row i of the list (its line and address): mostly plain, every 10th address with a `+`
    and capitals, every 7th name quoted (it holds a comma), every 50th already unsubscribed."""
    local = f"reader.{i}" if i % 10 else f"Reader+news.{i}"
    email = f"{local}@{domain}"
    name = f'"Last{i}, First{i}"' if i % 7 == 0 else f"First{i} Last{i}"
    joined = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
    status, left = ("unsubscribed", "2026-01-15T08:30:00Z") if i % 50 == 0 else ("subscribed", "")
    topics = "news;tech" if i % 3 else ""
    line = f"{email},{name},{status},{joined},{left},{topics},{ZONES[i % len(ZONES)]}\n"
    return line, email


def newsletter(folder: Path, n: int, seed: int = 1) -> tuple[Path, bytes, list[str]]:
    """The folder with its digest.toml and a list of n rows; returns the list's path, its
    bytes, and every row's address (row i is line i + 1)."""
    rnd = random.Random(seed)
    (folder / "articles").mkdir(parents=True)
    (folder / "subscribers").mkdir()
    (folder / "digest.toml").write_text(CONFIG, encoding="utf-8")
    lines = [HEADER]
    emails: list[str] = []
    for i in range(n):
        line, email = row(i, f"mail{rnd.randrange(2000)}.example.com")
        lines.append(line)
        emails.append(email)
    data = "".join(lines).encode("utf-8")
    path = folder / "subscribers" / "daily.csv"
    path.write_bytes(data)
    return path, data, emails


@dataclass
class Server:
    """`digest serve` in its own process; its stderr is read by a thread as it comes."""

    proc: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, config: Path, flush_seconds: float | None) -> Server:
        cmd = [sys.executable, "-m", "digest", "serve", "--port", "0", "--config", str(config)]
        if flush_seconds is not None:
            cmd += ["--flush-seconds", str(flush_seconds)]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DIGEST_SECRET": SECRET},
        )
        server = cls(proc)
        assert proc.stderr is not None
        for line in proc.stderr:
            server.lines.append(line.rstrip("\n"))
            m = ADDRESS.search(line)
            if m:
                server.url = m.group(1)
                break
        if not server.url:
            proc.wait()
            raise Failed("digest serve did not start:\n" + "\n".join(server.lines[-30:]))
        server.reader = threading.Thread(target=server._drain, daemon=True)
        server.reader.start()
        return server

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def peak_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if m is None:
            raise Failed("no VmHWM in /proc/<pid>/status")
        return int(m.group(1)) / 1024

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failed("digest serve did not stop within 180 s of SIGTERM") from None
        if self.reader is not None:
            self.reader.join(timeout=10)
        return rc


class Watcher(threading.Thread):
    """Polls the list file: each new version (inode, mtime, size) is read through the same
    open file it was stat'ed from, and the clicks in it counted."""

    def __init__(self, path: Path, baseline: int, want: int, timeout: float) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.baseline = baseline
        self.want = want
        self.timeout = timeout
        self.versions: list[tuple[float, int]] = []  # (seen at, clicks in the file)
        self.complete_at: float | None = None
        self.started = time.perf_counter()
        self.stopping = threading.Event()
        self._last = self._version(path.stat())

    @staticmethod
    def _version(st: os.stat_result) -> tuple[int, int, int]:
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def run(self) -> None:
        deadline = self.started + self.timeout
        while time.perf_counter() < deadline and not self.stopping.is_set():
            with self.path.open("rb") as f:
                version = self._version(os.fstat(f.fileno()))
                if version != self._last:
                    seen = time.perf_counter()
                    self._last = version
                    clicks = f.read().count(MARK) - self.baseline
                    self.versions.append((seen, clicks))
                    if clicks >= self.want:
                        self.complete_at = seen
                        return
            time.sleep(0.005)


@dataclass
class Burst:
    start: float = 0.0
    end: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Per click: from its first attempt to the answer (retries included)."""
    statuses: list[int] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    """Attempts that got no answer (time after the start, error): retried, up to RETRIES."""


RETRIES = 3


async def burst(urls: list[str], concurrency: int) -> Burst:
    """POST every url from `concurrency` workers, each with its own client and keep-alive
    connection (one shared pool of that many connections keeps fewer busy: httpcore can queue
    two requests on one connection while another idles). A connection error is noted and the
    click sent again (a one-click POST is idempotent, and a mail client would retry), at most
    RETRIES times; a click that never got an answer has status 0."""
    out = Burst()
    todo = iter(urls)

    async def worker(client: httpx.AsyncClient) -> None:
        for url in todo:
            t = time.perf_counter()
            status = 0
            for _ in range(RETRIES + 1):
                try:
                    r = await client.post(url, content=BODY, headers=FORM)
                except httpx.TransportError as exc:
                    out.errors.append((time.perf_counter() - out.start, repr(exc)))
                    continue
                status = r.status_code
                break
            out.latencies.append(time.perf_counter() - t)
            out.statuses.append(status)

    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=one, timeout=120) for _ in range(concurrency)]
    try:
        out.start = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        out.end = time.perf_counter()
    finally:
        for c in clients:
            await c.aclose()
    return out


def passes(state_dir: Path) -> tuple[int, int, int]:
    """From the stopped server's state: (apply passes that wrote, changes, still pending)."""
    db = sqlite3.connect(f"file:{state_dir / 'state.sqlite3'}?mode=ro", uri=True)
    try:
        r = db.execute(
            "SELECT COUNT(DISTINCT applied_at), COUNT(*), SUM(applied_at IS NULL) "
            "FROM status_changes WHERE list = ?",
            (LIST,),
        ).fetchone()
    finally:
        db.close()
    return int(r[0]), int(r[1]), int(r[2] or 0)


def check_csv(before: bytes, after: bytes, chosen: set[int]) -> None:
    """The clicked rows (row i is line i + 1) unsubscribed, every other line its old bytes."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    if len(old) != len(new):
        raise Failed(f"CSV check: the file has {len(new)} lines, it had {len(old)}")
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if i - 1 in chosen:
            o = next(csv.reader([a.decode()]))
            c = next(csv.reader([b.decode()]))
            if c[2] != "unsubscribed" or not c[4] or c[:2] != o[:2] or c[3] != o[3]:
                raise Failed(f"CSV check: line {i + 1} of a clicked reader is {b!r}")
        elif a != b:
            raise Failed(f"CSV check: line {i + 1} changed: {a!r} -> {b!r}")


def one_rewrite(folder: Path, data: bytes, emails: list[str], picks: list[int]) -> float:
    """Median seconds of one `unsubscribe` (one whole rewrite) on a copy of the list."""
    folder.mkdir()
    path = folder / "daily.csv"
    path.write_bytes(data)
    times = []
    for i in picks:
        t = time.perf_counter()
        SubscriberList(path).unsubscribe(emails[i])
        times.append(time.perf_counter() - t)
    shutil.rmtree(folder)
    return statistics.median(times)


def run_size(tmp: Path, n: int, args: argparse.Namespace) -> dict[str, object]:
    folder = tmp / f"news-{n}"
    path, data, emails = newsletter(folder, n)
    rnd = random.Random(n)
    candidates = [i for i in range(n) if i % 50]  # subscribed rows
    if args.clicks + 1 > len(candidates):
        raise Failed(f"{n} rows hold fewer than {args.clicks + 1} subscribed readers")
    picked = rnd.sample(candidates, args.clicks + 1)
    warm, chosen = picked[0], picked[1:]  # chosen: in the order they click
    print(f"\n{n:,} rows ({len(data) / 1e6:.1f} MB): starting digest serve", flush=True)

    server = Server.start(folder / "digest.toml", args.flush_seconds)
    watcher = Watcher(path, data.count(MARK), len(chosen), timeout=args.timeout)
    try:
        base = server.url
        urls = [unsubscribe_url(base, SECRET, LIST, emails[i]) for i in chosen]
        r = httpx.get(unsubscribe_url(base, SECRET, LIST, emails[warm]), timeout=60)
        if r.status_code != 200:
            raise Failed(f"the warm-up GET answered {r.status_code}")
        watcher.start()
        b = asyncio.run(burst(urls, args.concurrency))
        for at, error in b.errors[:10]:
            print(f"  ! +{at:.2f} s: no answer ({error}), sent again")
        bad = [s for s in b.statuses if s != 200]
        if bad:
            raise Failed(f"{len(bad)} of {len(b.statuses)} clicks were not answered 200: {bad[:5]}")
        watcher.join()
        if watcher.complete_at is None:
            seen = watcher.versions[-1][1] if watcher.versions else 0
            raise Failed(
                f"after {args.timeout:.0f} s the file holds {seen} of {len(chosen)} clicks"
            )
        peak = server.peak_mb()
    finally:
        watcher.stopping.set()
        rc = server.stop() if server.proc.poll() is None else server.proc.returncode
        noise = [x for x in server.lines[1:-1] if x.strip()]
        if noise:
            print(f"  server stderr ({len(noise)} lines):\n    " + "\n    ".join(noise[:20]))
    if rc != 0 or not server.lines or server.lines[-1] != "digest serve: stopped":
        tail = "\n".join(server.lines[-20:])
        raise Failed(f"digest serve exited {rc} after SIGTERM (wanted 0); its stderr:\n{tail}")
    wrote, changes, pending = passes(folder / ".digest")
    if changes != len(chosen) or pending:
        raise Failed(f"state: {changes} changes recorded, {pending} still pending")

    check_csv(data, path.read_bytes(), set(chosen))
    print(
        f"CSV check: ok ({len(chosen):,} unsubscribed, {n - len(chosen):,} other rows "
        "byte-identical)"
    )
    timeline = ", ".join(f"+{t - b.start:.2f} s ({c:,})" for t, c in watcher.versions)
    print(f"versions of the file seen (time after the first click, clicks in it): {timeline}")
    print(f"burst: {b.end - b.start:.2f} s, server exit code after SIGTERM: {rc}")

    single = one_rewrite(tmp / f"one-{n}", data, emails, chosen[:3])
    print(
        f"one rewrite per click: {single:.3f} s each, so {len(chosen):,} clicks one rewrite "
        f"each would take ≈ {single * len(chosen):,.0f} s"
    )
    shutil.rmtree(folder)
    q = statistics.quantiles(b.latencies, n=100, method="inclusive")
    return {
        "rows": n,
        "clicks": len(chosen),
        "rps": len(chosen) / (b.end - b.start),
        "errors": len(b.errors),
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "max": max(b.latencies) * 1000,
        "complete": watcher.complete_at - b.start,
        "seen": len(watcher.versions),
        "passes": wrote,
        "peak": peak,
        "single": single,
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{os.cpu_count()} CPUs ({usable} usable), {cpu}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; httpx {httpx.__version__}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated row counts")
    ap.add_argument("--clicks", type=int, default=1000, help="one-click POSTs per size")
    ap.add_argument("--concurrency", type=int, default=20, help="requests in flight at once")
    ap.add_argument(
        "--flush-seconds", type=float, default=None, help="passed to digest serve (default: its)"
    )
    ap.add_argument("--timeout", type=float, default=300, help="seconds to wait for the CSV")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10,000 rows, 200 clicks")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.clicks = "10000", 200
    sizes = [int(s) for s in args.sizes.split(",")]
    t_all = time.perf_counter()
    print("$ " + shlex.join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {machine()}")
    print(
        f"clicks {args.clicks:,}, concurrency {args.concurrency}, flush seconds "
        f"{args.flush_seconds if args.flush_seconds is not None else 'server default (5)'}"
    )
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-unsub-") as tmp:
            for n in sizes:
                results.append(run_size(Path(tmp), n, args))
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(
        "\n| rows | clicks | concurrency | req/s | p50 ms | p99 ms | max ms | no answer, retried "
        "| CSV complete after s | rewrites seen/passes | server peak MB "
        "| one rewrite per click s | 1 rewrite each, all clicks s |"
    )
    print("|" + "---:|" * 13)
    for r in results:
        print(
            f"| {r['rows']:,} | {r['clicks']:,} | {args.concurrency} | {r['rps']:,.0f} "
            f"| {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.0f} | {r['errors']} "
            f"| {r['complete']:.2f} "
            f"| {r['seen']}/{r['passes']} | {r['peak']:.0f} | {r['single']:.3f} "
            f"| {r['single'] * r['clicks']:,.0f} |"
        )
    print(f"\n(whole run: {time.perf_counter() - t_all:.0f} s)")
    dropped = sum(int(r["errors"]) for r in results)
    if dropped:
        print(f"FAILED: {dropped} POST(s) got no answer (sent again, then answered)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
