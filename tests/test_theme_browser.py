"""The theme as a reader sees it, in Debian's chromium: 375 and 600 px, light and dark, English
and Hebrew, with and without pictures. The email and its pictures are served by a real HTTP
server on 127.0.0.1 (a mail client fetches pictures the same way). Screenshots are written to
artifacts/screenshots/theme-<language>-<pictures>-<width>-<scheme>.png to look at."""

from __future__ import annotations

import functools
import http.server
import itertools
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import chromium_path

from digest.compose import render
from digest.compose.personalise import Reader, fill
from digest.config.model import ComposeSettings
from digest.models import Article, Digest

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"
)

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PICTURE = (800, 450)
LOGO = (400, 100)
CASES = list(itertools.product(("en", "he"), ("pictures", "plain"), (375, 600), ("light", "dark")))


def _png(width: int, height: int) -> bytes:
    """A plain PNG of that size (no imaging library needed)."""
    row = b"\x00" + bytes((70, 120, 180)) * width
    data = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


_HEBREW = (
    "ראש העיר הודיע הבוקר כי הגשר החדש ייפתח לתנועה בחודש הבא",
    "המועצה אישרה אמש את התקציב לבניית הגשר, למרות התנגדות התושבים שחוששים מרעש ומעומס תנועה.",
)


