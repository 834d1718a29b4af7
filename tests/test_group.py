"""One story, one slot: copies of a story from several sources shown once ("Also covered by"),
measured on the labelled set, kept apart from stories that only look alike, and sent once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from conftest import NOW

from digest.config import load_config
from digest.errors import ConfigError
from digest.group import same_story, similar_groups, story_text
from digest.pipeline import SendRequest, build_issue, gather, send_issue

DIGEST = Path(sys.executable).parent / "digest"
PAIRS = Path(__file__).parent / "data" / "grouping" / "pairs.jsonl"

WALL = (
    "A winter storm tore a twenty-metre hole in the harbour wall at Port Ellen overnight, "
    "flooding the ferry terminal car park and leaving two fishing boats aground on the slipway.",
    "The harbour master said divers would inspect the foundations on Thursday, and that ferries "
    "to the mainland would berth at the old pier until the wall was made safe again.",
)
VOTE = (
    "Councillors voted by eleven to nine on Tuesday night to approve next year's budget, which "
    "raises parking charges in the town centre and freezes the council tax for a second year.",
    "The leader of the council said the vote protected the libraries and the swimming pool, "
    "while the opposition promised to bring the parking charges back before the spring.",
)
PROTEST = (
    "Several hundred residents marched from the railway station to the town hall on Saturday "
    "to protest against plans to close two primary schools and sell the land for housing.",
    "Parents carried banners made by their children, and the head of one school told the crowd "
    "that the closures would mean a bus journey of forty minutes for the youngest pupils.",
)
FERRY = (
    "The new electric ferry for the island route completed its sea trials in the Clyde this "
    "week, and the operator expects to carry its first passengers before the Easter holidays.",
    "Its batteries are charged at both terminals while cars load, and the crossing takes "
    "eight minutes longer than on the diesel ship it replaces.",
)


def story(n: str, title: str, paragraphs: tuple[str, ...], hours_ago: float = 2) -> dict:
    return {"id": n, "title": title, "paragraphs": paragraphs, "hours_ago": hours_ago}


def write_feed(path: Path, site: str, stories: list[dict]) -> None:
    items = "".join(
        f"<item><title>{escape(s['title'])}</title>"
        f"<link>https://{site.lower().replace(' ', '')}.example.org/{s['id']}</link>"
        f"<guid>{site}-{s['id']}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=s['hours_ago']))}</pubDate>"
        "<description><![CDATA["
        + "".join(f"<p>{p}</p>" for p in s["paragraphs"])
        + "]]></description></item>"
        for s in stories
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{site}</title><link>https://example.org/</link>{items}</channel></rss>",
        encoding="utf-8",
    )


def newsletter(
    root: Path,
    feeds: dict[str, list[dict]],
    priority: dict[str, int] | None = None,
    max_articles: int = 20,
    readers: str = "email,name,status\nada@example.com,Ada,subscribed\n",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    blocks = []
    for site, stories in feeds.items():
        name = site.lower().replace(" ", "-")
        write_feed(root / f"{name}.xml", site, stories)
        rank = (priority or {}).get(site)
        blocks.append(
            f'[[sources]]\nname = "{site}"\nfeed = "{name}.xml"\nfull_text = "never"\n'
            + (f"priority = {rank}\n" if rank is not None else "")
        )
    (root / "subscribers").mkdir(exist_ok=True)
    (root / "subscribers" / "daily.csv").write_text(readers, encoding="utf-8")
    (root / "digest.toml").write_text(
        '[newsletter]\nstate = ".digest"\nbase_url = "https://news.example.org"\n\n'
        + "\n".join(blocks)
        + '\n[lists.daily]\ntitle = "Island Daily"\nsender = "Island Daily <d@example.org>"\n'
        f'timezone = "UTC"\nmax_articles = {max_articles}\n',
        encoding="utf-8",
    )
    return root / "digest.toml"


def gathered(config_path: Path, **kw: object):  # type: ignore[no-untyped-def]
    config = load_config(config_path)
    return gather(config, config.get_list("daily"), now=NOW, **kw)


# The labelled set.


def test_labelled_set_no_false_merges_and_nine_in_ten_true_pairs_grouped() -> None:
    """Every item of the set grouped at once, as an issue groups them (see bench_group.py)."""
    rows = [json.loads(line) for line in PAIRS.read_text("utf-8").splitlines() if line]
    labels = Counter(r["label"] for r in rows)
    assert len(rows) >= 200 and labels["same"] >= 100 and labels["different"] >= 100
    index: dict[tuple[str, str], int] = {}
    for r in rows:
        for side in (r["a"], r["b"]):
            index.setdefault((side["title"], side["text"]), len(index))
    texts = [story_text(t, x.split("\n\n")) for (t, x) in index]
    group_of = {i: n for n, g in enumerate(similar_groups(texts)) for i in g}
    outcome = Counter()
    false_merges = []
    for r in rows:
        a, b = (index[(s["title"], s["text"])] for s in (r["a"], r["b"]))
        together = group_of[a] == group_of[b]
        outcome[(r["label"], together)] += 1
        if together and r["label"] == "different":
            false_merges.append((r["kind"], r["a"]["title"], r["b"]["title"]))
    assert false_merges == []  # precision 100%
    recall = outcome[("same", True)] / labels["same"]
    assert recall >= 0.9, f"recall {recall:.1%}"


def test_same_story_reads_the_text_not_just_the_headline() -> None:
    vote = story_text("Budget vote splits the council", VOTE)
    protest = story_text("Budget protest splits the council", PROTEST)
    copy = story_text("Council approves budget by two votes", VOTE)
    teaser = story_text("Budget vote splits the council", VOTE[:1])
    assert not same_story(vote, protest)
    assert same_story(vote, copy) and same_story(vote, teaser)


def test_a_blurb_a_source_gives_every_item_groups_nothing() -> None:
    blurb = ("Read the whole story on our website, where subscribers get every article first.",)
    texts = [
        story_text("Harbour wall breached", blurb),
        story_text("Schools to close", blurb),
        story_text("Harbour wall breached in storm", blurb),
    ]
    assert similar_groups(texts, ["A", "A", "B"]) == [(0,), (1,), (2,)]
    # Without knowing the sources it is one text three times: one story.
    assert similar_groups(texts) == [(0, 1, 2)]


# Through the pipeline.


def test_an_item_in_two_feeds_under_two_urls_is_one_story_in_one_slot(tmp_path: Path) -> None:
    config = newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
            "Coast News": [
                story("c1", "Port Ellen harbour wall damaged in storm", WALL, 3),
                story("c2", "Electric ferry finishes sea trials", FERRY, 4),
            ],
        },
        max_articles=2,
    )
    result = gathered(config)
    assert [a.title for a in result.articles] == [
        "Storm breaches Port Ellen harbour wall",
        "Electric ferry finishes sea trials",
    ]
    wall = result.articles[0]
    assert [(c.source, c.url) for c in wall.also] == [
        ("Coast News", "https://coastnews.example.org/c1")
    ]
    assert wall.also[0].id not in {wall.id, ""}
    assert result.held_over == ()  # two stories, two slots: nothing waits


def test_the_same_url_in_two_feeds_is_one_item(tmp_path: Path) -> None:
    config = newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
            "Coast News": [story("c1", "Storm breaches Port Ellen harbour wall", WALL)],
        },
    )
    for name in ("the-wire.xml", "coast-news.xml"):  # both link to the same page
        path = tmp_path / name
        text = path.read_text("utf-8").replace("coastnews.example.org/c1", "thewire.example.org/w1")
        path.write_text(text, "utf-8")
    result = gathered(config)
    assert [a.title for a in result.articles] == ["Storm breaches Port Ellen harbour wall"]


def test_a_story_in_three_sources_is_shown_from_the_highest_priority(tmp_path: Path) -> None:
    feeds = {
        "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
        "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 1)],
        "Island Times": [story("i1", "Storm breaches Port Ellen harbour wall", WALL[:1], 3)],
    }
    ranked = gathered(newsletter(tmp_path / "a", feeds, priority={"Island Times": 5}))
    assert len(ranked.articles) == 1
    top = ranked.articles[0]
    assert (top.source, top.url) == ("Island Times", "https://islandtimes.example.org/i1")
    assert [c.source for c in top.also] == ["Coast News", "The Wire"]
    # Without priorities, the copy with the most text (the teaser has the least); on a tie of
    # text, the newest.
    plain = gathered(newsletter(tmp_path / "b", feeds)).articles[0]
    assert plain.source == "Coast News"
    assert [c.source for c in plain.also] == ["Island Times", "The Wire"]  # by name


def test_two_stories_with_near_identical_headlines_stay_apart(tmp_path: Path) -> None:
    config = newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Budget vote brings hundreds to the town hall", VOTE)],
            "Coast News": [story("c1", "Budget protest brings hundreds to the town hall", PROTEST)],
        },
    )
    result = gathered(config)
    assert len(result.articles) == 2
    assert all(a.also == () for a in result.articles)


def test_also_covered_by_in_html_and_text(tmp_path: Path) -> None:
    config_path = newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
            "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 3)],
            "Island Times": [story("i1", "Harbour wall breached", WALL[:1], 4)],
        },
        priority={"The Wire": 1},
    )
    config = load_config(config_path)
    issue = build_issue(config, config.get_list("daily"), now=NOW)
    html, text = issue.rendered.html, issue.rendered.text
    assert (
        'Also covered by: <a href="https://coastnews.example.org/c1" style="color: #0b5cad;">'
        'Coast News</a> · <a href="https://islandtimes.example.org/i1" style="color: #0b5cad;">'
        "Island Times</a>"
    ) in html
    assert "Also covered by: Coast News · Island Times\n" in text
    assert "  Coast News: https://coastnews.example.org/c1\n" in text
    assert "  Island Times: https://islandtimes.example.org/i1\n" in text
    assert issue.rendered.articles_included == 1


def test_also_covered_by_in_the_list_language(tmp_path: Path) -> None:
    config_path = newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
            "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 3)],
        },
    )
    config_path.write_text(config_path.read_text("utf-8") + 'language = "de"\n', encoding="utf-8")
    config = load_config(config_path)
    issue = build_issue(config, config.get_list("daily"), now=NOW)
    assert "Auch berichtet von: Coast News" in issue.rendered.text


def test_every_copy_counts_as_sent_so_none_comes_back_alone(tmp_path: Path) -> None:
    feeds = {
        "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL, 3)],
        "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 2)],
    }
    config_path = newsletter(tmp_path, feeds, priority={"The Wire": 1})
    config = load_config(config_path)
    lst = config.get_list("daily")
    report = send_issue(config, lst, SendRequest(), now=NOW)
    assert report.totals["sent"] == 1
    # The next morning the first site has dropped the story; the other still carries it, next
    # to a new one.
    feeds = {
        "The Wire": [story("w2", "Electric ferry finishes sea trials", FERRY, -20)],
        "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 2)],
    }
    newsletter(tmp_path, feeds, priority={"The Wire": 1})
    later = gather(config, lst, now=NOW + timedelta(hours=22))
    assert [a.title for a in later.articles] == ["Electric ferry finishes sea trials"]


def test_a_grouped_story_left_for_later_keeps_its_copies(tmp_path: Path) -> None:
    config = newsletter(
        tmp_path,
        {
            "The Wire": [
                story("w1", "Storm breaches Port Ellen harbour wall", WALL, 5),
                story("w2", "Electric ferry finishes sea trials", FERRY, 1),
            ],
            "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 6)],
        },
        max_articles=1,
    )
    result = gathered(config)
    assert [a.title for a in result.articles] == ["Electric ferry finishes sea trials"]
    assert [h.article.title for h in result.held_over] == ["Storm breaches Port Ellen harbour wall"]
    assert [c.source for c in result.held_over[0].article.also] == ["Coast News"]


def test_gather_json_and_text_show_the_group(tmp_path: Path) -> None:
    newsletter(
        tmp_path,
        {
            "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
            "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 3)],
        },
    )
    run = subprocess.run(
        [str(DIGEST), "gather", "--json", "--since", "2026-11-01"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    (article,) = json.loads(run.stdout)["articles"]
    assert article["title"] == "Storm breaches Port Ellen harbour wall"
    (copy,) = article["also"]
    assert (copy["source"], copy["url"]) == ("Coast News", "https://coastnews.example.org/c1")
    assert copy["id"] and copy["id"] != article["id"]
    shown = subprocess.run(
        [str(DIGEST), "gather", "--since", "2026-11-01"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "   also: Coast News (https://coastnews.example.org/c1)" in shown.stdout


# The setting.


def test_priority_is_read_and_checked(tmp_path: Path) -> None:
    config_path = newsletter(tmp_path, {"The Wire": []}, priority={"The Wire": 3})
    assert load_config(config_path).sources[0].priority == 3
    config_path.write_text(
        config_path.read_text("utf-8").replace("priority = 3", 'priority = "high"'), "utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_config(config_path)
    assert "digest.toml" in str(err.value) and "sources[0].priority" in str(err.value)
    assert "expected a whole number from -1000 to 1000" in str(err.value)


def test_a_grouped_story_reaches_every_reader_a_copy_would_have(tmp_path: Path) -> None:
    """A science reader still gets the story when the copy shown came from a general source."""
    feeds = {
        "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
        "Coast Science": [story("c1", "Port Ellen harbour wall damaged in storm", WALL[:1], 1)],
    }
    toml = newsletter(tmp_path / "t", feeds, priority={"The Wire": 5})
    tagged = toml.read_text().replace(
        'name = "Coast Science"\n', 'name = "Coast Science"\ntopics = ["science"]\n'
    )
    toml.write_text(tagged, encoding="utf-8")
    top = gathered(toml).articles
    assert len(top) == 1 and top[0].source == "The Wire"
    assert top[0].topics == ()  # one copy is untagged, general news: every reader gets it
    toml.write_text(
        tagged.replace('name = "The Wire"\n', 'name = "The Wire"\ntopics = ["coast"]\n'),
        encoding="utf-8",
    )
    assert gathered(toml).articles[0].topics == ("coast", "science")  # both copies' readers


def test_reports_written_to_one_template_stay_apart() -> None:
    """Two match reports alike but for the teams and the score are two events."""
    rovers = story_text(
        "Rovers beat United 2-1",
        ["Rovers beat United 2-1 on Saturday in the league match at the home ground, with a "
         "late goal deciding the game in front of a full crowd."],
    )  # fmt: skip
    city = story_text(
        "City beat Town 3-0",
        ["City beat Town 3-0 on Saturday in the league match at the home ground, with a late "
         "goal deciding the game in front of a full crowd."],
    )  # fmt: skip
    assert not same_story(rovers, city)
    assert similar_groups([rovers, city], ["a", "b"]) == [(0,), (1,)]


def test_a_sent_grouped_story_counts_as_one_story(tmp_path: Path) -> None:
    feeds = {
        "The Wire": [story("w1", "Storm breaches Port Ellen harbour wall", WALL)],
        "Coast News": [story("c1", "Port Ellen harbour wall damaged in storm", WALL, 1)],
    }
    config = load_config(newsletter(tmp_path / "s", feeds))
    report = send_issue(config, config.get_list("daily"), SendRequest(), now=NOW)
    assert report.tally.sent == 1 and report.articles == 1
