"""Meeting operations: book, change, cancel, invite and uninvite, and record answers.

Every operation writes the meeting, its invitations and the e-mails it causes (outbox rows, see
meetings/messages.py) in the caller's transaction; nothing is sent before commit. iTIP rules kept here:
the UID never changes, SEQUENCE rises with every change sent out, and each invitation remembers the
SEQUENCE it was last sent, so a late answer to an older version is recognised as outdated.
A write to a case's meetings outside a step first locks the case's row (cases.services.lock_case), as a
step's claim does: the meetings a step reads after its claim (outcome.step_meetings) hold until its commit.
Booking a meeting outside a step claims the case's version instead (cases.services.touch_case), which holds
the row the same way and makes any form read before the booking stale.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Date, Integer, bindparam, func
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.cases.errors import PartyNotAllowed
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import (
    StepReads,
    fire_transition,
    lock_case,
    lock_cases,
    own_step_just_taken,
    touch_case,
)
from sipflow.clock import to_local
from sipflow.config import VIDEO_ROOM_LENGTH
from sipflow.db import compare_and_set, mark_written
from sipflow.errors import Conflict, InvalidInput, NotAllowed, Refusals, refusal_of
from sipflow.meetings import messages
from sipflow.meetings.booking import (
    Booking,
    participants_by_id,
    read_booking,
    read_change,
    read_invitees,
    take_place_and_day,
)
from sipflow.meetings.models import (
    ANSWER_MODES,
    CANCELLED,
    EMAIL,
    FIRST,
    FOLLOW_UP,
    HELD,
    OTHER,
    PARTSTATS,
    PLANNED,
    WRITTEN_BY_CLAIM,
    Invitation,
    Meeting,
    new_nonce,
)
from sipflow.meetings.outcome import OUTCOME_FORM
from sipflow.meetings.permissions import KALLELSE_FORM, booking_permission, kallelse_transitions
from sipflow.notifications.outbox import drop_unsent_to
from sipflow.people.models import Unit, User
from sipflow.security import access, audit
from sipflow.translated import lazy_gettext as _l

if TYPE_CHECKING:
    from sipflow.workflow.definition import TransitionDef
    from sipflow.workflow.engine import WorkflowRegistry

logger = logging.getLogger(__name__)
ANSWERS = tuple(p for p in PARTSTATS if p != "NEEDS-ACTION")
COMMENT_MAX = 1000


# The meetings' refusals of something that changed or stands in the way: conflicts (409), each its code.
class MeetingClosed(Conflict):
    """The meeting is cancelled or held: it cannot change any more."""

    code = "meeting_closed"


class StaleMeeting(Conflict):
    """Someone else changed the meeting since the form was loaded."""


class OutdatedAnswer(Conflict):
    """An answer to an older version of the meeting than the invitee was last sent: it changed since."""

    code = "outdated_sequence"


class UnknownVersion(Conflict):
    """An answer to a version of the meeting that was never sent."""

    code = "unknown_sequence"


class StaleAnswer(Conflict):
    """Someone else recorded the invitee's answer since the form was loaded."""

    code = "stale_answer"


class AnswersThemselves(NotAllowed):
    """Staff record answers only for invitees called some other way: one with an e-mail answers by link."""

    code = "answers_themselves"


STALE_MEETING = _l(
    "Someone else changed the meeting while you were working. Check it as it is now: what you entered "
    "is kept below, and sending it again applies it."
)


def video_url_for(room: str) -> str:
    """The join link of a video room, from SIPFLOW_VIDEO_URL_TEMPLATE."""
    return current_app.config["VIDEO_URL_TEMPLATE"].format(room=room)


def _new_video_url() -> str:
    # Unguessable: the link is the only key to the room. VIDEO_ROOM_LENGTH characters (3 bytes make 4), the
    # length the start's check of SIPFLOW_VIDEO_URL_TEMPLATE counts, so every link fits Meeting.video_url.
    room = secrets.token_urlsafe(VIDEO_ROOM_LENGTH * 3 // 4)
    return video_url_for(room.replace("_", "x").replace("-", "y"))


def invitee_addresses(session: Session, participants: Sequence[Participant]) -> dict[int, str | None]:
    """Participant.mail_address of each participant by id (the one rule); the contact persons and units of
    those without an address of their own read in one statement, not one each (none when every one has an
    address or is no unit)."""
    wanted = sorted(
        {
            p.id
            for p in participants
            if not p.email and (p.contact_user_id is not None or p.unit_id is not None)
        }
    )
    found = (
        {
            participant_id: (contact, unit)
            for participant_id, contact, unit in session.exec(
                select(Participant.id, User, Unit)
                .outerjoin(User, User.id == Participant.contact_user_id)
                .outerjoin(Unit, Unit.id == Participant.unit_id)
                .where(Participant.id.in_(wanted))
            ).all()
        }
        if wanted
        else {}
    )
    return {p.id: p.mail_address(*found.get(p.id, (None, None))) for p in participants}


def _role(participant: Participant) -> str:
    return "OPT-PARTICIPANT" if participant.kind == "narstaende" else "REQ-PARTICIPANT"


def _meeting_invitations(session: Session, meeting: Meeting) -> list[Invitation]:
    """Every invitation of the meeting, withdrawn ones too."""
    return list(session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id)).all())


def active_invitations(session: Session, meeting: Meeting) -> list[Invitation]:
    """The meeting's invitations that are not withdrawn."""
    return list(
        session.exec(
            select(Invitation)
            .where(Invitation.meeting_id == meeting.id, Invitation.active)
            .order_by(Invitation.id)
        ).all()
    )


def told_some_other_way(session: Session, meeting: Meeting) -> int:
    """How many of the meeting's invitees sipflow mails nothing (called some other way, without an address:
    `Invitation.answers_through_staff`; messages.queue_messages mails the e-mail channel only). A change or
    cancellation reaches them only if the staff tell them, so the page that made it says so."""
    return session.exec(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.meeting_id == meeting.id, Invitation.answers_through_staff)
    ).one()


