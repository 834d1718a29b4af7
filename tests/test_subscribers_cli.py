"""`digest subscribers ...` end to end, on a newsletter folder in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "subscribers"
DIGEST = Path(sys.executable).with_name("digest")

CONFIG = """
[lists.daily]
sender = "Daily <daily@example.com>"
subscribers = "subscribers/daily.csv"

[lists.weekly]
sender = "Weekly <weekly@example.com>"
subscribers = "subscribers/weekly.csv"
"""
COMMANDS = [
    "add",
    "unsubscribe",
    "resubscribe",
    "remove",
    "list",
    "count",
    "import",
    "export",
    "validate",
    "sync-suppressions",
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "digest.toml").write_text(CONFIG)
    (tmp_path / "subscribers").mkdir()
    shutil.copy(ROOT / "subscribers" / "daily.csv", tmp_path / "subscribers" / "daily.csv")
    return tmp_path


def run(folder: Path, *args: str, input: str | None = None):
    return CliRunner().invoke(
        main, ["subscribers", *args, "--config", str(folder)], input=input, catch_exceptions=False
    )


def daily(folder: Path) -> str:
    return (folder / "subscribers" / "daily.csv").read_bytes().decode()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_list_and_config(command: str) -> None:
    result = CliRunner().invoke(main, ["subscribers", command, "-h"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert "--list" in result.output and "--config" in result.output


def test_add_unsubscribe_resubscribe(folder: Path) -> None:
    r = run(folder, "add", "New@Example.com", "--name", "New", "--topics", "world;tech")
    assert r.exit_code == 0, r.output
    assert "Added New@example.com" in r.output
    assert daily(folder).splitlines()[-1].startswith("New@example.com,New,subscribed,")
    r = run(folder, "unsubscribe", "new@example.com")
    assert r.exit_code == 0 and "is now unsubscribed" in r.output
    r = run(folder, "unsubscribe", "new@example.com")
    assert r.exit_code == 0 and "already unsubscribed; nothing changed" in r.output
    r = run(folder, "add", "new@example.com")
    assert r.exit_code == 1
    assert "already unsubscribed" in r.output and "Traceback" not in r.output
    r = run(folder, "resubscribe", "NEW@example.com")
    assert r.exit_code == 0 and "is now subscribed" in r.output


def test_errors_are_one_clear_line(folder: Path) -> None:
    r = run(folder, "unsubscribe", "nobody@example.com")
    assert r.exit_code == 1
    assert "nobody@example.com is not on the list" in r.output
    r = run(folder, "add", "not-an-address")
    assert r.exit_code == 1 and "must have an @-sign" in r.output
    for command in ("unsubscribe", "resubscribe"):
        r = run(folder, command, "ada@@example.com")
        assert r.exit_code == 1 and "'ada@@example.com' is not a valid email address" in r.output
    r = run(folder, "remove", "ada@@example.com", "--yes")
    assert r.exit_code == 1 and "is not a valid email address" in r.output
    r = run(folder, "count", "--list", "monthly")
    assert r.exit_code == 1 and "no list named 'monthly'" in r.output


def test_list_option_picks_the_list(folder: Path) -> None:
    r = run(folder, "add", "w@example.com", "--list", "weekly")
    assert r.exit_code == 0
    assert (
        (folder / "subscribers" / "weekly.csv")
        .read_text()
        .splitlines()[1]
        .startswith("w@example.com,")
    )
    r = run(folder, "count", "--list", "weekly", "--json")
    assert json.loads(r.output)["total"] == 1
    assert "w@example.com" not in daily(folder)


def test_list_and_count(folder: Path) -> None:
    r = run(folder, "list", "--status", "unsubscribed")
    assert r.output == "alan@example.com\tunsubscribed\tAlan Turing\t\n"
    r = run(folder, "list", "--json")
    records = json.loads(r.output)
    assert [x["email"] for x in records][:2] == ["ada@example.com", "grace@example.com"]
    assert records[0]["topics"] == ["world", "science"]
    r = run(folder, "count")
    assert "subscribed           3" in r.output and "total                4" in r.output
    assert json.loads(run(folder, "count", "--json").output) == {
        "subscribed": 3,
        "unsubscribed": 1,
        "bounced": 0,
        "complained": 0,
        "total": 4,
    }


def test_remove_needs_yes_without_a_terminal(folder: Path) -> None:
    before = daily(folder)
    r = run(folder, "remove", "ada@example.com", input="y\n")
    assert r.exit_code == 1
    assert "without confirmation" in r.output and "--yes" in r.output
    assert daily(folder) == before
    r = run(folder, "remove", "ada@example.com", "--yes")
    assert r.exit_code == 0 and "Removed ada@example.com" in r.output
    assert "ada@example.com" not in daily(folder)


def _on_a_terminal(folder: Path, args: list[str], answer: bytes) -> tuple[int, str]:
    """Run the real `digest` with a pseudo-terminal as its input, answering its prompt."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [str(DIGEST), "subscribers", *args, "--config", str(folder)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        close_fds=True,
    )
    os.close(secondary)
    out = b""
    answered = False
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not answered and b"[y/N]" in out:
            os.write(primary, answer)
            answered = True
    os.close(primary)
    return proc.wait(timeout=30), out.decode()


