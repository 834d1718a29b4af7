"""The pages of `digest serve` over real HTTP: the app on uvicorn in a thread, asked with httpx.

Issues get into the ledger through real sends (the outbox backend; SendGrid's stand-in for the
sandbox), so the pages show what a reader was really sent."""

from __future__ import annotations

import csv
import email
import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx
import pytest
from conftest import NOW, make_newsletter
from webserver import run_app

from digest.config import load_config
from digest.pipeline import SendRequest, send_issue
from digest.schedule.due import next_runs
from digest.tokens import token, unsubscribe_url
from digest.web import Flusher, Site

SECRET = "a-secret-for-the-web-tests"
BASE = "https://news.example.org"
READERS = (
    "email,name,status,subscribed_at,unsubscribed_at\n"
    "ada@example.com,Ada Lovelace,subscribed,2026-10-01T08:00:00Z,\n"
    "grace@example.com,Grace Hopper,subscribed,2026-10-02T08:00:00Z,\n"
    "linus@example.com,,subscribed,2026-10-03T08:00:00Z,\n"
    "alan@example.com,Alan Turing,unsubscribed,2026-10-01T08:00:00Z,2026-11-01T08:00:00Z\n"
    "edsger@example.com,Edsger Dijkstra,bounced,2026-10-01T08:00:00Z,2026-11-02T08:00:00Z\n"
)
LIBRARY = "City library trials late opening on weeknights"
LIBRARY_LEAD = "The central library will stay open until 10pm on weeknights"
ISSUE = "daily-2026-11-24"
HOSTILE = "City <b>library</b> \"late\" <script>alert(2)</script> trials' onload='alert(3)"


# --- the server -------------------------------------------------------------------------------


@contextmanager
def serving(root: Path, secret: str = SECRET) -> Iterator[str]:
    """`create_app(site, flusher)` on real uvicorn in a thread (`webserver.run_app`); yields
    its base URL, and stops it (flushing what is pending) on the way out."""
    site = Site(load_config(root / "digest.toml"), secret)
    with run_app(site, Flusher(site, delay=0.0)) as base:
        yield base


@pytest.fixture
def news(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example newsletter with five readers (three subscribed), and the secret a real
    send signs its links with."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(READERS, encoding="utf-8")
    return root


@pytest.fixture
def url(news: Path) -> Iterator[str]:
    with serving(news) as base:
        yield base


# --- helpers ----------------------------------------------------------------------------------


class Parsed(HTMLParser):
    """The tags (with their attributes, unescaped) and the text of an HTML document."""

    def __init__(self, document: str, at: str = "/") -> None:
        super().__init__(convert_charrefs=True)
        self.at = at
        self.tags: list[tuple[str, dict[str, str]]] = []
        self._text: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self._text))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]

    def hrefs(self) -> list[str]:
        """Each link; one relative to the page (`at`) as the path it leads to."""
        return [_resolved(self.at, a.get("href", "")) for a in self.all("a")]


def _resolved(at: str, href: str) -> str:
    if href.startswith(("http://", "https://")):
        return href
    parts = urlsplit(urljoin("http://page.invalid" + at, href))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def get(base: str, path: str, **kw: object) -> httpx.Response:
    return httpx.get(base + path, timeout=60, **kw)  # type: ignore[arg-type]


def frames(page: str) -> dict[str, str]:
    """The preview's iframes by width: their srcdoc, the email's HTML."""
    return {f["width"]: f["srcdoc"] for f in Parsed(page).all("iframe")}


def by_id(page: str, tag: str, element_id: str) -> str:
    """The text of `<tag id=element_id>`, unescaped."""
    m = re.search(rf'<{tag} id="{element_id}">(.*?)</{tag}>', page, re.S)
    assert m, f"no <{tag} id={element_id}> in the page"
    return html.unescape(m.group(1))


def csv_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def send(root: Path, now: datetime = NOW, list_name: str = "daily", **request: object):
    config = load_config(root / "digest.toml")
    report = send_issue(config, config.get_list(list_name), SendRequest(**request), now=now)
    assert report.issue_id and report.finished, report.message
    return report


