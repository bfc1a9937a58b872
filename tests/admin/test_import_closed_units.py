"""A county's HR export says which units (organisations) closed since the last file: its optional `active`
column closes them through the import, as the unit's page does, opens one again, and leaves the rest as they
are; a file without the column imports as it always did."""

from __future__ import annotations

import io

import pytest
from directorykit import HEADER, csv_of, token_of
from sqlmodel import select
from webkit import login, text_of

from sipflow.admin import imports
from sipflow.cli import sipflow_cli
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

WITH_ACTIVE = HEADER + ";active"
ORG = "organisation;rg;Region Gävleborg;region;;;21;;;;;;;"
VC = "unit;rg-vc;Vårdcentralen Bomhus;vardcentral;rg;;;;yes;vc@rg.example;;;;"
OLD = "unit;rg-old;Vårdcentralen Strömsbro;vardcentral;rg;;;;yes;old@rg.example;;;;"
USER = "user;rg.ulla;Ulla Ek;;;rg-vc;;;;ulla@rg.example;;staff;;"


def run(db_session, now, data: bytes, *, apply: bool):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def active(db_session, model, key: str) -> bool:
    db_session.expire_all()
    return db_session.exec(select(model).where(model.key == key)).one().active


def closed(line: str, value: str = "no") -> str:
    return line.removesuffix(";") + ";" + value


def test_a_unit_that_closed_since_the_last_file_is_closed_by_its_line(db_session, app_ctx, now):
    first = csv_of(ORG, VC, OLD, USER, header=WITH_ACTIVE)
    assert run(db_session, now, first, apply=True).applied
    # The next month's export: Strömsbro closed, the rest as it was (Excel's Swedish "nej" too).
    for value in ("no", "nej", "NO"):
        later = csv_of(ORG, VC, closed(OLD, value), USER, header=WITH_ACTIVE)
        report = run(db_session, now, later, apply=False)
        assert report.errors == []
        assert [(p.key, p.changed_fields) for p in report.changed] == [("rg-old", ("active",))]
        assert active(db_session, Unit, "rg-old")
    report = run(db_session, now, csv_of(ORG, VC, closed(OLD), USER, header=WITH_ACTIVE), apply=True)
    assert report.errors == [] and report.applied
    assert not active(db_session, Unit, "rg-old")
    assert active(db_session, Unit, "rg-vc")
    # The same file again changes nothing; yes opens it again.
    again = run(db_session, now, csv_of(ORG, VC, closed(OLD), USER, header=WITH_ACTIVE), apply=True)
    assert again.changed == [] and len(again.unchanged) == 4
    reopened = run(db_session, now, csv_of(closed(OLD, "yes"), header=WITH_ACTIVE), apply=True)
    assert [p.key for p in reopened.changed] == ["rg-old"]
    assert active(db_session, Unit, "rg-old")


def test_an_empty_cell_or_no_column_leaves_a_closed_unit_closed(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, VC, closed(OLD), header=WITH_ACTIVE), apply=True)
    assert not active(db_session, Unit, "rg-old")
    for data in (
        csv_of(ORG, VC, OLD, header=WITH_ACTIVE),
        csv_of(*(line.removesuffix(";") for line in (ORG, VC, OLD))),
    ):
        report = run(db_session, now, data, apply=True)
        assert report.errors == [] and report.changed == []
        assert not active(db_session, Unit, "rg-old")


def test_an_organisation_closed_by_its_line_closes_its_units(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, VC, OLD, header=WITH_ACTIVE), apply=True)
    report = run(db_session, now, csv_of(closed(ORG), VC, OLD, header=WITH_ACTIVE), apply=True)
    assert report.errors == [] and [p.key for p in report.changed] == ["rg"]
    assert not active(db_session, Organisation, "rg")
    assert not active(db_session, Unit, "rg-vc") and not active(db_session, Unit, "rg-old")
    # Opening the organisation and one of its units again in one file.
    report = run(
        db_session, now, csv_of(closed(ORG, "yes"), closed(VC, "yes"), header=WITH_ACTIVE), apply=True
    )
    assert report.errors == []
    assert active(db_session, Organisation, "rg") and active(db_session, Unit, "rg-vc")
    assert not active(db_session, Unit, "rg-old")


