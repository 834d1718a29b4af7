"""Render a digest once: Jinja2 → MJML → HTML with inlined CSS, plus the plain-text part.

Per-reader parts stay placeholders (see `personalise`), so a list of a million readers costs one
render. A digest whose HTML would pass Gmail's clipping size drops its last articles and says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import jinja2

from ..config import ComposeSettings
from ..errors import TemplateError
from ..models import Article, Digest, Rendered
from .context import TemplateContext, build_context
from .inline import compile_mjml
from .personalise import new_marker
from .templates import (
    HTML_TEMPLATE,
    TEXT_TEMPLATE,
    line_finder,
    load_template,
    make_environment,
    parse_string,
    render_template,
    searched_folders,
    template_file,
)

__all__ = ["GMAIL_CLIP_BYTES", "SIZE_LIMIT", "check_templates", "render"]

GMAIL_CLIP_BYTES = 102_000
SIZE_LIMIT = 100_000
"""Keep the HTML under this, leaving room below Gmail's clip for the per-reader values."""


def render(
    digest: Digest, look: ComposeSettings, user_templates: Path | None, size_limit: int = SIZE_LIMIT
) -> Rendered:
    """Render the digest; drop its last articles while the HTML is over `size_limit` bytes."""
    env = make_environment(user_templates)
    marker = new_marker()
    folders = searched_folders(user_templates)
    articles = digest.articles
    keep = len(articles)
    html, text, ctx = _render_with(env, folders, digest, look, articles, 0, marker)
    renders = 1
    while _size(html) > size_limit and keep > 1:
        renders += 1
        # Shrink in proportion to the overshoot, then by one, so a big digest needs few renders.
        over = _size(html) / size_limit
        keep = max(1, min(keep - 1, int(keep / over)))
        html, text, ctx = _render_with(
            env, folders, digest, look, articles[:keep], len(articles) - keep, marker
        )
    warnings = []
    if keep < len(articles):
        warnings.append(
            f"left out the last {len(articles) - keep} of {len(articles)} articles to keep the "
            f"HTML under {size_limit // 1000} KB (Gmail clips messages over about 102 KB)"
        )
    if _size(html) > size_limit:
        warnings.append(
            f"the HTML is {_size(html) // 1000} KB even with one article: Gmail will clip it"
        )
    return Rendered(
        subject=ctx.subject,
        preheader=ctx.preheader,
        html=html,
        text=text,
        articles_included=keep,
        articles_omitted=len(articles) - keep,
        warnings=tuple(warnings),
        marker=marker,
        renders=renders,
    )


_SAMPLE_ARTICLES = (
    Article(
        id="sample-1",
        title="A sample story with every field",
        source="Sample source",
        url="https://example.com/sample-story",
        published=datetime(2026, 1, 5, 6, 30, tzinfo=UTC),
        author="Sam Sample",
        paragraphs=("The first paragraph of a sample story.", "The second paragraph."),
        lead=("The first paragraph of a sample story.", "The second paragraph."),
        image="https://example.com/sample.jpg",
        image_alt="A sample picture",
        image_width=1200,
        image_height=675,
        site="Sample Site",
    ),
    Article(
        id="sample-3",
        title="A sample story in another section, with a thumbnail",
        source="Another source",
        url="https://example.com/another",
        image="https://example.com/thumb.jpg",
        section="Another section",
    ),
    Article(id="sample-2", title="A sample story with no link, author or picture", source="S"),
)


def check_templates(look: ComposeSettings, user_templates: Path | None) -> None:
    """Fail now, before a single source is read, if the list's templates cannot make an email.

    Compiles `digest.mjml.j2` and `digest.txt.j2` (the user's before the theme) and the
    subject, preheader and reason of digest.toml, then renders a sample issue twice (a full
    story with a wide picture, one with a thumbnail in another section and a bare one, with a
    note about left-out stories; then the bare one alone) through
    Jinja and MRML, so a misspelt name or an unclosed tag shows with its file and line in
    milliseconds, not after every feed was fetched.
    """
    env = make_environment(user_templates)
    folders = searched_folders(user_templates)
    for name in (HTML_TEMPLATE, TEXT_TEMPLATE):
        load_template(env, folders, name)
    for key in ("subject", "preheader", "reason"):
        parse_string(env, getattr(look, key), f"lists.{look.list_name}.{key}")
    sample = Digest(
        list_name=look.list_name,
        issue_id=f"{look.list_name}-2026-01-05",
        date=date(2026, 1, 5),
        title="Sample title",
        articles=_SAMPLE_ARTICLES,
        number=1,
    )
    try:
        for articles, omitted in ((_SAMPLE_ARTICLES, 3), (_SAMPLE_ARTICLES[2:], 0)):
            _render_with(env, folders, sample, look, articles, omitted, new_marker())
    except TemplateError as exc:
        hint = f"{exc.hint} " if exc.hint else ""
        raise TemplateError(
            exc.message, f"{hint}(Found by rendering a sample issue, before reading any source.)"
        ) from None


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _render_with(
    env: jinja2.Environment,
    folders: list[Path],
    digest: Digest,
    look: ComposeSettings,
    articles: tuple[Article, ...],
    omitted: int,
    marker: str,
) -> tuple[str, str, TemplateContext]:
    ctx = build_context(env, digest, look, articles, omitted, marker=marker)
    values = ctx.as_dict()
    source = render_template(env, folders, HTML_TEMPLATE, values)
    html = compile_mjml(source, template_file(env, HTML_TEMPLATE), line_finder(env, HTML_TEMPLATE))
    text = render_template(env, folders, TEXT_TEMPLATE, values)
    return html, _tidy_text(text), ctx


def _tidy_text(text: str) -> str:
    """No trailing spaces and at most one blank line in a row, whatever the template did."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