def test_remove_asks_on_a_terminal(folder: Path) -> None:
    code, out = _on_a_terminal(folder, ["remove", "grace@example.com"], b"n\n")
    assert code == 0 and "Remove grace@example.com (subscribed)" in out
    assert "Nothing removed" in out and "grace@example.com" in daily(folder)
    code, out = _on_a_terminal(folder, ["remove", "grace@example.com"], b"y\n")
    assert code == 0 and "Removed grace@example.com" in out
    assert "grace@example.com" not in daily(folder)


def test_import_report_and_dry_run(folder: Path) -> None:
    before = daily(folder)
    r = run(folder, "import", str(DATA / "google_sheets.csv"), "--dry-run")
    assert r.exit_code == 1  # invalid rows
    assert "added" in r.output and "Dry run" in r.output
    assert "line 5: Signup Date: 'yesterday'" in r.output
    assert "line 6: Time zone" in r.output
    assert daily(folder) == before
    r = run(folder, "import", str(DATA / "mailchimp_subscribed.csv"), "--json")
    assert r.exit_code == 0
    report = json.loads(r.output)
    assert (report["added"], report["updated"], report["invalid"]) == (3, 0, 0)
    assert daily(folder).startswith(before)  # the old rows, byte for byte


def test_import_refuses_into_a_broken_list(folder: Path) -> None:
    target = folder / "subscribers" / "daily.csv"
    shutil.copy(DATA / "broken_list.csv", target)
    before = target.read_bytes()
    r = run(folder, "import", str(DATA / "tabs.tsv"))
    assert r.exit_code == 1
    assert "daily.csv: not changed, because 6 row(s) are broken" in r.output
    assert "line 4: has 9 fields" in r.output
    assert target.read_bytes() == before


def test_validate(folder: Path) -> None:
    r = run(folder, "validate")
    assert r.exit_code == 0 and "no problems" in r.output
    shutil.copy(DATA / "broken_list.csv", folder / "subscribers" / "daily.csv")
    r = run(folder, "validate", "--json")
    assert r.exit_code == 1
    assert [p["line"] for p in json.loads(r.output)["problems"]] == [4, 5, 6, 7, 8, 9, 10]
    r = run(folder, "validate")
    assert "daily.csv: line 6: subscribed_at: '05/11/2026'" in r.output


def test_export_neutralises_formulas(folder: Path) -> None:
    target = folder / "subscribers" / "daily.csv"
    target.write_text(
        "email,name,status,note,more\n"
        'evil@example.com,"=HYPERLINK(""http://x"",""click"")",subscribed,@SUM(A1),\n'
        "plus@example.com,+1 555,unsubscribed,-2,\n"
        'tab@example.com,Tab,subscribed,"\tTabbed","\rCR"\n'
        "ok@example.com,Plain Name,subscribed,a=b,\n"
    )
    r = run(folder, "export")
    assert r.exit_code == 0
    assert r.stdout_bytes.decode().split("\r\n") == [
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone,note,more",
        'evil@example.com,"\'=HYPERLINK(""http://x"",""click"")",subscribed,,,,,\'@SUM(A1),',
        "plus@example.com,'+1 555,unsubscribed,,,,,'-2,",
        "tab@example.com,Tab,subscribed,,,,,'\tTabbed,\"'\rCR\"",
        "ok@example.com,Plain Name,subscribed,,,,,a=b,",
        "",
    ]
    out = folder / "out" / "readers.csv"
    r = run(folder, "export", "--status", "subscribed", "--out", str(out))
    assert r.exit_code == 0 and "Wrote 3 rows" in r.output
    assert [line.split(",")[0] for line in out.read_bytes().decode().split("\r\n")[1:-1]] == [
        "evil@example.com",
        "tab@example.com",
        "ok@example.com",
    ]


