"""What the meeting pages show: invitees with their answers and the delivery of each e-mail."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.meetings.models import Attendance, Invitation, Meeting
from sipflow.meetings.services import invitee_address
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import delivery_status
from sipflow.people.models import Organisation, Person, Unit


@dataclass
class InvitationRow:
    """One invitee of a meeting, as the meeting page and the case page list them."""

    invitation: Invitation
    label: str
    delivery: OutboxMessage | None


def participant_labels(session: Session, case: SipCase) -> dict[int, str]:
    """A readable name per current participant: unit and organisation, or the private person's name."""
    person = session.get(Person, case.person_id)
    rows = session.exec(
        select(Participant, Organisation, Unit)
        .outerjoin(Organisation, Organisation.id == Participant.organisation_id)
        .outerjoin(Unit, Unit.id == Participant.unit_id)
        .where(Participant.case_id == case.id)
        .order_by(Participant.id)
    ).all()
    labels = {}
    for participant, organisation, unit in rows:
        if participant.kind == "organisation":
            name = organisation.name if organisation else "?"
            labels[participant.id] = f"{name}, {unit.name}" if unit else name
        elif participant.kind == "person":
            labels[participant.id] = _(
                "%(name)s (the person)", name=f"{person.given_name} {person.family_name}"
            )
        elif participant.kind == "guardian":
            labels[participant.id] = _("%(name)s (guardian)", name=participant.name)
        else:
            labels[participant.id] = _("%(name)s (närstående)", name=participant.name)
    return labels


def invitee_choices(
    session: Session, case: SipCase, *, exclude_meeting: Meeting | None = None
) -> list[tuple[int, str]]:
    """The participants one may invite; those without an e-mail address are called some other way."""
    labels = participant_labels(session, case)
    invited: set[int] = set()
    if exclude_meeting is not None:
        invited = set(
            session.exec(
                select(Invitation.participant_id).where(
                    Invitation.meeting_id == exclude_meeting.id, Invitation.active
                )
            ).all()
        )
    choices = []
    for participant in session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.active).order_by(Participant.id)
    ).all():
        if participant.id in invited:
            continue
        label = labels[participant.id]
        if invitee_address(session, participant) is None:
            label = _("%(name)s: no e-mail address, called some other way", name=label)
        choices.append((participant.id, label))
    return choices


def invitation_rows(
    session: Session, case: SipCase, meetings: list[Meeting]
) -> dict[int, list[InvitationRow]]:
    """Each meeting's invitations (withdrawn ones last) with the newest e-mail's delivery, read at once."""
    rows: dict[int, list[InvitationRow]] = {meeting.id: [] for meeting in meetings}
    if not rows:
        return rows
    invitations = session.exec(
        select(Invitation).where(Invitation.meeting_id.in_(list(rows))).order_by(Invitation.id)
    ).all()
    if not invitations:
        return rows
    labels = participant_labels(session, case)
    deliveries = delivery_status(session, [i.id for i in invitations])
    for invitation in sorted(invitations, key=lambda i: (not i.active, i.id)):
        rows[invitation.meeting_id].append(
            InvitationRow(
                invitation, labels.get(invitation.participant_id, "?"), deliveries.get(invitation.id)
            )
        )
    return rows


@dataclass
class MeetingView:
    """A meeting on the case page: who attended it, how, and its invitations."""

    meeting: Meeting
    attendance: list[tuple[str, str]] = field(default_factory=list)
    invitations: list = field(default_factory=list)


def case_meetings(session: Session, case: SipCase, participant_names: dict[int, str]) -> list[MeetingView]:
    """The case's meetings, oldest first, with attendance (named by participant_names) and invitations."""
    meetings = session.exec(
        select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.starts_at, Meeting.id)
    ).all()
    views = {m.id: MeetingView(m) for m in meetings}
    if views:
        for attendance in session.exec(
            select(Attendance)
            .where(Attendance.meeting_id.in_(list(views)))
            .order_by(Attendance.participant_id)
        ).all():
            views[attendance.meeting_id].attendance.append(
                (participant_names.get(attendance.participant_id, "?"), attendance.mode)
            )
        for meeting_id, rows in invitation_rows(session, case, list(meetings)).items():
            views[meeting_id].invitations = rows
    return list(views.values())
