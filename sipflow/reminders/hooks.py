"""What the reminders area lets workflow files name: the anchor dates and templates of [[reminders]]."""

from __future__ import annotations

from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.meetings.models import PLANNED, Meeting
from sipflow.reminders.models import KINDS, WORKFLOW
from sipflow.workflow.registry import register_reminder_anchor, register_reminder_template

# The template a declared reminder may name besides the built-in kinds' own.
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
for _name in (*[k for k in KINDS if k != WORKFLOW], CASE_TEMPLATE):
    register_reminder_template(_name)
