"""The unsubscribe link of every message, over real HTTP: `digest.web` on uvicorn, a real httpx
client, the state in a real SQLite file and the readers in a real CSV file. Each test checks the
answer and what it left in the file and the state."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from conftest import NOW, make_newsletter
from sendgrid_standin import API_KEY, SendGridStandIn
from webserver import FlushLog, run_app

from digest.cli import main
from digest.config import Config, load_config
from digest.pipeline import SendRequest, send_issue
from digest.state import STATE_FILE, State
from digest.tokens import token, unsubscribe_url
from digest.web import Flusher, Site

SECRET = "a-secret-for-the-web-tests-0123456789"
NEVER = 3600.0
"""A flusher delay no test waits for: what reaches the file then came from somewhere else."""
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

HEADER = "email,name,status,subscribed_at,unsubscribed_at\n"
ROWS = [
    "ada@example.com,Ada Lovelace,subscribed,2026-01-02T03:04:05Z,\n",
    'grace@example.com,"Hopper, Grace",subscribed,,\n',
    "bounce@example.com,Bo Unce,bounced,2026-01-01T00:00:00Z,2026-10-01T00:00:00Z\n",
    "left@example.com,,unsubscribed,2025-05-05T00:00:00Z,2026-10-02T00:00:00Z\n",
    "Zed+Tag@Example.com,Zed,subscribed,,\n",
    *(
        f"reader{i}@example.com,Reader {i},subscribed,2026-02-0{i % 9 + 1}T00:00:00Z,\n"
        for i in range(30)
    ),
]
LISTS = """
[lists.weekly]
title = "The Weekly Example"
sender = "The Weekly Example <weekly@example.com>"
subscribers = "subscribers/weekly.csv"

[lists.taeglich]
title = "Das Tägliche Beispiel"
sender = "Beispiel <taeglich@example.com>"
language = "de"
subscribers = "subscribers/taeglich.csv"
"""


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """A newsletter with three lists: `daily` (the readers above), `weekly` (ada and one
    other: a token of one list must not work on the other) and `taeglich` (in German)."""
    root = make_newsletter(tmp_path)
    (root / "subscribers" / "daily.csv").write_text(HEADER + "".join(ROWS), encoding="utf-8")
    weekly = HEADER + "ada@example.com,Ada,subscribed,,\nwill@example.com,,subscribed,,\n"
    (root / "subscribers" / "weekly.csv").write_text(weekly, encoding="utf-8")
    (root / "subscribers" / "taeglich.csv").write_text(
        HEADER + "anna@example.de,Anna,subscribed,,\n", encoding="utf-8"
    )
    with (root / "digest.toml").open("a", encoding="utf-8") as f:
        f.write(LISTS)
    return root


@dataclass
class Web:
    """A running app for one newsletter folder, and ways to look at what it did."""

    root: Path
    config: Config
    site: Site
    flusher: Flusher
    flushes: FlushLog
    url: str
    client: httpx.Client

    def csv(self, list_name: str = "daily") -> bytes:
        return self.config.lists[list_name].subscribers.read_bytes()

    def link(self, email: str, list_name: str = "daily", secret: str = SECRET) -> str:
        """The link a message to `email` carries, pointing at this server."""
        return unsubscribe_url(self.url, secret, list_name, email)

    def one_click(self, email: str, list_name: str = "daily") -> httpx.Response:
        """What a mail client does for RFC 8058: POST to the link, with the one-click body."""
        return self.client.post(self.link(email, list_name), content=ONE_CLICK, headers=FORM)

    def changes(self, list_name: str | None = None) -> list[dict[str, Any]]:
        return changes(self.config, list_name)


def changes(config: Config, list_name: str | None = None) -> list[dict[str, Any]]:
    """The rows of `status_changes`, oldest first (none when there is no state yet)."""
    path = config.state_dir / STATE_FILE
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM status_changes ORDER BY id").fetchall()
    conn.close()
    return [dict(r) for r in rows if list_name is None or r["list"] == list_name]


@contextmanager
def serving(root: Path, delay: float = 0.0, secret: str = SECRET) -> Iterator[Web]:
    """The app on uvicorn with a flusher writing clicks `delay` seconds after them (its first
    pass, over what was left pending, runs before the first request is served). On leaving,
    the server stops and its flusher writes what is left."""
    config = load_config(root / "digest.toml")
    site = Site(config, secret)
    flushes = FlushLog()
    flusher = Flusher(site, delay=delay, apply=flushes)
    with run_app(site, flusher) as url, httpx.Client(timeout=30) as client:
        yield Web(root, config, site, flusher, flushes, url, client)


def row(data: bytes, email: str) -> str:
    """The line of the CSV file that holds `email` (exactly one must)."""
    lines = [ln for ln in data.decode().splitlines(keepends=True) if ln.startswith(email + ",")]
    assert len(lines) == 1, lines
    return lines[0]


def without(data: bytes, *emails: str) -> list[str]:
    """Every line of the file but those of `emails`, as bytes-exact strings."""
    return [
        ln
        for ln in data.decode().splitlines(keepends=True)
        if not any(ln.startswith(e + ",") for e in emails)
    ]


class Forms(HTMLParser):
    """The forms of a page (action, method, hidden fields), every URL-ish attribute, and tags."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.buttons: list[str] = []
        self._in_button = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            if name in a:
                self.urls.append((tag, name, a[name]))
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "fields": {}})
        if tag == "input" and self.forms:
            self.forms[-1]["fields"][a.get("name")] = a.get("value")
        if tag == "button":
            self._in_button = True
            self.buttons.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.buttons[-1] += data.strip()


