"""A county's import that moves an HSA-id from one unit to another: a clinic split in two (a new unit takes
the old one's HSA-id, the old one gets a new one or none), or two units' HSA-ids swapped after a mix-up. As
with names, the file's end state counts: an HSA-id is taken only by a unit that keeps it."""

from __future__ import annotations

import pytest
from directorykit import csv_of
from sqlmodel import select

from sipflow.admin import imports
from sipflow.admin.models import AdminChange
from sipflow.db import unit_of_work
from sipflow.people.models import Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

ORG = "organisation;reg;Region Kronoberg;region;;;07;;;;;;"
VCT1, VCT2, PSY1 = "SE2321000065-VCT1", "SE2321000065-VCT2", "SE2321000065-PSY1"
TELEBORG = f"unit;vc-teleborg;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;{VCT1};;"
PSYK = f"unit;psyk;Psykiatrimottagningen;psykiatri;reg;;;;yes;;{PSY1};;"


def run(db_session, now, data: bytes, *, apply: bool = True):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def hsa_ids(db_session) -> dict[str, str | None]:
    db_session.expire_all()
    return {u.key: u.hsa_id for u in db_session.exec(select(Unit)).all()}


def test_a_new_unit_takes_the_hsa_id_the_file_moves_from_another(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, TELEBORG)).errors == []
    split = csv_of(
        ORG,
        f"unit;vc-teleborg-ny;Vårdcentralen Teleborg Norra;vardcentral;reg;;;;yes;;{VCT1};;",
        f"unit;vc-teleborg;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;{VCT2};;",
    )
    dry = run(db_session, now, split, apply=False)
    assert dry.errors == [] and [p.key for p in dry.created] == ["vc-teleborg-ny"]
    report = run(db_session, now, split)
    assert report.errors == [] and report.applied
    assert hsa_ids(db_session) == {"vc-teleborg": VCT2, "vc-teleborg-ny": VCT1}
    # The change log says what the old unit's HSA-id was, not the blank it passed through.
    (edit,) = db_session.exec(select(AdminChange).where(AdminChange.action == "unit.edit")).all()
    assert (edit.before["hsa_id"], edit.after["hsa_id"]) == (VCT1, VCT2)


def test_two_units_swap_their_hsa_ids_and_one_given_up_is_free(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, TELEBORG, PSYK)).errors == []
    swapped = csv_of(
        ORG,
        f"unit;vc-teleborg;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;{PSY1};;",
        f"unit;psyk;Psykiatrimottagningen;psykiatri;reg;;;;yes;;{VCT1};;",
    )
    report = run(db_session, now, swapped)
    assert report.errors == [] and report.applied
    assert hsa_ids(db_session) == {"vc-teleborg": PSY1, "psyk": VCT1}
    # A unit whose line leaves its HSA-id empty gives it up to another line of the same file.
    given_up = csv_of(
        ORG,
        "unit;vc-teleborg;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;;;",
        f"unit;vc-ny;Vårdcentralen Nya;vardcentral;reg;;;;yes;;{PSY1};;",
    )
    assert run(db_session, now, given_up).errors == []
    assert hsa_ids(db_session) == {"vc-teleborg": None, "psyk": VCT1, "vc-ny": PSY1}


def test_an_hsa_id_a_unit_keeps_is_still_refused(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, TELEBORG, PSYK)).errors == []
    # Teleborg is not in the file, and Psykiatrimottagningen's line keeps its own: both HSA-ids stay taken.
    clash = csv_of(
        ORG,
        f"unit;psyk;Psykiatrimottagningen Växjö;psykiatri;reg;;;;yes;;{PSY1};;",
        f"unit;vc-ny;Vårdcentralen Nya;vardcentral;reg;;;;yes;;{VCT1};;",
        f"unit;vc-ny2;Vårdcentralen Nya 2;vardcentral;reg;;;;yes;;{PSY1};;",
    )
    report = run(db_session, now, clash)
    assert sorted((e.line, e.column) for e in report.errors) == [(4, "hsa_id"), (5, "hsa_id")]
    assert hsa_ids(db_session) == {"vc-teleborg": VCT1, "psyk": PSY1}