# A meeting's active invitations, each with its invitee's organisation and whether a consent in force on the
# day covers it: who may still be sent the meeting (security.access.seeing_among), in the same statement.
_ACTIVE_INVITATIONS_WITH_COVERAGE = (
    select(
        Invitation,
        Participant.organisation_id,
        access.consent_covers_participant(bindparam("today", type_=Date)).label(access.COVERED),
    )
    .join(Participant, Participant.id == Invitation.participant_id)
    .where(Invitation.meeting_id == bindparam("meeting_id", type_=Integer), Invitation.active)
    .order_by(Invitation.id)
)


def covered_invitations(
    session: Session, case: SipCase, meeting: Meeting, *, now: datetime
) -> tuple[list[Invitation], list[Invitation]]:
    """The meeting's active invitations, split: those the consent in force lets see the SIP (a private
    person, the initiator, an organisation it covers), and those it no longer does (its validity ran out).

    The rule is the access rule's (security.access), read with the invitations in one statement.
    """
    params = {"meeting_id": meeting.id, "today": to_local(now).date()}
    rows = session.exec(_ACTIVE_INVITATIONS_WITH_COVERAGE, params=params).all()
    seeing = access.seeing_among(case, ((organisation_id, covered) for _, organisation_id, covered in rows))
    kept: list[Invitation] = []
    uncovered: list[Invitation] = []
    for invitation, organisation_id, _ in rows:
        (kept if organisation_id is None or organisation_id in seeing else uncovered).append(invitation)
    return kept, uncovered


# What a meeting no longer planned became, told to whoever would still change it (mostly someone who read it
# before another cancelled it or recorded its outcome).
CLOSED_MESSAGES = {
    CANCELLED: _l("The meeting has been cancelled; it can no longer be changed."),
    HELD: _l("The meeting has already been held: its outcome is recorded, and it can no longer be changed."),
}


def closed_refusal(meeting: Meeting) -> MeetingClosed | None:
    """Why meeting can no longer change, naming what it became (cancelled or held); None while planned.

    The status is the meeting's as read: a claim refused reads it again (_claim), nothing else does.
    """
    if meeting.status == PLANNED:
        return None
    return MeetingClosed(CLOSED_MESSAGES[meeting.status])


def _require_planned(meeting: Meeting) -> None:
    if (refusal := closed_refusal(meeting)) is not None:
        raise refusal


def meeting_kind(session: Session, case: SipCase, meetings: Sequence[Meeting] | None = None) -> str:
    """The kind a meeting booked now is given: 'first' until a meeting of the case has been held, then
    'follow_up'. Provisional: of meetings booked before any is held, the last one booked may be held first,
    so the kind is settled when a meeting is recorded as held (settle_meeting_kinds).

    meetings: every meeting of the case, when the caller has read them already (then nothing is read).
    """
    if meetings is not None:
        return FOLLOW_UP if any(m.status == HELD for m in meetings) else FIRST
    held = session.exec(select(Meeting.id).where(Meeting.case_id == case.id, Meeting.status == HELD)).first()
    return FIRST if held is None else FOLLOW_UP


def settle_meeting_kinds(session: Session, held: Meeting, meetings: Sequence[Meeting]) -> list[Meeting]:
    """Settle the kinds of a case's meetings as held (status HELD, held_at set) is recorded as held: the one
    place the kind that counts (its code records, the statistics' first meetings) is decided.

    The SIP's first meeting is the held meeting held first, by the time it was held (of two at the same
    time, the one recorded as held before); every other meeting of the case, held, booked or cancelled, is
    a follow-up. meetings: every meeting of the case, held among them or not (a meeting recorded without a
    booking is new). Returns the meetings recorded as held before whose kind changed: their code records
    carry the old kind, and the coding reverses and records them again (coding.effects.record_codes). The
    outcome refuses a meeting held before the SIP's last one (inputs._held_at), so none does unless data
    from before this rule held two first meetings.
    """
    first = _first_held(held, held.held_at, meetings)
    changed = []
    for meeting in [*(m for m in meetings if m is not held), held]:
        kind = FIRST if meeting is first else FOLLOW_UP
        if meeting.kind != kind:
            meeting.kind = kind
            session.add(meeting)
            if meeting is not held and meeting.status == HELD:
                changed.append(meeting)
    return changed


def kind_when_held(held: Meeting, held_at: datetime, meetings: Sequence[Meeting]) -> str:
    """The kind settle_meeting_kinds will give held, a booked meeting about to be recorded as held at held_at
    (its claim writes the kind with the held columns)."""
    return FIRST if _first_held(held, held_at, meetings) is held else FOLLOW_UP


def _first_held(held: Meeting, held_at: datetime, meetings: Sequence[Meeting]) -> Meeting:
    """Of meetings and held (held at held_at), the one held first: settle_meeting_kinds' rule."""
    held_ones = [m for m in meetings if m is not held and m.status == HELD] + [held]
    return min(
        held_ones,
        key=lambda m: (
            held_at if m is held else m.held_at or m.starts_at,
            m is held,
            m.kind != FIRST,
            m.id or 0,
        ),
    )


def check_sequence(meeting: Meeting, expected_sequence: int | None) -> None:
    """Refuse a form loaded at another SEQUENCE than the meeting has now (None: no form, no check)."""
    if expected_sequence is not None and meeting.sequence != expected_sequence:
        raise StaleMeeting(STALE_MEETING)


# The claim's UPDATE for each set of further columns it writes, built once: Core, as the ORM's bulk UPDATE
# (synchronize_session=False) kept nothing in step either, and building it and its ORM compile state at every
# claim cost about half a millisecond of Python. Bind parameters are named apart from the columns they set.
_CLAIMS: dict[tuple[str, ...], object] = {}


def _claim_statement(names: tuple[str, ...]):
    """UPDATE meeting SET sequence, updated_at and names WHERE id, sequence and still planned."""
    statement = _CLAIMS.get(names)
    if statement is None:
        table = Meeting.__table__
        statement = (
            table.update()
            .where(
                table.c.id == bindparam("claim_id", type_=table.c.id.type),
                table.c.sequence == bindparam("claim_expected", type_=table.c.sequence.type),
                table.c.status == PLANNED,
            )
            .values(
                {
                    "sequence": bindparam("claim_sequence", type_=table.c.sequence.type),
                    "updated_at": bindparam("claim_at", type_=table.c.updated_at.type),
                    **{name: bindparam(f"claim_{name}", type_=table.c[name].type) for name in names},
                }
            )
        )
        _CLAIMS[names] = statement
    return statement


