"""What the meeting pages show: invitees with their answers and the delivery of each e-mail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam
from sqlalchemy.engine import Row
from sqlmodel import Session, select

from sipflow.cases.models import Deadline, Participant, SipCase
from sipflow.cases.participants import labelled_organisations
from sipflow.cases.queries import deadline_label, participant_rows
from sipflow.cases.services import StepReads
from sipflow.db import column_rows
from sipflow.meetings.models import Attendance, Invitation, Meeting, MeetingDecision
from sipflow.meetings.outcome import Owner, meeting_labels, owner_key
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import newest_mail_id
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Person, Unit, User

# A pending mail with a failed attempt behind it (Delivery.shown_status).
RETRYING = "retrying"


class Delivery(NamedTuple):
    """The newest e-mail of an invitation, as the pages show it."""

    id: int
    status: str
    sent_at: datetime | None
    attempts: int = 0

    @property
    def shown_status(self) -> str:
        """The status the pages name: a pending mail the relay already put off (down, or a 4xx) is
        "retrying", not waiting like one just written."""
        return RETRYING if self.status == "pending" and self.attempts else self.status


@dataclass
class InvitationRow:
    """One invitee of a meeting, as the meeting page and the case page list them."""

    # The invitation's columns and `active` by name (a Core row: the pages show it, never change it).
    invitation: Row
    label: str
    # The newest e-mail's id, status and sent_at (notifications.outbox.newest_mail_id), None: none.
    delivery: Delivery | None


# In place of a private participant's name retention cleared (never empty otherwise): "– (relative)".
CLEARED_NAME = "–"


def _labels(person: Person, rows) -> dict[int, str]:
    labels = {}
    for participant, organisation, unit, _contact in rows:
        name = participant.name or CLEARED_NAME
        if participant.kind == "organisation":
            name = organisation.name if organisation else "?"
            labels[participant.id] = unit_label(name, unit.name if unit else None)
        elif participant.kind == "person":
            labels[participant.id] = _(
                "%(name)s (the person)", name=f"{person.given_name} {person.family_name}"
            )
        elif participant.kind == "guardian":
            labels[participant.id] = _("%(name)s (guardian)", name=name)
        elif participant.kind == "representative":
            labels[participant.id] = _("%(name)s (legal representative)", name=name)
        else:
            labels[participant.id] = _("%(name)s (relative)", name=name)
    return labels


def participant_labels(session: Session, case: SipCase) -> dict[int, str]:
    """A readable name per current participant: unit and organisation, or the private person's name."""
    return _labels(session.get(Person, case.person_id), participant_rows(session, case)[0])


def labels_of(person: Person, rows) -> dict[int, str]:
    """participant_labels from rows the caller read: (participant, organisation, unit, contact) of each."""
    return _labels(person, rows)


@dataclass
class Invitees:
    """The case's participants as a meeting page names and offers them, read once for the whole page."""

    labels: dict[int, str]
    rows: list
    # Read for a step's post (invitees' step_now): the step's own first read, for fire_transition.
    step_reads: StepReads | None = None
    # Every organisation that takes or took part, by the name the SIP's pages give it
    # (cases.participants.labelled_organisations: two of one name told apart); by name when left empty.
    organisations: dict[int, str] = field(default_factory=dict)


def invitees(session: Session, case: SipCase, *, step_now: datetime | None = None) -> Invitees:
    """Every participant's label, and the rows invitee_choices offers from (contact persons included).

    With step_now (a step's post) the same read also holds the consents in force that day: the step takes
    it as its own first read (Invitees.step_reads) and does not read the participants again.
    """
    rows, reads = participant_rows(session, case, step_now=step_now)
    organisations = labelled_organisations(
        session, {r[1].id: r[1] for r in rows if r[1] is not None}.values()
    )
    return Invitees(_labels(session.get(Person, case.person_id), rows), rows, reads, organisations)


@dataclass(frozen=True)
class DueDeadline:
    """An open deadline of the case as a page names it: its label, when it falls due, whether it passed."""

    label: str
    due_at: datetime
    overdue: bool


def deadlines_met_by(
    session: Session, workflow, case: SipCase, trigger: str, *, locale: str, now: datetime
) -> list[DueDeadline]:
    """The case's open deadlines the step trigger meets (the kallelse's, for the booking that sends it),
    soonest first; which kinds those are the workflow file says (a deadline's met_by). One statement, none
    when no deadline of the file is met by the step."""
    kinds = [rule.kind for rule in (workflow.deadlines if workflow else ()) if trigger in rule.met_by]
    if not kinds:
        return []
    rows = column_rows(
        session,
        select(Deadline.kind, Deadline.due_at)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind.in_(kinds),
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
        .order_by(Deadline.due_at, Deadline.id),
    )
    return [DueDeadline(deadline_label(workflow, kind, locale), due, due < now) for kind, due in rows]


