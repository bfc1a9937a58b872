"""A SIP goes from request to closing through the service layer, one transaction per step."""

from datetime import datetime, timedelta

import pytest
import support
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.errors import GuardFailed, PartyNotAllowed, StaleCase, TransitionNotAllowed
from sipflow.cases.models import Deadline, SipCase, TransitionLog
from sipflow.cases.scripted import scripted_input
from sipflow.clock import local_to_utc
from sipflow.errors import InvalidInput
from sipflow.meetings.models import Meeting


def fire(db_session, registry, actor, case, trigger, now, data=None):
    return support.fire(db_session, registry, actor, case, trigger, now=now, data=data)


@pytest.mark.parametrize("workflow", ["sip", "sip_discharge", "sip_child"])
def test_full_lifecycle_logs_every_step(workflow, db_session, registry, parties, create_case, now):
    case = create_case(workflow)
    for step, trigger in enumerate(support.SIP_HAPPY_PATH, start=1):
        fire(db_session, registry, parties.region_user, case, trigger, now + timedelta(minutes=step))
    assert case.state == "closed"
    assert case.version == len(support.SIP_HAPPY_PATH) + 1
    logs = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id).order_by(TransitionLog.id)
    ).all()
    assert [log.trigger for log in logs] == ["create", *support.SIP_HAPPY_PATH]
    assert all(log.user_id == parties.region_user.id for log in logs)
    meetings = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all()
    assert {m.status for m in meetings} == {"held"}


def test_discharge_kallelse_deadline_is_three_days_after_utskrivningsklar(db_session, create_case, now):
    case = create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=1))
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()
    assert deadline.kind == "kallelse"
    # Whole days: to the end of the third day in Sweden (Thursday 5 November 2026, a working day).
    assert deadline.due_at == local_to_utc(datetime(2026, 11, 4, 23, 59, 59))


def test_kallelse_meets_the_deadline(db_session, registry, parties, create_case, now):
    case = create_case()
    for trigger in support.SIP_HAPPY_PATH[:3]:
        fire(db_session, registry, parties.region_user, case, trigger, now)
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()
    assert deadline.met_at == now


def test_stale_version_is_refused_and_changes_nothing(db_session, registry, parties, create_case, now):
    case = create_case()
    with pytest.raises(StaleCase):
        services.fire_transition(
            db_session,
            registry,
            parties.region_user,
            case,
            "give_consent",
            expected_version=case.version - 1,
            now=now,
            data=scripted_input(db_session, case, "consent", now),
        )
    db_session.rollback()
    db_session.refresh(case)
    assert (case.state, case.version) == ("requested", 1)


def test_party_without_role_is_refused(db_session, registry, parties, create_case, now):
    case = create_case()
    with pytest.raises(PartyNotAllowed):
        fire(db_session, registry, parties.outsider_user, case, "give_consent", now)


def test_transition_not_in_state_is_refused(db_session, registry, parties, create_case, now):
    case = create_case()
    with pytest.raises(TransitionNotAllowed):
        fire(db_session, registry, parties.region_user, case, "close", now)


def test_guard_failure_rolls_back_everything(db_session, registry, parties, create_case, now):
    case = create_case(units=[])
    fire(db_session, registry, parties.region_user, case, "give_consent", now)
    with pytest.raises(GuardFailed) as refused:
        fire(db_session, registry, parties.region_user, case, "start_preparation", now)
    assert refused.value.guard == "two_organisations"
    db_session.rollback()
    db_session.refresh(case)
    assert (case.state, case.version) == ("consent_given", 2)


@pytest.mark.parametrize(
    ("days_ago", "message"),
    [
        (400, "Anmälan om utskrivningsklar kan inte vara mer än ett år gammal: kontrollera datumet."),
        (365 * 60, "Anmälan om utskrivningsklar kan inte ligga före personens födelse."),
    ],
)
def test_an_implausibly_old_discharge_notice_is_refused_at_its_field(
    db_session, registry, create_case, now, days_ago, message
):
    # Accepted, a notice decades back made every list show a kallelse late since 1900.
    before = len(db_session.exec(select(SipCase)).all())
    with pytest.raises(InvalidInput) as refused:
        create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=days_ago))
    assert refused.value.field == "utskrivningsklar_at" and str(refused.value.message) == message
    db_session.rollback()
    assert len(db_session.exec(select(SipCase)).all()) == before
    # A notice from last month is a SIP registered late, not a typing error.
    assert create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=30)).utskrivningsklar_at
