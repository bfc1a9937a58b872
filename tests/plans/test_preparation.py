"""The preparation step keeps what was written and brings the person's own goals into the plan draft."""

from __future__ import annotations

import support
from plankit import save
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.plans.editor import plan_data
from sipflow.plans.models import PlanGoal
from sipflow.plans.services import find_plan


def _to_consent(db_session, registry, parties, case, now):
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)


def test_an_empty_questions_field_does_not_erase_what_was_written(
    db_session, registry, parties, create_case, now
):
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    case.questions = "Hur ser boendet ut?"
    db_session.add(case)
    db_session.commit()
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "start_preparation",
        now=now,
        data={"questions": None},
    )
    db_session.refresh(case)
    assert case.questions == "Hur ser boendet ut?"


def test_a_field_not_sent_does_not_erase_either(db_session, registry, parties, create_case, now):
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    case.questions = "Vem gör vad?"
    db_session.add(case)
    db_session.commit()
    support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=now, data={})
    db_session.refresh(case)
    assert case.questions == "Vem gör vad?"


def test_what_matters_to_the_person_becomes_their_own_goals_in_the_plan(
    db_session, registry, parties, create_case, now
):
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    data = {"questions": "Boendet?", "own_goals": "Att få bo kvar hemma\n\n  Att ha ett arbete  \n"}
    support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=now, data=data)
    plan = find_plan(db_session, case)
    goals = db_session.exec(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)
    ).all()
    assert [(g.kind, g.text) for g in goals] == [
        ("own", "Att få bo kvar hemma"),
        ("own", "Att ha ett arbete"),
    ]
    assert case.questions == "Boendet?"


def test_the_preparation_form_shows_what_is_stored_and_sending_it_loses_nothing(
    client, db_session, registry, parties, create_case, now
):
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    case.questions = "Hur ser boendet ut?"
    db_session.add(case)
    db_session.commit()
    # A goal already in the plan draft (written in the editor before the step).
    save(
        db_session,
        case,
        parties.region_user,
        {"own_goals": [{"uid": None, "text": "Att sova ordentligt"}]},
        now,
    )
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/transitions/start_preparation"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    sent = dict(form)
    assert sent["start_preparation-questions"].strip() == "Hur ser boendet ut?"
    assert sent["start_preparation-own_goals"].strip() == "Att sova ordentligt"
    assert client.post(url, data=fill(form)).status_code == 303
    db_session.expire_all()
    assert db_session.get(type(case), case.id).questions == "Hur ser boendet ut?"
    goals = plan_data(db_session, case, find_plan(db_session, case))["own_goals"]
    assert [g["text"] for g in goals] == ["Att sova ordentligt"]


def test_a_plan_started_by_the_preparation_is_a_fresh_draft_with_the_goals_in_order(
    db_session, registry, parties, create_case, now
):
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    data = {"own_goals": "Att läsa\natt läsa\nAtt resa"}
    support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=now, data=data)
    db_session.expire_all()
    plan = find_plan(db_session, case)
    assert (plan.row_version, plan.no_other_measures, plan.needs) == (1, False, None)
    assert plan.updated_by_user_id == parties.region_user.id
    assert plan.updated_at is not None
    goals = db_session.exec(select(PlanGoal).where(PlanGoal.plan_id == plan.id)).all()
    # The same goal twice (case aside) is kept once; each has its own uid.
    assert sorted((g.position, g.kind, g.text) for g in goals) == [
        (0, "own", "Att läsa"),
        (1, "own", "Att resa"),
    ]
    assert len({g.uid for g in goals}) == 2


def test_a_plan_already_started_keeps_its_goals_and_gets_a_new_row_version(
    db_session, registry, parties, create_case, now
):
    # The shortcut must not apply: the plan is there (written in the editor before the step).
    case = create_case()
    _to_consent(db_session, registry, parties, case, now)
    plan = save(
        db_session,
        case,
        parties.region_user,
        {"own_goals": [{"uid": None, "text": "Att sova ordentligt"}]},
        now,
    )
    plan_id, row_version = plan.id, plan.row_version
    data = {"own_goals": "att sova ordentligt\nAtt äta frukost"}
    support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=now, data=data)
    db_session.expire_all()
    plan = find_plan(db_session, case)
    assert (plan.id, plan.row_version) == (plan_id, row_version + 1)
    goals = db_session.exec(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position)
    ).all()
    assert [g.text for g in goals] == ["Att sova ordentligt", "Att äta frukost"]
    assert goals[1].position == goals[0].position + 1
