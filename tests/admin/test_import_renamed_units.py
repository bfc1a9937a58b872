"""A county's second import that renames a unit (or an organisation) and gives its old name to another: a
clinic split in two (the old one renamed, a new one taking the name), or two units' names swapped. The file's
end state is what counts: a name is taken only by a unit (an organisation) that keeps it."""

from __future__ import annotations

import pytest
from directorykit import csv_of
from sqlmodel import select

from sipflow.admin import imports
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

ORG = "organisation;reg;Region Kronoberg;region;;;07;;;;;;"
TELEBORG = "unit;vc-teleborg;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;SE2321000065-VCT1;;"
PSYK = "unit;psyk;Psykiatrimottagningen;psykiatri;reg;;;;yes;;;;"


def run(db_session, now, data: bytes, *, apply: bool = True):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=None, now=now, apply=apply)


def names(db_session) -> dict[str, str]:
    db_session.expire_all()
    return {u.key: u.name for u in db_session.exec(select(Unit)).all()}


def test_a_new_unit_takes_the_name_the_file_renames_another_away_from(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, TELEBORG)).errors == []
    split = csv_of(
        ORG,
        "unit;vc-teleborg-ny;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;;;",
        "unit;vc-teleborg;Vårdcentralen Teleborg Södra;vardcentral;reg;;;;yes;;SE2321000065-VCT1;;",
    )
    dry = run(db_session, now, split, apply=False)
    assert dry.errors == [] and [p.key for p in dry.created] == ["vc-teleborg-ny"]
    report = run(db_session, now, split)
    assert report.errors == [] and report.applied
    assert names(db_session) == {
        "vc-teleborg": "Vårdcentralen Teleborg Södra",
        "vc-teleborg-ny": "Vårdcentralen Teleborg",
    }


def test_two_units_swap_their_names(db_session, app_ctx, now):
    assert run(db_session, now, csv_of(ORG, TELEBORG, PSYK)).errors == []
    swapped = csv_of(
        ORG,
        "unit;vc-teleborg;Psykiatrimottagningen;vardcentral;reg;;;;yes;;SE2321000065-VCT1;;",
        "unit;psyk;Vårdcentralen Teleborg;psykiatri;reg;;;;yes;;;;",
    )
    report = run(db_session, now, swapped)
    assert report.errors == [] and report.applied
    assert names(db_session) == {"vc-teleborg": "Psykiatrimottagningen", "psyk": "Vårdcentralen Teleborg"}


def test_a_name_a_unit_keeps_is_still_refused(db_session, app_ctx, now):
    # The renamed unit is not the one holding the name: the name stays taken.
    assert run(db_session, now, csv_of(ORG, TELEBORG, PSYK)).errors == []
    clash = csv_of(
        ORG,
        "unit;psyk;Psykiatrimottagningen Växjö;psykiatri;reg;;;;yes;;;;",
        "unit;vc-ny;Vårdcentralen Teleborg;vardcentral;reg;;;;yes;;;;",
    )
    report = run(db_session, now, clash)
    assert [(e.line, e.column) for e in report.errors] == [(4, "name")]
    assert names(db_session) == {"vc-teleborg": "Vårdcentralen Teleborg", "psyk": "Psykiatrimottagningen"}


def test_an_organisation_renamed_gives_its_name_to_another_in_the_same_file(db_session, app_ctx, now):
    """A merger: the old "Vårdbolaget" becomes "Vårdbolaget Syd" and a new organisation takes the name."""
    old = "organisation;vb;Vårdbolaget;other;;;07;;;;;;"
    assert run(db_session, now, csv_of(ORG, old)).errors == []
    merged = csv_of(
        ORG,
        "organisation;vb-ny;Vårdbolaget;other;;;07;;;;;;",
        "organisation;vb;Vårdbolaget Syd;other;;;07;;;;;;",
    )
    dry = run(db_session, now, merged, apply=False)
    assert dry.errors == [] and [p.key for p in dry.created] == ["vb-ny"]
    report = run(db_session, now, merged)
    assert report.errors == [] and report.applied
    db_session.expire_all()
    named = {o.key: o.name for o in db_session.exec(select(Organisation)).all()}
    assert named["vb"] == "Vårdbolaget Syd" and named["vb-ny"] == "Vårdbolaget"
    # A name an organisation keeps stays taken.
    clash = csv_of(ORG, "organisation;vb-tre;Vårdbolaget Syd;other;;;07;;;;;;")
    assert [(e.line, e.column) for e in run(db_session, now, clash).errors] == [(3, "name")]
