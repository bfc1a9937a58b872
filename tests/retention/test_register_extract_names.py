"""The registerutdrag of a big SIP reads as many statements as that of a small one: the names of the
organisations, units and staff it names (participants, contact persons, who read the person's data) are read
once for all of them, not one statement each."""

from __future__ import annotations

import support
from sqlmodel import select
from test_register_extract_sections import full_case  # noqa: F401

from sipflow.cases.models import Participant
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation
from sipflow.retention.export import person_export
from sipflow.security import audit


def _statements(db_session, engine, person_id, now) -> tuple[list[str], dict]:
    db_session.expire_all()
    with support.statements(engine) as seen:
        exported = person_export(db_session, person_id, now=now)
    return seen, exported


def test_the_registerutdrag_reads_as_many_statements_for_ten_units_as_for_one(
    db_session,
    engine,
    full_case,  # noqa: F811
    make_unit,
    make_user,
    now,
):
    case, _ = full_case()
    small, _ = _statements(db_session, engine, case.person_id, now)

    # Ten more units of ten organisations on the SIP, each with a contact person who read the case.
    units = [make_unit("municipality") for _ in range(10)]
    staff = [make_user(unit) for unit in units]
    with unit_of_work(db_session):
        for unit, user in zip(units, staff, strict=True):
            db_session.add(
                Participant(
                    case_id=case.id,
                    kind="organisation",
                    role="participant",
                    organisation_id=unit.organisation_id,
                    unit_id=unit.id,
                    contact_user_id=user.id,
                    added_at=now,
                )
            )
            audit.record_access(db_session, user=user, action=audit.CASE_VIEW, purpose="", case=case, now=now)
    big, exported = _statements(db_session, engine, case.person_id, now)

    assert len(big) == len(small), big
    (shown,) = exported["cases"]
    named = {(p.get("organisation"), p.get("unit"), p.get("contact_person")) for p in shown["participants"]}
    readers = {(row["user"], row["organisation"]) for row in exported["access_log"]}
    for unit, user in zip(units, staff, strict=True):
        organisation = db_session.get(Organisation, unit.organisation_id).name
        assert (organisation, unit.name, user.display_name) in named
        assert (user.display_name, organisation) in readers
    rows = db_session.exec(select(Participant.id).where(Participant.case_id == case.id)).all()
    assert len(rows) == len(shown["participants"])
