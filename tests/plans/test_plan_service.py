"""save_plan at the service layer: a round trip loses nothing, ids and meeting decisions are kept, the
child's fields, the access log of the page, and any input is saved or refused as InvalidInput."""

from __future__ import annotations

from copy import deepcopy
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plankit import complete_data, new_decisions, save, today, walk
from sqlalchemy import delete
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.errors import InvalidInput, UserError
from sipflow.meetings.models import Meeting, MeetingDecision
from sipflow.people.models import Person
from sipflow.plans.content import plan_content
from sipflow.plans.editor import PlanConflict, plan_data
from sipflow.plans.from_meetings import carry_decisions
from sipflow.plans.models import PlanEffort, PlanGoal
from sipflow.plans.services import LAST_VERSION_NUMBER, STEP_PERSON, find_plan, read_step_plan
from sipflow.plans.versions import freeze_version
from sipflow.security.audit import PLAN_VIEW, AccessLogEntry
from sipflow.workflow.context import TransitionContext

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_saving_the_stored_data_again_changes_nothing_but_the_row_version(db_session, parties, held):
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    before, version = plan_content(db_session, held, plan), plan.row_version
    again = save(db_session, held, parties.region_user, plan_data(db_session, held, plan), now)
    assert plan_content(db_session, held, again) == before
    assert again.row_version == version + 1


def test_an_effort_from_a_meeting_decision_keeps_its_decision_and_uid_when_edited(db_session, parties, held):
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == held.id)).first()
    decision = MeetingDecision(
        meeting_id=meeting.id,
        text="Kontakta boendestödet",
        organisation_id=parties.municipality.organisation_id,
        due_on=today(now) + timedelta(days=14),
    )
    db_session.add(decision)
    db_session.flush()
    effort = PlanEffort(
        plan_id=plan.id,
        what=decision.text,
        organisation_id=decision.organisation_id,
        decision_id=decision.id,
        position=99,
    )
    db_session.add(effort)
    db_session.commit()
    data = plan_data(db_session, held, plan)
    row = next(e for e in data["efforts"] if e["uid"] == effort.uid)
    row["responsible"] = "Omar Lind"
    save(db_session, held, parties.region_user, data, now)
    db_session.expire_all()
    kept = db_session.exec(select(PlanEffort).where(PlanEffort.uid == effort.uid)).one()
    assert (kept.decision_id, kept.responsible, kept.what) == (
        decision.id,
        "Omar Lind",
        "Kontakta boendestödet",
    )


def test_the_child_fields_show_for_a_person_under_18_and_the_view_stays_on_the_case(
    client, db_session, registry, parties, create_case, make_person
):
    now = now_utc()
    case = create_case()
    person = db_session.get(Person, case.person_id)
    person.birth_date = date(today(now).year - 15, 1, 1)
    db_session.add(person)
    db_session.commit()
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    assert "child_view" in dict(form) and "child_view_missing_reason" in dict(form)
    response = client.post(url, data=fill(form, action="save", child_view="Vill spela fotboll"))
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(type(case), case.id).child_view == "Vill spela fotboll"


def test_an_adult_has_no_child_fields(client, parties, create_case):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{case.uid}/plan"))
    assert 'name="child_view"' not in html


def test_reading_the_plan_page_is_in_the_access_log(client, db_session, parties, create_case):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    assert client.get(f"/cases/{case.uid}/plan").status_code == 200
    db_session.expire_all()
    rows = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.case_id == case.id)).all()
    assert PLAN_VIEW in {r.action for r in rows}


_TEXTS = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.text(min_size=1001, max_size=1002))
_DATES = st.one_of(st.none(), st.dates(), st.text(max_size=5), st.datetimes())
_EFFORT = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["effort", "own", "other", "??", None]),
        "what": _TEXTS,
        "organisation_id": st.one_of(st.none(), st.integers(-3, 10), st.just("1"), st.just(True)),
        "unit_id": st.one_of(st.none(), st.integers(-3, 10)),
        "responsible": _TEXTS,
        "actor": _TEXTS,
        "starts_on": _DATES,
        "ends_on": _DATES,
        "status": st.sampled_from(["planned", "done", "lost", None]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    efforts=st.lists(_EFFORT, max_size=3),
    goals=st.lists(
        st.fixed_dictionaries({"uid": st.one_of(st.none(), st.text(max_size=4)), "text": _TEXTS}), max_size=3
    ),
    follow_up=_DATES,
    no_other=st.one_of(st.booleans(), st.just("yes")),
)
def test_any_input_is_saved_or_refused_as_invalid_input(
    db_session, parties, held, efforts, goals, follow_up, no_other
):
    now = now_utc()
    plan = find_plan(db_session, held)
    before = plan_content(db_session, held, plan) if plan else None
    data = {"efforts": efforts, "own_goals": goals, "follow_up_on": follow_up, "no_other_measures": no_other}
    try:
        save(db_session, held, parties.region_user, data, now)
    except InvalidInput:
        db_session.expire_all()
        plan = find_plan(db_session, held)
        assert (plan_content(db_session, held, plan) if plan else None) == before
    except UserError as error:  # pragma: no cover - any other refusal is a bug in the checks
        raise AssertionError(f"unexpected refusal {error!r}") from error


