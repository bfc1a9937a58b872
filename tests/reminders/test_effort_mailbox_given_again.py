"""Arbetsförmedlingen's office in Kalmar takes part in a SIP with no one of it having an account: its
overdue effort's reminder, written just after midnight, goes to the office's shared mailbox. Before seven
an administrator corrected the mailbox by taking it away and then typing the new one. The case page then
named "Personalen på Arbetsförmedlingen, Kalmar" (a staff the office does not have), while at seven the
reminder went to the new mailbox: the page names the unit's address on the SIP again, as it does for a
reminder written after the change."""

from __future__ import annotations

from datetime import datetime

from remkit import effort_row, office_with_an_overdue_effort, reminder_mails, reminders, tick
from webkit import login

from sipflow.admin import directory
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Unit

FORMER = "sip.kalmar@arbetsformedlingen.example.se"
MAILBOX = "kalmar.samverkan@arbetsformedlingen.example.se"
AT_THE_MAILBOX = "Mottagare: Arbetsförmedlingen, Kalmar (enhetens e-postadress i SIP:en)"


def _edit_mailbox(db_session, unit_id: int, mailbox: str | None) -> None:
    """An administrator saves the unit's form with mailbox as its e-mail address."""
    with unit_of_work(db_session):
        unit = db_session.get(Unit, unit_id)
        directory.edit_unit(
            db_session, None, unit, name=unit.name, kind=unit.kind, is_health_care=unit.is_health_care,
            email=mailbox, hsa_id=unit.hsa_id, now=now_utc(),
        )  # fmt: skip


def test_an_overdue_efforts_reminder_names_the_mailbox_given_again(
    app, engine, client, db_session, registry, parties, create_case, make_unit
):
    office, _, case = office_with_an_overdue_effort(
        db_session, registry, parties, create_case, make_unit, None,
        agency="Arbetsförmedlingen", mailbox=FORMER, what="Arbetsträning", staff=False,
    )  # fmt: skip
    tick(app, datetime.fromisoformat("2026-11-22T23:30:00+00:00"))
    login(client, parties.region_user.username)
    assert AT_THE_MAILBOX in effort_row(client, case)

    _edit_mailbox(db_session, office.id, None)
    assert "Skickas inte" in effort_row(client, case)

    _edit_mailbox(db_session, office.id, MAILBOX)
    row = effort_row(client, case)
    assert AT_THE_MAILBOX in row, row
    assert "Kommande" in row

    tick(app, datetime.fromisoformat("2026-11-23T06:00:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
    assert [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id] == [MAILBOX]
