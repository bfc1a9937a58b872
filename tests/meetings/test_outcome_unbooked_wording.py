"""The outcome of a meeting not booked in sipflow: the page speaks of no booking, no move and no answers.

With the kallelse sent through another system, or a follow-up held without a booking here, the page said
"the same day as booked, unless the meeting was moved", offered "The meeting was moved", and said the
attendance was filled in from the answers to the kallelse: none of which there was.
"""

from __future__ import annotations

from meetingkit import fire
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc


def test_a_meeting_not_booked_here_is_recorded_without_booking_words(
    client, db_session, registry, parties, ready
):
    # The kallelse sent through another system, its meeting booked there.
    fire(
        db_session,
        registry,
        parties.region_user,
        ready.case,
        "send_kallelse",
        channel="LINK",
        sent_at=now_utc(),
        meeting_starts_at=None,
        send_invitations=False,
    )
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    page = text_of(client.get(url))
    assert "Ett möte som inte bokats i sipflow" in page
    assert "om inte mötet flyttades" not in page and 'name="moved"' not in page
    assert "Ifyllt från svaren på kallelsen" not in page
    assert "Svensk tid (Europe/Stockholm)." in page
    assert "Ange för varje deltagare hur den deltog, eller att den var frånvarande." in page

    pairs = forms_of(page)[url]
    attendance = {name: "on_site" for name, _value in pairs if name.startswith("attendance_")}
    sent = client.post(url, data=fill(pairs, no_change_reason="Planen gäller som den är.", **attendance))
    assert sent.status_code == 303, text_of(sent)


def test_a_booked_meeting_keeps_its_booking_words(client, db_session, registry, parties, ready, book):
    book()
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/outcome"))
    assert "om inte mötet flyttades" in page and 'name="moved"' in page
    assert "Ifyllt från svaren på kallelsen" in page
