"""Careless edits of digest.toml (issue 9): names that would become paths, numbers too big to
use, senders and links that are not what they claim. Each is refused at load with the file, the
key and what is expected; the command line shows one message, never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, make_newsletter

from digest.config import parse_config
from digest.errors import ConfigError

DIGEST = Path(sys.executable).parent / "digest"


def config(tmp_path: Path, *, newsletter: Any = None, source: Any = None, **lst: Any) -> Any:
    data = {
        "newsletter": {"state": ".digest", **(newsletter or {})},
        "sources": [{"name": "Own", "folder": "articles", **(source or {})}],
        "lists": {"daily": {"sender": "Daily <d@example.com>", **lst}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def refused(tmp_path: Path, key: str, **kw: Any) -> str:
    """The message of loading a bad value; it names the file and the key."""
    with pytest.raises(ConfigError) as err:
        config(tmp_path, **kw)
    text = str(err.value)
    assert str(tmp_path / "digest.toml") in text
    assert f": {key}: " in text, text
    return text


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


# List and source names.


@pytest.mark.parametrize(
    "name", ["../../../escaped", "a/b", "a\\b", ".hidden", "-x", "two words", "é", "x" * 65, ""]
)
def test_a_list_name_that_is_not_a_plain_word_is_refused(tmp_path: Path, name: str) -> None:
    data = {"sources": [{"folder": "articles"}], "lists": {name: {"sender": "d@example.com"}}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, tmp_path / "digest.toml")
    assert f"lists.{json_key(name)}: is not a usable list name" in str(err.value)
    assert "letters, digits, - and _" in str(err.value)


def json_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def test_a_list_name_cannot_write_previews_outside_their_folder(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    cfg = root / "digest.toml"
    cfg.write_text(CONFIG.replace("[lists.daily]", '[lists."../escaped"]'), encoding="utf-8")
    r = digest("preview", "--since", "2026-11-01", cwd=root)
    assert r.returncode == 1
    assert 'lists."../escaped": is not a usable list name' in r.stderr
    assert "Traceback" not in r.stderr
    assert list(root.glob("escaped-*")) == []  # the preview/ folder's parent


def test_upper_case_list_names_are_fine_but_must_differ_by_more_than_case(tmp_path: Path) -> None:
    ok = {"sources": [{"folder": "a"}], "lists": {"Daily_News-2": {"sender": "d@example.com"}}}
    assert list(parse_config(ok, tmp_path / "digest.toml").lists) == ["Daily_News-2"]
    both = {"sources": [{"folder": "a"}], "lists": {"daily": {"sender": "d@example.com"}}}
    both["lists"]["Daily"] = {"sender": "d@example.com"}
    with pytest.raises(ConfigError, match=r"lists\.Daily: differs from lists\.daily only in case"):
        parse_config(both, tmp_path / "digest.toml")


@pytest.mark.parametrize("name", ["Feed\nFAKE: all is well", "\x1b[31mred", "tab\there", "x" * 201])
def test_a_source_name_with_control_characters_is_refused(tmp_path: Path, name: str) -> None:
    refused(tmp_path, "sources[0].name", source={"name": name})


def test_a_source_name_may_hold_a_slash_and_any_script(tmp_path: Path) -> None:
    cfg = config(tmp_path, source={"name": "Ars Technica / Science — Ελληνικά"})
    assert cfg.sources[0].name == "Ars Technica / Science — Ελληνικά"


# Numbers.


@pytest.mark.parametrize(
    ("key", "value", "limit"),
    [
        ("lookback_hours", 999_999_999_999, "87600 (10 years)"),
        ("paragraphs", 10**12, "50"),
        ("lead_words", 10**12, "5000"),
        ("max_articles", 10**12, "500"),
    ],
)
def test_a_huge_list_number_is_refused_with_its_limit(
    tmp_path: Path, key: str, value: int, limit: str
) -> None:
    text = refused(tmp_path, f"lists.daily.{key}", **{key: value})
    assert f"to {limit}, got {value}" in text


def test_a_huge_max_items_is_refused_with_its_limit(tmp_path: Path) -> None:
    text = refused(tmp_path, "sources[0].max_items", source={"max_items": 10**12})
    assert "from 1 to 10000" in text


def test_cli_huge_lookback_is_one_message_not_an_overflow(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    (root / "digest.toml").write_text(
        CONFIG.replace('language = "en"', 'language = "en"\nlookback_hours = 999999999999'),
        encoding="utf-8",
    )
    r = digest("gather", cwd=root)
    assert r.returncode == 1
    assert "lists.daily.lookback_hours: expected a whole number from 1 to 87600" in r.stderr
    assert "Traceback" not in r.stderr


# The sender.


@pytest.mark.parametrize(
    "sender",
    [
        "not an address",
        "not-an-address",
        "Daily <not-an-address>",
        "Daily <d@localhost>",
        "a@example.com, b@example.com",
        "Daily <d@example.com> <e@example.com>",
        "Daily <d@example.com>\r\nBcc: everyone@example.com",
        "Daily\x07 <d@example.com>",
        "Dä <dä@example.com>",  # a non-ASCII mailbox name needs SMTPUTF8, which is not used
    ],
)
def test_a_sender_that_is_not_one_address_is_refused(tmp_path: Path, sender: str) -> None:
    text = refused(tmp_path, "lists.daily.sender", sender=sender)
    assert "Name <address@example.com>" in text


@pytest.mark.parametrize(
    ("sender", "stored"),
    [
        ("The Daily Example <daily@example.com>", "The Daily Example <daily@example.com>"),
        ("d@example.com", "d@example.com"),
        ("  Café <news@Exämple.com> ", "Café <news@xn--exmple-cua.com>"),
        ('"Smith, Jones" <n@example.com>', '"Smith, Jones" <n@example.com>'),
        ("Smith, Jones & Co <n@example.com>", '"Smith, Jones & Co" <n@example.com>'),
    ],
)
def test_a_good_sender_is_kept_as_one_mailbox(tmp_path: Path, sender: str, stored: str) -> None:
    assert config(tmp_path, sender=sender).get_list().sender == stored


def test_a_sender_name_with_a_comma_is_one_from_address_in_the_email(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    (root / "digest.toml").write_text(
        CONFIG.replace("The Daily Example <daily@", "Smith, Jones & Co <daily@"), encoding="utf-8"
    )
    r = digest("preview", "--since", "2026-11-01", "--out", "p", cwd=root)
    assert r.returncode == 0, r.stderr
    (eml,) = (root / "p").glob("*.eml")
    sender = message_from_bytes(eml.read_bytes(), policy=default)["From"]
    assert [(a.display_name, a.addr_spec) for a in sender.addresses] == [
        ("Smith, Jones & Co", "daily@example.com")
    ]


def test_cli_sender_with_a_line_break_is_one_message(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    (root / "digest.toml").write_text(
        CONFIG.replace("<daily@example.com>", "<daily@example.com>\\r\\nBcc: all@example.com"),
        encoding="utf-8",
    )
    r = digest("preview", "--since", "2026-11-01", cwd=root)
    assert r.returncode == 1
    assert "lists.daily.sender: " in r.stderr and "control character" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (root / "preview").exists()


# base_url.


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//",
        "data:text/html,hi",
        "ftp://example.com",
        "example.com",
        "https://",
        "https:///path",
        "https://user:secret@example.com",
        "https://example.com/?a=1",
        "https://example.com/#top",
        "https://exa mple.com",
        "https://example.com/\n",
        "https://example.com:99999",
        "https://example.com/<x>",
    ],
)
def test_a_base_url_that_is_not_a_plain_web_address_is_refused(tmp_path: Path, url: str) -> None:
    text = refused(tmp_path, "newsletter.base_url", newsletter={"base_url": url})
    assert "https://" in text


def test_a_base_url_with_a_path_is_kept_without_its_last_slash(tmp_path: Path) -> None:
    cfg = config(tmp_path, newsletter={"base_url": "HTTPS://News.Example.org/letters/"})
    assert cfg.base_url == "HTTPS://News.Example.org/letters"


def test_cli_javascript_base_url_never_becomes_the_unsubscribe_link(tmp_path: Path) -> None:
    root = make_newsletter(tmp_path)
    (root / "digest.toml").write_text(
        CONFIG.replace("https://news.example.org", "javascript:alert(1)//"), encoding="utf-8"
    )
    r = digest("preview", "--since", "2026-11-01", cwd=root)
    assert r.returncode == 1
    assert "newsletter.base_url: " in r.stderr and "Traceback" not in r.stderr
    assert not (root / "preview").exists()


# Other text and paths.


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("title", "Daily\x1b[2J"),
        ("title", "Daily\nExample"),
        ("subject", "{{ title }}\x00"),
        ("reason", "\x1b[31m{{ title }}"),
        ("language", 'en" onload="x'),
        ("language", "en gb"),
        ("timezone", "a" * 300),
        ("timezone", "UTC\x00"),
        ("send_at", "²:00"),
        ("send_at", "０７:００"),
        ("subscribers", "subscribers/da\x00ily.csv"),
    ],
)
def test_a_bad_list_text_is_refused(tmp_path: Path, key: str, value: str) -> None:
    refused(tmp_path, f"lists.daily.{key}", **{key: value})


def test_templates_may_span_lines_and_languages_may_be_tags(tmp_path: Path) -> None:
    cfg = config(tmp_path, subject="{{ title }}:\n  {{ top_title }}", language="pt-BR")
    assert cfg.get_list().subject == "{{ title }}:\n  {{ top_title }}"
    assert cfg.get_list().language == "pt-BR"


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("newsletter", "templates", "tem\x00plates"),
        ("newsletter", "state", ".dig\x00est"),
        ("source", "folder", "art\x00icles"),
    ],
)
def test_a_path_with_a_control_character_is_refused(
    tmp_path: Path, where: str, key: str, value: str
) -> None:
    prefix = "newsletter" if where == "newsletter" else "sources[0]"
    refused(tmp_path, f"{prefix}.{key}", **{where: {key: value}})


@pytest.mark.parametrize(
    "feed", ["ftp://example.com/feed.xml", "file:///etc/passwd", "https://", "https://a b/feed"]
)
def test_a_feed_address_that_is_not_a_web_address_or_a_file_is_refused(
    tmp_path: Path, feed: str
) -> None:
    data = {"sources": [{"feed": feed}], "lists": {"daily": {"sender": "d@example.com"}}}
    with pytest.raises(ConfigError, match=r"sources\[0\]\.feed: .*an http\(s\) URL"):
        parse_config(data, tmp_path / "digest.toml")


def test_a_folder_that_is_a_url_is_refused(tmp_path: Path) -> None:
    text = refused(tmp_path, "sources[0].folder", source={"folder": "https://example.com/a"})
    assert "is a URL, not a folder" in text


def test_a_feed_url_in_capitals_is_still_a_url(tmp_path: Path) -> None:
    lists = {"d": {"sender": "d@example.org"}}
    data = {"sources": [{"feed": "HTTPS://example.com/feed"}], "lists": lists}
    source = parse_config(data, tmp_path / "digest.toml").sources[0]
    assert source.is_remote and source.location == "https://example.com/feed"


def test_an_unknown_key_with_a_line_break_is_named_on_one_line(tmp_path: Path) -> None:
    text = refused(tmp_path, 'lists.daily."bad\\nkey"', **{"bad\nkey": 1})
    assert "\n" not in text.split("\n  ")[0]


def test_a_mime_encoded_sender_name_is_refused_at_load(tmp_path: Path) -> None:
    """An encoded word decodes to anything, a line break too: refused before any send."""
    from digest.config import parse_config
    from digest.errors import ConfigError

    name = "=?utf-8?q?x=0D=0ABcc:_victim@evil.example?="
    data = {
        "sources": [{"folder": "a"}],
        "lists": {"daily": {"sender": f"{name} <newsletter@example.com>"}},
    }
    with pytest.raises(ConfigError, match="MIME-encoded"):
        parse_config(data, tmp_path / "digest.toml")
