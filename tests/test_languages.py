"""Every language (issue 14): the theme's words from the shipped catalogs, dates from Babel,
plural forms by each language's rules, right-to-left layout for Hebrew and Arabic, and a
list's own words from digest.toml over all of it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CONFIG

from digest.cli import main
from digest.compose import render
from digest.compose.words import ENGLISH, Words, catalog_languages
from digest.config import ComposeSettings, load_config
from digest.config.model import THEME_WORDS
from digest.errors import ConfigError
from digest.models import Article, Digest

DIRECTION_MARKS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

# language: (greeting, 3 stories, read more, unsubscribe, long date of 2026-11-24)
EXPECTED = {
    "de": ("Guten Morgen", "3 Meldungen heute.", "Weiterlesen", "Abbestellen",
           "Dienstag, 24. November 2026"),
    "fr": ("Bonjour", "3 articles aujourd’hui.", "Lire la suite", "Se désabonner",
           "mardi 24 novembre 2026"),
    "es": ("Buenos días", "3 noticias hoy.", "Seguir leyendo", "Cancelar la suscripción",
           "martes, 24 de noviembre de 2026"),
    "he": ("בוקר טוב", "3 כתבות היום.", "להמשך קריאה", "ביטול המינוי",
           "יום שלישי, 24 בנובמבר 2026"),
    "ar": ("صباح الخير", "3 أخبار اليوم.", "اقرأ المزيد", "إلغاء الاشتراك",
           "الثلاثاء، 24 نوفمبر 2026"),
}  # fmt: skip


def _digest(n: int, day: date = date(2026, 11, 24)) -> Digest:
    articles = tuple(
        Article(
            id=f"a{i}",
            title=f"Story {i}",
            source="Wire",
            url=f"https://example.com/{i}",
            lead=(f"Lead of story {i}.",),
        )
        for i in range(n)
    )
    return Digest(
        list_name="daily", issue_id="daily-2026-11-24", date=day, title="T", articles=articles
    )


def _newsletter(root: Path, language: str, extra: str = "") -> Path:
    from conftest import make_newsletter

    folder = make_newsletter(root)
    config = CONFIG.replace('language = "en"', f'language = "{language}"') + extra
    (folder / "digest.toml").write_text(config, encoding="utf-8")
    return folder


def _preview(folder: Path) -> tuple[str, str]:
    out = folder / "out"
    result = CliRunner().invoke(main, ["preview", "--config", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    text = next(out.glob("*.txt")).read_text(encoding="utf-8")
    return html, text


def test_the_theme_ships_the_six_languages() -> None:
    assert catalog_languages() == ["ar", "de", "es", "fr", "he"]  # and English, the msgids
    assert set(ENGLISH) == set(THEME_WORDS)


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_an_issue_previewed_in_a_language_has_its_words(tmp_path: Path, language: str) -> None:
    greeting, three, read_more, unsubscribe, _ = EXPECTED[language]
    html, text = _preview(_newsletter(tmp_path, language))
    for part in (html, text):
        assert greeting in part and three in part and read_more in part and unsubscribe in part
        # (the test config's own preheader says "3 stories today, starting with …")
        for english in ("Good morning", "stories today.", "Read more", "Unsubscribe"):
            assert english not in part
    assert f'lang="{language}"' in html
    rtl = language in ("he", "ar")
    assert ('dir="rtl"' in html) is rtl
    assert ("text-align:right" in html.replace(" ", "")) is rtl
    assert ("←" in html) is rtl and ("→" in html) is not rtl
    assert f"{read_more}: https://" in text
    assert not DIRECTION_MARKS.search(text)


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_the_date_is_in_the_language(language: str) -> None:
    r = render(_digest(3), ComposeSettings("daily", language=language), None)
    long_date = EXPECTED[language][4]
    assert long_date in r.html and long_date in r.text.splitlines()[1]


def test_hebrew_issue_reads_right_to_left(tmp_path: Path) -> None:
    html, text = _preview(_newsletter(tmp_path, "he"))
    assert re.search(r'<html[^>]*\bdir="rtl"', html)
    # MJML sets a direction on every section and column: none may turn the text back to LTR.
    assert "direction:rtl" in html and "direction:ltr" not in html
    texts = re.findall(r'<div style="([^"]*)">\s*<h2', html)
    assert texts and all("text-align:right" in s.replace(" ", "") for s in texts)
    lines = text.splitlines()
    assert lines[3] == "בוקר טוב. 3 כתבות היום."  # logical order, no marks
    assert any(line.startswith("ביטול המינוי: ") for line in lines)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "لا أخبار اليوم."),
        (1, "خبر واحد اليوم."),
        (2, "خبران اليوم."),
        (3, "3 أخبار اليوم."),
        (11, "11 خبرًا اليوم."),
        (100, "100 خبر اليوم."),
    ],
)
def test_arabic_has_six_plural_forms(count: int, expected: str) -> None:
    assert Words("ar").stories_today(count) == expected


@pytest.mark.parametrize(("count", "form"), [(3, "3 أخبار اليوم."), (11, "11 خبرًا اليوم.")])
def test_an_arabic_issue_counts_its_stories(count: int, form: str) -> None:
    r = render(_digest(count), ComposeSettings("daily", language="ar"), None)
    assert form in r.html and form in r.text


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("de", {1: "1 Meldung heute.", 2: "2 Meldungen heute."}),
        ("fr", {0: "0 article aujourd’hui.", 1: "1 article aujourd’hui.", 2: "2 articles"}),
        ("he", {1: "כתבה אחת היום.", 2: "שתי כתבות היום.", 5: "5 כתבות היום."}),
        ("en", {1: "1 story today.", 2: "2 stories today."}),
    ],
)
def test_plural_forms_follow_the_language(language: str, counts: dict[int, str]) -> None:
    for n, expected in counts.items():
        assert Words(language).stories_today(n).startswith(expected)


def test_left_out_stories_are_counted_in_the_language() -> None:
    r = render(_digest(30), ComposeSettings("daily", language="de"), None, size_limit=20_000)
    left = r.articles_omitted
    assert left > 1
    assert f"{left} weitere Meldungen wurden weggelassen" in r.text
    assert f"{left} weitere Meldungen wurden weggelassen" in r.html


def test_a_word_set_in_digest_toml_wins(tmp_path: Path) -> None:
    extra = (
        "\n[lists.daily.words]\n"
        'read_more = "Ganzer Artikel"\n'
        'stories_today = { one = "Eine Meldung.", other = "{count} Nachrichten heute." }\n'
        'date_long = "d. MMMM y"\n'
    )
    html, text = _preview(_newsletter(tmp_path, "de", extra))
    for part in (html, text):
        assert "Ganzer Artikel" in part and "Weiterlesen" not in part
        assert "3 Nachrichten heute." in part
        assert "Guten Morgen" in part  # the words not set still come from the catalog
    assert re.search(r"^\d{1,2}\. \w+ \d{4} · Ausgabe 1$", text.splitlines()[1])
    words = load_config(tmp_path / "news" / "digest.toml").get_list().compose.words
    assert Words("de", words).stories_today(1) == "Eine Meldung."


def test_a_language_without_a_catalog_takes_english_words_and_its_own_dates() -> None:
    r = render(_digest(2), ComposeSettings("daily", language="pt-BR"), None)
    assert "2 stories today." in r.text
    assert "terça-feira, 24 de novembro de 2026" in r.text


def _config_error(tmp_path: Path, extra: str, language: str = "de") -> str:
    folder = _newsletter(tmp_path, language, extra)
    with pytest.raises(ConfigError) as info:
        load_config(folder / "digest.toml")
    return f"{info.value.message} {info.value.hint}"


def test_an_unknown_word_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    said = _config_error(tmp_path, '\n[lists.daily.words]\nread_mor = "Weiter"\n')
    assert "lists.daily.words.read_mor" in said
    assert "Did you mean 'read_more'?" in said


def test_an_unknown_plural_form_is_an_error(tmp_path: Path) -> None:
    extra = '\n[lists.daily.words]\nstories_today = { one = "a", othr = "b" }\n'
    said = _config_error(tmp_path, extra)
    assert "othr" in said and "Did you mean 'other'?" in said


def test_a_bad_date_pattern_is_an_error(tmp_path: Path) -> None:
    said = _config_error(tmp_path, '\n[lists.daily.words]\ndate_long = "HH:mm"\n')
    assert "lists.daily.words.date_long" in said and "not a date pattern" in said


def test_a_language_babel_does_not_know_is_an_error(tmp_path: Path) -> None:
    said = _config_error(tmp_path, "", language="xq")
    assert "'xq' is no language Babel knows" in said


def test_english_is_unchanged() -> None:
    r = render(_digest(1), ComposeSettings("daily"), None)
    lines = r.text.splitlines()
    assert lines[1] == "Tuesday 24 November 2026"
    assert lines[3].endswith(". 1 story today.") and lines[3].startswith("Good morning")
    assert "Read more: https://example.com/0" in r.text
    assert "Read more&nbsp;→" in r.html or "Read more\xa0→" in r.html
    assert 'dir="rtl"' not in r.html
