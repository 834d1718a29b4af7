"""Sending an issue end to end: readers from a CSV, their tokens, the ledger, and the requests.

    .venv/bin/python bench/bench_send.py [--sizes 10000,100000,1000000] [--small 10000]
        [--topics 100000:40] [--reader-local 100000:24]

The SendGrid path runs against the validating stand-in of the tests (tests/sendgrid_standin.py)
in its own process, for `--sizes` readers (batches of 1000, 4 at once). In the same run the
bare `sendgrid` client posts prebuilt 1,000-personalization requests to the same stand-in, 4
threads, for as many readers: the floor that no sender can beat. The outbox (one .eml a reader)
and SMTP (to an aiosmtpd server in its own process) run for `--small` readers. Each send runs
in a fresh process, timed around `send_issue` only (the issue is built before the clock
starts); peak memory is that process's peak RSS.

`--topics READERS:SETS` sends to READERS readers spread over SETS distinct topic sets (the
empty one, readers without topics, among them) through the SendGrid path: eight sources of one
topic and one story each, so each set selects its own stories, and the send renders once per
selection (`renders`, which must not pass SETS), however many readers share it.

`--reader-local READERS:ZONES` sends a `deliver = "reader-local"` list whose readers are spread
over ZONES time zones through the SendGrid path, with `schedule_ahead_hours = 71`, so one run
hands over every wave of the day (each request one `send_at`); and times the zone census the
scheduler takes of that list file (`pipeline.waves.zone_census`, once per change of the file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
KEY = "SG.standin-key.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"

STANDIN = f"""
import sys, time
sys.path.insert(0, {str(TESTS)!r})
from sendgrid_standin import SendGridStandIn
with SendGridStandIn(api_key={KEY!r}, keep=False) as sg:
    print(sg.url, flush=True)
    sys.stdin.read()
    print(sg.accepted_recipients, flush=True)
"""

SMTP_SINK = """
import socket, sys
from aiosmtpd.controller import Controller
class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
c = Controller(Sink(), hostname="127.0.0.1", port=port)
c.start()
print(port, flush=True)
sys.stdin.read()
print(Sink.count, flush=True)
c.stop()
"""

SEND = """
import json, resource, sys, time
from pathlib import Path
from digest.config import load_config
from digest.pipeline import SendRequest, build_issue, send_issue
root = Path(sys.argv[1])
config = load_config(root / "digest.toml")
lst = config.get_list("daily")
build_issue(config, lst)  # warm: templates compiled, articles read (the send builds it again)
t0 = time.perf_counter()
report = send_issue(config, lst, SendRequest())
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "sent": report.tally.sent, "peak_mb": peak,
                  "renders": report.renders}))
"""

FLOOR = """
import json, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
from sendgrid import SendGridAPIClient
url, n, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
content = [{"type": "text/plain", "value": "Hello %%NAME%%"},
           {"type": "text/html", "value": "<p>Hello %%NAME%%</p>"}]
def body(start):
    return {"from": {"email": "d@example.com"}, "subject": "S", "content": content,
            "personalizations": [{"to": [{"email": f"r{i}@example.com"}],
                                  "substitutions": {"%%NAME%%": f"Reader {i}"}}
                                 for i in range(start, min(n, start + 1000))]}
bodies = [body(s) for s in range(0, n, 1000)]
local = __import__("threading").local()
def post(b):
    if not hasattr(local, "c"):
        local.c = SendGridAPIClient(key, host=url)
    local.c.client.mail.send.post(request_body=b)
t0 = time.perf_counter()
with ThreadPoolExecutor(4) as pool:
    list(pool.map(post, bodies))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "sent": n, "peak_mb": peak}))
"""

CONFIG = """
[newsletter]
base_url = "https://news.example.org"

[[sources]]
name = "Articles"
folder = "articles"

[lists.daily]
sender = "Daily <daily@news.example.org>"

[delivery]
backend = "{backend}"

[delivery.sendgrid]
host = "{sendgrid}"
batch_size = 1000
concurrency = 4

