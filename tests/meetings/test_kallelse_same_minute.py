"""A kallelse recorded from another system in the minute the SIP was started: the form's prefilled "Sent at"
(to the minute, so earlier than the start's seconds) is accepted; a time really before the start is not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW, fire, new_case
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.errors import InvalidInput

BEFORE_START = "En kallelse kan inte ha skickats innan SIP:en påbörjades."


@pytest.fixture
def started_this_minute(db_session, registry, parties, make_person, frozen_clock):
    """A SIP started at 09:00:40, consented and in preparation by 09:00:50: all in one minute."""
    frozen_clock.set(FIXED_NOW + timedelta(seconds=40))
    case = new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip",
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=now_utc(),
    )
    db_session.commit()
    frozen_clock.advance(timedelta(seconds=5))
    fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    frozen_clock.advance(timedelta(seconds=5))
    fire(db_session, registry, parties.region_user, case, "start_preparation", now=now_utc())
    assert case.requested_at.second == 40
    return case


def test_the_prefilled_sent_at_of_the_same_minute_is_accepted(
    client, db_session, parties, started_this_minute
):
    case = started_this_minute
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/transitions/send_kallelse"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    prefilled = dict(form)["send_kallelse-sent_at"]
    assert prefilled == to_local(case.requested_at).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, data=fill(form, **{"send_kallelse-channel": "LINK"}))
    assert BEFORE_START not in text_of(response)
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state != "preparing"


def test_a_time_before_the_minute_of_the_start_is_still_refused(
    db_session, registry, parties, started_this_minute
):
    case = started_this_minute
    with pytest.raises(InvalidInput) as refused:
        fire(
            db_session,
            registry,
            parties.region_user,
            case,
            "send_kallelse",
            now=now_utc(),
            channel="LINK",
            sent_at=case.requested_at.replace(second=0) - timedelta(minutes=1),
        )
    assert refused.value.field == "sent_at"
