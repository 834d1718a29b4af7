"""Mistakes caught early and with help (issue 13, item 7): templates are checked before any feed
is fetched, a misspelt list, key or source name gets a "did you mean", and MRML's refusals of
the MJML name the template file and line. All through the command line, as a person meets them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import mjml
import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from digest.cli import main
from digest.compose.inline import find_mjml_problem

LEAD = (
    "The harbour master said on Monday that the new breakwater had already halved the number "
    "of boats damaged in storms since it was finished in the spring."
)


def _feed() -> str:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>'
        "<item><title>Breakwater works</title><link>https://h.example.org/1</link>"
        f"<guid>https://h.example.org/1</guid><pubDate>{when}</pubDate>"
        f"<description>&lt;p&gt;{LEAD}&lt;/p&gt;</description></item></channel></rss>"
    )


def _folder(tmp_path: Path, feed_url: str, list_extra: str = "") -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "digest.toml").write_text(
        f'[[sources]]\nname = "Harbour"\nfeed = "{feed_url}"\nfull_text = "never"\n\n'
        f'[lists.daily]\nsender = "d@example.org"\ntitle = "Daily"\n{list_extra}',
        encoding="utf-8",
    )
    return tmp_path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _one_clear_error(r: Result) -> str:
    """The command failed with one message (from its first line: the problem), no traceback;
    what it says from `Error: ` on (a send may log warnings before)."""
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert r.output.count("Error: ") == 1, r.output
    return r.output[r.output.index("Error: ") :]


@pytest.fixture
def feed_server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/feed.xml").respond_with_data(
        _feed(), content_type="application/rss+xml"
    )
    return httpserver


# --- 1. templates first ------------------------------------------------------------------------


def test_the_feed_is_fetched_when_the_templates_are_fine(
    tmp_path: Path, feed_server: HTTPServer
) -> None:
    """The control for the tests below: this folder does fetch its feed."""
    root = _folder(tmp_path, feed_server.url_for("/feed.xml"))
    r = _run("preview", "--config", str(root), "--out", str(root / "out"))
    assert r.exit_code == 0, r.output
    assert len(feed_server.log) == 1


@pytest.mark.parametrize(
    ("name", "body", "line", "expected"),
    [
        ("digest.txt.j2", "{{ title }}\n\n{{ title }\n", 3, "unexpected '}'"),
        ("digest.txt.j2", "{{ title }}\n{% for a in articles %}{{ a.titel }}{% endfor %}\n", 2,
         "has no attribute 'titel'"),
        ("digest.txt.j2", "{{ title }}\n\n{{ reader.unsubscribe_url }} {{ cuont }}\n", 3,
         "'cuont' is undefined"),
        ("digest.txt.j2", "{{ title }}\n{{ count / 0 }}\n", 2, "division by zero"),
        ("digest.mjml.j2", '{% extends "default:digest.mjml.j2" %}\n\n'
         "{% block footer %}{{ reader.unsubscribe_link }}{% endblock %}\n", 3,
         "has no attribute 'unsubscribe_link'"),
        ("digest.mjml.j2", '{% extends "default:digest.mjml.j2" %}\n'
         "{% block footer %}\n{% if reason %}\n{% endblock %}\n", 4, "endblock"),
    ],
    ids=["syntax", "misspelt-field", "misspelt-name", "runtime", "misspelt-in-block",
         "unclosed-if"],
)  # fmt: skip
def test_a_template_mistake_stops_before_any_feed_is_fetched(
    tmp_path: Path, feed_server: HTTPServer, name: str, body: str, line: int, expected: str
) -> None:
    root = _folder(tmp_path, feed_server.url_for("/feed.xml"))
    (root / "templates" / name).write_text(body, encoding="utf-8")
    out = _one_clear_error(_run("preview", "--config", str(root), "--out", str(root / "out")))
    first = out.splitlines()[0]
    assert f"{root / 'templates' / name}, line {line}: " in first, out
    assert expected in first, out
    assert feed_server.log == [], "a feed was fetched before the templates were checked"
    assert not (root / "out").exists()


def test_a_send_also_checks_the_templates_before_fetching(
    tmp_path: Path, feed_server: HTTPServer
) -> None:
    root = _folder(tmp_path, feed_server.url_for("/feed.xml"))
    (root / "subscribers").mkdir()
    (root / "subscribers" / "daily.csv").write_text("email\nada@example.org\n", encoding="utf-8")
    (root / "templates" / "digest.txt.j2").write_text("{{ titel }}\n", encoding="utf-8")
    out = _one_clear_error(_run("send", "--config", str(root), "--dry-run"))
    assert f"{root / 'templates' / 'digest.txt.j2'}, line 1: 'titel' is undefined" in out
    assert feed_server.log == []


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('subject = "{{ title }: {{ top_title }}"', "lists.daily.subject: the template does not"),
        ('preheader = "{{ count }} for {{ date_lnog }}"', "lists.daily.preheader: 'date_lnog'"),
        ('reason = "{% if title %}subscribed"', "lists.daily.reason: the template does not"),
    ],
)
def test_a_mistake_in_a_digest_toml_template_stops_before_fetching(
    tmp_path: Path, feed_server: HTTPServer, setting: str, expected: str
) -> None:
    root = _folder(tmp_path, feed_server.url_for("/feed.xml"), setting + "\n")
    out = _one_clear_error(_run("preview", "--config", str(root), "--out", str(root / "out")))
    assert expected in out.splitlines()[0], out
    assert feed_server.log == []


def test_an_mjml_mistake_stops_before_fetching(tmp_path: Path, feed_server: HTTPServer) -> None:
    root = _folder(tmp_path, feed_server.url_for("/feed.xml"))
    (root / "templates" / "digest.mjml.j2").write_text(
        '{% extends "default:digest.mjml.j2" %}\n{% block footer %}\n<mj-section>\n'
        "  <mj-column><mj-text>{{ reason }}</mj-text></mj-column>\n{% endblock %}\n",
        encoding="utf-8",
    )
    out = _one_clear_error(_run("preview", "--config", str(root), "--out", str(root / "out")))
    assert "digest.mjml.j2: the MJML does not compile at line 3: <mj-section> is not closed" in out
    assert feed_server.log == []


# --- 2. did you mean ---------------------------------------------------------------------------

CONFIG = """\
[newsletter]
base_url = "https://news.example.org"

