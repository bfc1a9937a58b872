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


def test_the_case_page_names_an_invitee_who_no_longer_takes_part(client, db_session, parties, ready, book):
    from sipflow.cases.models import Participant

    book()
    with unit_of_work(db_session):
        relative = db_session.get(Participant, ready.relative.id)
        relative.removed_at = now_utc()
        db_session.add(relative)
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get(f"/cases/{ready.case.uid}").get_data(as_text=True)
    # The participants list no longer shows her; the meeting she was invited to still names her.
    assert "Eva Andersson (närstående)" in page
