"""Render a digest once: Jinja2 → MJML → HTML with inlined CSS, plus the plain-text part.

Per-reader parts stay placeholders (see `personalise`), so a list of a million readers costs one
render. A digest whose HTML would pass Gmail's clipping size drops its last articles and says so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mjml

from .config import ListConfig
from .errors import TemplateError
from .models import Article, Digest, Rendered
from .personalise import PLACEHOLDER_READER

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
HTML_TEMPLATE = "digest.mjml.j2"
TEXT_TEMPLATE = "digest.txt.j2"

GMAIL_CLIP_BYTES = 102_000
SIZE_LIMIT = 100_000
"""Keep the HTML under this, leaving room below Gmail's clip for the per-reader values."""

_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.I)
_INLINE_STYLE = re.compile(r"<mj-style\b[^>]*\binline=\"inline\"[^>]*>(.*?)</mj-style>", re.S)


@dataclass(frozen=True)
class ArticleView:
    """One article as templates see it: strings ready to show, never raw feed HTML."""

    title: str
    url: str | None
    source: str
    author: str | None
    published: str | None
    lead: tuple[str, ...]
    image: str | None
    image_alt: str


@dataclass(frozen=True)
class TemplateContext:
    """Everything `digest.mjml.j2`, `digest.txt.j2` and the subject/preheader templates get.

    `reader` holds placeholders, not values: `reader.name`, `reader.name_suffix` (", Ada" or
    ""), `reader.email` and `reader.unsubscribe_url` are filled per reader after rendering.
    """

    title: str
    list_name: str
    issue_id: str
    language: str
    date: date
    date_long: str
    date_short: str
    subject: str
    preheader: str
    articles: tuple[ArticleView, ...]
    count: int
    omitted: int
    top_title: str
    reason: str
    reader: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["articles"] = [asdict(a) for a in self.articles]
        return d


@functools.lru_cache(maxsize=8)
def make_environment(user_templates: Path | None) -> jinja2.Environment:
    """User templates first, then the built-in theme; the theme is also `default:NAME`.

    Cached: compiling the templates is most of a render's cost, and Jinja re-reads a template
    whose file changed, so an edited template still shows up in the next preview.
    """
    builtin = jinja2.FileSystemLoader(str(BUILTIN_TEMPLATES))
    loaders: list[jinja2.BaseLoader] = []
    if user_templates is not None and user_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(user_templates)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2", "mjml", "html"), default_for_string=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def searched_folders(user_templates: Path | None) -> list[Path]:
    folders = [user_templates] if user_templates is not None else []
    return [*folders, BUILTIN_TEMPLATES]


def render(
    digest: Digest, lst: ListConfig, user_templates: Path | None, size_limit: int = SIZE_LIMIT
) -> Rendered:
    """Render the digest; drop its last articles while the HTML is over `size_limit` bytes."""
    env = make_environment(user_templates)
    folders = searched_folders(user_templates)
    articles = digest.articles
    keep = len(articles)
    html, text, ctx = _render_with(env, folders, digest, lst, articles, 0)
    while _size(html) > size_limit and keep > 1:
        # Shrink in proportion to the overshoot, then by one, so a big digest needs few renders.
        over = _size(html) / size_limit
        keep = max(1, min(keep - 1, int(keep / over)))
        html, text, ctx = _render_with(
            env, folders, digest, lst, articles[:keep], len(articles) - keep
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
    )


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


def _render_with(
    env: jinja2.Environment,
    folders: list[Path],
    digest: Digest,
    lst: ListConfig,
    articles: tuple[Article, ...],
    omitted: int,
) -> tuple[str, str, TemplateContext]:
    ctx = build_context(env, folders, digest, lst, articles, omitted)
    values = ctx.as_dict()
    source = _render_template(env, folders, HTML_TEMPLATE, values)
    html = compile_mjml(source, HTML_TEMPLATE)
    text = _render_template(env, folders, TEXT_TEMPLATE, values)
    return html, _tidy_text(text), ctx


