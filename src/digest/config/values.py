"""Typed, checked access to the values of `digest.toml`: each failure names the file and the
dotted key, says what is wrong and what was expected. Settings reach headers (`sender`), links
(`base_url`), file names (list names) and one-line messages, so each is checked for that."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from email.headerregistry import Address
from email.utils import unquote
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from ..errors import ConfigError
from ..text import control_character, line
from ..urls import http_url, redact

# The largest sane values: beyond them a setting is a typo (or an overflow waiting to happen).
_LIMITS = {
    "paragraphs": (1, 50, ""),
    "lead_words": (10, 5000, ""),
    "max_articles": (1, 500, ""),
    "lookback_hours": (1, 87600, " (10 years)"),
    "max_items": (1, 10000, ""),
    "priority": (-1000, 1000, ""),
    "min_articles": (1, 500, ""),
    "grace_hours": (1, 23, ""),
    "hold_over_hours": (1, 8760, " (a year)"),
    "max_retries": (0, 20, ""),
    "port": (1, 65535, ""),
    "batch_size": (1, 1000, " (SendGrid takes at most 1000 readers a request)"),
    "concurrency": (1, 32, ""),
    "asm_group_id": (1, 2**31 - 1, ""),
    "timeout": (1, 600, " seconds"),
    "logo_width": (1, 544, " pixels (the email's column is 544 wide)"),
    "logo_height": (1, 600, " pixels"),
    "poll_minutes": (0, 10080, " (a week; 0: not polled)"),
    "keep_days": (1, 3650, " (10 years)"),
    "schedule_ahead_hours": (0, 71, " (SendGrid schedules at most 72 hours ahead)"),
}
SECTION_CHARS = 60
"""A section's heading is a few words above its stories."""
ADDRESS_CHARS = 300
"""A postal address is a few short lines."""
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
SEND_AT = re.compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$", re.ASCII)
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_URL_UNSAFE = re.compile(r'[\s<>"\\^`{|}]')
_MAILBOX = re.compile(r"^(?:(.*?)\s*<([^<>]*)>|([^<>\s]+))$")
_SENDER_HINT = 'one address, as "Name <address@example.com>" or "address@example.com"'
_BASE_URL_HINT = (
    "an absolute http(s) URL with a host and no user name, password, query or fragment, e.g. "
    '"https://example.com/news"'
)
LIST_NAME_HINT = (
    "letters, digits, - and _, starting with a letter or digit, at most 64, "
    "e.g. daily or weekly-news"
)


def base_url(r: Reader, newsletter: dict[str, Any]) -> str:
    """Where the unsubscribe page lives: links are made by appending to it, so it must be a
    plain web address (no `javascript:`, no password, nothing after a `?` or `#`)."""
    key, hint = "newsletter.base_url", _BASE_URL_HINT
    url = r.string(newsletter, key, default="https://example.com", hint=hint)
    if not web_url(url) or "@" in urlsplit(url).netloc or any(c in url for c in "?#"):
        r.fail(key, f"{redact(url)!r} is not a web address digest can link to", hint)
    return url.rstrip("/")


_LOGO_HINT = 'an https URL of an image, e.g. "https://example.com/logo.png"'


def logo_url(r: Reader, t: dict[str, Any], key: str) -> str | None:
    """The masthead's logo: an image every mail client loads, so https only, and with no
    user name or password in it (the address shows in every reader's mail)."""
    url = r.string(t, key, default=None, hint=_LOGO_HINT)
    if url is None:
        return None
    parts = urlsplit(url)
    if not web_url(url) or parts.scheme != "https" or "@" in parts.netloc:
        r.fail(key, f"{redact(url)!r} is not an https address of an image", _LOGO_HINT)
    return url


def section(r: Reader, t: dict[str, Any], key: str) -> str | None:
    """A source's section: the heading its stories go under, so one visible line."""
    hint = f'one line of at most {SECTION_CHARS} characters, e.g. "Local news"'
    value = r.string(t, key, default=None, hint=hint)
    if value is None:
        return None
    value = line(value)
    if not value:
        r.fail(key, "holds no visible text", hint)
    if len(value) > SECTION_CHARS:
        r.fail(key, f"is {len(value)} characters long", hint)
    return value


def postal_address(r: Reader, t: dict[str, Any], key: str) -> str:
    """The sender's postal address for every footer: a few lines (line breaks kept, each line
    trimmed), no other control characters, at most `ADDRESS_CHARS`."""
    hint = (
        f"the postal address, at most {ADDRESS_CHARS} characters; lines may be broken, e.g. "
        '"Example News, 1 Main St, Springfield, IL 62701, USA"'
    )
    value = r.string(t, key, default="", breaks=True, hint=hint)
    if not value:
        return ""
    if "\t" in value:
        r.fail(key, "holds a tab (U+0009)", hint)
    value = value.replace("\r\n", "\n")
    if "\r" in value:
        r.fail(key, "holds a carriage return (U+000D) that ends no line", hint)
    address = "\n".join(part for part in (line(p) for p in value.split("\n")) if part)
    if not address:
        r.fail(key, "holds no visible text", hint)
    if len(address) > ADDRESS_CHARS:
        r.fail(key, f"is {len(address)} characters long", hint)
    return address


