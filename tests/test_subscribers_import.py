"""Importing the exports people really have into a list file."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import SubscriberError
from digest.subscribers import SubscriberList, neutralise
from digest.subscribers.export import unneutralise

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "subscribers"
AT = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


@pytest.fixture
def daily(tmp_path: Path) -> SubscriberList:
    p = tmp_path / "daily.csv"
    shutil.copy(ROOT / "subscribers" / "daily.csv", p)
    return SubscriberList(p)


def counts(report) -> tuple[int, int, int, int, int]:
    return (report.added, report.updated, report.unchanged, report.duplicates, len(report.invalid))


def test_excel_bom_semicolons_crlf_and_quoted_newlines(daily: SubscriberList) -> None:
    report = daily.import_file(DATA / "excel_bom_semicolon.csv", at=AT)
    assert counts(report) == (1, 0, 3, 0, 1)
    # Line 7, not row 6: Katherine's quoted note spans lines 4 and 5.
    assert [(r.line, r.reason) for r in report.invalid] == [
        (7, "email 'not-an-address': An email address must have an @-sign.")
    ]
    assert report.columns["email"] == "E-mail"
    assert report.ignored_columns == ["Notes"]
    added = daily.get("JÓZEF@BÜCHER.DE")
    assert added is not None
    assert (added.email, added.name, added.subscribed_at) == (
        "józef@bücher.de",
        "Józef Müller",
        AT,
    )
    # Grace was already there: without --update her name is not changed.
    assert daily.get("grace@example.com").name == "Grace Hopper"


def test_update_changes_names_topics_and_timezones(daily: SubscriberList) -> None:
    report = daily.import_file(DATA / "excel_bom_semicolon.csv", update=True, at=AT)
    assert counts(report) == (1, 3, 0, 0, 1)
    assert daily.get("grace@example.com").name == "Hopper, Grace"
    assert daily.get("katherine@example.com").topics == ("science", "space")
    assert daily.get("ada@example.com").topics == ("world",)
    assert daily.get("ada@example.com").timezone == "Europe/London"  # empty cells change nothing


def test_google_sheets_with_dates_timezones_and_duplicates(daily: SubscriberList) -> None:
    report = daily.import_file(DATA / "google_sheets.csv", at=AT)
    assert counts(report) == (2, 0, 0, 1, 2)
    assert report.duplicate_lines == [(4, 3)]
    assert [r.line for r in report.invalid] == [5, 6]
    assert "Signup Date: 'yesterday' is not an ISO 8601 date" in report.invalid[0].reason
    assert "Time zone: 'Mars/Olympus_Mons' is not a time zone" in report.invalid[1].reason
    emmy = daily.get("emmy@example.org")
    assert (emmy.name, emmy.subscribed_at, emmy.timezone) == (
        "Noether, Emmy",
        datetime(2026, 9, 2, tzinfo=UTC),
        "Europe/Berlin",
    )


def test_mailchimp_exports(daily: SubscriberList) -> None:
    r1 = daily.import_file(DATA / "mailchimp_subscribed.csv", at=AT)
    assert counts(r1) == (3, 0, 0, 0, 0)
    hedy = daily.get("hedy@example.net")
    assert (hedy.name, hedy.subscribed_at, hedy.timezone, hedy.topics) == (
        "Hedy Lamarr",
        datetime(2026, 8, 1, 9, 0, tzinfo=UTC),
        "Europe/Vienna",
        ("Inventors", "VIP"),
    )
    assert "MEMBER_RATING" in r1.ignored_columns
    # The unsubscribed export: Ada is on the list and subscribed, so she is unsubscribed.
    r2 = daily.import_file(DATA / "mailchimp_unsubscribed.csv", at=AT)
    assert counts(r2) == (1, 1, 0, 0, 0)
    ada = daily.get("ada@example.com")
    assert (ada.status, ada.unsubscribed_at) == (
        "unsubscribed",
        datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    )
    assert daily.get("joan@example.net").status == "unsubscribed"
    # The cleaned export marks addresses as bounced.
    r3 = daily.import_file(DATA / "mailchimp_cleaned.csv", at=AT)
    assert counts(r3) == (0, 1, 0, 0, 0)
    assert daily.get("grace@example.com").status == "bounced"


def test_listmonk_export(daily: SubscriberList) -> None:
    report = daily.import_file(DATA / "listmonk.csv", at=AT)
    assert counts(report) == (3, 0, 0, 0, 1)
    assert report.invalid[0].line == 5 and "'pending': never confirmed" in report.invalid[0].reason
    assert {c: daily.get(f"{c}@example.com").status for c in ("chien", "dorothy", "marie")} == {
        "chien": "subscribed",
        "dorothy": "unsubscribed",
        "marie": "unsubscribed",
    }
    dorothy = daily.get("dorothy@example.com")
    assert dorothy.subscribed_at == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # +05:30 to UTC
    assert dorothy.unsubscribed_at == datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # updated_at
    assert report.ignored_columns == ["uuid", "attributes"]


def test_tab_delimited_with_a_row_with_too_many_fields(daily: SubscriberList) -> None:
    report = daily.import_file(DATA / "tabs.tsv", at=AT)
    assert counts(report) == (2, 0, 0, 0, 1)
    assert (report.invalid[0].line, report.invalid[0].reason) == (
        4,
        "has 6 fields but the header has 4",
    )
    assert daily.get("bob@example.com").name == 'Bob "the builder"'
    assert daily.get("bob@example.com").topics == ("technology", "science")


def test_an_import_never_resubscribes(daily: SubscriberList, tmp_path: Path) -> None:
    src = tmp_path / "back.csv"
    src.write_text("Email,Name,Status\nalan@example.com,Alan,subscribed\nALAN@example.com,,\n")
    before = daily.path.read_bytes()
    report = daily.import_file(src, update=True, at=AT)
    assert counts(report) == (0, 1, 0, 1, 0)  # the name changed; the status did not
    assert report.not_resubscribed == [(2, "alan@example.com", "unsubscribed")]
    alan = daily.get("alan@example.com")
    assert (alan.status, alan.name) == ("unsubscribed", "Alan")
    assert daily.path.read_bytes() != before
    daily.resubscribe("alan@example.com", at=AT)  # only an explicit resubscribe does it
    assert daily.get("alan@example.com").status == "subscribed"


def test_dry_run_writes_nothing(daily: SubscriberList) -> None:
    before = daily.path.read_bytes()
    report = daily.import_file(DATA / "mailchimp_unsubscribed.csv", dry_run=True, at=AT)
    assert report.dry_run and counts(report) == (1, 1, 0, 0, 0)
    assert daily.path.read_bytes() == before
    assert sorted(p.name for p in daily.path.parent.iterdir()) == ["daily.csv", "daily.csv.lock"]


def test_reimport_is_unchanged_and_leaves_the_file_alone(daily: SubscriberList) -> None:
    daily.import_file(DATA / "listmonk.csv", at=AT)
    before = daily.path.read_bytes()
    report = daily.import_file(DATA / "listmonk.csv", update=True, at=AT)
    assert counts(report) == (0, 0, 3, 0, 1)
    assert daily.path.read_bytes() == before


def test_columns_the_list_has_travel_with_new_rows(tmp_path: Path) -> None:
    target = tmp_path / "list.csv"
    target.write_text("email,company,name\nada@example.com,Analytical,Ada\n")
    report = SubscriberList(target).import_file(DATA / "tabs.tsv", at=AT)
    assert report.added == 2
    assert target.read_text() == (
        "email,company,name,topics\n"
        "ada@example.com,Analytical,Ada,\n"
        'alice@example.com,"ACME, Inc.",Alice,world\n'
        'bob@example.com,,"Bob ""the builder""",technology;science\n'
    )


