"""A reminder to a unit's staff names the unit with its organisation: unit names repeat across organisations.

A municipality starts the SIP, the person moves and the new municipality takes over huvudansvar; both
municipalities' units are called "Socialtjänsten (IFO)", so "Personalen på Socialtjänsten (IFO)" did not
say whose staff hear of the follow-up.
"""

from __future__ import annotations

from datetime import timedelta

import support
from remkit import UNTIL_PLAN, walk
from webkit import login

from sipflow.db import unit_of_work
from sipflow.plans.responsibility import give_huvudansvar

IFO = "Socialtjänsten (IFO)"


def reminder_section(client, case, lang: str = "sv") -> str:
    page = client.get(f"/cases/{case.uid}?lang={lang}").get_data(as_text=True)
    section = page[page.index('id="h-reminders"') :]
    return " ".join(section[: section.index("</section>")].split())


def test_the_new_municipalitys_staff_are_named_with_their_municipality_after_a_move(
    client, db_session, registry, make_unit, make_user, create_case
):
    vaxjo = make_unit("municipality", "Växjö kommun", unit_name=IFO)
    alvesta = make_unit("municipality", "Alvesta kommun", unit_name=IFO)
    region = make_unit("region", "Region Kronoberg", unit_name="Psykiatrimottagningen")
    sara, alva = make_user(vaxjo), make_user(alvesta)
    # The municipality starts the SIP and, by the plan form, holds huvudansvar when the plan is established.
    case = create_case("sip", units=[region.id, alvesta.id], actor=sara)
    walk(db_session, registry, sara, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        give_huvudansvar(
            db_session,
            case,
            sara,
            organisation_id=alvesta.organisation_id,
            reason="Personen har flyttat till Alvesta",
            expected_version=case.version,
            now=support.FIXED_NOW + timedelta(hours=2),
        )
    login(client, alva.username)
    section = reminder_section(client, case)
    assert f"Mottagare: Personalen på Alvesta kommun, {IFO}." in section
    assert f"Personalen på {IFO}." not in section
    assert f"Recipient: The staff of Alvesta kommun, {IFO}." in reminder_section(client, case, "en")
