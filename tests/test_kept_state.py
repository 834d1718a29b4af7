"""Damaged state and writers at once, as a person meets them: real `digest` processes.

A state database that is not one, cut short, or damaged inside must stop a run with one clear
error naming the file (never a traceback), and leave the file as it was for the person to move
away. Two runs gathering at once on one state file, and many `digest subscribers add` at once on
one list, must all succeed and lose nothing.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

DIGEST = Path(sys.executable).parent / "digest"
LONG = (
    "The harbour master said on Monday that the new breakwater had already halved the number "
    "of boats damaged in storms since it was finished in the spring."
)
MOVE_AWAY = "Move the file away; digest makes a new one"
TOWN = (
    LONG,
    "Parents asked the school board to keep the village primary school open after the summer.",
    "The bakery on Station Road won a national prize for its rye bread and opens a second shop.",
    "Volunteers planted four hundred oak saplings along the river to slow the winter floods.",
    "The football club appointed its former captain as manager after a run of seven defeats.",
    "A rare white stork has been seen nesting on the church tower for the first time in a century.",
    "The bus company will cut the evening service to the hospital for want of drivers on shifts.",
    "Archaeologists found a Roman coin hoard under the car park of the old market hall last week.",
    "The repair café at the library fixed two hundred toasters, lamps and bikes in its first year.",
    "Fishermen say the mackerel came three weeks early this summer, and prices at the quay fell.",
    "The oldest resident of the town celebrated her hundred and fifth birthday with a tea dance.",
    "Engineers began replacing the gears of the swing bridge, which have turned since 1898.",
)
"""Twelve stories' texts: twelve feeds with one text would be one story told twelve times."""


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def rss(stories: list[tuple[str, str, str]]) -> str:
    """An RSS document of (title, link, html) stories, published in the last hours."""
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=1, minutes=i))}</pubDate>"
        f"<description><![CDATA[{html}]]></description></item>"
        for i, (title, link, html) in enumerate(stories)
    )
    return f'<rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'


def newsletter(root: Path, feeds: list[str], *, full_text: str = "never") -> Path:
    sources = "".join(
        f'[[sources]]\nname = "Feed {i}"\nfeed = "{f}"\nfull_text = "{full_text}"\n\n'
        for i, f in enumerate(feeds)
    )
    (root / "digest.toml").write_text(
        sources + '[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n', encoding="utf-8"
    )
    return root / ".digest" / "state.sqlite3"


@pytest.fixture
def local_news(tmp_path: Path) -> Path:
    """A newsletter with one local feed file, gathered once so it has a real state file."""
    (tmp_path / "feed.xml").write_text(
        rss([("Breakwater works", "https://h.example.org/1", f"<p>{LONG}</p>")]), encoding="utf-8"
    )
    newsletter(tmp_path, ["feed.xml"])
    first = digest("gather", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "1. Breakwater works" in first.stdout
    return tmp_path


def assert_one_clear_error(r: subprocess.CompletedProcess[str], state: Path) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    err = " ".join(r.stderr.split())
    assert err.startswith(f"Error: {state}: "), err
    assert MOVE_AWAY in err


def _garbage(state: Path) -> None:
    state.write_bytes(b"this is not an SQLite database, it is a shopping list\n" * 200)


def _cut_in_half(state: Path) -> None:
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])


def _bad_header(state: Path) -> None:
    data = bytearray(state.read_bytes())
    data[16:24] = b"\xff" * 8  # page size, versions and reserved bytes of the header
    state.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_garbage, _cut_in_half, _bad_header], ids=lambda f: f.__name__)
def test_a_state_file_that_is_not_a_database_is_one_clear_error(
    local_news: Path, damage: object
) -> None:
    state = local_news / ".digest" / "state.sqlite3"
    assert callable(damage)
    damage(state)
    before = state.read_bytes()
    for args in (("gather",), ("gather", "--json"), ("sources", "check")):
        r = digest(*args, cwd=local_news)
        assert_one_clear_error(r, state)
    assert state.read_bytes() == before, "digest changed a state file it could not read"
    # The hint works: with the file moved away, the next run starts a new state.
    shutil.move(state, local_news / "damaged.sqlite3")
    again = digest("gather", cwd=local_news)
    assert again.returncode == 0, again.stderr
    assert "1. Breakwater works" in again.stdout