def invitee_choices(
    session: Session,
    case: SipCase,
    *,
    exclude_meeting: Meeting | None = None,
    read: Invitees | None = None,
    seeing: frozenset[int] | None = None,
    chosen: Iterable[int] = (),
) -> list[tuple[int, str]]:
    """The participants one may invite; those without an e-mail address are called some other way.

    read: the case's participants when the page has read them already (invitees()). seeing: the
    organisations the consent in force lets see the SIP (StepReads.seeing); given, an organisation outside
    it is not offered (inviting it is refused), unless chosen already (a posted form, refused beside it).
    """
    if read is None:
        read = invitees(session, case)
    invited: set[int] = set()
    if exclude_meeting is not None:
        invited = set(
            session.exec(
                select(Invitation.participant_id).where(
                    Invitation.meeting_id == exclude_meeting.id, Invitation.active
                )
            ).all()
        )
    kept = set(chosen)
    choices = []
    for participant, _organisation, unit, contact in read.rows:
        if not participant.active or participant.id in invited:
            continue
        organisation_id = participant.organisation_id
        left_out = seeing is not None and organisation_id is not None and organisation_id not in seeing
        if left_out and participant.id not in kept:
            continue
        label = read.labels[participant.id]
        if participant.mail_address(contact, unit) is None:
            label = _("%(name)s: no e-mail address, called some other way", name=label)
        choices.append((participant.id, label))
    return choices


# The case page's meeting reads, built once with bind parameters (building and keying them per request cost
# more than running them).
# Columns, not Invitation objects (whether each still stands by the model's own expression): loading them
# as objects cost more than the statement.
_INVITATIONS_OF_MEETINGS = (
    select(
        *Invitation.__table__.c,
        Invitation.active.label("active"),
        Invitation.awaiting_answer.label("awaiting_answer"),
        Invitation.answers_through_staff.label("answers_through_staff"),
        # Who on the staff recorded an answer given to them (the page names them), in the same read.
        User.display_name.label("answered_by_name"),
        # The newest e-mail's delivery (only what the pages show: a message's body is kilobytes).
        OutboxMessage.id.label("delivery_id"),
        OutboxMessage.status.label("delivery_status"),
        OutboxMessage.sent_at.label("delivery_sent_at"),
        OutboxMessage.attempts.label("delivery_attempts"),
    )
    .outerjoin(User, User.id == Invitation.answered_by_user_id)
    .outerjoin(OutboxMessage, OutboxMessage.id == newest_mail_id(Invitation.id))
    .where(Invitation.meeting_id.in_(bindparam("meeting_ids", expanding=True)))
    .order_by(Invitation.id)
)
# The case's meetings with who attended each and how (the two values the page shows, not the rows as
# objects): one row per (meeting, attendance), a meeting's rows next to each other, None for none.
_MEETINGS_OF_CASE = (
    select(Meeting, Attendance.participant_id, Attendance.mode)
    .outerjoin(Attendance, Attendance.meeting_id == Meeting.id)
    .where(Meeting.case_id == bindparam("case_id", type_=Integer))
    .order_by(Meeting.starts_at, Meeting.id, Attendance.participant_id)
)


def invitation_rows(
    session: Session, case: SipCase, meetings: list[Meeting], *, labels: dict[int, str] | None = None
) -> dict[int, list[InvitationRow]]:
    """Each meeting's invitations (withdrawn ones last) with the newest e-mail's delivery, read at once.

    labels: participant_labels of the case when the page has them already.
    """
    rows: dict[int, list[InvitationRow]] = {meeting.id: [] for meeting in meetings}
    if not rows:
        return rows
    invitations = column_rows(session, _INVITATIONS_OF_MEETINGS, {"meeting_ids": list(rows)})
    if not invitations:
        return rows
    if labels is None:
        labels = participant_labels(session, case)
    for invitation in sorted(invitations, key=lambda i: (not i.active, i.id)):
        delivery = None
        if invitation.delivery_id is not None:
            delivery = Delivery(
                invitation.delivery_id,
                invitation.delivery_status,
                invitation.delivery_sent_at,
                invitation.delivery_attempts,
            )
        rows[invitation.meeting_id].append(
            InvitationRow(invitation, labels.get(invitation.participant_id, "?"), delivery)
        )
    return rows


@dataclass
class MeetingView:
    """A meeting on the case page: who attended it, how, and its invitations."""

    meeting: Meeting
    label: str = ""
    attendance: list[tuple[str, str]] = field(default_factory=list)
    invitations: list = field(default_factory=list)


def case_meetings(
    session: Session,
    case: SipCase,
    participant_names: dict[int, str],
    *,
    labels: dict[int, str] | None = None,
) -> list[MeetingView]:
    """The case's meetings, oldest first, with attendance (named by participant_names) and invitations.

    labels: participant_labels of the case when the caller has them already (labels_of).
    """
    rows = session.exec(_MEETINGS_OF_CASE, params={"case_id": case.id}).all()
    meetings = list({meeting.id: meeting for meeting, _, _ in rows}.values())
    labels_by_meeting = meeting_labels(meetings)
    views = {m.id: MeetingView(m, labels_by_meeting[m.id]) for m in meetings}
    for meeting, participant_id, mode in rows:
        if participant_id is not None:
            views[meeting.id].attendance.append((participant_names.get(participant_id, "?"), mode))
    if views:
        for meeting_id, invitations in invitation_rows(session, case, meetings, labels=labels).items():
            views[meeting_id].invitations = invitations
    return list(views.values())


