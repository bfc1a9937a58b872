"""What the reminders area registers with other areas: the anchor dates and templates a workflow file's
[[reminders]] may name, and what becomes of an effort's reminders when the plan editor removes the effort."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import update
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.meetings.models import PLANNED, Meeting
from sipflow.plans.editor import register_effort_removal
from sipflow.reminders.models import CANCELLED, PENDING, Reminder
from sipflow.workflow.registry import register_reminder_anchor, register_reminder_template

# The template a declared reminder names (the built-in kinds' own need a meeting, deadline or effort).
CASE_TEMPLATE = "case_reminder"
# The anchors read from the case's meetings (not its columns): a change of a meeting can move them.
MEETING_ANCHORS = frozenset({"next_meeting"})


def _case_date(column: str):
    def anchor(_session: Session, case: SipCase):
        return getattr(case, column)

    return anchor


def _next_meeting(session: Session, case: SipCase):
    """The start of the case's next planned meeting."""
    return session.exec(
        select(Meeting.starts_at)
        .where(Meeting.case_id == case.id, Meeting.status == PLANNED)
        .order_by(Meeting.starts_at)
    ).first()


for _column in ("requested_at", "utskrivningsklar_at", "follow_up_on"):
    register_reminder_anchor(_column, _case_date(_column))
register_reminder_anchor("next_meeting", _next_meeting)
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
