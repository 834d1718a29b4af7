"""MJML to email HTML: compile with MRML (mjml-python), then inline the theme's own
`mj-style inline` CSS with css-inline, since MRML leaves it in a `<style>`.

MRML's errors say little ("unexpected end of stream in root template"), so when it refuses the
MJML this module finds the line itself: MRML's own position when it gives one, else the first
element left open or closed twice, else the first line whose MJML MRML cannot parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import css_inline
import mjml

from ..errors import TemplateError
from .templates import HTML_TEMPLATE

__all__ = ["MjmlProblem", "compile_mjml", "find_mjml_problem"]

_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.I)
_INLINE_STYLE = re.compile(r"<mj-style\b[^>]*\binline=\"inline\"[^>]*>(.*?)</mj-style>", re.S)

Locate = Callable[[str, str], tuple[str, int, str] | None]
"""Given a line of the rendered MJML and the part of it that matters, the template file, line
number and line text that wrote it, if known (`templates.line_finder`)."""


def compile_mjml(source: str, name: str = HTML_TEMPLATE, locate: Locate | None = None) -> str:
    """MJML → HTML, then inline the `mj-style inline` CSS (MRML leaves it in a <style>).

    Only that CSS is inlined: MRML's own head styles and media queries stay in <head>, where
    clients that read them want them, instead of being copied onto every cell.

    A refusal is a TemplateError naming `name` (the template file) and the line: the
    template's own line when `locate` finds the text there, else the rendered MJML's.
    """
    inline_css = "\n".join(m.group(1) for m in _INLINE_STYLE.finditer(source))
    # The lifted blocks leave their line breaks, so a line number still means the same line.
    source = _INLINE_STYLE.sub(lambda m: "\n" * m.group(0).count("\n"), source)
    try:
        html = mjml.mjml2html(source)
    except (ValueError, RuntimeError) as exc:
        raise _mjml_error(source, str(exc), name, locate) from None
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


@dataclass(frozen=True)
class MjmlProblem:
    """Where MJML goes wrong: a 1-based line of the MJML, what is wrong, and the tag at fault
    (to look for in the template; empty when only the line is known)."""

    line: int
    problem: str
    text: str


def _mjml_error(source: str, said: str, name: str, locate: Locate | None) -> TemplateError:
    found = find_mjml_problem(source, said)
    said = _POSITION.sub("", said).replace(" in root template", "").strip()
    hint = (
        f"MRML says: {said}. Close every mj-* element and HTML tag, nest them as MJML does, "
        "and quote attribute values."
    )
    if found is None:
        return TemplateError(f"{name}: the MJML does not compile: {said}", hint)
    lines = source.splitlines()
    text = lines[found.line - 1] if found.line <= len(lines) else ""
    origin = locate(text, found.text) if locate else None
    if origin is not None:
        file, line, text = origin
        where = f"{file}: the MJML does not compile at line {line}"
        hint = f"(Line {found.line} of the MJML it rendered.) " + hint
    else:
        where = f"{name}: the MJML does not compile at line {found.line} of the MJML it rendered"
    shown = _snippet(text, found.text)
    return TemplateError(f"{where}: {found.problem}" + (f": {shown}" if shown else ""), hint)


def _snippet(line: str, focus: str, width: int = 100) -> str:
    """The line, cut to about `width` characters around `focus`."""
    line = line.strip()
    if len(line) <= width:
        return line
    at = max(0, line.find(focus)) if focus else 0
    start = max(0, min(at - width // 4, len(line) - width))
    cut = line[start : start + width]
    return ("…" if start else "") + cut + ("…" if start + width < len(line) else "")


# --- finding the line ----------------------------------------------------------------------

_POSITION = re.compile(r"at position (\d+):(\d+)")
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<(/?)([A-Za-z][\w:.-]*)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
"""HTML elements without an end tag; MRML takes them so in lower case only, as here."""
_RAW_TEXT = {"mj-style", "style", "script"}
"""Elements whose content is not markup."""


def find_mjml_problem(source: str, said: str) -> MjmlProblem | None:
    """Where the MJML that MRML refused (saying `said`) goes wrong, or None.

    An element left open or closed that is not open comes first: that is what a person gets
    wrong, and MRML, which closes elements by count rather than name, reports it later or only
    at the end. Else MRML's own position, else the first line after which MRML cannot parse.
    """
    nesting = _nesting_problem(source)
    at = _position(source, said)
    if at is None and "end of stream" not in said:
        at = _first_bad_line(source)
    if nesting is not None and (at is None or nesting.line <= at.line):
        return nesting
    return at


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _position(source: str, said: str) -> MjmlProblem | None:
    """MRML's "at position START:END" (bytes of the UTF-8 text) as a line."""
    m = _POSITION.search(said)
    if m is None:
        return None
    raw = source.encode("utf-8")
    start, end = int(m.group(1)), int(m.group(2))
    offset = len(raw[:start].decode("utf-8", errors="ignore"))
    token = raw[start:end].decode("utf-8", errors="replace").strip()
    problem = said[: m.start()].replace(" in root template", "").strip()
    if problem.startswith("unexpected element"):
        problem = f"{token} is not allowed here"
    elif problem.startswith("unexpected token"):
        problem = f"{token} was not expected here"
    elif problem.startswith("unable to load included template"):
        problem = "mj-include is not supported: write the MJML into the template"
    else:
        problem = f"{problem}: {token}"
    return MjmlProblem(_line_of(source, offset), problem, token)


