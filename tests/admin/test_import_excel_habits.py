"""What a county's own files hold that the import must read or refuse by line and column: the unnamed
columns Excel writes right of a table, a county or municipality written by its name, a workbook instead of a
CSV, cells separated by tabs."""

from __future__ import annotations

import io
import zipfile

import pytest
from directorykit import HEADER, csv_of
from openpyxl import Workbook
from sqlmodel import select

from sipflow.admin import imports
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation

pytestmark = pytest.mark.usefixtures("frozen_clock")

REGION = "organisation;reg;Region Test;region;;;06;;;;;;"
TOWN = "organisation;jkpg;Jönköpings kommun;municipality;;;;0680;;;;;"


def run(db_session, now, data: bytes, *, apply: bool = False):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def refusals(report) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.column, e.message) for e in report.errors]


def organisations(db_session) -> list[str]:
    db_session.expire_all()
    return sorted(db_session.exec(select(Organisation.key)).all())


def test_the_empty_columns_excel_writes_right_of_the_table_are_left_out(db_session, app_ctx, now):
    # A cell once typed in right of the table: Excel names no column there and ends every line with ';;'.
    data = csv_of(REGION + ";;", TOWN + ";;", header=HEADER + ";;")
    report = run(db_session, now, data, apply=True)
    assert report.errors == [] and [p.key for p in report.created] == ["reg", "jkpg"]
    assert organisations(db_session) == ["jkpg", "reg"]


def test_a_value_under_an_unnamed_column_is_refused_at_its_line_and_nothing_is_imported(
    db_session, app_ctx, now
):
    data = csv_of(REGION + ";;", TOWN + ";;anteckning", header=HEADER + ";;")
    report = run(db_session, now, data, apply=True)
    assert refusals(report) == [
        (
            3,
            None,
            "Ett värde i kolumn 15, som saknar namn på rubrikraden: flytta värdet till rätt kolumn"
            " eller ge kolumnen ett namn.",
        )
    ]
    assert organisations(db_session) == []


def test_an_unnamed_column_inside_the_table_is_named_by_its_place(db_session, app_ctx, now):
    report = run(db_session, now, csv_of(REGION, header=HEADER.replace(";hsa_id;", ";;")))
    ((line, column, message),) = refusals(report)
    assert (line, column) == (1, None)
    assert "kolumner saknas: hsa_id; kolumner utan namn (räknat från vänster): 11)" in message
    assert "okända kolumner" not in message and "två gånger" not in message


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (
            "organisation;jkpg;Jönköpings kommun;municipality;;;;Jönköping;;;;;",
            "municipality",
            "Jönköping är namnet på en kommun, inte dess kod. Menade du 0680?",
        ),
        (
            "organisation;jkpg;Jönköpings kommun;municipality;;;;jönköpings  KOMMUN;;;;;",
            "municipality",
            "jönköpings  KOMMUN är namnet på en kommun, inte dess kod. Menade du 0680?",
        ),
        (
            "organisation;skola;Skolan;school;;;;Upplands Väsby kommun;;;;;",
            "municipality",
            "Upplands Väsby kommun är namnet på en kommun, inte dess kod. Menade du 0114?",
        ),
        (
            "organisation;reg;Region Test;region;;;Jönköpings län;;;;;;",
            "county",
            "Jönköpings län är namnet på ett län, inte dess kod. Menade du 06?",
        ),
        (
            "organisation;reg;Region Test;region;;;Region Jönköpings län;;;;;;",
            "county",
            "Region Jönköpings län är namnet på ett län, inte dess kod. Menade du 06?",
        ),
        (
            # The county as people call it, without "län" (the region is "Region Gävleborg").
            "organisation;reg;Region Test;region;;;Gävleborg;;;;;;",
            "county",
            "Gävleborg är namnet på ett län, inte dess kod. Menade du 21?",
        ),
        (
            "user;sam;Sam Samordnare;;;;;;;sam@test.example;;coordinator;Gävleborg",
            "scope",
            "Gävleborg är namnet på ett län, inte dess kod. Menade du 21?",
        ),
        (
            "organisation;reg;Region Test;region;;;Småland;;;;;;",
            "county",
            "Småland är ingen länskod: skriv länets kod från SCB, två siffror, till exempel 07.",
        ),
        (
            "organisation;ort;Ort;municipality;;;;Atlantis;;;;;",
            "municipality",
            "Atlantis är ingen kommunkod: skriv kommunens kod från SCB, fyra siffror, till exempel 0780.",
        ),
        (
            "user;sam;Sam Samordnare;;;;;;;sam@test.example;;coordinator;0680 Värnamo",
            "scope",
            "Värnamo är namnet på en kommun, inte dess kod. Menade du 0683?",
        ),
    ],
    ids=[
        "municipality",
        "kommun",
        "long name",
        "county",
        "region",
        "county alone",
        "county alone in scope",
        "no county",
        "no municipality",
        "scope",
    ],
)
def test_a_county_or_municipality_by_its_name_is_refused_naming_its_code(
    db_session, app_ctx, now, line, column, message
):
    report = run(db_session, now, csv_of(line), apply=True)
    assert refusals(report) == [(2, column, message)]
    assert organisations(db_session) == []


