"""Correcting the utskrivningsklar time of a discharge SIP while its kallelse deadline is open.

The party leading the SIP corrects it with a reason; the kallelse deadline's due time is computed anew by
the one rule (cases.deadlines.due_at) and its reminders follow; the correction is in the timeline and the
access log. Ny SIP's bounds apply, a stale form keeps what was typed, and once the kallelse went out the
time is what the deadline was measured from: no longer corrected.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import Session, select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases import corrections, deadlines
from sipflow.cases.errors import StaleCase
from sipflow.cases.models import Deadline, SipCase, TransitionLog
from sipflow.clock import now_utc, stored_utc, to_local
from sipflow.db import unit_of_work
from sipflow.errors import NotAllowed
from sipflow.reminders.models import PENDING, Reminder
from sipflow.security.audit import CASE_DATES, AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def discharge(create_case):
    """A discharge SIP whose patient was reported utskrivningsklar a day ago: its kallelse deadline open."""
    return create_case("sip_discharge", utskrivningsklar_at=now_utc() - timedelta(days=1))


def _url(case) -> str:
    return f"/cases/{case.uid}/utskrivningsklar"


def _kallelse(db_session, case) -> Deadline:
    db_session.expire_all()
    return db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()


def _reminder_times(engine, deadline_id) -> list:
    with Session(engine) as session:
        rows = session.exec(
            select(Reminder).where(Reminder.deadline_id == deadline_id, Reminder.status == PENDING)
        ).all()
        return sorted((r.kind, stored_utc(r.due_at)) for r in rows)


def _expected_due(registry, case, value):
    rule = next(
        r for r in registry.get(case.workflow_name, case.workflow_version).deadlines if r.kind == "kallelse"
    )
    return deadlines.due_at(rule, {rule.source_field: value})


def _local_field(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_correction_moves_the_deadline_and_its_reminders(
    engine, db_session, registry, parties, create_case, discharge
):
    before = _kallelse(db_session, discharge)
    old_due = stored_utc(before.due_at)
    old_reminders = _reminder_times(engine, before.id)
    assert old_reminders, "the kallelse deadline has reminders to move"
    corrected = now_utc() - timedelta(hours=2)
    with unit_of_work(db_session):
        moved = corrections.correct_start_date(
            db_session,
            registry,
            discharge,
            parties.region_user,
            name="utskrivningsklar_at",
            value=corrected,
            reason="Patienten var inte klar förrän i dag",
            expected_version=discharge.version,
            now=now_utc(),
        )
    assert [d.id for d in moved] == [before.id]
    after = _kallelse(db_session, discharge)
    assert stored_utc(after.due_at) == _expected_due(registry, discharge, corrected) != old_due
    assert stored_utc(db_session.get(SipCase, discharge.id).utskrivningsklar_at) == corrected
    # The reminders are those a SIP started with the corrected time has.
    fresh = create_case("sip_discharge", utskrivningsklar_at=corrected)
    expected = _reminder_times(engine, _kallelse(db_session, fresh).id)
    assert _reminder_times(engine, after.id) == expected != old_reminders


def test_the_page_corrects_and_the_timeline_and_access_log_show_it(
    client, engine, db_session, registry, parties, discharge
):
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{discharge.uid}"))
    assert f'href="{_url(discharge)}"' in page
    url = _url(discharge)
    form = forms_of(text_of(client.get(url)))[url]
    corrected = now_utc() - timedelta(hours=3)
    done = client.post(
        url,
        data=fill(form, utskrivningsklar_at=_local_field(corrected), reason="Ny anmälan från avdelningen"),
    )
    assert done.status_code == 303
    assert stored_utc(_kallelse(db_session, discharge).due_at) == _expected_due(
        registry, discharge, corrected
    )
    log = db_session.exec(
        select(TransitionLog).where(
            TransitionLog.case_id == discharge.id, TransitionLog.trigger == corrections.CORRECTION_TRIGGER
        )
    ).one()
    assert log.reason == "Ny anmälan från avdelningen" and log.user_id == parties.region_user.id
    assert log.from_state == log.to_state == discharge.state
    shown = text_of(client.get(f"/cases/{discharge.uid}"))
    assert "Tidpunkten för utskrivningsklar rättad" in shown and "Ny anmälan från avdelningen" in shown
    assert to_local(corrected).strftime("%H:%M") in shown
    with Session(engine) as session:
        logged = session.exec(
            select(AccessLogEntry).where(
                AccessLogEntry.case_id == discharge.id, AccessLogEntry.action == CASE_DATES
            )
        ).all()
    assert [row.user_id for row in logged] == [parties.region_user.id]


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (timedelta(hours=1), "Anmälan om utskrivningsklar kan inte ligga i framtiden."),
        (
            -timedelta(days=400),
            "Anmälan om utskrivningsklar kan inte vara mer än ett år gammal: kontrollera datumet.",
        ),
    ],
)
def test_the_bounds_of_ny_sip_are_refused_at_the_field(
    client, db_session, parties, discharge, moment, message
):
    due = _kallelse(db_session, discharge).due_at
    assert login(client, parties.region_user.username).status_code == 302
    url = _url(discharge)
    form = forms_of(text_of(client.get(url)))[url]
    refused = client.post(
        url, data=fill(form, utskrivningsklar_at=_local_field(now_utc() + moment), reason="Feltryck")
    )
    html = text_of(refused)
    assert refused.status_code == 400
    assert message in html and 'id="utskrivningsklar_at-error"' in html and "Feltryck" in html
    assert _kallelse(db_session, discharge).due_at == due


def test_a_reason_is_required_at_its_field(client, db_session, parties, discharge):
    assert login(client, parties.region_user.username).status_code == 302
    url = _url(discharge)
    form = forms_of(text_of(client.get(url)))[url]
    corrected = _local_field(now_utc() - timedelta(hours=3))
    refused = client.post(url, data=fill(form, utskrivningsklar_at=corrected, reason="  "))
    assert refused.status_code == 400
    assert 'id="reason-error"' in text_of(refused) and corrected in text_of(refused)


def test_a_stale_form_is_refused_and_keeps_the_reason(client, db_session, registry, parties, discharge):
    assert login(client, parties.region_user.username).status_code == 302
    url = _url(discharge)
    form = forms_of(text_of(client.get(url)))[url]
    due = _kallelse(db_session, discharge).due_at
    # Someone takes a step meanwhile: the SIP's version moves.
    support.fire(db_session, registry, parties.region_user, discharge, "give_consent", now=now_utc())
    stale = client.post(
        url,
        data=fill(
            form, utskrivningsklar_at=_local_field(now_utc() - timedelta(hours=3)), reason="Skrev fel dag"
        ),
    )
    html = text_of(stale)
    assert stale.status_code == 409
    assert "Skrev fel dag" in html and "Någon annan har ändrat" in html
    version = db_session.get(SipCase, discharge.id).version
    assert ("version", str(version)) in forms_of(html)[url]
    assert _kallelse(db_session, discharge).due_at == due
    # Sent again, at the version it now shows, it is a deliberate choice, and done.
    again = client.post(url, data=fill(forms_of(html)[url]))
    assert again.status_code == 303


def test_the_service_refuses_a_stale_version(db_session, registry, parties, discharge):
    with pytest.raises(StaleCase), unit_of_work(db_session):
        corrections.correct_start_date(
            db_session,
            registry,
            discharge,
            parties.region_user,
            name="utskrivningsklar_at",
            value=now_utc() - timedelta(hours=3),
            reason="Fel",
            expected_version=discharge.version - 1,
            now=now_utc(),
        )


def test_a_party_that_does_not_lead_the_sip_gets_403_and_one_that_does_not_see_it_404(
    client, db_session, registry, parties, discharge
):
    support.fire(db_session, registry, parties.region_user, discharge, "give_consent", now=now_utc())
    assert login(client, parties.municipality_user.username).status_code == 302
    assert client.get(f"/cases/{discharge.uid}").status_code == 200
    assert f'href="{_url(discharge)}"' not in text_of(client.get(f"/cases/{discharge.uid}"))
    page = client.get(_url(discharge))
    assert page.status_code == 403 and 'name="reason"' not in text_of(page)
    with pytest.raises(NotAllowed), unit_of_work(db_session):
        db_session.refresh(discharge)
        corrections.correct_start_date(
            db_session,
            registry,
            discharge,
            parties.municipality_user,
            name="utskrivningsklar_at",
            value=now_utc() - timedelta(hours=3),
            reason="Fel",
            expected_version=discharge.version,
            now=now_utc(),
        )
    client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/cases")))})
    assert login(client, parties.outsider_user.username).status_code == 302
    assert client.get(_url(discharge)).status_code == 404


def test_a_sip_without_the_date_has_no_such_page(client, parties, create_case):
    case = create_case("sip")
    assert login(client, parties.region_user.username).status_code == 302
    assert client.get(_url(case)).status_code == 404


def test_once_the_kallelse_went_out_the_time_is_no_longer_corrected(
    client, db_session, registry, parties, discharge
):
    for trigger in support.SIP_HAPPY_PATH[:3]:
        support.fire(db_session, registry, parties.region_user, discharge, trigger, now=now_utc())
    assert _kallelse(db_session, discharge).met_at is not None
    assert login(client, parties.region_user.username).status_code == 302
    assert f'href="{_url(discharge)}"' not in text_of(client.get(f"/cases/{discharge.uid}"))
    page = client.get(_url(discharge))
    assert page.status_code == 409 and "inte längre rättas" in text_of(page)
    assert 'name="reason"' not in text_of(page)
