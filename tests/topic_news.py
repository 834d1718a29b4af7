"""A newsletter folder whose stories have topics: a folder source per topic, one untagged
source (general news), `local` for everyone; and readers with topics in the CSV."""

from __future__ import annotations

from pathlib import Path

STORIES = {
    "science": [
        ("probe", "Probe reaches the outer moon", "2026-11-24T06:00:00Z"),
        ("telescope", "Telescope finds a cold planet", "2026-11-24T05:50:00Z"),
    ],
    "history": [("map", "Old map shows a lost village", "2026-11-24T05:40:00Z")],
    "local": [("bakery", "Bakery wins the town prize", "2026-11-24T05:30:00Z")],
    "": [("budget", "Council passes the yearly budget", "2026-11-24T05:20:00Z")],
}
"""Topic ("" for none) → (slug, title, date) of its stories."""

BODIES = {
    "probe": "The spacecraft slipped into orbit around the outer moon after a journey of seven "
    "years, and its first pictures show ice cliffs taller than any mountain on Earth.",
    "telescope": "Astronomers using the new mountain telescope spotted a frozen world circling a "
    "dim red star, the coldest planet yet found outside our solar system.",
    "map": "A surveyor's map found in a farmhouse attic marks a village that vanished from every "
    "later chart, and volunteers plan to dig where its church once stood.",
    "bakery": "The family bakery on Mill Lane took the town prize for its rye loaf, beating "
    "forty entries judged by the mayor and two retired bakers on Saturday.",
    "budget": "Councillors agreed the yearly budget by a single vote after a long evening "
    "meeting, keeping both libraries open and raising parking charges by ten pence.",
}
"""Each story's own text: stories told in the same words would be one story (grouping)."""

CONFIG = """\
[newsletter]
state = ".digest"
base_url = "https://news.example.org"

{sources}

[lists.daily]
title = "The Daily Example"
sender = "The Daily Example <daily@example.com>"
timezone = "Europe/London"
subscribers = "subscribers/daily.csv"
subject = "{{{{ title }}}}: {{{{ top_title }}}}"
{list_extra}
"""

READERS = (
    "email,name,status,topics\n"
    "ada@example.com,Ada,subscribed,Science\n"
    "grace@example.com,Grace,subscribed,history\n"
    "alan@example.com,Alan,subscribed,\n"
)


def make_topic_news(
    root: Path,
    readers: str = READERS,
    topics: tuple[str, ...] = ("science", "history", "local", ""),
    for_everyone: str = 'for_everyone = ["local"]',
) -> Path:
    """The folder, with sources for `topics` only; returns it."""
    blocks = []
    for topic in topics:
        folder = root / f"articles-{topic or 'general'}"
        folder.mkdir(parents=True)
        for slug, title, when in STORIES[topic]:
            text = (
                f"---\ntitle: {title}\nurl: https://news.example.org/{slug}\ndate: {when}\n---\n\n"
                f"{title}. {BODIES[slug]}\n"
            )
            (folder / f"{slug}.md").write_text(text, encoding="utf-8")
        tagged = f'\ntopics = ["{topic}"]' if topic else ""
        blocks.append(
            f'[[sources]]\nname = "{topic or "general"}"\nfolder = "{folder.name}"{tagged}\n'
        )
    (root / "subscribers").mkdir(exist_ok=True)
    (root / "subscribers" / "daily.csv").write_text(readers, encoding="utf-8")
    extra = for_everyone if "local" in topics else ""
    text = CONFIG.format(sources="\n".join(blocks), list_extra=extra)
    (root / "digest.toml").write_text(text, encoding="utf-8")
    return root


def titles_in(text: str) -> list[str]:
    """The story titles (of `STORIES`) in a text part, in their order."""
    every = [t for stories in STORIES.values() for _, t, _ in stories]
    return sorted((t for t in every if t in text), key=text.index)
