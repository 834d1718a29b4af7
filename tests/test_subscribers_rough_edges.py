"""Issue 13 item 8: exports Excel reads, imports in Excel's encodings, typo'd domains, counting
people rather than rows, and `list`/`count` on a broken file exiting non-zero.

Everything goes through the command line (`digest subscribers ...`) on real files in tmp_path;
the encoded files are made with Python's own codecs, byte for byte what Excel writes."""

from __future__ import annotations

import codecs
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.subscribers import SubscriberList, suggest
from digest.subscribers.csvfile import first_undecodable

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
HEADER = "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
# What Excel on Windows saves as plain "CSV" in Western Europe: cp1252, CRLF.
EXCEL_ROWS = (
    "email,name,topics\r\n"
    "zoe@example.com,Zoë Ångström,world\r\n"
    "mueller@example.de,Müller,\r\n"
    "euro@example.com,€ Fan,\r\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "digest.toml").write_text(CONFIG)
    (tmp_path / "subscribers").mkdir()
    shutil.copy(ROOT / "subscribers" / "daily.csv", tmp_path / "subscribers" / "daily.csv")
    return tmp_path


def run(folder: Path, *args: str):
    return CliRunner().invoke(main, ["subscribers", *args, "--config", str(folder)])


def daily_path(folder: Path) -> Path:
    return folder / "subscribers" / "daily.csv"


def names(folder: Path, list_name: str = "daily") -> dict[str, str]:
    r = run(folder, "list", "--json", "--list", list_name)
    assert r.exit_code == 0, r.output
    return {x["email"]: x["name"] for x in json.loads(r.stdout)}


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ----- export --excel --------------------------------------------------------------------


def test_export_excel_starts_with_a_bom_and_imports_back_unchanged(folder: Path) -> None:
    target = daily_path(folder)
    target.write_text(
        HEADER
        + "zoe@example.com,Zoë Ångström,subscribed,2026-11-01T08:00:00Z,,world,Europe/Oslo\n"
        + "-x@example.com,=HYPERLINK(1),subscribed,2026-11-01T08:00:00Z,,,,\n",
        encoding="utf-8",
    )
    before = target.read_bytes()
    out = folder / "excel.csv"
    r = run(folder, "export", "--excel", "--out", str(out))
    assert r.exit_code == 0, r.output
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig").split("\r\n")[1].startswith("zoe@example.com,Zoë Ångström,")
    assert "without a byte order mark" not in r.output
    r = run(folder, "import", str(out), "--update", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert (report["added"], report["updated"], report["unchanged"], report["invalid"]) == (
        0,
        0,
        2,
        0,
    )
    assert report["encoding"] == "utf-8" and report["encoding_detected"] is False
    assert target.read_bytes() == before
    # To standard output too, so `> file.csv` works the same.
    r = run(folder, "export", "--excel")
    assert r.exit_code == 0
    assert r.stdout_bytes.startswith(codecs.BOM_UTF8 + b"email,name,")


def test_export_without_excel_has_no_bom_and_says_how_to_get_one(folder: Path) -> None:
    out = folder / "plain.csv"
    r = run(folder, "export", "--out", str(out))  # the bundled list: all ASCII
    assert r.exit_code == 0
    assert out.read_bytes().startswith(b"email,")
    assert "--excel" not in r.output  # nothing Excel could misread
    run(folder, "add", "zoe@example.com", "--name", "Zoë Ångström")
    r = run(folder, "export", "--out", str(out))
    assert r.exit_code == 0
    assert out.read_bytes().startswith(b"email,")
    assert "Wrote 5 rows" in r.stderr
    assert "UTF-8 without a byte order mark" in r.stderr and "--excel" in r.stderr
    r = run(folder, "export")
    assert r.stdout_bytes.startswith(b"email,") and r.stderr == ""


# ----- import encodings ------------------------------------------------------------------


def test_import_reads_excels_cp1252_csv_and_says_so(folder: Path) -> None:
    src = write(folder / "excel.csv", EXCEL_ROWS, "cp1252")
    assert b"\xeb" in src.read_bytes() and b"\x80" in src.read_bytes()  # ë and € in cp1252
    r = run(folder, "import", str(src))
    assert r.exit_code == 0, r.output
    assert (
        "read as cp1252 (detected, as the file is not UTF-8; it reads: Zoë, Ångström, Müller, €)"
        in r.stdout
    )
    assert "--encoding NAME" in r.stdout
    got = names(folder)
    assert got["zoe@example.com"] == "Zoë Ångström"
    assert got["mueller@example.de"] == "Müller"
    assert got["euro@example.com"] == "€ Fan"
    assert daily_path(folder).read_bytes().decode("utf-8")  # the list stays UTF-8
    r = run(folder, "import", str(src), "--json", "--dry-run", "--list", "weekly")
    report = json.loads(r.stdout)
    assert (report["encoding"], report["encoding_detected"], report["added"]) == (
        "cp1252",
        True,
        3,
    )


def test_import_of_utf8_with_or_without_bom_says_nothing_about_encodings(folder: Path) -> None:
    for name, enc in (("plain.csv", "utf-8"), ("bom.csv", "utf-8-sig")):
        src = write(folder / name, EXCEL_ROWS, enc)
        r = run(folder, "import", str(src), "--dry-run")
        assert r.exit_code == 0, r.output
        assert "read as" not in r.stdout
        assert "added" in r.stdout
    run(folder, "import", str(folder / "bom.csv"))
    assert names(folder)["zoe@example.com"] == "Zoë Ångström"


def test_import_reads_excels_unicode_text_utf16_with_a_bom(folder: Path) -> None:
    src = write(folder / "unicode.txt", EXCEL_ROWS.replace(",", "\t"), "utf-16")
    r = run(folder, "import", str(src))
    assert r.exit_code == 0, r.output
    assert "read as UTF-16" in r.stdout and "detected" not in r.stdout
    assert names(folder)["zoe@example.com"] == "Zoë Ångström"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "François Lefèvre;Hélène Côté;Seán O’Brien"),
        ("cp1250", "Łukasz Żółć;Ľubomír Ďurčo"),
        ("cp1251", "Иван Петров;Мария Сидорова"),
        ("cp1253", "Γιώργος Παπαδόπουλος"),
        ("mac_roman", "Zoë Ångström;Müller"),
        ("cp932", "山田太郎;佐藤花子"),
    ],
)
def test_import_detects_the_encodings_spreadsheets_write(
    folder: Path, encoding: str, text: str
) -> None:
    people = text.split(";")
    rows = "".join(f"r{i}@example.com,{n}\r\n" for i, n in enumerate(people))
    newline = "\r" if encoding == "mac_roman" else "\r\n"  # Excel for Mac's CSV: CR only
    src = write(folder / "export.csv", ("email,name\r\n" + rows).replace("\r\n", newline), encoding)
    with pytest.raises(UnicodeDecodeError):
        src.read_bytes().decode("utf-8")
    r = run(folder, "import", str(src), "--list", "weekly")
    assert r.exit_code == 0, r.output
    assert f"read as {codecs.lookup(encoding).name} (detected" in r.stdout
    assert list(names(folder, "weekly").values()) == people


