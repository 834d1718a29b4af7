"""Which encoding an import file is in: UTF-8 if it is that (with or without a byte order
mark), else the encoding a spreadsheet most likely saved it in, or the one the user names.

Excel's plain "CSV" is written in the computer's ANSI code page: cp1252 in Western Europe and
the Americas, cp1250 in Central Europe, cp1251 for Cyrillic, cp932 in Japan, and so on; Excel
for Mac wrote Mac Roman. Detection on a small file is guesswork, and a general detector
guesses badly on a few short names: charset-normalizer alone takes "Zoë Ångström" in cp1252
for cp1250 ("Zoë Ĺngström"), and "François Lefèvre" for cp775. So the lines of the file that
hold non-ASCII bytes are decoded in each encoding spreadsheets write, plus charset-normalizer's
best guess, and each reading is scored for what real names and topics do not look like: control
characters, a symbol stuck to a letter (`£ukasz`, `Mˇller`), letters of two scripts in one word
(`Zoл`), a Latin word made mostly of accented letters (`Èâàí`, which is Cyrillic read as
cp1252), a capital inside a word (`MŸller`), and letters few languages use (`Ĺ`). The least
odd reading wins, the more common encoding on a tie; the whole file must then decode in it.
The caller says which was used, with a few of the words it read, so a person can tell.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from ..errors import SubscriberError
from .csvfile import BadBytes, first_undecodable

AUTO = "auto"
"""`encoding=AUTO`: UTF-8 if the file is, else detected."""

# What spreadsheets save CSV in, most common first (a tie goes to the earlier).
SPREADSHEET = (
    "cp1252",  # Windows Western: Excel's "CSV" in Western Europe and the Americas
    "cp1250",  # Central European
    "cp1251",  # Cyrillic
    "mac_roman",  # Excel for Mac's "CSV (Macintosh)"
    "cp1253",  # Greek
    "cp1254",  # Turkish
    "cp1257",  # Baltic
    "cp1255",  # Hebrew
    "cp1256",  # Arabic
    "cp1258",  # Vietnamese
    "cp874",  # Thai
)
EAST_ASIAN = ("cp932", "gb18030", "cp949", "big5")
"""Multi-byte encodings, tried after charset-normalizer's guess (which is good at them)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE_BYTES = 64 * 1024
_BREAKS = re.compile(rb"\r\n|\r|\n")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_TOKENS = re.compile(r"[^\s,;\"'()<>@.=:/|]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Non-ASCII punctuation that sits between letters in real text: O’Brien, Jean–Luc, l·l.
_BETWEEN_LETTERS = frozenset("’‘´`ʼ–—·")
# Latin letters by how odd they are in a name: those of the Western European languages (the
# Latin-1 letters) not at all; those of the large Central European, Baltic and Turkish
# alphabets a little (so a tie between cp1252 and cp1250 goes to the Western reading: `Lefèvre`,
# not `Lefčvre`); any other (Ĺ, Ŀ, Ŧ, ĸ...) more.
_WESTERN = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœŠšŽžŸ")
_OTHER_COMMON = frozenset(
    "ĀāĂăĄąĆćČčĎďĐđĒēĖėĘęĚěĞğĢģĪīĮįİıĶķĻļŁłŃńŅņŇňŐőŘřŚśŞşŢţŤťŪūŮůŰűŲųŹźŻżȘșȚț"
)
_VOWELS = frozenset("aeiouyæøœıаеёиоуыэюяіїєўαεηιουω")


@dataclass(frozen=True)
class Encoding:
    """The encoding a file is read in, and how it was chosen."""

    name: str
    """Python's name for it: `utf-8`, `cp1252`, `mac-roman`..."""
    detected: bool = False
    """True when guessed (the file is not UTF-8 and no --encoding was given)."""
    sample: tuple[str, ...] = ()
    """A few words of the file with non-ASCII letters, as read in this encoding."""


def choose(path: Path, encoding: str = "utf-8") -> Encoding:
    """The encoding to read `path` in: `encoding` checked against the whole file, or for
    `AUTO`, UTF-8 if it is that, else detected. Raises SubscriberError naming the line and
    byte where the file stops being text, or for an encoding Python does not know."""
    if encoding != AUTO:
        name = known(encoding)
        _check(path, name, f"{display(name)} text")
        return Encoding(name)
    head = _head(path)
    for bom, name in _BOMS:
        if head.startswith(bom):
            _check(
                path,
                name,
                f"{display(name)} text, though it starts with a {display(name)} byte order mark",
            )
            return Encoding(name)
    bad = first_undecodable(path, "utf-8")
    if bad is None:
        return Encoding("utf-8")
    return _detect(path, bad)


def known(encoding: str) -> str:
    """Python's name for an encoding (`CP-1252` -> `cp1252`); SubscriberError if unknown."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None and encoding.strip():
        try:  # CP-1252, Windows_1252
            info = codecs.lookup(encoding.replace("-", "").replace("_", "-"))
        except LookupError:
            info = None
    if info is None:
        raise SubscriberError(
            f"--encoding {encoding!r}: not an encoding I know",
            "Give one such as utf-8, cp1252 (Excel on Windows), mac_roman, latin-1 or utf-16.",
        ) from None
    try:
        b"x".decode(info.name, "ignore")
    except (LookupError, ValueError):  # hex, base64, rot13: not bytes to text
        raise SubscriberError(
            f"--encoding {encoding!r}: not a text encoding",
            "Give one such as utf-8, cp1252 (Excel on Windows), mac_roman, latin-1 or utf-16.",
        ) from None
    return info.name


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(4)
    except FileNotFoundError:
        raise SubscriberError(f"{path}: no such file", "Give the path of a CSV export.") from None
    except IsADirectoryError:
        raise SubscriberError(f"{path}: is a folder", "Give the path of a CSV export.") from None
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read it ({exc.strerror})") from None


def _check(path: Path, name: str, what: str) -> None:
    _head(path)  # the clear errors for a missing file or a folder
    bad = first_undecodable(path, name)
    if bad is not None:
        raise _not_text(path, bad, what)


def display(name: str) -> str:
    """An encoding's name as people write it: `UTF-8`, `UTF-16`, `cp1252`, `mac-roman`."""
    return name.upper() if name.startswith("utf-") else name


def _not_text(path: Path, bad: BadBytes, what: str) -> SubscriberError:
    return SubscriberError(
        f"{path}: {bad.says(what)}",
        "Export it again as CSV UTF-8 (in Excel: Save As > CSV UTF-8), or give the encoding it "
        "is in with --encoding.",
    )


def _detect(path: Path, bad: BadBytes) -> Encoding:
    lines, utf8_lines = _non_ascii_lines(path)
    if utf8_lines:
        raise SubscriberError(
            f"{path}: {bad.says('UTF-8 text')}, though other lines with non-ASCII letters "
            "are: the file mixes two encodings",
            "Fix that line (or export the file again as CSV UTF-8); if the whole file is in "
            "one encoding after all, give it with --encoding.",
        )
    sample = b"\n".join(lines)
    tried: set[str] = set()
    scored: list[tuple[float, int, str, str]] = []
    for rank, name in enumerate(_candidates(sample)):
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        if codec in tried:
            continue
        tried.add(codec)
        try:
            text = sample.decode(codec)
        except UnicodeError:  # UnicodeDecodeError, or UTF-16 without a byte order mark
            continue
        scored.append((oddness(text), rank, codec, text))
    for _score, _rank, codec, text in sorted(scored):
        if first_undecodable(path, codec) is None:
            return Encoding(codec, detected=True, sample=_words(text))
    raise SubscriberError(
        f"{path}: {bad.says('UTF-8 text')}, and no encoding spreadsheets use reads the whole file",
        "Export it again as CSV UTF-8 (in Excel: Save As > CSV UTF-8), or give the encoding it "
        "is in with --encoding.",
    )


def _candidates(sample: bytes) -> list[str]:
    guess = from_bytes(sample).best() if sample else None
    return [*SPREADSHEET, *([guess.encoding] if guess else []), *EAST_ASIAN]


def _non_ascii_lines(path: Path) -> tuple[list[bytes], int]:
    """Up to 64 KiB of the lines that hold non-ASCII bytes and are not UTF-8, and whether
    other lines with non-ASCII bytes are UTF-8 (a number > 0: the file mixes encodings)."""
    out: list[bytes] = []
    size = 0
    utf8 = 0
    for line in _physical_lines(path):
        if not _NON_ASCII.search(line):
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            if size < _SAMPLE_BYTES:
                out.append(line)
                size += len(line)
        else:
            utf8 += 1
        if size >= _SAMPLE_BYTES and utf8:
            break
    return out, utf8


def _physical_lines(path: Path) -> Iterator[bytes]:
    """The file's lines without their endings (`\n`, `\r\n` or a Mac file's lone `\r`),
    read in 1 MiB chunks (a `\r\n` split between two chunks makes one empty line more,
    which is harmless here)."""
    rest = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines = _BREAKS.split(rest + chunk)
            rest = lines.pop()
            yield from lines
    if rest:
        yield rest


def _words(text: str, n: int = 4) -> tuple[str, ...]:
    """The first `n` distinct words with non-ASCII letters, to show how the file was read."""
    seen: dict[str, None] = {}
    for token in _TOKENS.findall(text):
        if not token.isascii():
            seen.setdefault(token[:30], None)
            if len(seen) == n:
                break
    return tuple(seen)


def oddness(text: str) -> float:
    """How unlike real names and topics a decoded text is, per non-ASCII character (0: not
    odd at all). See the module's doc for what counts."""
    points = 10.0 * len(_CONTROL.findall(text))
    chars = 0
    for token in _TOKENS.findall(text):
        if token.isascii():
            continue
        chars += sum(1 for c in token if not c.isascii())
        points += _token_oddness(token)
    return points / max(chars, 1)


def _token_oddness(token: str) -> float:
    points = 0.0
    for i, c in enumerate(token):
        if c.isascii():
            continue
        cat = unicodedata.category(c)
        if cat[0] == "C":
            points += 10  # unassigned, private use, a format character
        elif cat[0] not in "LM" and c not in _BETWEEN_LETTERS:
            before = token[i - 1] if i else ""
            after = token[i + 1] if i + 1 < len(token) else ""
            if before.isalpha() or after.isalpha():
                points += 3  # £ukasz, Mˇller, ¯ó³æ
    for word in re.findall(r"[^\W\d_]+", token):
        points += _word_oddness(word)
    return points


def _word_oddness(word: str) -> float:
    scripts = {_script(c) for c in word}
    if len(scripts) > 1:
        return 5  # Zoл, Mьller: Latin and Cyrillic in one word
    points = 0.0
    if (
        len(word) >= 4
        and scripts <= {"LATIN", "CYRILLIC", "GREEK"}
        and not any(unicodedata.normalize("NFD", c)[0].lower() in _VOWELS for c in word)
    ):
        points += 2  # Рбрбдьрпхлпт: Greek read as cp1251
    if scripts == {"LATIN"}:
        accented = [c for c in word if not c.isascii()]
        points += sum(0 if c in _WESTERN else 0.25 if c in _OTHER_COMMON else 1 for c in accented)
        if len(word) >= 3 and 2 * len(accented) > len(word):
            points += 2  # Èâàí Ïåòðîâ: Cyrillic read as cp1252
        for i, c in enumerate(word[1:-1], 1):
            if not c.isascii() and c.isupper() and word[i + 1].islower():
                points += 2  # MŸller, LefĶvre
    return points


def _script(c: str) -> str:
    if c.isascii():
        return "LATIN"
    name = unicodedata.name(c, "")
    first = name.split(" ", 1)[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "IDEOGRAPHIC"):
        return "CJK"
    if first in ("MODIFIER", "COMBINING"):
        return "LATIN"
    return first or "?"
