"""Several units of one organisation take part in a SIP, and a unit taken off it may come back.

A care team has BUP beside the vårdcentral, socialtjänsten (IFO) beside boendestöd: each unit has its own
contact person, reminders and KVÅ codes. The one rule (cases.services.units_taking_part): every active unit
not taking part may be added, another unit of an organisation on the SIP and a removed one too; the
initiator's own unit takes part from the start.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import support
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import CaseVisibility, Participant, SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

KIM_PNR = support.valid_personnummer(date(1984, 2, 9), serial=326)


def _second_unit(db_session, of: Unit, name: str) -> Unit:
    """Another unit of the organisation of `of`."""
    unit = Unit(key=f"unit-{support.next_number()}", organisation_id=of.organisation_id, name=name)
    db_session.add(unit)
    db_session.commit()
    return unit


def _unit_url(case) -> str:
    return f"/cases/{case.uid}/participants/unit"


def _offered(html: str) -> set[int]:
    """The unit ids the case page's "Another unit" picker offers."""
    picker = re.search(r'<select id="unit-unit_id".*?</select>', html, re.S)[0]
    return {int(value) for value in re.findall(r'<option value="(\d+)"', picker)}


def _add_on_page(client, case, unit_id):
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[_unit_url(case)]
    return client.post(_unit_url(case), data=fill(form, **{"unit-unit_id": str(unit_id)}))


def _version(db_session, case) -> int:
    db_session.expire_all()
    return db_session.get(SipCase, case.id).version


def _participants_table(html: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-participants">.*?</section>', html, re.S)[0]


def _rows_naming(html: str, name: str) -> int:
    """How many rows of the participants table name name (a row names it twice: its cell and its link)."""
    return sum(name in row for row in re.findall(r"<tr>.*?</tr>", _participants_table(html), re.S))


def _removed_history(html: str) -> str:
    return re.search(r'aria-labelledby="h-removed">.*?</section>', html, re.S)[0]


def _active_rows(db_session, case, unit_id) -> list[Participant]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(Participant).where(
                Participant.case_id == case.id, Participant.unit_id == unit_id, Participant.active
            )
        ).all()
    )


def _remove_on_page(client, case, participant_id, reason):
    url = f"/cases/{case.uid}/participants/{participant_id}/remove"
    form = forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, reason=reason))


def _consent(db_session, registry, parties, case):
    """The person consents for the region and the municipality (Mina SIP shows the SIP to both)."""
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        now=now_utc(),
        organisation_ids=[parties.region.organisation_id, parties.municipality.organisation_id],
    )


def _logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/cases")))})


def test_a_second_unit_of_an_organisation_on_the_sip_is_offered_and_added(
    client, db_session, parties, create_case
):
    bup = _second_unit(db_session, parties.region, "BUP Växjö")
    boendestod = _second_unit(db_session, parties.municipality, "Boendestöd")
    case = create_case()
    login(client, parties.region_user.username)
    offered = _offered(text_of(client.get(f"/cases/{case.uid}")))
    # Other units of the initiator's and of a participating organisation; not the units taking part.
    assert {bup.id, boendestod.id} <= offered
    assert parties.region.id not in offered and parties.municipality.id not in offered

    assert _add_on_page(client, case, bup.id).status_code == 303
    assert _add_on_page(client, case, boendestod.id).status_code == 303
    html = text_of(client.get(f"/cases/{case.uid}"))
    table = _participants_table(html)
    assert "BUP Växjö" in table and "Boendestöd" in table
    assert _offered(html).isdisjoint({bup.id, boendestod.id, parties.region.id, parties.municipality.id})
    assert len(_active_rows(db_session, case, bup.id)) == 1
    assert len(_active_rows(db_session, case, boendestod.id)) == 1
    # Mina SIP's candidates: one row per organisation, however many of its units take part.
    rows = db_session.exec(select(CaseVisibility).where(CaseVisibility.case_id == case.id)).all()
    assert sorted(row.organisation_id for row in rows) == sorted(
        {parties.region.organisation_id, parties.municipality.organisation_id}
    )


def test_a_double_post_of_the_same_add_is_answered_as_done(client, db_session, parties, create_case):
    bup = _second_unit(db_session, parties.region, "BUP Växjö")
    case = create_case()
    login(client, parties.region_user.username)
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[_unit_url(case)]
    data = fill(form, **{"unit-unit_id": str(bup.id)})
    assert client.post(_unit_url(case), data=data).status_code == 303
    version = _version(db_session, case)
    again = client.post(_unit_url(case), data=data)
    assert again.status_code == 303
    html = text_of(client.get(f"/cases/{case.uid}"))
    assert "Inget ändrades: enheten deltar redan i SIP:en." in html
    assert len(_active_rows(db_session, case, bup.id)) == 1
    # Nothing written the second time: the SIP's version is as the first add left it.
    assert _version(db_session, case) == version


