"""Arbetsförmedlingen's office in Kalmar takes part in a SIP with no one of it having an account: its
overdue effort's reminder, written just after midnight, goes to the office's shared mailbox. Before seven
an administrator corrected the mailbox by taking it away and then typing the new one. The case page then
named "Personalen på Arbetsförmedlingen, Kalmar" (a staff the office does not have), while at seven the
reminder went to the new mailbox: the page names the unit's address on the SIP again, as it does for a
reminder written after the change."""

from __future__ import annotations

from datetime import datetime

from remkit import (
    effort_row,
    office_with_an_overdue_effort,
    reminder_mails,
    reminders,
    save_unit_mailbox,
    tick,
)
from webkit import login

FORMER = "sip.kalmar@arbetsformedlingen.example.se"
MAILBOX = "kalmar.samverkan@arbetsformedlingen.example.se"
AT_THE_MAILBOX = "Mottagare: Arbetsförmedlingen, Kalmar (enhetens e-postadress i SIP:en)"


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

    save_unit_mailbox(db_session, office.id, None)
    assert "Skickas inte" in effort_row(client, case)

    save_unit_mailbox(db_session, office.id, MAILBOX)
    row = effort_row(client, case)
    assert AT_THE_MAILBOX in row, row
    assert "Kommande" in row

    tick(app, datetime.fromisoformat("2026-11-23T06:00:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
    assert [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id] == [MAILBOX]