def _sees(read: Invitees, organisation_id: int | None) -> bool:
    """A participant of that organisation (None: a private person) sees the SIP on the day read (with the
    step's read, StepReads.seeing: access.organisations_seeing_case, the rule access.refuse_uncovered asks);
    read without it, every participant is taken to."""
    reads = read.step_reads
    return reads is None or organisation_id is None or organisation_id in reads.seeing


def attendance_choices(
    read: Invitees, withdrawn: set[int], *, posted: Iterable[int] = ()
) -> list[Participant]:
    """The participants whose attendance the outcome form offers, the same on the page and on its post:
    those taking part, not withdrawn from the meeting (outcome.withdrawn_from) and seeing the SIP (a private
    person, or an organisation the consent covers), since the outcome step refuses the others'
    (refuse_withdrawn_attendance, access.refuse_uncovered).

    posted: the participants a posted form chose for (a page read before a withdrawal offered them), kept
    so the step's refusal stands beside the choice; nobody else is added on a post.
    """
    kept = set(posted)
    return [
        participant
        for participant, _organisation, _unit, _contact in read.rows
        if participant.active
        and (
            participant.id in kept
            or (participant.id not in withdrawn and _sees(read, participant.organisation_id))
        )
    ]


def owner_choices(
    read: Invitees, *, removed: bool = False, chosen: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """The owners a decision may name, labelled: each organisation, unit and person taking part; read with the
    step's read (invitees(step_now=)), an organisation only when it sees the SIP, since the outcome step
    refuses an owner the consent does not cover (access.refuse_uncovered).

    removed: include participants no longer taking part (to name the owners of past decisions), whether
    they see the SIP or not. chosen: owner keys a posted form chose (a page read before the consent
    stopped covering them offered them), kept so the step's refusal stands beside the choice.
    """
    organisations: list[tuple[str, str]] = []
    units: list[tuple[str, str]] = []
    persons: list[tuple[str, str]] = []
    seen: set[str] = set()
    kept = set(chosen)
    for participant, organisation, unit, _contact in read.rows:
        if not (participant.active or removed):
            continue
        if participant.kind != "organisation":
            persons.append((owner_key(Owner(participant_id=participant.id)), read.labels[participant.id]))
            continue
        if organisation is None:
            continue
        offered = removed or _sees(read, organisation.id)
        key = owner_key(Owner(organisation_id=organisation.id))
        if key not in seen and (offered or key in kept):
            seen.add(key)
            organisations.append((key, read.organisations.get(organisation.id, organisation.name)))
        if unit is not None:
            key = owner_key(Owner(organisation_id=organisation.id, unit_id=unit.id))
            if key not in seen and (offered or key in kept):
                seen.add(key)
                units.append((key, unit_label(organisation.name, unit.name)))
    return [*organisations, *units, *persons]


@dataclass
class DecisionRow:
    """A decision of a held meeting with its owner's name."""

    decision: MeetingDecision
    owner: str


@dataclass
class HeldOutcome:
    """What a held meeting recorded: attendance (with carer support) and decisions, named for the page."""

    attendance: list[tuple[str, Attendance]]
    decisions: list[DecisionRow]


def meeting_outcome(
    session: Session, meeting: Meeting, labels: dict[int, str], organisations: Mapping[int, str] | None = None
) -> HeldOutcome:
    """The attendance and decisions of meeting (a few rows each), named by the case's participant labels
    and an organisation owning a decision by its label among the SIP's (Invitees.organisations)."""
    organisations = organisations or {}
    attendance = session.exec(
        select(Attendance).where(Attendance.meeting_id == meeting.id).order_by(Attendance.participant_id)
    ).all()
    decisions = session.exec(
        select(MeetingDecision, Organisation, Unit)
        .outerjoin(Organisation, Organisation.id == MeetingDecision.organisation_id)
        .outerjoin(Unit, Unit.id == MeetingDecision.unit_id)
        .where(MeetingDecision.meeting_id == meeting.id)
        .order_by(MeetingDecision.position, MeetingDecision.id)
    ).all()
    rows = []
    for decision, organisation, unit in decisions:
        if decision.participant_id is not None:
            owner = labels.get(decision.participant_id, "?")
        elif unit is not None:
            owner = unit_label(organisation.name, unit.name) if organisation else unit.name
        else:
            owner = organisations.get(organisation.id, organisation.name) if organisation else "?"
        rows.append(DecisionRow(decision, owner))
    return HeldOutcome([(labels.get(a.participant_id, "?"), a) for a in attendance], rows)
