"""The same import file twice changes nothing, whatever was deactivated between; what would create or change
something under a deactivated organisation or unit is refused, naming it and what to do."""

from __future__ import annotations

import io

import pytest
from directorykit import EXAMPLE_CSV, csv_of, post, token_of
from sqlmodel import select
from webkit import login, text_of

from sipflow.admin import directory, imports
from sipflow.cli import sipflow_cli
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

ORG = "organisation;reg;Region Test;region;;;22;;;;;;"
UNIT = "unit;reg-vc;Vårdcentralen Test;vardcentral;reg;;;;yes;vc@test.example;;;"
USER = "user;test.anna;Anna Test;;;reg-vc;;;;anna@test.example;;staff;"


def run(db_session, now, data: bytes, *, apply: bool, actor=None):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=actor, now=now, apply=apply)


def _deactivate_organisation(db_session, now, key: str) -> None:
    with unit_of_work(db_session):
        organisation = db_session.exec(select(Organisation).where(Organisation.key == key)).one()
        directory.set_organisation_active(db_session, None, organisation, False, now=now)


def test_the_same_file_after_its_organisation_was_deactivated_changes_nothing(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, UNIT, USER), apply=True).applied
    _deactivate_organisation(db_session, now, "reg")
    for apply in (False, True):
        report = run(db_session, now, csv_of(ORG, UNIT, USER), apply=apply)
        assert report.errors == []
        assert [p.key for p in report.unchanged] == ["reg", "reg-vc", "test.anna"]
    db_session.expire_all()
    assert not db_session.exec(select(Unit).where(Unit.key == "reg-vc")).one().active


def test_a_line_that_would_change_or_create_under_a_deactivated_organisation_is_refused(
    db_session, app_ctx, now
):
    run(db_session, now, csv_of(ORG, UNIT, USER), apply=True)
    _deactivate_organisation(db_session, now, "reg")
    renamed = UNIT.replace("Vårdcentralen Test", "Vårdcentralen Prov")
    new_unit = UNIT.replace("reg-vc;Vårdcentralen Test", "reg-bup;BUP Test").replace("vc@", "bup@")
    new_user = USER.replace("test.anna", "test.bo").replace("anna@", "bo@")
    report = run(db_session, now, csv_of(renamed, new_unit, new_user), apply=False)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "organisation", "Organisationen reg är inaktiverad: aktivera den först."),
        (3, "organisation", "Organisationen reg är inaktiverad: aktivera den först."),
        (4, "unit", "Enheten reg-vc är inaktiverad: aktivera den först."),
    ]


def test_the_page_and_the_command_line_take_the_file_again_after_a_deactivation(
    app, client, db_session, make_user, parties, tmp_path
):
    # As the tester did: a county's administrator imports the example, deactivates an organisation on the
    # Organisations page, and checks the same file again on the page and from the command line.
    data = EXAMPLE_CSV.read_bytes().replace(b";22;", b";07;").replace(b";2262;", b";0780;")
    data = data.replace(b";2280;", b";0760;").replace(b";2262 2280", b";0780 0760")
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)

    def upload(button: str):
        return client.post(
            "/admin/import",
            data={
                "csrf_token": token_of(client, "/admin/import"),
                "file": (io.BytesIO(data), "good.csv"),
                button: "1",
            },
            content_type="multipart/form-data",
        )

    assert upload("apply").status_code == 200
    timra = db_session.exec(select(Organisation).where(Organisation.key == "exempel-timra")).one()
    assert post(client, f"/admin/organisations/{timra.id}/deactivate").status_code == 302
    db_session.expire_all()
    assert not db_session.get(Organisation, timra.id).active
    for button in ("dry_run", "apply"):
        response = upload(button)
        assert response.status_code == 200, text_of(response)
        assert "inaktiverad" not in text_of(response)
    good = tmp_path / "good.csv"
    good.write_bytes(data)
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(good), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "0 would be created, 0 changed, 11 left alone" in result.output
