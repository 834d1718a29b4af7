"""Fill the per-reader placeholders of a rendered digest.

A digest is rendered once with tokens such as `%%DIGEST_EMAIL%%` where each reader's own values
go; filling them is a join over pre-split parts, so 10,000 readers cost milliseconds, not 10,000
template renders.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

PLACEHOLDER_READER: dict[str, str] = {
    "name": "%%DIGEST_NAME%%",
    "name_suffix": "%%DIGEST_NAME_SUFFIX%%",
    "email": "%%DIGEST_EMAIL%%",
    "unsubscribe_url": "%%DIGEST_UNSUBSCRIBE_URL%%",
}
_TOKEN = re.compile(r"%%DIGEST_([A-Z_]+)%%")


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
    """A rendered part (HTML or text) split once at its placeholders, filled per reader."""

    def __init__(self, rendered: str, *, escape: bool) -> None:
        parts = _TOKEN.split(rendered)
        self._literals = parts[0::2]
        self._keys = parts[1::2]
        self._escape = escape
        unknown = sorted(set(self._keys) - set(Reader("", "").values()))
        if unknown:
            raise ValueError(f"unknown placeholders: {', '.join(unknown)}")

    def fill(self, reader: Reader) -> str:
        values = reader.values()
        if self._escape:
            values = {k: html_lib.escape(v, quote=True) for k, v in values.items()}
        out = [self._literals[0]]
        for key, literal in zip(self._keys, self._literals[1:], strict=True):
            out.append(values[key])
            out.append(literal)
        return "".join(out)


def fill(rendered: str, reader: Reader, *, escape: bool) -> str:
    """One-off fill, for previews; use `Template` when filling for many readers."""
    return Template(rendered, escape=escape).fill(reader)