def outbox(root: Path, issue: str = ISSUE) -> dict[str, email.message.EmailMessage]:
    out = {}
    for f in sorted((root / "outbox" / issue).glob("*.eml")):
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        out[email.utils.parseaddr(msg["To"])[1]] = msg
    return out


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return html_part.get_content(), text_part.get_content()


def add_article(root: Path, name: str, title: str, body: str = "") -> None:
    body = body or "The council met again late on Monday and agreed to keep the pool open."
    (root / "articles" / name).write_text(
        f"---\ntitle: {title}\ndate: 2026-11-24T06:50:00Z\n---\n\n{body}\n", encoding="utf-8"
    )


def edit_config(root: Path, old: str, new: str) -> None:
    path = root / "digest.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def readers() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(READERS)))


# --- / ----------------------------------------------------------------------------------------


def test_home_counts_each_lists_readers_by_status_as_the_csv_has_them(news: Path, url: str) -> None:
    lst = load_config(news / "digest.toml").get_list("daily")
    before = next_runs(lst, datetime.now(UTC), 1)
    r = get(url, "/")
    after = next_runs(lst, datetime.now(UTC), 1)
    assert r.status_code == 200
    page = Parsed(r.text)
    assert "The Daily Example (daily)" in page.text
    counts = csv_counts(news / "subscribers" / "daily.csv")
    assert counts == {"subscribed": 3, "unsubscribed": 1, "bounced": 1}
    shown = re.search(r"<dt>Readers</dt><dd>(.*?)</dd>", r.text)
    assert shown is not None
    pairs = dict(p.rsplit(" ", 1) for p in html.unescape(shown.group(1)).split(" · "))
    assert {k: int(v) for k, v in pairs.items()} == {**counts, "complained": 0}
    expected = {f"{o.at:%A %Y-%m-%d %H:%M %Z}" for o in before + after}
    nxt = re.search(r"<dt>Next send</dt><dd>(.*?)</dd>", r.text)
    assert nxt is not None and html.unescape(nxt.group(1)) in expected
    assert {"/preview/daily", "/archive/daily"} <= set(page.hrefs())
    assert "No issue sent yet." in page.text


def test_home_shows_a_sent_issue_with_its_counts_and_link(news: Path, url: str) -> None:
    send(news)
    r = get(url, "/")
    assert r.status_code == 200
    row = re.search(r"<tr><td><a href=\"issues/daily-2026-11-24\">(.*?)</tr>", r.text)
    assert row is not None, "no row with a link to the sent issue"
    ledger = r.text.split('<table class="health">', 1)[0]  # the issues' table, not health
    header = re.findall(r'<th class="n">(\w+)</th>', ledger)
    cells = [int(c) for c in re.findall(r'<td class="n">(\d+)</td>', row.group(0))]
    assert dict(zip(header, cells, strict=True)) == {
        "pending": 0,
        "claimed": 0,
        "sent": 3,
        "failed": 0,
        "unknown": 0,
    }
    assert "2026-11-24 07:00 UTC" in row.group(0) and "not finished" not in row.group(0)
    assert get(url, "/issues/daily-2026-11-24").status_code == 200  # the link leads somewhere


# --- /preview ---------------------------------------------------------------------------------


def test_preview_shows_subject_preheader_both_widths_and_the_text(url: str) -> None:
    r = get(url, "/preview/daily")
    assert r.status_code == 200
    subject = by_id(r.text, "dd", "subject")
    assert subject.startswith("The Daily Example, ") and subject.endswith(f": {LIBRARY}")
    preheader = by_id(r.text, "dd", "preheader")
    assert preheader.startswith("Also: In response to the Russian threat")  # not the subject's
    assert preheader.endswith("· Volunteers pull two tonnes of rubbish from the river")
    shown = frames(r.text)
    assert sorted(shown) == ["375", "600"]
    assert shown["600"] == shown["375"]
    for srcdoc in shown.values():
        email_html = Parsed(srcdoc)
        assert LIBRARY in email_html.text and LIBRARY_LEAD in email_html.text
    iframes = Parsed(r.text).all("iframe")
    assert all("sandbox" in f for f in iframes)
    text = by_id(r.text, "pre", "text")
    assert LIBRARY in text and "Good morning. 3 stories today." in text
    assert f"Unsubscribe: {BASE}/unsubscribe?list=daily&preview=1" in text