def test_a_plan_step_reads_the_plan_with_the_person_and_the_last_version_number(
    db_session, registry, parties, create_case
):
    """read_step_plan: no plan yet is None (the person still found, number 0); a plan comes with them."""
    case = create_case()
    ctx = TransitionContext(session=db_session, case=case, actor=None, now=now_utc())
    assert read_step_plan(ctx) is None
    assert (ctx.memo[STEP_PERSON].id, ctx.memo[LAST_VERSION_NUMBER]) == (case.person_id, 0)
    held = walk(db_session, registry, parties.region_user, create_case(), now_utc())
    freeze_version(db_session, held, trigger="establish_plan", actor=None, now=now_utc())
    ctx = TransitionContext(session=db_session, case=held, actor=None, now=now_utc())
    assert read_step_plan(ctx) is find_plan(db_session, held)
    assert (ctx.memo[STEP_PERSON].id, ctx.memo[LAST_VERSION_NUMBER]) == (held.person_id, 1)


def test_decisions_just_recorded_follow_the_plans_last_effort(db_session, parties, held):
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    last = max(e.position for e in db_session.exec(select(PlanEffort).where(PlanEffort.plan_id == plan.id)))
    decisions = new_decisions(db_session, parties, held, ["Boendestöd", "Hemtjänst"])
    added = carry_decisions(db_session, held, decisions, just_recorded=True)
    assert len(added) == 2
    rows = db_session.exec(
        select(PlanEffort).where(PlanEffort.decision_id.is_not(None)).order_by(PlanEffort.position)
    ).all()
    assert [(e.plan_id, e.position, e.what, e.decision_id) for e in rows] == [
        (plan.id, last + 1, "Boendestöd", decisions[0].id),
        (plan.id, last + 2, "Hemtjänst", decisions[1].id),
    ]
    assert {e.status for e in rows} == {"planned"} and len({e.uid for e in rows}) == 2


def test_decisions_just_recorded_start_the_plan_when_there_is_none(db_session, parties, held):
    # The shortcut must not apply: no plan yet, so the INSERT ... SELECT writes nothing; the plan is started.
    started = find_plan(db_session, held)
    if started is not None:  # the preparation's own goals started it
        db_session.execute(delete(PlanGoal).where(PlanGoal.plan_id == started.id))
        db_session.delete(started)
        db_session.flush()
    assert find_plan(db_session, held) is None
    decisions = new_decisions(db_session, parties, held, ["Boendestöd", "Hemtjänst"])
    assert len(carry_decisions(db_session, held, decisions, just_recorded=True)) == 2
    plan = find_plan(db_session, held)
    rows = db_session.exec(
        select(PlanEffort).where(PlanEffort.plan_id == plan.id).order_by(PlanEffort.position)
    ).all()
    assert [(e.position, e.what) for e in rows] == [(0, "Boendestöd"), (1, "Hemtjänst")]


def test_a_nul_in_a_text_is_refused_as_invalid_input_at_its_field(db_session, parties, held):
    # The web refuses a NUL in any form; a caller of the service (CLI, script) is refused at the field, not
    # with the database's error (PostgreSQL stores no NUL).
    with pytest.raises(InvalidInput) as refused:
        save(db_session, held, parties.region_user, {"own_goals": [{"text": "Att må\x00 bättre"}]}, now_utc())
    assert refused.value.field == "own_goals-0-text"


@pytest.mark.parametrize("just_recorded", [True, False])
def test_an_editor_page_read_before_decisions_were_carried_in_is_refused_not_removing_them(
    db_session, parties, held, just_recorded
):
    # The editor saves the whole plan: a page read before a meeting's decisions became efforts does not hold
    # them, so saving it must be a conflict (what was typed is kept), never their silent removal.
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    read_at, page = plan.row_version, plan_data(db_session, held, plan)
    decisions = new_decisions(db_session, parties, held, ["Boendestöd", "Hemtjänst"])
    carry_decisions(db_session, held, decisions, just_recorded=just_recorded)
    db_session.commit()
    page["needs"] = "Ändrat på sidan."
    with pytest.raises(PlanConflict):
        save(db_session, held, parties.region_user, page, now, expected=read_at)
    db_session.rollback()
    carried = db_session.exec(select(PlanEffort.what).where(PlanEffort.decision_id.is_not(None))).all()
    assert sorted(carried) == ["Boendestöd", "Hemtjänst"]


def test_sending_the_same_plan_twice_is_saved_once_not_a_conflict(db_session, parties, held):
    # A double click (or the same page sent again) carries the version read before the first save: what it
    # holds is saved already, so it is no conflict with "someone else"; different content still is one.
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    read_at = plan.row_version
    page = complete_data(held, parties, now, needs="Stöd med ekonomin.")
    page["own_goals"].append({"uid": None, "text": "Att få ett eget boende."})
    save(db_session, held, parties.region_user, deepcopy(page), now, expected=read_at)
    saved = plan_content(db_session, held, find_plan(db_session, held))
    again = save(db_session, held, parties.region_user, deepcopy(page), now, expected=read_at)
    assert again.row_version == read_at + 1
    assert plan_content(db_session, held, again) == saved
    page["needs"] = "Något annat."
    with pytest.raises(PlanConflict):
        save(db_session, held, parties.region_user, page, now, expected=read_at)


def test_no_measures_by_others_and_a_measure_by_others_together_are_refused(db_session, parties, held):
    now = now_utc()
    # The complete plan lists Arbetsförmedlingen's work training: it cannot also say there is none.
    with pytest.raises(InvalidInput) as refused:
        save(
            db_session,
            held,
            parties.region_user,
            complete_data(held, parties, now, no_other_measures=True),
            now,
        )
    assert refused.value.field == "no_other_measures"
    # A cancelled measure by others is history, not a measure: the box may then be ticked.
    data = complete_data(held, parties, now, no_other_measures=True)
    data["efforts"][-1]["status"] = "cancelled"
    assert save(db_session, held, parties.region_user, data, now).no_other_measures
