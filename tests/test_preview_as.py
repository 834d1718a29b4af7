"""`digest preview --as ADDRESS` shows the issue as that reader gets it (their name in the
greeting, their own unsubscribe link), and `digest preview --open` says so when there is no
browser to open it in."""

from __future__ import annotations

import html
import json
import os
import shlex
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import main
from digest.tokens import unsubscribe_url

DIGEST = Path(sys.executable).parent / "digest"
SECRET = "a-test-secret-that-is-long-enough-0123456789"
READERS = (
    "email,name,status\n"
    "ada@example.org,Ada Lovelace,subscribed\n"
    "grace@example.org,,subscribed\n"
    "gone@example.org,Gone Away,unsubscribed\n"
)


@pytest.fixture
def readers(newsletter: Path) -> Path:
    (newsletter / "subscribers" / "daily.csv").write_text(READERS, encoding="utf-8")
    return newsletter / "digest.toml"


def preview(cfg: Path, out: Path, *args: str, secret: str | None = SECRET) -> Result:
    return CliRunner().invoke(
        main,
        ["preview", "-c", str(cfg), "-o", str(out), *args],
        env={"DIGEST_SECRET": secret},
    )


def test_preview_as_a_reader_has_their_name_and_their_own_link(readers: Path) -> None:
    out = readers.parent / "out"
    result = preview(readers, out, "--as", "ada@example.org", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["reader"] == "ada@example.org"
    link = unsubscribe_url("https://news.example.org", SECRET, "daily", "ada@example.org")
    text = Path(data["text"]).read_text(encoding="utf-8")
    page = Path(data["html"]).read_text(encoding="utf-8")
    assert "Good morning, Ada Lovelace." in text
    assert "Good morning, Ada Lovelace." in page
    assert f"Unsubscribe: {link}" in text
    assert f'href="{html.escape(link)}"' in page
    assert "preview=1" not in text + page
    message = message_from_bytes(Path(data["eml"]).read_bytes(), policy=policy.default)
    assert message["To"] == "ada@example.org"
    assert link in message["List-Unsubscribe"]
    assert "DIGEST_SECRET" not in result.stderr


def test_preview_as_finds_the_reader_in_any_case_and_without_a_name(readers: Path) -> None:
    out = readers.parent / "out"
    ada = preview(readers, out, "--as", "ADA@Example.org", "--json")
    assert ada.exit_code == 0, ada.output
    assert json.loads(ada.stdout)["reader"] == "ada@example.org"
    grace = preview(readers, out, "--as", "grace@example.org", "--json")
    data = json.loads(grace.stdout)
    text = Path(data["text"]).read_text(encoding="utf-8")
    assert "Good morning. " in text and "email=grace@example.org&token=" in text
    assert "sent to grace@example.org" in Path(data["html"]).read_text(encoding="utf-8")


def test_every_preview_without_as_is_the_senders(readers: Path) -> None:
    out = readers.parent / "out"
    data = json.loads(preview(readers, out, "--json").stdout)
    text = Path(data["text"]).read_text(encoding="utf-8")
    assert data["reader"] == "daily@example.com"
    assert "Good morning. " in text and "preview=1" in text


def test_preview_as_an_address_not_on_the_list_is_one_line(readers: Path) -> None:
    out = readers.parent / "out"
    result = preview(readers, out, "--as", "bob@example.org")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "bob@example.org is not on the list daily" in lines[0]
    assert "digest subscribers list" in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists(), "nothing is built for a reader who is not there"


def test_preview_as_without_the_secret_warns_that_the_link_does_not_work(readers: Path) -> None:
    out = readers.parent / "out"
    result = preview(readers, out, "--as", "ada@example.org", secret=None)
    assert result.exit_code == 0, result.output
    assert "DIGEST_SECRET not set: the unsubscribe link in this preview does not work" in (
        result.stderr
    )


def test_preview_as_an_unsubscribed_reader_says_a_send_skips_them(readers: Path) -> None:
    result = preview(readers, readers.parent / "out", "--as", "gone@example.org")
    assert result.exit_code == 0, result.output
    assert "gone@example.org is unsubscribed on list daily: a send does not reach them" in (
        result.stderr
    )


# --open, run as a person runs it: a process whose environment decides which browser Python's
# webbrowser finds. On Linux it looks at BROWSER, and at DISPLAY / WAYLAND_DISPLAY (desktop
# browsers) and TERM (console browsers); with none of them set there is no browser at all.

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="macOS and Windows always have a browser"
)


def run_open(cfg: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "TERM"}
    }
    out = cfg.parent / "out"
    return subprocess.run(
        [str(DIGEST), "preview", "--open", "-c", str(cfg), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )


@linux_only
@pytest.mark.parametrize(
    "env", [{}, {"BROWSER": "/nonexistent/browser"}], ids=["no browser", "BROWSER not there"]
)
def test_preview_open_without_a_browser_says_so(readers: Path, env: dict[str, str]) -> None:
    r = run_open(readers, **env)
    assert r.returncode == 0, r.stderr
    page = readers.parent / "out" / "daily-"
    assert r.stdout.splitlines()[0].startswith(str(page)) and r.stdout.splitlines()[0].endswith(
        ".html"
    )
    html_path = r.stdout.splitlines()[0]
    assert f"No web browser was found to open {html_path}; open it yourself." in r.stderr


@linux_only
def test_preview_open_opens_the_html_in_the_browser_named_by_browser(
    readers: Path, tmp_path: Path
) -> None:
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys, pathlib\npathlib.Path({str(seen)!r}).write_text(sys.argv[1])\n",
        encoding="utf-8",
    )
    r = run_open(readers, BROWSER=f"{shlex.quote(sys.executable)} {shlex.quote(str(browser))} %s")
    assert r.returncode == 0, r.stderr
    assert "No web browser" not in r.stderr
    html_path = Path(r.stdout.splitlines()[0])
    assert seen.read_text(encoding="utf-8") == html_path.resolve().as_uri()
