"""Ny SIP warns when a child's SIP (a workflow file with childs_view) is started for a person of 18 or older
by the identifier's birth date, beside the kind of SIP: nothing is started until the user ticks the box that
confirms it for that kind and that age, or chooses another kind (testers: a child's SIP for an adult)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select
from support import valid_personnummer
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.people.identifiers import age_on

pytestmark = pytest.mark.usefixtures("frozen_clock")

WARNING = "Personen är 18 år och alltså vuxen, men den här typen av SIP är till för barn."
TICK = "Starta den här typen av SIP ändå, fast personen är vuxen"


def _born(years_ago: int, *, days_later: int = 0) -> date:
    today = to_local(now_utc()).date()
    return date(today.year - years_ago, today.month, today.day + days_later)


def _cases(db_session) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(SipCase)).one()


def _start(client, workflow_name: str, birth: date, **values):
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    data = {
        "workflow_name": workflow_name,
        "identifier": valid_personnummer(birth),
        "given_name": "Alva",
        "family_name": "Berg",
        "home_municipality_code": "0780",
    }
    return client.post("/cases/new", data=fill(form, **(data | values)))


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def test_a_childs_sip_for_an_adult_is_warned_of_beside_the_kind_and_started_once_confirmed(
    as_region, db_session
):
    birth = _born(18)  # 18 today
    assert age_on(birth, to_local(now_utc()).date()) == 18
    warned = _start(as_region, "sip_child", birth)
    assert warned.status_code == 400
    page = text_of(warned)
    # Beside the kind of SIP, with the box that confirms it right after.
    field = page[page.index('id="workflow_name"') : page.index('name="given_name"')]
    assert WARNING in field and TICK in field
    assert _cases(db_session) == 0

    # Sent again as it was, unticked: asked again. Ticked: started.
    form = forms_of(page)["/cases/new"]
    assert _start(as_region, "sip_child", birth, adult_ack=dict(form)["adult_ack"]).status_code == 400
    started = as_region.post("/cases/new", data=fill(form, confirm_adult="y"))
    assert started.status_code == 303
    assert _cases(db_session) == 1
    assert db_session.exec(select(SipCase.workflow_name)).one() == "sip_child"


def test_a_tick_given_for_another_kind_or_age_asks_again(as_region, db_session):
    form = forms_of(text_of(_start(as_region, "sip_child", _born(30))))["/cases/new"]
    # Another adult, of another age, typed after the tick: the warning is for them, asked afresh.
    other = fill(form, confirm_adult="y", identifier=valid_personnummer(_born(40)))
    again = as_region.post("/cases/new", data=other)
    assert again.status_code == 400
    assert "Personen är 40 år och alltså vuxen" in text_of(again)
    assert ("confirm_adult", "y") not in forms_of(text_of(again))["/cases/new"]
    assert _cases(db_session) == 0


def test_a_confirmed_tick_stays_while_another_field_is_refused(as_region, db_session):
    form = forms_of(text_of(_start(as_region, "sip_child", _born(30))))["/cases/new"]
    refused = as_region.post("/cases/new", data=fill(form, confirm_adult="y", given_name=""))
    assert refused.status_code == 400
    page = text_of(refused)
    assert "Personen är 30 år" not in page  # confirmed: not warned again
    kept = forms_of(page)["/cases/new"]
    assert ("confirm_adult", "y") in kept
    assert as_region.post("/cases/new", data=fill(kept, given_name="Alva")).status_code == 303
    assert _cases(db_session) == 1


def test_a_child_of_seventeen_and_an_adult_on_another_kind_are_not_warned(as_region, db_session):
    # 18 tomorrow: still a child today.
    assert _start(as_region, "sip_child", _born(18, days_later=1)).status_code == 303
    assert _start(as_region, "sip", _born(50)).status_code == 303
    assert _cases(db_session) == 2


def test_the_age_turns_on_the_birthday():
    assert age_on(date(2008, 11, 3), date(2026, 11, 2)) == 17
    assert age_on(date(2008, 11, 2), date(2026, 11, 2)) == 18
    # Born on 29 February: of age on 1 March of a year without one.
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
