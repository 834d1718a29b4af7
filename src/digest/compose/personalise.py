"""Fill the per-reader slots of a rendered digest.

A digest is rendered once with a token in each place a reader's own values go; filling them is a
join over pre-split parts, so 10,000 readers cost milliseconds, not 10,000 template renders.

Only the slots the template made are filled. Each render draws a random marker that every one of
its tokens carries (`%%DIGEST_<marker>_EMAIL%%`), so text from a feed, a file or a page that
looks like a token (`%%DIGEST_EMAIL%%` in a link or an image URL) is never one: it stays the
literal text it was, and a reader's address or unsubscribe link never lands in a stranger's URL.
"""

from __future__ import annotations

import html as html_lib
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "SLOT_KEYS",
    "WEB_URL",
    "Reader",
    "Template",
    "fill",
    "fill_issue",
    "new_marker",
    "reader_slots",
    "token",
]

SLOT_KEYS = {
    "name": "NAME",
    "name_suffix": "NAME_SUFFIX",
    "email": "EMAIL",
    "unsubscribe_url": "UNSUBSCRIBE_URL",
}
"""`reader.<name>` in a template → the key of its token."""

WEB_URL = "WEB_URL"
"""The token of `web_url`: the issue's web version. The same for every reader, but known only
when the send starts (the issue's id in the ledger), so it is filled then, once (`fill_issue`)."""


def new_marker() -> str:
    """A fresh marker for one render: 64 random bits, in characters that Jinja, MRML, css-inline
    and HTML escaping all leave alone."""
    return secrets.token_hex(8).upper()


def token(marker: str, key: str) -> str:
    return f"%%DIGEST_{marker}_{key}%%"


def reader_slots(marker: str) -> dict[str, str]:
    """What templates get as `reader`: a token for each per-reader value."""
    return {name: token(marker, key) for name, key in SLOT_KEYS.items()}


@dataclass(frozen=True)
class Reader:
    """The per-reader values a digest needs."""

    email: str
    unsubscribe_url: str
    name: str = ""

    def values(self) -> dict[str, str]:
        return {
            "NAME": self.name,
            "NAME_SUFFIX": f", {self.name}" if self.name else "",
            "EMAIL": self.email,
            "UNSUBSCRIBE_URL": self.unsubscribe_url,
        }


class Template:
    """A rendered part (HTML or text) split once at its slots, filled per reader."""

    def __init__(self, rendered: str, *, marker: str, escape: bool) -> None:
        if not re.fullmatch(r"[0-9A-F]{16}", marker):
            raise ValueError(f"not a render's marker: {marker!r}")
        keys = "|".join(SLOT_KEYS.values())
        parts = re.split(rf"%%DIGEST_{marker}_({keys})%%", rendered)
        self._literals = parts[0::2]
        self._keys = parts[1::2]
        self._escape = escape

    def fill(self, reader: Reader) -> str:
        values = reader.values()
        if self._escape:
            values = {k: html_lib.escape(v, quote=True) for k, v in values.items()}
        out = [self._literals[0]]
        for key, literal in zip(self._keys, self._literals[1:], strict=True):
            out.append(values[key])
            out.append(literal)
        return "".join(out)


def fill(rendered: str, reader: Reader, *, marker: str, escape: bool) -> str:
    """One-off fill, for previews; use `Template` when filling for many readers."""
    return Template(rendered, marker=marker, escape=escape).fill(reader)


def fill_issue(rendered: str, *, marker: str, web_url: str, escape: bool) -> str:
    """Fill the issue's own slot (`web_url`) in a rendered part, once for every reader."""
    value = html_lib.escape(web_url, quote=True) if escape else web_url
    return rendered.replace(token(marker, WEB_URL), value)
