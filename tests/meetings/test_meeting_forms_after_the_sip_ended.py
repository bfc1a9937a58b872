"""A meeting form sent after the SIP ended (closed or cancelled by someone else while the page was open) is
refused saying so, 409, with what was typed in the "Det du fyllde i" card, and nothing saved: it was the
403 "Åtkomst nekad: Din roll ger inte åtkomst till den här sidan", which blamed the user's role, and the
place, room or comment typed was gone."""

from __future__ import annotations

import pytest
from sqlmodel import select
from support import fire
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.meetings.models import Invitation, Meeting

ENDED = "SIP:en är avslutad: dess möten kan inte längre bokas eller ändras."
NOT_SAVED = ENDED + " Inget sparades."
PLACE, ROOM, COMMENT = "Storgatan 1, plan 3", "Rum Ekbacken", "Ringde och sa att hon kommer med sin syster"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _cancel(db_session, registry, parties, case) -> None:
    fire(db_session, registry, parties.region_user, case, "cancel", reason="Personen flyttade", now=now_utc())
    db_session.commit()


def _kept(html: str) -> str:
    """The "Det du fyllde i" card of a page."""
    start = html.index('id="h-kept-input"')
    return html[start : html.index("</section>", start)]


def test_a_booking_sent_after_the_sip_was_cancelled_says_so_and_keeps_the_place(
    as_region, db_session, registry, parties, ready
):
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(text_of(as_region.get(url)))[url]
    _cancel(db_session, registry, parties, ready.case)
    typed = {"date": "2026-12-10", "starts": "10:00", "ends": "11:00", "mode": "on_site"}
    response = as_region.post(url, data=fill(form, **typed, location=PLACE, room=ROOM))
    assert response.status_code == 409
    html = text_of(response)
    assert NOT_SAVED in html and "Din roll ger inte åtkomst" not in html
    assert PLACE in _kept(html) and ROOM in _kept(html)
    assert f'href="/cases/{ready.case.uid}"' in html
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).first() is None


def test_a_change_sent_after_the_sip_was_closed_keeps_what_was_typed(
    as_region, db_session, registry, parties, ready, book
):
    meeting = book()
    page = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    url = f"{page}/change"
    form = forms_of(text_of(as_region.get(page)))[url]
    _cancel(db_session, registry, parties, ready.case)
    response = as_region.post(
        url, data=fill(form, **{"change-mode": "on_site", "change-location": PLACE, "change-room": ROOM})
    )
    assert response.status_code == 409
    html = text_of(response)
    assert NOT_SAVED in html
    assert PLACE in _kept(html) and ROOM in _kept(html)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).location != PLACE


def test_an_answer_recorded_after_the_sip_ended_keeps_its_comment(
    as_region, db_session, registry, parties, ready, book
):
    meeting = book()
    page = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    silent = db_session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id, Invitation.participant_id == ready.relative_without_email.id
        )
    ).one()
    url = f"{page}/invitations/{silent.id}/answer"
    form = forms_of(text_of(as_region.get(page)))[url]
    _cancel(db_session, registry, parties, ready.case)
    prefix = next(name for name, _value in form if name.endswith("comment")).removesuffix("comment")
    response = as_region.post(
        url, data=fill(form, **{f"{prefix}partstat": "ACCEPTED", f"{prefix}comment": COMMENT})
    )
    assert response.status_code == 409
    assert COMMENT in _kept(text_of(response))
    db_session.expire_all()
    assert db_session.get(Invitation, silent.id).comment is None


def test_the_booking_page_of_an_ended_sip_says_it_has_ended(as_region, db_session, registry, parties, ready):
    _cancel(db_session, registry, parties, ready.case)
    response = as_region.get(f"/cases/{ready.case.uid}/meetings/new")
    assert response.status_code == 409
    html = text_of(response)
    assert ENDED in html and "Inget sparades" not in html and 'id="h-kept-input"' not in html


def test_a_party_that_does_not_book_on_an_open_sip_is_still_refused_by_its_role(client, parties, ready, book):
    meeting = book()
    assert login(client, parties.municipality_user.username).status_code == 302
    token = csrf_token(text_of(client.get(f"/cases/{ready.case.uid}")))
    response = client.post(
        f"/cases/{ready.case.uid}/meetings/{meeting.id}/cancel",
        data={"csrf_token": token, "version": str(meeting.sequence)},
    )
    assert response.status_code == 403
    assert ENDED not in text_of(response)
