"""Story grouping: precision and recall on the labelled set, and time and memory at scale.

    .venv/bin/python bench/bench_group.py [--sizes 1000,5000,20000]

**Quality.** Every distinct item of `tests/data/grouping/pairs.jsonl` goes into one pool and is
grouped at once, as an issue's items are (so a chain of near misses would show); a labelled
pair counts as grouped when both its items end up in the same group. The second row asks
`same_story` about each pair alone. Goal: no false merges, at least 90% of true pairs grouped.

**Scale.** N items whose words are drawn from the corpus pages' own word stream (so common
words are as common as in news text), a tenth of them re-worded copies of another item under a
new headline (so there is grouping to do). Time and peak traced memory of `similar_groups`,
with how many pairs it compared against all n·(n-1)/2 (the time is an untraced run; the
memory a second, traced one).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

import digest.group as group
from digest.group import StoryText, same_story, similar_groups, story_text

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "grouping" / "pairs.jsonl"


def load_pairs() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line]


def _text(side: dict) -> StoryText:
    return story_text(side["title"], side["text"].split("\n\n"))


def quality(rows: list[dict]) -> tuple[dict[str, Counter], dict[str, Counter], int]:
    """Per kind of pair, the outcome counts (tp, fp, fn, tn): pooled, and pair by pair."""
    index: dict[tuple[str, str], int] = {}
    for r in rows:
        for side in (r["a"], r["b"]):
            index.setdefault((side["title"], side["text"]), len(index))
    texts = [StoryText((), ())] * len(index)
    for (title, text), i in index.items():
        texts[i] = story_text(title, text.split("\n\n"))
    found = {i: n for n, g in enumerate(similar_groups(texts)) for i in g}
    pooled: dict[str, Counter] = {}
    alone: dict[str, Counter] = {}
    for r in rows:
        a = index[(r["a"]["title"], r["a"]["text"])]
        b = index[(r["b"]["title"], r["b"]["text"])]
        same = r["label"] == "same"
        for counts, said in (
            (pooled, found[a] == found[b]),
            (alone, same_story(texts[a], texts[b])),
        ):
            c = counts.setdefault(r["kind"], Counter())
            c[_outcome(said, same)] += 1
    return pooled, alone, len(index)


def _outcome(said: bool, same: bool) -> str:
    return ("tp" if same else "fp") if said else ("fn" if same else "tn")


def _rates(c: Counter) -> tuple[str, str]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    return f"{p:.1%}", f"{r:.1%}"


def synthetic(n: int, words: list[str], seed: int = 15) -> list[StoryText]:
    """n items of corpus-like words, a tenth of them re-worded copies of an earlier one."""
    rnd = random.Random(seed)
    items: list[StoryText] = []
    for k in range(n):
        if k and rnd.random() < 0.1:
            src = items[rnd.randrange(len(items))]
            body = [w if rnd.random() > 0.1 else rnd.choice(words) for w in src.opening]
            cut = rnd.randint(0, 8)
            title = tuple(rnd.choice(words) for _ in range(rnd.randint(6, 12)))
            items.append(StoryText(title, tuple(body[cut:])))
            continue
        title = tuple(rnd.choice(words) for _ in range(rnd.randint(6, 12)))
        body = tuple(rnd.choice(words) for _ in range(rnd.randint(40, 100)))
        items.append(StoryText(title, body))
    return items


def scale(sizes: list[int], words: list[str]) -> list[tuple[int, float, float, int, int, int]]:
    compared = 0
    real = group.same_story

    def counting(a: StoryText, b: StoryText) -> bool:
        nonlocal compared
        compared += 1
        return real(a, b)

    group.same_story = counting  # type: ignore[assignment]
    rows = []
    try:
        for n in sizes:
            items = synthetic(n, words)
            t0 = time.perf_counter()
            similar_groups(items)
            seconds = time.perf_counter() - t0
            compared = 0  # again, traced: tracing slows it, so the time is the first run's
            tracemalloc.start()
            groups = similar_groups(items)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            multi = sum(1 for g in groups if len(g) > 1)
            rows.append((n, seconds, peak / 1e6, compared, n * (n - 1) // 2, multi))
    finally:
        group.same_story = real  # type: ignore[assignment]
    return rows


def corpus_words(rows: list[dict]) -> list[str]:
    out: list[str] = []
    for r in rows:
        if r["kind"] == "teaser":  # each corpus page once
            out.extend(_text(r["a"]).opening)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,20000")
    args = ap.parse_args()
    console = Console()
    rows = load_pairs()
    pooled, alone, items = quality(rows)

    t = Table(title=f"Labelled set: {len(rows)} pairs, {items} distinct items")
    for col in ("kind", "label", "pairs", "grouped (pool)", "same_story (alone)"):
        t.add_column(col, justify="left" if col in ("kind", "label") else "right")
    labels = {r["kind"]: r["label"] for r in rows}
    for kind in sorted(pooled, key=lambda k: (labels[k], k)):
        c, a = pooled[kind], alone[kind]
        n = sum(c.values())
        t.add_row(kind, labels[kind], str(n), str(c["tp"] + c["fp"]), str(a["tp"] + a["fp"]))
    console.print(t)

    total = {"pool": sum(pooled.values(), Counter()), "alone": sum(alone.values(), Counter())}
    q = Table(title="Precision and recall")
    for col in ("grouping", "true pairs grouped", "false merges", "precision", "recall"):
        q.add_column(col, justify="left" if col == "grouping" else "right")
    for name, c in (
        ("pooled (as an issue groups)", total["pool"]),
        ("pair by pair", total["alone"]),
    ):
        p, r = _rates(c)
        q.add_row(name, f"{c['tp']} of {c['tp'] + c['fn']}", str(c["fp"]), p, r)
    console.print(q)

    words = corpus_words(rows)
    s = Table(title="Grouping time and memory (similar_groups)")
    for col in ("items", "seconds", "µs/item", "peak MB", "pairs compared", "all pairs", "groups"):
        s.add_column(col, justify="right")
    for n, sec, mb, compared, every, multi in scale([int(x) for x in args.sizes.split(",")], words):
        s.add_row(
            f"{n:,}",
            f"{sec:.2f}",
            f"{sec / n * 1e6:.0f}",
            f"{mb:.1f}",
            f"{compared:,}",
            f"{every:,}",
            f"{multi:,}",
        )
    console.print(s)
    fp = total["pool"]["fp"]
    sys.exit(1 if fp else 0)


if __name__ == "__main__":
    main()
