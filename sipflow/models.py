"""Import every table module so SQLModel.metadata is complete (Alembic and create_all need that)."""

from sipflow.admin.models import AdminChange, CoordinatorScope
from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.coding.models import CodeAssignment, CodeDefinition, CodeRecord
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Attendance, Invitation, Meeting, MeetingDecision
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import County, Municipality, Organisation, Person, Unit, User
from sipflow.plans.models import (
    HuvudansvarTransfer,
    PersonalLink,
    Plan,
    PlanApproval,
    PlanContact,
    PlanEffort,
    PlanGoal,
    PlanVersion,
)
from sipflow.reminders.models import Reminder
from sipflow.retention.models import AnonymisedCase, AnonymisedPerson
from sipflow.security.audit import AccessLogEntry, AccessLogHead
from sipflow.security.password_links import PasswordLink
from sipflow.security.throttle import LoginFailure

__all__ = [
    "AdminChange",
    "CoordinatorScope",
    "PasswordLink",
    "CodeRecord",
    "CodeDefinition",
    "CodeAssignment",
    "Reminder",
    "PlanVersion",
    "PlanGoal",
    "PlanEffort",
    "PlanContact",
    "PlanApproval",
    "Plan",
    "PersonalLink",
    "MeetingDecision",
    "HuvudansvarTransfer",
    "AccessLogEntry",
    "AccessLogHead",
    "AnonymisedCase",
    "AnonymisedPerson",
    "Attendance",
    "Consent",
    "ConsentOrganisation",
    "County",
    "Deadline",
    "Invitation",
    "LoginFailure",
    "Meeting",
    "Municipality",
    "Organisation",
    "OutboxMessage",
    "Participant",
    "Person",
    "SipCase",
    "TransitionLog",
    "Unit",
    "User",
]
