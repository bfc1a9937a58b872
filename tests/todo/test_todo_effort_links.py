"""Att göra's efforts past their end date lead to the plan's efforts, where they are kept.

The row linked to the case page, which lists no effort: the handler looked for the plan's link and then
for the effort in it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Deadline
from sipflow.clock import to_local
from sipflow.plans.models import Plan, PlanEffort

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_an_effort_past_its_end_date_links_to_the_plans_efforts(
    client, db_session, registry, parties, create_case, now
):
    case = create_case()
    # Under a consent in force, which lets the municipality see the SIP.
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    for deadline in db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).all():
        deadline.met_at = now
        db_session.add(deadline)
    plan = db_session.exec(select(Plan).where(Plan.case_id == case.id)).first() or Plan(case_id=case.id)
    db_session.add(plan)
    db_session.flush()
    ended = to_local(now).date() - timedelta(days=4)
    what = "Boendestöd två gånger i veckan"
    db_session.add(
        PlanEffort(
            plan_id=plan.id,
            what=what,
            organisation_id=parties.municipality.organisation_id,
            ends_on=ended,
            status="ongoing",
            position=0,
        )
    )
    db_session.commit()
    # The municipality's handler: the effort is theirs, the plan the region's to write.
    assert login(client, parties.municipality_user.username).status_code == 302

    page = text_of(client.get("/"))
    section = re.search(r'<section class="card todo-section" id="todo-efforts".*?</section>', page, re.S)
    assert section and what in section.group(0)
    link = re.search(rf'<a href="([^"]+)">{case.reference}</a>', section.group(0))
    assert link and link.group(1) == f"/cases/{case.uid}/plan#efforts"

    plan_page = client.get(link.group(1).split("#")[0])
    assert plan_page.status_code == 200
    html = text_of(plan_page)
    assert 'id="efforts"' in html and what in html
    assert f'href="/cases/{case.uid}/plan#efforts"' in text_of(client.get("/todo/efforts"))