def _overwrite_table_root(state: Path, table: str) -> None:
    """Fill the first page of `table` with junk, as a disk or a copy gone wrong would."""
    conn = sqlite3.connect(state)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    with open(state, "r+b") as f:
        f.seek((root[0] - 1) * page_size)
        f.write(b"\xa5" * page_size)


@pytest.mark.parametrize("table", ["source_health", "items"])
def test_a_damaged_table_in_the_state_is_one_clear_error(local_news: Path, table: str) -> None:
    """The file opens, but a table's page is junk: SQLite fails in the middle of the run."""
    state = local_news / ".digest" / "state.sqlite3"
    _overwrite_table_root(state, table)
    r = digest("gather", cwd=local_news)
    assert_one_clear_error(r, state)
    assert "database disk image is malformed" in r.stderr


def test_a_damaged_feed_cache_is_one_clear_error_not_an_empty_issue(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The feed cache's page is junk: the run must stop with the advice to move the file
    away, not report "a bug in digest" and show an issue without the feed's stories."""
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([("Breakwater works", "https://h.example.org/1", f"<p>{LONG}</p>")]),
        content_type="application/rss+xml",
    )
    state = newsletter(tmp_path, [httpserver.url_for("/feed.xml")])
    first = digest("gather", cwd=tmp_path)
    assert first.returncode == 0 and "1. Breakwater works" in first.stdout, first.stderr
    _overwrite_table_root(state, "http_cache")
    r = digest("gather", cwd=tmp_path)
    assert_one_clear_error(r, state)
    assert "database disk image is malformed" in r.stderr


