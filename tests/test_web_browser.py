"""The pages of `digest serve` in a real browser (Debian's chromium, driven by Playwright): the
preview at both widths, unsubscribing through the page, the preview without JavaScript, and
its live reload. Screenshots go to artifacts/screenshots/ at the repository root (run with
`pytest -s` to see their paths)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, REPO, chromium_path, make_newsletter
from webserver import run_app

from digest.config import load_config
from digest.tokens import unsubscribe_url
from digest.web import Flusher, Site

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium); CI installs it"
)

SHOTS = REPO / "artifacts" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"
SECRET = "a-secret-for-the-browser-tests"
READERS = (
    "email,name,status,subscribed_at,unsubscribed_at\n"
    "ada@example.com,Ada Lovelace,subscribed,2026-10-01T08:00:00Z,\n"
    "grace@example.com,Grace Hopper,subscribed,2026-10-02T08:00:00Z,\n"
    "linus@example.com,,subscribed,2026-10-03T08:00:00Z,\n"
    "alan@example.com,Alan Turing,unsubscribed,2026-10-01T08:00:00Z,2026-11-01T08:00:00Z\n"
)
# The first story of the example newsletter (examples/articles/city-library-late-opening.md):
# its title, and the start of its lead's first paragraph.
TITLE = "City library trials late opening on weeknights"
LEAD = "The central library will stay open until 10pm on weeknights from next month"
WAIT_MS = 10_000
"""How long to wait for something the page does by itself (a reload, a file written)."""


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`create_app(site, flusher)` on real uvicorn in a thread (`webserver.run_app`: its own
    event loop, so it does not meet the one Playwright's sync API runs on this thread);
    yields its base URL and stops it on the way out."""
    site = Site(load_config(root / "digest.toml"), SECRET)
    with run_app(site, Flusher(site, delay=0.0)) as base:
        yield base


@pytest.fixture
def news(tmp_path: Path) -> Path:
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(READERS, encoding="utf-8")
    return root


@pytest.fixture
def url(news: Path) -> Iterator[str]:
    with serving(news) as base:
        yield base


@pytest.fixture
def browser(url: str) -> Iterator[object]:
    """Chromium, launched after the server is up (the fixture depends on `url`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
        )
        yield b
        b.close()


def _open(browser, url: str, path: str, width: int, *, javascript: bool = True):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=javascript
    )
    # The pages need nothing but the server: anything else (an email's image) is refused.
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(url) else route.abort(),
    )
    page = context.new_page()
    page.goto(url + path)
    return page


def _frame(page, width: int):
    frame = page.locator(f"iframe[width='{width}']").element_handle().content_frame()
    assert frame is not None
    return frame


def _inside(locator) -> dict[str, float]:
    """The element's box in its own frame's viewport, and that viewport's width."""
    return locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, width: r.width,"
        " viewport: document.documentElement.clientWidth}; }"
    )


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


def _full_page_shot(page, name: str) -> Path:
    """The whole page, taken with a viewport as tall as the page: chromium paints a frame
    only near the viewport, so a frame below the fold would come out blank otherwise."""
    path = _shot(name)
    path.unlink(missing_ok=True)
    size = page.viewport_size
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": height})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)
    _check_png(path)
    return path


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > len(PNG), path
    print(f"screenshot: {path}")


def test_the_first_story_fits_both_frames_of_the_preview(browser, url: str) -> None:
    page = _open(browser, url, "/preview/daily", 1280)
    for width in (600, 375):
        frame = _frame(page, width)
        iframe = page.locator(f"iframe[width='{width}']")
        assert iframe.evaluate("f => f.clientWidth") == width
        scroll, client = frame.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client  # no sideways scrolling inside the frame
        title = frame.get_by_role("heading", name=TITLE)
        lead = frame.get_by_text(LEAD)
        for shown in (title, lead):
            assert shown.is_visible()
            box = _inside(shown)
            assert box["width"] > 0 and box["left"] >= 0 and box["right"] <= box["viewport"]
        # Both frames sit side by side on a desktop screen, wholly in view sideways.
        frame_box = iframe.bounding_box()
        assert frame_box is not None and frame_box["x"] + frame_box["width"] <= 1280
    assert page.locator("#subject").inner_text().endswith(f": {TITLE}")
    for width in (600, 375):
        path = _shot(f"preview-{width}.png")
        path.unlink(missing_ok=True)
        page.locator(f"iframe[width='{width}']").screenshot(path=path)
        _check_png(path)
    _full_page_shot(page, "preview-desktop.png")
    page.context.close()