def test_export_neutralises_formulas_after_spaces_and_quotes(folder: Path) -> None:
    (folder / "subscribers" / "daily.csv").write_text(
        "email,note\n"
        'space@example.com," =1+1"\n'
        'quote@example.com,"""=HYPERLINK(""http://x"")"\n'
        'nl@example.com,"\n@SUM(A1)"\n'
        "minus@example.com,  -2\n"
        "ok@example.com,O'Brien = Irish\n"
    )
    r = run(folder, "export")
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(r.stdout_bytes.decode(), newline="")))
    assert [row[7] for row in rows[1:]] == [
        "' =1+1",
        '\'"=HYPERLINK("http://x")',
        "'\n@SUM(A1)",
        "'  -2",
        "O'Brien = Irish",
    ]


def test_export_of_a_broken_list_fails_and_names_the_rows(folder: Path) -> None:
    shutil.copy(DATA / "broken_list.csv", folder / "subscribers" / "daily.csv")
    r = run(folder, "export")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "6 row(s) are broken: line 4: has 9 fields" in r.output
    out = folder / "readers.csv"
    r = run(folder, "export", "--out", str(out))
    assert r.exit_code == 1 and "readers.csv was not written" in r.output
    assert not out.exists() and [p.name for p in folder.iterdir() if "readers" in p.name] == []


def test_export_to_an_unwritable_place_is_a_clear_error(folder: Path) -> None:
    (folder / "afile").write_text("not a folder\n")
    r = run(folder, "export", "--out", str(folder / "afile" / "readers.csv"))
    assert r.exit_code == 1
    assert "cannot write the export" in r.output and "Traceback" not in r.output
    assert (folder / "afile").read_text() == "not a folder\n"


def test_a_repeated_unknown_column_keeps_each_value(folder: Path) -> None:
    text = "email,note,note,\nada@example.com,first,second,third\n"
    (folder / "subscribers" / "daily.csv").write_text(text)
    r = run(folder, "export")
    assert r.exit_code == 0, r.output
    assert r.stdout_bytes.decode().split("\r\n")[:2] == [
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone,note,note (2),",
        "ada@example.com,,subscribed,,,,,first,second,third",
    ]
    r = run(folder, "list", "--json")
    assert json.loads(r.output)[0]["extra"] == {"note": "first", "note (2)": "second", "": "third"}
    assert run(folder, "add", "bob@example.com").exit_code == 0
    assert daily(folder).startswith(text)


def test_resubscribe_takes_back_every_row_of_an_address_listed_twice(folder: Path) -> None:
    (folder / "subscribers" / "daily.csv").write_text(
        "email,status\nada@example.com,subscribed\nADA@example.com,unsubscribed\n"
    )
    r = run(folder, "list", "--status", "subscribed")
    assert r.output == "ada@example.com\tsubscribed\t\t\n"  # one row says subscribed...
    r = run(folder, "resubscribe", "ada@example.com")  # ...but she is not sent to
    assert r.exit_code == 0 and "ada@example.com is now subscribed" in r.output
    assert daily(folder).splitlines()[1:] == [
        "ada@example.com,subscribed",
        "ADA@example.com,subscribed",
    ]


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--name", "Eve\nmallory@example.com\tsubscribed", "a line feed (U+000A)"),
        ("--name", "Eve\rX", "a carriage return (U+000D)"),
        ("--name", "Eve\tX", "a tab (U+0009)"),
        ("--name", "Eve \x1b[31mRed", "U+001B"),
        ("--name", "Eve\x85X", "U+0085"),
        ("--name", "\u202eevE", "U+202E"),
        ("--name", "Eve\u2028X", "U+2028"),
        ("--topics", "world;sci\nence", "a line feed (U+000A)"),
        ("--topics", "world;\u2066science", "U+2066"),
    ],
)
def test_add_refuses_control_characters_in_free_text(
    folder: Path, option: str, value: str, named: str
) -> None:
    before = daily(folder)
    r = run(folder, "add", "eve@example.com", option, value)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert f"{option}: contains {named}" in r.output
    assert "one line of plain text" in r.output
    assert daily(folder) == before