def test_encoding_option_forces_one(folder: Path) -> None:
    src = write(folder / "excel.csv", EXCEL_ROWS, "cp1252")
    r = run(folder, "import", str(src), "--encoding", "windows-1252", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "read as cp1252" in r.stdout and "detected" not in r.stdout
    # Latin-1 has no €: byte 0x80 is a control character there, so that row is refused.
    r = run(folder, "import", str(src), "--encoding", "latin-1", "--json", "--dry-run")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["encoding"] == "iso8859-1" and report["encoding_detected"] is False
    assert [x["line"] for x in report["invalid_rows"]] == [4]
    assert report["invalid_rows"][0]["reason"].startswith("name: contains U+0080")


def test_encoding_option_errors_are_one_clear_line(folder: Path) -> None:
    src = write(folder / "excel.csv", EXCEL_ROWS, "cp1252")
    before = daily_path(folder).read_bytes()
    cases = {
        "klingon": "--encoding 'klingon': not an encoding I know",
        "hex": "--encoding 'hex': not a text encoding",
        "utf-8": "excel.csv: line 2: not UTF-8 text (byte 37 is 0xeb)",
        "utf-16": "excel.csv: line 1: not UTF-16 text (byte 0 is 0x65)",
    }
    for encoding, message in cases.items():
        r = run(folder, "import", str(src), "--encoding", encoding)
        assert r.exit_code == 1, encoding
        assert message in r.output, r.output
        assert "Traceback" not in r.output
    assert daily_path(folder).read_bytes() == before


def test_a_file_not_text_in_the_encoding_given_names_line_and_byte(folder: Path) -> None:
    src = folder / "odd.csv"
    # 0x81 is the one byte cp1252 leaves undefined that Excel never writes.
    src.write_bytes(b"email,name\r\nzoe@example.com,Zo\xeb\r\nx@example.com,\x81\r\n")
    r = run(folder, "import", str(src), "--encoding", "cp1252")
    assert r.exit_code == 1
    assert "odd.csv: line 3: not cp1252 text (byte 47 is 0x81)" in r.output
    assert "Traceback" not in r.output


def test_a_file_mixing_utf8_and_cp1252_is_refused_naming_the_line(folder: Path) -> None:
    src = folder / "mixed.csv"
    src.write_bytes(
        "email,name\nzoe@example.com,Zoë\n".encode()
        + "m@example.de,Müller\n".encode("cp1252")
        + "a@example.com,Åsa\n".encode()
    )
    before = daily_path(folder).read_bytes()
    r = run(folder, "import", str(src))
    assert r.exit_code == 1
    assert "mixed.csv: line 3: not UTF-8 text (byte 46 is 0xfc)" in r.output
    assert "mixes two encodings" in r.output and "Traceback" not in r.output
    assert daily_path(folder).read_bytes() == before
    # If the user knows better, they say so.
    r = run(folder, "import", str(src), "--encoding", "cp1252", "--dry-run")
    assert r.exit_code == 0 and "read as cp1252" in r.stdout


def test_errors_name_line_and_byte_across_chunks_and_line_ends(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    filler = b"x" * ((1 << 20) - 1)  # the \r\n straddles the first 1 MiB chunk's end
    p.write_bytes(filler + b"\r\n" + b"a\rb\nc\r\n" + "é".encode() + b"\xe9")
    bad = first_undecodable(p)
    assert bad is not None
    assert (bad.line, bad.offset, bad.byte) == (5, len(filler) + 2 + 7 + 2, 0xE9)
    p.write_bytes("é".encode() * 1000)  # a character split between chunks is fine
    assert first_undecodable(p) is None
    p.write_bytes(b"ok\n\xc3")  # cut off in the middle of a character
    assert first_undecodable(p).line == 2


def test_the_real_command_detects_and_fails_cleanly(folder: Path) -> None:
    src = write(folder / "excel.csv", EXCEL_ROWS, "cp1252")
    ok = subprocess.run(
        [str(DIGEST), "subscribers", "import", str(src), "--config", str(folder)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "read as cp1252 (detected" in ok.stdout
    bad = subprocess.run(
        [str(DIGEST), "subscribers", "import", str(src), "-e", "nope", "--config", str(folder)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: --encoding 'nope': not an encoding I know\n")
    assert "Traceback" not in bad.stderr


# ----- typos -----------------------------------------------------------------------------


def test_add_warns_about_a_typo_of_a_domain_and_adds_it_as_typed(folder: Path) -> None:
    r = run(folder, "add", "bob@exmaple.con")
    assert r.exit_code == 0, r.output
    assert "Added bob@exmaple.con" in r.stdout
    assert "did you mean bob@exmaple.com?" in r.stderr
    assert "remove bob@exmaple.con --yes" in r.stderr
    r = run(folder, "add", "Ann@GMIAL.com")
    assert r.exit_code == 0
    assert "did you mean Ann@gmail.com?" in r.stderr  # the local part as typed
    emails = [line.split(",")[0] for line in daily_path(folder).read_text().splitlines()]
    assert emails[-2:] == ["bob@exmaple.con", "Ann@gmial.com"]  # never changed
    for fine in ("carl@gmail.com", "dora@hotmail.it", "eve@example.org", "fay@gmx.de"):
        r = run(folder, "add", fine)
        assert r.exit_code == 0 and r.stderr == "", (fine, r.stderr)


@pytest.mark.parametrize(
    ("address", "likely"),
    [
        ("bob@gmial.com", "bob@gmail.com"),
        ("bob@gmai.com", "bob@gmail.com"),
        ("bob@gmail.co", "bob@gmail.com"),
        ("bob@hotmial.com", "bob@hotmail.com"),
        ("bob@hotmail.con", "bob@hotmail.com"),
        ("bob@yaho.com", "bob@yahoo.com"),
        ("bob@outlok.com", "bob@outlook.com"),
        ("bob@iclod.com", "bob@icloud.com"),
        ("bob@tonline.de", "bob@t-online.de"),
        ("bob@gmx.dee", "bob@gmx.de"),
        ("bob@acme.cmo", "bob@acme.com"),
        ("bob@exmaple.con", "bob@exmaple.com"),
        ("bob@example.com", None),
        ("bob@gmail.com", None),
        ("bob@mail.com", None),
        ("bob@email.com", None),
        ("bob@love.com", None),  # one letter from live.com, but a real name
        ("bob@hotmail.it", None),  # the provider's own domain in Italy
        ("bob@yahoo.co.jp", None),
        ("bob@acme.co", None),  # a country code, not a typo of .com
        ("bob@example.cam", None),  # a real top-level domain
        ("bob@firma.online", None),
        ("bob@bücher.de", None),
    ],
)
def test_typo_suggestions(address: str, likely: str | None) -> None:
    assert suggest(address) == likely


def test_import_lists_addresses_that_look_like_typos(folder: Path) -> None:
    src = folder / "signups.csv"
    src.write_text(
        "email,name\nann@gmial.com,Ann\nben@example.org,Ben\ncal@hotmail.con,Cal\n"
        "ann@gmial.com,Ann again\n"
    )
    r = run(folder, "import", str(src), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "2 addresses look like typos (imported as they are" in r.stdout
    assert "typo?: line 2: ann@gmial.com: did you mean ann@gmail.com?" in r.stdout
    assert "typo?: line 4: cal@hotmail.con: did you mean cal@hotmail.com?" in r.stdout
    r = run(folder, "import", str(src), "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["typos"] == [
        {"line": 2, "email": "ann@gmial.com", "suggestion": "ann@gmail.com"},
        {"line": 4, "email": "cal@hotmail.con", "suggestion": "cal@hotmail.com"},
    ]
    assert "ann@gmial.com" in names(folder)  # imported as it was


# ----- count: people, not rows -----------------------------------------------------------


def test_count_counts_people_the_way_sending_does(folder: Path) -> None:
    target = daily_path(folder)
    target.write_text(
        HEADER + "ada@example.com,Ada,subscribed,,,,\n"
        "grace@example.com,Grace,subscribed,,,,\n"
        "ADA@example.com,Ada again,subscribed,,,,\n"
        "alan@example.com,Alan,subscribed,,,,\n"
        "Alan@example.com,Alan,unsubscribed,,,,\n"
        "alan@EXAMPLE.com,Alan,bounced,,,,\n"
        "kat@example.com,Kat,complained,,,,\n"
    )
    r = run(folder, "count")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [
        "subscribed           2",
        "unsubscribed         0",
        "bounced              1",
        "complained           1",
        "total                4",
        "4 people in 7 rows: 2 addresses are listed more than once "
        "(`digest subscribers validate` names the lines)",
    ]
    assert json.loads(run(folder, "count", "--json").stdout) == {
        "subscribed": 2,
        "unsubscribed": 0,
        "bounced": 1,
        "complained": 1,
        "total": 4,
        "rows": {"subscribed": 4, "unsubscribed": 1, "bounced": 1, "complained": 1, "total": 7},
        "listed_more_than_once": 2,
    }
    sent = [s.email for s in SubscriberList(target).iter_active()]
    assert sent == ["ada@example.com", "grace@example.com"]  # as many as count says


def test_count_of_a_clean_list_is_as_it_was(folder: Path) -> None:
    r = run(folder, "count", "--json")
    assert json.loads(r.stdout) == {
        "subscribed": 3,
        "unsubscribed": 1,
        "bounced": 0,
        "complained": 0,
        "total": 4,
    }
    assert "rows" not in run(folder, "count").stdout


# ----- list and count on a broken file ---------------------------------------------------


def test_list_and_count_of_a_broken_file_show_what_they_can_and_exit_1(folder: Path) -> None:
    shutil.copy(DATA / "broken_list.csv", daily_path(folder))
    before = daily_path(folder).read_bytes()
    r = run(folder, "list")
    assert r.exit_code == 1
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == [
        "ada@example.com",
        "ADA@example.com",
        "lise@example.com",
    ]
    assert "line 4: has 9 fields" in r.stderr and "(row skipped)" in r.stderr
    assert "6 rows could not be read and are not listed" in r.stderr
    assert "digest subscribers validate" in r.stderr and "Traceback" not in r.output
    r = run(folder, "list", "--json")
    assert r.exit_code == 1
    assert len(json.loads(r.stdout)) == 3  # still whole JSON
    r = run(folder, "count")
    assert r.exit_code == 1
    assert "total                2" in r.stdout  # Ada (twice) and Lise
    assert "6 rows could not be read and are not counted" in r.stderr
    r = run(folder, "count", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["unreadable_rows"] == 6
    assert daily_path(folder).read_bytes() == before
    daily_path(folder).write_text(HEADER + "ada@example.com,Ada,subscribed,,,,x\n")
    r = run(folder, "count")
    assert r.exit_code == 1 and "1 row could not be read and is not counted" in r.stderr
