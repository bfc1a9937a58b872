"""Ny SIP keeps the kind 'SIP' chosen by default: a ward nurse who types when the patient was reported
utskrivningsklar and leaves that kind would start a SIP without the discharge's three-day kallelse, the time
typed silently dropped. The date is refused beside its field for a kind that does not ask for it, what was
typed kept, and nothing is started."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import support
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_utskrivningsklar_typed_for_an_ordinary_sip_is_refused_and_kept(client, db_session, parties):
    login(client, parties.region_user.username)
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    ready = to_local(now_utc() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    data = fill(
        form,
        workflow_name="sip",
        utskrivningsklar_at=ready,
        identifier=support.valid_personnummer(date(1985, 3, 3)),
        given_name="Kim",
        family_name="Berg",
        home_municipality_code="0780",
    )
    data.setlist("unit_ids", [str(parties.municipality.id)])
    response = client.post("/cases/new", data=data)
    html = text_of(response)
    assert response.status_code == 400
    assert 'id="utskrivningsklar_at-error"' in html
    assert "Tidpunkten för utskrivningsklar gäller inte den typ av SIP du har valt" in html
    assert f'value="{ready}"' in html
    assert db_session.exec(select(SipCase)).first() is None


def test_the_service_refuses_a_start_date_the_kind_does_not_ask_for(create_case, now):
    with pytest.raises(InvalidInput) as refused:
        create_case("sip", utskrivningsklar_at=now - timedelta(hours=3))
    assert refused.value.field == "utskrivningsklar_at"