@pytest.fixture
def teaser_news(tmp_path: Path, httpserver: HTTPServer) -> Path:
    """A newsletter whose one story is a teaser: its lead comes from the article page, which
    the first run fetched and cached. Returns the state file."""
    page = (
        "<!doctype html><html><head><title>Breakwater works</title></head><body><article>"
        f"<h1>Breakwater works</h1><p>{LONG}</p><p>{LONG}</p></article></body></html>"
    )
    httpserver.expect_request("/story.html").respond_with_data(page, content_type="text/html")
    link = httpserver.url_for("/story.html")
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([("Breakwater works", link, "<p>Boats are safer.</p>")]),
        content_type="application/rss+xml",
    )
    state = newsletter(tmp_path, [httpserver.url_for("/feed.xml")], full_text="auto")
    first = digest("gather", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert [a["lead"] for a in json.loads(first.stdout)["articles"]] == [[LONG]]
    return state


def test_a_page_cache_row_that_cannot_be_read_is_fetched_again(
    tmp_path: Path, teaser_news: Path
) -> None:
    """A cached feed that cannot be read is fetched again in full (see `state.cache`); a
    cached article page must be too, not cost the story its lead (or the issue the story)."""
    with sqlite3.connect(teaser_news) as conn:
        assert conn.execute("UPDATE pages SET paragraphs = '[\"unfinished'").rowcount == 1
    conn.close()
    again = digest("gather", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr, again.stderr
    assert [a["lead"] for a in json.loads(again.stdout)["articles"]] == [[LONG]]


def test_a_damaged_page_cache_is_one_clear_error(tmp_path: Path, teaser_news: Path) -> None:
    """The page cache's page is junk: the same one clear error as for any damaged table, not
    "an unexpected error" per story, each with a traceback."""
    _overwrite_table_root(teaser_news, "pages")
    r = digest("gather", cwd=tmp_path)
    assert_one_clear_error(r, teaser_news)
    assert "database disk image is malformed" in r.stderr


# Two runs at once on one state file.


def test_two_gathers_at_once_on_one_state_file(tmp_path: Path) -> None:
    """Each feed answers only when both runs have asked for it, so the two runs are surely
    inside their gathering at the same time: both read, cache and record 12 feeds at once."""
    paths = [f"/feed-{i}.xml" for i in range(12)]
    meet = {p: threading.Barrier(2, timeout=60) for p in paths}
    server = HTTPServer(threaded=True)

    def handler(request: Request) -> Response:
        try:
            meet[request.path].wait()
        except threading.BrokenBarrierError:
            return Response("the other run never came", status=500)
        n = request.path.removeprefix("/feed-").removesuffix(".xml")
        body = rss([(f"Story {n}", f"https://h.example.org/{n}", f"<p>{TOWN[int(n)]}</p>")])
        return Response(body, content_type="application/rss+xml", headers={"ETag": f'"{n}"'})

    for p in paths:
        server.expect_request(p).respond_with_handler(handler)
    server.start()
    try:
        state = newsletter(tmp_path, [server.url_for(p) for p in paths])
        cmd = [str(DIGEST), "gather", "--json"]
        runs = [
            subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outs = [r.communicate(timeout=180) for r in runs]
    finally:
        server.clear()
        server.stop()
    for r, (_, err) in zip(runs, outs, strict=True):
        assert r.returncode == 0, err.decode()
        assert b"Traceback" not in err and b"locked" not in err, err.decode()
    first, second = (json.loads(out) for out, _ in outs)
    assert first["problems"] == second["problems"] == []
    assert sorted(a["title"] for a in first["articles"]) == sorted(f"Story {i}" for i in range(12))
    assert second["articles"] == first["articles"]

    conn = sqlite3.connect(state)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM http_cache").fetchone()[0] == 12
        assert conn.execute("SELECT count(*) FROM source_health").fetchone()[0] == 12
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 12
        etags = {row[0] for row in conn.execute("SELECT etag FROM http_cache")}
        assert etags == {f'"{i}"' for i in range(12)}
    finally:
        conn.close()


# Many `digest subscribers add` at once on one list.


def _list_newsletter(root: Path) -> Path:
    (root / "articles").mkdir()
    (root / "subscribers").mkdir()
    people = root / "subscribers" / "daily.csv"
    people.write_text("email,name,status\n", encoding="utf-8")
    (root / "digest.toml").write_text(
        '[[sources]]\nfolder = "articles"\n\n[lists.daily]\nsender = "d@example.org"\n'
        'subscribers = "subscribers/daily.csv"\n',
        encoding="utf-8",
    )
    return people


def _rows(people: Path) -> list[dict[str, str]]:
    with people.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ADDER = """
set -e
for i in 0 1 2 3 4 5; do
  "$0" subscribers add "w$1-$i@example.com" --name "Worker $1 reader $i"
done
"""


def test_readers_added_by_processes_at_once_all_land(tmp_path: Path) -> None:
    people = _list_newsletter(tmp_path)
    workers = [
        subprocess.Popen(
            ["sh", "-c", ADDER, str(DIGEST), str(w)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for w in range(4)
    ]
    errors = [w.communicate(timeout=300)[1].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors
    emails = sorted(r["email"] for r in _rows(people))
    assert emails == sorted(f"w{w}-{i}@example.com" for w in range(4) for i in range(6))
    check = digest("subscribers", "validate", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sorted(p.name for p in people.parent.iterdir()) == ["daily.csv", "daily.csv.lock"]


def test_one_address_added_by_processes_at_once_is_added_once(tmp_path: Path) -> None:
    """On a long list, so each change reads and rewrites for a while: without the lock, runs
    that started together would each find the address missing and each add it."""
    people = _list_newsletter(tmp_path)
    others = "".join(f"r{i}@example.com,Reader {i},subscribed\n" for i in range(50_000))
    people.write_text(f"email,name,status\n{others}", encoding="utf-8")
    cmd = [str(DIGEST), "subscribers", "add", "ada@example.com", "--name", "Ada"]
    runs = [
        subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    outs = [r.communicate(timeout=180) for r in runs]
    codes = sorted(r.returncode for r in runs)
    assert codes == [0, 1, 1, 1, 1, 1], outs
    refused = [err.decode() for r, (_, err) in zip(runs, outs, strict=True) if r.returncode]
    assert all("ada@example.com is already subscribed" in e for e in refused), refused
    assert all("Traceback" not in e for e in refused)
    emails = [r["email"] for r in _rows(people)]
    assert emails.count("ada@example.com") == 1 and len(emails) == 50_001
    assert people.read_text(encoding="utf-8").startswith(f"email,name,status\n{others}")
