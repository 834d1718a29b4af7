"""Names and topics are one line of plain text: they end up in the list file, in lines that
`digest subscribers list` prints, and in emails. A line break there forges an output line, a
terminal escape or a bidirectional override rewrites what a person sees. So such characters
are refused where text comes in (`add`, an import) and escaped where text a hand edit put in
a list file goes out (`find_control`, `printable`)."""

from __future__ import annotations

import re

from ..text import CONTROL as _CONTROLS  # one rule for what one line of plain text may hold

_NAMED = {"\n": "a line feed", "\r": "a carriage return", "\t": "a tab"}
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def find_control(text: str) -> str | None:
    """The first character of `text` that has no place in one line of plain text, if any."""
    m = _CONTROLS.search(text)
    return m.group() if m else None


def describe(char: str) -> str:
    """`a line feed (U+000A)`, `U+001B (a control character)`, for an error message."""
    code = f"U+{ord(char):04X}"
    if char in _NAMED:
        return f"{_NAMED[char]} ({code})"
    if char in "\u2028\u2029":
        kind = "a line or paragraph separator"
    elif ord(char) >= 0x202A:
        kind = "a bidirectional text control"
    else:
        kind = "a control character"
    return f"{code} ({kind})"


def check_plain(label: str, text: str) -> str:
    """`text` if it is plain one-line text; raises ValueError naming `label` and the first
    character that is not."""
    char = find_control(text)
    if char is not None:
        raise ValueError(
            f"{label}: contains {describe(char)}; names and topics are one line of plain text"
        )
    return text


def printable(text: str) -> str:
    """`text` with each such character written as an escape (`\\n`, `\\x1b`, `\\u202e`), so a
    line of output stays one line and shows what the file holds."""
    return _CONTROLS.sub(_escape, text) if _CONTROLS.search(text) else text


def _escape(m: re.Match[str]) -> str:
    char = m.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
