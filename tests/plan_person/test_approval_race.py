"""Two staff members record one party's approval at the same moment: the one whose row came second is told
that it was already recorded, by whom and how, not that theirs is."""

from __future__ import annotations

import re

import pytest
from support import new_user
from webkit import csrf_token, login, text_of

from sipflow.db import get_session
from sipflow.plans import approvals
from sipflow.plans.models import PlanApproval


def flashes(response) -> list[str]:
    return re.findall(r'<p class="flash[^>]*>(.*?)</p>', text_of(response), re.S)


def test_the_loser_of_a_race_is_told_the_approval_was_already_recorded(
    client, db_session, planned, now, monkeypatch
):
    version = planned.extra["v1"]
    participant = planned.municipality.participant
    anna = new_user(db_session, planned.municipality.unit, display_name="Anna Andersson")
    db_session.commit()
    url = f"/cases/{planned.case.uid}/plan/approvals"
    login(client, planned.municipality.user.username)
    html = text_of(client.get(url))
    real = approvals.party_approval
    calls = []

    def read_before_annas_commit(session, version_, participant_):
        # The first look for an approval is made before Anna's row is in; her row lands right after it.
        if not calls:
            calls.append(1)
            session = get_session()
            session.add(
                PlanApproval(
                    version_id=version.id,
                    participant_id=participant.id,
                    method="meeting",
                    approved_at=now,
                    recorded_by_user_id=anna.id,
                )
            )
            session.flush()
            return None
        return real(session, version_, participant_)

    monkeypatch.setattr(approvals, "party_approval", read_before_annas_commit)
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(html),
            "approval-version_id": str(version.id),
            "approval-participant_id": str(participant.id),
            "approval-method": "paper",
        },
        follow_redirects=True,
    )

    assert flashes(response) == [
        "Godkännandet av version 1 var redan registrerat av Anna Andersson: på mötet. "
        "Det du skickade sparades inte."
    ]
    db_session.expire_all()
    rows = db_session.exec(PlanApproval.__table__.select()).all()
    assert [(r.method, r.recorded_by_user_id) for r in rows] == [("meeting", anna.id)]


@pytest.mark.parametrize("method", ["meeting", "paper"])
def test_the_service_says_whether_it_recorded_the_approval(db_session, planned, now, method):
    version, participant = planned.extra["v1"], planned.municipality.participant
    user = planned.municipality.user

    def record():
        recorded = approvals.record_approval(
            db_session,
            case=planned.case,
            version=version,
            participant=participant,
            method=method,
            now=now,
            recorded_by=user,
        )
        db_session.commit()
        return recorded

    first, second = record(), record()
    assert (first.new, second.new) == (True, False)
    assert second.approval.id == first.approval.id and second.recorded_by == user.display_name
