"""The selection rule (pure): no topics, everything; topics, theirs plus the list's
`for_everyone` and the untagged stories; one key per distinct set of stories."""

from __future__ import annotations

from digest.models import Article
from digest.selection import FULL, Selector, select, selection_key


def story(id: str, *topics: str) -> Article:
    return Article(id=id, title=id, source="s", topics=tuple(sorted(topics)))


ISSUE = (
    story("moon", "science"),
    story("map", "history"),
    story("bakery", "local"),
    story("budget"),  # untagged: general news
    story("dig", "history", "science"),
)


def ids(articles: tuple[Article, ...]) -> list[str]:
    return [a.id for a in articles]


def test_a_reader_without_topics_gets_everything() -> None:
    assert ids(select(ISSUE, ())) == ids(ISSUE)
    assert ids(select(ISSUE, ["", "  "])) == ids(ISSUE)


def test_a_reader_with_topics_gets_theirs_for_everyone_and_untagged_in_order() -> None:
    assert ids(select(ISSUE, ["Science"], ["local"])) == ["moon", "bakery", "budget", "dig"]
    assert ids(select(ISSUE, [" HISTORY "])) == ["map", "budget", "dig"]
    assert ids(select(ISSUE, ["sports"])) == ["budget"]
    assert ids(select(ISSUE[:3], ["sports"])) == []  # nothing: the send skips them


def test_topic_sets_that_pick_the_same_stories_share_one_selection() -> None:
    selector = Selector(ISSUE, ["local"])
    both = selector.of(("science", "history"))
    assert both.key == FULL  # everything: the whole issue's render
    assert selector.of(()).key == FULL
    science = selector.of(("science",))
    assert selector.of(("SCIENCE", "sports")) is science
    assert science.key != FULL and ids(science.articles) == ["moon", "bakery", "budget", "dig"]
    assert len(selector.by_key) == 2
    assert selection_key(["b", "a"], ["a", "b", "c"]) == selection_key(["a", "b"], ["c", "b", "a"])


def test_readers_own_tags_do_not_grow_the_selector() -> None:
    """Imported 'tags' columns give every reader tags of their own ("member-42"): only the
    topics the issue's stories have can change a selection, so memory stays flat."""
    from digest.selection import _AS_WRITTEN_MAX

    arts = (
        Article(id="s", title="S", source="x", topics=("science",)),
        Article(id="h", title="H", source="x", topics=("history",)),
    )
    selector = Selector(arts, ())
    for i in range(3 * _AS_WRITTEN_MAX):
        picked = selector.of(("science", f"member-{i}"))
        assert [a.id for a in picked.articles] == ["s"]
    assert len(selector._by_topics) == 1
    assert len(selector._as_written) <= _AS_WRITTEN_MAX
    assert [a.id for a in selector.of(("member-1",)).articles] == []  # topics, none matching
    assert [a.id for a in selector.of(()).articles] == ["s", "h"]  # no topics: everything
