"""Two units of one organisation record their organisation's approval of a version at the same moment.

An organisation approves a version once, through whichever of its units records it. Each unit's request
looks for the organisation's approval, finds none, and writes its own: the database keeps one (the unique
party of the version), and the unit whose row came second is told, as it would be a moment later, that it was
already recorded, by whom and how. (The approvals page offers an organisation's first row, so there the
units' requests name one row; the service takes any of them.) Played in order with two real sessions: the
other unit's transaction commits between the one's look and its write.
"""

from __future__ import annotations

import support
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.db import unit_of_work
from sipflow.people.models import Unit, User
from sipflow.plans import approvals
from sipflow.plans.models import PlanApproval, PlanVersion


def test_the_second_unit_of_an_organisation_is_told_its_organisation_approved_already(
    db_session, engine, parties, established, now, monkeypatch
):
    case = established.case
    version = approvals.newest_version(db_session, case)
    first = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.unit_id == parties.municipality.id
        )
    ).one()
    boendestod = Unit(
        key=f"unit-{support.next_number()}",
        organisation_id=parties.municipality.organisation_id,
        name="Boendestöd Norr",
    )
    db_session.add(boendestod)
    db_session.flush()
    second = Participant(
        case_id=case.id,
        kind="organisation",
        organisation_id=boendestod.organisation_id,
        unit_id=boendestod.id,
        added_at=now,
    )
    db_session.add(second)
    bertil = support.new_user(db_session, boendestod, display_name="Bertil Berg")
    db_session.commit()
    anna = parties.municipality_user
    real = approvals.party_approval

    def annas_unit_records_it_meanwhile(session, version_, participant_):
        # Bertil's transaction has looked and found nothing; Anna's, for her unit, commits before his write.
        monkeypatch.setattr(approvals, "party_approval", real)
        with Session(engine, expire_on_commit=False) as other, unit_of_work(other):
            approvals.record_approval(
                other,
                case=other.get(SipCase, case.id),
                version=other.get(PlanVersion, version.id),
                participant=other.get(Participant, first.id),
                method="meeting",
                now=now,
                recorded_by=other.get(User, anna.id),
            )
        return None

    monkeypatch.setattr(approvals, "party_approval", annas_unit_records_it_meanwhile)
    with unit_of_work(db_session):
        recorded = approvals.record_approval(
            db_session,
            case=case,
            version=version,
            participant=second,
            method="paper",
            now=now,
            recorded_by=bertil,
        )

    # The same answer as a moment later: not new, Anna's, on the meeting (what the page's message says).
    assert (recorded.new, recorded.recorded_by, recorded.approval.method) == (
        False,
        anna.display_name,
        "meeting",
    )
    db_session.expire_all()
    rows = db_session.exec(select(PlanApproval).where(PlanApproval.version_id == version.id)).all()
    assert [(r.participant_id, r.method, r.recorded_by_user_id) for r in rows] == [
        (first.id, "meeting", anna.id)
    ]
