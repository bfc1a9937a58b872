"""One form sent twice from the same page (a double click, a network's resend): the second send, stale by the
first's own change, is told done ("troligen ett dubbelklick") and changes nothing; a form that differs, or a
change someone else made, is still refused as someone else's (409), what was typed kept."""

from __future__ import annotations

import pytest
from sqlmodel import select
from support import fire
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.clock import now_utc
from sipflow.consent.models import Consent
from sipflow.plans.models import PlanGoal
from sipflow.plans.services import find_plan

DOUBLE_CLICK = "redan gjort för en stund sedan, troligen ett dubbelklick"
SOMEONE_ELSE = "Någon annan har ändrat denna SIP medan du arbetade."


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _told_done(client, response, case, step: str) -> None:
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.uid}")
    assert f"{step}: {DOUBLE_CLICK}" in text_of(client.get(f"/cases/{case.uid}"))


def _refused_as_someone_elses(response, typed: str) -> None:
    assert response.status_code == 409
    page = text_of(response)
    assert SOMEONE_ELSE in page and DOUBLE_CLICK not in page
    assert typed in page  # what was typed is shown back


# --- Further consent ----------------------------------------------------------------------------------------


def _further_consent(client, case, parties, **typed):
    url = f"/cases/{case.uid}/consent/further"
    organisations = [str(u.organisation_id) for u in (parties.region, parties.municipality, parties.school)]
    form = forms_of(text_of(client.get(url)))[url]
    data = {
        "consent-given_by": "person",
        "consent-form": "oral",
        "consent-organisation_ids": organisations,
        "consent-information_scope": "Journalanteckningar om boendet",
    }
    return url, fill(form, **(data | typed))


def _consents(db_session, case) -> int:
    db_session.expire_all()
    return len(db_session.exec(select(Consent.id).where(Consent.case_id == case.id)).all())


def test_a_further_consent_sent_twice_is_recorded_once_and_told_done(
    as_region, db_session, parties, joined_later
):
    case = joined_later
    url, data = _further_consent(as_region, case, parties)
    before = _consents(db_session, case)
    assert as_region.post(url, data=data).status_code == 303

    again = as_region.post(url, data=data)  # the same form, at the version the first one changed
    _told_done(as_region, again, case, "Registrera ytterligare samtycke")
    assert _consents(db_session, case) == before + 1


def test_another_further_consent_from_the_same_page_is_someone_elses_change(
    as_region, db_session, parties, joined_later
):
    case = joined_later
    url, data = _further_consent(as_region, case, parties)
    before = _consents(db_session, case)
    assert as_region.post(url, data=data).status_code == 303

    other = data.copy()
    other["consent-information_scope"] = "Bara uppgifter om hemtjänsten"
    _refused_as_someone_elses(as_region.post(url, data=other), "Bara uppgifter om hemtjänsten")
    assert _consents(db_session, case) == before + 1


# --- A närstående added -------------------------------------------------------------------------------------


def _relative_form(client, case, **typed):
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    data = {
        "private-kind": "narstaende",
        "private-name": "Karin Ek",
        "private-relation": "dotter",
        "private-phone": "070-123 45 67",
    }
    return url, fill(form, **(data | typed))


def _relatives(db_session, case) -> list[str]:
    db_session.expire_all()
    return db_session.exec(
        select(Participant.name).where(Participant.case_id == case.id, Participant.kind == "narstaende")
    ).all()


def test_a_relative_added_twice_takes_part_once_and_the_second_send_is_told_done(
    as_region, db_session, create_case
):
    case = create_case()
    url, data = _relative_form(as_region, case)
    assert as_region.post(url, data=data).status_code == 303

    again = as_region.post(url, data=data)
    _told_done(as_region, again, case, "Lägg till närstående")
    assert _relatives(db_session, case) == ["Karin Ek"]


def test_another_relative_from_the_same_page_is_someone_elses_change(as_region, db_session, create_case):
    case = create_case()
    url, data = _relative_form(as_region, case)
    assert as_region.post(url, data=data).status_code == 303

    other = data.copy()
    other["private-name"] = "Per Ek"
    _refused_as_someone_elses(as_region.post(url, data=other), "Per Ek")
    assert _relatives(db_session, case) == ["Karin Ek"]


def test_the_same_relative_added_by_someone_else_meanwhile_is_their_change(
    app, as_region, db_session, parties, create_case, make_user
):
    case = create_case()
    url, data = _relative_form(as_region, case)
    colleague = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(colleague, make_user(parties.region).username).status_code == 302
    _, theirs = _relative_form(colleague, case)
    assert colleague.post(url, data=theirs).status_code == 303

    _refused_as_someone_elses(as_region.post(url, data=data), "Karin Ek")
    assert _relatives(db_session, case) == ["Karin Ek"]


# --- The preparation, with the person's own goals typed -----------------------------------------------------


def _preparation(client, db_session, registry, parties, create_case):
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    url = f"/cases/{case.uid}/transitions/start_preparation"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    data = fill(
        form,
        **{
            # As a browser sends a text area: lines ending CR LF.
            "start_preparation-own_goals": "Att få bo kvar hemma\r\nAtt kunna gå till affären själv",
            "start_preparation-questions": "Hur ser boendet ut?\r\nVem handlar?",
        },
    )
    return case, url, data


def _preparation_steps(db_session, case) -> int:
    db_session.expire_all()
    steps = db_session.exec(
        select(TransitionLog.id).where(
            TransitionLog.case_id == case.id, TransitionLog.trigger == "start_preparation"
        )
    ).all()
    return len(steps)


def test_the_preparation_sent_twice_with_own_goals_is_taken_once_and_told_done(
    as_region, db_session, registry, parties, create_case
):
    case, url, data = _preparation(as_region, db_session, registry, parties, create_case)
    assert as_region.post(url, data=data).status_code == 303

    again = as_region.post(url, data=data)
    _told_done(as_region, again, case, "Börja förbereda")
    assert _preparation_steps(db_session, case) == 1
    plan = find_plan(db_session, case)
    goals = db_session.exec(
        select(PlanGoal.text).where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
    ).all()
    assert sorted(goals) == ["Att få bo kvar hemma", "Att kunna gå till affären själv"]


def test_the_preparation_sent_again_with_another_goal_is_someone_elses_change(
    as_region, db_session, registry, parties, create_case
):
    case, url, data = _preparation(as_region, db_session, registry, parties, create_case)
    assert as_region.post(url, data=data).status_code == 303

    other = data.copy()
    other["start_preparation-own_goals"] = "Att få bo kvar hemma\r\nAtt träffa barnbarnen"
    _refused_as_someone_elses(as_region.post(url, data=other), "Att träffa barnbarnen")
    assert _preparation_steps(db_session, case) == 1
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "preparing"
