"""digest.toml: every bad value is named with its file, key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CONFIG

from digest.cli import main
from digest.config import load_config
from digest.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "digest.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_example_config_loads(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, CONFIG))
    daily = cfg.get_list(None)
    assert daily.name == "daily"
    assert daily.timezone == "Europe/London"
    assert daily.paragraphs == 2 and daily.lead_words == 90
    assert daily.subscribers == tmp_path / "subscribers" / "daily.csv"
    assert cfg.sources[0].kind == "folder"
    assert cfg.sources[0].location == str(tmp_path / "articles")


def test_repository_config_loads() -> None:
    cfg = load_config(Path(__file__).parent.parent / "digest.toml")
    assert "daily" in cfg.lists


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('timezone = "Europe/London"', 'timezone = "Europe/Lndon"'), "lists.daily.timezone"),
        (
            ('sender = "The Daily Example <daily@example.com>"\n', ""),
            "lists.daily.sender: is missing",
        ),
        (('language = "en"', "language = 3"), "lists.daily.language: expected a non-empty string"),
        (('language = "en"', 'langauge = "en"'), "lists.daily.langauge: is not a known setting"),
        (
            ('folder = "articles"', 'folder = "articles"\nfull_text = "maybe"'),
            "sources[0].full_text",
        ),
        (('folder = "articles"', 'folder = "a"\nfeed = "https://x"'), "needs exactly one of"),
        (('language = "en"', 'language = "en"\nparagraphs = 0'), "lists.daily.paragraphs"),
        (('language = "en"', 'language = "en"\nsend_at = "7am"'), "lists.daily.send_at"),
        (('language = "en"', 'language = "en"\nsend_at = "0 25 * * *"'), "lists.daily.send_at"),
        (('language = "en"', 'language = "en"\ngrace_hours = 48'), "lists.daily.grace_hours"),
        (('language = "en"', 'language = "en"\nsources = ["Nope"]'), "no source is named 'Nope'"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in CONFIG
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, CONFIG.replace(old, new)))
    assert message in str(err.value)
    assert str(tmp_path / "digest.toml") in str(err.value)


@pytest.mark.parametrize("send_at", ["06:45", "0 7 * * 1-5", "30 6 1 * *"])
def test_send_at_is_a_time_or_a_cron_expression(tmp_path: Path, send_at: str) -> None:
    text = CONFIG.replace('language = "en"', f'language = "en"\nsend_at = "{send_at}"')
    assert load_config(_write(tmp_path, text)).get_list("daily").send_at == send_at


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 3"):
        load_config(_write(tmp_path, "[newsletter]\n\ntitle = \n"))


def test_no_lists(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lists: is missing"):
        load_config(_write(tmp_path, "[newsletter]\n"))


def test_cli_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "preview"])
    assert result.exit_code == 1
    assert "nope.toml: no such file" in result.output
    assert "digest init" in result.output
    assert "Traceback" not in result.output


def test_cli_unknown_list(tmp_path: Path) -> None:
    cfg = _write(tmp_path, CONFIG)
    result = CliRunner().invoke(main, ["preview", "--config", str(cfg), "--list", "weekly"])
    assert result.exit_code == 1
    assert "there is no list named 'weekly' (lists: daily)" in result.output
    assert "Traceback" not in result.output


def test_config_defaults_to_current_folder(
    newsletter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(newsletter)
    result = CliRunner().invoke(main, ["preview", "--out", "p"])
    assert result.exit_code == 0, result.output
    assert (newsletter / "p").is_dir()


def test_unnamed_feed_is_named_without_its_password(tmp_path: Path) -> None:
    text = CONFIG.replace(
        '[[sources]]\nname = "Example articles"\nfolder = "articles"',
        '[[sources]]\nname = "Example articles"\nfolder = "articles"\n\n'
        '[[sources]]\nfeed = "https://reader:s3cret@news.example.com/feeds/all.xml"\n\n'
        '[[sources]]\nfeed = "feeds/local.xml"',
    )
    cfg = load_config(_write(tmp_path, text))
    names = [s.name for s in cfg.sources]
    assert names == ["Example articles", "news.example.com/feeds/all.xml", "local.xml"]
    assert all("s3cret" not in n for n in names)
