"""The preparation step keeps what was written and brings the person's own goals into the plan draft."""

from __future__ import annotations

import support


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