def test_preview_as_a_reader_shows_their_name_and_their_own_unsubscribe_link(url: str) -> None:
    r = get(url, "/preview/daily", params={"as": "ada@example.com"})
    assert r.status_code == 200
    link = unsubscribe_url(BASE, SECRET, "daily", "ada@example.com")
    for srcdoc in frames(r.text).values():
        email_html = Parsed(srcdoc)
        assert "Good morning, Ada Lovelace." in email_html.text
        assert link in email_html.hrefs()
        assert "sent to ada@example.com" in email_html.text
    text = by_id(r.text, "pre", "text")
    assert "Good morning, Ada Lovelace." in text and f"Unsubscribe: {link}" in text
    other = get(url, "/preview/daily", params={"as": "linus@example.com"})  # no name
    assert "Good morning. 3 stories today." in by_id(other.text, "pre", "text")
    assert unsubscribe_url(BASE, SECRET, "daily", "linus@example.com") in other.text.replace(
        "&amp;", "&"
    )


def test_preview_as_someone_not_on_the_list_is_404(url: str) -> None:
    r = get(url, "/preview/daily", params={"as": "nobody@example.com"})
    assert r.status_code == 404
    assert "nobody@example.com is not on the list daily" in Parsed(r.text).text
    assert "<iframe" not in r.text


def test_an_edit_shows_on_reload_and_changes_the_stamp(news: Path, url: str) -> None:
    first = get(url, "/preview/daily/stamp")
    assert first.status_code == 200 and first.text
    assert get(url, "/preview/daily/stamp").text == first.text  # nothing changed: the same
    article = news / "articles" / "city-library-late-opening.md"
    article.write_text(
        article.read_text(encoding="utf-8").replace(
            f"title: {LIBRARY}", "title: Library opens late on weeknights from next month"
        ),
        encoding="utf-8",
    )
    r = get(url, "/preview/daily")
    assert by_id(r.text, "dd", "subject").endswith(
        ": Library opens late on weeknights from next month"
    )
    assert "Library opens late on weeknights from next month" in Parsed(frames(r.text)["600"]).text
    stamps = [first.text, get(url, "/preview/daily/stamp").text]
    assert stamps[1] != stamps[0]
    # Each thing the preview is made of changes it: the list file, a template, digest.toml.
    with (news / "subscribers" / "daily.csv").open("a", encoding="utf-8") as f:
        f.write("new@example.com,,subscribed,2026-11-20T08:00:00Z,\n")
    stamps.append(get(url, "/preview/daily/stamp").text)
    (news / "templates").mkdir()
    (news / "templates" / "digest.txt.j2").write_text(
        '{% extends "default:digest.txt.j2" %}\n', encoding="utf-8"
    )
    stamps.append(get(url, "/preview/daily/stamp").text)
    with (news / "digest.toml").open("a", encoding="utf-8") as f:
        f.write("# an edit\n")
    stamps.append(get(url, "/preview/daily/stamp").text)
    assert len(set(stamps)) == len(stamps), stamps