[delivery.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
"""


def newsletter(folder: Path, readers: int, backend: str, sendgrid: str, smtp_port: int) -> Path:
    (folder / "articles").mkdir(parents=True)
    (folder / "articles" / "story.md").write_text(
        "---\ntitle: The council keeps the pool open\n---\n\nThe council voted on Tuesday "
        "evening to keep the swimming pool open through the winter, after a petition.\n",
        encoding="utf-8",
    )
    (folder / "subscribers").mkdir()
    with (folder / "subscribers" / "daily.csv").open("w", encoding="utf-8") as f:
        f.write("email,name,status\n")
        for i in range(readers):
            f.write(f"reader{i}@example.com,Reader {i},subscribed\n")
    (folder / "digest.toml").write_text(
        CONFIG.format(backend=backend, sendgrid=sendgrid, smtp_port=smtp_port), encoding="utf-8"
    )
    return folder


TOPICS = [f"topic{i}" for i in range(8)]


ZONES = [
    "Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata",
    "Asia/Dubai", "Europe/Moscow", "Europe/Istanbul", "Europe/Berlin", "Europe/Paris",
    "Europe/London", "Atlantic/Azores", "America/Sao_Paulo", "America/Halifax",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "Asia/Singapore", "Africa/Lagos",
    "Africa/Nairobi", "Asia/Karachi",
]  # fmt: skip

CENSUS = """
import json, resource, sys, time
from pathlib import Path
from digest.config import load_config
from digest.pipeline.waves import zone_census
config = load_config(Path(sys.argv[1]) / "digest.toml")
t0 = time.perf_counter()
census = zone_census(config.get_list("daily"))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "sent": sum(census.values()), "peak_mb": peak}))
"""


def reader_local_newsletter(folder: Path, readers: int, zones: int, sendgrid: str) -> Path:
    """One story; readers round-robin over the first `zones` of ZONES; each reader at 07:00."""
    newsletter(folder, 0, "sendgrid", sendgrid, 25)
    with (folder / "subscribers" / "daily.csv").open("w", encoding="utf-8") as f:
        f.write("email,name,status,timezone\n")
        for i in range(readers):
            f.write(f"reader{i}@example.com,Reader {i},subscribed,{ZONES[i % zones]}\n")
    toml = folder / "digest.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('sender = "Daily', 'deliver = "reader-local"\nsender = "Daily')
    text = text.replace("concurrency = 4\n", "concurrency = 4\nschedule_ahead_hours = 71\n")
    toml.write_text(text, encoding="utf-8")
    return folder


def topic_sets(n: int) -> list[tuple[str, ...]]:
    """`n` distinct sets of the eight topics: none, each one, then pairs, then triples."""
    from itertools import combinations

    sets: list[tuple[str, ...]] = [()]
    for size in (1, 2, 3):
        sets.extend(combinations(TOPICS, size))
    if n > len(sets):
        raise SystemExit(f"--topics: at most {len(sets)} topic sets")
    return sets[:n]


def topic_newsletter(folder: Path, readers: int, sets: int, sendgrid: str) -> Path:
    """Eight sources of one topic and one story each; readers over `sets` topic sets."""
    sources = []
    for i, topic in enumerate(TOPICS):
        (folder / topic).mkdir(parents=True)
        (folder / topic / "story.md").write_text(
            f"---\ntitle: Story {i} of {topic}\n---\n\nThe {topic} desk reports that story "
            f"{i} happened on Tuesday evening, after a long day of careful work.\n",
            encoding="utf-8",
        )
        sources.append(f'[[sources]]\nname = "{topic}"\nfolder = "{topic}"\ntopics = ["{topic}"]\n')
    chosen = [";".join(t) for t in topic_sets(sets)]
    (folder / "subscribers").mkdir()
    with (folder / "subscribers" / "daily.csv").open("w", encoding="utf-8") as f:
        f.write("email,name,status,topics\n")
        for i in range(readers):
            f.write(f"reader{i}@example.com,Reader {i},subscribed,{chosen[i % sets]}\n")
    text = CONFIG.format(backend="sendgrid", sendgrid=sendgrid, smtp_port=25)
    text = text.replace('[[sources]]\nname = "Articles"\nfolder = "articles"\n', "\n".join(sources))
    (folder / "digest.toml").write_text(text, encoding="utf-8")
    return folder


def child(script: str, *args: str) -> dict[str, float]:
    env = {**os.environ, "DIGEST_SECRET": "bench-secret", "SENDGRID_API_KEY": KEY}
    r = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env
    )
    if r.returncode != 0:
        raise SystemExit(f"a bench run failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


class Peer:
    """A server in its own process: it prints its address, then a count when stdin closes."""

    def __init__(self, script: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()

    def close(self) -> int:
        out, _ = self.proc.communicate("")
        return int(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--small", type=int, default=10000)
    parser.add_argument("--topics", default="100000:40", help="READERS:SETS, or 0 to skip")
    parser.add_argument("--reader-local", default="100000:24", help="READERS:ZONES, or 0 to skip")
    args = parser.parse_args()
    rows: list[tuple[str, int, dict[str, float]]] = []
    sg = Peer(STANDIN)
    smtp = Peer(SMTP_SINK)
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            rows.append(("bare sendgrid client (floor)", n, child(FLOOR, sg.address, str(n), KEY)))
            folder = newsletter(Path(tmp) / f"sg-{n}", n, "sendgrid", sg.address, 25)
            rows.append(("digest send → sendgrid", n, child(SEND, str(folder))))
        for backend in ("outbox", "smtp"):
            folder = newsletter(
                Path(tmp) / backend, args.small, backend, sg.address, int(smtp.address)
            )
            rows.append((f"digest send → {backend}", args.small, child(SEND, str(folder))))
        if args.topics != "0":
            n, sets = (int(x) for x in args.topics.split(":"))
            folder = topic_newsletter(Path(tmp) / "topics", n, sets, sg.address)
            rows.append((f"… over {sets} topic sets → sendgrid", n, child(SEND, str(folder))))
        if args.reader_local != "0":
            n, zones = (int(x) for x in args.reader_local.split(":"))
            folder = reader_local_newsletter(Path(tmp) / "local", n, zones, sg.address)
            rows.append((f"… reader-local, {zones} zones → sendgrid", n, child(SEND, str(folder))))
            rows.append((f"zone census ({zones} zones)", n, child(CENSUS, str(folder))))
    accepted, received = sg.close(), smtp.close()
    head = f"{'path':<34} {'readers':>9} {'seconds':>8} {'readers/s':>10} {'peak MB':>8}"
    print(head + f" {'renders':>8}")
    for name, n, r in rows:
        rate = r["sent"] / r["seconds"] if r["seconds"] else 0
        renders = f"{r['renders']:>8.0f}" if "renders" in r else f"{'-':>8}"
        line = f"{name:<34} {n:>9,} {r['seconds']:>8.2f} {rate:>10,.0f} {r['peak_mb']:>8.0f}"
        print(f"{line} {renders}")
        if r["sent"] != n:
            print(f"  ! sent {r['sent']} of {n}")
    print(f"stand-in accepted {accepted:,} recipients; SMTP sink received {received:,} messages")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak RSS: {own:.0f} MB)")


if __name__ == "__main__":
    main()
