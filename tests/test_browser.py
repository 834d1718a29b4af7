"""What a reader sees, in a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, NOW, chromium_path, make_newsletter

from digest.compose import render
from digest.compose.personalise import Reader, fill
from digest.config import load_config
from digest.models import Article, Digest
from digest.pipeline import preview_issue

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium); CI installs it"
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The emails to look at, rendered before the browser starts: Playwright's sync API runs
    an event loop on this thread, and gathering runs its own."""
    tmp = tmp_path_factory.mktemp("pages")
    root = make_newsletter(tmp)
    config = load_config(root / "digest.toml")
    example = preview_issue(config, config.get_list("daily"), tmp / "p", now=NOW).paths[0]
    return {"example": example, "long": _long_digest(tmp, root), "hebrew": _hebrew(tmp)}


def _hebrew(tmp: Path) -> Path:
    """The example newsletter in Hebrew (the seed article came from a Hebrew news site)."""
    root = make_newsletter(tmp / "he")
    toml = root / "digest.toml"
    toml.write_text(toml.read_text().replace('language = "en"', 'language = "he"'))
    config = load_config(toml)
    return preview_issue(config, config.get_list("daily"), tmp / "he-out", now=NOW).paths[0]


@pytest.fixture(scope="module")
def browser(pages: dict[str, Path]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield b
        b.close()


def _open(browser, path: Path, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route("http*://**", lambda route: route.abort())  # an email must not need the network
    page.goto(path.resolve().as_uri())
    return page


def _long_digest(tmp_path: Path, newsletter: Path) -> Path:
    """20 articles, one with a long unbroken URL in its lead: the worst case for a phone."""
    lead = "See https://example.com/" + "a" * 120 + " for the full report on this."
    arts = tuple(
        Article(
            id=str(i),
            title=f"A fairly long headline for story number {i} that wraps on small screens",
            source="Example Source",
            url=f"https://example.com/{i}",
            published=datetime(2026, 11, 24, tzinfo=UTC),
            lead=(lead if i == 3 else "An ordinary first paragraph of a lead. " * 6,),
        )
        for i in range(20)
    )
    config = load_config(newsletter / "digest.toml")
    r = render(
        Digest("daily", "d", NOW.date(), "Title", arts), config.get_list("daily").compose, None
    )
    html = fill(
        r.html, Reader("r@example.com", "https://example.com/u"), marker=r.marker, escape=True
    )
    path = tmp_path / "long.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_phone_width_has_no_sideways_scroll(browser, pages: dict[str, Path]) -> None:
    for path in pages.values():
        page = _open(browser, path, 375)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h2')).fontSize)")
        assert size >= 18
        body = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelectorAll('h2 ~ p')[1]).fontSize)"
        )
        assert body >= 15
        page.close()


def test_a_hebrew_issue_reads_right_to_left(browser, pages: dict[str, Path]) -> None:
    """Right to left at both widths: the issue's own words (the greeting) run right to left
    against the column's right edge, while a story in English keeps its own direction
    (`dir="auto"`), so its full stop stays at its end; screenshots to look at."""
    shots = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for width in (375, 600):
        page = _open(browser, pages["hebrew"], width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        greeting = page.get_by_text("בוקר טוב", exact=False).first
        assert greeting.evaluate("e => getComputedStyle(e).direction") == "rtl"
        gap = greeting.evaluate(
            "e => { const t = document.createRange(); t.selectNodeContents(e);"
            " return e.closest('td').getBoundingClientRect().right"
            " - t.getBoundingClientRect().right; }"
        )
        assert 0 <= gap <= 40  # its text ends at the column's right padding, not its left
        lead = page.locator("h2 ~ p").nth(1)
        assert lead.evaluate("e => getComputedStyle(e).direction") == "ltr"
        path = shots / f"issue-he-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        page.close()


def test_desktop_width_is_a_600px_column(browser, pages: dict[str, Path]) -> None:
    page = _open(browser, pages["example"], 1024)
    widths = page.evaluate(
        "[...document.querySelectorAll('h2')].map(h => h.closest('table').closest('div')"
        ".getBoundingClientRect().width)"
    )
    assert widths and all(w <= 600 for w in widths)
    column = page.evaluate(
        "document.querySelector('body > div > div').getBoundingClientRect().width"
    )
    assert column == 600
    unsubscribe = page.get_by_role("link", name="Unsubscribe")
    assert unsubscribe.is_visible()
    assert unsubscribe.get_attribute("href").startswith("https://news.example.org/unsubscribe")
    assert page.locator("h2").count() == 3
    links = page.locator("h2 a")
    assert links.count() == 2  # the NATO example has no URL, so its headline is not a link
    assert links.first.is_visible()
    page.close()