@dataclass
class _Open:
    name: str
    key: str
    tag: str
    line: int


def _nesting_problem(source: str) -> MjmlProblem | None:
    """The first element left open or closed out of turn (HTML's void elements aside)."""
    stack: list[_Open] = []
    pos, counted, line = 0, 0, 1
    while (m := _TOKEN.search(source, pos)) is not None:
        pos = m.end()
        closing, name, attrs = m.group(1), m.group(2), m.group(3)
        if name is None:  # a comment or CDATA
            continue
        line += source.count("\n", counted, m.start())
        counted = m.start()
        tag, key = m.group(0), name.lower()
        if not closing:
            if attrs.rstrip().endswith("/") or name in _VOID:
                continue
            stack.append(_Open(name, key, tag, line))
            if key in _RAW_TEXT:
                end = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(source, pos)
                pos = end.start() if end else len(source)
            continue
        if not stack:
            return MjmlProblem(line, f"{tag} closes nothing: no element is open", tag)
        top = stack[-1]
        if top.key == key:
            stack.pop()
        elif any(o.key == key for o in stack):
            return MjmlProblem(top.line, f"<{top.name}> is not closed before {tag}", top.tag)
        else:
            return MjmlProblem(line, f"{tag} does not close <{top.name}>, the open element", tag)
    if stack:
        top = stack[-1]
        return MjmlProblem(top.line, f"<{top.name}> is never closed", top.tag)
    return None


def _first_bad_line(source: str) -> MjmlProblem | None:
    """The first line after which MRML cannot parse, found by halving: MJML cut short at a
    line end between tags is merely unfinished ("end of stream") until the bad line is in."""
    covered = bytearray(len(source) + 1)  # 1 where a cut would split a tag or comment
    for m in _TOKEN.finditer(source):
        covered[m.start() + 1 : m.end()] = b"\1" * (m.end() - m.start() - 1)
    ends = [m.start() for m in re.finditer("\n", source)] + [len(source)]
    cuts = [e for e in ends if not covered[e]]

    def broken(cut: int) -> bool:
        try:
            mjml.mjml2html(source[:cut])
        except (ValueError, RuntimeError) as exc:
            return "end of stream" not in str(exc)
        return False

    lo, hi = 0, len(cuts) - 1
    if hi < 0 or not broken(cuts[hi]):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if broken(cuts[mid]):
            hi = mid
        else:
            lo = mid + 1
    line = _line_of(source, cuts[hi])
    return MjmlProblem(line, "MRML cannot parse this line (a bare <, an unquoted value?)", "")