def web_url(url: str) -> bool:
    """An absolute http(s) URL with a host, and nothing in it a URL may not hold as it is."""
    return http_url(url) == url and not _URL_UNSAFE.search(url)


def key_text(name: str) -> str:
    """A TOML key as a message shows it: bare when it can be, else quoted with escapes."""
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def source_location(r: Reader, s: dict[str, Any], key: str, root: Path) -> str:
    """A feed's http(s) URL (scheme in lower case), or a path made absolute."""
    location = r.string(s, key)
    scheme = _URL_SCHEME.match(location)
    if scheme is None:
        return str((root / location).resolve())
    location = scheme.group(1).lower() + location[len(scheme.group(1)) :]
    if not key.endswith(".feed"):
        r.fail(key, f"{redact(location)!r} is a URL, not a folder", "the path of a folder")
    if not web_url(location):
        r.fail(
            key,
            f"{redact(location)!r} is not an http(s) URL with a host",
            'an http(s) URL such as "https://example.com/feed.xml", or the path of a file',
        )
    return location


def sender(r: Reader, t: dict[str, Any], key: str) -> str:
    """The From of every issue: one valid address, with a name if given, kept in the form
    a From header reads back as that one mailbox (a name with a comma is quoted)."""
    value = r.string(t, key, hint=_SENDER_HINT).strip()
    m = _MAILBOX.match(value)
    name = (m.group(1) or "").strip() if m else ""
    if m is None or "<" in name or ">" in name:
        r.fail(key, f"{value!r} is not one email address", _SENDER_HINT)
    if "=?" in name:  # an encoded word decodes to anything, line breaks too
        r.fail(key, "the name is MIME-encoded (=?…?=)", "the name as it is, e.g. Café News")
    address = m.group(2) if m.group(2) is not None else m.group(3)
    try:
        ok = validate_email(address, check_deliverability=False, allow_smtputf8=False)
        return str(Address(display_name=unquote(name), addr_spec=ok.ascii_email))
    except (EmailNotValidError, ValueError) as exc:
        r.fail(key, f"{address!r} is not a usable email address ({exc})", _SENDER_HINT)


def only_keys(r: Reader, t: dict[str, Any], where: str, allowed: set[str]) -> None:
    """Refuse a key that is not one of `allowed`, naming it, its line and the closest
    known key (`lead_word` → "did you mean lead_words?")."""
    for key in t:
        if key not in allowed:
            full = f"{where}.{key_text(key)}" if where else key_text(key)
            kind = "table" if _is_table(t[key]) else "setting"
            known = ", ".join(sorted(allowed))
            r.fail(full, f"is not a known {kind}{did_you_mean(key, allowed)}", f"one of {known}")


def _is_table(v: Any) -> bool:
    return isinstance(v, dict) or (
        isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
    )


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """The sentence that ends a message about a mistyped `word`: `. Did you mean 'x'?` with
    the closest of `options`, or nothing when none is close."""
    options = list(options)
    by_case = {o.lower(): o for o in options}
    close = difflib.get_close_matches(word.lower(), list(by_case), n=1, cutoff=0.6)
    return f". Did you mean {by_case[close[0]]!r}?" if close else ""


_PATH_PART = re.compile(r'\.?(?:([A-Za-z0-9_-]+)|("(?:[^"\\]|\\.)*")|\[(\d+)\])')