def _issue(language: str, pictures: bool, base: str) -> str:
    """Seven stories from three sources; the third one in English (in a Hebrew issue it keeps
    its own direction), the fifth with a picture of unknown size."""
    stories = []
    for i in range(7):
        english = language == "en" or i == 2
        stories.append(
            Article(
                id=f"s{i}",
                title=f"Story {i}: the new bridge opens next month after two years of work"
                if english
                else f"{_HEBREW[0]} ({i})",
                source=("Town Feed", "Sport Feed", "Culture Feed")[i % 3],
                site=("The Example Gazette", "Sport Page", "Arts Weekly")[i % 3],
                author="Priya Raman" if i % 2 else None,
                url=f"https://news.example.com/{i}",
                published=datetime(2026, 11, 24, 5 + i, tzinfo=UTC),
                lead=(
                    "The council approved the budget for the bridge last night, despite "
                    "residents who fear noise and traffic in the old town.",
                    "Engineers expect the work to finish within two years, the era-and that s",
                )
                if english
                else (_HEBREW[1],),
                image=f"{base}/picture-{i}.png" if pictures else None,
                image_alt="The bridge at dusk",
                image_width=None if i == 4 else PICTURE[0],
                image_height=None if i == 4 else PICTURE[1],
            )
        )
    look = ComposeSettings(
        list_name="daily",
        language=language,
        timezone="Europe/London",
        address="Example Club\n1 High Street\nTown AB1 2CD",
        logo=f"{base}/logo.png",
        logo_width=LOGO[0],
        logo_height=LOGO[1],
    )
    digest = Digest("daily", "daily-2026-11-24", date(2026, 11, 24), "The Daily", tuple(stories))
    r = render(replace(digest, number=12), look, None)
    reader = Reader("ada@example.com", "https://news.example.com/unsubscribe?t=x", "Ada")
    return fill(r.html, reader, marker=r.marker, escape=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The issues and their pictures over real HTTP on 127.0.0.1."""
    root = tmp_path_factory.mktemp("served")
    (root / "logo.png").write_bytes(_png(*LOGO))
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    for i in range(7):
        (root / f"picture-{i}.png").write_bytes(_png(*PICTURE))
    for language, pictures in itertools.product(("en", "he"), ("pictures", "plain")):
        html = _issue(language, pictures == "pictures", base)
        (root / f"{language}-{pictures}.html").write_text(html, encoding="utf-8")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield base
    httpd.shutdown()
    httpd.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _open(chromium, url: str, width: int, scheme: str):
    page = chromium.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page


@pytest.mark.parametrize(("language", "pictures", "width", "scheme"), CASES)
def test_the_issue_looks_right(chromium, server: str, language, pictures, width, scheme) -> None:
    page = _open(chromium, f"{server}/{language}-{pictures}.html", width, scheme)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"theme-{language}-{pictures}-{width}-{scheme}.png"
    page.screenshot(path=str(shot), full_page=True)

    # No sideways scroll, and every line of text readable.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    smallest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('body *')]
             .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
             .filter(e => e.getClientRects().length && getComputedStyle(e).display !== 'none'
                          && getComputedStyle(e).opacity !== '0')
             .map(e => parseFloat(getComputedStyle(e).fontSize)))"""
    )
    assert smallest >= 12
    size = "parseFloat(getComputedStyle(document.querySelector('{}')).fontSize)"
    assert page.evaluate(size.format("h2")) >= 18
    assert page.evaluate(size.format("h2 ~ p:not(.meta)")) >= 15

    # The contents list: each link's target is its story's headline, and a click goes there.
    links = page.evaluate(
        """[...document.querySelectorAll('p.toc a')].map(a => {
             const t = document.getElementById(a.getAttribute('href').slice(1));
             return [a.textContent, t && t.tagName, t && t.textContent]; })"""
    )
    assert len(links) == 7
    assert all(tag == "H2" and text == title for title, tag, text in links)
    page.locator("p.toc a").nth(3).click()
    top = page.evaluate(
        "document.getElementById(document.querySelectorAll('p.toc a')[3]"
        ".getAttribute('href').slice(1)).getBoundingClientRect().top"
    )
    assert page.evaluate("window.scrollY") > 0 and abs(top) < 10

    # Pictures: loaded, as wide as their place, in their own proportions.
    images = page.evaluate(
        """[...document.images].map(i => ({w: i.getBoundingClientRect().width,
             h: i.getBoundingClientRect().height, natural: i.naturalWidth,
             thumb: i.classList.contains('thumb'), src: i.getAttribute('src')}))"""
    )
    logo = images.pop(0)
    assert logo["src"].endswith("/logo.png") and logo["natural"] == LOGO[0]
    assert logo["w"] == min(LOGO[0], width - 56)  # on a phone: the column, in proportion
    assert abs(logo["h"] / logo["w"] - LOGO[1] / LOGO[0]) < 0.02
    if pictures == "plain":
        assert images == []
    else:
        assert len(images) == 7 and all(i["natural"] == PICTURE[0] for i in images)
        hero, thumbs = images[0], images[1:]
        assert not hero["thumb"] and all(t["thumb"] for t in thumbs)
        assert hero["w"] == (544 if width == 600 else width - 56)
        assert all(t["w"] == (120 if width == 600 else 88) for t in thumbs)
        for i in images:
            assert abs(i["h"] / i["w"] - PICTURE[1] / PICTURE[0]) < 0.02

    # Light or dark as the reader's system asks.
    card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
    headline = page.evaluate("getComputedStyle(document.querySelector('h2 a')).color")
    if scheme == "dark":
        assert card == "rgb(27, 31, 36)" and headline == "rgb(245, 247, 250)"
    else:
        assert card == "rgb(255, 255, 255)" and headline == "rgb(17, 24, 39)"
        # Outlook.com's dark mode marks what it recolours with data-ogsc/data-ogsb: the
        # theme's rules for those marks must reach its elements.
        page.evaluate("['data-ogsc', 'data-ogsb'].forEach(a => document.body.setAttribute(a, ''))")
        card = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
        headline = page.evaluate("getComputedStyle(document.querySelector('h2 a')).color")
        meta = page.evaluate("getComputedStyle(document.querySelector('p.meta')).color")
        assert (card, headline, meta) == (
            "rgb(27, 31, 36)",
            "rgb(245, 247, 250)",
            "rgb(154, 165, 177)",
        )

    # Reading direction: the issue's own, and an English story's own inside a Hebrew issue.
    direction = page.evaluate("getComputedStyle(document.querySelector('p.kicker')).direction")
    assert direction == ("rtl" if language == "he" else "ltr")
    english = page.locator("h2", has_text="Story 2:")
    assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"
    page.close()
