"""A kallelse recorded from another system refuses every field at fault at once: the form's own refusals
(a channel left empty, a length out of range) and the service's (a sending time ahead, "sipflow" as the
other system) come in one send, each beside its field, with what was typed kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from support import fire
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.meetings.models import Meeting

pytestmark = pytest.mark.usefixtures("frozen_clock")

AHEAD = "En kallelse kan inte skickas i framtiden."
REQUIRED = "Fältet måste fyllas i."
LENGTH = "Mellan 15 och 480 minuter."
FROM_SIPFLOW = "Använd ”Boka möte och skicka kallelse”"
PLACE = "Vårdcentralen Teleborg, rum 3"


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</ul>", start)]


@pytest.fixture
def preparing(client, db_session, registry, parties, create_case):
    """A SIP in preparation (the kallelse is its next step), the region's user logged in."""
    case = create_case()
    for trigger in ("give_consent", "start_preparation"):
        fire(db_session, registry, parties.region_user, case, trigger, now=now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    return case


def _post(client, case, **values):
    url = f"/cases/{case.uid}/transitions/send_kallelse"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    return client.post(url, data=fill(form, **{f"send_kallelse-{k}": v for k, v in values.items()}))


def _unchanged(db_session, case) -> bool:
    db_session.expire_all()
    meetings = db_session.exec(select(Meeting)).all()
    return db_session.get(SipCase, case.id).state == "preparing" and not meetings


def test_an_empty_channel_and_a_sending_time_ahead_are_refused_together(client, db_session, preparing):
    tomorrow = to_local(now_utc() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    starts = to_local(now_utc() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = _post(
        client, preparing, channel="", sent_at=tomorrow, meeting_starts_at=starts, location=PLACE
    )
    assert response.status_code == 400
    html = text_of(response)
    assert REQUIRED in _error_of(html, "send_kallelse-channel")
    assert AHEAD in _error_of(html, "send_kallelse-sent_at")
    # Nothing typed is lost.
    assert tomorrow in html and starts in html and PLACE in html
    assert _unchanged(db_session, preparing)


def test_sipflow_as_the_other_system_and_a_length_out_of_range_are_refused_together(
    client, db_session, preparing
):
    starts = to_local(now_utc() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = _post(client, preparing, channel="sipflow", meeting_starts_at=starts, meeting_minutes="5")
    assert response.status_code == 400
    html = text_of(response)
    assert LENGTH in _error_of(html, "send_kallelse-meeting_minutes")
    assert FROM_SIPFLOW in _error_of(html, "send_kallelse-channel")
    assert _unchanged(db_session, preparing)


def test_a_time_the_form_cannot_read_keeps_its_own_error_alone_beside_the_services_others(
    client, db_session, preparing
):
    # Year 1 has no UTC time: the service is asked without it, and refuses the channel all the same.
    response = _post(client, preparing, channel="sipflow", sent_at="0001-01-01T00:00")
    assert response.status_code == 400
    html = text_of(response)
    assert "Ange ett datum mellan 1900-01-01 och" in _error_of(html, "send_kallelse-sent_at")
    assert AHEAD not in html
    assert FROM_SIPFLOW in _error_of(html, "send_kallelse-channel")
    assert _unchanged(db_session, preparing)
