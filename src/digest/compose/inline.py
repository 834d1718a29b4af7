"""MJML to email HTML: compile with MRML (mjml-python), then inline the theme's own
`mj-style inline` CSS with css-inline, since MRML leaves it in a `<style>`."""

from __future__ import annotations

import re

import css_inline
import mjml

from ..errors import TemplateError
from .templates import HTML_TEMPLATE

__all__ = ["compile_mjml"]

_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.I)
_INLINE_STYLE = re.compile(r"<mj-style\b[^>]*\binline=\"inline\"[^>]*>(.*?)</mj-style>", re.S)


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
