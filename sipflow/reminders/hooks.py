"""What the reminders area registers with other areas: the anchor dates and templates a workflow file's
[[reminders]] may name, and what becomes of an effort's reminders when the plan editor removes the effort."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import update
from sqlmodel import Session, select

from sipflow.cases.models import Deadline, SipCase
from sipflow.clock import end_of_local_day, local_today
from sipflow.consent.services import first_consent_end
from sipflow.meetings.models import PLANNED, Meeting
from sipflow.meetings.permissions import KALLELSE_FORM
from sipflow.plans.editor import register_effort_removal
from sipflow.reminders.models import CANCELLED, PENDING, Reminder
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import Workflow
from sipflow.workflow.registry import register_reminder_anchor, register_reminder_template

# The template a declared reminder names (the built-in kinds' own need a meeting, deadline or effort).
CASE_TEMPLATE = "case_reminder"
# The anchors read from the case's meetings (not its columns): a change of a meeting can move them.
MEETING_ANCHORS = frozenset({"next_meeting"})
# The end of the consent (consent.services.first_consent_end): a consent given, changed or withdrawn, and a
# change of who takes part, can move it.
CONSENT_ENDS = "consent_ends"
CONSENT_ANCHORS = frozenset({CONSENT_ENDS})
# The planned follow-up day: while a deadline counted from it is open (_follow_up_on), so a step that meets
# or starts such a deadline can move it.
FOLLOW_UP_ON = "follow_up_on"


def _case_date(column: str):
    def anchor(_session: Session, _workflow: Workflow, case: SipCase):
        return getattr(case, column)

    return anchor


def _follow_up_on(session: Session, workflow: Workflow, case: SipCase):
    """The planned follow-up day (the case's follow_up_on) while that follow-up is still to be held: once
    every deadline the workflow counts from it is met (the follow-up held, early or on its day, and the
    revised plan with its next day not yet established), the day is superseded, so nothing is reminded
    ahead of it or after it; the revision's new deadline brings it back (the same day kept, or the next)."""
    if case.follow_up_on is None:
        return None
    kinds = [rule.kind for rule in workflow.deadlines if rule.source_field == FOLLOW_UP_ON]
    if not kinds:
        return case.follow_up_on
    still_open = session.exec(
        select(Deadline.id)
        .where(
            Deadline.case_id == case.id,
            Deadline.kind.in_(kinds),
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
        .limit(1)
    ).first()
    return case.follow_up_on if still_open is not None else None


def _next_meeting(session: Session, _workflow: Workflow, case: SipCase):
    """The start of the case's next planned meeting."""
    return session.exec(
        select(Meeting.starts_at)
        .where(Meeting.case_id == case.id, Meeting.status == PLANNED)
        .order_by(Meeting.starts_at)
    ).first()


def _consent_ends(session: Session, workflow: Workflow, case: SipCase):
    """The end (Swedish time) of the last day of consent of the organisation (or, in a child's SIP, the
    guardian) whose consent runs out first, so that a reminder some days ahead asks for a new consent before
    an organisation loses the SIP or its steps stop for want of a guardian's consent."""
    last_day = first_consent_end(session, workflow, case, today=local_today())
    return None if last_day is None else end_of_local_day(last_day)


for _column in ("requested_at", "utskrivningsklar_at"):
    register_reminder_anchor(_column, _case_date(_column))
register_reminder_anchor(FOLLOW_UP_ON, _follow_up_on)
# A meeting is planned only by the kallelse's booking, and later ones only once it is sent
# (meetings.permissions.booking_permission): in a file without that step no case has a next meeting.
register_reminder_anchor("next_meeting", _next_meeting, set_by=(KALLELSE_FORM,))
register_reminder_anchor(CONSENT_ENDS, _consent_ends, label=_l("The consent is valid until"), ahead_only=True)
# Only the case's own template: a declared reminder is about no meeting, deadline or effort, so the built-in
# kinds' templates rendered for it said "you are invited to a SIP meeting tomorrow" with no time, or "the
# deadline  of a SIP ... falls ." (their fields empty).
register_reminder_template(CASE_TEMPLATE)


def release_removed_efforts(session: Session, case: SipCase, effort_ids: list[int], *, now: datetime) -> None:
    """Before efforts are removed: cancel their reminders still to send; every row forgets the effort.

    A sent (or failed, skipped) reminder stays as the record of what went out, about an effort no longer
    in the plan. One statement, through the case's index, as the case's reminders are few.
    """
    session.execute(
        update(Reminder)
        .where(Reminder.case_id == case.id, Reminder.effort_id.in_(effort_ids))
        .values(
            status=sql_case((Reminder.status == PENDING, CANCELLED), else_=Reminder.status),
            effort_id=None,
        )
        .execution_options(synchronize_session=False)
    )


register_effort_removal(release_removed_efforts)
