"""The meeting page's "Invite more" ticked before a participant left the SIP: after the refusal, the one
removed is named beside the invitee boxes, not silently unticked, and nobody is invited by it."""

from __future__ import annotations

import re

from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.models import Invitation


def test_an_invitee_removed_meanwhile_is_named_beside_the_invite_boxes(
    client, db_session, registry, parties, ready, book
):
    meeting = book(invitee_ids=[ready.region.id, ready.municipality.id, ready.person.id])
    assert login(client, parties.region_user.username).status_code == 302
    page = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    action = f"{page}/invite"
    mine = forms_of(text_of(client.get(page)))[action]
    case = db_session.get(SipCase, ready.case.id)
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            parties.region_user,
            ready.relative.id,
            reason="Tillagd av misstag",
            now=now_utc(),
            expected_version=case.version,
        )

    response = client.post(
        action,
        data=fill(mine, **{"invite-invitee_ids": [ready.relative.id, ready.relative_without_email.id]}),
    )
    assert response.status_code in (400, 409)
    html = text_of(response)
    errors = re.search(r'<ul class="field-errors" id="invite-invitee_ids-error">(.*?)</ul>', html, re.S)
    assert errors, html
    assert "Eva Andersson (närstående) har tagits bort från SIP:en och är inte med längre." in errors.group(1)
    db_session.expire_all()
    invited = db_session.exec(
        select(Invitation.participant_id).where(Invitation.meeting_id == meeting.id)
    ).all()
    assert ready.relative.id not in invited and ready.relative_without_email.id not in invited