def key_path(key: str) -> tuple[str | int, ...]:
    """A dotted key as messages write it (`lists."a b".title`, `sources[0].feed`) as parts."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(key):
        m = _PATH_PART.match(key, pos)
        if m is None or m.end() == pos:
            return tuple(parts)
        bare, quoted, index = m.groups()
        if index is not None:
            parts.append(int(index))
        elif quoted is not None:
            try:
                parts.append(json.loads(quoted))
            except ValueError:
                return tuple(parts)
        else:
            parts.append(bare)
        pos = m.end()
    return tuple(parts)


_TOML_KEY_PART = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*""")
_HEADER = re.compile(r"^\[(\[)?\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


def _toml_key(text: str) -> tuple[str, ...] | None:
    """A TOML (dotted) key's parts, or None when `text` is not a key."""
    parts: list[str] = []
    for piece in _split_dots(text):
        m = _TOML_KEY_PART.fullmatch(piece)
        if m is None:
            return None
        bare, basic, literal = m.groups()
        if basic is not None:
            try:
                parts.append(json.loads(f'"{basic}"'))
            except ValueError:
                parts.append(basic)
        else:
            parts.append(bare if bare is not None else literal)
    return tuple(parts)


def _split_dots(text: str) -> list[str]:
    """Split a dotted key on the dots outside quotes."""
    pieces, current, quote = [], "", ""
    for c in text:
        if quote:
            quote = "" if c == quote and not current.endswith("\\") else quote
        elif c in "\"'":
            quote = c
        elif c == ".":
            pieces.append(current)
            current = ""
            continue
        current += c
    return [*pieces, current]


def key_line(text: str, path: tuple[str | int, ...]) -> int | None:
    """The line of a TOML text where the key `path` is written (`("sources", 1, "feed")` is
    `feed` in the second `[[sources]]`), else the line of the innermost table that holds it.

    tomllib gives values without lines; this reads the lines the way TOML writes keys
    (headers, dotted keys) and skips multi-line strings, which is enough to point at a key.
    """
    if not path:
        return None
    table: tuple[str | int, ...] = ()
    arrays: dict[tuple[str | int, ...], int] = {}
    best, best_depth = None, 0
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        raw, n = lines[n], n + 1
        at = n
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(stripped)
        if header:
            parts = _toml_key(header.group(2))
            if parts is None:
                continue
            if header.group(1):
                arrays[parts] = arrays.get(parts, -1) + 1
                table = (*parts, arrays[parts])
            else:
                table = parts
            where: tuple[str | int, ...] = table
        else:
            name, eq, value = stripped.partition("=")
            parts = _toml_key(name) if eq else None
            n = _after_multiline(lines, n, value)
            if parts is None:
                continue
            where = (*table, *parts)
        if where[: len(path)] == path:
            return at
        if len(where) > best_depth and path[: len(where)] == where:
            best, best_depth = at, len(where)
    return best


def _after_multiline(lines: list[str], n: int, value: str) -> int:
    """Skip the lines of a multi-line string that starts in `value` (line `n` is the next)."""
    value = value.strip()
    for quote in ('"""', "'''"):
        if value.startswith(quote) and value.count(quote) == 1:
            while n < len(lines):
                n += 1
                if quote in lines[n - 1]:
                    break
    return n


class Reader:
    """Typed access to TOML values; each failure names the file and the dotted key."""

    _MISSING = object()

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        self._text = text

    def fail(self, key: str, problem: str, hint: str | None = None) -> NoReturn:
        where = f"{self.path}, line {n}" if (n := self.line_of(key)) else f"{self.path}"
        raise ConfigError(f"{where}: {key}: {problem}", f"Expected: {hint}" if hint else None)

    def line_of(self, key: str) -> int | None:
        """The line of the file where `key` (as messages write it) is, if it can be found."""
        if self._text is None:
            try:
                self._text = self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self._text = ""
        return key_line(self._text, key_path(key))

    def _get(self, t: dict[str, Any], key: str, default: Any) -> Any:
        leaf = key.rsplit(".", 1)[-1]
        if leaf in t:
            return t[leaf]
        if default is self._MISSING:
            self.fail(key, "is missing", "add it")
        return default

    def string(
        self,
        t: dict[str, Any],
        key: str,
        default: Any = _MISSING,
        *,
        breaks: bool = False,
        hint: str | None = None,
    ) -> Any:
        """A non-empty string without control characters (`breaks`: tab and line breaks
        allowed): settings reach headers, file names and one-line messages."""
        v = self._get(t, key, default)
        if v is default:
            return v
        if not isinstance(v, str) or not v.strip():
            self.fail(key, f"expected a non-empty string, got {v!r}", hint)
        bad = control_character(v, breaks=breaks)
        if bad:
            self.fail(
                key, f"holds a control character ({bad})", hint or "text without control characters"
            )
        return v

    def integer(self, t: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
        """A whole number within the setting's `_LIMITS`."""
        low, high, unit = _LIMITS[key.rsplit(".", 1)[-1]]
        v = self._get(t, key, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            self.fail(key, f"expected a whole number from {low} to {high}{unit}, got {v!r}")
        return v

    def boolean(self, t: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
        """`true` or `false` (TOML's own, not the strings)."""
        v = self._get(t, key, default)
        if v is not default and not isinstance(v, bool):
            self.fail(key, f"expected true or false, got {v!r}")
        return v

    def number(self, t: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
        """A number (whole or not) within the setting's `_LIMITS`, as a float."""
        low, high, unit = _LIMITS[key.rsplit(".", 1)[-1]]
        v = self._get(t, key, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            self.fail(key, f"expected a number from {low} to {high}{unit}, got {v!r}")
        return float(v)

    def table(
        self, t: dict[str, Any], name: str, required: bool = False, key: str | None = None
    ) -> dict[str, Any]:
        v = t.get(name)
        if v is None:
            if required:
                self.fail(key or name, "is missing", f"a [{key or name}] table")
            return {}
        if not isinstance(v, dict):
            self.fail(key or name, f"expected a table, got {type(v).__name__}")
        return v

    def array_of_tables(self, t: dict[str, Any], name: str) -> list[dict[str, Any]]:
        v = t.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            self.fail(name, "expected an array of tables", f"[[{name}]] blocks")
        return v
