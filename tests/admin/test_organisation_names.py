"""Two active organisations never share a name: every unit picker groups units under their organisation's
name. A county's file with a new key for an organisation already made on the pages is refused naming the key
to use, not imported as a second organisation of the same name."""

from __future__ import annotations

import pytest
from directorykit import csv_of, post
from sqlmodel import select
from webkit import login, text_of

from sipflow.admin import directory, imports
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Organisation

pytestmark = pytest.mark.usefixtures("frozen_clock")


def run(db_session, now, data: bytes, *, apply: bool = True):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def keys(db_session) -> list[str]:
    db_session.expire_all()
    return sorted(db_session.exec(select(Organisation.key)).all())


def test_a_file_with_another_key_for_an_organisation_made_on_the_pages_is_refused_naming_its_key(
    db_session, app_ctx, now
):
    with unit_of_work(db_session):
        directory.create_organisation(
            db_session, None, key="jonkoping", name="Jönköpings kommun", kind="municipality",
            municipality_code="0680", now=now,
        )  # fmt: skip
    line = "organisation;jkpg;JÖNKÖPINGS  kommun;municipality;;;;0680;;;;;"
    dry = run(db_session, now, csv_of(line), apply=False)
    report = run(db_session, now, csv_of(line))
    expected = [(2, "name", "En annan organisation (nyckel jonkoping) har det här namnet.")]
    assert [(e.line, e.column, e.message) for e in dry.errors] == expected
    assert [(e.line, e.column, e.message) for e in report.errors] == expected
    assert keys(db_session) == ["jonkoping"]


def test_two_lines_naming_organisations_alike_are_refused_at_the_second(db_session, app_ctx, now):
    report = run(
        db_session,
        now,
        csv_of(
            "organisation;fk1;Försäkringskassan;other;;;06;;;;;;",
            "organisation;fk2;försäkringskassan;other;;;;;;;;;",
        ),
    )
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (3, "name", "En organisation med det här namnet finns också på rad 2.")
    ]
    assert keys(db_session) == []


def test_the_same_file_twice_and_a_renamed_organisation_pass(db_session, app_ctx, now):
    data = csv_of("organisation;fk;Försäkringskassan;other;;;06;;;;;;")
    assert run(db_session, now, data).applied and run(db_session, now, data).applied
    renamed = run(
        db_session, now, data.replace("Försäkringskassan".encode(), "Försäkringskassan Jönköping".encode())
    )
    assert renamed.applied and [p.key for p in renamed.changed] == ["fk"]


def test_an_organisation_renamed_as_another_on_its_page_is_refused_at_the_name(
    client, db_session, make_user, now
):
    with unit_of_work(db_session):
        for key, name in (("a", "Region Jönköpings län"), ("b", "Jönköpings kommun")):
            directory.create_organisation(
                db_session, None, key=key, name=name, kind="other", county_code="06", now=now
            )
    organisation = db_session.exec(select(Organisation).where(Organisation.key == "b")).one()
    login(client, make_user(None, roles="admin").username)
    response = post(
        client,
        f"/admin/organisations/{organisation.id}/edit",
        version=str(organisation.row_version),
        name="region jönköpings län",
        kind="other",
        county_code="06",
        municipality_code="",
    )
    assert response.status_code == 400
    assert "En annan organisation (nyckel a) har det här namnet." in text_of(response)
    db_session.expire_all()
    assert db_session.get(Organisation, organisation.id).name == "Jönköpings kommun"


def test_a_deactivated_organisations_name_may_be_taken_again(db_session, app_ctx, now):
    with unit_of_work(db_session):
        old = directory.create_organisation(
            db_session, None, key="old", name="Elevhälsan", kind="other", now=now
        )
        directory.set_organisation_active(db_session, None, old, False, now=now)
        directory.create_organisation(db_session, None, key="new", name="Elevhälsan", kind="other", now=now)
    with pytest.raises(InvalidInput) as refused:
        directory.create_organisation(db_session, None, key="third", name="elevhälsan", kind="other", now=now)
    assert refused.value.field == "name"