def test_the_preview_page_at_phone_width(browser, url: str) -> None:
    """At 375 px the page's own parts (heading, subject, preheader, the "as reader" form, the
    plain text) fit the screen; the two frames keep their fixed widths by design, as they show
    the email at exactly 600 and 375 px, so they alone may reach past the screen's edge (the
    375 one by its border and the page's margin) and the page may scroll sideways for them."""
    page = _open(browser, url, "/preview/daily", 375)
    overflowing = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => !e.closest('.frames'))"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth)"
        ".map(e => e.tagName + (e.id ? '#' + e.id : ''))"
    )
    assert overflowing == []
    for selector in ("h1", "#subject", "#preheader", "#as", "#text"):
        assert page.locator(selector).is_visible(), selector
    assert page.locator("#text").evaluate("e => e.scrollWidth <= e.clientWidth")  # it wraps
    widths = page.evaluate("[...document.querySelectorAll('iframe')].map(f => f.clientWidth)")
    assert widths == [600, 375]
    assert _frame(page, 375).get_by_role("heading", name=TITLE).is_visible()
    _full_page_shot(page, "preview-phone-page.png")
    page.context.close()


def test_a_reader_unsubscribes_through_the_page(browser, url: str, news: Path) -> None:
    from playwright.sync_api import expect

    csv_file = news / "subscribers" / "daily.csv"
    before = csv_file.read_bytes()
    link = unsubscribe_url(url, SECRET, "daily", "ada@example.com")
    page = _open(browser, url, link.removeprefix(url), 800)
    ask = page.get_by_role("heading", name="Unsubscribe a***@example.com from The Daily Example?")
    expect(ask).to_be_visible()
    assert "ada@example.com" not in page.locator("body").inner_text()  # masked
    assert csv_file.read_bytes() == before  # looking at the page changes nothing
    _full_page_shot(page, "unsubscribe-confirm.png")

    page.get_by_role("button", name="Unsubscribe").click()
    done = page.get_by_role("heading", name="a***@example.com is unsubscribed from")
    expect(done).to_be_visible()
    expect(page.get_by_role("button", name="Resubscribe")).to_be_visible()
    _full_page_shot(page, "unsubscribe-done.png")
    page.context.close()

    deadline = time.monotonic() + WAIT_MS / 1000
    while b"ada@example.com,Ada Lovelace,unsubscribed," not in csv_file.read_bytes():
        assert time.monotonic() < deadline, "the click did not reach the list file"
        time.sleep(0.1)
    old, new = before.splitlines(keepends=True), csv_file.read_bytes().splitlines(keepends=True)
    assert len(new) == len(old)
    changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert changed == [1]  # ada's row; the header and every other row byte for byte the same
    assert new[1].startswith(b"ada@example.com,Ada Lovelace,unsubscribed,2026-10-01T08:00:00Z,")


def test_the_preview_works_without_javascript(browser, url: str) -> None:
    page = _open(browser, url, "/preview/daily", 1280, javascript=False)
    subject = page.locator("#subject").inner_text()
    assert subject.startswith("The Daily Example, ") and subject.endswith(f": {TITLE}")
    assert page.locator("iframe").count() == 2
    for width in (600, 375):
        frame = _frame(page, width)
        assert frame.get_by_role("heading", name=TITLE).is_visible()
        assert frame.get_by_text(LEAD).is_visible()
    assert TITLE in page.locator("#text").inner_text()
    page.context.close()


def test_the_preview_reloads_itself_when_an_article_changes(browser, url: str, news: Path) -> None:
    from playwright.sync_api import expect

    page = _open(browser, url, "/preview/daily", 1280)
    expect(page.locator("#subject")).to_contain_text(TITLE)
    page.evaluate("window.loadedBeforeTheEdit = true")
    article = news / "articles" / "city-library-late-opening.md"
    new_title = "Library opens late on weeknights from next month"
    article.write_text(
        article.read_text(encoding="utf-8").replace(f"title: {TITLE}", f"title: {new_title}"),
        encoding="utf-8",
    )
    expect(page.locator("#subject")).to_contain_text(new_title, timeout=WAIT_MS)
    assert page.evaluate("window.loadedBeforeTheEdit") is None  # a new page: it reloaded
    for width in (600, 375):
        assert _frame(page, width).get_by_role("heading", name=new_title).is_visible()
    page.context.close()


def test_the_preview_reloads_itself_once_a_broken_template_is_fixed(
    browser, url: str, news: Path
) -> None:
    """An editor who breaks a template sees the error where the preview was; fixing the
    template must bring the preview back by itself, as any other edit does: that is when the
    live reload is most needed."""
    from playwright.sync_api import expect

    (news / "templates").mkdir()
    template = news / "templates" / "digest.mjml.j2"
    template.write_text(
        '{% extends "default:digest.mjml.j2" %}\n'
        "{% block header %}\n"
        "{{ title | no_such_filter }}\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    page = _open(browser, url, "/preview/daily", 1280)
    expect(page.get_by_role("heading", name="The issue cannot be built")).to_be_visible()
    template.write_text('{% extends "default:digest.mjml.j2" %}\n', encoding="utf-8")
    expect(page.locator("#subject")).to_contain_text(TITLE, timeout=WAIT_MS)
    page.context.close()
