"""A child's SIP without a school: the kallelse's forms (the case page's, the booking page) say that the
school must take part, and how, before they are filled, by the guard's own check (school_participates);
sent anyway, the step is refused and what was typed is kept."""

from __future__ import annotations

import re

import pytest
import support
from sqlmodel import select
from support import fire
from webkit import fill, forms_of, login, text_of
from werkzeug.datastructures import MultiDict

from sipflow.cases import queries, services
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.consent import services as consent_services
from sipflow.db import unit_of_work
from sipflow.meetings.models import Meeting
from sipflow.workflow.registry import GUARDS

pytestmark = pytest.mark.usefixtures("frozen_clock")

SCHOOL = "Skolan måste delta."
WHAT_TO_DO = "Lägg först till skolans enhet som deltagare: ”En annan enhet” under ”Lägg till deltagare”"
PLACE = "Elevhälsan, rum 3"


def _preparing(db_session, registry, parties, create_case, client, *, units):
    """A child's SIP in preparation (the kallelse is its next step), the region's user logged in."""
    case = create_case("sip_child", units=units)
    for trigger in ("give_consent", "start_preparation"):
        fire(db_session, registry, parties.region_user, case, trigger, now=now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    return case


@pytest.fixture
def without_school(db_session, registry, parties, create_case, client):
    return _preparing(db_session, registry, parties, create_case, client, units=[parties.municipality.id])


@pytest.fixture
def with_school(db_session, registry, parties, create_case, client):
    return _preparing(
        db_session, registry, parties, create_case, client, units=[parties.municipality.id, parties.school.id]
    )


def _kallelse_action(html: str) -> str:
    """The case page's kallelse step: its notice (if any) and form."""
    start = html.index('id="action-send_kallelse"')
    return html[start : html.index("</details>", start)]


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_case_pages_kallelse_form_says_the_school_must_take_part_before_it_is_filled(
    client, without_school
):
    html = text_of(client.get(f"/cases/{without_school.uid}"))
    action = _kallelse_action(html)
    notice = _plain(action[: action.index("<form")])
    assert SCHOOL in notice
    assert WHAT_TO_DO in notice
    # The form is still there: a school added in another tab lets the same form be sent.
    assert f'action="/cases/{without_school.uid}/transitions/send_kallelse"' in action


def test_the_booking_page_says_the_school_must_take_part_before_it_is_filled(client, without_school):
    html = text_of(client.get(f"/cases/{without_school.uid}/meetings/new"))
    notice = _plain(html[: html.index('<form method="post"')])
    assert SCHOOL in notice and WHAT_TO_DO in notice
    # The way to it: the case page's "Add a participant".
    assert f'href="/cases/{without_school.uid}#h-add"' in html


def test_a_sip_with_a_school_says_nothing_of_it(client, with_school):
    assert SCHOOL not in text_of(client.get(f"/cases/{with_school.uid}"))
    assert SCHOOL not in text_of(client.get(f"/cases/{with_school.uid}/meetings/new"))


def test_the_kallelse_sent_anyway_is_refused_once_with_what_was_typed_kept(
    client, db_session, without_school
):
    url = f"/cases/{without_school.uid}/transitions/send_kallelse"
    form = forms_of(text_of(client.get(f"/cases/{without_school.uid}")))[url]
    sent = fill(
        form,
        **{
            "send_kallelse-channel": "LINK",
            "send_kallelse-meeting_starts_at": "2026-11-10T10:00",
            "send_kallelse-location": PLACE,
        },
    )
    refused = client.post(url, data=sent)
    assert refused.status_code == 409
    html = text_of(refused)
    # Said once, at the top: not again over the form.
    assert html.count(SCHOOL) == 1
    kept = MultiDict(forms_of(html)[url])
    assert kept["send_kallelse-channel"] == "LINK"
    assert kept["send_kallelse-location"] == PLACE
    assert kept["send_kallelse-meeting_starts_at"] == "2026-11-10T10:00"
    db_session.expire_all()
    assert db_session.get(SipCase, without_school.id).state == "preparing"


def test_the_booking_sent_anyway_is_refused_once_with_what_was_typed_kept(client, db_session, without_school):
    url = f"/cases/{without_school.uid}/meetings/new"
    form = forms_of(text_of(client.get(url)))[url]
    sent = fill(form, date="2026-11-10", starts="10:00", ends="11:00", mode="on_site", location=PLACE)
    refused = client.post(url, data=sent)
    assert refused.status_code == 409
    html = text_of(refused)
    assert html.count(SCHOOL) == 1
    kept = MultiDict(forms_of(html)[url])
    assert (kept["date"], kept["starts"], kept["ends"], kept["location"]) == (
        "2026-11-10",
        "10:00",
        "11:00",
        PLACE,
    )
    db_session.expire_all()
    assert db_session.exec(select(Meeting).where(Meeting.case_id == without_school.id)).all() == []


def test_the_notice_goes_once_the_school_takes_part(client, parties, without_school):
    page = f"/cases/{without_school.uid}"
    url = f"{page}/participants/unit"
    form = forms_of(text_of(client.get(page)))[url]
    added = client.post(url, data=fill(form, **{"unit-unit_id": str(parties.school.id)}))
    assert added.status_code == 303, text_of(added)
    assert SCHOOL not in text_of(client.get(page))
    assert SCHOOL not in text_of(client.get(f"{page}/meetings/new"))


def test_the_guard_asked_before_the_form_sends_no_statement(db_session, registry, parties, without_school):
    """The page hands it what it read (the step's first read, the organisations taking part)."""
    now = now_utc()
    detail = queries.case_detail(db_session, registry, without_school, locale="sv", now=now)
    workflow = registry.get(without_school.workflow_name, without_school.workflow_version)
    kallelse = workflow.transition(without_school.state, "send_kallelse")
    with support.statements(db_session.get_bind()) as seen:
        found = services.refusals_before_form(
            db_session,
            workflow,
            without_school,
            parties.region_user,
            kallelse,
            now=now,
            reads=detail.step_reads,
            organisations=detail.organisations,
        )
    assert seen == []
    assert [str(message) for message in found] == [str(GUARDS["school_participates"].message)]


# A school that takes part but that the consent leaves out -------------------------------------------------

# What the guard says when the school takes part but no consent in force covers it.
NOT_COVERED = "Samtycket omfattar inte skolan"


@pytest.fixture
def school_left_out(db_session, registry, parties, create_case, client):
    """A child's SIP in preparation with the school taking part, whose consent covers the region and the
    municipality only (the guardians consented to sharing with health care and social services, not yet
    with the school)."""
    case = create_case("sip_child", units=[parties.municipality.id, parties.school.id])
    covered = [parties.region.organisation_id, parties.municipality.organisation_id]
    user = parties.region_user
    fire(db_session, registry, user, case, "give_consent", now=now_utc(), organisation_ids=covered)
    fire(db_session, registry, parties.region_user, case, "start_preparation", now=now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    return case


def test_a_school_the_consent_leaves_out_does_not_let_the_kallelse_go(client, db_session, school_left_out):
    """The child's SIP needs the school as a party: one that cannot see the SIP (and so cannot be invited to
    its meeting) is no party to it, and the forms say the consent must cover it before they are filled."""
    page = f"/cases/{school_left_out.uid}"
    notice = _plain(_kallelse_action(text_of(client.get(page))))
    assert NOT_COVERED in notice and "Registrera ytterligare samtycke" in notice
    booking = f"{page}/meetings/new"
    html = text_of(client.get(booking))
    notice = html[: html.index('<form method="post"')]
    assert NOT_COVERED in _plain(notice)
    # The way to it, one click away: the further consent's page.
    assert f'href="/cases/{school_left_out.uid}/consent/further"' in notice
    form = forms_of(html)[booking]
    sent = fill(form, date="2026-11-10", starts="10:00", ends="11:00", mode="on_site", location=PLACE)
    refused = client.post(booking, data=sent)
    assert refused.status_code == 409
    db_session.expire_all()
    assert db_session.get(SipCase, school_left_out.id).state == "preparing"
    assert db_session.exec(select(Meeting).where(Meeting.case_id == school_left_out.id)).all() == []


def test_a_further_consent_that_covers_the_school_lets_the_kallelse_go(
    client, db_session, registry, parties, school_left_out
):
    with unit_of_work(db_session):
        consent_services.record_further_consent(
            db_session,
            registry,
            school_left_out,
            parties.region_user,
            {"given_by": "guardian", "form": "written", "organisation_ids": [parties.school.organisation_id]},
            expected_version=school_left_out.version,
            now=now_utc(),
        )
    page = f"/cases/{school_left_out.uid}"
    assert NOT_COVERED not in text_of(client.get(page))
    assert NOT_COVERED not in text_of(client.get(f"{page}/meetings/new"))


def test_an_independent_school_taking_part_is_the_childs_school(
    client, db_session, registry, parties, create_case, make_unit
):
    """A friskola (an organisation of kind "friskola", not the municipality's) is the child's school as much
    as a municipal one: the kallelse asks for nothing more."""
    friskola = make_unit("friskola", "Lärande Friskola AB")
    case = _preparing(
        db_session, registry, parties, create_case, client, units=[parties.municipality.id, friskola.id]
    )
    assert SCHOOL not in text_of(client.get(f"/cases/{case.uid}"))
    assert SCHOOL not in text_of(client.get(f"/cases/{case.uid}/meetings/new"))