def test_an_add_of_a_unit_someone_added_meanwhile_is_answered_as_done(
    client, db_session, registry, parties, create_case
):
    bup = _second_unit(db_session, parties.region, "BUP Växjö")
    case = create_case()
    login(client, parties.region_user.username)
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[_unit_url(case)]
    with unit_of_work(db_session):
        services.add_unit_participant(db_session, registry, case, bup.id, now=now_utc())
    # A stale form, but what it asks is so: done, not a conflict, no second row.
    answer = client.post(_unit_url(case), data=fill(form, **{"unit-unit_id": str(bup.id)}))
    assert answer.status_code == 303
    assert "Inget ändrades: enheten deltar redan i SIP:en." in text_of(client.get(f"/cases/{case.uid}"))
    assert len(_active_rows(db_session, case, bup.id)) == 1


def test_a_removed_unit_can_be_added_again(client, db_session, parties, create_case, registry):
    case = create_case()
    _consent(db_session, registry, parties, case)
    (first,) = _active_rows(db_session, case, parties.municipality.id)
    login(client, parties.region_user.username)
    assert _remove_on_page(client, case, first.id, "Tillagd av misstag").status_code == 303
    html = text_of(client.get(f"/cases/{case.uid}"))
    assert parties.municipality.id in _offered(html)
    _logout(client)
    # The municipality's staff no longer see it in Mina SIP.
    login(client, parties.municipality_user.username)
    assert case.reference not in text_of(client.get("/cases"))
    _logout(client)

    login(client, parties.region_user.username)
    assert _add_on_page(client, case, parties.municipality.id).status_code == 303
    html = text_of(client.get(f"/cases/{case.uid}"))
    # On the SIP once, a row of its own; the removal stays in the history with its reason.
    assert _rows_naming(html, "Växjö kommun") == 1
    (again,) = _active_rows(db_session, case, parties.municipality.id)
    assert again.id != first.id
    history = _removed_history(html)
    assert "Växjö kommun" in history and "Tillagd av misstag" in history
    assert parties.municipality.id not in _offered(html)
    rows = db_session.exec(
        select(CaseVisibility).where(
            CaseVisibility.case_id == case.id,
            CaseVisibility.organisation_id == parties.municipality.organisation_id,
        )
    ).all()
    assert len(rows) == 1
    _logout(client)

    login(client, parties.municipality_user.username)
    assert case.reference in text_of(client.get("/cases"))
    assert client.get(f"/cases/{case.uid}").status_code == 200


def test_a_removed_second_unit_of_an_organisation_still_on_the_sip_comes_back(
    client, db_session, registry, parties, create_case, make_user
):
    boendestod = _second_unit(db_session, parties.municipality, "Boendestöd")
    staff = make_user(boendestod)
    case = create_case(units=[parties.municipality.id, boendestod.id])
    _consent(db_session, registry, parties, case)
    (row,) = _active_rows(db_session, case, boendestod.id)
    login(client, parties.region_user.username)
    assert _remove_on_page(client, case, row.id, "Fel enhet").status_code == 303
    assert boendestod.id in _offered(text_of(client.get(f"/cases/{case.uid}")))
    assert _add_on_page(client, case, boendestod.id).status_code == 303
    assert len(_active_rows(db_session, case, boendestod.id)) == 1
    html = text_of(client.get(f"/cases/{case.uid}"))
    assert _rows_naming(html, "Boendestöd") == 1
    assert "Fel enhet" in _removed_history(html)
    _logout(client)
    # Boendestöd's staff have the SIP in Mina SIP.
    login(client, staff.username)
    assert case.reference in text_of(client.get("/cases"))


def test_new_sip_offers_the_own_organisation_s_other_units_and_starts_with_them(client, db_session, parties):
    bup = _second_unit(db_session, parties.region, "BUP Växjö")
    psykiatri = _second_unit(db_session, parties.region, "Psykiatriska kliniken")
    login(client, parties.region_user.username)
    html = text_of(client.get("/cases/new"))
    assert f'id="unit_ids-{bup.id}"' in html and f'id="unit_ids-{psykiatri.id}"' in html
    # The user's own unit takes part anyway: not offered.
    assert f'id="unit_ids-{parties.region.id}"' not in html
    form = forms_of(html)["/cases/new"]
    data = fill(
        form,
        workflow_name="sip",
        identifier=KIM_PNR,
        given_name="Kim",
        family_name="Berg",
        home_municipality_code="0780",
        unit_ids=[str(bup.id), str(parties.municipality.id)],
    )
    response = client.post("/cases/new", data=data)
    assert response.status_code == 303, text_of(response)
    case = db_session.exec(select(SipCase).order_by(SipCase.id.desc())).first()
    units = {
        p.unit_id
        for p in db_session.exec(
            select(Participant).where(Participant.case_id == case.id, Participant.active)
        ).all()
    }
    assert {parties.region.id, bup.id, parties.municipality.id} <= units
    assert psykiatri.id not in units
    visible = db_session.exec(select(CaseVisibility).where(CaseVisibility.case_id == case.id)).all()
    assert len(visible) == 2