def submit(web: Web, answer: httpx.Response) -> httpx.Response:
    """Press the one button of a page, as a browser would: POST its hidden fields."""
    forms = Forms(answer.text).forms
    assert len(forms) == 1, answer.text
    form = forms[0]
    assert form["method"] == "post"
    return web.client.post(urljoin(str(answer.url), form["action"]), data=form["fields"])


# --- 1. links that are not ours ------------------------------------------------------------


def _forged(web: Web) -> str:
    return web.link("ada@example.com", secret="someone-elses-secret")


def _missing(web: Web) -> str:
    return web.link("ada@example.com").split("&token=")[0]


def _empty(web: Web) -> str:
    return web.link("ada@example.com").split("&token=")[0] + "&token="


def _altered(web: Web) -> str:
    link = web.link("ada@example.com")
    last = link[-1]
    return link[:-1] + ("A" if last != "A" else "B")


def _altered_first(web: Web) -> str:
    base, mac = web.link("ada@example.com").split("&token=")
    return f"{base}&token={'x' if mac[0] != 'x' else 'y'}{mac[1:]}"


def _other_list(web: Web) -> str:
    """ada is on both lists; her weekly token must not unsubscribe her from daily."""
    mac = token(SECRET, "weekly", "ada@example.com")
    return f"{web.url}/unsubscribe?list=daily&email=ada@example.com&token={mac}"


def _other_reader(web: Web) -> str:
    mac = token(SECRET, "daily", "grace@example.com")
    return f"{web.url}/unsubscribe?list=daily&email=ada@example.com&token={mac}"


def _unknown_list(web: Web) -> str:
    return web.link("ada@example.com", list_name="monthly")


def _no_list(web: Web) -> str:
    mac = token(SECRET, "daily", "ada@example.com")
    return f"{web.url}/unsubscribe?email=ada@example.com&token={mac}"


def _no_email(web: Web) -> str:
    mac = token(SECRET, "daily", "")
    return f"{web.url}/unsubscribe?list=daily&email=&token={mac}"


def _not_ascii(web: Web) -> str:
    return web.link("ada@example.com") + "%C3%A9"


BAD_LINKS = {
    "forged": _forged,
    "missing token": _missing,
    "empty token": _empty,
    "altered last char": _altered,
    "altered first char": _altered_first,
    "token of another list": _other_list,
    "token of another reader": _other_reader,
    "unknown list": _unknown_list,
    "no list": _no_list,
    "no email": _no_email,
    "non-ASCII token": _not_ascii,
}