[[sources]]
name = "Example articles"
folder = "articles"

[[sources]]
name = "Harbour news"
folder = "harbour"
max_items = 3

[lists.daily]
sender = "d@example.org"
lead_words = 80

[lists.weekly]
sender = "w@example.org"
subject = \"\"\"
{{ title }}
\"\"\"
lookback_hours = 168

[delivery]
backend = "outbox"
"""


def _config(tmp_path: Path, old: str, new: str) -> Path:
    assert old in CONFIG
    (tmp_path / "articles").mkdir(exist_ok=True)
    (tmp_path / "harbour").mkdir(exist_ok=True)
    p = tmp_path / "digest.toml"
    p.write_text(CONFIG.replace(old, new, 1), encoding="utf-8")
    return p


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    (n,) = [i for i, line in enumerate(lines, 1) if line.startswith(text)]
    return n


def test_a_misspelt_list_gets_a_suggestion(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "", "")
    out = _one_clear_error(_run("preview", "--config", str(cfg), "--list", "dayly"))
    assert (
        f"{cfg}: there is no list named 'dayly' (lists: daily, weekly). Did you mean 'daily'?"
        in out.splitlines()[0]
    )


def test_a_list_name_far_from_any_gets_no_guess(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "", "")
    out = _one_clear_error(_run("preview", "--config", str(cfg), "--list", "zzz"))
    assert "there is no list named 'zzz'" in out and "Did you mean" not in out


@pytest.mark.parametrize(
    ("old", "new", "found", "key", "suggestion"),
    [
        ("lead_words = 80", "lead_word = 80", "lead_word", "lists.daily.lead_word", "lead_words"),
        ("[newsletter]", "[newsleter]", "[newsleter]", "newsleter: is not a known table",
         "newsletter"),
        ("max_items = 3", "maxitems = 3", "maxitems", "sources[1].maxitems", "max_items"),
        ('backend = "outbox"', 'backnd = "outbox"', "backnd", "delivery.backnd", "backend"),
        ("lookback_hours = 168", "lookback_hour = 168", "lookback_hour",
         "lists.weekly.lookback_hour", "lookback_hours"),
        ("[delivery]", "[delivery.smtpp]", "[delivery.smtpp]",
         "delivery.smtpp: is not a known table", "smtp"),
        ('folder = "harbour"', 'folder = "harbour"\nfull_text = "alwys"', "full_text",
         "sources[1].full_text: 'alwys' is not allowed", "always"),
    ],
    ids=["list-key", "table", "source-key", "delivery-key", "after-a-multiline-string",
         "sub-table", "value"],
)  # fmt: skip
def test_a_misspelt_key_names_its_table_line_and_the_key_meant(
    tmp_path: Path, old: str, new: str, found: str, key: str, suggestion: str
) -> None:
    cfg = _config(tmp_path, old, new)
    out = _one_clear_error(_run("preview", "--config", str(cfg)))
    first = out.splitlines()[0]
    assert first.startswith(f"Error: {cfg}, line {_line_of(cfg, found)}: {key}"), out
    assert first.endswith(f"Did you mean {suggestion!r}?"), out


def test_an_unknown_key_far_from_any_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "lead_words = 80", "colour = 80")
    out = _one_clear_error(_run("preview", "--config", str(cfg)))
    line = _line_of(cfg, "colour")
    assert f"{cfg}, line {line}: lists.daily.colour: is not a known setting\n" in out
    assert "Expected: one of " in out and "lead_words" in out and "Did you mean" not in out


def test_a_misspelt_source_name_in_a_list_gets_a_suggestion(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "lead_words = 80", 'sources = ["Harbor news"]')
    out = _one_clear_error(_run("preview", "--config", str(cfg)))
    assert (
        f"{cfg}, line {_line_of(cfg, 'sources = ')}: lists.daily.sources: no source is named "
        "'Harbor news'. Did you mean 'Harbour news'?" in out
    )


def test_a_missing_key_points_at_its_table(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 'sender = "w@example.org"\n', "")
    out = _one_clear_error(_run("preview", "--config", str(cfg)))
    assert f"{cfg}, line {_line_of(cfg, '[lists.weekly]')}: lists.weekly.sender: is missing" in out


# --- 3. MJML errors with a line ----------------------------------------------------------------


def _mjml_error(tmp_path: Path, body: str) -> str:
    root = tmp_path / "news"
    (root / "articles").mkdir(parents=True)
    (root / "articles" / "a.md").write_text(
        f"---\ntitle: Our own story\ndate: 2020-05-01\n---\n\n{LEAD}\n", encoding="utf-8"
    )
    (root / "templates").mkdir()
    (root / "templates" / "digest.mjml.j2").write_text(body, encoding="utf-8")
    (root / "digest.toml").write_text(
        '[[sources]]\nfolder = "articles"\n\n[lists.daily]\nsender = "d@example.org"\n',
        encoding="utf-8",
    )
    return _one_clear_error(_run("preview", "--config", str(root), "--out", str(root / "out")))


FOOTER = '{%% extends "default:digest.mjml.j2" %%}\n{%% block footer %%}\n%s{%% endblock %%}\n'


def test_an_unclosed_section_names_the_template_line(tmp_path: Path) -> None:
    out = _mjml_error(
        tmp_path,
        "<mjml>\n<mj-body>\n<mj-section>\n"
        "<mj-column><mj-text>{{ title }}</mj-text></mj-column>\n</mj-body>\n</mjml>\n",
    )
    first = out.splitlines()[0]
    assert first.endswith(
        "templates/digest.mjml.j2: the MJML does not compile at line 3: <mj-section> is not "
        "closed before </mj-body>: <mj-section>"
    ), out
    assert "MRML says: unexpected end of stream" in out


def test_an_unclosed_tag_in_text_names_the_template_line_and_shows_it(tmp_path: Path) -> None:
    line = '    <mj-text>{{ reason }} <p><a href="{{ reader.unsubscribe_url }}">Leave</a></mj-text>'
    out = _mjml_error(
        tmp_path, FOOTER % f"<mj-section>\n  <mj-column>\n{line}\n  </mj-column>\n</mj-section>\n"
    )
    assert (
        "digest.mjml.j2: the MJML does not compile at line 5: <p> is not closed before "
        f"</mj-text>: {line.strip()}" in out.splitlines()[0]
    ), out


def test_an_unquoted_value_names_the_line_mrml_cannot_parse(tmp_path: Path) -> None:
    line = "<mj-text>{{ reason }} <a href={{ reader.unsubscribe_url }}>Leave</a></mj-text>"
    out = _mjml_error(
        tmp_path, FOOTER % f"<mj-section>\n<mj-column>\n{line}\n</mj-column>\n</mj-section>\n"
    )
    assert (
        "digest.mjml.j2: the MJML does not compile at line 5: MRML cannot parse this line"
        in out.splitlines()[0]
    ), out
    assert line in out.splitlines()[0]
    assert "MRML says: unable to parse next template" in out


def test_a_closing_tag_too_many_names_the_rendered_line(tmp_path: Path) -> None:
    """`</mj-section>` is on many template lines: the line of the rendered MJML it is, then."""
    out = _mjml_error(
        tmp_path,
        FOOTER % "<mj-section><mj-column><mj-text>{{ reason }}</mj-text></mj-column>"
        "</mj-section>\n</mj-section>\n",
    )
    first = out.splitlines()[0]
    assert "digest.mjml.j2: the MJML does not compile at line " in first
    assert " of the MJML it rendered: </mj-section> does not close <mj-body>" in first, out


# MRML accepts unknown tags and misnested HTML silently (checked here so a new MRML that starts
# refusing them shows up); what it refuses is found at the right line.
@pytest.mark.parametrize(
    ("source", "line", "problem"),
    [
        ("<mjml>\n<mj-body>\n<mj-section>\n</mj-body>\n</mjml>", 3,
         "<mj-section> is not closed before </mj-body>"),
        ("<mjml>\n<mj-body>\n</mj-body>", 1, "<mjml> is never closed"),
        ("<mjml>\n<mj-body>\n</mj-section>\n</mj-body>\n</mjml>", 3,
         "</mj-section> does not close <mj-body>"),
        ("<mjml><mj-body></mj-body></mjml>\n</mjml>", 2, "</mjml> closes nothing"),
        ("<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>1 < 2</mj-text>\n"
         "</mj-column>\n</mj-section>\n</mj-body>\n</mjml>", 5, "MRML cannot parse this line"),
        ("<mjml>\n<mj-head>\n<mj-breakpoint width=\"4px\">\n<mj-title>x</mj-title>\n</mj-head>\n"
         "<mj-body></mj-body>\n</mjml>", 3, "<mj-breakpoint> is not closed before </mj-head>"),
        ("<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>a<br>b<BR>c</mj-text>\n"
         "</mj-column>\n</mj-section>\n</mj-body>\n</mjml>", 5,
         "<BR> is not closed before </mj-text>"),
    ],
    ids=["unclosed", "unclosed-root", "closed-twice", "closes-nothing", "bare-less-than",
         "childless-parent", "upper-case-br"],
)  # fmt: skip
def test_mrml_refusals_are_found_at_their_line(source: str, line: int, problem: str) -> None:
    with pytest.raises(ValueError) as refused:
        mjml.mjml2html(source)
    found = find_mjml_problem(source, str(refused.value))
    assert found is not None
    assert (found.line, found.problem[: len(problem)]) == (line, problem)


def test_what_mrml_accepts_is_not_an_error() -> None:
    for inner in ["<mj-sektion>x</mj-sektion>", "<b><i>x</b></i>", "a & b", "<p>a</P>"]:
        mjml.mjml2html(
            f"<mjml><mj-body><mj-section><mj-column><mj-text>{inner}</mj-text></mj-column>"
            "</mj-section></mj-body></mjml>"
        )


def test_a_misspelt_backend_or_status_option_gets_a_suggestion(tmp_path: Path) -> None:
    root = _folder(tmp_path, "https://h.example.org/feed.xml")
    config = str(root / "digest.toml")
    sent = _run("send", "--config", config, "--backend", "sendgird")
    assert sent.exit_code == 2 and "Did you mean 'sendgrid'?" in sent.output
    listed = _run("subscribers", "list", "--config", config, "--status", "unsubscibed")
    assert listed.exit_code == 2 and "Did you mean 'unsubscribed'?" in listed.output
    far = _run("send", "--config", config, "--backend", "pigeon")
    assert far.exit_code == 2 and "Did you mean" not in far.output


def test_a_misspelt_backend_in_digest_toml_gets_a_suggestion(tmp_path: Path) -> None:
    root = _folder(tmp_path, "https://h.example.org/feed.xml")
    toml = root / "digest.toml"
    toml.write_text('[delivery]\nbackend = "sendgird"\n\n' + toml.read_text(), encoding="utf-8")
    message = _one_clear_error(_run("gather", "--config", str(toml)))
    assert "'sendgird' is not a sender. Did you mean 'sendgrid'?" in message