def _claim(
    session: Session,
    meeting: Meeting,
    expected: int | None,
    *,
    now: datetime,
    bump: bool,
    also: Mapping[str, object] | None = None,
) -> None:
    """Compare-and-set the meeting as read: of two writers holding the same SEQUENCE of a planned meeting,
    only one gets past here. Every write to a meeting goes through it (the one place).

    The SEQUENCE is the meeting's version: it rises with every change of its time, place or cancellation
    and with every withdrawn invitation, which is what a form on the meeting page was read against. Inviting
    more people and recording a meeting held at its booked time (bump=False) leave it as it is but still
    claim the row, so they cannot pass a move or a cancellation. Only a planned meeting is claimed: one held
    or cancelled meanwhile is not overwritten. expected: the SEQUENCE a form was read at; None: the one this
    transaction read (the meeting object's), for a write without a form (an outcome, a SIP that ends). A
    meeting read before someone else's change is then refused too, never written over it. Each writer holds
    the case's row first (a step's claim, or lock_case), but a meeting read before that is not read again:
    this is what refuses it. A refusal says why: MeetingClosed when no longer planned, else StaleMeeting.
    The claim must be the transaction's first write, or follow the case's claim or lock (see the retry below).
    also: further columns the same UPDATE writes (an outcome's held columns); the caller marks them written
    on the meeting object (mark_written) when it is to hold them.
    """
    if expected is None:
        expected = meeting.sequence

    def recheck() -> None:
        _require_planned(meeting)
        check_sequence(meeting, expected)

    new = expected + 1 if bump else expected
    also = also or {}
    params = {"claim_id": meeting.id, "claim_expected": expected, "claim_sequence": new, "claim_at": now}
    params.update((f"claim_{name}", value) for name, value in also.items())
    claimed = compare_and_set(
        session,
        _claim_statement(tuple(sorted(also))),
        obj=meeting,
        recheck=recheck,
        busy=StaleMeeting(STALE_MEETING),
        params=params,
    )
    if not claimed:
        # The meeting as it is now (the transaction wrote nothing to it), to say what happened.
        session.refresh(meeting)
        recheck()
        raise StaleMeeting(STALE_MEETING)
    set_committed_value(meeting, "sequence", new)
    set_committed_value(meeting, "updated_at", now)


def _new_version(session: Session, meeting: Meeting, now: datetime, expected: int | None = None) -> None:
    """A change the invitees are told of: SEQUENCE up by one (RFC 5546), so calendars replace the entry.

    Always a compare-and-set (_claim): against expected (the SEQUENCE the form was read at), else against
    the SEQUENCE this transaction read; refused when stale.
    """
    _claim(session, meeting, expected, now=now, bump=True)


def mark_unbooked(session: Session, case: SipCase, *, now: datetime) -> None:
    """The case has no planned meeting now (called off, or a kallelse recorded without one): Att göra lists
    it while its state awaits a meeting, until one is booked (sipcase.unbooked_since, a partial index)."""
    if case.unbooked_since is None:
        case.unbooked_since = now
        session.add(case)


def clear_unbooked(session: Session, case: SipCase) -> None:
    """A meeting is booked or held: the case no longer waits for one (no write when it did not)."""
    if case.unbooked_since is not None:
        case.unbooked_since = None
        session.add(case)


def book_meeting(
    session: Session,
    case: SipCase,
    actor: User,
    booking: Booking,
    *,
    now: datetime,
    send: bool = True,
    participants: dict[int, Participant] | None = None,
    meetings: Sequence[Meeting] | None = None,
) -> Meeting:
    """Book a meeting, invite booking.invitee_ids and (send=True) queue each e-mail invitation.

    participants: the case's active participants by id when the caller holds them already (a step does);
    meetings: every meeting of the case, likewise (its kind is told from them).
    """
    meeting = Meeting(
        case_id=case.id,
        kind=meeting_kind(session, case, meetings),
        status=PLANNED,
        mode=booking.mode,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        location=booking.location,
        room=booking.room,
        video_url=_new_video_url() if booking.mode in ("video", "mixed") else None,
        booked_by_user_id=actor.id if actor is not None else None,
        updated_at=now,
    )
    session.add(meeting)
    clear_unbooked(session, case)
    session.flush()
    if booking.invitee_ids and participants is None:
        participants = participants_by_id(session, case)
    invitees = [participants[participant_id] for participant_id in booking.invitee_ids]
    addresses = invitee_addresses(session, invitees)
    # A meeting booked just now has no invitations to bring back.
    invitations = [_invite(meeting, invitee, addresses[invitee.id], now=now) for invitee in invitees]
    session.add_all(invitations)
    if send:
        messages.queue_messages(session, case, meeting, invitations, kind="request", now=now)
    else:
        session.flush()
    logger.info("case %s: meeting %s booked, %d invited", case.reference, meeting.id, len(invitations))
    return meeting


def book(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    case: SipCase,
    data: dict,
    *,
    expected_version: int,
    now: datetime,
    reads: StepReads | None = None,
) -> int:
    """Book a meeting, return its id: the kallelse step while that is the case's next step, else another one.

    The kallelse is the transition from the case's state whose form is `kallelse` (the workflow file says
    which); once it is sent, the parties that may send it book further meetings under a consent in force.
    reads: the case's active participants and consents in force, read by the caller in this transaction
    (the booking page's), so neither the permission nor the step reads them again. data's confirmed_day
    is the user's confirmation of a meeting on a weekend day or a holiday (booking.read_booking).
    """
    participants = reads.participants if reads is not None else None
    how = booking_permission(session, registry, case, actor, participants=participants)
    if how is None:
        raise PartyNotAllowed(_l("Your organisation's part in this SIP does not allow that step."))
    if how.transition is not None:
        # The version the page was read at: of two pages booking the kallelse, only one gets through.
        log = fire_transition(
            session,
            registry,
            actor,
            case,
            how.transition.trigger,
            expected_version=expected_version,
            now=now,
            data={**data, "send_invitations": True},
            reads=reads,
        )
        return log.details["meeting_id"]
    # Claimed as a step claims the case (compare-and-set of its version, the transaction's first write): it
    # holds the case's row as lock_case would, and a form posted twice, or read before another booking,
    # is refused as stale instead of booking the same meeting again.
    touch_case(session, case, expected_version=expected_version, now=now)
    booking = read_booking(session, case, data, now=now)
    return book_meeting(session, case, actor, booking, now=now).id


