"""The Jinja2 side of rendering: the user's templates before the built-in theme (which is also
`default:NAME`), and every template failure as a `TemplateError` naming the file and line."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import jinja2.meta

from ..errors import TemplateError

__all__ = [
    "BUILTIN_TEMPLATES",
    "HTML_TEMPLATE",
    "TEXT_TEMPLATE",
    "line_finder",
    "load_template",
    "make_environment",
    "parse_string",
    "render_string",
    "render_template",
    "searched_folders",
    "template_file",
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


_RUNTIME = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError)
"""What a template expression can raise besides Jinja's own errors (`{{ count / 0 }}`)."""


def load_template(env: jinja2.Environment, folders: list[Path], name: str) -> jinja2.Template:
    """The template compiled (a syntax error is a TemplateError with its file and line)."""
    return _template_call(env, folders, name, lambda: env.get_template(name))


def render_template(
    env: jinja2.Environment, folders: list[Path], name: str, values: dict[str, Any]
) -> str:
    return _template_call(env, folders, name, lambda: env.get_template(name).render(values))


_T = TypeVar("_T")


def _template_call(
    env: jinja2.Environment, folders: list[Path], name: str, call: Callable[[], _T]
) -> _T:
    try:
        return call()
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
        where = _template_line(exc) or template_file(env, name)
        raise TemplateError(
            f"{where}: {exc.message or exc}",
            "See docs/templates.md for the names a template can use.",
        ) from None
    except _RUNTIME as exc:
        where = _template_line(exc) or template_file(env, name)
        raise TemplateError(
            f"{where}: {exc} ({type(exc).__name__})", "Fix the expression on that line."
        ) from None


def render_string(env: jinja2.Environment, source: str, values: dict[str, Any], key: str) -> str:
    try:
        return env.from_string(source).render(values)
    except jinja2.TemplateSyntaxError as exc:
        raise _string_syntax_error(exc, key) from None
    except (jinja2.TemplateError, *_RUNTIME) as exc:
        problem = exc.message if isinstance(exc, jinja2.TemplateError) else None
        raise TemplateError(
            f"digest.toml: {key}: {problem or exc}",
            "It can use: " + ", ".join(sorted(values)),
        ) from None


def parse_string(env: jinja2.Environment, source: str, key: str) -> None:
    """Compile a digest.toml template (subject, preheader, reason) without rendering it."""
    try:
        env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise _string_syntax_error(exc, key) from None


def _string_syntax_error(exc: jinja2.TemplateSyntaxError, key: str) -> TemplateError:
    line = f" (line {exc.lineno} of it)" if exc.source and "\n" in exc.source.strip() else ""
    return TemplateError(
        f"digest.toml: {key}: the template does not parse{line}: {exc.message}",
        "Fix the {{ … }} or {% … %} in that setting.",
    )


def template_file(env: jinja2.Environment, name: str) -> str:
    """The file `name` comes from (the user's or the theme's), else just the name."""
    try:
        return env.get_template(name).filename or name
    except jinja2.TemplateError:
        return name


TemplateLine = tuple[str, int, str]
"""A template's file, a line number in it and that line's text."""
Finder = Callable[[str, str], TemplateLine | None]

_JINJA_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def line_finder(env: jinja2.Environment, name: str) -> Finder:
    """Finds the line of `name`, or of a template it extends, includes or imports, that wrote
    a line of its output: `find(output_line, focus)`, where `focus` is the part of the line that
    matters (a tag). None when no one template line is sure to be it.

    For errors found only in the output (MJML): Jinja keeps no map from output to template
    lines, but a template line is its output with values where its `{{ }}` are.
    """

    def find(output: str, focus: str) -> TemplateLine | None:
        output, focus = output.strip(), focus.strip()
        lines = [
            (file, n, line.strip())
            for file, source in _template_sources(env, name)
            for n, line in enumerate(source.splitlines(), 1)
        ]
        tests = [
            lambda t: t == output,
            lambda t: _could_write(t, output) and focus in t,
            lambda t: bool(focus) and focus in t,
        ]
        for test in tests:
            hits = [hit for hit in lines if test(hit[2])]
            if len(hits) == 1:
                return hits[0]
        return None

    return find


def _could_write(template_line: str, output: str) -> bool:
    """Whether a template line, its {{ }} and {% %} filled with anything, gives `output`."""
    parts = _JINJA_PART.split(template_line)
    literal = "".join(parts)
    if len("".join(literal.split())) < 4:  # a line of tags alone would match any line
        return False
    pattern = ".*?".join(r"\s*".join(map(re.escape, p.split())) for p in parts)
    return re.fullmatch(pattern, output, re.S) is not None


def _template_sources(env: jinja2.Environment, name: str, limit: int = 20) -> list[tuple[str, str]]:
    """(file, source) of `name` and the templates it refers to, through their references."""
    todo, seen, out = [name], set(), []
    while todo and len(out) < limit:
        current = todo.pop(0)
        if current in seen or env.loader is None:
            continue
        seen.add(current)
        try:
            source, filename, _ = env.loader.get_source(env, current)
            refs = jinja2.meta.find_referenced_templates(env.parse(source))
        except jinja2.TemplateError:
            continue
        out.append((filename or current, source))
        todo += [r for r in refs if r is not None]
    return out


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
