"""-v and -q as a person types them: before or after the command (`digest gather -v`), adding up
(`digest -v gather -v` is -vv), on every command and subcommand. -v tells the story of a run
(what each source gave, how many items were new and kept) instead of HTTP request lines, which
only -vv shows; -q anywhere leaves only errors. Against a local feed server and real folders."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import click
import pytest
from conftest import make_newsletter
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.cli import main

DIGEST = Path(sys.executable).parent / "digest"
TEXT = (
    "The harbour master said on Monday that the new breakwater had already halved the number "
    "of boats damaged in storms since it was finished in the spring."
)


def command_paths(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `group`, however deep, as the words that name it."""
    out = []
    for name, cmd in group.commands.items():
        out.append((*path, name))
        if isinstance(cmd, click.Group):
            out.extend(command_paths(cmd, (*path, name)))
    return out


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def rss(n: int) -> str:
    items = "".join(
        f"<item><title>Story {i}</title><link>https://h.example.org/{i}</link>"
        f"<guid>https://h.example.org/{i}</guid>"
        f"<pubDate>{format_datetime(datetime.now(UTC) - timedelta(hours=i))}</pubDate>"
        f"<description>&lt;p&gt;{TEXT}&lt;/p&gt;</description></item>"
        for i in range(1, n + 1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )


def serve(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_request("/f.xml").respond_with_data(body, content_type="application/rss+xml")


def newsletter(root: Path, url: str, max_items: int | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "articles").mkdir()
    (root / "articles" / "own.md").write_text(
        f"---\ntitle: Our own story\ndate: 2020-05-01\n---\n\n{TEXT}\n", encoding="utf-8"
    )
    cap = f"max_items = {max_items}\n" if max_items else ""
    (root / "digest.toml").write_text(
        '[[sources]]\nname = "Own"\nfolder = "articles"\n\n'
        f'[[sources]]\nname = "Town Notes"\nfeed = "{url}"\nfull_text = "never"\n{cap}\n'
        '[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n',
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("path", command_paths(main), ids=" ".join)
def test_every_command_takes_v_and_q_after_its_name(path: tuple[str, ...], tmp_path: Path) -> None:
    r = digest(*path, "-v", "-q", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "-v, --verbose" in r.stdout and "-q, --quiet" in r.stdout, r.stdout


def test_the_group_takes_them_too(tmp_path: Path) -> None:
    r = digest("-v", "-q", "--help", cwd=tmp_path)
    assert r.returncode == 0 and "-v, --verbose" in r.stdout and "-q, --quiet" in r.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_v_tells_each_sources_story_not_its_http_requests(
    where: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, rss(5))
    root = newsletter(tmp_path / "n", httpserver.url_for("/f.xml"), max_items=3)
    args = ["-v", "gather"] if where == "before" else ["gather", "-v"]
    r = digest(*args, cwd=root)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stderr.split())
    assert "INFO Town Notes: 5 items in the feed, 5 new, 3 kept (max_items 3)" in said
    assert "INFO Own: 1 file, 1 new, 1 kept" in said
    assert "INFO 2 sources: 6 items, 6 new, 4 kept, 4 with a lead (max_articles 20)" in said
    assert "HTTP Request" not in said
    assert "WARNING" not in said


def test_v_given_before_and_after_add_up_to_debug_with_http_requests(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    serve(httpserver, rss(1))
    root = newsletter(tmp_path / "n", httpserver.url_for("/f.xml"))
    r = digest("-v", "gather", "-v", cwd=root)
    assert r.returncode == 0, r.stderr
    assert f"HTTP Request: GET {httpserver.url_for('/f.xml')}" in r.stderr
    assert "DEBUG" in r.stderr and "Town Notes: 1 item in the feed" in r.stderr
    once = digest("gather", "-vv", cwd=root)
    assert "HTTP Request: GET" in once.stderr


def test_a_second_reading_says_the_feed_was_not_modified(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    def etagged(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"1"':
            return Response(status=304)
        return Response(rss(2), content_type="application/rss+xml", headers={"ETag": '"1"'})

    httpserver.expect_request("/f.xml").respond_with_handler(etagged)
    root = newsletter(tmp_path / "n", httpserver.url_for("/f.xml"))
    digest("gather", cwd=root)
    r = digest("gather", "-v", cwd=root)
    assert "Town Notes: 2 items in the feed (not modified), 2 new, 2 kept" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [["-q", "gather"], ["gather", "-q"], ["gather", "-v", "-q"]])
def test_q_anywhere_hides_warnings(args: list[str], tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    root = newsletter(tmp_path / "n", httpserver.url_for("/gone.xml"))
    r = digest(*args, cwd=root)
    assert r.returncode == 0, r.stderr
    assert "1. Our own story" in r.stdout
    assert r.stderr.strip() == "", r.stderr


def test_without_q_the_same_run_warns(tmp_path: Path, httpserver: HTTPServer) -> None:
    """The check above means something: the same first run does warn."""
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=404)
    root = newsletter(tmp_path / "n", httpserver.url_for("/gone.xml"))
    r = digest("gather", cwd=root)
    assert "WARNING" in r.stderr and "HTTP 404 NOT FOUND" in r.stderr


def test_sources_check_v_tells_each_source(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, rss(4))
    root = newsletter(tmp_path / "n", httpserver.url_for("/f.xml"))
    r = digest("sources", "check", "-v", cwd=root)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stderr.split())
    assert "INFO Own: 1 file" in said and "INFO Town Notes: 4 items in the feed" in said
    assert "HTTP Request" not in said


def scheduled(root: Path) -> Path:
    folder = make_newsletter(root)
    with (folder / "digest.toml").open("a", encoding="utf-8") as f:
        f.write('send_at = "07:00"\n')
    return folder


def test_run_due_takes_v_and_q_after_its_name(tmp_path: Path) -> None:
    """`schedule` and `run-due` had their own -v; they take the common one now, and -q too."""
    loud = scheduled(tmp_path / "a")
    with_v = digest("run-due", "-v", "--now", "2026-11-24T07:00:00Z", cwd=loud)
    assert with_v.returncode == 0, with_v.stderr
    said = " ".join(with_v.stderr.split())
    assert "INFO Example articles: 3 files, 3 new, 3 kept" in said
    assert "daily: " in with_v.stdout
    quiet = scheduled(tmp_path / "b")
    with_q = digest("run-due", "-q", "--now", "2026-11-24T07:00:00Z", cwd=quiet)
    assert with_q.returncode == 0, with_q.stderr
    assert with_q.stderr.strip() == "" and "daily: " in with_q.stdout
    plain = scheduled(tmp_path / "c")
    default = digest("run-due", "--now", "2026-11-24T07:00:00Z", cwd=plain)
    assert "INFO" in default.stderr  # a run's start and end lines are shown by default here
    assert "Example articles: 3 files" not in default.stderr