def test_add_keeps_names_in_other_scripts_and_emoji(folder: Path) -> None:
    name = "Zoë Ōtomo 👩\u200d🔬 علي"  # a zero width joiner is part of the emoji, not a control
    r = run(folder, "add", "zoe@example.com", "--name", name, "--topics", "naïve;科学")
    assert r.exit_code == 0, r.output
    assert (
        run(folder, "list").output.splitlines()[-1]
        == f"zoe@example.com\tsubscribed\t{name}\tnaïve;科学"
    )


def test_list_escapes_control_characters_a_hand_edit_put_in(folder: Path) -> None:
    (folder / "subscribers" / "daily.csv").write_text(
        "email,name,topics\n"
        'ada@example.com,"Ada\nmallory@example.com\tsubscribed",world\n'
        'bob@example.com,"Bob \x1b[2J\u202eX","a\tb;c\rd"\n'
        "cy@example.com,Cy,\n"
    )
    r = run(folder, "list")
    assert r.exit_code == 0
    assert r.output.splitlines() == [
        "ada@example.com\tsubscribed\tAda\\nmallory@example.com\\tsubscribed\tworld",
        "bob@example.com\tsubscribed\tBob \\x1b[2J\\u202eX\ta\\tb;c\\rd",
        "cy@example.com\tsubscribed\tCy\t",
    ]
    records = json.loads(run(folder, "list", "--json").output)
    assert records[0]["name"] == "Ada\nmallory@example.com\tsubscribed"  # JSON keeps the value


def test_an_import_report_prints_paths_and_columns_as_they_are(folder: Path) -> None:
    (folder / "exports[" / "b] [red]").mkdir(parents=True)
    src = folder / "exports[" / "b] [red]" / "members.csv"  # rich would read [/b] as markup
    src.write_text('Email,"Notes\x1b[2J"\nnew@example.com,hi\n')
    r = run(folder, "import", str(src))
    assert r.exit_code == 0, r.output
    assert "exports[/b] [red]/members.csv" in r.output
    assert "columns not imported: Notes\\x1b[2J" in r.output and "\x1b" not in r.output


def test_an_export_imports_back_to_the_same_list(folder: Path) -> None:
    target = folder / "subscribers" / "daily.csv"
    target.write_text(
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone,note\n"
        "-x@example.com,=HYPERLINK(1),subscribed,2026-11-01T08:00:00Z,,-minus;+plus,,@SUM(A1)\n"
        "+y@example.com,+1 555,subscribed,2026-11-01T08:00:00Z,,,,\n"
        "=z@example.com, -2,unsubscribed,2026-11-01T08:00:00Z,2026-11-02T08:00:00Z,,,=1\n"
        "'-q@example.com,'=already quoted,subscribed,2026-11-01T08:00:00Z,,,,'+\n"
        "o'brien@example.com,O'Brien,subscribed,2026-11-01T08:00:00Z,,,,'quoted'\n"
    )
    before = target.read_bytes()
    out = folder / "export.csv"
    assert run(folder, "export", "--out", str(out)).exit_code == 0
    exported = out.read_text()
    assert "'-x@example.com" in exported and "''-q@example.com" in exported
    r = run(folder, "import", str(out), "--update", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert (report["added"], report["updated"], report["unchanged"], report["invalid"]) == (
        0,
        0,
        5,
        0,
    )
    assert target.read_bytes() == before
    # Into an empty list, the export makes the same readers.
    r = run(folder, "import", str(out), "--list", "weekly", "--json")
    assert json.loads(r.output)["added"] == 5
    weekly = json.loads(run(folder, "list", "--list", "weekly", "--json").output)
    assert [(x["email"], x["name"], x["topics"]) for x in weekly] == [
        ("-x@example.com", "=HYPERLINK(1)", ["-minus", "+plus"]),
        ("+y@example.com", "+1 555", []),
        ("=z@example.com", "-2", []),
        ("'-q@example.com", "'=already quoted", []),
        ("o'brien@example.com", "O'Brien", []),
    ]
