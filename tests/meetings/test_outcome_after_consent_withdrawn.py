"""The outcome form after the consent was withdrawn for one organisation: the page and its post offer the same
rows, and neither offers that organisation's attendance nor it (or its unit) as a decision's owner (tester: a
refused post gained an attendance select for it, marked "Inte ett giltigt val."; the owner select offered
it, only for the step to refuse it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.consent.services import withdraw_for_organisation
from sipflow.db import unit_of_work
from sipflow.meetings.models import HELD, Meeting

NOT_A_VALID_CHOICE = "Inte ett giltigt val."


def _url(case) -> str:
    return f"/cases/{case.uid}/meetings/outcome"


def _withdraw_consent(db_session, registry, parties, case) -> None:
    """The person withdraws the consent for Växjö kommun, as /consent/withdraw-organisation records it."""
    with unit_of_work(db_session):
        withdraw_for_organisation(
            db_session,
            registry,
            case,
            parties.region_user,
            {"organisation_id": parties.municipality.organisation_id, "reason": None},
            expected_version=db_session.get(SipCase, case.id).version,
            now=now_utc(),
        )


def _selects(page: str, prefix: str) -> list[str]:
    return re.findall(rf'<select[^>]*name="({prefix}[\w-]*)"', page)


def _owner_values(page: str) -> set[str]:
    start = page.index('name="decisions-0-owner"')
    select = page[start : page.index("</select>", start)]
    return set(re.findall(r'<option[^>]*value="([^"]*)"', select))


@pytest.fixture(params=["before", "after"])
def withdrawn(request, frozen_clock, book, client, db_session, registry, parties, ready):
    """A booked meeting, the consent withdrawn for Växjö kommun before it (its invitation withdrawn) or after
    it started (its invitation stands: the meeting was no longer ahead), the clock an hour after the start,
    the region's user logged in."""
    meeting = book()
    if request.param == "after":
        frozen_clock.set(meeting.starts_at + timedelta(minutes=30))
    _withdraw_consent(db_session, registry, parties, ready.case)
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    return meeting


def test_the_page_offers_neither_its_attendance_nor_it_as_an_owner(client, parties, ready, withdrawn):
    page = text_of(client.get(_url(ready.case)))
    attendance = _selects(page, "attendance_")
    assert f"attendance_{ready.municipality.id}" not in attendance
    assert f"attendance_{ready.region.id}" in attendance and f"attendance_{ready.person.id}" in attendance
    owners = _owner_values(page)
    assert f"organisation:{parties.municipality.organisation_id}" not in owners
    assert f"unit:{parties.municipality.id}" not in owners
    assert f"organisation:{parties.region.organisation_id}" in owners
    assert f"participant:{ready.person.id}" in owners


def test_a_refused_post_shows_the_same_rows_and_only_its_own_error(client, db_session, ready, withdrawn):
    url = _url(ready.case)
    first = text_of(client.get(url))
    pairs = forms_of(first)[url]
    before_start = to_local(ready.case.requested_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url, data=fill(pairs, held_at=before_start, moved="y", no_change_reason="Inget ändras")
    )
    page = text_of(response)
    assert response.status_code == 400
    assert _selects(page, "attendance_") == _selects(first, "attendance_")
    assert _selects(page, "carer_support_") == _selects(first, "carer_support_")
    assert _owner_values(page) == _owner_values(first)
    assert NOT_A_VALID_CHOICE not in page
    assert page.count('aria-invalid="true"') == 1
    assert 'id="held_at-error"' in page
    # Sent right, the outcome is recorded.
    held_at = to_local(withdrawn.starts_at).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, data=fill(forms_of(page)[url], held_at=held_at, moved=None))
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    assert db_session.get(Meeting, withdrawn.id).status == HELD
