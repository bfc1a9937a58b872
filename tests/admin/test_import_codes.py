"""The import names the codes a column takes: refusals list them (and the code a page's name stands for), the
page lists them with their names; a file over the size limit is refused for that alone; the report's words."""

from __future__ import annotations

import io
import re

import pytest
from directorykit import EXAMPLE_CSV, csv_of, token_of
from webkit import login, text_of

from sipflow.admin import imports
from sipflow.cli import sipflow_cli
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

ORG = "organisation;reg;Region Test;region;;;22;;;;;;"
UNIT = "unit;reg-vc;Vårdcentralen Test;vardcentral;reg;;;;yes;vc@test.example;;;"
USER = "user;test.anna;Anna Test;;;reg-vc;;;;anna@test.example;;staff;"
UNIT_CODES = (
    "vardcentral, sjukhus, psykiatri, bup, habilitering, beroendevard, socialtjanst, boendestod, hemtjanst"
)


def run(db_session, now, data: bytes, *, apply: bool = False):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def refusals(report) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.column, e.message) for e in report.errors]


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        # The Units page's name of the kind, in either language and any case: the code is named.
        (
            UNIT.replace(";vardcentral;", ";Vårdcentral;"),
            "kind",
            "Vårdcentral är namnet på en typ av enhet, inte",
        ),
        (UNIT.replace(";vardcentral;", ";PRIMARY CARE CENTRE;"), "kind", "Menade du vardcentral?"),
        (UNIT.replace(";vardcentral;", ";Socialtjänst;"), "kind", "Menade du socialtjanst?"),
        (UNIT.replace(";vardcentral;", ";Vårdcentralen;"), "kind", f"skriv någon av koderna {UNIT_CODES}"),
        (ORG.replace(";region;", ";Kommun;"), "kind", "Menade du municipality?"),
        (ORG.replace(";region;", ";Annan myndighet;"), "kind", "Menade du other?"),
        (
            ORG.replace(";region;", ";landsting;"),
            "kind",
            "koderna region, municipality, school, friskola, other.",
        ),
        (ORG.replace(";region;", ";;"), "kind", "Fyll i typ av organisation: någon av koderna region,"),
        (USER.replace(";staff;", ";Personal;"), "roles", "Personal är namnet på en roll, inte dess kod."),
        (USER.replace(";staff;", ";chef;"), "roles", "koderna staff, coordinator, admin."),
    ],
)
def test_a_value_that_is_no_code_is_refused_naming_the_codes(db_session, app_ctx, now, line, column, message):
    before = {"organisation": [], "unit": [ORG], "user": [ORG, UNIT]}[line.split(";")[0]]
    report = run(db_session, now, csv_of(*before, line))
    (error,) = [e for e in report.errors]
    assert error.column == column and message in error.message, error.message


def test_codes_in_any_case_and_the_role_names_taken_before_are_still_taken(db_session, app_ctx, now):
    unit = UNIT.replace(";vardcentral;", ";VardCentral;")
    user = USER.replace(";staff;", ";STAFF Samordnare;")
    report = run(db_session, now, csv_of(ORG.replace(";region;", ";Region;"), unit, user), apply=True)
    assert report.errors == [] and report.applied


def test_the_page_lists_each_columns_codes_with_their_names(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text_of(client.get("/admin/import"))))
    for text in (
        "vardcentral (Vårdcentral)",
        "socialtjanst (Socialtjänst)",
        "municipality (Kommun)",
        "staff (Personal)",
        "coordinator (Samordnare)",
        "admin (Administratör)",
    ):
        assert text in page, page


def _over_the_limit() -> bytes:
    # A bad line early on, and more unit lines than a file may hold.
    units = [UNIT.replace("reg-vc;", f"reg-vc{n};") for n in range(imports.MAX_LINES + 1)]
    return csv_of(ORG, "unit;too;few;columns", *units)


def test_a_file_over_the_limit_is_refused_for_that_alone(db_session, app_ctx, now):
    report = run(db_session, now, _over_the_limit())
    assert refusals(report) == [
        (
            1,
            None,
            "En fil får innehålla högst 5000 poster, och den här innehåller fler: dela upp den i flera filer"
            " och importera var och en.",
        )
    ]


def test_the_command_line_says_so_alone_and_counts_its_errors_in_the_singular(app, db_session, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(_over_the_limit())
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(big), "--dry-run"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "big.csv:1: A file holds at most 5000 records, and this one holds more: split it into several"
        " files and import each.",
        "1 error: nothing imported",
    ]


def _upload(client, data: bytes, button: str) -> str:
    response = client.post(
        "/admin/import",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (io.BytesIO(data), "f.csv"),
            button: "1",
        },
        content_type="multipart/form-data",
    )
    # As a page reader takes it: each tag a space, spaces collapsed.
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text_of(response)))


def test_the_report_says_what_will_be_done_then_what_was_done(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    dry = _upload(client, EXAMPLE_CSV.read_bytes(), "dry_run")
    assert "Skapas (11)" in dry and "Ändras (0)" in dry and "Lämnas orörda (0)" in dry
    done = _upload(client, EXAMPLE_CSV.read_bytes(), "apply")
    assert "Skapade (11)" in done and "Ändrade (0)" in done and "Lämnade orörda (0)" in done
    assert "Skapas" not in done


def test_an_errors_column_is_named_without_a_space_before_the_parenthesis(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = _upload(client, csv_of(USER), "dry_run")
    assert "Rad 2 (Enhet, unit):" in page, page
