"""Taking a participant off a SIP: the initiator or the huvudansvarig party, with a reason, on an open SIP.

A removed organisation no longer sees the SIP, a removed invitee's invitations to planned meetings are
withdrawn (a CANCEL to them), and the removal shows only in the SIP's history of removed participants.
The case page links each removable participant to a removal page of its own, which shows a refusal
(another area's too) instead of the form.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_string

import pytest
import support
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.errors import CaseEnded
from sipflow.cases.models import Participant
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.consent.models import Consent
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.meetings.booking import participants_by_id
from sipflow.meetings.models import Invitation
from sipflow.notifications.models import OutboxMessage
from sipflow.plans import responsibility
from sipflow.security.audit import CASE_VIEW, AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _fire(db_session, registry, actor, case, trigger, **data):
    return support.fire(db_session, registry, actor, case, trigger, now=now_utc(), **data)


@pytest.fixture
def consented(db_session, registry, parties, create_case):
    """A SIP the person consented to for the region (initiator) and the municipality."""
    case = create_case()
    _fire(db_session, registry, parties.region_user, case, "give_consent")
    return case


def _row(db_session, case, organisation_id=None, *, kind="organisation") -> Participant:
    db_session.expire_all()
    rows = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == kind)
    )
    return next(p for p in rows if organisation_id is None or p.organisation_id == organisation_id)


def _add_relative(
    db_session, registry, case, name="Eva Andersson", kind="narstaende", email="eva.andersson@example.se"
) -> Participant:
    with unit_of_work(db_session):
        return services.add_private_participant(
            db_session,
            registry,
            case,
            kind=kind,
            name=name,
            relation="syster",
            email=email,
            phone=None,
            now=now_utc(),
        )


def _remove(db_session, registry, case, actor, participant_id, reason="Tillagd av misstag"):
    db_session.refresh(case)
    with unit_of_work(db_session):
        return services.remove_participant(
            db_session,
            registry,
            case,
            actor,
            participant_id,
            reason=reason,
            now=now_utc(),
            expected_version=case.version,
        )


def _participants_table(html: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-participants">.*?</section>', html, re.S)[0]


def _removal_url(case, participant_id) -> str:
    return f"/cases/{case.uid}/participants/{participant_id}/remove"


def _post_removal(client, case, participant_id, reason):
    url = _removal_url(case, participant_id)
    form = forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, reason=reason))


def test_a_removed_unit_s_organisation_no_longer_sees_the_sip(client, db_session, parties, consented):
    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    assert login(client, parties.municipality_user.username).status_code == 302
    assert client.get(f"/cases/{consented.uid}").status_code == 200
    assert consented.reference in text_of(client.get("/cases"))
    client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/cases")))})

    assert login(client, parties.region_user.username).status_code == 302
    removed = _post_removal(client, consented, municipality.id, "Fel kommun")
    assert removed.status_code == 303
    html = text_of(client.get(f"/cases/{consented.uid}"))
    # Gone from the participants, kept in the history with who removed it and why; the page warns.
    assert "Växjö kommun" not in _participants_table(html)
    history = re.search(r'aria-labelledby="h-removed">.*?</section>', html, re.S)[0]
    assert "Växjö kommun" in history and "Fel kommun" in history
    assert parties.region_user.display_name in history
    assert "Kommunen deltar inte i denna SIP." in html
    row = _row(db_session, consented, parties.municipality.organisation_id)
    assert row.removed_at is not None and row.removed_by_user_id == parties.region_user.id
    client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/cases")))})

    # The Mina SIP row may stay; the access rule leaves the case out of the list and the page is 404.
    assert login(client, parties.municipality_user.username).status_code == 302
    assert client.get(f"/cases/{consented.uid}").status_code == 404
    assert consented.reference not in text_of(client.get("/cases"))


def test_a_removed_invitee_s_invitations_to_planned_meetings_are_withdrawn(
    db_session, registry, parties, consented
):
    case = consented
    _fire(db_session, registry, parties.region_user, case, "start_preparation")
    relative = _add_relative(db_session, registry, case)
    municipality = _row(db_session, case, parties.municipality.organisation_id)
    day = to_local(now_utc()).date() + timedelta(days=7)
    starts_at = local_to_utc(datetime(day.year, day.month, day.day, 10))
    log = _fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "send_kallelse",
        send_invitations=True,
        meeting_starts_at=starts_at,
        meeting_ends_at=starts_at + timedelta(hours=1),
        mode="video",
        invitee_ids=[municipality.id, relative.id],
    )
    meeting_id = log.details["meeting_id"]
    invitation = db_session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting_id, Invitation.participant_id == relative.id
        )
    ).one()
    before = {m.id for m in db_session.exec(select(OutboxMessage)).all()}

    _remove(db_session, registry, case, parties.region_user, relative.id)

    db_session.expire_all()
    assert db_session.get(Invitation, invitation.id).removed_at is not None
    sent = [m for m in db_session.exec(select(OutboxMessage)).all() if m.id not in before]
    assert [m.recipient for m in sent] == ["eva.andersson@example.se"]
    parts = [
        part.get_payload(decode=True)
        for part in message_from_string(sent[0].message).walk()
        if part.get_content_type() == "text/calendar"
    ]
    assert parts and all(b"METHOD:CANCEL" in part for part in parts)
    # The municipality keeps its invitation; the närstående is offered as invitee no more.
    other = db_session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting_id, Invitation.participant_id == municipality.id
        )
    ).one()
    assert other.active
    assert relative.id not in participants_by_id(db_session, db_session.get(type(case), case.id))


def test_a_removed_narstaende_is_listed_no_more_nor_offered_as_invitee(
    client, db_session, registry, parties, consented
):
    _fire(db_session, registry, parties.region_user, consented, "start_preparation")
    relative = _add_relative(db_session, registry, consented, name="Nils Närstående")
    assert login(client, parties.region_user.username).status_code == 302
    assert _post_removal(client, consented, relative.id, "Deltar inte längre").status_code == 303
    html = text_of(client.get(f"/cases/{consented.uid}"))
    assert "Nils Närstående" not in _participants_table(html)
    # The kallelse form offers the participants as invitees: he is not among them.
    kallelse = forms_of(html)[f"/cases/{consented.uid}/transitions/send_kallelse"]
    offered = html[html.index('id="action-send_kallelse"') :]
    assert str(relative.id) not in [v for k, v in kallelse if k.endswith("invitee_ids")]
    assert "Nils Närstående" not in offered.split("</details>")[0]


def test_the_initiator_is_never_removed_and_huvudansvar_is_handed_over_first(
    client, db_session, registry, parties, consented
):
    region = _row(db_session, consented, parties.region.organisation_id)
    with pytest.raises(InvalidInput, match="startade SIP:en|started the SIP"):
        _remove(db_session, registry, consented, parties.region_user, region.id)
    with unit_of_work(db_session):
        responsibility.give_huvudansvar(
            db_session,
            consented,
            parties.region_user,
            organisation_id=parties.municipality.organisation_id,
            reason=None,
            expected_version=consented.version,
            now=now_utc(),
        )
    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    with pytest.raises(InvalidInput, match="huvudansvar|overall responsibility"):
        _remove(db_session, registry, consented, parties.region_user, municipality.id)
    # Through the page: the refusal stands at the top, the reason typed is kept, nothing changes.
    db_session.refresh(consented)
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{consented.uid}"))
    assert f"/participants/{municipality.id}/remove" not in page
    assert f"/participants/{region.id}/remove" not in page
    refused = client.post(
        f"/cases/{consented.uid}/participants/{municipality.id}/remove",
        data={"csrf_token": csrf_token(page), "version": str(consented.version), "reason": "Lämnar ärendet"},
    )
    assert refused.status_code == 400
    assert "lämna över huvudansvaret först" in text_of(refused) and "Lämnar ärendet" in text_of(refused)
    # The page itself explains before any form: the same reason, nothing to fill in.
    shown = client.get(_removal_url(consented, municipality.id))
    assert shown.status_code == 409 and "lämna över huvudansvaret först" in text_of(shown)
    assert 'name="reason"' not in text_of(shown)
    assert _row(db_session, consented, parties.municipality.organisation_id).active


def test_only_the_initiator_or_huvudansvarig_removes(db_session, registry, parties, consented):
    relative = _add_relative(db_session, registry, consented)
    with pytest.raises(NotAllowed):
        _remove(db_session, registry, consented, parties.municipality_user, relative.id)
    assert _row(db_session, consented, kind="narstaende").active


def test_an_ended_sip_refuses_a_removal(db_session, registry, parties, consented):
    relative = _add_relative(db_session, registry, consented)
    _fire(db_session, registry, parties.region_user, consented, "cancel", reason="Fel person")
    with pytest.raises(CaseEnded):
        _remove(db_session, registry, consented, parties.region_user, relative.id)
    assert _row(db_session, consented, kind="narstaende").active


def test_a_guardian_who_consented_is_removed_and_the_consent_stays(
    db_session, registry, parties, create_case
):
    case = create_case("sip_child")
    _fire(db_session, registry, parties.region_user, case, "give_consent")
    guardian = _add_relative(db_session, registry, case, name="Greta Vårdnadshavare", kind="guardian")
    consents = len(db_session.exec(select(Consent).where(Consent.case_id == case.id)).all())
    _remove(db_session, registry, case, parties.region_user, guardian.id)
    assert not _row(db_session, case, kind="guardian").active
    assert len(db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()) == consents


def test_a_stale_form_is_a_conflict_and_keeps_the_reason(client, db_session, registry, parties, consented):
    relative = _add_relative(db_session, registry, consented)
    assert login(client, parties.region_user.username).status_code == 302
    action = _removal_url(consented, relative.id)
    form = forms_of(text_of(client.get(action)))[action]
    # Someone changes the SIP meanwhile.
    _add_relative(db_session, registry, consented, name="Någon Annan", email="nagon.annan@example.se")
    stale = client.post(action, data=fill(form, reason="Flyttat utomlands"))
    assert stale.status_code == 409
    # Still offered, with the reason typed and the version the SIP has now: sending it again is deliberate.
    assert "Flyttat utomlands" in text_of(stale) and "Någon annan har ändrat" in text_of(stale)
    assert ("version", str(db_session.get(type(consented), consented.id).version)) in forms_of(
        text_of(stale)
    )[action]
    assert _row(db_session, consented, kind="narstaende").active


def test_the_removal_speaks_english(client, db_session, registry, parties, consented):
    relative = _add_relative(db_session, registry, consented)
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(_removal_url(consented, relative.id) + "?lang=en"))
    assert "Remove a participant" in html and "What a removal does" in html
    assert "Why is the participant removed?" in html and "Remove from the SIP" in html
    assert _post_removal(client, consented, relative.id, "Added in error").status_code == 303
    html = text_of(client.get(f"/cases/{consented.uid}?lang=en"))
    assert "Removed participants" in html and "Added in error" in html


def test_an_organisation_owning_efforts_still_to_do_stays_until_they_are_given_to_another(
    db_session, registry, parties, consented
):
    from sipflow.plans.models import Plan, PlanEffort

    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    plan = Plan(case_id=consented.id)
    db_session.add(plan)
    db_session.flush()
    effort = PlanEffort(
        plan_id=plan.id, what="Boendestöd", organisation_id=municipality.organisation_id, status="ongoing"
    )
    db_session.add(effort)
    db_session.commit()
    with pytest.raises(InvalidInput) as refused:
        _remove(db_session, registry, consented, parties.region_user, municipality.id)
    assert "ge dem till en annan organisation" in str(refused.value.message)
    assert _row(db_session, consented, parties.municipality.organisation_id).removed_at is None
    # Once the effort is done (or handed on), the organisation can leave; what it did stays in the plan.
    effort = db_session.get(PlanEffort, effort.id)
    effort.status = "done"
    db_session.add(effort)
    db_session.commit()
    _remove(db_session, registry, consented, parties.region_user, municipality.id)
    db_session.expire_all()
    assert db_session.get(Participant, municipality.id).removed_at is not None


def _owning_effort(db_session, case, organisation_id):
    """An ongoing effort of the case's plan owned by organisation_id."""
    from sipflow.plans.models import Plan, PlanEffort

    plan = Plan(case_id=case.id)
    db_session.add(plan)
    db_session.flush()
    db_session.add(
        PlanEffort(plan_id=plan.id, what="Boendestöd", organisation_id=organisation_id, status="ongoing")
    )
    db_session.commit()