def test_what_the_file_closes_takes_nothing_new(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, VC, header=WITH_ACTIVE), apply=True)
    new_unit = "unit;rg-bup;BUP Gävle;bup;rg;;;;yes;;;;;"
    report = run(
        db_session,
        now,
        csv_of(
            closed(ORG),
            closed(VC),
            new_unit,
            USER,
            closed(OLD, "ja"),
            "unit;rg-x;X;other;rg;;;;no;;;;;maybe",
            header=WITH_ACTIVE,
        ),
        apply=False,
    )
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (4, "organisation", "Organisationen rg är inaktiverad: aktivera den först."),
        (5, "unit", "Enheten rg-vc är inaktiverad: aktivera den först."),
        (6, "organisation", "Organisationen rg är inaktiverad: aktivera den först."),
        (7, "active", "Skriv yes eller no (ja eller nej), eller lämna tomt för att behålla det som det är."),
    ]
    assert active(db_session, Organisation, "rg")


def test_a_new_user_of_a_unit_whose_organisation_the_file_closes_is_refused_by_the_dry_run(
    db_session, app_ctx, now
):
    # The organisation's line closes its units too: the dry run refuses the new user's line, as the import
    # itself would (it passed, and the import then refused the file it had checked).
    run(db_session, now, csv_of(ORG, VC, header=WITH_ACTIVE), apply=True)
    for data in (
        csv_of(closed(ORG), USER, header=WITH_ACTIVE),
        csv_of(closed(ORG), VC, USER, header=WITH_ACTIVE),
    ):
        report = run(db_session, now, data, apply=False)
        assert [(e.column, e.message) for e in report.errors] == [
            ("unit", "Enheten rg-vc är inaktiverad: aktivera den först.")
        ]
    assert active(db_session, Organisation, "rg") and active(db_session, Unit, "rg-vc")


@pytest.mark.parametrize("successor_first", [False, True])
def test_a_closed_unit_and_its_successor_of_the_same_name_import_in_one_file(
    db_session, app_ctx, now, successor_first
):
    # The clinic closed and a new one of the same name opened (a new key): the unit's page deactivates it
    # and the new unit takes the name; the file saying both was refused ("another unit of this organisation
    # has this name", or the same name on another line), and so was the same file the next month.
    run(db_session, now, csv_of(ORG, VC, header=WITH_ACTIVE), apply=True)
    successor = "unit;rg-vc2;Vårdcentralen Bomhus;vardcentral;rg;;;;yes;ny@rg.example;;;;"
    lines = [successor, closed(VC)] if successor_first else [closed(VC), successor]
    data = csv_of(ORG, *lines, header=WITH_ACTIVE)
    report = run(db_session, now, data, apply=True)
    assert report.errors == [] and report.applied
    assert not active(db_session, Unit, "rg-vc") and active(db_session, Unit, "rg-vc2")
    again = run(db_session, now, data, apply=True)
    assert again.errors == [] and again.changed == [] and again.created == []
    # Changing more of the closed unit, or opening it, is refused as its page refuses it.
    for line in (closed(VC.replace("vc@", "ny-vc@")), closed(VC, "yes")):
        report = run(db_session, now, csv_of(ORG, line, header=WITH_ACTIVE), apply=False)
        assert [(e.column, e.message) for e in report.errors] == [
            ("name", "En annan enhet i organisationen har det här namnet.")
        ]


def test_a_new_user_of_a_unit_the_file_opens_again_is_invited(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, closed(VC), header=WITH_ACTIVE), apply=True)
    assert not active(db_session, Unit, "rg-vc")
    report = run(db_session, now, csv_of(closed(VC, "yes"), USER, header=WITH_ACTIVE), apply=True)
    assert report.errors == [] and [p.key for p in report.created] == ["rg.ulla"]
    assert active(db_session, Unit, "rg-vc")


def test_the_page_and_the_command_line_close_a_unit(app, client, db_session, make_user, now, tmp_path):
    run(db_session, now, csv_of(ORG, VC, OLD, header=WITH_ACTIVE), apply=True)
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    # The page describes the column and its values.
    page = text_of(client.get("/admin/import"))
    assert "no när den har lagts ned" in page
    data = csv_of(ORG, VC, closed(OLD), header=WITH_ACTIVE)
    response = client.post(
        "/admin/import",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (io.BytesIO(data), "hr.csv"),
            "dry_run": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, text_of(response)
    assert "Öppen (aktiv)" in text_of(response)
    path = tmp_path / "hr.csv"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 4: change unit rg-old (active)" in result.output
    assert not active(db_session, Unit, "rg-old")