def booking_refusal(
    session: Session, case: SipCase, data: dict, *, now: datetime, reads: StepReads | None = None
) -> InvalidInput | None:
    """What the booking rules (booking.read_booking, the kallelse's and a later meeting's alike) refuse in
    data (InvalidInputs: several), or None; writes nothing. For the booking page whose own form checks
    refused the form already, asked with the fields that parsed, so every field is refused in one send."""
    with session.no_autoflush:
        return refusal_of(
            read_booking,
            session,
            case,
            data,
            now=now,
            participants=reads.participants if reads is not None else None,
            seeing=reads.seeing if reads is not None else None,
        )


def kallelse_just_taken(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, data: dict, *, now: datetime
):
    """(the kallelse transition, the meeting it booked) when actor's own kallelse step, taken a moment ago,
    booked what data (a booking form sent again, a double click) asks for, invitees and all; else None."""
    transitions = kallelse_transitions(registry, case)
    step = own_step_just_taken(
        session, case, actor, [t.trigger for t in transitions], now=now, data=data, form=KALLELSE_FORM
    )
    if step is None:
        return None
    return next(t for t in transitions if t.trigger == step.trigger), step.details.get("meeting_id")


def outcome_just_taken(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, data: dict, *, now: datetime
) -> TransitionDef | None:
    """The step that recorded a held meeting when actor took it a moment ago with what data (the outcome
    form sent again, a double click) holds, decisions and attendance too; else None."""
    workflow = registry.get(case.workflow_name, case.workflow_version)
    transitions = [t for t in workflow.transitions if t.form == OUTCOME_FORM]
    step = own_step_just_taken(
        session, case, actor, [t.trigger for t in transitions], now=now, data=data, form=OUTCOME_FORM
    )
    return None if step is None else next(t for t in transitions if t.trigger == step.trigger)


def _invite(
    meeting: Meeting,
    participant: Participant,
    address: str | None,
    *,
    now: datetime,
    withdrawn: Invitation | None = None,
) -> Invitation:
    """A new invitation to address (None: called some other way), or the participant's withdrawn one of the
    meeting brought back with a fresh link: a meeting invites a participant once."""
    invitation = withdrawn
    if invitation is None:
        invitation = Invitation(meeting_id=meeting.id, participant_id=participant.id, invited_at=now)
    invitation.channel = EMAIL if address else OTHER
    invitation.email = address
    invitation.role = _role(participant)
    invitation.partstat = "NEEDS-ACTION"
    invitation.answer_mode = invitation.comment = invitation.answered_at = invitation.answered_via = None
    invitation.answered_by_user_id = None
    invitation.answered_dtstamp = invitation.answered_sequence = None
    invitation.sequence = meeting.sequence
    invitation.token_nonce = new_nonce()
    invitation.removed_at = None
    invitation.invited_at = now
    return invitation


def change_meeting(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    booking: Booking,
    *,
    now: datetime,
    expected_sequence: int | None = None,
    confirmed_day: date | None = None,
    confirmed_start: datetime | None = None,
) -> bool:
    """Move the meeting or change its form or place; every invitee gets an update. False: nothing changed.

    expected_sequence is the SEQUENCE the form was read at; a stale one is refused with StaleMeeting.
    A place that identifies the person is refused, and so, moved to another day that is a weekend day or a
    holiday, is the change (DayOffUnconfirmed) unless confirmed_day is that day (the user confirmed it after
    the warning), and so, moved onto another planned meeting's start, is it (SameStartUnconfirmed) unless
    confirmed_start is that start: all at once (booking.take_place_and_day). A form's change is read by
    `change`.
    """
    _require_planned(meeting)
    check_sequence(meeting, expected_sequence)
    refusals = Refusals()
    take_place_and_day(
        refusals,
        session,
        case,
        booking,
        confirmed_day,
        now=now,
        booked_start=meeting.starts_at,
        confirmed_start=confirmed_start,
        meeting_id=meeting.id,
    )
    refusals.raise_any()
    return _apply_change(session, case, meeting, booking, now=now, expected_sequence=expected_sequence)


def change(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    data: dict,
    *,
    now: datetime,
    expected_sequence: int | None = None,
) -> bool:
    """The meeting page's change: the meeting's new time, form and place read from data and every field at
    fault refused at once (booking.read_change; an unconfirmed day off with the rest, so one further send
    fixes them and confirms the day), then changed as change_meeting does. False: nothing changed.

    A form read at another SEQUENCE than the meeting has now is refused first (StaleMeeting), whatever else.
    """
    _require_planned(meeting)
    check_sequence(meeting, expected_sequence)
    booking = read_change(session, case, data, now=now, booked_start=meeting.starts_at, meeting_id=meeting.id)
    return _apply_change(session, case, meeting, booking, now=now, expected_sequence=expected_sequence)


