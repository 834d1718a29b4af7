"""Shared fixtures: a newsletter folder built in tmp_path from the bundled example."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_ARTICLES = REPO / "examples" / "articles"
# A fixed "now" for rendered output: the morning the bundled example's stories are from.
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)

CONFIG = """\
[newsletter]
templates = "templates"
state = ".digest"
base_url = "https://news.example.org"

[[sources]]
name = "Example articles"
folder = "articles"

[lists.daily]
title = "The Daily Example"
sender = "The Daily Example <daily@example.com>"
timezone = "Europe/London"
language = "en"
subscribers = "subscribers/daily.csv"
subject = "{{ title }}, {{ date_short }}: {{ top_title }}"
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/ from the current output instead of comparing with it.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def newsletter(tmp_path: Path) -> Path:
    """A newsletter folder with the example articles, their times fixed so output is stable."""
    return make_newsletter(tmp_path)


def make_newsletter(tmp_path: Path) -> Path:
    root = tmp_path / "news"
    shutil.copytree(EXAMPLE_ARTICLES, root / "articles")
    stamp = datetime(2026, 11, 24, 5, 0, tzinfo=UTC).timestamp()
    for f in (root / "articles").iterdir():
        os.utime(f, (stamp, stamp))
    (root / "subscribers").mkdir()
    (root / "subscribers" / "daily.csv").write_text("email,name,status\n", encoding="utf-8")
    (root / "digest.toml").write_text(CONFIG, encoding="utf-8")
    return root


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How the browser tests start Debian's chromium: headless, offline, no first-run work."""


def chromium_path() -> str | None:
    """Debian's chromium, which CI installs (.ci/run); None elsewhere without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run) for the browser tests")
    return found


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless chromium for a module's tests (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()
