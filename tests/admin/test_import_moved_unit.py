"""A national file a month later moves units between organisations (a municipality's school health moved to
its school organisation). A unit never changes organisation, so the line is refused; the refusal said only
that, and the administrator did not know what to write instead: it says where the unit is and how the move is
written, which the same file then imports."""

from __future__ import annotations

import pytest
from directorykit import HEADER as DIRECTORY_HEADER
from directorykit import csv_of
from sqlmodel import select

from sipflow.admin import imports
from sipflow.db import unit_of_work
from sipflow.people.models import Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

HEADER = DIRECTORY_HEADER + ";active"
KOMMUN = "organisation;kommun-0604;Aneby kommun;municipality;;;;0604;;;;;;"
SKOLA = "organisation;skola-0604;Grundskolorna i Aneby kommun;school;;;;0604;;;;;;"
HSA = "SE2321000065-EH1"


def run(db_session, now, *lines: str, apply: bool = True):
    with unit_of_work(db_session):
        return imports.import_directory(
            db_session, csv_of(*lines, header=HEADER), actor=None, now=now, apply=apply
        )


def test_a_unit_moved_to_another_organisation_is_refused_saying_how_to_write_the_move(
    db_session, app_ctx, now
):
    unit = f"unit;eh-aneby;Elevhälsan;elevhalsa;kommun-0604;;;;yes;eh@aneby.example;{HSA};;;"
    assert run(db_session, now, KOMMUN, SKOLA, unit).errors == []

    moved = unit.replace(";kommun-0604;", ";skola-0604;")
    (error,) = run(db_session, now, KOMMUN, SKOLA, moved, apply=False).errors
    assert error.column == "organisation"
    assert "kommun-0604" in error.message
    assert "Stäng den (no i kolumnen active)" in error.message
    assert "med en ny nyckel" in error.message

    # As the refusal says: the old line closed, its HSA-id left to the new line of the other organisation.
    closed = "unit;eh-aneby;Elevhälsan;elevhalsa;kommun-0604;;;;yes;eh@aneby.example;;;;no"
    new = f"unit;eh-aneby-skola;Elevhälsan;elevhalsa;skola-0604;;;;yes;eh@aneby.example;{HSA};;;"
    report = run(db_session, now, KOMMUN, SKOLA, closed, new)
    assert report.errors == [] and report.applied
    db_session.expire_all()
    old = db_session.exec(select(Unit).where(Unit.key == "eh-aneby")).one()
    successor = db_session.exec(select(Unit).where(Unit.key == "eh-aneby-skola")).one()
    assert not old.active and old.hsa_id is None
    assert successor.active and successor.hsa_id == HSA
