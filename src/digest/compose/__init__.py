"""The compose stage: a digest rendered once (`render`: Jinja2 templates from `templates`, the
`context` they see, MJML and inlined CSS from `inline`), then filled per reader
(`personalise`) and wrapped as a complete email (`message`)."""

from __future__ import annotations

from .context import ArticleView, TemplateContext
from .message import build_message
from .personalise import Reader, Template, fill, new_marker, reader_slots
from .render import GMAIL_CLIP_BYTES, SIZE_LIMIT, check_templates, render
from .templates import BUILTIN_TEMPLATES

__all__ = [
    "BUILTIN_TEMPLATES",
    "GMAIL_CLIP_BYTES",
    "SIZE_LIMIT",
    "ArticleView",
    "Reader",
    "Template",
    "TemplateContext",
    "build_message",
    "check_templates",
    "fill",
    "new_marker",
    "reader_slots",
    "render",
]