def test_the_case_page_links_to_the_removal_page_and_builds_no_form(
    client, db_session, registry, parties, consented, monkeypatch
):
    from sipflow.cases import views

    relative = _add_relative(db_session, registry, consented, name="Nils Närstående")
    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    built = []
    monkeypatch.setattr(views, "RemoveParticipantForm", lambda *a, **k: built.append(k))
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{consented.uid}"))
    table = _participants_table(html)
    for participant_id in (relative.id, municipality.id):
        assert f'href="{_removal_url(consented, participant_id)}"' in table
    assert 'Ta bort<span class="visually-hidden"> Nils Närstående</span>' in table
    assert not [action for action in forms_of(html) if action.endswith("/remove")]
    assert built == []


def test_the_case_page_of_a_party_that_may_not_remove_has_no_actions_column(
    client, db_session, registry, parties, consented
):
    _add_relative(db_session, registry, consented)
    assert login(client, parties.municipality_user.username).status_code == 302
    table = _participants_table(text_of(client.get(f"/cases/{consented.uid}")))
    assert "/remove" not in table and "Åtgärder" not in table


def test_the_removal_page_names_the_participant_and_logs_the_read(
    client, db_session, registry, parties, consented
):
    relative = _add_relative(db_session, registry, consented, name="Nils Närstående")
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get(_removal_url(consented, relative.id))
    html = text_of(page)
    assert page.status_code == 200
    assert "<h1>Ta bort deltagare</h1>" in html
    assert "Nils Närstående" in html and "syster" in html and "Närstående" in html
    assert "Deltagarens kallelser till planerade möten dras tillbaka." in html
    assert 'name="reason"' in html and f'href="/cases/{consented.uid}"' in html
    db_session.expire_all()
    logged = db_session.exec(
        select(AccessLogEntry).where(
            AccessLogEntry.case_id == consented.id, AccessLogEntry.action == CASE_VIEW
        )
    ).all()
    assert logged and logged[-1].user_id == parties.region_user.id


