"""More new stories than `max_articles`: the issue takes a fair share of each source, the rest
is held over for the next issue (until `hold_over_hours` after publication) and counted in
every output, and a story held for longer than that is dropped and counted.

Everything runs through the command line (`digest gather`, `preview`, `send` with the outbox),
against feeds on a local HTTP server and a real state database. The commands use the clock, so
"the next day" is made by moving everything that happened a day back: the times the state
database holds (sightings, the sent issue) and the feeds' publication dates.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from digest.cli import main
from digest.config import load_config
from digest.deliver.send import SendOptions
from digest.pipeline import SendRequest, send_issue

TEXT = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)
SECRET = "a-test-secret-that-is-long-enough-0123456789"
DAY = timedelta(days=1)


def rss(items: list[tuple[str, datetime]]) -> str:
    """A feed of (guid, published) items; each has a title, a link and a paragraph of text."""
    parts = [
        f"<item><title>{guid}</title><link>https://news.example.org/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{format_datetime(when)}</pubDate>'
        f"<description><![CDATA[<p>{TEXT}</p>]]></description></item>"
        for guid, when in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.example.org/</link>{''.join(parts)}</channel></rss>"
    )


def serve(server: HTTPServer, feeds: dict[str, list[tuple[str, datetime]]]) -> None:
    server.clear()
    for name, items in feeds.items():
        server.expect_request(f"/{name}.xml").respond_with_data(
            rss(items), content_type="application/rss+xml"
        )


def newsletter(tmp_path: Path, server: HTTPServer, names: list[str], **list_opts: Any) -> Path:
    sources = "".join(
        f'[[sources]]\nname = "{n}"\nfeed = "{server.url_for(f"/{n}.xml")}"\n'
        'full_text = "never"\n\n'
        for n in names
    )
    opts = "".join(f"{k} = {v}\n" for k, v in list_opts.items())
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "daily.csv").write_text(
        "email,name,status\nada@example.org,Ada Lovelace,subscribed\n", encoding="utf-8"
    )
    cfg = tmp_path / "digest.toml"
    cfg.write_text(
        '[newsletter]\nstate = ".digest"\nbase_url = "https://news.example.org"\n\n'
        + sources
        + '[lists.daily]\ntitle = "Daily"\nsender = "Daily <daily@example.org>"\n'
        + opts
        + '\n[delivery]\nbackend = "outbox"\noutbox = "outbox"\n',
        encoding="utf-8",
    )
    return cfg


def digest(cfg: Path, *args: str) -> Result:
    result = CliRunner().invoke(
        main, [*args, "-c", str(cfg)], env={"DIGEST_SECRET": SECRET}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def gathered(cfg: Path) -> dict[str, Any]:
    return json.loads(digest(cfg, "gather", "--json").stdout)


def a_day_passes(cfg: Path) -> None:
    """Move every time gathering reads from the state (first sightings, sent issues and their
    items) a day back, as if all that happened so far happened yesterday."""
    conn = sqlite3.connect(cfg.parent / ".digest" / "state.sqlite3")
    with conn:
        for table, column in (
            ("items", "first_seen"),
            ("issues", "sent_at"),
            ("sent_items", "sent_at"),
        ):
            rows = conn.execute(f"SELECT rowid, {column} FROM {table}").fetchall()
            for rowid, value in rows:
                earlier = (datetime.fromisoformat(value) - DAY).isoformat()
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (earlier, rowid))
    conn.close()


def three_busy_sources(now: datetime) -> dict[str, list[tuple[str, datetime]]]:
    """Ten new items from each of three sources; every Alpha item is newer than every Beta
    item, and every Beta item newer than every Gamma item, so "newest first" alone would fill
    a ten-story issue from Alpha."""
    return {
        "Alpha": [(f"alpha-{n}", now - timedelta(minutes=10 * n)) for n in range(1, 11)],
        "Beta": [(f"beta-{n}", now - timedelta(hours=2, minutes=10 * n)) for n in range(1, 11)]
        + [("beta-old", now - timedelta(hours=30))],  # never new: before the first window
        "Gamma": [(f"gamma-{n}", now - timedelta(hours=4, minutes=10 * n)) for n in range(1, 11)],
    }


def earlier(feeds: dict[str, list[tuple[str, datetime]]]) -> dict[str, list[tuple[str, datetime]]]:
    """The same feeds, published a day earlier (for the day after)."""
    return {name: [(g, when - DAY) for g, when in items] for name, items in feeds.items()}


def now_s() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_a_full_issue_takes_a_fair_share_and_counts_the_rest_held_over(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    now = now_s()
    feeds = three_busy_sources(now)
    serve(httpserver, feeds)
    cfg = newsletter(tmp_path, httpserver, ["Alpha", "Beta", "Gamma"], max_articles=10)

    data = gathered(cfg)
    ids = [a["title"] for a in data["articles"]]
    # A round over the sources, newest first within each: 4 + 3 + 3, not 10 from Alpha.
    alpha, beta, gamma = (
        ["alpha-1", "alpha-2", "alpha-3", "alpha-4"],
        ["beta-1", "beta-2", "beta-3"],
        ["gamma-1", "gamma-2", "gamma-3"],
    )
    assert sorted(ids) == sorted([*alpha, *beta, *gamma])
    published = [a["published"] for a in data["articles"]]
    assert published == sorted(published, reverse=True), "the issue shows them newest first"
    assert not any(a["carried_over"] for a in data["articles"])
    assert data["held_over"] == 20
    held = [h["title"] for h in data["held_over_items"]]
    assert len(set(held)) == 20 and not set(held) & set(ids) and "beta-old" not in held
    assert data["held_until"] == (feeds["Gamma"][-1][1] + timedelta(hours=72)).isoformat()
    assert data["dropped"] == 0

    text = digest(cfg, "gather").stdout
    assert text.startswith("Daily: 10 article(s) for the next issue")
    assert (
        "20 more held over for a later issue (Alpha 6, Beta 7, Gamma 7; the oldest is kept " in text
    )

    out = tmp_path / "preview"
    preview = json.loads(digest(cfg, "preview", "-o", str(out), "--json").stdout)
    assert preview["articles"] == 10
    assert preview["omitted"] == 20 and preview["held_over"] == 20
    assert preview["omitted_for_size"] == 0 and preview["dropped"] == 0
    html = Path(preview["html"]).read_text(encoding="utf-8")
    assert "alpha-4" in html and "gamma-3" in html and "alpha-5" not in html
    lines = digest(cfg, "preview", "-o", str(out)).stdout.splitlines()
    assert lines[3].startswith("10 articles, HTML ")
    assert lines[4].startswith("20 held over for a later issue (the oldest is kept until ")


def test_held_over_stories_go_out_the_next_day_and_sent_ones_never_again(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    now = now_s()
    feeds = three_busy_sources(now)
    serve(httpserver, feeds)
    cfg = newsletter(tmp_path, httpserver, ["Alpha", "Beta", "Gamma"], max_articles=10)

    first = gathered(cfg)
    sent = {a["title"] for a in first["articles"]}
    held = {h["title"] for h in first["held_over_items"]}
    digest(cfg, "send")
    (eml,) = (tmp_path / "outbox").rglob("*.eml")
    message = eml.read_text(encoding="utf-8")
    assert all(f"news.example.org/{i}" in message for i in sent)
    assert not any(f"news.example.org/{i}\n" in message for i in held)

    a_day_passes(cfg)
    tomorrow = earlier(feeds)
    tomorrow["Alpha"] += [("alpha-new-1", now - timedelta(minutes=5))]
    tomorrow["Alpha"] += [("alpha-new-2", now - timedelta(minutes=15))]
    serve(httpserver, tomorrow)

    data = gathered(cfg)
    ids = [a["title"] for a in data["articles"]]
    assert not set(ids) & sent, "a sent story never comes back"
    assert "beta-old" not in ids, "a story no issue was ever offered is not held over"
    # The two new ones, and a fair share of yesterday's leftovers.
    alpha = ["alpha-new-1", "alpha-new-2", "alpha-5", "alpha-6"]
    others = ["beta-4", "beta-5", "beta-6", "gamma-4", "gamma-5", "gamma-6"]
    assert sorted(ids) == sorted([*alpha, *others])
    published = [a["published"] for a in data["articles"]]
    assert published == sorted(published, reverse=True)
    carried = {a["title"] for a in data["articles"] if a["carried_over"]}
    assert carried == set(ids) - {"alpha-new-1", "alpha-new-2"}
    assert carried <= held
    assert data["held_over"] == 12 and data["dropped"] == 0
    assert {h["title"] for h in data["held_over_items"]} == held - carried

    text = digest(cfg, "gather").stdout
    assert "(feed items since " in text and "; 8 held over from an earlier issue)" in text
    assert text.count(" · held over") == 8


def test_a_story_held_longer_than_the_hold_is_dropped_and_counted(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    now = now_s()
    ages = [timedelta(hours=n, minutes=30) for n in range(1, 11)]  # 1.5 h to 10.5 h old
    feeds = {"Alpha": [(f"alpha-{n}", now - age) for n, age in enumerate(ages, 1)]}
    serve(httpserver, feeds)
    cfg = newsletter(tmp_path, httpserver, ["Alpha"], max_articles=2, hold_over_hours=30)

    assert [a["title"] for a in gathered(cfg)["articles"]] == ["alpha-1", "alpha-2"]
    digest(cfg, "send")
    a_day_passes(cfg)
    serve(httpserver, earlier(feeds))

    # A day later they are 25.5 h to 34.5 h old: 3 to 5 are within the 30 h hold, 6 to 10
    # are not (and 1 and 2 were sent).
    data = gathered(cfg)
    assert [a["title"] for a in data["articles"]] == ["alpha-3", "alpha-4"]
    assert [h["title"] for h in data["held_over_items"]] == ["alpha-5"]
    assert data["dropped"] == 5
    text = digest(cfg, "gather").stdout
    assert "5 left out of an earlier issue and now older than hold_over_hours = 30: dropped" in text

    out = tmp_path / "preview"
    preview = json.loads(digest(cfg, "preview", "-o", str(out), "--json").stdout)
    assert preview["articles"] == 2 and preview["held_over"] == 1 and preview["dropped"] == 5
    assert preview["carried_over"] == 2


def test_hold_over_hours_is_checked(tmp_path: Path, httpserver: HTTPServer) -> None:
    cfg = newsletter(tmp_path, httpserver, ["Alpha"], hold_over_hours=0)
    result = CliRunner().invoke(main, ["gather", "-c", str(cfg)])
    assert result.exit_code != 0
    assert "lists.daily.hold_over_hours" in result.output and "Traceback" not in result.output


def test_a_later_run_of_the_same_issue_loses_no_held_story(tmp_path, httpserver) -> None:
    """A --retry-failed or resumed run finishes the issue a day later; what the issue left out
    is still held, because the issue keeps the time it was built, not when it was finished."""
    now = now_s()
    feeds = {
        "Alpha": [(f"alpha-{n}", now - timedelta(hours=n)) for n in range(1, 7)],
        "Beta": [(f"beta-{n}", now - timedelta(hours=n, minutes=30)) for n in range(1, 7)],
    }
    serve(httpserver, feeds)
    cfg = newsletter(tmp_path, httpserver, ["Alpha", "Beta"], max_articles=4)
    first = digest(cfg, "send", "--json")
    assert first.exit_code == 0, first.output
    before = gathered(cfg)
    waiting = before["held_over"] + len(before["articles"])
    assert waiting == 8
    a_day_passes(cfg)
    serve(httpserver, earlier(feeds))
    config = load_config(cfg)
    retry = SendRequest(options=SendOptions(retry_failed=True))
    send_issue(config, config.get_list("daily"), retry)  # the same issue, finished today
    after = gathered(cfg)
    assert after["held_over"] + len(after["articles"]) == waiting
