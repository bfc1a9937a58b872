"""A child's SIP with two guardians at different addresses, through real e-mail (aiosmtpd): each guardian
gets an invitation of their own, and no mail or calendar entry names the child, their personnummer or the
other guardian's address (a parent with a protected address must not be found through the other's mail)."""

from __future__ import annotations

import re
from datetime import timedelta

from icalendar import Calendar
from meetingkit import fire, next_week_at
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.models import Meeting
from sipflow.people.models import Person

MARIA = "maria.lindqvist@example.se"
JONAS = "jonas.berg@example.net"


def _guardian(db_session, registry, case, name, address):
    with unit_of_work(db_session):
        return services.add_private_participant(
            db_session, registry, case, kind="guardian", name=name, relation="förälder", email=address,
            phone=None, now=now_utc(),
        )  # fmt: skip


def test_each_guardian_gets_their_own_invitation_naming_neither_the_child_nor_the_other_parent(
    smtp_app, smtp_server, db_session, registry, parties, create_case
):
    case = create_case("sip_child")
    maria = _guardian(db_session, registry, case, "Maria Lindqvist", MARIA)
    jonas = _guardian(db_session, registry, case, "Jonas Berg", JONAS)
    user = parties.region_user
    fire(db_session, registry, user, case, "give_consent", guardian_participant_ids=[maria.id, jonas.id])
    fire(db_session, registry, user, case, "start_preparation")
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    starts_at = next_week_at(10)
    log = fire(
        db_session, registry, user, case, "send_kallelse", send_invitations=True, meeting_starts_at=starts_at,
        meeting_ends_at=starts_at + timedelta(hours=1), mode="on_site", location="Elevhälsan, Växjö",
        invitee_ids=[p.id for p in rows if p.active],
    )  # fmt: skip
    assert db_session.get(Meeting, log.details["meeting_id"]) is not None
    person = db_session.get(Person, case.person_id)
    received = {tuple(mail.rcpt_tos): mail.message for mail in smtp_server.received}
    assert (MARIA,) in received and (JONAS,) in received
    for own, other in ((MARIA, JONAS), (JONAS, MARIA)):
        message = received[(own,)]
        whole = message.as_string()
        assert other not in whole, f"{own}'s invitation names {other}"
        part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
        (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
        assert str(event["SUMMARY"]) == f"SIP-möte {case.reference}"
        texts = " ".join(str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text")
        for private in (person.given_name, person.family_name, "Lindqvist", "Berg"):
            assert not re.search(rf"\b{private}\b", str(message["Subject"]))
            assert not re.search(rf"\b{private}\b", str(event.get("SUMMARY")) + str(event.get("DESCRIPTION")))
        number = re.sub(r"\D", "", person.id_number)
        for spelt in (person.id_number, number, number[2:], f"{number[2:8]}-{number[8:]}"):
            assert spelt not in texts
