"""A value in a column its record does not use is refused at that column, never dropped unsaid:
Försäkringskassan's administrator importing the agency's offices (units of one national organisation) writes
each office's county beside it, and an import that took the line and left the county out would let them
think the Kalmar office is placed in Kalmar län. (A unit is where its organisation is; a user has no county
either.)"""

from __future__ import annotations

import pytest
from directorykit import csv_of
from sqlmodel import select

from sipflow.admin import imports
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

FK = "organisation;fk;Försäkringskassan;other;;;;;;;;;"
OFFICE = "unit;fk-kalmar;Försäkringskassan Kalmar;other;fk;;;;no;kalmar@fk.example;;;"
HANNA = "user;fk.hanna;Hanna Handläggare;;;fk-kalmar;;;;hanna@fk.example;;staff;"


def _check(db_session, now, *lines):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, csv_of(*lines), actor=None, now=now, apply=True)


@pytest.mark.parametrize(
    ("lines", "line", "column"),
    [
        pytest.param([FK, OFFICE.replace("fk;;;;no", "fk;;08;;no")], 3, "county", id="a unit's county"),
        pytest.param(
            [FK, OFFICE.replace("fk;;;;no", "fk;;;0880;no")], 3, "municipality", id="a unit's kommun"
        ),
        pytest.param(
            [FK.replace(";;;;;;;;;", ";;;;;;kalmar@fk.example;;;")], 2, "email", id="an org's e-mail"
        ),
        pytest.param(
            [FK, OFFICE, HANNA.replace("kalmar;;;", "kalmar;08;;")], 4, "county", id="a user's county"
        ),
        pytest.param([FK, OFFICE, HANNA.replace(";;;fk-kalmar", ";;fk;fk-kalmar")], 4, "organisation"),
    ],
)
def test_a_value_in_a_column_the_record_does_not_use_is_refused_there(
    db_session, app_ctx, now, lines, line, column
):
    report = _check(db_session, now, *lines)
    assert [(e.line, e.column) for e in report.errors] == [(line, column)]
    assert "lämna den tom" in report.errors[0].message
    assert not report.applied and db_session.exec(select(Organisation)).all() == []


def test_the_offices_import_with_their_unused_columns_empty(db_session, app_ctx, now):
    report = _check(db_session, now, FK, OFFICE, HANNA)
    assert report.errors == [] and report.applied
    assert db_session.exec(select(Unit.name)).all() == ["Försäkringskassan Kalmar"]
