"""The settings the email's theme reads from digest.toml: a source's `section`, and a list's
postal `address`, `logo` (with `logo_width` and `logo_height`) and `sections`; each checked when
the file loads, each bad value named with its file and key; `digest sources add --section`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CONFIG

from digest.cli import main
from digest.config import load_config
from digest.errors import ConfigError

LIST_LINE = 'language = "en"'
SOURCE_LINE = 'folder = "articles"'
ADD = ("sources", "add", "https://h.example.org/rss", "--no-check")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "digest.toml"
    p.write_text(text, encoding="utf-8")
    return p


def with_list(tmp_path: Path, extra: str) -> Path:
    assert LIST_LINE in CONFIG
    return write(tmp_path, CONFIG.replace(LIST_LINE, f"{LIST_LINE}\n{extra}"))


def with_source(tmp_path: Path, extra: str) -> Path:
    assert SOURCE_LINE in CONFIG
    return write(tmp_path, CONFIG.replace(SOURCE_LINE, f"{SOURCE_LINE}\n{extra}"))


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value) + "\n" + (err.value.hint or "")
    assert str(path) in text
    return text


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONFIG))
    lst = config.get_list("daily")
    assert (lst.address, lst.logo, lst.logo_width, lst.logo_height, lst.sections) == (
        "",
        None,
        160,
        None,
        True,
    )
    assert config.sources[0].section is None
    compose = lst.compose
    assert (compose.address, compose.logo, compose.logo_width, compose.sections) == (
        "",
        None,
        160,
        True,
    )


def test_every_setting_reaches_the_list_and_its_compose_settings(tmp_path: Path) -> None:
    path = with_list(
        tmp_path,
        'address = """\nExample News   \n\n1 Main St\r\nSpringfield, IL 62701\n"""\n'
        'logo = "https://cdn.example.com/logo.png?v=2"\n'
        "logo_width = 200\nlogo_height = 48\nsections = false",
    )
    lst = load_config(path).get_list("daily")
    assert lst.address == "Example News\n1 Main St\nSpringfield, IL 62701"
    assert (lst.logo, lst.logo_width, lst.logo_height, lst.sections) == (
        "https://cdn.example.com/logo.png?v=2",
        200,
        48,
        False,
    )
    c = lst.compose
    assert (c.address, c.logo, c.logo_width, c.logo_height, c.sections, c.timezone) == (
        lst.address,
        lst.logo,
        200,
        48,
        False,
        "Europe/London",
    )


def test_a_source_section_is_one_visible_line(tmp_path: Path) -> None:
    config = load_config(with_source(tmp_path, 'section = "  Local\u200b  news "'))
    assert config.sources[0].section == "Local news"


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ('section = "x"\nsection_ = 1', "sources[0].section_", "Did you mean 'section'?"),
        ('section = "Two\\nlines"', "sources[0].section", "control character (U+000A)"),
        ('section = "' + "s" * 61 + '"', "sources[0].section", "61 characters long"),
        ('section = "\u200b"', "sources[0].section", "no visible text"),
        ("section = 3", "sources[0].section", "expected a non-empty string"),
    ],
)
def test_bad_sections_name_the_key(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    said = refused(with_source(tmp_path, extra))
    assert f"{key}: " in said and problem in said


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ('adress = "1 Main St"', "lists.daily.adress", "Did you mean 'address'?"),
        ("logo_widht = 100", "lists.daily.logo_widht", "Did you mean 'logo_width'?"),
        ("section = true", "lists.daily.section", "Did you mean 'sections'?"),
        ('address = "1 Main St\\tSpringfield"', "lists.daily.address", "tab (U+0009)"),
        ('address = "1 Main St\\u0007"', "lists.daily.address", "control character (U+0007)"),
        ('address = "1 Main St\\rSpringfield"', "lists.daily.address", "carriage return"),
        ('address = "' + "a" * 301 + '"', "lists.daily.address", "301 characters long"),
        ('address = " \\u200b "', "lists.daily.address", "no visible text"),
        ('logo = "http://example.com/logo.png"', "lists.daily.logo", "not an https address"),
        ('logo = "javascript:alert(1)"', "lists.daily.logo", "not an https address"),
        ('logo = "https://u:p@example.com/l.png"', "lists.daily.logo", "not an https address"),
        ('logo = "https://example.com/a logo.png"', "lists.daily.logo", "not an https address"),
        ("logo_width = 0", "lists.daily.logo_width", "from 1 to 544"),
        ("logo_width = 545", "lists.daily.logo_width", "from 1 to 544"),
        ('logo_width = "160"', "lists.daily.logo_width", "from 1 to 544"),
        ("logo_height = 1000", "lists.daily.logo_height", "from 1 to 600"),
        ('sections = "yes"', "lists.daily.sections", "expected true or false"),
    ],
)
def test_bad_list_settings_name_the_key(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    said = refused(with_list(tmp_path, extra))
    assert f"{key}: " in said and problem in said


def test_a_logo_error_does_not_show_a_password(tmp_path: Path) -> None:
    said = refused(with_list(tmp_path, 'logo = "https://me:hunter2@example.com/l.png"'))
    assert "hunter2" not in said


def test_the_starter_config_offers_an_address_line_and_loads(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path / "n")]).exit_code == 0
    text = (tmp_path / "n" / "digest.toml").read_text(encoding="utf-8")
    assert '# address = "' in text
    assert load_config(tmp_path / "n" / "digest.toml").get_list("daily").address == ""
    # Taking the comment away gives a list with an address.
    line = next(x for x in text.splitlines() if x.startswith('# address = "'))
    (tmp_path / "n" / "digest.toml").write_text(
        text.replace(line, line.removeprefix("# ")), encoding="utf-8"
    )
    assert load_config(tmp_path / "n" / "digest.toml").get_list("daily").address


def test_sources_add_writes_the_section_and_keeps_the_file_as_it_was(tmp_path: Path) -> None:
    text = CONFIG.replace("[[sources]]", "# Where stories come from.\n[[sources]]")
    path = write(tmp_path, text)
    result = CliRunner().invoke(
        main,
        [
            "sources",
            "add",
            "https://h.example.org/rss",
            "--no-check",
            "--name",
            "Harbour",
            "--section",
            " Local  news ",
            "--config",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    after = path.read_text(encoding="utf-8")
    added = '\n[[sources]]\nname = "Harbour"\nfeed = "https://h.example.org/rss"\n'
    added += 'section = "Local news"\n'
    assert added in after
    assert after.replace(added, "", 1) == text  # the rest of the file as it was
    data = tomllib.loads(after)
    assert data["sources"][-1] == {
        "name": "Harbour",
        "feed": "https://h.example.org/rss",
        "section": "Local news",
    }
    assert load_config(path).sources[-1].section == "Local news"


@pytest.mark.parametrize(
    ("section", "problem"),
    [("s" * 61, "longer than 60 characters"), ("a\nb", "control character"), ("\u200b", "empty")],
)
def test_sources_add_refuses_a_bad_section(tmp_path: Path, section: str, problem: str) -> None:
    path = write(tmp_path, CONFIG)
    result = CliRunner().invoke(
        main,
        [*ADD, "--section", section, "--config", str(path)],
    )
    assert result.exit_code == 2
    assert "--section" in result.output and problem in result.output
    assert path.read_text(encoding="utf-8") == CONFIG


def test_story_time_word_must_be_a_date_time_pattern(tmp_path) -> None:
    """`story_time` formats a date and a time: a bad pattern is named at load, not at send."""
    from conftest import make_newsletter

    from digest.config import load_config
    from digest.errors import ConfigError

    root = make_newsletter(tmp_path)
    toml = root / "digest.toml"
    base = toml.read_text()
    toml.write_text(base + '\n[lists.daily.words]\nstory_time = "HH:mm, d MMM"\n')
    assert dict(load_config(toml).get_list("daily").words)["story_time"] == "HH:mm, d MMM"
    toml.write_text(base + '\n[lists.daily.words]\nstory_time = "d MMMMMMM, HH:mm"\n')
    with pytest.raises(ConfigError) as err:
        load_config(toml)
    assert "story_time" in str(err.value)
