"""The booking page before the SIP has come to its kallelse: the state, not the user's role, refuses (409),
naming the step of the workflow file to take first."""

from __future__ import annotations

import pytest
from meetingkit import fire
from webkit import csrf_token, login, text_of

from sipflow.meetings.permissions import step_before_booking

FIRST = "Mötet kan bokas först när steget ”Börja förbereda” är gjort."


@pytest.fixture
def consented(db_session, registry, parties, create_case):
    """A SIP whose consent is recorded (Samtycke givet), its preparation not started."""
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent")
    return case


def test_the_initiator_is_told_to_start_the_preparation_first(client, parties, consented):
    login(client, parties.region_user.username)
    url = f"/cases/{consented.uid}/meetings/new"
    page = client.get(url)
    assert page.status_code == 409
    html = text_of(page)
    assert FIRST in html and "Din roll ger inte åtkomst" not in html
    assert f'href="/cases/{consented.uid}"' in html
    token = csrf_token(text_of(client.get(f"/cases/{consented.uid}")))
    posted = client.post(url, data={"csrf_token": token, "date": "2030-01-07", "starts": "10:00"})
    assert posted.status_code == 409 and FIRST in text_of(posted)


def test_the_step_is_named_in_the_page_language(client, parties, consented):
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{consented.uid}/meetings/new?lang=en")
    assert page.status_code == 409
    assert "The meeting can be booked once the step “Start preparing” is done." in text_of(page)


def test_an_organisation_whose_part_may_not_book_is_still_refused_by_its_role(client, parties, consented):
    login(client, parties.municipality_user.username)
    assert client.get(f"/cases/{consented.uid}/meetings/new").status_code == 403


def test_the_step_named_is_the_one_into_the_kallelse_state_however_far_back(
    db_session, registry, parties, create_case
):
    requested = create_case()
    step = step_before_booking(db_session, registry, requested, parties.region_user)
    assert step is not None and step.trigger == "start_preparation"
    fire(db_session, registry, parties.region_user, requested, "give_consent")
    fire(db_session, registry, parties.region_user, requested, "start_preparation")
    # In the kallelse's own state nothing is to be taken first.
    assert step_before_booking(db_session, registry, requested, parties.region_user) is None


def test_a_workflow_without_a_kallelse_step_says_it_books_no_meetings(
    client, parties, registry, ready, monkeypatch
):
    # A county's file records its meetings elsewhere (no step whose form is the kallelse): the booking page
    # says so (409), not that the user's role gives no access.
    import tomllib

    from sipflow.config import PROJECT_ROOT
    from sipflow.workflow.definition import parse_workflow

    case = ready.case
    path = PROJECT_ROOT / "workflows" / f"{case.workflow_name}.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    for transition in data["transitions"]:
        if transition.get("form") == "kallelse":
            transition["form"] = "none"
            transition["effects"] = []
    monkeypatch.setitem(
        registry._by_key, (case.workflow_name, case.workflow_version), parse_workflow(path, data)
    )
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/meetings/new"
    page = client.get(url)
    assert page.status_code == 409
    html = text_of(page)
    assert "I arbetsflödet för den här SIP:en bokas inga möten i sipflow." in html
    assert "Din roll ger inte åtkomst" not in html
    assert f'href="/cases/{case.uid}"' in html
    token = csrf_token(text_of(client.get(f"/cases/{case.uid}")))
    posted = client.post(url, data={"csrf_token": token, "date": "2030-01-07", "starts": "10:00"})
    assert posted.status_code == 409