def _apply_change(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    booking: Booking,
    *,
    now: datetime,
    expected_sequence: int | None,
) -> bool:
    """Write a change checked already; every invitee gets an update. False: nothing changed."""
    new_video = booking.mode in ("video", "mixed")
    changed_time = (booking.starts_at, booking.ends_at) != (meeting.starts_at, meeting.ends_at)
    changed = changed_time or (booking.mode, booking.location, booking.room) != (
        meeting.mode,
        meeting.location,
        meeting.room,
    )
    if not changed:
        return False
    # Claimed before anything is written, so a stale change writes nothing at all.
    lock_case(session, case)
    _new_version(session, meeting, now, expected_sequence)
    # An invitee the consent no longer covers is not sent the change: their invitation is withdrawn, its
    # CANCEL rendered before the change is written (it must not tell them the new time or place).
    invitations, uncovered = covered_invitations(session, case, meeting, now=now)
    _withdraw(session, case, meeting, uncovered, now=now, still_invited=invitations)
    meeting.starts_at, meeting.ends_at = booking.starts_at, booking.ends_at
    meeting.mode, meeting.location, meeting.room = booking.mode, booking.location, booking.room
    if new_video and meeting.video_url is None:
        meeting.video_url = _new_video_url()
    elif not new_video:
        meeting.video_url = None
    session.add(meeting)
    offered = allowed_answer_modes(meeting)
    # The way of taking part each answer gave that the meeting no longer offers, by invitation: its update
    # says so and asks how they take part now, rather than that their answer stands.
    ways_gone: dict[int, str] = {}
    for invitation in invitations:
        if changed_time:
            # A new time needs a new answer: calendars ask again too (RFC 5546, 2.1.4). The comment went
            # with the old answer ("I'll be late") and would read as one about the new time.
            invitation.partstat = "NEEDS-ACTION"
            invitation.answered_at = invitation.answered_via = invitation.answer_mode = None
            invitation.comment = None
            invitation.answered_by_user_id = None
            invitation.answered_dtstamp = invitation.answered_sequence = None
        elif invitation.answer_mode is not None and invitation.answer_mode not in offered:
            # The answer stands, but not a way of taking part the meeting no longer offers (video gone).
            ways_gone[invitation.id] = invitation.answer_mode
            invitation.answer_mode = None
        invitation.sequence = meeting.sequence
        session.add(invitation)
    messages.queue_messages(
        session,
        case,
        meeting,
        invitations,
        kind="update",
        now=now,
        answers_kept=not changed_time,
        ways_gone=ways_gone,
    )
    logger.info("case %s: meeting %s changed (sequence %d)", case.reference, meeting.id, meeting.sequence)
    return True


def move_to_held_time(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    held_at: datetime,
    *,
    now: datetime,
    held: Mapping[str, object] | None = None,
) -> bool:
    """Claim a booked meeting for its outcome, writing held (its held columns: status, held_at, ...) with the
    claim. A meeting held before its booked time has come: its time becomes when it was held, as long as
    booked, and every invitee's calendar entry is moved there (a REQUEST with SEQUENCE + 1, as a moved
    meeting's update), so nobody turns up at the booked time. False: its time is left as it is.

    Only a booked time still ahead misleads: a meeting that began a little late, or was held after a
    booked time now past, is recorded as held without mailing every invitee after the fact. The answers
    are kept (the meeting is over: nobody is asked again). Called inside the outcome step, whose claim
    holds the case's row, before the step writes anything to the meeting: either way the meeting is
    claimed as the step read it (_claim), so a move or a cancellation meanwhile refuses the outcome. The
    claim's UPDATE writes the held columns too: the meeting's row is written once (a second UPDATE was one
    round trip more on both databases). The meeting object takes them last: the invitees' messages describe
    the meeting as booked (its booked mode), as before the outcome. held None: claimed (and moved) only.
    """
    held = held or {}
    moved = not (held_at == meeting.starts_at or meeting.starts_at <= now)
    if not moved:
        _claim(session, meeting, None, now=now, bump=False, also=held)
    else:
        duration = meeting.ends_at - meeting.starts_at
        times = {"starts_at": held_at, "ends_at": held_at + duration}
        # A change the invitees are told of (as _new_version): SEQUENCE up by one.
        _claim(session, meeting, None, now=now, bump=True, also={**held, **times})
        mark_written(meeting, times)
        # The meeting is over: an invitee the consent no longer covers is not withdrawn after the fact, only
        # not mailed the move.
        invitations, _ = covered_invitations(session, case, meeting, now=now)
        for invitation in invitations:
            invitation.sequence = meeting.sequence
            session.add(invitation)
        messages.queue_messages(session, case, meeting, invitations, kind="held", now=now)
        logger.info(
            "case %s: meeting %s held at another time (sequence %d)",
            case.reference,
            meeting.id,
            meeting.sequence,
        )
    mark_written(meeting, held)
    if held or moved:
        # No flush shows what the claim wrote: the reminders learn of it as from a flush of the meeting.
        session.info.setdefault(WRITTEN_BY_CLAIM, {}).setdefault(case.id, []).append(meeting)
    return moved


def cancel_meeting(
    session: Session, case: SipCase, meeting: Meeting, *, now: datetime, expected_sequence: int | None = None
) -> None:
    """Cancel the meeting: every invitee's calendar entry is cancelled (METHOD:CANCEL)."""
    _require_planned(meeting)
    check_sequence(meeting, expected_sequence)
    lock_case(session, case)
    _cancel(session, case, meeting, now=now, expected_sequence=expected_sequence)
    still_planned = session.exec(
        select(Meeting.id).where(Meeting.case_id == case.id, Meeting.status == PLANNED).limit(1)
    ).first()
    if still_planned is None:
        mark_unbooked(session, case, now=now)


def _cancel(
    session: Session, case: SipCase, meeting: Meeting, *, now: datetime, expected_sequence: int | None
) -> None:
    """Write the cancellation and queue the invitees' CANCEL (the caller holds the case's row)."""
    _new_version(session, meeting, now, expected_sequence)
    meeting.status = CANCELLED
    meeting.cancelled_at = now
    session.add(meeting)
    invitations = active_invitations(session, meeting)
    for invitation in invitations:
        invitation.sequence = meeting.sequence
        session.add(invitation)
    messages.queue_messages(session, case, meeting, invitations, kind="cancel", now=now)
    logger.info("case %s: meeting %s cancelled", case.reference, meeting.id)


def cancel_planned_meetings(session: Session, case: SipCase, *, now: datetime) -> int:
    """Cancel every planned meeting of a case that ends (withdrawn consent, cancelled SIP)."""
    planned = session.exec(select(Meeting).where(Meeting.case_id == case.id, Meeting.status == PLANNED)).all()
    # A step's claim holds the case's row already.
    for meeting in planned:
        _cancel(session, case, meeting, now=now, expected_sequence=None)
    return len(planned)


