"""A step's form from before someone else's change: a conflict that keeps what was typed, sendable again."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import now_utc


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def test_a_stale_step_keeps_the_typed_input_and_can_be_sent_again(
    as_region, db_session, registry, parties, create_case
):
    case = create_case()
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/cancel"
    mine = forms_of(text_of(as_region.get(page)))[action]
    # Someone else records the consent while the cancel form is open; cancelling is still possible after it.
    fire_scripted(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    db_session.commit()

    reason = "Personen har flyttat från länet"
    response = as_region.post(action, data=fill(mine, **{"cancel-reason": reason}))
    assert response.status_code == 409
    html = text_of(response)
    assert "Någon annan har ändrat denna SIP medan du arbetade." in html
    assert "Det du fyllde i finns kvar" in html
    assert reason in html
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "consent_given"

    # Sent again from the conflict page, after seeing the SIP as it is now, the step is taken.
    again = as_region.post(action, data=fill(forms_of(html)[action]))
    assert again.status_code == 303
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "cancelled"
    log = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "cancel")
    ).one()
    assert log.reason == reason


@pytest.mark.parametrize(
    ("form_name", "values"),
    [
        ("contact", {"contact-email": "ny.adress@example.se", "contact-phone": "070-123 45 67"}),
        (
            "private",
            {"private-kind": "narstaende", "private-name": "Eva Andersson", "private-relation": "syster"},
        ),
    ],
)
def test_a_stale_participant_form_keeps_the_typed_input(
    as_region, db_session, registry, parties, create_case, form_name, values
):
    case = create_case()
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/participants/{form_name}"
    mine = forms_of(text_of(as_region.get(page)))[action]
    fire_scripted(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    db_session.commit()
    chosen = {}
    if form_name == "contact":
        # The participant is a choice of its own (none is chosen at first): the region's.
        region = db_session.exec(
            select(Participant).where(
                Participant.case_id == case.id, Participant.organisation_id == parties.region.organisation_id
            )
        ).first()
        chosen = {"contact-participant_id": str(region.id)}

    response = as_region.post(action, data=fill(mine, **values, **chosen))
    assert response.status_code == 409
    html = text_of(response)
    assert "Det du fyllde i finns kvar" in html
    assert all(value in html for value in values.values())
    again = as_region.post(action, data=fill(forms_of(html)[action]))
    assert again.status_code == 303


def test_a_step_refused_on_an_ended_sip_shows_back_what_was_typed(as_region, db_session, create_case):
    """The page of an ended SIP offers no forms: the conflict shows the typed text read-only, not lost."""
    case = create_case()
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/cancel"
    mine = forms_of(text_of(as_region.get(page)))[action]
    theirs = forms_of(text_of(as_region.get(page)))[action]
    done = as_region.post(action, data=fill(theirs, **{"cancel-reason": "Personen har flyttat"}))
    assert done.status_code == 303

    reason = "Målen uppnådda igen"
    response = as_region.post(action, data=fill(mine, **{"cancel-reason": reason}))
    assert response.status_code == 409
    html = text_of(response)
    assert "Någon annan har ändrat denna SIP medan du arbetade." in html
    assert action not in forms_of(html)  # the ended SIP offers no step
    assert "Det du fyllde i" in html and reason in html
    db_session.expire_all()
    log = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "cancel")
    ).one()
    assert log.reason == "Personen har flyttat"


def test_a_participant_form_posted_to_an_ended_sip_shows_back_what_was_typed(
    as_region, db_session, registry, parties, create_case, make_unit
):
    case = create_case()
    unit = make_unit("municipality", unit_name="Boendestöd Norra")
    page = f"/cases/{case.uid}"
    forms = forms_of(text_of(as_region.get(page)))
    fire_scripted(db_session, registry, parties.region_user, case, "cancel", now=now_utc())
    db_session.commit()

    posted = {
        "private": {
            "private-kind": "narstaende",
            "private-name": "Eva Andersson",
            "private-email": "ea@example.se",
        },
        "unit": {"unit-unit_id": str(unit.id)},
    }
    for form_name, values in posted.items():
        action = f"/cases/{case.uid}/participants/{form_name}"
        response = as_region.post(action, data=fill(forms[action], **values))
        assert response.status_code == 409
        html = text_of(response)
        assert action not in forms_of(html)
        assert "Det du fyllde i" in html
        if form_name == "private":
            assert "Eva Andersson" in html and "ea@example.se" in html
        else:
            assert "Boendestöd Norra" in html


def test_the_same_step_sent_twice_by_its_user_is_told_done_not_a_conflict(
    as_region, db_session, registry, parties, create_case
):
    case = create_case()
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/cancel"
    data = fill(forms_of(text_of(as_region.get(page)))[action], **{"cancel-reason": "Felregistrerad"})
    assert as_region.post(action, data=data).status_code == 303
    # A double click: the same form again, stale only by the user's own step.
    again = as_region.post(action, data=data)
    assert again.status_code == 303 and again.headers["Location"].endswith(page)
    assert "troligen ett dubbelklick" in text_of(as_region.get(page))
    logs = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "cancel")
    ).all()
    assert len(logs) == 1
