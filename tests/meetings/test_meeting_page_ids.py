"""The meeting page holds several forms (one withdraw button per invitee, cancel, change, invite, answers):
no element id repeats, so each label points at its own field; the forms still post as before."""

from __future__ import annotations

import re
from collections import Counter

from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.meetings.models import Invitation, Meeting


def _repeated_ids(html: str) -> list[str]:
    return sorted(name for name, n in Counter(re.findall(r'\bid="([^"]+)"', html)).items() if n > 1)


def test_no_id_repeats_on_the_meeting_page_and_its_button_forms_still_post(
    client, db_session, parties, ready, book
):
    meeting = book()
    invited = db_session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id)).all()
    assert len(invited) >= 2  # a withdraw button each, besides the cancel button
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    html = text_of(client.get(url))
    assert _repeated_ids(html) == []
    forms = forms_of(html)
    # The withdraw and cancel forms post their fields under the names the views read.
    withdraw = f"{url}/invitations/{invited[0].id}/withdraw"
    assert {"csrf_token", "version"} <= {name for name, _value in forms[withdraw]}
    assert client.post(withdraw, data=fill(forms[withdraw])).status_code == 303
    html = text_of(client.get(url))
    assert _repeated_ids(html) == []
    cancelled = client.post(f"{url}/cancel", data=fill(forms_of(html)[f"{url}/cancel"]))
    assert cancelled.status_code == 303
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "cancelled"