@pytest.mark.parametrize("case", list(BAD_LINKS))
def test_a_link_digest_did_not_make_is_refused_and_changes_nothing(news: Path, case: str) -> None:
    before = {name: (news / "subscribers" / f"{name}.csv").read_bytes() for name in LISTS_NAMES}
    with serving(news) as web:
        link = BAD_LINKS[case](web)
        answers = [
            web.client.post(link, content=ONE_CLICK, headers=FORM),  # one-click
            web.client.post(link),  # the button, with the fields in the query
            web.client.get(link),  # the page
            web.client.post(f"{web.url}/unsubscribe", data=dict(parse_qsl(urlsplit(link).query))),
            web.client.post(web.url + "/resubscribe?" + urlsplit(link).query),
        ]
        for answer in answers:
            assert answer.status_code == 400, (answer.request.method, answer.text)
            assert "not valid" in answer.text
            assert "Traceback" not in answer.text
            assert "Resubscribe" not in answer.text  # nothing to undo: nothing was done
        assert web.changes() == []
    # the server has stopped and its flusher made its last pass: still nothing
    assert changes(load_config(news / "digest.toml")) == []
    after = {name: (news / "subscribers" / f"{name}.csv").read_bytes() for name in LISTS_NAMES}
    assert after == before


LISTS_NAMES = ("daily", "weekly", "taeglich")


def test_a_token_works_only_on_its_own_list(news: Path) -> None:
    """The control for the case above: ada's weekly link unsubscribes her from weekly only."""
    daily = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news) as web:
        assert web.one_click("ada@example.com", "weekly").status_code == 200
        web.flushes.wait_applied("weekly", 1)
        assert "ada@example.com,Ada,unsubscribed,," in web.csv("weekly").decode()
        assert web.csv("weekly").decode().endswith("will@example.com,,subscribed,,\n")
        assert [c["list"] for c in web.changes()] == ["weekly"]
    assert (news / "subscribers" / "daily.csv").read_bytes() == daily


# --- 2. a replayed POST ----------------------------------------------------------------------


def test_a_replayed_one_click_records_one_change_and_unsubscribes_once(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=NEVER) as web:
        first = web.one_click("ada@example.com")
        second = web.one_click("ada@example.com")
        assert first.status_code == second.status_code == 200
        assert "a***@example.com is unsubscribed" in first.text
        assert "a***@example.com is unsubscribed" in second.text
        rows = web.changes()
        assert len(rows) == 1 and rows[0]["applied_at"] is None
        assert rows[0]["reader"] == "ada@example.com" and rows[0]["origin"] == "one-click"
        assert web.csv() == original  # not written yet: the flusher waits

        web.flusher.flush_all()
        flushed = web.csv()
        ada = row(flushed, "ada@example.com")
        assert ada.startswith("ada@example.com,Ada Lovelace,unsubscribed,2026-01-02T03:04:05Z,")
        assert without(flushed, "ada@example.com") == without(original, "ada@example.com")

        third = web.one_click("ada@example.com")  # the same link, once the file has it
        assert third.status_code == 200
        assert len([c for c in web.changes() if c["applied_at"] is None]) <= 1
        web.flusher.flush_all()
        assert web.csv() == flushed  # unsubscribed once: not even its time moved
        assert all(c["applied_at"] is not None for c in web.changes())
    assert (news / "subscribers" / "daily.csv").read_bytes() == flushed


# --- 3. one-click, and the commands that see it before the file does ----------------------


