"""Starting a SIP on PostgreSQL: participants, Mina SIP rows, log row and the units' check in one statement.

On SQLite each is a statement of its own; the rows written and the refusals are the same on both.
"""

from __future__ import annotations

import re

import pytest
import support
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.models import CaseVisibility, Participant, SipCase, TransitionLog
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Unit
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import CREATE_EVENT


def _start(db_session, registry, parties, person, now, units):
    return support.new_case(
        db_session, registry, parties.region_user, workflow="sip", person=person, unit_ids=units, now=now
    )


def test_the_start_rows_go_in_one_statement_on_postgresql(
    db_session, registry, parties, make_person, engine, now
):
    person = make_person()
    units = [parties.municipality.id, parties.school.id]
    with unit_of_work(db_session):  # the access log has begun: its head exists
        audit.record_access(
            db_session,
            user=parties.region_user,
            action=audit.PERSON_LOOKUP,
            purpose="t",
            person=person,
            now=now,
        )
    for unit in (parties.region, parties.municipality, parties.school):  # the per-process cache knows them
        services.unit_organisation_id(db_session, unit.id)
    with unit_of_work(db_session), support.statements(engine) as seen:
        case = _start(db_session, registry, parties, person, now, units)
    checks = [s for s in seen if re.search(r"FROM unit\s+WHERE unit\.id IN", s)]
    if engine.dialect.name == "postgresql":
        # The case's INSERT, one WITH for the participants, Mina SIP's rows, the log row and the check of the
        # units, the deadline's INSERT, the access log's two: 5 (9 before).
        (folded,) = checks
        assert folded.lstrip().startswith("WITH"), folded
        for table in ("participant", "case_visibility", "transitionlog"):
            assert f"INSERT INTO {table} " in folded, folded
            assert not any(s.lstrip().startswith(f"INSERT INTO {table} ") for s in seen), seen
        assert len(seen) <= 5, seen
    else:
        (check,) = checks
        assert check.lstrip().startswith("SELECT"), check
        assert len(seen) <= 9, seen
    # The same rows on both: every participant, every organisation's Mina SIP row, the start's log row.
    db_session.expire_all()
    region, municipality, school = (
        u.organisation_id for u in (parties.region, parties.municipality, parties.school)
    )
    rows = db_session.exec(
        select(Participant).where(Participant.case_id == case.id).order_by(Participant.id)
    ).all()
    assert [(p.kind, p.role, p.organisation_id, p.unit_id, p.contact_user_id, p.language) for p in rows] == [
        ("organisation", "initiator", region, parties.region.id, parties.region_user.id, "sv"),
        ("person", "participant", None, None, None, "sv"),
        ("organisation", "participant", municipality, parties.municipality.id, None, "sv"),
        ("organisation", "participant", school, parties.school.id, None, "sv"),
    ]
    assert {p.added_at for p in rows} == {now}
    visible = db_session.exec(select(CaseVisibility).where(CaseVisibility.case_id == case.id)).all()
    assert sorted((v.organisation_id, v.state, v.updated_at) for v in visible) == sorted(
        (org, case.state, now) for org in (region, municipality, school)
    )
    (log,) = db_session.exec(select(TransitionLog).where(TransitionLog.case_id == case.id)).all()
    assert (log.trigger, log.from_state, log.to_state, log.user_id, log.organisation_id) == (
        CREATE_EVENT,
        None,
        case.state,
        parties.region_user.id,
        region,
    )
    assert (log.at, log.reason, log.details) == (now, None, {})


def _deactivate(db_session, unit_id: int) -> None:
    with unit_of_work(db_session):
        db_session.get(Unit, unit_id).active = False


@pytest.mark.parametrize("unknown", [False, True])
def test_a_deactivated_unit_refuses_the_start_and_nothing_is_kept(
    db_session, registry, parties, make_person, now, unknown
):
    person = make_person()
    _deactivate(db_session, parties.school.id)
    # A unit that does not exist beside it: the deactivated one is named, as when the check came first.
    units = [parties.municipality.id, parties.school.id] + ([10**6] if unknown else [])
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        _start(db_session, registry, parties, person, now, units)
    assert (str(refused.value.message), refused.value.field) == (
        str(_l("The unit is deactivated and cannot take part in a SIP.")),
        "unit_ids",
    )
    assert db_session.exec(select(SipCase)).all() == []
    assert db_session.exec(select(Participant)).all() == []


def test_an_unknown_unit_refuses_the_start(db_session, registry, parties, make_person, now):
    person = make_person()
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        _start(db_session, registry, parties, person, now, [parties.municipality.id, 10**6])
    assert (str(refused.value.message), refused.value.field) == (str(_l("Unknown unit.")), "unit_ids")
    assert db_session.exec(select(SipCase)).all() == []


def test_the_staff_of_a_deactivated_unit_start_nothing(db_session, registry, parties, make_person, now):
    person = make_person()
    _deactivate(db_session, parties.region.id)
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        _start(db_session, registry, parties, person, now, [parties.municipality.id])
    assert str(refused.value.message) == str(
        _l("Your unit is deactivated: it starts no new SIP. Ask an administrator.")
    )
    assert refused.value.field is None
    assert db_session.exec(select(SipCase)).all() == []
    assert db_session.exec(select(TransitionLog)).all() == []
