"""Addresses that look like a typo of a common one, as mailcheck suggests them: `bob@gmial.com`
-> `bob@gmail.com`, `ada@hotmail.con` -> `ada@hotmail.com`. Only a suggestion: an address is
never changed, as a domain one letter from a mail provider's may be real.

Two checks, on ASCII domains only:
- the domain is one edit (a letter added, dropped or changed, or two letters swapped) from a
  common mail provider's, or two for a provider whose name has six letters or more; only for
  providers of five letters or more (shorter names are too often one edit from a real domain:
  `love.com` is not `live.com`, `main.com` not `mail.com`). A domain that differs from a
  provider's only in its top-level domain, where that one exists, is taken as real
  (`hotmail.it`, `yahoo.es`), except for providers with one domain only (`gmail.co` is a
  typo, no mail provider);
- else the top-level domain is not one that exists but is one edit from a common one: `.con`,
  `.cmo`, `.ogr`, `.nte`, `.dee`. Any two-letter one is taken as a real country code.

Edit distances are found the way SymSpell does (the domains two deletions from each provider's,
made once), so a million-row import checks each distinct domain in microseconds.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

# Ordered by how common they are: a domain as near to two of them gets the first.
PROVIDERS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "me.com",
    "mac.com",
    "googlemail.com",
    "ymail.com",
    "rocketmail.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "zoho.com",
    "fastmail.com",
    "mail.com",
    "email.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "gmx.at",
    "gmx.ch",
    "web.de",
    "t-online.de",
    "freenet.de",
    "posteo.de",
    "mailbox.org",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.co.uk",
    "outlook.de",
    "yahoo.de",
    "yahoo.fr",
    "yahoo.co.uk",
    "live.de",
    "live.co.uk",
    "btinternet.com",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "libero.it",
    "virgilio.it",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "yandex.ru",
    "yandex.com",
    "mail.ru",
    "qq.com",
    "163.com",
    "naver.com",
    "tutanota.com",
)
_PROVIDER_SET = frozenset(PROVIDERS)
_ONE_DOMAIN = frozenset({"gmail", "googlemail", "icloud", "protonmail", "fastmail", "tutanota"})
"""Providers with no country domains: `gmail.de` is not Google's, so it gets a suggestion."""

# fmt: off
COMMON_TLDS = (
    "com", "net", "org", "de", "uk", "fr", "it", "es", "nl", "ch", "at", "be", "se", "dk", "no",
    "pl", "ru", "us", "ca", "au", "eu", "io", "edu", "gov", "info", "biz",
)
# fmt: on

# Real top-level domains (ICANN's part of the public suffix list) one edit from a common
# one, so not taken for a typo of it: `.cam` is not `.com`.
# fmt: off
_REAL_NEAR = frozenset((
    "art", "bet", "bid", "bio", "bom", "cab", "cal", "cam", "car", "cat", "cba", "cfa", "cpa",
    "dev", "eat", "esq", "eus", "fit", "frl", "ftr", "gbiz", "gop", "got", "int", "ist", "itv",
    "jio", "lat", "lpl", "mit", "mom", "mov", "nec", "new", "next", "nfl", "ngo", "now", "ntt",
    "ong", "onl", "pet", "pru", "rio", "run", "sew", "sex", "sfr", "tdk", "ubs", "uno", "ups",
    "vet",
))
# fmt: on
_KNOWN_TLDS = frozenset(COMMON_TLDS) | _REAL_NEAR


def suggest(address: str) -> str | None:
    """The address a normalised `address` was likely meant to be, or None if it looks fine:
    `bob@gmial.com` -> `bob@gmail.com` (the local part as it was)."""
    local, _, domain = address.rpartition("@")
    fixed = _fix(domain.lower())
    return f"{local}@{fixed}" if fixed else None


@lru_cache(maxsize=65536)
def _fix(domain: str) -> str | None:
    if not domain.isascii() or domain in _PROVIDER_SET or "." not in domain:
        return None
    return _near_provider(domain) or _fixed_tld(domain)


def _near_provider(domain: str) -> str | None:
    name, _, _ = domain.partition(".")
    if len(name) < 4 or len(domain) > _LONGEST + 2:
        return None
    base, _, tld = domain.rpartition(".")
    best: tuple[int, int, str] | None = None
    for candidate in {p for v in _deletions(domain) for p in _BY_DELETION.get(v, ())}:
        limit = 1 if len(candidate.partition(".")[0]) < 6 else 2
        distance = _distance(domain, candidate)
        if distance > limit:
            continue
        c_base, _, _ = candidate.rpartition(".")
        if c_base == base and _real_tld(tld) and candidate.partition(".")[0] not in _ONE_DOMAIN:
            continue  # hotmail.it: the provider's own domain in another country
        rank = (distance, _RANK[candidate], candidate)
        best = min(best, rank) if best else rank
    return best[2] if best else None


def _fixed_tld(domain: str) -> str | None:
    base, _, tld = domain.rpartition(".")
    if _real_tld(tld):
        return None
    for common in COMMON_TLDS:
        if _distance(tld, common) == 1:
            return f"{base}.{common}"
    return None


def _real_tld(tld: str) -> bool:
    """True for a top-level domain that exists (or may: any two letters, any we do not know
    that is not one edit from a common one, such as `.online`)."""
    if len(tld) == 2 or tld in _KNOWN_TLDS:
        return True
    return not any(_distance(tld, c) == 1 for c in COMMON_TLDS)


def _deletions(word: str, most: int = 2) -> set[str]:
    """`word` with up to `most` characters taken out, `word` itself included."""
    out = {word}
    for k in range(1, min(most, len(word)) + 1):
        for drop in combinations(range(len(word)), k):
            out.add("".join(c for i, c in enumerate(word) if i not in drop))
    return out


def _distance(a: str, b: str) -> int:
    """Edits from `a` to `b`: a character added, dropped or changed, or two next to each other
    swapped (optimal string alignment distance)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[len(b)]


def _index() -> dict[str, tuple[str, ...]]:
    by: dict[str, list[str]] = {}
    for p in PROVIDERS:
        if len(p.partition(".")[0]) >= 5:
            for v in _deletions(p):
                by.setdefault(v, []).append(p)
    return {v: tuple(ps) for v, ps in by.items()}


_BY_DELETION = _index()
_RANK = {p: i for i, p in enumerate(PROVIDERS)}
_LONGEST = max(len(p) for p in PROVIDERS)