def test_unusable_sources_are_clear_errors(daily: SubscriberList, tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match=r"nope\.csv: no such file"):
        daily.import_file(tmp_path / "nope.csv")
    bad = tmp_path / "names.csv"
    bad.write_text("Name,Phone\nAda,123\n")
    with pytest.raises(SubscriberError, match=r"names\.csv: line 1: no email column"):
        daily.import_file(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SubscriberError, match="empty"):
        daily.import_file(empty)
    broken = tmp_path / "broken-header.csv"
    broken.write_text('"Email"x,Name\nada@example.com,Ada\n')
    with pytest.raises(
        SubscriberError, match=r"broken-header\.csv: line 1: header: broken quoting"
    ):
        daily.import_file(broken)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("email,name\njose@example.com,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(SubscriberError, match=r"latin\.csv: line 2: not UTF-8"):
        daily.import_file(latin)


def test_progress_is_reported_while_a_big_source_is_read(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text("email\n" + "".join(f"r{i}@example.com\n" for i in range(25000)))
    calls: list[tuple[int, int]] = []
    report = SubscriberList(tmp_path / "list.csv").import_file(
        src, progress=lambda done, size: calls.append((done, size))
    )
    assert report.added == 25000
    assert len(calls) == 2  # at lines 10,000 and 20,000
    assert calls[0][0] < calls[1][0] <= src.stat().st_size == calls[0][1]


def test_excel_sep_line_and_quoted_delimiters_in_the_header(tmp_path: Path) -> None:
    with_sep = tmp_path / "with-sep.csv"
    with_sep.write_bytes(b"sep=;\r\nEmail;Name\r\nada@example.org;Lovelace, Ada\r\n")
    quoted = tmp_path / "quoted-header.csv"
    quoted.write_bytes(
        b'Email;Name;"Notes, misc, more"\r\ngrace@example.org;"Hopper, Grace";"a, b"\r\n'
    )
    people = SubscriberList(tmp_path / "list.csv")
    assert counts(people.import_file(with_sep, at=AT)) == (1, 0, 0, 0, 0)
    assert counts(people.import_file(quoted, at=AT)) == (1, 0, 0, 0, 0)
    assert people.get("ada@example.org").name == "Lovelace, Ada"
    assert people.get("grace@example.org").name == "Hopper, Grace"


def test_a_later_row_saying_they_left_wins_over_an_earlier_subscribed_one(
    daily: SubscriberList, tmp_path: Path
) -> None:
    # One export listing an address twice: first subscribed, then unsubscribed or bounced.
    src = tmp_path / "merged.csv"
    src.write_text(
        "Email,Status,Unsubscribed At\n"
        "zed@example.com,subscribed,\n"
        "ada@example.com,subscribed,\n"
        "ZED@example.com,unsubscribed,2026-11-20T08:00:00Z\n"
        "Ada@example.com,bounced,2026-11-21T08:00:00Z\n"
        "zed@example.com,subscribed,\n"
    )
    report = daily.import_file(src, at=AT)
    assert counts(report) == (1, 1, 0, 3, 0)  # Zed added; Ada updated; 3 repeated rows
    assert report.duplicate_lines == [(4, 2), (5, 3), (6, 2)]
    zed = daily.get("zed@example.com")
    assert (zed.status, zed.unsubscribed_at) == (
        "unsubscribed",
        datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    )
    assert daily.get("ada@example.com").status == "bounced"
    assert [s.key for s in daily.iter_all()].count("zed@example.com") == 1


def test_neutralised_cells_of_a_spreadsheet_safe_export_are_read_back(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text(
        "email,name,topics,Notes\n"
        "'-x@example.com,'=1+1,'-minus;+plus,'@SUM(A1)\n"  # what digest's export writes
        "''-q@example.com,''=still quoted,,\n"  # a cell that itself began with '-
        "o'brien@example.com,'Tis Me,'quoted',\n"  # a ' before anything else is kept
    )
    people = SubscriberList(tmp_path / "list.csv")
    people.file.path.write_text("email,Notes\n")
    report = people.import_file(src, at=AT)
    assert (report.added, report.invalid) == (3, [])
    assert [(s.email, s.name, s.topics, dict(s.extra)) for s in people.iter_all()] == [
        ("-x@example.com", "=1+1", ("-minus", "+plus"), {"Notes": "@SUM(A1)"}),
        ("'-q@example.com", "'=still quoted", (), {"Notes": ""}),
        ("o'brien@example.com", "'Tis Me", ("'quoted'",), {"Notes": ""}),
    ]


def test_control_characters_in_names_and_topics_make_a_row_invalid(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text(
        "Email,First Name,Last Name,Tags\n"
        'ada@example.com,"Ada\nmallory@example.com",Lovelace,\n'
        "bob@example.com,Bob,\u202eX,\n"
        'cy@example.com,Cy,C,"a\x1bb"\n'
        "dee@example.com,Dee,D,world\n"
    )
    report = SubscriberList(tmp_path / "list.csv").import_file(src, at=AT)
    assert report.added == 1
    plain = "; names and topics are one line of plain text"
    assert [(r.line, r.reason) for r in report.invalid] == [
        (2, "First Name: contains a line feed (U+000A)" + plain),
        (4, "Last Name: contains U+202E (a bidirectional text control)" + plain),
        (5, "Tags: contains U+001B (a control character)" + plain),
    ]


@pytest.mark.parametrize(
    "cell",
    [
        "",
        "'",
        "''",
        "=1",
        "'=1",
        "''=1",
        " =1",
        '"=1',
        "\t1",
        "'\r1",
        "-x@example.com",
        "'-x@example.com",
        "'Tis",
        "o'brien",
        "a=b",
        "'' -2",
        "@SUM(A1)",
    ],
)
def test_unneutralise_gives_back_exactly_what_neutralise_was_given(cell: str) -> None:
    written = neutralise(cell)
    assert unneutralise(written) == cell
    # ...and what an export writes is still text to a spreadsheet: no formula start.
    assert written == cell or written.startswith("'")