def uninvite(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    invitation: Invitation,
    *,
    now: datetime,
    expected_sequence: int | None = None,
) -> bool:
    """Withdraw one invitation: that invitee alone is told (a CANCEL naming them); their answer link dies.

    False when no CANCEL is sent since another invitee of the meeting shares the address (see _withdraw).
    """
    _require_planned(meeting)
    if not invitation.active:
        raise InvalidInput(_l("That invitation is already withdrawn."))
    check_sequence(meeting, expected_sequence)
    lock_case(session, case)
    _new_version(session, meeting, now, expected_sequence)
    return not _withdraw(session, case, meeting, [invitation], now=now)


def _withdraw(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    invitations: list[Invitation],
    *,
    now: datetime,
    still_invited: list[Invitation] | None = None,
) -> list[Invitation]:
    """Withdraw the invitations at the meeting's new SEQUENCE: each invitee alone is told (a CANCEL naming
    them) and their answer link dies. The caller holds the case's row and raised the SEQUENCE.

    An invitee whose address another active invitee of the meeting shares (two guardians, one family
    address) gets no CANCEL: that calendar holds one entry for the meeting, and a CANCEL would take it from
    the one still invited. still_invited: the meeting's active invitations when the caller holds them (else
    the shared addresses are read in one statement). Returns the invitations not told for that reason.
    """
    for invitation in invitations:
        invitation.removed_at = now
        invitation.token_nonce = new_nonce()
        invitation.sequence = meeting.sequence
        session.add(invitation)
        logger.info(
            "case %s: invitation %s to meeting %s withdrawn", case.reference, invitation.id, meeting.id
        )
    shared = _shared_addresses(session, meeting, invitations, still_invited)
    kept_back = [i for i in invitations if i.channel == EMAIL and i.email.lower() in shared]
    for invitation in kept_back:
        logger.info(
            "case %s: invitation %s to meeting %s withdrawn without a CANCEL: another invitee shares its "
            "address",
            case.reference,
            invitation.id,
            meeting.id,
        )
    told = [i for i in invitations if i not in kept_back]
    if told:
        messages.queue_messages(session, case, meeting, told, kind="withdraw", now=now)
    return kept_back


def _shared_addresses(
    session: Session,
    meeting: Meeting,
    withdrawn: list[Invitation],
    still_invited: list[Invitation] | None,
) -> set[str]:
    """The addresses (lower case) of the withdrawn e-mail invitations that an active invitation of the
    meeting, not among them, is sent to as well. Read only when some withdrawn one was sent by e-mail."""
    addresses = {i.email.lower() for i in withdrawn if i.channel == EMAIL and i.email}
    if not addresses:
        return set()
    ids = {i.id for i in withdrawn}
    if still_invited is not None:
        return {
            address
            for i in still_invited
            if i.id not in ids
            and i.active
            and i.channel == EMAIL
            and (address := (i.email or "").lower()) in addresses
        }
    lowered = func.lower(Invitation.email)
    return set(
        session.exec(
            select(lowered).where(
                Invitation.meeting_id == meeting.id,
                Invitation.active,
                Invitation.channel == EMAIL,
                Invitation.id.not_in(ids),
                lowered.in_(sorted(addresses)),
            )
        ).all()
    )