def test_a_template_error_is_a_500_page_naming_the_file_and_line(news: Path, url: str) -> None:
    (news / "templates").mkdir()
    template = news / "templates" / "digest.mjml.j2"
    template.write_text(
        '{% extends "default:digest.mjml.j2" %}\n'
        "{% block header %}\n"
        "{{ title | no_such_filter }}\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    r = get(url, "/preview/daily")
    assert r.status_code == 500
    text = Parsed(r.text).text
    assert f"{template}, line 3" in text and "no_such_filter" in text
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert "<iframe" not in r.text
    template.write_text('{% extends "default:digest.mjml.j2" %}\n', encoding="utf-8")
    assert get(url, "/preview/daily").status_code == 200  # fixed: the next load works


def test_an_unknown_list_is_404(url: str) -> None:
    for path in (
        "/preview/nope",
        "/preview/nope/stamp",
        "/archive/nope",
        "/archive/nope/feed.atom",
        "/no/such/page",
    ):
        r = get(url, path)
        assert r.status_code == 404, path
        assert "Traceback" not in r.text


# --- /issues ----------------------------------------------------------------------------------


def test_the_web_version_shows_the_sent_issue_with_no_readers_data(news: Path, url: str) -> None:
    send(news)
    sent = outbox(news)
    assert sorted(sent) == ["ada@example.com", "grace@example.com", "linus@example.com"]
    r = get(url, f"/issues/{ISSUE}")
    assert r.status_code == 200
    page = Parsed(r.text, at=f"/issues/{ISSUE}")
    assert LIBRARY in page.text and LIBRARY_LEAD in page.text
    assert "Volunteers pull two tonnes of rubbish from the river" in page.text
    assert "View in browser" in page.text
    assert "sent to every reader" in page.text
    assert "Good morning. 3 stories today." in page.text
    assert "/unsubscribe?list=daily&from=web" in page.hrefs()
    lowered = r.text.casefold()
    for reader in readers():
        assert reader["email"].casefold() not in lowered
        assert token(SECRET, "daily", reader["email"]) not in r.text
        for part in reader["name"].split():
            assert not re.search(rf"\b{re.escape(part)}\b", r.text), part
    # The reader's own parts were in the email; the page has the same issue without them.
    ada_html, ada_text = parts(sent["ada@example.com"])
    assert "Good morning, Ada Lovelace." in ada_html and f"{BASE}/issues/{ISSUE}" in ada_text
    assert f"{BASE}/issues/{ISSUE}" in Parsed(ada_html).hrefs()
    # Its unsubscribe link sends a visitor to their own copy, and unsubscribes nobody.
    nobody = get(url, "/unsubscribe", params={"list": "daily", "from": "web"})
    assert nobody.status_code == 400
    assert "use the link in your own copy of the email" in Parsed(nobody.text).text


def test_an_unknown_issue_and_a_sandbox_issue_are_404(
    news: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sendgrid_standin import API_KEY, SendGridStandIn

    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    with SendGridStandIn(api_key=API_KEY, keep=True) as sg:
        with (news / "digest.toml").open("a", encoding="utf-8") as f:
            f.write(
                f'\n[delivery]\nbackend = "sendgrid"\n\n[delivery.sendgrid]\nhost = "{sg.url}"\n'
            )
        report = send(news, sandbox=True)
    sandbox = report.issue_id
    assert sandbox and sandbox.endswith("-sandbox")
    with serving(news) as url:
        assert get(url, f"/issues/{sandbox}").status_code == 404
        for unknown in ("daily-2026-11-23", "nothing", "daily-2026-11-24%00", "..%2F..%2Fetc"):
            r = get(url, f"/issues/{unknown}")
            assert r.status_code == 404, unknown
        archive = get(url, "/archive/daily")
        assert sandbox not in archive.text and "No issue has been sent yet." in archive.text
        assert not feedparser.parse(get(url, "/archive/daily/feed.atom").content).entries
        home = get(url, "/")
        assert sandbox in home.text  # the lists page shows it, with no link to a page
        assert f"/issues/{sandbox}" not in Parsed(home.text).hrefs()


# --- /archive ---------------------------------------------------------------------------------


def test_the_archive_and_its_feed_list_each_sent_issue(news: Path, url: str) -> None:
    send(news)
    add_article(news, "late.md", "A late story")
    send(news, now=NOW + timedelta(days=1))
    subjects = {
        issue: next(iter(outbox(news, issue).values()))["Subject"]
        for issue in (ISSUE, "daily-2026-11-25")
    }
    assert subjects["daily-2026-11-25"].endswith(": A late story")
    r = get(url, "/archive/daily")
    assert r.status_code == 200
    links = Parsed(r.text, at="/archive/daily").hrefs()
    assert links == [
        "/archive/daily/feed.atom",
        "/issues/daily-2026-11-25",
        "/issues/daily-2026-11-24",
    ]
    for subject in subjects.values():
        assert subject in Parsed(r.text).text
    alternate = [x for x in Parsed(r.text).all("link") if x.get("rel") == "alternate"]
    assert alternate == [
        {
            "rel": "alternate",
            "type": "application/atom+xml",
            "title": "The Daily Example: past issues",
            "href": "daily/feed.atom",  # relative to /archive/daily: the app may sit under a path
        }
    ]
    feed = get(url, "/archive/daily/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "The Daily Example: past issues"
    got = [(e.title, e.link, e.id) for e in parsed.entries]
    assert got == [
        (subjects[i], f"{BASE}/issues/{i}", f"{BASE}/issues/{i}")
        for i in ("daily-2026-11-25", ISSUE)
    ]
    content = parsed.entries[1].content[0].value
    assert LIBRARY in content and "sent to every reader" in content
    assert "ada@example.com" not in feed.text and "Lovelace" not in feed.text


def test_archive_false_hides_the_pages_of_a_list_that_had_them(news: Path, url: str) -> None:
    send(news)
    assert get(url, f"/issues/{ISSUE}").status_code == 200
    with (news / "digest.toml").open("a", encoding="utf-8") as f:
        f.write("archive = false\n")  # [lists.daily] is the file's last table
    for path in (f"/issues/{ISSUE}", "/archive/daily", "/archive/daily/feed.atom"):
        r = get(url, path)
        assert r.status_code == 404, path
        assert LIBRARY not in r.text
    home = Parsed(get(url, "/").text)
    assert "/archive/daily" not in home.hrefs() and f"/issues/{ISSUE}" not in home.hrefs()
    assert get(url, "/preview/daily").status_code == 200  # the list itself is still served


def test_a_list_without_archive_has_no_view_in_browser_link(news: Path) -> None:
    with (news / "digest.toml").open("a", encoding="utf-8") as f:
        f.write("archive = false\n")
    with serving(news) as url:
        r = get(url, "/preview/daily")
        assert r.status_code == 200 and LIBRARY in by_id(r.text, "dd", "subject")
        assert "View in browser" not in r.text and "/issues/" not in r.text
        send(news)
        for msg in outbox(news).values():
            body_html, body_text = parts(msg)
            assert "View in browser" not in body_html + body_text
            assert "/issues/" not in body_html + body_text
        assert get(url, f"/issues/{ISSUE}").status_code == 404
    # The same newsletter with its archive on: the link is in both parts.
    edit_config(news, "archive = false\n", "")
    add_article(news, "late.md", "A late story")
    send(news, now=NOW + timedelta(days=1))
    body_html, body_text = parts(outbox(news, "daily-2026-11-25")["ada@example.com"])
    assert f"View in browser: {BASE}/issues/daily-2026-11-25" in body_text
    assert f"{BASE}/issues/daily-2026-11-25" in Parsed(body_html).hrefs()


# --- every page -------------------------------------------------------------------------------


def test_markup_in_a_list_title_or_a_story_title_is_escaped_in_every_page(news: Path) -> None:
    edit_config(
        news, 'title = "The Daily Example"', 'title = "The <script>alert(1)</script> Daily"'
    )
    article = news / "articles" / "city-library-late-opening.md"
    article.write_text(
        article.read_text(encoding="utf-8").replace(f"title: {LIBRARY}", f"title: {HOSTILE}"),
        encoding="utf-8",
    )
    with serving(news) as url:
        preview = get(url, "/preview/daily")
        send(news)
        link = unsubscribe_url(url, SECRET, "daily", "ada@example.com")
        pages = {
            "home": get(url, "/").text,
            "preview": preview.text,
            "archive": get(url, "/archive/daily").text,
            "issue": get(url, f"/issues/{ISSUE}").text,
            "unsubscribe": get(url, link.removeprefix(url)).text,
        }
        pages["preview email"] = frames(preview.text)["600"]
        feed = feedparser.parse(get(url, "/archive/daily/feed.atom").content)
    for name, document in pages.items():
        parsed = Parsed(document)
        assert not parsed.all("b"), name
        scripts = parsed.all("script")
        assert len(scripts) == (1 if name == "preview" else 0), name  # only the live reload
        handlers = [k for _, attrs in parsed.tags for k in attrs if k.startswith("on")]
        assert not handlers, name
        assert "The <script>alert(1)</script> Daily" in parsed.text, name
    for name in ("issue", "preview email"):
        assert HOSTILE in Parsed(pages[name]).text, name
    assert feed.entries[0].title.endswith(HOSTILE)


def test_every_page_has_the_safety_headers_and_no_outside_assets(news: Path, url: str) -> None:
    send(news)
    link = unsubscribe_url(url, SECRET, "daily", "ada@example.com").removeprefix(url)
    answers = {
        "/": get(url, "/"),
        "/preview/daily": get(url, "/preview/daily"),
        "/preview/daily?as": get(url, "/preview/daily", params={"as": "ada@example.com"}),
        "/preview/daily?as=nobody": get(url, "/preview/daily", params={"as": "x@example.com"}),
        "/issues/<id>": get(url, f"/issues/{ISSUE}"),
        "/issues/unknown": get(url, "/issues/nothing"),
        "/archive/daily": get(url, "/archive/daily"),
        "/unsubscribe GET": get(url, link),
        "/unsubscribe bad token": get(url, "/unsubscribe?list=daily&email=a@b.c&token=x"),
        "/unsubscribe POST": httpx.post(url + link, timeout=60),
        "/no/such/page": get(url, "/no/such/page"),
    }
    for name, r in answers.items():
        assert r.headers["content-type"].startswith("text/html"), name
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, name
        assert r.headers.get("referrer-policy") == "no-referrer", name
        assert r.headers.get("cache-control") == "no-store", name
        assert r.headers.get("x-content-type-options") == "nosniff", name
        documents = [r.text, *frames(r.text).values()]
        for document in documents:
            parsed = Parsed(document)
            stylesheets = [x for x in parsed.all("link") if "stylesheet" in x.get("rel", "")]
            assert not stylesheets, name
            assert not [s for s in parsed.all("script") if "src" in s], name
            assert not [x for x in parsed.all("link") if "://" in x.get("href", "")], name
            assert "@import" not in document, name


def test_a_german_list_gets_german_archive_and_unsubscribe_pages(news: Path) -> None:
    with (news / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(
            "\n[lists.taeglich]\n"
            'title = "Das Tagesbeispiel"\n'
            'sender = "Das Tagesbeispiel <taeglich@example.com>"\n'
            'timezone = "Europe/Berlin"\n'
            'language = "de"\n'
            'subscribers = "subscribers/taeglich.csv"\n'
        )
    (news / "subscribers" / "taeglich.csv").write_text(
        "email,name,status\nanna@example.de,Anna Schmidt,subscribed\n", encoding="utf-8"
    )
    with serving(news) as url:
        empty = get(url, "/archive/taeglich")
        assert empty.status_code == 200
        assert '<html lang="de">' in empty.text
        text = Parsed(empty.text).text
        assert "Das Tagesbeispiel: frühere Ausgaben" in text
        assert "Atom-Feed dieser Ausgaben" in text
        assert "Es wurde noch keine Ausgabe verschickt." in text
        report = send(news, list_name="taeglich")
        full = Parsed(get(url, "/archive/taeglich").text, at="/archive/taeglich")
        assert f"/issues/{report.issue_id}" in full.hrefs()
        feed = feedparser.parse(get(url, "/archive/taeglich/feed.atom").content)
        assert feed.feed.title == "Das Tagesbeispiel: frühere Ausgaben"
        assert feed.feed.get("language") == "de" and len(feed.entries) == 1
        issue = Parsed(get(url, f"/issues/{report.issue_id}").text).text
        assert "alle Leser" in issue and "anna@example.de" not in issue
        link = unsubscribe_url(url, SECRET, "taeglich", "anna@example.de").removeprefix(url)
        ask = get(url, link)
        assert '<html lang="de">' in ask.text
        assert "a***@example.de von Das Tagesbeispiel abmelden?" in Parsed(ask.text).text
        assert "Abmelden" in Parsed(ask.text).text
        done = httpx.post(url + link, timeout=60)
        assert "a***@example.de ist von Das Tagesbeispiel abgemeldet." in Parsed(done.text).text
        assert "Wieder anmelden" in Parsed(done.text).text
        english = Parsed(get(url, "/archive/daily").text).text  # the other list stays English
        assert "The Daily Example: past issues" in english
