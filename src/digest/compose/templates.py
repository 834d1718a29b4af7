"""The Jinja2 side of rendering: the user's templates before the built-in theme (which is also
`default:NAME`), and every template failure as a `TemplateError` naming the file and line."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from ..errors import TemplateError

__all__ = [
    "BUILTIN_TEMPLATES",
    "HTML_TEMPLATE",
    "TEXT_TEMPLATE",
    "make_environment",
    "render_string",
    "render_template",
    "searched_folders",
]

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML_TEMPLATE = "digest.mjml.j2"
TEXT_TEMPLATE = "digest.txt.j2"


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


def render_template(
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


def render_string(env: jinja2.Environment, source: str, values: dict[str, Any], key: str) -> str:
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
