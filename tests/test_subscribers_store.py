"""SubscriberList on real files: reading, every change, byte-for-byte round trips, and files a
person broke by hand, which must be reported by line and never rewritten."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from filelock import FileLock

from digest.errors import SubscriberError
from digest.subscribers import Subscriber, SubscriberList

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "subscribers"
AT = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)

WITH_EXTRA = (
    "email,source,name,status,subscribed_at,unsubscribed_at,topics,timezone,notes\r\n"
    "ada@example.com,web,Ada Lovelace,subscribed,2026-11-01T08:00:00Z,,world;science,"
    'Europe/London,"likes maths, engines"\r\n'
    'grace@example.com,import,"Grace ""Amazing"" Hopper",subscribed,2026-11-02T09:30:00+00:00,,'
    'technology,America/New_York,"line one\r\nline two"\r\n'
    "Alan@Example.COM,,Alan Turing,unsubscribed,2026-10-20T12:00:00Z,2026-11-10T18:45:00Z,,,\r\n"
    "katherine@example.com,referral,Katherine Johnson,,,,science,America/Chicago,=1+1\r\n"
)


def make(tmp_path: Path, text: str, name: str = "list.csv", bom: bool = False) -> Path:
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


def test_reads_the_example_list(tmp_path: Path) -> None:
    p = tmp_path / "daily.csv"
    shutil.copy(ROOT / "subscribers" / "daily.csv", p)
    people = SubscriberList(p)
    assert [s.email for s in people.iter_active()] == [
        "ada@example.com",
        "grace@example.com",
        "katherine@example.com",
    ]
    ada = people.get("ADA@example.com")
    assert ada == Subscriber(
        email="ada@example.com",
        name="Ada Lovelace",
        status="subscribed",
        subscribed_at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        topics=("world", "science"),
        timezone="Europe/London",
    )
    assert people.count_by_status() == {
        "subscribed": 3,
        "unsubscribed": 1,
        "bounced": 0,
        "complained": 0,
    }
    assert people.get("nobody@example.com") is None


def test_unknown_columns_and_quoting_are_read(tmp_path: Path) -> None:
    people = SubscriberList(make(tmp_path, WITH_EXTRA))
    subs = list(people.iter_all())
    assert subs[1].name == 'Grace "Amazing" Hopper'
    assert dict(subs[1].extra) == {"source": "import", "notes": "line one\r\nline two"}
    assert subs[2].email == "Alan@example.com"  # domain lower-cased, local part kept
    assert subs[3].status == "subscribed"  # an empty status means subscribed
    assert people.extra_columns() == ["source", "notes"]


def _rows(text: str) -> list[str]:
    return text.split("\r\n")


def test_add_keeps_every_other_byte(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    SubscriberList(p).add("new@example.com", name="New Reader", topics=["world"], at=AT)
    after = p.read_bytes().decode()
    assert after.startswith(WITH_EXTRA)  # every old row byte for byte, CRLF kept
    assert after[len(WITH_EXTRA) :] == (
        "new@example.com,,New Reader,subscribed,2026-11-24T07:00:00Z,,world,,\r\n"
    )


def test_status_change_touches_only_that_row_and_cells(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    before = _rows(WITH_EXTRA)
    SubscriberList(p).unsubscribe("GRACE@example.com", at=AT)
    after = _rows(p.read_bytes().decode())
    # Grace's row spans two physical lines (a quoted newline); only it changes.
    assert after[:2] == before[:2] and after[4:] == before[4:]
    assert after[2] == (
        'grace@example.com,import,"Grace ""Amazing"" Hopper",unsubscribed,'
        '2026-11-02T09:30:00+00:00,2026-11-24T07:00:00Z,technology,America/New_York,"line one'
    )
    assert after[3] == 'line two"'


def test_noop_changes_leave_the_file_identical(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA, bom=True)
    before = p.read_bytes()
    inode = p.stat().st_ino
    people = SubscriberList(p)
    people.unsubscribe("alan@example.com")  # already unsubscribed
    people.resubscribe("ada@example.com")  # already subscribed
    assert p.read_bytes() == before
    assert p.stat().st_ino == inode  # not even rewritten


def test_remove_deletes_only_that_row(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    removed = SubscriberList(p).remove("alan@EXAMPLE.com")
    assert removed.name == "Alan Turing"
    lines = _rows(WITH_EXTRA)
    assert p.read_bytes().decode() == "\r\n".join(lines[:4] + lines[5:])


def test_bom_lf_and_missing_final_newline_are_kept(tmp_path: Path) -> None:
    text = "email,name\nada@example.com,Ada"  # no newline at the end
    p = make(tmp_path, text, bom=True)
    SubscriberList(p).add("bob@example.com", name="Bob")
    assert p.read_bytes() == b"\xef\xbb\xbf" + (text + "\nbob@example.com,Bob\n").encode()


def test_semicolon_list_file_stays_semicolon(tmp_path: Path) -> None:
    p = make(tmp_path, "email;name;topics\nada@example.com;Ada;world\n")
    SubscriberList(p).add("bob@example.com", topics=["a", "b"])
    assert p.read_text().splitlines()[-1] == 'bob@example.com;;"a;b"'


def test_a_file_with_only_an_email_column(tmp_path: Path) -> None:
    p = make(tmp_path, "email\nada@example.com\ngrace@example.com\n")
    people = SubscriberList(p)
    assert [s.email for s in people.iter_active()] == ["ada@example.com", "grace@example.com"]
    people.add("bob@example.com")
    assert p.read_text() == "email\nada@example.com\ngrace@example.com\nbob@example.com\n"
    # Unsubscribing needs somewhere to say so: the columns are added, every value kept.
    people.unsubscribe("grace@example.com", at=AT)
    assert p.read_text() == (
        "email,status,unsubscribed_at\n"
        "ada@example.com,,\n"
        "grace@example.com,unsubscribed,2026-11-24T07:00:00Z\n"
        "bob@example.com,,\n"
    )
    assert [s.email for s in people.iter_active()] == ["ada@example.com", "bob@example.com"]


def test_add_creates_a_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "subscribers" / "new.csv"
    SubscriberList(p).add("ada@example.com", at=AT)
    assert p.read_text() == (
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
        "ada@example.com,,subscribed,2026-11-24T07:00:00Z,,,\n"
    )


def test_reading_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match=r"no\.csv: no such subscriber file"):
        list(SubscriberList(tmp_path / "no.csv").iter_all())


def test_add_refuses_duplicates_in_any_case_and_never_resubscribes(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    people = SubscriberList(p)
    with pytest.raises(SubscriberError, match=r"ada@example\.com is already subscribed"):
        people.add("  ADA@example.COM ")
    with pytest.raises(SubscriberError, match="already unsubscribed") as exc:
        people.add("alan@example.com")
    assert "resubscribe" in (exc.value.hint or "")
    assert p.read_bytes().decode() == WITH_EXTRA


def test_add_rejects_an_invalid_address_with_the_validators_reason(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    with pytest.raises(SubscriberError, match="two periods in a row"):
        SubscriberList(p).add("a..b@example.com")
    with pytest.raises(SubscriberError, match="not a time zone"):
        SubscriberList(p).add("ok@example.com", timezone="Europe/Nowhere")
    assert p.read_bytes().decode() == WITH_EXTRA


def test_set_status_records_the_time(tmp_path: Path) -> None:
    people = SubscriberList(make(tmp_path, WITH_EXTRA))
    bounced = people.set_status("ada@example.com", "bounced", at=AT)
    assert (bounced.status, bounced.unsubscribed_at) == ("bounced", AT)
    back = people.resubscribe("ada@example.com", at=datetime(2026, 12, 1, tzinfo=UTC))
    assert back.status == "subscribed"
    assert back.subscribed_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert back.unsubscribed_at is None
    assert people.get("ada@example.com") == back
    with pytest.raises(SubscriberError, match=r"nobody@example\.com is not on the list"):
        people.set_status("nobody@example.com", "bounced")
    with pytest.raises(SubscriberError, match="not a status"):
        people.set_status("ada@example.com", "gone")


def test_duplicate_rows_are_one_subscriber(tmp_path: Path) -> None:
    p = make(tmp_path, "email,status\nada@example.com,\nADA@example.com,subscribed\n")
    people = SubscriberList(p)
    people.unsubscribe("ada@example.com", at=AT)
    assert [s.status for s in people.iter_all()] == ["unsubscribed", "unsubscribed"]
    assert [str(pr) for pr in people.validate()] == [
        "line 3: ADA@example.com is listed again (first on line 2)"
    ]


BROKEN = (DATA / "broken_list.csv").read_text(encoding="utf-8")
BROKEN_PROBLEMS = [
    (4, "has 9 fields but the header has 8"),
    (5, "status: 'sort of' is not a status"),
    (6, "subscribed_at: '05/11/2026' is not an ISO 8601 date"),
    (7, "email 'not an address': An email address must have an @-sign."),
    (8, "timezone: 'Europe/Londres' is not a time zone"),
    (9, "ADA@example.com is listed again (first on line 2)"),
    (10, "broken quoting"),
]


def test_validate_reports_every_bad_row_by_physical_line(tmp_path: Path) -> None:
    p = make(tmp_path, BROKEN)
    problems = SubscriberList(p).validate()
    assert len(problems) == len(BROKEN_PROBLEMS)
    pairs = zip(problems, BROKEN_PROBLEMS, strict=True)
    assert [(pr.line, pr.message[: len(m)]) for pr, (_, m) in pairs] == BROKEN_PROBLEMS
    assert p.read_text(encoding="utf-8") == BROKEN


@pytest.mark.parametrize(
    "change",
    [
        lambda people: people.add("new@example.com"),
        lambda people: people.unsubscribe("lise@example.com"),
        lambda people: people.remove("lise@example.com"),
        lambda people: people.import_file(DATA / "tabs.tsv"),
    ],
    ids=["add", "unsubscribe", "remove", "import"],
)
def test_a_broken_file_is_never_rewritten(tmp_path: Path, change) -> None:
    p = make(tmp_path, BROKEN)
    before = p.read_bytes()
    with pytest.raises(SubscriberError) as exc:
        change(SubscriberList(p))
    msg = str(exc.value)
    assert str(p) in msg and "not changed" in msg
    for line in (4, 5, 6, 7, 8):
        assert f"line {line}:" in msg
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["list.csv", "list.csv.lock"]  # no temp file left


def test_reading_skips_bad_rows_and_names_them(tmp_path: Path) -> None:
    problems: list = []
    subs = list(SubscriberList(make(tmp_path, BROKEN)).iter_all(problems))
    # Rows that parse are delivered; the broken ones are reported, not guessed at.
    assert [s.email for s in subs] == ["ada@example.com", "ADA@example.com", "lise@example.com"]
    assert [pr.line for pr in problems] == [4, 5, 6, 7, 8, 10]
    assert subs[0].name == "Ada\nLovelace"


def test_header_without_email_and_non_utf8(tmp_path: Path) -> None:
    p = make(tmp_path, "mail_address,name\nada@example.com,Ada\n")
    with pytest.raises(SubscriberError, match=r"line 1: the header has no `email` column"):
        SubscriberList(p).add("bob@example.com")
    q = tmp_path / "latin1.csv"
    q.write_bytes("email,name\nada@example.com,Ada\njose@example.com,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(SubscriberError, match=r"latin1\.csv: line 3: not UTF-8"):
        SubscriberList(q).count_by_status()
    before = q.read_bytes()
    with pytest.raises(SubscriberError, match="not UTF-8"):
        SubscriberList(q).add("bob@example.com")
    assert q.read_bytes() == before


def test_a_reader_keeps_its_version_while_a_writer_replaces_the_file(tmp_path: Path) -> None:
    rows = "".join(f"r{i}@example.com,R {i}\n" for i in range(2000))
    p = make(tmp_path, "email,name\n" + rows)
    people = SubscriberList(p)
    it = people.iter_active()
    first = [next(it) for _ in range(10)]
    people.remove("r5@example.com")
    people.add("late@example.com")
    rest = list(it)
    assert len(first) + len(rest) == 2000  # the old file, whole, and nothing else
    assert "late@example.com" not in {s.email for s in rest}
    assert people.count_by_status()["subscribed"] == 2000  # one removed, one added


def test_permissions_are_kept(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    p.chmod(0o640)
    SubscriberList(p).add("new@example.com")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_a_held_lock_makes_a_change_wait_then_refuse(tmp_path: Path) -> None:
    p = make(tmp_path, WITH_EXTRA)
    with (
        FileLock(str(p) + ".lock"),
        pytest.raises(SubscriberError, match="another digest command"),
    ):
        SubscriberList(p, lock_timeout=0.2).add("new@example.com")
    assert p.read_bytes().decode() == WITH_EXTRA


def test_the_header_only_file_digest_init_writes(tmp_path: Path) -> None:
    header = "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
    p = make(tmp_path, header)
    people = SubscriberList(p)
    assert list(people.iter_active()) == [] and people.validate() == []
    people.add("ada@example.com", name="Ada", timezone="Europe/London", at=AT)
    assert p.read_text() == header + (
        "ada@example.com,Ada,subscribed,2026-11-24T07:00:00Z,,,Europe/London\n"
    )


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "subscribers"
    not_a_folder.write_text("I am a file\n")
    with pytest.raises(SubscriberError, match="cannot write the list"):
        SubscriberList(not_a_folder / "daily.csv").add("ada@example.com")
    assert not_a_folder.read_text() == "I am a file\n"


def test_an_address_listed_twice_is_sent_to_once_and_never_after_it_left(tmp_path: Path) -> None:
    # Hand-edited: Ada's second row (other case) says she unsubscribed; Bob is listed twice.
    p = make(
        tmp_path,
        "email,status,unsubscribed_at\n"
        "ada@example.com,subscribed,\n"
        "bob@example.com,,\n"
        "grace@example.com,,\n"
        "Bob@Example.com,subscribed,\n"
        "ADA@example.com,unsubscribed,\n"
        "lise@example.com,bounced,\n"
        "LISE@example.com,,\n"
        "emmy@example.com,,\n"
        "EMMY@example.com,complained,last week\n",  # a bad date, but it says stop
    )
    before = p.read_bytes()
    people = SubscriberList(p)
    assert [s.email for s in people.iter_active()] == ["bob@example.com", "grace@example.com"]
    assert p.read_bytes() == before


def test_a_bad_row_that_names_an_address_keeps_it_from_being_mailed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = make(
        tmp_path,
        "email,name,status,subscribed_at,unsubscribed_at,topics,timezone\n"
        "a@example.com,A,subscribed,,,,\n"
        "b@example.com,B,subscribed,,,,\n"
        "c@example.com,C,subscribed,,,,\n"
        "d@example.com,D,subscribed,,,,\n"
        "a@example.com,A,unsubscribed,,,,,stray value\n"  # more fields than the header
        'B@example.com,"B "the" B",unsubscribed,,,,\n'  # broken quoting
        "c@example.com,C,subscribed,yesterday,,,\n"  # a bad date, even if subscribed
        "not an address,X,unsubscribed,,,,,stray value\n",
    )
    with caplog.at_level(logging.WARNING):
        active = [s.email for s in SubscriberList(p).iter_active()]
    assert active == ["d@example.com"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 4
    for line, address in ((6, "a@example.com"), (7, "B@example.com"), (8, "c@example.com")):
        [said] = [w for w in warnings if f": line {line}: " in w]
        assert said.endswith(f"(row skipped; {address} gets no mail until this row is fixed)")
    [said] = [w for w in warnings if ": line 9: " in w]
    assert said.endswith("(row skipped)")
