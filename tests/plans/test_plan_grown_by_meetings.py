"""A plan grown past the editor's limit of efforts by a meeting's decisions (carried into it unread, as
plans.from_meetings does) opens in the editor with every effort, and saving it keeps every row sent: the
user removes the efforts that are done, and nothing else goes."""

from __future__ import annotations

import pytest
from plankit import complete_data, new_decisions, save
from sqlmodel import select
from webkit import error_summary_of, fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans.editor import MAX_EFFORTS
from sipflow.plans.from_meetings import carry_decisions
from sipflow.plans.models import PlanEffort
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")

DECISIONS = 30


def _grown(db_session, parties, held) -> list[str]:
    """A plan at the limit of efforts, then a meeting's decisions carried into it; every effort's text."""
    now = now_utc()
    data = complete_data(held, parties, now)
    mine = [
        {
            "kind": "effort",
            "what": f"Insats {n}",
            "organisation_id": parties.municipality.organisation_id,
            "responsible": f"Handläggare {n}",
            "status": "done",
        }
        for n in range(MAX_EFFORTS - len(data["efforts"]))
    ]
    data["efforts"] = data["efforts"] + mine
    save(db_session, held, parties.region_user, data, now)
    with unit_of_work(db_session):
        decisions = new_decisions(db_session, parties, held, [f"Beslut {n}" for n in range(DECISIONS)])
        carry_decisions(db_session, held, decisions)
    texts = db_session.exec(
        select(PlanEffort.what).where(PlanEffort.plan_id == find_plan(db_session, held).id)
    ).all()
    assert len(texts) == MAX_EFFORTS + DECISIONS
    return list(texts)


def test_the_editor_shows_every_effort_of_a_plan_over_the_limit(client, db_session, parties, held):
    texts = _grown(db_session, parties, held)
    assert login(client, parties.region_user.username).status_code == 302
    response = client.get(f"/cases/{held.uid}/plan")
    assert response.status_code == 200
    page = text_of(response)
    assert all(f">{text}<" in page or f"\n{text}<" in page for text in texts)


def test_saving_a_plan_over_the_limit_keeps_every_row_not_removed(client, db_session, parties, held):
    _grown(db_session, parties, held)
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    # The user removes as many of their done efforts as the meeting added: the plan is at the limit again.
    removed = [f"Insats {n}" for n in range(DECISIONS)]
    rows = {value.strip(): name.rsplit("-", 1)[0] for name, value in form if name.endswith("-what")}
    ticks = {f"{rows[text]}-remove": "y" for text in removed}
    response = client.post(url, data=fill(form, action="save", **ticks))
    assert response.status_code == 303, text_of(response)
    kept = db_session.exec(
        select(PlanEffort.what).where(PlanEffort.plan_id == find_plan(db_session, held).id)
    ).all()
    assert len(kept) == MAX_EFFORTS
    assert {f"Beslut {n}" for n in range(DECISIONS)} <= set(kept)
    assert not set(removed) & set(kept)


def test_a_save_over_the_limit_says_how_many_efforts_must_go(client, db_session, parties, held):
    _grown(db_session, parties, held)
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(url, data=fill(form, action="save", needs="Stöd i vardagen"))
    assert response.status_code == 400
    # The user added none of them: the refusal says how many the plan has and how many must go.
    summary = error_summary_of(text_of(response))
    count, over = MAX_EFFORTS + DECISIONS, DECISIONS
    assert f"Högst {MAX_EFFORTS} insatser: planen har {count}, så {over} behöver tas bort." in summary
    # What was typed is kept.
    assert [v.strip() for n, v in forms_of(text_of(response))[url] if n == "needs"] == ["Stöd i vardagen"]
