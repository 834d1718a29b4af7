"""Topics in: a source's `topics`, `[topics]` mapping feed categories, a list's
`for_everyone`; each bad value named with its file, line and key; categories read from real
feed files onto the story's topics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW

from digest.cli import main
from digest.config import load_config
from digest.errors import ConfigError
from digest.models import Entry
from digest.pipeline import gather

DATA = Path(__file__).parent / "data" / "topics"

BASE = """\
[newsletter]
state = ".digest"

[[sources]]
name = "Wire"
feed = "wire.xml"
full_text = "never"
{source_extra}

[[sources]]
name = "Wire JSON"
feed = "wire.json"
full_text = "never"

{topics}

[lists.daily]
sender = "Daily <daily@example.com>"
{list_extra}
"""


def _write(tmp_path: Path, source_extra: str = "", topics: str = "", list_extra: str = "") -> Path:
    for name in ("wire.xml", "wire.json"):
        shutil.copy(DATA / name, tmp_path / name)
    p = tmp_path / "digest.toml"
    text = BASE.format(source_extra=source_extra, topics=topics, list_extra=list_extra)
    p.write_text(text, encoding="utf-8")
    return p


def test_topics_load_lower_cased_and_sorted(tmp_path: Path) -> None:
    cfg = load_config(
        _write(
            tmp_path,
            source_extra='topics = ["World", "local"]',
            topics='[topics]\nScience = ["Science", "Space"]\npolitics = "Politics"',
            list_extra='for_everyone = ["Local"]',
        )
    )
    assert cfg.sources[0].topics == ("local", "world")
    assert cfg.sources[1].topics == ()
    assert cfg.topics == (("politics", ("Politics",)), ("science", ("Science", "Space")))
    assert cfg.get_list().for_everyone == ("local",)


@pytest.mark.parametrize(
    ("kwargs", "key", "line"),
    [
        ({"source_extra": "topics = 3"}, "sources[0].topics", 8),
        ({"source_extra": 'topics = ["ok", "no;semicolons"]'}, "sources[0].topics[1]", 8),
        ({"source_extra": 'topics = [""]'}, "sources[0].topics[0]", 8),
        ({"topics": '[topics]\nscience = "  "'}, "topics.science[0]", 16),
        ({"topics": "[topics]\nscience = []"}, "topics.science", 16),
        ({"topics": '[topics]\nScience = ["a"]\nscience = ["b"]'}, "topics.science", 17),
        ({"list_extra": 'for_everyone = ["local"]'}, "lists.daily.for_everyone[0]", 19),
    ],
)
def test_bad_topics_are_named(tmp_path: Path, kwargs: dict[str, str], key: str, line: int) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, **kwargs))
    assert f"{key}:" in exc.value.message
    assert str(tmp_path / "digest.toml") in exc.value.message
    assert f"line {line}" in exc.value.message


def test_for_everyone_topic_nothing_produces_is_an_error_with_a_suggestion(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(
            _write(
                tmp_path, source_extra='topics = ["local"]', list_extra='for_everyone = ["locl"]'
            )
        )
    assert "lists.daily.for_everyone[0]" in exc.value.message
    assert "'local'" in exc.value.message  # did you mean
    # A topic a [topics] entry maps categories to can be for everyone too.
    load_config(
        _write(
            tmp_path, topics='[topics]\nspace = ["Space"]', list_extra='for_everyone = ["space"]'
        )
    )


def test_feed_categories_map_to_topics(tmp_path: Path) -> None:
    """RSS <category> and JSON Feed `tags`, matched ignoring case and spacing, plus the
    source's own topics; an item without a mapped category has only the source's."""
    cfg = load_config(
        _write(
            tmp_path,
            source_extra='topics = ["wire"]',
            topics='[topics]\nscience = ["Science", "space"]\nvotes = ["POLITICS"]',
        )
    )
    found = gather(cfg, cfg.get_list(), now=NOW)
    topics = {a.title: a.topics for a in found.articles}
    assert topics == {
        "Probe reaches the outer moon": ("science", "wire"),
        "Council votes on the bridge budget": ("votes", "wire"),
        "Museum opens a hall of old maps": ("wire",),
        "Telescope finds a cold planet": ("science",),
        "Baker wins the town prize": (),
    }


def test_gather_shows_each_storys_topics(tmp_path: Path) -> None:
    path = _write(tmp_path, topics='[topics]\nscience = ["science", "space"]')
    args = ["--config", str(path), "gather", "--since", "2026-11-01"]
    found = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    topics = {a["title"]: a["topics"] for a in found["articles"]}
    assert topics["Probe reaches the outer moon"] == ["science"]
    assert topics["Baker wins the town prize"] == []
    text = CliRunner().invoke(main, args).output
    assert "topics: science" in text


def test_feed_cache_from_before_categories_still_loads() -> None:
    old = {
        "id": "x",
        "key": "k",
        "title": "T",
        "url": None,
        "canonical_url": None,
        "published": None,
        "author": None,
        "paragraphs": ["p"],
    }
    assert Entry.from_json(old).categories == ()
    e = Entry(id="x", key="k", title="T", url=None, canonical_url=None, published=None)
    e2 = Entry.from_json({**e.to_json(), "categories": ["Space"]})
    assert e2.categories == ("Space",)
    assert Entry.from_json(e2.to_json()) == e2


def test_an_article_files_own_topics_join_its_sources(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.md").write_text(
        "---\ntitle: Dig finds a Roman road\ntopics: [History, science]\n---\n\nA dig found a "
        "Roman road under the market square. It runs north for a mile.\n",
        encoding="utf-8",
    )
    (tmp_path / "articles" / "b.md").write_text(
        "---\ntitle: Market reopens\ntopics: 'a;b;c;no;semicolons ok; <bad>'\n---\n\nThe "
        "market reopened on Monday after a month of works. Traders were glad.\n",
        encoding="utf-8",
    )
    p = tmp_path / "digest.toml"
    p.write_text(
        '[[sources]]\nname = "Mine"\nfolder = "articles"\ntopics = ["local"]\n\n'
        '[lists.daily]\nsender = "D <d@example.com>"\n',
        encoding="utf-8",
    )
    cfg = load_config(p)
    found = {a.title: a.topics for a in gather(cfg, cfg.get_list(), now=NOW).articles}
    assert found["Dig finds a Roman road"] == ("history", "local", "science")
    assert found["Market reopens"] == ("a", "b", "c", "local", "no", "semicolons ok")
    assert "' <bad>' is not a topic name" in caplog.text and "b.md" in caplog.text
