"""A held meeting's outcome: which meeting, how each participant attended, and what that makes the meeting.

The classification (helt digital / delvis digital / på plats) is derived here and nowhere else, so the
outcome page, the stored `Meeting.classification` and the statistics count the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.errors import InvalidInput
from sipflow.meetings.models import (
    ANSWER_MODES,
    CANCELLED,
    HELD,
    PLANNED,
    STEP_MEETINGS,
    Attendance,
    Invitation,
    Meeting,
)
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.definition import TransitionDef, Workflow
from sipflow.workflow.engine import WorkflowRegistry

# The mode a held meeting gets from its classification (the booked mode said what was planned).
MODE_OF_CLASSIFICATION = {"fully_digital": "video", "partly_digital": "mixed", "on_site": "on_site"}
# The form kind of the steps that record a held meeting (a form is code; which steps use it is data).
OUTCOME_FORM = "meeting_outcome"
# The effect of the step that sends the kallelse and books the meeting it announces (registered in effects).
BOOKING_EFFECT = "plan_meeting"
# The participant kind asked about their own support needs (anhörigstöd).
CARER_KIND = "narstaende"
# The key under which mark_meeting_held leaves the decisions it wrote in the step's memo.
RECORDED_DECISIONS = "meeting_decisions"
# The memo key under which mark_meeting_held leaves the meeting it recorded, for the effects after it.
HELD_MEETING = "held_meeting"
# The memo key under which mark_meeting_held leaves the meetings held before whose kind it changed (see
# services.settle_meeting_kinds), for the coding to correct their records.
REKINDED_MEETINGS = "rekinded_meetings"
# The field a refusal of one participant's attendance names: this and the participant's id.
ATTENDANCE_FIELD = "attendance-"
# The memo key under which the outcome input leaves every meeting of the case when it read them (no meeting
# named), so mark_meeting_held tells a first meeting from a follow-up without reading them again.
CASE_MEETINGS = "case_meetings"


def classify(modes: Iterable[str]) -> str | None:
    """The meeting's classification from its attendance modes (SIP.md §5); None when nobody attended.

    Nobody on site: fully digital. Everyone present on site: on site. Otherwise partly digital.
    """
    present = [mode for mode in modes if mode != "absent"]
    if not present:
        return None
    on_site = sum(1 for mode in present if mode == "on_site")
    if on_site == 0:
        return "fully_digital"
    if on_site == len(present):
        return "on_site"
    return "partly_digital"


def correct_attendance(session: Session, meeting: Meeting, modes: Mapping[int, str]) -> None:
    """Staff corrected how participants took part in a held meeting (the KVÅ correction): their attendance
    rows take the modes, and the meeting's classification follows from its whole attendance again, so the
    statistics' attendance and digital meetings say what the codes say."""
    rows = {
        row.participant_id: row
        for row in session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id))
    }
    for participant_id, mode in modes.items():
        row = rows.get(participant_id)
        if row is None:
            row = rows[participant_id] = Attendance(
                meeting_id=meeting.id, participant_id=participant_id, mode=mode
            )
        row.mode = mode
        session.add(row)
    meeting.classification = classify(row.mode for row in rows.values())
    session.add(meeting)


# A meeting's invitations, withdrawn ones too, built once with a bind parameter.
_INVITATIONS_OF_MEETING = (
    select(Invitation)
    .where(Invitation.meeting_id == bindparam("meeting_id", type_=Integer))
    .order_by(Invitation.id)
)


def meeting_invitations(session: Session, meeting: Meeting | None) -> list[Invitation]:
    """Every invitation of meeting (a handful: the index on meeting_id finds them), withdrawn ones too;
    none for no meeting. The outcome's prefilled answers and who may not attend (withdrawn_from)."""
    if meeting is None or meeting.id is None:
        return []
    return list(session.exec(_INVITATIONS_OF_MEETING, params={"meeting_id": meeting.id}).all())


def withdrawn_from(invitations: Iterable[Invitation]) -> set[int]:
    """The participants whose invitation (among a meeting's) was withdrawn: by the staff, on leaving the
    SIP, or when the consent stopped covering them. They were told the meeting is not theirs, so its
    outcome neither offers nor records their attendance (refuse_withdrawn_attendance)."""
    return {invitation.participant_id for invitation in invitations if not invitation.active}


def refuse_withdrawn_attendance(
    session: Session, meeting: Meeting | None, attendance: Mapping[int, str]
) -> None:
    """Refuse attendance of a participant withdrawn from the booked meeting (withdrawn_from), at that
    participant's field (ATTENDANCE_FIELD and the id): an organisation withdrawn may be one the consent no
    longer covers, and a meeting it attended is one where it heard what the SIP holds."""
    # Every withdrawal raises the meeting's SEQUENCE (services._withdraw): a meeting still at its first
    # has none withdrawn, and its invitations are not read.
    if not attendance or meeting is None or meeting.sequence == 0:
        return
    refused = sorted(set(attendance) & withdrawn_from(meeting_invitations(session, meeting)))
    if refused:
        raise InvalidInput(
            _l(
                "This participant's invitation to the meeting was withdrawn, so their attendance cannot "
                "be recorded. Choose “Not recorded”."
            ),
            field=f"{ATTENDANCE_FIELD}{refused[0]}",
        )


def attendance_from_answer(partstat: str | None, answer_mode: str | None) -> str | None:
    """The attendance an invitation answer suggests: accepted with a way of taking part, phone, declined."""
    if partstat == "DECLINED":
        return "absent"
    if answer_mode == "phone" or (partstat == "ACCEPTED" and answer_mode in ANSWER_MODES):
        return answer_mode
    return None