def test_the_removal_page_of_an_effort_owning_organisation_s_last_unit_shows_the_refusal_and_no_form(
    client, db_session, parties, consented
):
    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    _owning_effort(db_session, consented, municipality.organisation_id)
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get(_removal_url(consented, municipality.id))
    # The page explains the SIP's state (a conflict, as an ended SIP's); a removal posted anyway is refused.
    assert page.status_code == 409
    html = text_of(page)
    assert "ge dem till en annan organisation" in html
    assert 'name="reason"' not in html and "Ta bort från SIP:en" not in html
    assert f'href="/cases/{consented.uid}"' in html
    posted = client.post(
        _removal_url(consented, municipality.id),
        data={"csrf_token": csrf_token(html), "reason": "Behövs inte", "version": str(consented.version)},
    )
    assert posted.status_code == 400 and "ge dem till en annan organisation" in text_of(posted)
    assert _row(db_session, consented, parties.municipality.organisation_id).active


def test_a_refused_removal_keeps_the_reason_typed(client, db_session, parties, consented):
    municipality = _row(db_session, consented, parties.municipality.organisation_id)
    assert login(client, parties.region_user.username).status_code == 302
    url = _removal_url(consented, municipality.id)
    form = forms_of(text_of(client.get(url)))[url]
    # Meanwhile the municipality takes on an effort of the plan: the removal is refused when sent.
    _owning_effort(db_session, consented, municipality.organisation_id)
    refused = client.post(url, data=fill(form, reason="Fel kommun, ska bort"))
    assert refused.status_code == 400
    html = text_of(refused)
    assert "ge dem till en annan organisation" in html
    assert "Fel kommun, ska bort" in html and 'name="reason"' not in html
    assert _row(db_session, consented, parties.municipality.organisation_id).active


