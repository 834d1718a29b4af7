"""Rendering: golden output of the example, the theme's promises, overrides, size limits."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import lxml.html
import pytest
from conftest import NOW

from digest.compose import SIZE_LIMIT, render
from digest.compose.personalise import Reader, Template, fill_issue
from digest.config import load_config
from digest.errors import TemplateError
from digest.models import Article, Digest
from digest.pipeline import build_issue, preview_issue

GOLDEN = Path(__file__).parent / "golden"


def _blank_volatile(eml: str) -> str:
    """Message-ID and MIME boundaries change on every run; the rest must not."""
    eml = re.sub(r"(?m)^Message-ID: .*$", "Message-ID: <BLANKED>", eml)
    for boundary in set(re.findall(r'boundary="([^"]+)"', eml)):
        eml = eml.replace(boundary, "BOUNDARY")
    return eml


def _check_golden(name: str, actual: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_bytes(actual.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing: run pytest --update-golden once"
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{name} differs from the golden file; if intended, --update-golden"


def test_example_matches_golden_files(newsletter: Path, update_golden: bool) -> None:
    config = load_config(newsletter / "digest.toml")
    result = preview_issue(config, config.get_list("daily"), newsletter / "preview", now=NOW)
    html, text, eml = (p.read_bytes().decode("utf-8") for p in result.paths)
    _check_golden("daily.html", html, update_golden)
    _check_golden("daily.txt", text, update_golden)
    _check_golden("daily.eml", _blank_volatile(eml), update_golden)


def test_email_shows_title_date_articles_and_footer(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    issue = build_issue(config, config.get_list("daily"), now=NOW)
    html = issue.rendered.html
    assert "The Daily Example" in html
    assert "Tuesday 24 November 2026" in html
    for article in issue.digest.articles:
        assert article.title in html
        if article.url:
            assert html.count(f'href="{article.url}"') == 2  # linked title and read-more
        for paragraph in article.lead:
            assert paragraph.replace("’", "’") in html or _escaped(paragraph) in html
    assert "You are receiving this because you subscribed to The Daily Example." in html
    assert f'href="%%DIGEST_{issue.rendered.marker}_UNSUBSCRIBE_URL%%"' in html
    assert issue.rendered.subject.startswith("The Daily Example, 24 Nov 2026: ")


def _escaped(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")


def test_html_sets_lang_width_and_alt_on_every_image(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    lst = config.get_list("daily")
    art = _article(0, image="https://img.example.com/a.jpg")
    digest = Digest("daily", "daily-2026-11-24", NOW.date(), "T", (art, _article(1)))
    html = render(digest, lst.compose, config.templates_dir).html
    assert re.search(r'<html[^>]*\blang="en"', html)
    assert "max-width:600px" in html.replace(" ", "")
    images = re.findall(r"<img\b[^>]*>", html)
    assert images, "the top article's image should be shown"
    for img in images:
        assert re.search(r'\balt="[^"]+"', img), img


def test_feed_text_is_escaped_not_injected(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    lst = config.get_list("daily")
    evil = Article(
        id="x",
        title='<script>alert("t")</script>',
        source="Feed & Co",
        url="https://example.com/a?x=1&y=2",
        lead=("<img src=x onerror=alert(1)> text",),
    )
    html = render(Digest("daily", "d", NOW.date(), "T", (evil,)), lst.compose, None).html
    tree = lxml.html.fromstring(html)
    assert tree.xpath("//script") == []
    assert tree.xpath("//@onerror") == []
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="https://example.com/a?x=1&amp;y=2"' in html


def _article(i: int, words: int = 80, image: str | None = None) -> Article:
    body = " ".join(f"word{j}" for j in range(words - 1)) + " end."
    return Article(
        id=f"a{i}",
        title=f"Headline number {i} about something that happened today",
        source=f"Source {i % 4}",
        url=f"https://news.example.com/2026/11/24/story-{i}",
        published=datetime(2026, 11, 24, 6, i % 60, tzinfo=UTC),
        author="A. Writer",
        paragraphs=(body,),
        lead=(body[: len(body) // 2] + ".", body[len(body) // 2 :]),
        image=image,
    )


def test_twenty_articles_stay_under_60_kb(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    arts = tuple(_article(i, words=90) for i in range(20))
    r = render(Digest("daily", "d", NOW.date(), "T", arts), config.get_list("daily").compose, None)
    assert r.articles_included == 20
    assert r.size < 60_000, r.size


def test_oversized_digest_drops_last_articles_and_says_so(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    arts = tuple(_article(i, words=300) for i in range(80))
    r = render(Digest("daily", "d", NOW.date(), "T", arts), config.get_list("daily").compose, None)
    assert r.size <= SIZE_LIMIT
    assert 0 < r.articles_omitted < 80
    assert r.articles_included + r.articles_omitted == 80
    kept = {a.title for a in arts[: r.articles_included]}
    assert all(t in r.html for t in kept)
    assert arts[r.articles_included].title not in r.html
    assert f"{r.articles_omitted} more stories were left out" in r.html
    assert f"{r.articles_omitted} more stories were left out" in r.text
    assert any("left out the last" in w for w in r.warnings)
    # footer survives: that is the point of staying under Gmail's clip
    assert "Unsubscribe" in r.html[-3000:]


def test_user_template_overrides_file_by_file(newsletter: Path) -> None:
    (newsletter / "templates").mkdir()
    (newsletter / "templates" / "digest.txt.j2").write_text(
        "CUSTOM {{ title }} {{ count }}\n{{ reader.unsubscribe_url }}\n", encoding="utf-8"
    )
    config = load_config(newsletter / "digest.toml")
    r = build_issue(config, config.get_list("daily"), now=NOW).rendered
    assert r.text.startswith("CUSTOM The Daily Example 3")
    assert "Good morning" in r.html  # the HTML still comes from the built-in theme


def test_user_template_extends_builtin_by_prefix(newsletter: Path) -> None:
    (newsletter / "templates").mkdir()
    (newsletter / "templates" / "digest.mjml.j2").write_text(
        '{% extends "default:digest.mjml.j2" %}\n'
        "{% block footer %}<mj-section><mj-column><mj-text>Printed by the Example Club. "
        '<a href="{{ reader.unsubscribe_url }}">Leave</a></mj-text></mj-column></mj-section>'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    config = load_config(newsletter / "digest.toml")
    r = build_issue(config, config.get_list("daily"), now=NOW).rendered
    assert "Printed by the Example Club." in r.html
    assert "You are receiving this because" not in r.html
    assert "Good morning" in r.html  # the rest of the built-in theme is kept


def _write_template(root: Path, name: str, body: str) -> None:
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / name).write_text(body, encoding="utf-8")


def test_missing_template_names_the_folders_searched(newsletter: Path) -> None:
    _write_template(newsletter, "digest.mjml.j2", '{% extends "default:nothing.mjml.j2" %}')
    config = load_config(newsletter / "digest.toml")
    with pytest.raises(TemplateError) as err:
        build_issue(config, config.get_list("daily"), now=NOW)
    msg = str(err.value)
    assert "nothing.mjml.j2" in msg
    assert str(newsletter / "templates") in msg
    assert "src/digest/templates" in msg


def test_jinja_syntax_error_names_template_and_line(newsletter: Path) -> None:
    _write_template(newsletter, "digest.txt.j2", "line one\n{{ title }\n")
    config = load_config(newsletter / "digest.toml")
    with pytest.raises(TemplateError, match=r"digest\.txt\.j2, line 2"):
        build_issue(config, config.get_list("daily"), now=NOW)


def test_undefined_name_in_template_names_template_and_line(newsletter: Path) -> None:
    _write_template(newsletter, "digest.txt.j2", "{{ title }}\n\n{{ no_such_thing }}\n")
    config = load_config(newsletter / "digest.toml")
    with pytest.raises(TemplateError, match=r"digest\.txt\.j2, line 3: 'no_such_thing'"):
        build_issue(config, config.get_list("daily"), now=NOW)


def test_mjml_error_names_template(newsletter: Path) -> None:
    _write_template(newsletter, "digest.mjml.j2", "<mjml><mj-body><mj-section></mjml>")
    config = load_config(newsletter / "digest.toml")
    with pytest.raises(TemplateError, match=r"digest\.mjml\.j2: the MJML does not compile"):
        build_issue(config, config.get_list("daily"), now=NOW)


def test_bad_subject_template_names_the_setting(newsletter: Path) -> None:
    cfg = newsletter / "digest.toml"
    text = cfg.read_text()
    assert 'subject = "{{ title }}, {{ date_short }}: {{ top_title }}"' in text
    cfg.write_text(text.replace("{{ top_title }}", "{{ top_titel }}"), "utf-8")
    config = load_config(cfg)
    with pytest.raises(TemplateError, match=r"lists\.daily\.subject: 'top_titel' is undefined"):
        build_issue(config, config.get_list("daily"), now=NOW)


def test_placeholders_filled_per_reader_and_escaped(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    r = build_issue(config, config.get_list("daily"), now=NOW).rendered
    web = "https://news.example.org/issues/daily-2026-11-24?x=1&y=2"
    html = Template(
        fill_issue(r.html, marker=r.marker, web_url=web, escape=True), marker=r.marker, escape=True
    )
    text = Template(
        fill_issue(r.text, marker=r.marker, web_url=web, escape=False),
        marker=r.marker,
        escape=False,
    )
    reader = Reader(
        email="o'neil@example.com",
        name="Ann <O'Neil>",
        unsubscribe_url="https://u.example/x?a=1&b=2",
    )
    h, t = html.fill(reader), text.fill(reader)
    assert "%%DIGEST" not in h and "%%DIGEST" not in t
    assert "Good morning, Ann &lt;O&#x27;Neil&gt;." in h
    assert 'href="https://u.example/x?a=1&amp;b=2"' in h
    assert "Good morning, Ann <O'Neil>." in t
    assert "Unsubscribe: https://u.example/x?a=1&b=2" in t
    assert 'href="https://news.example.org/issues/daily-2026-11-24?x=1&amp;y=2"' in h
    assert "View in browser: https://news.example.org/issues/daily-2026-11-24?x=1&y=2" in t
    nameless = html.fill(Reader(email="x@example.com", unsubscribe_url="https://u.example/y"))
    assert "Good morning. 3 stories today." in nameless


def test_eml_is_multipart_alternative_with_both_parts(newsletter: Path) -> None:
    config = load_config(newsletter / "digest.toml")
    result = preview_issue(config, config.get_list("daily"), newsletter / "out", now=NOW)
    msg = email.message_from_bytes(result.paths[2].read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg["From"] == "The Daily Example <daily@example.com>"
    assert msg["Subject"].startswith("The Daily Example, 24 Nov 2026: ")
    assert msg["List-Unsubscribe"] == "<https://news.example.org/unsubscribe?list=daily&preview=1>"
    html = msg.get_body(("html",)).get_content()
    assert "https://news.example.org/unsubscribe?list=daily&amp;preview=1" in html


def test_docs_list_every_name_a_template_can_use() -> None:
    from dataclasses import fields

    from digest.compose import ArticleView, TemplateContext
    from digest.compose.personalise import SLOT_KEYS

    doc = (Path(__file__).parent.parent / "docs" / "templates.md").read_text(encoding="utf-8")
    names = [f.name for f in fields(TemplateContext)] + [f.name for f in fields(ArticleView)]
    names += list(SLOT_KEYS)
    missing = [n for n in names if f"| `{n}` |" not in doc]
    assert missing == [], f"docs/templates.md does not describe: {missing}"


def test_image_without_alt_in_a_user_template_still_gets_alt(newsletter: Path) -> None:
    _write_template(
        newsletter,
        "digest.mjml.j2",
        '{% extends "default:digest.mjml.j2" %}{% block header %}<mj-section><mj-column>'
        '<mj-image src="https://img.example.com/logo.png" /></mj-column></mj-section>'
        "{% endblock %}",
    )
    config = load_config(newsletter / "digest.toml")
    html = build_issue(config, config.get_list("daily"), now=NOW).rendered.html
    images = re.findall(r"<img\b[^>]*>", html)
    assert any("logo.png" in img for img in images)
    assert all(re.search(r'\balt="', img) for img in images)
