"""A change or cancellation does not say every invitee is told when some are called some other way.

sipflow mails each invitee with an address; one called some other way (no address: a närstående reached by
phone) gets nothing. Told "every invitee gets an update", the staff would not phone them, and they would
join the old video link, or come to a meeting that is cancelled. The page says how many to tell themselves.
"""

from __future__ import annotations

from meetingkit import everyone
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.meetings.models import Invitation

CHANGED_ALL = "Mötet är ändrat och alla kallade får en uppdatering."
CANCELLED_ALL = "Mötet är inställt och alla kallade får besked."
CHANGED_ONE = (
    "Mötet är ändrat och alla kallade med e-postadress får en uppdatering. En kallad kallas på annat sätt: "
    "meddela hen själv."
)
CANCELLED_ONE = (
    "Mötet är inställt och alla kallade med e-postadress får besked. En kallad kallas på annat sätt: "
    "meddela hen själv."
)

WITHDRAWN_TOLD = "Kallelsen är återkallad och mottagaren får besked."
WITHDRAWN_OTHER_WAY = "Kallelsen är återkallad. Den kallade kallas på annat sätt: meddela hen själv."


def invitation_of_participant(db_session, meeting, participant) -> int:
    return db_session.exec(
        select(Invitation.id).where(
            Invitation.meeting_id == meeting.id, Invitation.participant_id == participant.id
        )
    ).one()


def posted(client, page_url: str, ending: str, **values) -> str:
    """Send the meeting page's form whose action ends with ending; the page it leads to, as text."""
    forms = forms_of(text_of(client.get(page_url)))
    (action,) = [a for a in forms if a and a.endswith(ending)]
    response = client.post(action, data=fill(forms[action], **values), follow_redirects=True)
    assert response.status_code == 200
    return " ".join(text_of(response).split())


def test_the_staff_are_told_to_tell_an_invitee_called_some_other_way(client, parties, ready, book):
    meeting = book(mode="video")
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"

    page = posted(
        client, url, "/change", **{"change-mode": "on_site", "change-location": "Storgatan 1, Växjö"}
    )
    assert CHANGED_ONE in page and CHANGED_ALL not in page

    page = posted(client, url, "/cancel")
    assert CANCELLED_ONE in page and CANCELLED_ALL not in page


def test_every_invitee_mailed_is_every_invitee_told(client, parties, ready, book):
    mailed = [pid for pid in everyone(ready) if pid != ready.relative_without_email.id]
    meeting = book(mode="video", invitee_ids=mailed)
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"

    page = posted(
        client, url, "/change", **{"change-mode": "on_site", "change-location": "Storgatan 1, Växjö"}
    )
    assert CHANGED_ALL in page
    page = posted(client, url, "/cancel")
    assert CANCELLED_ALL in page


def test_withdrawing_an_invitee_called_some_other_way_says_to_tell_them(
    client, db_session, parties, ready, book
):
    meeting = book(mode="video")
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    olle = invitation_of_participant(db_session, meeting, ready.relative_without_email)

    page = posted(client, url, f"/invitations/{olle}/withdraw")
    assert WITHDRAWN_OTHER_WAY in page and WITHDRAWN_TOLD not in page

    # One with an address is mailed the cancellation, as before.
    eva = invitation_of_participant(db_session, meeting, ready.relative)
    page = posted(client, url, f"/invitations/{eva}/withdraw")
    assert WITHDRAWN_TOLD in page and WITHDRAWN_OTHER_WAY not in page
