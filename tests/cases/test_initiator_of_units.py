"""The initiator role is the organisation's, as huvudansvar is: each unit of the organisation that started the
SIP carries it, from the start, when it joins later and after huvudansvar has been handed on.

Växjö kommun's socialtjänst started a SIP with its boendestöd: the case page called boendestöd "deltagare"
until Växjö kommun handed huvudansvar to Alvesta kommun after the person moved, and "initiativtagare" after
it, though nothing about boendestöd had changed.
"""

from __future__ import annotations

import re

import pytest
import support
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Unit
from sipflow.plans.responsibility import give_huvudansvar

pytestmark = pytest.mark.usefixtures("frozen_clock")


def roles(db_session, case) -> dict[str, str]:
    db_session.expire_all()
    rows = db_session.exec(
        select(Unit.name, Participant.role)
        .join(Unit, Unit.id == Participant.unit_id)
        .where(Participant.case_id == case.id, Participant.kind == "organisation", Participant.active)
    ).all()
    return dict(rows)


def page_roles(client, case) -> dict[str, str]:
    """{unit: its part} as the case page's list of participants says them."""
    page = text_of(client.get(f"/cases/{case.uid}"))
    table = page[page.index('<table aria-labelledby="h-participants">') :]
    table = table[: table.index("</table>")]
    return dict(re.findall(r"<td>([^<]*)</td>\s*<td>([^<]*)</td>", table))


def test_each_unit_of_the_starting_municipality_is_initiator_before_and_after_a_hand_over(
    client, db_session, registry, make_unit, make_user, make_person, now
):
    ifo = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten (IFO)")
    boendestod, hemtjanst = (
        Unit(key=f"unit-{support.next_number()}", organisation_id=ifo.organisation_id, name=name)
        for name in ("Boendestöd", "Hemtjänsten")
    )
    db_session.add_all([boendestod, hemtjanst])
    region = make_unit("region", "Region Kronoberg", unit_name="Psykiatrimottagningen")
    alvesta = make_unit("municipality", "Alvesta kommun", unit_name="Socialtjänsten Alvesta")
    db_session.commit()
    sara = make_user(ifo)
    case = support.new_case(
        db_session,
        registry,
        sara,
        workflow="sip",
        person=make_person(),
        unit_ids=[boendestod.id, region.id, alvesta.id],
        now=now,
    )
    db_session.commit()
    started = {
        "Socialtjänsten (IFO)": "initiator",
        "Boendestöd": "initiator",
        "Psykiatrimottagningen": "participant",
        "Socialtjänsten Alvesta": "participant",
    }
    assert roles(db_session, case) == started
    login(client, sara.username)
    assert page_roles(client, case)["Boendestöd"] == "initiativtagare"
    # A unit of the starting organisation joining later is initiator too.
    with unit_of_work(db_session):
        services.add_unit_participant(
            db_session, registry, case, hemtjanst.id, now=now_utc(), expected_version=case.version
        )
    assert roles(db_session, case)["Hemtjänsten"] == "initiator"
    support.fire(db_session, registry, sara, case, "give_consent", now=now_utc())
    with unit_of_work(db_session):
        give_huvudansvar(
            db_session,
            case,
            sara,
            organisation_id=ifo.organisation_id,
            reason=None,
            expected_version=case.version,
            now=now_utc(),
        )
    with unit_of_work(db_session):
        give_huvudansvar(
            db_session,
            case,
            sara,
            organisation_id=alvesta.organisation_id,
            reason="Personen har flyttat",
            expected_version=case.version,
            now=now_utc(),
        )
    assert roles(db_session, case) == started | {
        "Hemtjänsten": "initiator",
        "Socialtjänsten Alvesta": "huvudansvarig",
    }
    assert page_roles(client, case)["Boendestöd"] == "initiativtagare"