def test_a_removal_without_a_reason_is_refused_at_the_field(client, db_session, registry, parties, consented):
    relative = _add_relative(db_session, registry, consented)
    assert login(client, parties.region_user.username).status_code == 302
    url = _removal_url(consented, relative.id)
    form = forms_of(text_of(client.get(url)))[url]
    refused = client.post(url, data=fill(form, reason="  "))
    assert refused.status_code == 400
    assert 'name="reason"' in text_of(refused) and 'aria-invalid="true"' in text_of(refused)
    assert _row(db_session, consented, kind="narstaende").active


def test_a_party_that_does_not_lead_the_sip_is_refused_the_page(
    client, db_session, registry, parties, consented
):
    relative = _add_relative(db_session, registry, consented)
    assert login(client, parties.municipality_user.username).status_code == 302
    page = client.get(_removal_url(consented, relative.id))
    assert page.status_code == 403
    assert "Bara den organisation som startade" in text_of(page) and 'name="reason"' not in text_of(page)


def test_a_participant_removed_already_or_of_another_case_or_unknown(
    client, db_session, registry, parties, consented, create_case
):
    relative = _add_relative(db_session, registry, consented)
    _remove(db_session, registry, consented, parties.region_user, relative.id)
    other = create_case()
    other_row = _row(db_session, other, parties.region.organisation_id)
    assert login(client, parties.region_user.username).status_code == 302
    gone = client.get(_removal_url(consented, relative.id))
    assert gone.status_code == 409
    assert "deltar inte längre" in text_of(gone) and 'name="reason"' not in text_of(gone)
    assert client.get(_removal_url(consented, other_row.id)).status_code == 404
    assert client.get(_removal_url(consented, 987654)).status_code == 404
