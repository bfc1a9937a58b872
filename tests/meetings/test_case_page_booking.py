"""The case page offers a further meeting only while a consent is in force (read once with the page)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from webkit import login

from sipflow.clock import now_utc, to_local
from sipflow.consent.models import Consent
from sipflow.db import unit_of_work


def test_the_case_page_offers_a_further_meeting_only_under_a_consent_in_force(
    client, db_session, parties, ready, book
):
    book()
    assert login(client, parties.region_user.username).status_code == 302
    page = f"/cases/{ready.case.uid}"
    further = f"/cases/{ready.case.uid}/meetings/new".encode()
    assert further in client.get(page).data

    # The consent ran out yesterday: nothing else changed, but no further meeting may share the time.
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == ready.case.id)):
            consent.valid_until = to_local(now_utc()).date() - timedelta(days=1)
            db_session.add(consent)
    response = client.get(page)
    assert response.status_code == 200
    assert further not in response.data