def build_context(
    env: jinja2.Environment,
    folders: list[Path],
    digest: Digest,
    lst: ListConfig,
    articles: tuple[Article, ...],
    omitted: int = 0,
) -> TemplateContext:
    views = tuple(_view(a) for a in articles)
    d = digest.date
    base = {
        "title": digest.title,
        "list_name": digest.list_name,
        "issue_id": digest.issue_id,
        "language": lst.language,
        "date": d,
        "date_long": f"{d:%A} {d.day} {d:%B %Y}",
        "date_short": f"{d.day} {d:%b %Y}",
        "count": len(views),
        "omitted": omitted,
        "top_title": views[0].title if views else "",
    }
    subject = _one_line(_render_string(env, lst.subject, base, f"lists.{lst.name}.subject"))
    preheader = _one_line(_render_string(env, lst.preheader, base, f"lists.{lst.name}.preheader"))
    reason = _one_line(_render_string(env, lst.reason, base, f"lists.{lst.name}.reason"))
    return TemplateContext(
        **base,
        subject=subject,
        preheader=preheader,
        articles=views,
        reason=reason,
        reader=dict(PLACEHOLDER_READER),
    )


def _view(a: Article) -> ArticleView:
    return ArticleView(
        title=a.title,
        url=a.url,
        source=a.source,
        author=a.author,
        published=a.published.isoformat() if a.published else None,
        lead=a.lead,
        image=a.image,
        image_alt=a.image_alt or a.title,
    )


def compile_mjml(source: str, name: str = HTML_TEMPLATE) -> str:
    """MJML → HTML, then inline the `mj-style inline` CSS (MRML leaves it in a <style>).

    Only that CSS is inlined: MRML's own head styles and media queries stay in <head>, where
    clients that read them want them, instead of being copied onto every cell.
    """
    inline_css = "\n".join(m.group(1) for m in _INLINE_STYLE.finditer(source))
    source = _INLINE_STYLE.sub("", source)
    try:
        html = mjml.mjml2html(source)
    except (ValueError, RuntimeError) as exc:
        raise TemplateError(
            f"{name}: the MJML does not compile: {exc}",
            "Check the tags your template writes (every mj-* element closed and nested right).",
        ) from None
    # MRML writes no alt when a template sets none; screen readers then read the file name.
    html = _IMG_WITHOUT_ALT.sub('<img alt=""', html)
    if not inline_css.strip():
        return html
    inliner = css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        load_remote_stylesheets=False,
        extra_css=inline_css,
    )
    try:
        return inliner.inline(html)
    except (ValueError, css_inline.InlineError) as exc:
        raise TemplateError(
            f"{name}: the CSS in mj-style inline cannot be inlined: {exc}"
        ) from None


def _render_template(
    env: jinja2.Environment, folders: list[Path], name: str, values: dict[str, Any]
) -> str:
    try:
        return env.get_template(name).render(values)
    except jinja2.TemplateNotFound as exc:
        searched = ", ".join(str(f) for f in folders)
        raise TemplateError(
            f"template {exc.name!r} not found (searched: {searched})",
            f"Create it in {folders[0]}, or extend the built-in one with "
            '{% extends "default:' + name + '" %}.',
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except jinja2.TemplateError as exc:
        where = _template_line(exc) or name
        raise TemplateError(
            f"{where}: {exc.message or exc}",
            "See docs/templates.md for the names a template can use.",
        ) from None


def _render_string(env: jinja2.Environment, source: str, values: dict[str, Any], key: str) -> str:
    try:
        return env.from_string(source).render(values)
    except jinja2.TemplateError as exc:
        raise TemplateError(
            f"digest.toml: {key}: {exc.message or exc}",
            "It can use: " + ", ".join(sorted(values)),
        ) from None


def _syntax_error(exc: jinja2.TemplateSyntaxError) -> TemplateError:
    where = exc.filename or exc.name or "template"
    return TemplateError(f"{where}, line {exc.lineno}: {exc.message}", "Fix the template there.")


def _template_line(exc: BaseException) -> str | None:
    """Jinja rewrites tracebacks so template frames carry the template file and line."""
    tb = exc.__traceback__
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _one_line(s: str) -> str:
    return " ".join(s.split())


def _tidy_text(text: str) -> str:
    """No trailing spaces and at most one blank line in a row, whatever the template did."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