def meeting_labels(meetings: Sequence[Meeting]) -> dict[int, str]:
    """Each meeting of one case labelled by what it is, as far as that is settled (the pages show its date
    beside it).

    The held meetings, by the time they were held: the first meeting, then follow-up 1, 2 ... A booked
    meeting is a follow-up once a meeting has been held (numbered on from the held ones, by start time);
    before that, which booked meeting turns out to be the first is not known (the last one booked may be
    held first), so each is just "Meeting". Cancelled meetings are labelled as cancelled. Only the label
    shown: the kind a meeting counts as (Meeting.kind, read by the coding) is settled when a meeting is
    recorded as held (services.settle_meeting_kinds), by the same order.
    """
    labels: dict[int, str] = {}
    in_order = sorted(meetings, key=lambda m: (m.starts_at, m.id))
    held = [m for m in in_order if m.status == HELD]
    booked = [m for m in in_order if m.status not in (HELD, CANCELLED)]
    for number, meeting in enumerate(held):
        labels[meeting.id] = _("First meeting") if number == 0 else _("Follow-up %(number)d", number=number)
    for number, meeting in enumerate(booked, start=len(held)):
        labels[meeting.id] = _("Follow-up %(number)d", number=number) if held else _("Meeting")
    for meeting in meetings:
        labels.setdefault(meeting.id, _("Cancelled meeting"))
    return labels


# Built once with a bind parameter: two steps and two pages read it (building a statement per call costs
# more Python than the read of a handful of rows).
_CASE_MEETINGS_IN_ORDER = (
    select(Meeting)
    .where(Meeting.case_id == bindparam("case_id", type_=Integer))
    .order_by(Meeting.starts_at, Meeting.id)
)


def case_meetings_in_order(session: Session, case: SipCase) -> list[Meeting]:
    """The case's meetings, oldest first (a case has a handful; the index on case_id finds them)."""
    return list(session.exec(_CASE_MEETINGS_IN_ORDER, params={"case_id": case.id}).all())


def step_meetings(ctx: TransitionContext) -> list[Meeting]:
    """The case's meetings, oldest first, read once per step (the outcome input, the booking effect).

    What runs before the commit of the same transaction (the reminders' reconciliation) may use them too,
    unless a meeting is written that is not one of them (its reader checks that): a step's own new meeting
    is added to the list. They are read after the step's claim, which holds the case's row: a meeting
    written outside a step locks that row first (cases.services.lock_case), so none can come in unseen.
    """
    if CASE_MEETINGS not in ctx.memo:
        ctx.memo[CASE_MEETINGS] = case_meetings_in_order(ctx.session, ctx.case)
        ctx.session.info.setdefault(STEP_MEETINGS, {})[ctx.case.id] = ctx.memo[CASE_MEETINGS]
    return ctx.memo[CASE_MEETINGS]


def planned_meetings(meetings: Sequence[Meeting]) -> list[Meeting]:
    """The meetings still booked (not held, not cancelled), oldest first: those an outcome can be for."""
    return sorted((m for m in meetings if m.status == PLANNED), key=lambda m: (m.starts_at, m.id))


@dataclass(frozen=True)
class Owner:
    """Who owns a decision: an organisation, a unit (with its organisation) or a participating person."""

    organisation_id: int | None = None
    unit_id: int | None = None
    participant_id: int | None = None


def owner_key(owner: Owner) -> str:
    """The form value naming owner: ``organisation:ID``, ``unit:ID`` or ``participant:ID`` (ids only)."""
    if owner.participant_id is not None:
        return f"participant:{owner.participant_id}"
    if owner.unit_id is not None:
        return f"unit:{owner.unit_id}"
    return f"organisation:{owner.organisation_id}"


def owners_of(participants: Iterable[Participant]) -> dict[str, Owner]:
    """Every owner a decision may name, keyed by owner_key: the case's organisations, units and persons."""
    owners: dict[str, Owner] = {}
    for participant in participants:
        if participant.kind == "organisation":
            if participant.organisation_id is None:
                continue
            organisation = Owner(organisation_id=participant.organisation_id)
            owners.setdefault(owner_key(organisation), organisation)
            if participant.unit_id is not None:
                unit = Owner(organisation_id=participant.organisation_id, unit_id=participant.unit_id)
                owners.setdefault(owner_key(unit), unit)
        else:
            person = Owner(participant_id=participant.id)
            owners[owner_key(person)] = person
    return owners


def outcome_transition(workflow: Workflow, state: str) -> TransitionDef | None:
    """The step from state that records a held meeting: whichever has the meeting-outcome form."""
    return next((t for t in workflow.transitions_from(state) if t.form == OUTCOME_FORM), None)


def awaiting_outcome_states(workflow: Workflow) -> set[str]:
    """The states a step recording a held meeting leaves: the case waits there for a meeting's outcome."""
    return {state for t in workflow.transitions if t.form == OUTCOME_FORM for state in t.sources}


def called_states(workflow: Workflow) -> set[str]:
    """The states awaiting an outcome that the kallelse leads into: a meeting is due there, booked or not.

    A state awaiting a follow-up is not one: its meeting is booked when the follow-up date comes near.
    """
    entered = {t.dest for t in workflow.transitions if BOOKING_EFFECT in t.effects}
    return entered & awaiting_outcome_states(workflow)


def meeting_states(registry: WorkflowRegistry) -> tuple[set[str], set[str]]:
    """Across the loaded workflows: the states awaiting a meeting's outcome, and those of them called."""
    awaiting, called = set(), set()
    for workflow in registry.workflows():
        awaiting |= awaiting_outcome_states(workflow)
        called |= called_states(workflow)
    return awaiting, called
