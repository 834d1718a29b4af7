"""How often the lead picker's first paragraph is the page's real first paragraph.

Runs the real pipeline (`extract_html` then `pick_lead`) on every page of the article corpus
(`<corpus>/articles/html/*.html.gz` with `<corpus>/articles/ground-truth.json`) and compares
the first picked paragraph with the first ground-truth paragraph of eight or more words. A
picked paragraph that was cut to fit the word budget counts when it is a prefix of the truth
ending at a sentence end. Two baselines: trafilatura's own first paragraph (default options),
and a naive filter over trafilatura's paragraphs (the first of 12 or more words that ends like a
sentence).

Pages are split into two fixed halves so that rules can be tuned on one and judged on the other:
a page is in the tune half when the first byte of the SHA-256 of its file name is even, else in
the held-out half. The split does not depend on the corpus's size or order, so a page stays in
its half when pages are added. Only the tune half's misses are listed (`--misses`); look at the
held-out half's pages only to report, never to write rules from.

Usage:
    .venv/bin/python bench/measure_leads.py [--corpus DIR] [--misses] [--held-out-misses]

`--corpus DIR` reads `DIR/articles/`; the shared corpus has 60 of the benchmark's 181 pages, the
whole benchmark (github.com/scrapinghub/article-extraction-benchmark, `html/` and
`ground-truth.json` put under `articles/`) can be given the same way.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import resource
import sys
import time
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.sources.extract import extract_html  # noqa: E402
from digest.summarise import pick_lead  # noqa: E402

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})


def normalise(text: str) -> str:
    """Compare text, not typography: one kind of quote and dash, single spaces."""
    text = text.translate(_QUOTES).replace("\u00a0", " ").replace("—", "-").replace("–", "-")
    return re.sub(r"\s+", " ", text).strip()


def first_truth(body: str) -> str | None:
    """The first ground-truth paragraph of eight or more words."""
    for line in body.split("\n"):
        if len(line.split()) >= 8:
            return line.strip()
    return None


def matches(picked: str | None, truth: str) -> bool:
    """Equal, or a sentence-end prefix of the truth (the picker cut it to the budget)."""
    if not picked:
        return False
    # The ground truth sometimes has stray spaces ("Boeing 's", "“ Wild Rose ”"): compare
    # without any whitespace.
    a, b = normalise(picked).replace(" ", ""), normalise(truth).replace(" ", "")
    if a == b:
        return True
    return b.startswith(a) and a[-1:] in ".!?\"')…"


def baseline_first(html: str) -> str | None:
    """trafilatura's plain first paragraph, as a naive caller would take it."""
    text = trafilatura.extract(html) or ""
    return next((p.strip() for p in text.split("\n") if p.strip()), None)


def naive_first(html: str) -> str | None:
    """The naive filter: trafilatura's first paragraph of 12+ words that ends like a sentence."""
    text = trafilatura.extract(html) or ""
    for p in text.split("\n"):
        p = p.strip()
        if len(p.split()) >= 12 and p.rstrip("\"'”’)»")[-1:] in ".!?…":
            return p
    return None


def half(name: str) -> str:
    """ "tune" or "held-out", fixed by the SHA-256 of the page's file name."""
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "held-out"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--misses", action="store_true", help="list the tune half's misses")
    parser.add_argument(
        "--held-out-misses", action="store_true", help="list the held-out half's misses too"
    )
    args = parser.parse_args()
    articles = args.corpus / "articles"
    truth = json.loads((articles / "ground-truth.json").read_text(encoding="utf-8"))
    pages = sorted((articles / "html").glob("*.html.gz"))
    if not pages:
        print(f"no pages in {articles / 'html'}", file=sys.stderr)
        return 1

    groups = ("tune", "held-out", "all")
    hits = {g: 0 for g in groups}
    base_hits = {g: 0 for g in groups}
    naive_hits = {g: 0 for g in groups}
    count = {g: 0 for g in groups}
    misses: list[tuple[str, str, str | None, str]] = []
    timings: list[tuple[int, float, float]] = []  # (page bytes, ours, baseline) in seconds
    for path in pages:
        page_id = path.name.removesuffix(".html.gz")
        expected = first_truth(truth[page_id]["articleBody"])
        if expected is None:
            continue
        html = gzip.decompress(path.read_bytes()).decode("utf-8")
        t0 = time.perf_counter()
        page = extract_html(html, url=truth[page_id].get("url"))
        lead = pick_lead(page.paragraphs, page.title or "")
        t1 = time.perf_counter()
        base = baseline_first(html)
        t2 = time.perf_counter()
        naive = naive_first(html)
        timings.append((len(html.encode()), t1 - t0, t2 - t1))
        picked = lead[0] if lead else None
        ok = matches(picked, expected)
        for g in (half(path.name), "all"):
            count[g] += 1
            hits[g] += ok
            base_hits[g] += matches(base, expected)
            naive_hits[g] += matches(naive, expected)
        if not ok:
            misses.append((half(path.name), page_id, picked, expected))

    n = len(timings)
    print(f"{'pipeline':<24}{'half':<10}{'pages':>6}{'hits':>6}{'%':>8}")
    for label, got in (
        ("extract + pick_lead", hits),
        ("naive (12+ words, .!?)", naive_hits),
        ("trafilatura first para", base_hits),
    ):
        for g in groups:
            pct = 100 * got[g] / count[g] if count[g] else 0.0
            print(f"{label:<24}{g:<10}{count[g]:>6}{got[g]:>6}{pct:>7.1f}%")
    ours_ms = 1000 * sum(t[1] for t in timings) / n
    base_ms = 1000 * sum(t[2] for t in timings) / n
    print(f"\nms/page: extract + pick_lead {ours_ms:.1f}, trafilatura {base_ms:.1f}")
    print()
    print(f"{'page size':<24}{'pages':>6}{'KB/page':>9}{'ms/page':>10}{'MB/s':>8}")
    timings.sort()
    thirds = [timings[: n // 3], timings[n // 3 : 2 * n // 3], timings[2 * n // 3 :]]
    for label, group in zip(("small", "medium", "large"), thirds, strict=True):
        size = sum(t[0] for t in group)
        secs = sum(t[1] for t in group)
        print(
            f"{label:<24}{len(group):>6}{size / len(group) / 1000:>9.0f}"
            f"{1000 * secs / len(group):>10.1f}{size / secs / 1e6:>8.1f}"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\npeak memory (max RSS of the whole run): {rss:.0f} MB")
    shown = {"tune"} if args.misses else set()
    if args.held_out_misses:
        shown.add("held-out")
    for where, page_id, picked, expected in misses:
        if where in shown:
            print(f"\n{where} {page_id[:12]}\n  picked:   {picked!r}\n  expected: {expected!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
