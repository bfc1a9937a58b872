"""What a county's own files hold that the import must read or refuse by line and column: the unnamed
columns Excel writes right of a table, a county or municipality written by its name, a workbook instead of a
CSV, cells separated by tabs."""

from __future__ import annotations

import io

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
    ids=["municipality", "kommun", "long name", "county", "region", "no county", "no municipality", "scope"],
)
def test_a_county_or_municipality_by_its_name_is_refused_naming_its_code(
    db_session, app_ctx, now, line, column, message
):
    report = run(db_session, now, csv_of(line), apply=True)
    assert refusals(report) == [(2, column, message)]
    assert organisations(db_session) == []


def test_an_excel_workbook_is_refused_saying_how_to_save_it_as_csv(db_session, app_ctx, now):
    book = Workbook()
    for line in (HEADER, REGION):
        book.active.append(line.split(";"))
    data = io.BytesIO()
    book.save(data)
    report = run(db_session, now, data.getvalue(), apply=True)
    assert refusals(report) == [
        (
            1,
            None,
            "Det här är en Excel-arbetsbok, inte en CSV-fil."
            " Välj Spara som i Excel och filformatet CSV UTF-8, och importera den filen.",
        )
    ]
    assert organisations(db_session) == []


def test_cells_copied_from_excel_into_a_text_file_are_read_by_their_tabs(db_session, app_ctx, now):
    # Excel's "Text (tab-delimited)", or a range copied into Notepad: a tab between cells, åäö kept.
    data = csv_of(REGION, TOWN).replace(b";", b"\t")
    report = run(db_session, now, data, apply=True)
    assert report.errors == [] and [p.name for p in report.created] == ["Region Test", "Jönköpings kommun"]
    assert organisations(db_session) == ["jkpg", "reg"]
