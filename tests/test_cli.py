"""The command line as a person uses it: preview, init, help on every command."""

from __future__ import annotations

import email.utils
import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import load_config

DIGEST = Path(sys.executable).parent / "digest"


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))


COMMANDS = [path for path, _ in _all_commands(main)]


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "digest")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], flag: str) -> None:
    result = CliRunner().invoke(main, [*path, flag])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"digest {' '.join(path)} --help shows no example"
    assert "digest " in result.output.split("Example", 1)[1]


def test_readme_mentions_every_top_level_command() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for path in COMMANDS:
        if len(path) == 1:
            assert f"digest {path[0]}" in readme, f"README does not mention digest {path[0]}"


def test_preview_writes_three_files_and_reports(newsletter: Path) -> None:
    out = newsletter / "out"
    result = CliRunner().invoke(main, ["preview", "-c", str(newsletter), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3
    assert {Path(n).suffix for n in names} == {".html", ".txt", ".eml"}
    assert all(Path(line).name in names for line in lines[:3])
    assert lines[3].startswith("3 articles, HTML ") and lines[3].endswith(" KB")


def test_preview_json(newsletter: Path) -> None:
    out = newsletter / "out"
    result = CliRunner().invoke(main, ["preview", "-c", str(newsletter), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["articles"] == 3 and data["omitted"] == 0
    assert Path(data["eml"]).read_bytes().startswith(b"From: ")
    assert data["html_bytes"] == Path(data["html"]).stat().st_size


def test_preview_records_nothing(newsletter: Path) -> None:
    """Previewing twice shows the same issue: nothing is marked sent, no subscriber touched."""
    csv_before = (newsletter / "subscribers" / "daily.csv").read_bytes()
    outputs = []
    for n in range(2):
        out = newsletter / f"out{n}"
        result = CliRunner().invoke(main, ["preview", "-c", str(newsletter), "-o", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(next(out.glob("*.txt")).read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert "3 stories today" in outputs[1]
    assert (newsletter / "subscribers" / "daily.csv").read_bytes() == csv_before


def test_preview_skips_bad_article_and_goes_on(newsletter: Path) -> None:
    (newsletter / "articles" / "empty.txt").write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["preview", "-c", str(newsletter), "-o", str(newsletter / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "empty.txt" in result.stderr
    assert "3 articles" in result.stdout


def test_no_articles_is_a_plain_message_and_nothing_written(newsletter: Path) -> None:
    for f in (newsletter / "articles").iterdir():
        f.unlink()
    out = newsletter / "out"
    result = CliRunner().invoke(main, ["preview", "-c", str(newsletter), "-o", str(out)])
    assert result.exit_code == 1
    assert "no new articles for list 'daily'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_summarise_missing_file() -> None:
    result = CliRunner().invoke(main, ["summarise", "/no/such/article.txt"])
    assert result.exit_code == 1
    assert "/no/such/article.txt: no such file" in result.output


def test_init_makes_a_working_newsletter_outside_the_repo(tmp_path: Path) -> None:
    """The installed command, run in a folder far from this repository, uses the packaged theme."""
    run = subprocess.run(
        [str(DIGEST), "init", "my-briefing", "--title", 'Morning "Notes"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "my-briefing"
    assert (folder / "subscribers" / "daily.csv").read_text() == (
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
    )
    preview = subprocess.run(
        [str(DIGEST), "preview", "--json"], cwd=folder, capture_output=True, text=True, check=False
    )
    assert preview.returncode == 0, preview.stderr
    data = json.loads(preview.stdout)
    assert data["articles"] == 1
    html = Path(folder / data["html"]).read_text(encoding="utf-8")
    assert 'Morning "Notes"' in html or "Morning &#34;Notes&#34;" in html
    assert "Welcome to your new digest" in html


@pytest.mark.parametrize(
    "title", ["Smith, Jones & <Co> Daily", "Two\nlines\x7f", 'Back\\slash "quoted"']
)
def test_init_with_any_title_makes_a_newsletter_that_loads(tmp_path: Path, title: str) -> None:
    """The title goes into TOML strings and the From header: no title may break either."""
    assert CliRunner().invoke(main, ["init", str(tmp_path / "n"), "--title", title]).exit_code == 0
    config = load_config(tmp_path / "n" / "digest.toml")
    lst = config.get_list("daily")
    assert lst.title == " ".join(title.replace("\x7f", "").split())
    assert email.utils.getaddresses([lst.sender])[0][1] == "newsletter@example.com"


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path / "n")]).exit_code == 0
    again = runner.invoke(main, ["init", str(tmp_path / "n")])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_summarise_takes_lead_settings_from_the_list(newsletter: Path) -> None:
    article = str(newsletter / "articles" / "nato-permanent-presence.txt")
    cfg = newsletter / "digest.toml"
    runner = CliRunner()
    two = runner.invoke(main, ["summarise", article, "-c", str(cfg)])
    assert two.exit_code == 0, two.output
    assert len(two.output.strip().split("\n\n")) == 2
    cfg.write_text(cfg.read_text().replace('language = "en"', 'language = "en"\nparagraphs = 1'))
    one = runner.invoke(main, ["summarise", article, "-c", str(cfg)])
    assert one.output.strip().startswith("The secretary general of the military alliance said")
    assert len(one.output.strip().split("\n\n")) == 1
    flag = runner.invoke(main, ["summarise", article, "-c", str(cfg), "--paragraphs", "3"])
    assert len(flag.output.strip().split("\n\n")) == 3


def test_preview_warns_when_articles_are_left_out_for_size(newsletter: Path) -> None:
    words = " ".join(f"word{j}" for j in range(80))
    for i in range(120):
        (newsletter / "articles" / f"long-{i:03}.md").write_text(
            f"---\ntitle: Story {i} with a headline long enough to wrap on a phone screen\n"
            f"url: https://example.com/{i}/{'x' * 150}\n---\n\n"
            f"{words} first paragraph ends here.\n\n{words} second paragraph ends here.\n",
            encoding="utf-8",
        )
    cfg = newsletter / "digest.toml"
    cfg.write_text(
        cfg.read_text().replace('language = "en"', 'language = "en"\nmax_articles = 200')
    )
    out = newsletter / "o"
    result = CliRunner().invoke(main, ["preview", "-c", str(cfg), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["omitted"] > 0
    assert data["articles"] + data["omitted"] == 123
    assert data["html_bytes"] < 102_000
    assert "left out the last" in result.stderr
    html = Path(data["html"]).read_text(encoding="utf-8")
    assert f"{data['omitted']} more stories were left out" in html


def test_the_bundled_example_previews_as_make_demo_runs_it(tmp_path: Path) -> None:
    """The quick start's first command, on a copy of this repository's own newsletter."""
    repo = Path(__file__).resolve().parent.parent
    for name in ("digest.toml", "examples", "subscribers", "templates"):
        src = repo / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    run = subprocess.run(
        [str(DIGEST), "preview", "--list", "daily", "--since", "2026-11-01", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["articles"] == 5 and data["warnings"] == []
    text = (tmp_path / data["text"]).read_text(encoding="utf-8")
    assert "The secretary general of the military alliance said" in text
    assert "Market square to close for resurfacing in January" in text


def test_log_lines_are_whole_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    """A service's log (journald, a file, cron mail) gets one line per message, not text
    wrapped at 80 columns."""
    root = tmp_path / "n"
    assert CliRunner().invoke(main, ["init", str(root)]).exit_code == 0
    (root / "articles" / "broken.md").write_text(
        "---\ntitle: [unclosed\n---\nBody\n", encoding="utf-8"
    )
    r = subprocess.run(
        [str(DIGEST), "preview", "--out", str(tmp_path / "p")],
        cwd=root,
        capture_output=True,
        text=True,
    )
    warning = [line for line in r.stderr.splitlines() if "front matter is not valid YAML" in line]
    assert len(warning) == 1 and warning[0].startswith("WARNING ")
    assert str(root / "articles" / "broken.md") in warning[0]