def test_a_one_click_post_unsubscribes_the_reader_once_the_flusher_ran(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        clicked = datetime.now(UTC).replace(microsecond=0)
        answer = web.one_click("ada@example.com")
        answered = datetime.now(UTC)
        assert answer.status_code == 200
        assert "a***@example.com is unsubscribed from The Daily Example" in answer.text
        assert Forms(answer.text).buttons == ["Resubscribe"]
        assert answer.headers["cache-control"] == "no-store"
        web.flushes.wait_applied("daily", 1)
        data = web.csv()
    ada = row(data, "ada@example.com").rstrip("\n").split(",")
    assert ada[:4] == ["ada@example.com", "Ada Lovelace", "unsubscribed", "2026-01-02T03:04:05Z"]
    when = datetime.strptime(ada[4], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert clicked <= when <= answered
    assert without(data, "ada@example.com") == without(original, "ada@example.com")
    (change,) = changes(load_config(news / "digest.toml"))
    assert change["outcome"] == "changed" and change["origin"] == "one-click"


def test_digest_subscribers_list_shows_a_click_the_flusher_has_not_written(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=NEVER) as web:
        # the address as a message carries it (the domain in lower case), the file's as typed
        assert web.one_click("Zed+Tag@example.com").status_code == 200
        assert web.csv() == original  # the flusher is still waiting
        assert web.flushes.applied("daily") == 0
        result = CliRunner().invoke(
            main, ["subscribers", "list", "--json", "--config", str(news / "digest.toml")]
        )
        assert result.exit_code == 0, result.output
        readers = {r["email"]: r for r in json.loads(result.stdout)}
        assert readers["Zed+Tag@example.com"]["status"] == "unsubscribed"
        assert readers["Zed+Tag@example.com"]["unsubscribed_at"] is not None
        assert readers["ada@example.com"]["status"] == "subscribed"
        assert web.flushes.applied("daily") == 0  # it was the command that wrote it
        data = web.csv()
        assert row(data, "Zed+Tag@Example.com").startswith("Zed+Tag@Example.com,Zed,unsubscribed,,")
        assert without(data, "Zed+Tag@Example.com") == without(original, "Zed+Tag@Example.com")
        (change,) = web.changes()
        assert change["applied_at"] is not None and change["outcome"] == "changed"


def test_the_confirm_pages_button_unsubscribes(news: Path) -> None:
    with serving(news, delay=0.0) as web:
        page = web.client.get(web.link("grace@example.com"))
        done = submit(web, page)
        assert done.status_code == 200 and "g***@example.com is unsubscribed" in done.text
        web.flushes.wait_applied("daily", 1)
        assert row(web.csv(), "grace@example.com").startswith(
            'grace@example.com,"Hopper, Grace",unsubscribed,,2'
        )
        (change,) = web.changes()
        assert change["origin"] == "web"


# --- 4. GET (and the scanners that follow every link) change nothing ----------------------


def test_getting_the_link_shows_a_confirm_page_and_changes_nothing(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        link = web.link("ada@example.com")
        pages = [web.client.get(link) for _ in range(3)]
        pages.append(web.client.get(link, headers={"User-Agent": "Barracuda link scanner"}))
        for page in pages:
            assert page.status_code == 200
            assert "Unsubscribe a***@example.com from The Daily Example?" in page.text
            assert "ada@example.com" not in page.text.replace('value="ada@example.com"', "")
            (form,) = Forms(page.text).forms
            assert urljoin(link, form["action"]) == f"{web.url}/unsubscribe"
            assert form["method"] == "post"
            assert form["fields"] == {
                "list": "daily",
                "email": "ada@example.com",
                "token": token(SECRET, "daily", "ada@example.com"),
            }
        assert web.changes() == []
        web.flusher.flush_all()
        assert web.csv() == original
    assert (news / "subscribers" / "daily.csv").read_bytes() == original
    assert changes(load_config(news / "digest.toml")) == []


def test_a_head_request_from_a_scanner_changes_nothing(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        link = web.link("ada@example.com")
        for _ in range(3):
            answer = web.client.head(link)
            assert answer.status_code in (200, 405), answer.status_code
        assert web.changes() == []
    assert (news / "subscribers" / "daily.csv").read_bytes() == original


def test_the_page_needs_nothing_from_elsewhere_and_escapes_what_the_link_holds(
    news: Path,
) -> None:
    hostile = 'x@"><script>alert(1)</script><img src=https://evil.example/p.gif>.example'
    with serving(news, delay=0.0) as web:
        for email in ("ada@example.com", hostile):
            for answer in (web.client.get(web.link(email)), web.one_click(email)):
                assert answer.status_code == 200
                parsed = Forms(answer.text)
                assert "script" not in parsed.tags and "img" not in parsed.tags
                assert "link" not in parsed.tags and "iframe" not in parsed.tags
                for tag, attr, value in parsed.urls:
                    assert not value.startswith(("http:", "https:", "//")), (tag, attr, value)
                assert "<script>" not in answer.text
                assert "default-src 'none'" in answer.headers["content-security-policy"]
                assert answer.headers["referrer-policy"] == "no-referrer"
        page = web.client.get(web.link(hostile))
        assert "&lt;script&gt;" in page.text
        (form,) = Forms(page.text).forms
        assert form["fields"]["email"] == hostile  # escaped, and read back whole
        done = submit(web, page)  # the escaped field posts the address the token is for
        assert done.status_code == 200


# --- 5. an address that is not on the list -------------------------------------------------


def test_a_reader_not_on_the_list_gets_the_same_answer_and_the_file_is_untouched(
    news: Path,
) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        stranger = web.one_click("stranger@example.com")
        assert stranger.status_code == 200
        web.flushes.wait_applied("daily", 1)
        assert web.csv() == original
        (change,) = web.changes()
        assert change["outcome"] == "not on the list" and change["applied_at"] is not None
        member = web.one_click("ada@example.com")
        web.flushes.wait_applied("daily", 2)

    def neutral(answer: httpx.Response, email: str, masked: str) -> str:
        mac = token(SECRET, "daily", email)
        return answer.text.replace(email, "E").replace(masked, "M").replace(mac, "T")

    assert member.status_code == 200
    # The page does not tell a member from a stranger.
    assert neutral(stranger, "stranger@example.com", "s***@example.com") == neutral(
        member, "ada@example.com", "a***@example.com"
    )


# --- 6. many clicks at once ------------------------------------------------------------------


def test_twenty_clicks_at_once_for_one_reader_record_one_change(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    n = 20
    with serving(news, delay=NEVER) as web:
        link = web.link("reader7@example.com")
        barrier = threading.Barrier(n)
        answers: list[int] = []
        lock = threading.Lock()

        def click() -> None:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                status = client.post(link, content=ONE_CLICK, headers=FORM).status_code
            with lock:
                answers.append(status)

        threads = [threading.Thread(target=click) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * n
        rows = web.changes()
        assert len(rows) == 1 and rows[0]["reader"] == "reader7@example.com"
        assert web.csv() == original
    data = (news / "subscribers" / "daily.csv").read_bytes()  # the stop wrote it
    assert row(data, "reader7@example.com").startswith(
        "reader7@example.com,Reader 7,unsubscribed,2026-02-08T00:00:00Z,2"
    )
    assert without(data, "reader7@example.com") == without(original, "reader7@example.com")


def test_twenty_readers_clicking_at_once_are_all_written(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    clicking = [f"reader{i}@example.com" for i in range(0, 30, 3)] * 2  # each twice
    with serving(news, delay=0.0) as web:
        barrier = threading.Barrier(len(clicking))
        answers: list[int] = []

        def click(email: str) -> None:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                link = web.link(email)
                answers.append(client.post(link, content=ONE_CLICK, headers=FORM).status_code)

        threads = [threading.Thread(target=click, args=(e,)) for e in clicking]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answers == [200] * len(clicking)
    data = (news / "subscribers" / "daily.csv").read_bytes()
    for email in set(clicking):
        assert ",unsubscribed," in row(data, email)
    assert without(data, *clicking) == without(original, *clicking)
    rows = changes(load_config(news / "digest.toml"))
    assert all(r["applied_at"] is not None for r in rows)
    assert {r["reader"] for r in rows} == set(clicking)


# --- 7. a click while a send is under way ----------------------------------------------------

SEND_READERS = 3000
CLICK_AFTER = 3
"""The click comes in while the stand-in holds the answer to this request (of 30)."""


class ClickingStandIn(SendGridStandIn):
    """The SendGrid stand-in, which makes a reader click their link while it holds request
    number `at` (before answering it). With one request at a time, the send learns of its
    answer, and so asks who left, only after the click was answered."""

    def __init__(self, at: int, click: Any) -> None:
        super().__init__(api_key=API_KEY, keep=True)
        self.at = at
        self.click = click
        self.seen = 0
        self.clicked: httpx.Response | None = None
        self.delivered_before_click: list[str] = []
        self._count = threading.Lock()

    def respond(self, authorization: str, raw: bytes) -> Any:
        with self._count:
            self.seen += 1
            now = self.seen
        if now == self.at:
            self.delivered_before_click = self.addresses()
            self.clicked = self.click()
        return super().respond(authorization, raw)


def test_a_click_during_a_send_stops_that_readers_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_newsletter(tmp_path)
    readers = [f"r{i:04d}@example.com" for i in range(SEND_READERS)]
    rows = "".join(f"{e},Reader {i},subscribed,,\n" for i, e in enumerate(readers))
    (root / "subscribers" / "daily.csv").write_text(HEADER + rows, encoding="utf-8")
    original = (root / "subscribers" / "daily.csv").read_bytes()
    target = readers[-7]  # in the last batch
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    with serving(root, delay=0.0) as web:

        def click() -> httpx.Response:
            with httpx.Client(timeout=30) as client:
                return client.post(web.link(target), content=ONE_CLICK, headers=FORM)

        with ClickingStandIn(CLICK_AFTER, click) as sg:
            with (root / "digest.toml").open("a", encoding="utf-8") as f:
                f.write(
                    '\n[delivery]\nbackend = "sendgrid"\nmax_retries = 0\n\n'
                    f'[delivery.sendgrid]\nhost = "{sg.url}"\nbatch_size = 100\n'
                    "concurrency = 1\n"
                )
            config = load_config(root / "digest.toml")
            report = send_issue(config, config.get_list("daily"), SendRequest(), now=NOW)
            delivered = sg.addresses()
            before_click = sg.delivered_before_click
            clicked = sg.clicked
            requests = len(sg.requests)
        web.flushes.wait_applied("daily", 1)
        data = web.csv()
    assert clicked is not None and clicked.status_code == 200
    assert len(before_click) == (CLICK_AFTER - 1) * 100  # the click came mid-send
    assert requests == SEND_READERS // 100
    assert target not in delivered
    assert sorted(delivered) == sorted(r for r in readers if r != target)
    assert len(delivered) == len(set(delivered))  # everyone else exactly once
    assert report.tally.sent == SEND_READERS - 1 and report.tally.withheld == 1
    assert "left out 1 (unsubscribed meanwhile)" in report.message
    with State.open(config.state_dir) as state:
        ledger = state.db.conn.execute(
            "SELECT status FROM deliveries WHERE list = 'daily' AND reader = ?", (target,)
        ).fetchall()
        sent = state.db.conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE list = 'daily' AND status = 'sent'"
        ).fetchone()[0]
    assert ("sent",) not in ledger
    assert sent == SEND_READERS - 1
    assert row(data, target).startswith(f"{target},Reader {SEND_READERS - 7},unsubscribed,,2")
    assert without(data, target) == without(original, target)


# --- 8. resubscribe --------------------------------------------------------------------------


def test_resubscribe_undoes_a_one_click_unsubscribe(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        gone = web.one_click("ada@example.com")
        web.flushes.wait_applied("daily", 1)
        assert ",unsubscribed," in row(web.csv(), "ada@example.com")
        back = submit(web, gone)  # the "Resubscribe" button of the answer
        assert back.status_code == 200, back.text
        assert "a***@example.com is subscribed to The Daily Example again" in back.text
        assert Forms(back.text).forms == []
        web.flushes.wait_applied("daily", 2)
        data = web.csv()
        ada = row(data, "ada@example.com").rstrip("\n").split(",")
        assert ada[:3] == ["ada@example.com", "Ada Lovelace", "subscribed"] and ada[4] == ""
        assert without(data, "ada@example.com") == without(original, "ada@example.com")
        again = submit(web, gone)  # a second press: the same answer, nothing new
        assert again.status_code == 200
        assert [(c["status"], c["origin"]) for c in web.changes()] == [
            ("unsubscribed", "one-click"),
            ("subscribed", "undo"),
        ]


def test_an_undo_before_the_flush_leaves_the_file_as_it_was(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=NEVER) as web:
        gone = web.one_click("ada@example.com")
        back = web.client.post(f"{web.url}/resubscribe", data=Forms(gone.text).forms[0]["fields"])
        assert back.status_code == 200
        assert "a***@example.com is subscribed to The Daily Example again" in back.text
        page = web.client.get(web.link("ada@example.com"))
        assert "Unsubscribe a***@example.com from" in page.text  # not "already unsubscribed"
    assert (news / "subscribers" / "daily.csv").read_bytes() == original


@pytest.mark.parametrize("how", ["in the file", "by the command"])
def test_resubscribe_is_refused_for_a_reader_who_did_not_leave_by_a_click(
    news: Path, how: str
) -> None:
    email = "left@example.com" if how == "in the file" else "grace@example.com"
    if how == "by the command":
        result = CliRunner().invoke(
            main, ["subscribers", "unsubscribe", email, "--config", str(news / "digest.toml")]
        )
        assert result.exit_code == 0, result.output
    before = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        link = web.link(email)
        answer = web.client.post(web.url + "/resubscribe?" + urlsplit(link).query)
        assert answer.status_code == 409, answer.text
        assert "can no longer subscribe" in answer.text
        assert web.changes() == []
    assert (news / "subscribers" / "daily.csv").read_bytes() == before
    assert ",unsubscribed," in row(before, email)


def test_an_undo_comes_too_late_after_seven_days(news: Path) -> None:
    config = load_config(news / "digest.toml")
    long_ago = datetime.now(UTC) - timedelta(days=8)
    with State.open(config.state_dir) as state:
        state.changes.record(
            "daily", "ada@example.com", "ada@example.com", "unsubscribed", long_ago, "one-click"
        )
    with serving(news, delay=0.0) as web:
        web.flushes.wait_applied("daily", 1)  # the first pass wrote the old click
        before = web.csv()
        assert ",unsubscribed," in row(before, "ada@example.com")
        link = web.link("ada@example.com")
        answer = web.client.post(web.url + "/resubscribe?" + urlsplit(link).query)
        assert answer.status_code == 409
        assert len(web.changes()) == 1
    assert (news / "subscribers" / "daily.csv").read_bytes() == before


def test_a_bounced_reader_whose_click_is_undone_before_the_flush_stays_bounced(
    news: Path,
) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=NEVER) as web:
        gone = web.one_click("bounce@example.com")
        assert gone.status_code == 200
        assert submit(web, gone).status_code == 200
    assert (news / "subscribers" / "daily.csv").read_bytes() == original


def test_a_bounced_reader_whose_click_is_undone_after_the_flush_stays_bounced(
    news: Path,
) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    with serving(news, delay=0.0) as web:
        gone = web.one_click("bounce@example.com")
        assert gone.status_code == 200  # answered like any other click
        web.flushes.wait_applied("daily", 1)  # the click was written (or kept out) of the file
        back = submit(web, gone)
        assert back.status_code in (200, 409)
        if back.status_code == 200:
            web.flushes.wait_applied("daily", 2)
        data = web.csv()
    bounced = row(data, "bounce@example.com")
    assert ",bounced," in bounced, bounced  # never mailed again because of an undo
    assert bounced == row(original, "bounce@example.com")  # the bounce's time kept too
    assert data == original


# --- 9. a body too big, and the list's language ---------------------------------------------


def test_a_huge_body_is_refused_with_413_and_records_nothing(news: Path) -> None:
    original = (news / "subscribers" / "daily.csv").read_bytes()
    huge = ONE_CLICK + b"&pad=" + b"x" * 5000
    with serving(news, delay=0.0) as web:
        link = web.link("ada@example.com")
        answers = [
            web.client.post(link, content=huge, headers=FORM),
            web.client.post(link, content=iter([huge[:3000], huge[3000:]]), headers=FORM),
            web.client.post(web.url + "/resubscribe?" + urlsplit(link).query, content=huge),
        ]
        assert [a.status_code for a in answers] == [413, 413, 413]
        assert "Traceback" not in "".join(a.text for a in answers)
        assert web.changes() == []
        small = web.client.post(link, content=ONE_CLICK + b"&pad=" + b"x" * 3000, headers=FORM)
        assert small.status_code == 200  # under 4 KB is fine
    assert changes(load_config(news / "digest.toml"))[0]["reader"] == "ada@example.com"
    assert without((news / "subscribers" / "daily.csv").read_bytes(), "ada@example.com") == (
        without(original, "ada@example.com")
    )


def test_a_german_list_gets_german_pages(news: Path) -> None:
    with serving(news, delay=0.0) as web:
        link = web.link("anna@example.de", "taeglich")
        page = web.client.get(link)
        assert page.status_code == 200
        assert '<html lang="de">' in page.text
        assert "a***@example.de von Das Tägliche Beispiel abmelden?" in page.text
        assert Forms(page.text).buttons == ["Abmelden"]
        done = submit(web, page)
        assert "a***@example.de ist von Das Tägliche Beispiel abgemeldet." in done.text
        assert Forms(done.text).buttons == ["Wieder anmelden"]
        back = submit(web, done)
        assert "ist wieder bei Das Tägliche Beispiel angemeldet" in back.text
        bad = web.client.get(link[:-2])
        assert bad.status_code == 400 and "Dieser Abmeldelink ist ungültig" in bad.text
        english = web.client.get(web.link("ada@example.com"))
        assert '<html lang="en">' in english.text and "Unsubscribe a***@" in english.text
