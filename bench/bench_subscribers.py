"""Time and peak memory of the subscriber list at several sizes: import (a Mailchimp-style
export into an empty list), count by status, a full streaming read of the active readers (two
passes over the file: the first keeps 8 bytes a row to find addresses listed twice, so that
one that says stop in any row is never sent to), and adding one reader (a whole locked
read-modify-write of the file, every row checked).

Each measurement runs in a fresh Python process, so its peak resident memory (ru_maxrss) is
its own; `base` is that process's peak right after importing digest, before any work.

    .venv/bin/python bench/bench_subscribers.py                  # 10k, 100k, 1M rows
    .venv/bin/python bench/bench_subscribers.py --sizes 10000,50000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from digest.subscribers import SubscriberList
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
op, list_path = sys.argv[1], sys.argv[2]
people = SubscriberList(list_path)
t = time.perf_counter()
if op == "import":
    r = people.import_file(sys.argv[3])
    n = r.added + r.updated + r.unchanged + r.duplicates + len(r.invalid)
elif op == "add":
    people.add("one.more@example.org", name="One More")
elif op == "count":
    n = sum(people.count_by_status().values())
else:
    n = sum(1 for _ in people.iter_active())
seconds = time.perf_counter() - t
if op == "add":
    n = sum(people.count_by_status().values()) - 1  # checked after the clock stops
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": n, "seconds": seconds, "base_kb": base, "peak_kb": peak}))
"""

HEADER = '"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,TIMEZONE,TAGS\n'
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", ""]


def make_export(path: Path, n: int, seed: int = 1) -> None:
    """A Mailchimp-like export: n distinct addresses over 2,000 domains, a few odd rows."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(n):
            domain = f"mail{rnd.randrange(2000)}.example.com"
            local = f"reader.{i}" if i % 10 else f"Reader+news.{i}"
            f.write(
                f"{local}@{domain},First{i},Last{i},{rnd.randrange(1, 6)},"
                f'"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:00",'
                f'{ZONES[i % len(ZONES)]},"""news"",""tech"""\n'
            )


def measure(op: str, list_path: Path, source: Path | None = None) -> dict[str, float]:
    args = [sys.executable, "-c", CHILD, op, str(list_path)] + ([str(source)] if source else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="Comma-separated row counts (default: 10000,100000,1000000).",
    )
    sizes = [int(s) for s in ap.parse_args().sizes.split(",")]
    print(
        f"{'rows':>9}  {'operation':<10}{'seconds':>9}{'rows/s':>11}"
        f"{'peak MB':>9}{'base MB':>9}{'file MB':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            source = Path(tmp) / f"export-{n}.csv"
            target = Path(tmp) / f"list-{n}.csv"
            make_export(source, n)
            for op in ("import", "count", "stream", "add"):
                r = measure(op, target, source if op == "import" else None)
                assert r["rows"] == n, (op, r["rows"], n)
                mb = target.stat().st_size / 1e6
                print(
                    f"{n:>9}  {op:<10}{r['seconds']:>9.2f}{n / r['seconds']:>11,.0f}"
                    f"{r['peak_kb'] / 1024:>9.1f}{r['base_kb'] / 1024:>9.1f}{mb:>9.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
