"""A ward reports a patient utskrivningsklar on a Wednesday afternoon; the kallelse is due within three days,
on Saturday, moved to Monday (extend_to_working_day). Its "approaching" reminder, a day before, went out on
Sunday morning, when no one at the unit reads it, a day before the "falls today" one: on the Friday before,
when the kallelse could still be sent, nobody was warned. Over Christmas (a notice of 23 December, due on
Monday 28 December) it came on the Sunday after annandag jul. It goes on the last working day before its
day instead: that Friday, and 23 December itself."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta

import support
from remkit import reminder_mails, reminders, tick
from webkit import login, text_of

from sipflow.clock import local_to_utc, stored_utc, to_local
from sipflow.reminders.models import DEADLINE_SOON, SENT

APPROACHING = "En tidsfrist i en SIP närmar sig"


def _discharge_sip(db_session, registry, parties, make_person, frozen_clock, notice: datetime):
    """A discharge SIP entered five minutes after a notice of utskrivningsklar at notice (Swedish time)."""
    at = local_to_utc(notice)
    entered = at + timedelta(minutes=5)
    frozen_clock.set(entered)
    case = support.new_case(
        db_session, registry, parties.region_user, workflow="sip_discharge", person=make_person(),
        unit_ids=[parties.municipality.id], now=entered, utskrivningsklar_at=at,
    )  # fmt: skip
    db_session.commit()
    return case


def _approaching_mails(engine, case) -> list[str]:
    """The texts of the "approaching" mails of case, their lines joined."""
    return [
        " ".join(
            email.message_from_string(m.message, policy=email.policy.default)
            .get_body(preferencelist=("plain",))
            .get_content()
            .split()
        )
        for m in reminder_mails(engine)
        if m.subject == f"{APPROACHING} ({case.reference})"
    ]


def test_a_kallelse_due_after_a_weekend_is_said_to_approach_on_the_friday(
    app, engine, db_session, registry, parties, make_person, frozen_clock
):
    case = _discharge_sip(db_session, registry, parties, make_person, frozen_clock, datetime(2026, 11, 4, 14))
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert to_local(stored_utc(soon.due_at)) == to_local(local_to_utc(datetime(2026, 11, 6, 7)))

    friday = local_to_utc(datetime(2026, 11, 6, 7, 1))
    frozen_clock.set(friday)
    tick(app, friday)
    (mail,) = _approaching_mails(engine, case)
    assert "måndag 9 november 2026" in mail
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert (soon.status, soon.late) == (SENT, False)


def test_a_kallelse_due_after_christmas_is_said_to_approach_before_julafton(
    app, engine, db_session, registry, parties, make_person, frozen_clock
):
    notice = datetime(2026, 12, 23, 11)
    case = _discharge_sip(db_session, registry, parties, make_person, frozen_clock, notice)
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert to_local(stored_utc(soon.due_at)).date().isoformat() == "2026-12-23"

    later = local_to_utc(datetime(2026, 12, 23, 11, 10))
    frozen_clock.set(later)
    tick(app, later)
    (mail,) = _approaching_mails(engine, case)
    assert "måndag 28 december 2026" in mail


def test_a_kallelse_noticed_on_langfredag_is_not_warned_of_on_the_day_before(
    app, client, engine, db_session, registry, parties, make_person, frozen_clock
):
    # Reported utskrivningsklar on långfredag, 26 March 2027, at 10:00: three days run to annandag påsk, the
    # kallelse is due on Tuesday 30 March. Its "approaching" day moved back to skärtorsdag, the day before the
    # notice: the case page said it was late ("Försenad, skickas i efterhand") and it went out as late.
    case = _discharge_sip(db_session, registry, parties, make_person, frozen_clock, datetime(2027, 3, 26, 10))
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert stored_utc(soon.due_at) == local_to_utc(datetime(2027, 3, 26, 10))
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "skickas i efterhand" not in page
    assert "2027-03-25 07:00" not in page

    later = local_to_utc(datetime(2027, 3, 26, 10, 6))
    frozen_clock.set(later)
    tick(app, later)
    (mail,) = _approaching_mails(engine, case)
    assert "tisdag 30 mars 2027" in mail
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert (soon.status, soon.late) == (SENT, False)


def test_a_kallelse_noticed_on_a_friday_morning_is_warned_of_as_it_comes(
    app, engine, db_session, registry, parties, make_person, frozen_clock
):
    # Friday 5 March 2027 at 10:00: due on Monday 8 March; the Friday's 07:00 came before the notice.
    case = _discharge_sip(db_session, registry, parties, make_person, frozen_clock, datetime(2027, 3, 5, 10))
    (soon,) = reminders(engine, case_id=case.id, kind=DEADLINE_SOON)
    assert stored_utc(soon.due_at) == local_to_utc(datetime(2027, 3, 5, 10))
