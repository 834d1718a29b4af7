"""How often the lead picker's first paragraph is the page's real first paragraph.

Runs the real pipeline (`extract_html` then `pick_lead`) on every page of the article corpus
(`<corpus>/articles/html/*.html.gz` with `<corpus>/articles/ground-truth.json`) and compares
the first picked paragraph with the first ground-truth paragraph of eight or more words. A
picked paragraph that was cut to fit the word budget counts when it is a prefix of the truth
ending at a sentence end. The baseline is trafilatura's own first paragraph (default options).

Usage:
    .venv/bin/python bench/measure_leads.py [--corpus DIR] [--misses]
"""

from __future__ import annotations

import argparse
import gzip
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--misses", action="store_true", help="list the pages we got wrong")
    args = parser.parse_args()
    articles = args.corpus / "articles"
    truth = json.loads((articles / "ground-truth.json").read_text(encoding="utf-8"))
    pages = sorted((articles / "html").glob("*.html.gz"))
    if not pages:
        print(f"no pages in {articles / 'html'}", file=sys.stderr)
        return 1

    hits = base_hits = 0
    misses: list[tuple[str, str | None, str]] = []
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
        timings.append((len(html.encode()), t1 - t0, t2 - t1))
        picked = lead[0] if lead else None
        if matches(picked, expected):
            hits += 1
        else:
            misses.append((page_id, picked, expected))
        base_hits += matches(base, expected)

    n = len(timings)
    print(f"{'pipeline':<24}{'pages':>6}{'hits':>6}{'%':>8}{'ms/page':>10}")
    ours_ms = 1000 * sum(t[1] for t in timings) / n
    base_ms = 1000 * sum(t[2] for t in timings) / n
    print(f"{'extract + pick_lead':<24}{n:>6}{hits:>6}{100 * hits / n:>7.1f}%{ours_ms:>10.1f}")
    base_pct = 100 * base_hits / n
    print(f"{'trafilatura baseline':<24}{n:>6}{base_hits:>6}{base_pct:>7.1f}%{base_ms:>10.1f}")
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
    if args.misses:
        for page_id, picked, expected in misses:
            print(f"\n{page_id[:12]}\n  picked:   {picked!r}\n  expected: {expected!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