def workbook_of(*rows: list) -> bytes:
    """An Excel workbook (.xlsx) whose first sheet holds the rows, cells typed as given."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.create_sheet("Anteckningar").append(["not read"])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_an_excel_workbook_imports_as_its_csv_would(db_session, app_ctx, now):
    data = workbook_of(HEADER.split(";"), REGION.split(";"), TOWN.split(";"))
    report = run(db_session, now, data, apply=True)
    assert refusals(report) == [] and report.applied
    assert organisations(db_session) == ["jkpg", "reg"]


def test_a_workbooks_cells_are_read_as_the_text_they_show(db_session, app_ctx, now):
    # A health-care flag typed as TRUE, an HSA-id column left as numbers, an empty row between, and the
    # empty cells right of the table that a cell once typed there leaves.
    unit = ["unit", "vc", "Vårdcentralen", "vardcentral", "reg", None, None, None, True, None, None]
    data = workbook_of(HEADER.split(";") + [None], REGION.split(";"), [None] * 13, unit + [None, None, None])
    report = run(db_session, now, data, apply=True)
    assert refusals(report) == []
    assert [(p.line, p.key) for p in report.created] == [(2, "reg"), (4, "vc")]


def test_a_code_excel_took_for_a_number_is_refused_as_in_a_csv_file(db_session, app_ctx, now):
    town = TOWN.split(";")
    town[7] = 680  # "0680" typed into a cell formatted as a number
    report = run(db_session, now, workbook_of(HEADER.split(";"), town), apply=True)
    ((line, column, message),) = refusals(report)
    assert (line, column) == (2, "municipality")
    assert "Menade du 0680?" in message and "formatera kolumnen som text" in message
    assert organisations(db_session) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "Det här är en Excel 97–2003-arbetsbok (.xls), som sipflow inte läser. Välj Spara som i Excel och"
            " filformatet Excel-arbetsbok (.xlsx) eller CSV UTF-8, och importera den filen.",
        ),
        (
            b"PK\x03\x04" + bytes(500),
            "Filen går inte att läsa som en Excel-arbetsbok (.xlsx). Spara den igen som Excel-arbetsbok"
            " (.xlsx) eller som CSV UTF-8, och importera den filen.",
        ),
    ],
    ids=["xls", "broken zip"],
)
def test_a_workbook_sipflow_cannot_read_is_refused_saying_how_to_save_it(
    db_session, app_ctx, now, data, message
):
    report = run(db_session, now, data, apply=True)
    assert refusals(report) == [(1, None, message)]
    assert organisations(db_session) == []


def test_a_zip_that_is_no_workbook_is_refused_as_unreadable(db_session, app_ctx, now):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("content.xml", "<office:document-content/>")  # an OpenDocument file, say
    report = run(db_session, now, data.getvalue(), apply=True)
    ((line, _column, message),) = refusals(report)
    assert line == 1 and message.startswith("Filen går inte att läsa som en Excel-arbetsbok")


def test_a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read(
    db_session, app_ctx, now, monkeypatch
):
    monkeypatch.setattr(imports, "MAX_WORKBOOK_UNPACKED", 1000)
    data = workbook_of(HEADER.split(";"), REGION.split(";"))
    report = run(db_session, now, data, apply=True)
    assert refusals(report) == [
        (
            1,
            None,
            "Arbetsboken är för stor uppackad. Spara den som CSV UTF-8, eller dela upp den i flera filer.",
        )
    ]


def test_cells_copied_from_excel_into_a_text_file_are_read_by_their_tabs(db_session, app_ctx, now):
    # Excel's "Text (tab-delimited)", or a range copied into Notepad: a tab between cells, åäö kept.
    data = csv_of(REGION, TOWN).replace(b";", b"\t")
    report = run(db_session, now, data, apply=True)
    assert report.errors == [] and [p.name for p in report.created] == ["Region Test", "Jönköpings kommun"]
    assert organisations(db_session) == ["jkpg", "reg"]


def test_a_value_right_of_the_header_is_refused_at_its_line(db_session, app_ctx, now):
    region = REGION.split(";") + [None, "stray"]
    report = run(db_session, now, workbook_of(HEADER.split(";"), region), apply=True)
    assert refusals(report) == [(2, None, "15 kolumner där rubrikraden har 13.")]


def test_a_sheet_of_more_rows_than_a_file_may_hold_is_refused(db_session, app_ctx, now, monkeypatch):
    monkeypatch.setattr(imports, "MAX_SHEET_ROWS", 3)
    data = workbook_of(HEADER.split(";"), REGION.split(";"), [None], [None], TOWN.split(";"))
    report = run(db_session, now, data, apply=True)
    ((line, _column, message),) = refusals(report)
    assert line == 1 and message.startswith("Arbetsbokens första blad har fler än 3 rader.")
    assert organisations(db_session) == []
