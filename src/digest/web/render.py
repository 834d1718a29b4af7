"""The web pages' HTML: Jinja2 templates in `pages/`, always escaped, with no outside assets
(a page opened from a mail client may be offline or behind a strict proxy)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

from .words import words

__all__ = ["message_page", "page"]

PAGES = Path(__file__).parent / "pages"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "connect-src 'self'; img-src * data:; frame-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
"""Every page: nothing from elsewhere but the email's own images, no referrer (a link's query
holds the reader's token), and never cached (a page shows a reader's address)."""


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PAGES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from `pages/<name>.html.j2`."""
    html = _env().get_template(f"{name}.html.j2").render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def message_page(
    language: str,
    heading: str,
    note: str = "",
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    error: bool = False,
    **values: str,
) -> HTMLResponse:
    """A short page: a heading, a note and maybe one button, in the list's language. `heading`
    and `note` are keys of `words`; `values` fill their placeholders (escaped by Jinja)."""
    w = words(language)
    title = w[heading].format(**values)
    return page(
        "message",
        status,
        language=language,
        page_title=title,
        heading=title,
        note=w[note].format(**values) if note else "",
        form=form,
        error=error,
    )
