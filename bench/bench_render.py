"""Render cost of a digest at 5, 20 and 50 articles, with and without pictures, and of filling
per-reader parts.

    .venv/bin/python bench/bench_render.py [--readers 10000] [--repeat 5]

Articles are realistic in size: a 70–90 word two-paragraph lead, a headline, a site name, an
author, a URL, from four sources (so the theme draws four section headings); with pictures,
every story has one with its size (the top one wide, the others thumbnails).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from digest.compose import render
from digest.compose.personalise import Reader, Template
from digest.config import ListConfig
from digest.models import Article, Digest

TEXT = (
    "the council said on tuesday that its plans for the new bridge would go ahead despite "
    "objections from residents who fear more traffic and noise in the old town while engineers "
    "expect work to begin next spring and finish within two years at a cost of forty million"
)
WORDS = TEXT.split()


def make_articles(n: int, seed: int = 1, pictures: bool = True) -> tuple[Article, ...]:
    rnd = random.Random(seed)

    def sentence(k: int) -> str:
        return " ".join(rnd.choice(WORDS) for _ in range(k)).capitalize() + "."

    return tuple(
        Article(
            id=f"a{i}",
            title=sentence(rnd.randint(8, 14))[:-1],
            source=f"Example Source {i % 4}",
            site=f"The Example Gazette {i % 4}",
            url=f"https://news.example.com/2026/11/24/{'-'.join(rnd.sample(WORDS, 6))}",
            published=datetime(2026, 11, 24, 6, tzinfo=UTC),
            author="A. Reporter",
            lead=(sentence(22) + " " + sentence(18), sentence(20) + " " + sentence(15)),
            image=f"https://img.example.com/2026/11/24/photo-{i:04d}.jpg" if pictures else None,
            image_alt=sentence(6)[:-1] if pictures else None,
            image_width=1200 if pictures else None,
            image_height=675 if pictures else None,
        )
        for i in range(n)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5,20,50", help="article counts (default 5,20,50)")
    ap.add_argument("--readers", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="renders per size; the median is shown")
    args = ap.parse_args()
    lst = ListConfig(
        name="daily",
        title="The Daily Example",
        sender="The Daily Example <daily@example.com>",
        timezone="UTC",
        language="en",
        subscribers=Path("subscribers/daily.csv"),
    )
    readers = [
        Reader(f"reader{i}@example.com", f"https://example.com/u/{i:08x}", name=f"Reader {i}")
        for i in range(args.readers)
    ]
    table = Table(
        title=f"bench_render (median of {args.repeat}; fill for {args.readers:,} readers)"
    )
    for col in (
        "articles",
        "pictures",
        "renders",
        "render ms",
        "HTML KB",
        "text KB",
        "fill total ms",
        "fill µs/reader",
        "readers/s",
        "peak MB",
    ):
        table.add_column(col, justify="right")
    sizes = [int(s) for s in args.sizes.split(",")]
    for n, pictures in ((n, p) for n in sizes for p in (False, True)):
        digest = Digest(
            "daily",
            "daily-2026-11-24",
            date(2026, 11, 24),
            lst.title,
            make_articles(n, pictures=pictures),
            number=42,
        )
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            rendered = render(digest, lst.compose, None)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        t0 = time.perf_counter()
        html_t = Template(rendered.html, marker=rendered.marker, escape=True)
        text_t = Template(rendered.text, marker=rendered.marker, escape=False)
        total = 0
        for r in readers:
            total += len(html_t.fill(r)) + len(text_t.fill(r))
        fill_s = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        table.add_row(
            str(n) + (f" ({rendered.articles_omitted} cut)" if rendered.articles_omitted else ""),
            "yes" if pictures else "no",
            str(rendered.renders),
            f"{statistics.median(times) * 1000:.1f}",
            f"{rendered.size / 1000:.1f}",
            f"{len(rendered.text.encode()) / 1000:.1f}",
            f"{fill_s * 1000:.0f}",
            f"{fill_s / len(readers) * 1e6:.1f}",
            f"{len(readers) / fill_s:,.0f}",
            f"{peak / 1e6:.1f}",
        )
    Console(width=140).print(table)
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