def withdraw_uncovered(session: Session, case: SipCase, *, now: datetime) -> int:
    """Withdraw every invitation to the case's planned meetings ahead whose invitee the consent in force no
    longer covers (its validity ran out): a CANCEL to each, and no reminder or change after. The number.

    Locks the case's row first, as every write to its meetings outside a step does.
    """
    lock_case(session, case)
    meetings = session.exec(
        select(Meeting)
        .where(Meeting.case_id == case.id, Meeting.status == PLANNED, Meeting.starts_at > now)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    count = 0
    for meeting in meetings:
        kept, uncovered = covered_invitations(session, case, meeting, now=now)
        if uncovered:
            _new_version(session, meeting, now)
            _withdraw(session, case, meeting, uncovered, now=now, still_invited=kept)
            count += len(uncovered)
    return count


def withdraw_invitations_of(
    session: Session, case: SipCase, participant: Participant, *, now: datetime
) -> None:
    """A participant leaves the SIP: each invitation to a planned meeting is withdrawn (a CANCEL to them)."""
    rows = session.exec(
        select(Meeting, Invitation)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(Invitation.participant_id == participant.id, Invitation.active, Meeting.status == PLANNED)
        .order_by(Meeting.id)
    ).all()
    for meeting, invitation in rows:
        uninvite(session, case, meeting, invitation, now=now)


def follow_address(session: Session, case: SipCase, participant: Participant, *, now: datetime) -> int:
    """The participant's e-mail address was set, corrected or cleared: each of their invitations to planned
    meetings not yet begun follows it. The number of invitations changed.

    A new address gets the invitation (a REQUEST at the meeting's SEQUENCE as it is) with a new answer link,
    the one mailed before dies; no address left makes the invitation one called some other way, answered
    through the staff. The answer given stands. The old address gets nothing more, not even a mail still
    waiting for the relay (`drop_unsent_to`): it may be a stranger's (a unit's former mailbox, a corrected
    typo); but a user's who no longer sees the SIP (a contact person moved to another organisation's unit, or
    disabled) gets a CANCEL at a new SEQUENCE, as a withdrawn invitee does, so the calendar entry with the
    SIP's reference, time, place and video room goes too (`_told_former_address`). An organisation the
    consent no longer covers is sent nothing (the coverage job withdraws the invitation). Called in the
    change's unit of work, whose claim of the case's version holds the case's row.
    """
    rows = session.exec(
        select(Meeting, Invitation)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .where(
            Invitation.participant_id == participant.id,
            Invitation.active,
            Meeting.status == PLANNED,
            Meeting.starts_at > now,
        )
        .order_by(Meeting.id)
    ).all()
    if not rows:
        return 0
    address = invitee_addresses(session, [participant])[participant.id]
    channel = EMAIL if address else OTHER
    count = 0
    for meeting, invitation in rows:
        if invitation.channel == channel and (invitation.email or "").lower() == (address or "").lower():
            continue  # the same mailbox: nothing to send again
        if invitation.email:
            drop_unsent_to(session, invitation.id, invitation.email)
        _told_former_address(session, case, meeting, invitation, now=now)
        invitation.channel, invitation.email = channel, address
        invitation.token_nonce = new_nonce()
        invitation.sequence = meeting.sequence
        session.add(invitation)
        count += 1
        logger.info(
            "case %s: invitation %s to meeting %s follows a new address",
            case.reference,
            invitation.id,
            meeting.id,
        )
        if address is None:
            continue
        if participant.organisation_id is not None:
            kept, _ = covered_invitations(session, case, meeting, now=now)
            if invitation not in kept:
                continue
        messages.queue_messages(session, case, meeting, [invitation], kind="request", now=now)
    return count


def _told_former_address(
    session: Session, case: SipCase, meeting: Meeting, invitation: Invitation, *, now: datetime
) -> None:
    """Before the invitation leaves its address (follow_address): a CANCEL to it, at the meeting's next
    SEQUENCE, when the address is a user's (ix_user_email_lower) who no longer sees the SIP (the access
    rule, security.access.addresses_seeing_case: moved to another organisation's unit, disabled) and no
    other active invitation of the meeting is sent there. The calendar entry the invitation gave them (the
    SIP's reference, time, place and video room) goes, as a withdrawn invitee's does. An address that is no
    user's may be anyone's now, and is told nothing; a colleague still seeing the SIP keeps theirs."""
    former = invitation.email if invitation.channel == EMAIL else None
    if not former:
        return
    a_users = session.exec(select(User.id).where(func.lower(User.email) == former.lower()).limit(1)).first()
    if a_users is None or access.addresses_seeing_case(session, case, [former], now=now):
        return
    if _shared_addresses(session, meeting, [invitation], None):
        return
    _new_version(session, meeting, now)
    invitation.sequence = meeting.sequence
    messages.queue_messages(session, case, meeting, [invitation], kind="withdraw", now=now)


def reached_through_query(
    *, now: datetime, unit_id: int | None = None, user_id: int | None = None, unit_ids: Collection[int] = ()
):
    """The participants without an address of their own, invited to a planned meeting not yet begun, that
    are a unit (unit_id, or any of unit_ids) or whose contact person is a user (user_id); a participant once
    per invitation.

    From the planned meetings ahead (ix_meeting_status_starts_at_case_id), their invitations, their
    participants: a unit's participant rows have no index of their own, and most are on SIPs long ended.
    """
    units = sorted({*unit_ids, *([unit_id] if unit_id is not None else [])})
    if bool(units) == (user_id is not None):
        raise ValueError("give units or a user")
    reached = Participant.unit_id.in_(units) if units else Participant.contact_user_id == user_id
    return (
        select(Participant)
        .select_from(Meeting)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .join(Participant, Participant.id == Invitation.participant_id)
        .where(
            Meeting.status == PLANNED,
            Meeting.starts_at > now,
            Invitation.active,
            Participant.active,
            (Participant.email.is_(None)) | (Participant.email == ""),
            reached,
        )
    )


def cases_reached_through(
    session: Session,
    *,
    now: datetime,
    unit_id: int | None = None,
    user_id: int | None = None,
    unit_ids: Collection[int] = (),
) -> set[int]:
    """The ids of the cases whose invitations follow_directory_change moves for the unit (or units), or the
    user."""
    if not unit_ids and unit_id is None and user_id is None:
        return set()
    query = reached_through_query(now=now, unit_id=unit_id, user_id=user_id, unit_ids=unit_ids)
    return set(session.exec(query.with_only_columns(Participant.case_id)).all())


def follow_directory_change(
    session: Session,
    *,
    now: datetime,
    unit_id: int | None = None,
    user_id: int | None = None,
    unit_ids: Collection[int] = (),
) -> int:
    """An administrator changed a unit's shared mailbox or a user's address, or deactivated or activated one
    (or many units at once, unit_ids: an import's file): the invitations to planned meetings not yet begun
    of each participant reached through it follow, as when a contact person is named (follow_address). The
    number of invitations changed.

    Reached through it: a unit on a SIP without an address of its own, at its contact person's (user_id),
    else at its shared mailbox (unit_id; Participant.mail_address, the one rule). Walks the planned meetings
    ahead, few whatever the size of the database, in one statement however many units; their cases are held
    (lock_cases, in one statement) before their invitations move. Called in the directory change's unit of
    work, after the change.
    """
    if not unit_ids and unit_id is None and user_id is None:
        return 0
    query = reached_through_query(now=now, unit_id=unit_id, user_id=user_id, unit_ids=unit_ids)
    rows = session.exec(query).all()
    participants = sorted({p.id: p for p in rows}.values(), key=lambda p: (p.case_id, p.id))
    if not participants:
        return 0
    held = {case.id: case for case in lock_cases(session, sorted({p.case_id for p in participants}))}
    return sum(follow_address(session, held[p.case_id], p, now=now) for p in participants)


def invite(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    participant_ids: list[int],
    *,
    now: datetime,
    expected_sequence: int | None = None,
) -> list[Invitation]:
    """Invite more participants to a booked meeting; only they get an invitation."""
    _require_planned(meeting)
    check_sequence(meeting, expected_sequence)
    chosen = read_invitees(session, case, {"invitee_ids": participant_ids}, now=now)
    lock_case(session, case)
    _claim(session, meeting, expected_sequence, now=now, bump=False)
    # Every invitation of the meeting, read once: the active ones refuse, a withdrawn one is brought back.
    earlier = {i.participant_id: i for i in _meeting_invitations(session, meeting)}
    if any(pid in earlier and earlier[pid].active for pid in chosen):
        raise InvalidInput(_l("Someone chosen is already invited."), field="invitee_ids")
    participants = participants_by_id(session, case)
    invitees = [participants[pid] for pid in chosen]
    addresses = invitee_addresses(session, invitees)
    invitations = [
        _invite(meeting, invitee, addresses[invitee.id], now=now, withdrawn=earlier.get(invitee.id))
        for invitee in invitees
    ]
    session.add_all(invitations)
    messages.queue_messages(session, case, meeting, invitations, kind="request", now=now)
    return invitations


def record_answer(
    session: Session,
    meeting: Meeting,
    invitation: Invitation,
    *,
    partstat: str,
    answer_mode: str | None,
    comment: str | None,
    via: str,
    now: datetime,
    dtstamp: datetime | None = None,
    sequence: int | None = None,
    by: User | None = None,
) -> None:
    """Keep an invitee's answer: accept, decline or maybe, how they will take part, and a comment.

    sequence is the SEQUENCE the answer was given to (a calendar REPLY's, or the one the answer page was
    shown at): an answer counts only for that version, so one to an older version than the invitee was last
    sent is refused (OutdatedAnswer). dtstamp is a calendar REPLY's; an answer given here and now stamps now
    (and, without a sequence, the SEQUENCE the invitee was last sent), so a REPLY the invitee's calendar wrote
    before it cannot overwrite it. by: the staff member recording an answer given to them (via "staff").
    """
    if sequence is not None:
        # Read what the invitee was last sent as committed now, and hold the row: a move committing meanwhile
        # is seen here, and one still to come resets this answer after it, never under it.
        session.refresh(invitation, with_for_update=True)
    if not invitation.active:
        raise InvalidInput(_l("This invitation has been withdrawn."))
    _require_planned(meeting)
    if sequence is not None:
        check_answer_sequence(meeting, invitation, sequence)
    if meeting.ends_at <= now:
        raise MeetingClosed(_l("The meeting is over; it can no longer be answered."))
    if partstat not in ANSWERS:
        raise InvalidInput(_l("Choose one of the options."), field="partstat")
    if partstat == "DECLINED":
        answer_mode = None
    elif answer_mode is not None and answer_mode not in allowed_answer_modes(meeting):
        raise InvalidInput(_l("Choose one of the options."), field="answer_mode")
    comment = fields.free_text(comment, "comment", limit=COMMENT_MAX)
    invitation.partstat = partstat
    invitation.answer_mode = answer_mode
    invitation.comment = comment
    invitation.answered_at = now
    invitation.answered_via = via
    invitation.answered_by_user_id = by.id if by is not None else None
    invitation.answered_dtstamp = dtstamp or now
    invitation.answered_sequence = invitation.sequence if sequence is None else sequence
    session.add(invitation)
    logger.info("meeting %s: invitation %s answered %s via %s", meeting.id, invitation.id, partstat, via)


def answer_digest(invitation: Invitation) -> str:
    """A fingerprint of the invitee's answer as the meeting page shows it.

    The staff answer form carries it, so an answer someone else recorded since the page was read is a
    conflict rather than silently replaced (an answer has no version of its own).
    """
    answered = invitation.answered_at.isoformat() if invitation.answered_at is not None else ""
    shown = "\x1f".join(
        str(value or "")
        for value in (invitation.partstat, invitation.answer_mode, invitation.comment, answered)
    )
    return hashlib.sha256(shown.encode()).hexdigest()[:32]


def record_staff_answer(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    invitation: Invitation,
    actor: User,
    *,
    partstat: str,
    answer_mode: str | None,
    comment: str | None,
    now: datetime,
    expected_sequence: int,
    shown: str,
) -> None:
    """Record the answer an invitee called some other way (no e-mail: by phone, by letter) gave the staff.

    Only such an invitee: one invited by e-mail answers through their own link or calendar, and staff never
    overwrite that. expected_sequence is the meeting's SEQUENCE the page was read at, shown the answer_digest
    it showed: a meeting changed since (StaleMeeting) or an answer recorded since (StaleAnswer) is refused.
    The answer is kept by record_answer, so counts, Att göra and the reminders see it as any other answer;
    answer_mode, how they take part when they said, prefills the outcome's attendance as theirs would.
    """
    # Every other write to the meeting takes this lock first: what is read after it is as they left it.
    lock_case(session, case)
    session.refresh(meeting)
    session.refresh(invitation, with_for_update=True)
    if not invitation.active:
        raise InvalidInput(_l("This invitation has been withdrawn."))
    _require_planned(meeting)
    if not invitation.answers_through_staff:
        raise AnswersThemselves(
            _l(
                "This invitee was invited by e-mail and answers through their own link; staff record "
                "answers only for invitees called some other way."
            )
        )
    check_sequence(meeting, expected_sequence)
    if not hmac.compare_digest(shown or "", answer_digest(invitation)):
        raise StaleAnswer(
            _l(
                "Someone else recorded an answer for this invitee while you were working. Check it as it "
                "is now: what you entered is kept below, and sending it again records it."
            )
        )
    record_answer(
        session,
        meeting,
        invitation,
        partstat=partstat,
        answer_mode=answer_mode,
        comment=comment,
        via="staff",
        now=now,
        by=actor,
    )


def check_answer_sequence(meeting: Meeting, invitation: Invitation, sequence: int) -> None:
    """Refuse an answer given to another version of the meeting than the invitee's answer may speak for.

    Older than the SEQUENCE the invitee was last sent: the meeting changed since (a move resets every
    answer), so the answer must be given again. A later one than any version sent was never shown to anyone.
    """
    if sequence < invitation.sequence:
        raise OutdatedAnswer(
            _l("The reply answers an older version of the invitation; the meeting has changed since.")
        )
    if sequence > meeting.sequence:
        raise UnknownVersion(_l("The reply names a version of the meeting never sent."))


def allowed_answer_modes(meeting: Meeting) -> tuple[str, ...]:
    """The ways one can take part in this meeting: phone always, on site and video as the meeting offers."""
    if meeting.mode == "on_site":
        return ("on_site", "phone")
    if meeting.mode == "video":
        return ("video", "phone")
    return ANSWER_MODES


# A read through an answer link, by the invitee's participant kind: the loggutdrag tells the person whose link
# it was (an invited organisation's, and a participant row no longer found, stay MEETING_LINK_VIEW).
LINK_VIEW_ACTIONS = {
    "person": audit.MEETING_LINK_VIEW_PERSON,
    "narstaende": audit.MEETING_LINK_VIEW_NARSTAENDE,
    "guardian": audit.MEETING_LINK_VIEW_GUARDIAN,
    "representative": audit.MEETING_LINK_VIEW_REPRESENTATIVE,
}


def link_view_action(session: Session, invitation: Invitation) -> str:
    """The access-log action of a read through the invitation's answer link (LINK_VIEW_ACTIONS)."""
    participant = session.get(Participant, invitation.participant_id)
    kind = participant.kind if participant is not None else None
    return LINK_VIEW_ACTIONS.get(kind, audit.MEETING_LINK_VIEW)
