"""Reminders: which a case should have (reconciled in the transaction of the change), and their dispatch.

A case's wanted reminders are worked out from what the case is now (its open deadlines, its planned
meetings and their invitations, the reminders its workflow file declares) and compared with its rows:
a wanted reminder that has no row gets one, a pending one whose moment moved takes the new moment, and a
pending one no longer wanted (the meeting cancelled, the deadline met, the case ended) is cancelled.
The dispatcher claims due rows, renders each into an outbox row and marks it, in one transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import namedtuple
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.message import EmailMessage

from babel.lists import format_list
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic_core import PydanticUndefined
from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    insert,
    null,
    or_,
    union_all,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from sipflow.admin import regions
from sipflow.cases.deadlines import due_at
from sipflow.cases.models import Deadline, Participant, SipCase
from sipflow.cases.queries import find_workflow
from sipflow.cases.services import lock_case, lock_cases, party_roles
from sipflow.clock import (
    STOCKHOLM,
    add_days,
    ends_its_day,
    last_working_day,
    local_to_utc,
    local_today,
    parse_instant,
    stored_utc,
    to_local,
)
from sipflow.consent.services import cases_whose_consent_ended
from sipflow.db import column_rows, swedish_day, unit_of_work
from sipflow.i18n import MAIL_DAY_PATTERNS, MAIL_MOMENT_PATTERNS, known_language
from sipflow.meetings.forwarding import human_mailbox
from sipflow.meetings.messages import answer_url, booking_organisation, when_text
from sipflow.meetings.models import PLANNED, Invitation, Meeting
from sipflow.meetings.services import invitee_addresses
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import enqueue, sender
from sipflow.people.models import Organisation, Unit, User
from sipflow.plans import editor as plan_editor
from sipflow.plans.models import Plan, PlanContact, PlanEffort
from sipflow.reminders.hooks import CONSENT_ANCHORS, FOLLOW_UP_ON, MEETING_ANCHORS
from sipflow.reminders.models import (
    CANCELLED,
    CLAIMED,
    DEADLINE_DUE,
    DEADLINE_ESCALATED,
    DEADLINE_MISSED,
    DEADLINE_SOON,
    EFFORT_OVERDUE,
    FAILED,
    INVITATION_UNANSWERED,
    MEETING_TOMORROW,
    PENDING,
    SENT,
    SKIP_ALREADY_SENT,
    SKIP_ANSWERED,
    SKIP_BY_NAME,
    SKIP_CASE_ENDED,
    SKIP_DEADLINE_SETTLED,
    SKIP_EFFORT_MOVED,
    SKIP_EFFORT_SETTLED,
    SKIP_MEETING_OFF,
    SKIP_NO_CONTACT,
    SKIP_NOT_COVERED,
    SKIP_PASSED,
    SKIP_WORKFLOW_MISSING,
    SKIP_WRITTEN_LATE,
    SKIPPED,
    STATUSES,
    UNDELIVERABLE,
    WORKFLOW,
    Reminder,
)
from sipflow.routing import KeysetPage, cursor_text, cursor_token, keyset_page
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import HUVUDANSVARIG, INITIATOR, PARTICIPANT, Workflow, WorkflowStateMissing
from sipflow.workflow.engine import WorkflowVersionMissing
from sipflow.workflow.registry import REMINDER_ANCHOR_LABELS, REMINDER_ANCHORS

log = logging.getLogger(__name__)

# Defaults of the settings (app.config REMINDER_* overrides each): days before a meeting the booker hears
# of unanswered invitations; the most days before a deadline its "soon" reminder comes; days after a
# deadline an open one is escalated; how long a claim may stay before it is taken to be a crashed run's;
# how late a reminder may be sent before it counts as late; rows one tick dispatches at most; the hour
# (Swedish time) a reminder about a day is sent on that day.
DEFAULTS = {
    "REMINDER_UNANSWERED_DAYS": 3,
    "REMINDER_SOON_MAX_DAYS": 7,
    "REMINDER_ESCALATE_DAYS": 7,
    "REMINDER_CLAIM_TIMEOUT_SECONDS": 600,
    "REMINDER_LATE_AFTER_SECONDS": 900,
    "REMINDER_BATCH": 200,
    "REMINDER_MORNING_HOUR": 7,
}
# A unit's reminder goes to at most this many of its staff.
UNIT_RECIPIENTS_MAX = 20
EFFORT_SCAN_BATCH = 500
EFFORT_OPEN = ("planned", "ongoing")


def setting(name: str) -> int:
    """A REMINDER_* setting: the app's, else the default."""
    return int(current_app.config.get(name, DEFAULTS[name]))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y%m%dT%H%M")


@dataclass
class Wanted:
    """A reminder a case should have."""

    kind: str
    slot: str
    due_at: datetime
    template: str
    fields: dict = field(default_factory=dict)
    # The moment it tells of (Reminder.anchor_at): what a row already sent of its slot is compared by.
    anchor_at: datetime | None = None

    @property
    def dedupe_key(self) -> str:
        # A deadline's reminders name the deadline too: a new deadline of the same kind at the same moment
        # (a revised plan keeping its follow-up day) is reminded again, not taken for the one already met.
        deadline = self.fields.get("deadline_id")
        return f"{self.slot}@{_stamp(self.due_at)}" + (f"/d{deadline}" if deadline is not None else "")


# --- Which reminders a change can move ---------------------------------------------------------------------

# The families of reminders a case has, each worked out from its own reads, and the kinds in each.
DEADLINES = "deadlines"  # participants (who hears), open deadlines, the case's dates
MEETINGS = "meetings"  # planned meetings and their invitations
DECLARED = "declared"  # participants, the anchors the workflow file names
FAMILY_KINDS = {
    DEADLINES: (DEADLINE_SOON, DEADLINE_DUE, DEADLINE_MISSED, DEADLINE_ESCALATED),
    MEETINGS: (MEETING_TOMORROW, INVITATION_UNANSWERED),
    DECLARED: (WORKFLOW,),
}
ALL_FAMILIES = frozenset(FAMILY_KINDS)
# What a transaction wrote of a case (noted after each flush): besides these, ("column", name) for a
# changed column of the case row and ("step", trigger, to_state) for a transition log row.
CASE_NEW = "case"
DEADLINE_ROW = "deadline"
MEETING_ROW = "meeting"
PARTICIPANT_ROW = "participant"
CONSENT_ROW = "consent"  # a consent given or withdrawn, wholly or for one organisation
# Columns of the case whose change moves who hears of a deadline or a declared reminder.
_RECIPIENT_COLUMNS = {"created_by_user_id", "initiating_organisation_id"}


def affected_families(workflow: Workflow, case: SipCase, changes: Iterable) -> frozenset[str]:
    """The reminder families what a transaction wrote of a case can move (none: nothing to reconcile).

    A step that only records consent or a text moves none, unless the workflow declares a reminder counting
    from the consent's end; a booked meeting its meetings' reminders; a met or new deadline, a new date of
    the case the deadlines'; a new case or a change of participants the deadlines' and the declared ones; an
    ended case all of them.
    """
    if workflow.is_final(case.state):
        return ALL_FAMILIES  # every pending one is cancelled, and nothing is read but the rows
    deadline_columns = {rule.source_field for rule in workflow.deadlines} | _RECIPIENT_COLUMNS
    declared_columns = {declared.anchor for declared in workflow.reminders} | _RECIPIENT_COLUMNS
    met_by = {trigger for rule in workflow.deadlines for trigger in rule.met_by}
    meeting_anchored = any(declared.anchor in MEETING_ANCHORS for declared in workflow.reminders)
    consent_anchored = any(declared.anchor in CONSENT_ANCHORS for declared in workflow.reminders)
    # The follow-up day is an anchor only while a deadline counted from it is open (hooks._follow_up_on):
    # a deadline met or started moves what is declared on it.
    follow_up_anchored = any(declared.anchor == FOLLOW_UP_ON for declared in workflow.reminders)
    families: set[str] = set()
    for change in changes:
        if change in (CASE_NEW, PARTICIPANT_ROW):
            # Who hears of deadlines and declared reminders; a meeting's reminders follow its invitations
            # (a new case's meetings, if any, are new rows noted on their own).
            families |= {DEADLINES, DECLARED}
        elif change == DEADLINE_ROW:
            families.add(DEADLINES)
            if follow_up_anchored:
                families.add(DECLARED)
        elif change == MEETING_ROW:
            families.add(MEETINGS)
            if meeting_anchored:
                families.add(DECLARED)
        elif change == CONSENT_ROW:
            if consent_anchored:
                families.add(DECLARED)
        elif change[0] == "column":
            if change[1] in deadline_columns:
                families.add(DEADLINES)
            if change[1] in declared_columns:
                families.add(DECLARED)
        elif change[0] == "step" and change[1] in met_by:
            # The step settled deadlines with a bulk UPDATE, which no flush shows.
            families.add(DEADLINES)
            if follow_up_anchored:
                families.add(DECLARED)
    return frozenset(families)


# --- What a case should have --------------------------------------------------------------------------------

# The reconciliation's reads, built once (each runs before most commits): the deadlines', meetings' and
# invitations' values only (nothing changes them here), the participants and the reminder rows as objects.
_CASE_ID = bindparam("case_id", type_=Integer)
_PARTICIPANTS = select(Participant).where(Participant.case_id == _CASE_ID)
_OPEN_DEADLINES = sa_select(*Deadline.__table__.c).where(
    Deadline.case_id == _CASE_ID, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)
)
_PLANNED_MEETINGS = sa_select(*Meeting.__table__.c).where(
    Meeting.case_id == _CASE_ID, Meeting.status == PLANNED
)
_INVITATIONS = sa_select(*Invitation.__table__.c).where(
    Invitation.meeting_id.in_(bindparam("meeting_ids", expanding=True)), Invitation.removed_at.is_(None)
)
_CASE_ROWS = select(Reminder).where(Reminder.case_id == _CASE_ID)
# The case's reminder rows and its open deadlines in one statement (one round trip fewer than the two reads
# above, when the reconciliation needs both): UNION ALL, each row one or the other, what it is not typed
# NULLs; the rows load as objects (a deadline's row as None), the deadlines' values under names of their own.
_REMINDERS, _DEADLINES = Reminder.__table__, Deadline.__table__
_ROWS_OR_DEADLINES = union_all(
    sa_select(*_REMINDERS.c, *(cast(null(), c.type).label(f"open_{c.name}") for c in _DEADLINES.c)).where(
        _REMINDERS.c.case_id == _CASE_ID
    ),
    sa_select(
        *(cast(null(), c.type).label(c.name) for c in _REMINDERS.c),
        *(c.label(f"open_{c.name}") for c in _DEADLINES.c),
    ).where(_OPEN_DEADLINES.whereclause),
).subquery("rows_or_deadlines")
_CASE_ROWS_AND_OPEN_DEADLINES = sa_select(
    aliased(Reminder, _ROWS_OR_DEADLINES),
    *(_ROWS_OR_DEADLINES.c[f"open_{c.name}"] for c in _DEADLINES.c),
)
_OpenDeadline = namedtuple("OpenDeadline", [c.name for c in _DEADLINES.c])


def _case_rows_and_open_deadlines(session: Session, case: SipCase) -> tuple[list[Reminder], list]:
    """The case's reminder rows (objects) and its open deadlines (values, in the order of their ids)."""
    rows, deadlines = [], []
    for row, *deadline in session.execute(_CASE_ROWS_AND_OPEN_DEADLINES, {"case_id": case.id}):
        if row is not None:
            rows.append(row)
        else:
            deadlines.append(_OpenDeadline(*deadline))
    return rows, sorted(deadlines, key=lambda d: d.id)


def soon_days(rule_days: int) -> int:
    """Days before a deadline its 'soon' reminder falls: a third of the deadline's span, 1 to the maximum."""
    most = setting("REMINDER_SOON_MAX_DAYS")
    if rule_days <= 0:  # a date chosen ahead (the follow-up): the full warning
        return most
    return max(1, min(most, rule_days // 3))


def _morning_of(moment: datetime) -> datetime:
    """The morning (REMINDER_MORNING_HOUR, Swedish time) of moment's Swedish day, the hour reminders keep."""
    return local_to_utc(datetime.combine(to_local(moment).date(), time(setting("REMINDER_MORNING_HOUR"))))


def on_the_morning(moment: datetime) -> datetime:
    """When a reminder about moment's day is sent: that day's morning, or moment itself when it comes earlier.

    A follow-up falls due at 23:59:59 of its day: its "today" and "in a week" mails must come when the day's
    work begins, not a minute before midnight.
    """
    return min(_morning_of(moment), moment)


def not_before_the_morning(now: datetime) -> datetime:
    """When a reminder found due at now is sent: now, or this Swedish day's morning when now is before it, so
    that a scan just after midnight mails no one at night."""
    return max(_morning_of(now), now)


def working_days_back(moment: datetime, days: int) -> datetime:
    """moment days before, in Swedish time, or, when that day is no working day (clock.is_working_day), the
    same clock time on the last working day before it: the one rule of a reminder ahead of something that
    must reach its reader while they can still act (a deadline's "approaching", unanswered invitations)."""
    day = to_local(add_days(moment, -days)).date()
    return add_days(moment, -(days + (day - last_working_day(day)).days))


def soon_moment(moment: datetime, ahead: int, *, counted_from: datetime | None = None) -> datetime:
    """When a deadline's "approaching" reminder goes: the morning ahead days before moment (_morning_of, never
    the deadline's own clock time when that is earlier: a deadline at 02:30 is not warned of at night), or,
    when that day is no working day (a weekend, a Swedish public holiday, julafton, midsommarafton,
    nyårsafton: clock.is_working_day), the morning of the last working day before it. A discharge kallelse
    extended over a weekend to Monday is warned of on Friday, while it can still be acted on, not on Sunday,
    a day before its "falls today". Never before counted_from, the moment a period counted in days starts
    (the notice of utskrivningsklar): a notice on Friday at 10:00, or on långfredag, whose morning to warn on
    lies before it (Friday's 07:00, skärtorsdag's), is warned of as it comes, not planned for a morning
    before the notice and then shown and sent as late."""
    soon = _morning_of(working_days_back(moment, ahead))
    if counted_from is not None and soon < counted_from:
        return counted_from
    return soon


def deadline_moment(workflow: Workflow, case: SipCase, deadline: Deadline) -> datetime:
    """When an open deadline falls: counted afresh from the case's date, so a new follow-up date moves it."""
    rule = next((r for r in workflow.deadlines if r.kind == deadline.kind), None)
    if rule is None:
        return deadline.due_at
    return due_at(rule, {rule.source_field: getattr(case, rule.source_field, None)}) or deadline.due_at


def _contacts(participants: list[Participant]) -> dict[str, list[Participant]]:
    by_role: dict[str, list[Participant]] = {HUVUDANSVARIG: [], PARTICIPANT: []}
    for p in participants:
        if p.kind == "organisation" and p.active:
            by_role.setdefault(p.role, []).append(p)
    return by_role


def _responsible(case: SipCase, participants: list[Participant]) -> tuple[str, str, int] | None:
    """Who hears of a case's deadlines, as (slot tag, reminder column, id): the huvudansvarig
    organisation's contact person, else its unit (each of its staff), else, with no huvudansvarig yet, who
    started the case. Not the starter once another organisation holds huvudansvar: the deadlines are its."""
    huvudansvarig = _contacts(participants)[HUVUDANSVARIG]
    for p in huvudansvarig:
        if p.contact_user_id is not None:
            return "u", "recipient_user_id", p.contact_user_id
    for p in huvudansvarig:
        if p.unit_id is not None:
            return "e", "recipient_unit_id", p.unit_id
    if case.created_by_user_id is None:
        return None
    return "u", "recipient_user_id", case.created_by_user_id


def _party_users(case: SipCase, participants: list[Participant], role: str) -> list[int]:
    """The staff members that stand for a party role of the case."""
    organisations = [p for p in participants if p.kind == "organisation" and p.active]
    if role == INITIATOR:
        users = [
            p.contact_user_id
            for p in organisations
            if p.organisation_id == case.initiating_organisation_id and p.contact_user_id
        ]
        return users[:1] or ([case.created_by_user_id] if case.created_by_user_id else [])
    wanted = [p for p in organisations if role == PARTICIPANT or p.role == role]
    return [p.contact_user_id for p in wanted if p.contact_user_id is not None]


def _party_units_without_contact(participants: list[Participant], role: str) -> list[Participant]:
    """The units standing for a party role of the case (huvudansvarig, participant) that name no contact
    person: a reminder to the party goes to the unit's address on the case, if it has one, else to no one
    there (the initiator's falls back to who started the case)."""
    if role == INITIATOR:
        return []
    return [
        p
        for p in participants
        if p.kind == "organisation"
        and p.active
        and (role == PARTICIPANT or p.role == role)
        and p.contact_user_id is None
        and p.unit_id is not None
    ]


def wanted_reminders(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    families: Iterable[str] = ALL_FAMILIES,
    participants: list[Participant] | None = None,
    deadlines: list[Deadline] | None = None,
    new_meetings: dict[int, list[Invitation]] | None = None,
    meetings: list[Meeting] | None = None,
) -> list[Wanted]:
    """Every reminder of these families the case should have as it is now (none once it has ended).

    Reads only what the families need: participants for deadlines and declared reminders (unless given:
    the case's active ones, as the step read them), open deadlines (unless given: every deadline the case
    has, open or not), planned meetings (unless given: every meeting of the case, in the order of their
    ids, as the step read them) and their invitations (but a new meeting's, given in new_meetings).
    """
    if workflow.is_final(case.state):
        return []
    families = set(families)
    wanted: list[Wanted] = []
    if participants is None and families & {DEADLINES, DECLARED}:
        participants = list(session.exec(_PARTICIPANTS, params={"case_id": case.id}).all())
    participants = participants or []
    if DEADLINES in families:
        wanted += _deadline_reminders(session, workflow, case, participants, deadlines)
    if MEETINGS in families:
        wanted += _meeting_reminders(session, case, new_meetings or {}, meetings)
    if DECLARED in families:
        wanted += _declared_reminders(session, workflow, case, participants)
    return wanted


def _deadline_reminders(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    participants: list[Participant],
    deadlines: list[Deadline] | None,
) -> list[Wanted]:
    wanted: list[Wanted] = []
    responsible = _responsible(case, participants)
    huvudansvarig = _contacts(participants)[HUVUDANSVARIG]
    rules = {rule.kind: rule for rule in workflow.deadlines}
    if deadlines is None:
        deadlines = column_rows(session, _OPEN_DEADLINES, {"case_id": case.id})
    else:
        deadlines = [d for d in deadlines if d.met_at is None and d.cancelled_at is None]
    for deadline in deadlines:
        rule = rules.get(deadline.kind)
        ahead = soon_days(rule.days if rule else 0)
        moment = deadline_moment(workflow, case, deadline)
        # A period counted in days from a date of the case starts then; a date chosen ahead (days 0) has none.
        start = getattr(case, rule.source_field, None) if rule is not None and rule.days > 0 else None
        counted_from = stored_utc(start) if start is not None else None
        common = {"deadline_id": deadline.id, "topic": deadline.kind}
        if responsible is not None:
            tag, column, value = responsible
            for kind, due in (
                (DEADLINE_SOON, soon_moment(moment, ahead, counted_from=counted_from)),
                (DEADLINE_DUE, on_the_morning(moment)),
                (DEADLINE_MISSED, _morning_of(add_days(moment, 1))),
            ):
                slot = f"{kind}:{case.id}:{deadline.kind}:{tag}{value}"
                wanted.append(Wanted(kind, slot, due, kind, {**common, column: value}, moment))
        # Only "falls today" may come before the morning (on_the_morning), not after the deadline: the others
        # go at the morning of their day, whatever the deadline's clock time (a night notice's 02:30).
        escalate = _morning_of(add_days(moment, setting("REMINDER_ESCALATE_DAYS")))
        for p in huvudansvarig:
            targets = [("u", "recipient_user_id", p.contact_user_id), ("e", "recipient_unit_id", p.unit_id)]
            for tag, column, value in targets:
                if value is not None:
                    slot = f"{DEADLINE_ESCALATED}:{case.id}:{deadline.kind}:{tag}{value}"
                    wanted.append(
                        Wanted(
                            DEADLINE_ESCALATED,
                            slot,
                            escalate,
                            DEADLINE_ESCALATED,
                            {**common, column: value},
                            moment,
                        )
                    )
    return wanted


def _meeting_reminders(
    session: Session,
    case: SipCase,
    new_meetings: dict[int, list[Invitation]],
    meetings: list[Meeting] | None,
) -> list[Wanted]:
    wanted: list[Wanted] = []
    if meetings is None:
        meetings = column_rows(session, _PLANNED_MEETINGS, {"case_id": case.id})
    else:
        meetings = [m for m in meetings if m.status == PLANNED]
    if not meetings:
        return wanted
    # A meeting inserted in this transaction has only the invitations it inserted: those are not read.
    older = [m.id for m in meetings if m.id not in new_meetings]
    invitations = column_rows(session, _INVITATIONS, {"meeting_ids": older}) if older else []
    invitations += [i for m in meetings for i in new_meetings.get(m.id, ()) if i.removed_at is None]
    for meeting in meetings:
        mine = [i for i in invitations if i.meeting_id == meeting.id]
        for invitation in mine:
            if invitation.partstat == "DECLINED":
                continue  # who said no is not told they are invited tomorrow
            slot = f"{MEETING_TOMORROW}:{meeting.id}:{invitation.participant_id}"
            fields = {"meeting_id": meeting.id, "invitation_id": invitation.id}
            due = add_days(meeting.starts_at, -1)
            wanted.append(Wanted(MEETING_TOMORROW, slot, due, MEETING_TOMORROW, fields, meeting.starts_at))
        # Read on a working day: a meeting on the Tuesday after Easter is not told of on påskafton, read on
        # the meeting's own day, but on skärtorsdag, while the booker can still ring round.
        due = working_days_back(meeting.starts_at, setting("REMINDER_UNANSWERED_DAYS"))
        # Only when the invitees have had until then to answer: a meeting booked, moved or changed after
        # that moment would otherwise tell its booker at once that nobody has answered what just went out.
        sent_before = meeting.updated_at is None or meeting.updated_at < due
        if (
            meeting.booked_by_user_id is not None
            and sent_before
            and any(i.partstat == "NEEDS-ACTION" for i in mine)
        ):
            slot = f"{INVITATION_UNANSWERED}:{meeting.id}"
            fields = {"meeting_id": meeting.id, "recipient_user_id": meeting.booked_by_user_id}
            wanted.append(
                Wanted(INVITATION_UNANSWERED, slot, due, INVITATION_UNANSWERED, fields, meeting.starts_at)
            )
    return wanted


def _declared_reminders(
    session: Session, workflow: Workflow, case: SipCase, participants: list[Participant]
) -> list[Wanted]:
    wanted: list[Wanted] = []
    addresses: dict[int, str | None] | None = None
    for declared in workflow.reminders:
        anchor = REMINDER_ANCHORS[declared.anchor](session, workflow, case)
        if anchor is None:
            continue
        due = on_the_morning(add_days(anchor, declared.offset_days))
        users = {u for role in declared.recipients for u in _party_users(case, participants, role)}
        if HUVUDANSVARIG in declared.recipients and not _contacts(participants)[HUVUDANSVARIG]:
            # No huvudansvar given yet (usually until the plan): who hears of the deadlines then hears of
            # this too (`_responsible`: who started the case), not no one; given later, it moves there.
            responsible = _responsible(case, participants)
            if responsible is not None and responsible[1] == "recipient_user_id":
                users.add(responsible[2])
        for user_id in sorted(users):
            slot = f"{WORKFLOW}:{case.id}:{declared.name}:u{user_id}"
            fields = {"topic": declared.name, "recipient_user_id": user_id}
            wanted.append(Wanted(WORKFLOW, slot, due, declared.template, fields, anchor))
        # A unit without a contact person gets a row too, addressed to the unit: it goes where its
        # invitations go (recipient_address: its address on the case, else the unit's shared mailbox,
        # cases.models.Participant.mail_address), and without either dispatch skips it with its reason
        # (SKIP_NO_CONTACT): the case page and the administration's list show it, not nothing. A contact
        # person named later gets it instead (a change of participants reconciles).
        units_of = {
            p.unit_id: p
            for role in declared.recipients
            for p in _party_units_without_contact(participants, role)
        }
        if units_of and addresses is None:
            # The mailboxes of the units without an address on the case: one statement for every declaration.
            addresses = invitee_addresses(session, _party_units_without_contact(participants, PARTICIPANT))
        units = {unit_id: addresses.get(p.id) for unit_id, p in units_of.items()}
        for unit_id in sorted(units):
            slot = f"{WORKFLOW}:{case.id}:{declared.name}:e{unit_id}"
            fields = {
                "topic": declared.name,
                "recipient_unit_id": unit_id,
                "recipient_address": units[unit_id],
            }
            wanted.append(Wanted(WORKFLOW, slot, due, declared.template, fields, anchor))
    return wanted


def reconcile_case(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    *,
    now: datetime,
    families: Iterable[str] = ALL_FAMILIES,
    participants: list[Participant] | None = None,
    new_case_deadlines: list[Deadline] | None = None,
    new_meetings: dict[int, list[Invitation]] | None = None,
    meetings: list[Meeting] | None = None,
    open_deadlines: list | None = None,
) -> None:
    """Bring the case's reminder rows of these families in line with what it should have: add, move,
    cancel; never twice.

    Runs in the transaction of the change (the case's or the meeting's claim serialises the writers); the
    unique dedupe key refuses a second copy should anything else try. Rows of other families are left as
    they are: the change could not move them. participants: the case's active ones when the caller holds
    them (see wanted_reminders). new_case_deadlines: given for a case created in this transaction, the
    deadlines it inserted; such a case has no others and no reminder rows yet, so neither is read.
    new_meetings: {id of a meeting inserted in this transaction: the invitations it inserted}.
    meetings: every meeting of the case in the order of their ids, when the caller holds them.
    open_deadlines: the case's open deadlines in the order of their ids, when the caller holds them.
    """
    families = frozenset(families)
    kinds = {kind for family in families for kind in FAMILY_KINDS[family]}
    rows: list[Reminder] | None = [] if new_case_deadlines is not None else None
    if (
        rows is None
        and open_deadlines is None
        and DEADLINES in families
        and not workflow.is_final(case.state)
    ):
        # wanted_reminders would read the open deadlines, and the rows are read next: one statement.
        rows, open_deadlines = _case_rows_and_open_deadlines(session, case)
    wanted = wanted_reminders(
        session,
        workflow,
        case,
        families,
        participants,
        new_case_deadlines if new_case_deadlines is not None else open_deadlines,
        new_meetings,
        meetings,
    )
    if not wanted:
        if new_case_deadlines is None:
            _cancel_pending(session, case, kinds)
        return
    if rows is None:
        rows = list(session.exec(_CASE_ROWS, params={"case_id": case.id}).all())
    keys = {row.dedupe_key: row for row in rows}
    pending = {row.slot: row for row in rows if row.status == PENDING and row.kind in kinds}
    told: dict[str, list[Reminder]] = {}
    for row in rows:
        if row.status in (SENT, CLAIMED):
            told.setdefault(row.slot, []).append(row)
    wanted_slots = set()
    revived: dict[str, Reminder] = {}
    new_rows: list[dict] = []
    for want in wanted:
        wanted_slots.add(want.slot)
        if want.dedupe_key in keys:
            existing = keys[want.dedupe_key]
            if existing is not None and existing.status == CANCELLED and existing.kind in kinds:
                # Wanted again as it was (a decline taken back): the row never went out, so it may.
                existing.status = PENDING
                session.add(existing)
                revived[want.slot] = existing
            elif (
                existing is not None
                and existing.status == SKIPPED
                and existing.skip_reason == SKIP_NO_CONTACT
                and want.fields.get("recipient_address")
            ):
                # Skipped for want of anyone to go to, and the unit has an address on the case now: it
                # goes there (late), as it would to a contact person named now.
                existing.status, existing.skip_reason = PENDING, None
                session.add(existing)
                revived[want.slot] = existing
            if existing is not None and existing.status == PENDING:
                _follow(session, existing, want.fields)
            continue
        row = pending.get(want.slot)
        if row is not None:
            row.due_at, row.dedupe_key, row.anchor_at = want.due_at, want.dedupe_key, want.anchor_at
            for name, value in want.fields.items():
                setattr(row, name, value)
            session.add(row)
            continue
        if any(_told_already(row, want) for row in told.get(want.slot, ())):
            continue
        keys[want.dedupe_key] = None
        new_rows.append(
            _NEW_ROW
            | {
                "kind": want.kind,
                "dedupe_key": want.dedupe_key,
                "case_id": case.id,
                "template": want.template,
                "due_at": want.due_at,
                "created_at": now,
                "anchor_at": want.anchor_at,
            }
            | want.fields
        )
    for slot, row in pending.items():
        if slot not in wanted_slots or revived.get(slot, row) is not row:
            row.status = CANCELLED
            session.add(row)
    if new_rows:
        # One INSERT for all of them (the ORM sends one per row on SQLite to read each id back; nothing in
        # the transaction needs their ids).
        session.connection().execute(_INSERT_REMINDERS, new_rows)


def _told_already(row: Reminder, want: Wanted) -> bool:
    """Whether row, of want's slot and sent (or being sent), told what want would, only at another time (a
    release that timed that reminder otherwise: 07:00 of its day instead of 23:59, another working day):
    about the same meeting and invitation at the same moment, or the same deadline on the same Swedish day
    (what its mails tell: a release counting a deadline to the end of its day instead of the request's
    clock time moves the moment, not the day). A deadline or meeting moved since is told again."""
    if want.anchor_at is None or row.anchor_at is None:
        return False
    if (row.deadline_id, row.meeting_id, row.invitation_id) != (
        want.fields.get("deadline_id"),
        want.fields.get("meeting_id"),
        want.fields.get("invitation_id"),
    ):
        return False
    told, wanted = stored_utc(row.anchor_at), stored_utc(want.anchor_at)
    if row.deadline_id is not None:
        return to_local(told).date() == to_local(wanted).date()
    return told == wanted


def _follow(session: Session, row: Reminder, fields: dict) -> None:
    """A pending row takes what is wanted of it now (a unit's address on the case set, corrected or
    cleared); a row already as wanted is left unwritten."""
    changed = {name: value for name, value in fields.items() if getattr(row, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(row, name, value)
        session.add(row)


# Core on the session's connection, built once: the ORM's execute adds nothing to a statement of a table.
_INSERT_REMINDERS = insert(Reminder.__table__)
_INSERT_COLUMNS = [c.name for c in Reminder.__table__.columns if c.name != "id"]
# A new row's columns as the model's defaults leave them (pending, no attempt), built once: a Reminder
# object per row only to read them back cost more than the rest of the reconciliation.
_NEW_ROW = {
    name: None if value is PydanticUndefined else value
    for name, value in (
        (c, Reminder.model_fields[c].get_default(call_default_factory=True)) for c in _INSERT_COLUMNS
    )
}


def _cancel_pending(session: Session, case: SipCase, kinds: Iterable[str]) -> None:
    """Cancel every pending reminder of these kinds the case has, in one UPDATE, without reading them.

    What reconcile_case does when none of them is wanted (the case ended, its last planned meeting held);
    the rows the session holds take the new status too.
    """
    kinds = sorted(kinds)
    session.connection().execute(_CANCEL_PENDING, {"of_case": case.id, "kinds": kinds})
    # As the ORM's "evaluate" would (for less than its set-up costs): a held row that matched shows it.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Reminder):
            loaded = sa_inspect(obj).dict
            if not {"case_id", "status", "kind"} <= loaded.keys():
                session.expire(obj, ["status"])  # read again if it is used
            elif loaded["case_id"] == case.id and loaded["status"] == PENDING and loaded["kind"] in kinds:
                set_committed_value(obj, "status", CANCELLED)


_CANCEL_PENDING = (
    update(Reminder.__table__)
    .where(
        # (An UPDATE keeps a column's name for its SET: the case's id is bound as of_case.)
        Reminder.case_id == bindparam("of_case", type_=Integer),
        Reminder.status == PENDING,
        Reminder.kind.in_(bindparam("kinds", expanding=True)),
    )
    .values(status=CANCELLED)
)


def insert_once(session: Session, reminder: Reminder) -> bool:
    """Insert reminder unless its dedupe key exists (any process's); a SAVEPOINT keeps the rest."""
    try:
        with session.begin_nested():
            session.add(reminder)
    except IntegrityError:
        return False
    return True


def _staff_who_left(session: Session, address: str, organisation_id: int) -> bool:
    """The plan's contact address is a staff member's who is no longer of the organisation: their account is
    disabled, or an administrator moved them to a unit of another organisation. Their former organisation's
    effort is not theirs to hear of (nor may they see the SIP): its unit's staff hear of it instead. An
    address no account has (someone without a login) is the plan's to keep."""
    accounts = session.exec(
        select(User.active, Unit.organisation_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(func.lower(User.email) == address.strip().lower())
    ).all()
    return bool(accounts) and not any(active and unit_org == organisation_id for active, unit_org in accounts)


def scan_efforts(
    session: Session, *, now: datetime, final_states: Iterable[str], limit: int = EFFORT_SCAN_BATCH
) -> int:
    """Write a reminder for each effort past its end date still planned or ongoing; the count written.

    A scan rather than an effect: an effort's dates change in the plan editor, outside any step. Efforts
    of ended cases (final_states) and those already reminded of since their end date are passed over, so
    the bounded batch always moves on to new ones.
    """
    today = to_local(now).date()
    # Reminded since its end date: written on a later Swedish day. Compared in UTC, a reminder written on
    # the end date's own day after 02:00 (about an earlier end date, before it was moved to that day) was
    # taken for one written after it, and the effort was never reminded of again.
    reminded = (
        sa_select(Reminder.id)
        .where(Reminder.effort_id == PlanEffort.id, swedish_day(Reminder.created_at) > PlanEffort.ends_on)
        .exists()
    )
    rows = session.exec(
        select(PlanEffort, Plan.case_id)
        .join(Plan, Plan.id == PlanEffort.plan_id)
        .join(SipCase, SipCase.id == Plan.case_id)
        .where(
            PlanEffort.ends_on < today,
            PlanEffort.status.in_(EFFORT_OPEN),
            SipCase.state.not_in(list(final_states)),
            ~reminded,
            # An organisation the consent in force no longer covers cannot see the SIP: it is not mailed
            # about it (the plan still shows the effort late to the others).
            or_(
                PlanEffort.organisation_id.is_(None),
                PlanEffort.organisation_id == SipCase.initiating_organisation_id,
                access.consent_covers_organisation(SipCase.id, PlanEffort.organisation_id, today),
            ),
        )
        .order_by(PlanEffort.id)
        .limit(limit)
    ).all()
    written = 0
    for effort, case_id in rows:
        # By uid, not id: SQLite gives a new row the id of the newest one removed, whose sent reminder keeps
        # its key, and the new effort would never be reminded of.
        key = f"{EFFORT_OVERDUE}:{effort.uid}@{effort.ends_on:%Y%m%d}"
        if session.exec(select(Reminder.id).where(Reminder.dedupe_key == key)).first() is not None:
            continue
        fields: dict = {}
        if effort.organisation_id is not None:
            contact = session.exec(
                select(Participant.contact_user_id).where(
                    Participant.case_id == case_id,
                    Participant.organisation_id == effort.organisation_id,
                    Participant.active,
                    Participant.contact_user_id.is_not(None),
                )
            ).first()
            if contact is not None:
                fields["recipient_user_id"] = contact
            else:
                address = session.exec(
                    select(PlanContact.email).where(
                        PlanContact.plan_id == effort.plan_id,
                        PlanContact.organisation_id == effort.organisation_id,
                    )
                ).first()
                if address and not _staff_who_left(session, address, effort.organisation_id):
                    fields["recipient_address"] = address
                else:
                    # No one named: the staff of the effort's unit, else of the organisation's unit on the
                    # SIP, hear of it (as escalations reach a unit), rather than nobody.
                    fields["recipient_unit_id"] = (
                        effort.unit_id
                        or session.exec(
                            select(Participant.unit_id).where(
                                Participant.case_id == case_id,
                                Participant.organisation_id == effort.organisation_id,
                                Participant.active,
                                Participant.unit_id.is_not(None),
                            )
                        ).first()
                    )
        reminder = Reminder(
            kind=EFFORT_OVERDUE,
            dedupe_key=key,
            case_id=case_id,
            effort_id=effort.id,
            template=EFFORT_OVERDUE,
            # Found by the first tick after midnight: mailed when the day's work begins.
            due_at=not_before_the_morning(now),
            created_at=now,
            **fields,
        )
        _staff_else_unit_address(session, reminder)
        written += insert_once(session, reminder)
    return written


def _staff_else_unit_address(session: Session, reminder: Reminder) -> None:
    """Point a reminder to a unit's staff at the unit's address on the SIP when no active staff member of the
    unit has an address: a national agency's office taking part with no one named and no accounts, reached
    at its shared mailbox, hears of its overdue effort where its invitations go (for_unit_address), rather
    than nobody. Asked when scan_efforts writes the row (so the lists name where it goes) and at sending,
    after _past_a_disabled_account and _to_starter_instead have given a row to a unit."""
    _staff_else_unit_addresses(session, [reminder])


def _staff_else_unit_addresses(session: Session, reminders: list[Reminder]) -> None:
    """_staff_else_unit_address of many reminders at once: the staff of all their units read in one
    statement, the units' addresses on the SIPs in two (_unit_addresses_now)."""
    asked = [
        r
        for r in reminders
        if r.recipient_unit_id is not None and not for_unit_address(r) and r.invitation_id is None
    ]
    if not asked:
        return
    staffed = set(
        session.exec(
            select(User.unit_id)
            .where(
                User.unit_id.in_(sorted({r.recipient_unit_id for r in asked})),
                User.active,
                User.email.is_not(None),
            )
            .distinct()
        ).all()
    )
    unstaffed = [r for r in asked if r.recipient_unit_id not in staffed]
    addresses = _unit_addresses_now(session, unstaffed)
    for reminder in unstaffed:
        reminder.recipient_address = addresses[reminder.case_id, reminder.recipient_unit_id]


# --- Dispatch ---------------------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    """What one tick did with the due reminders."""

    sent: int = 0
    late: int = 0
    skipped: int = 0
    undeliverable: int = 0
    failed: int = 0
    released: int = 0

    def total(self) -> int:
        return self.sent + self.skipped + self.undeliverable + self.failed


def release_stale_claims(session: Session, *, now: datetime) -> int:
    """Put back claims older than the timeout: a dispatcher died holding them (the rows were not sent)."""
    cutoff = now - timedelta(seconds=setting("REMINDER_CLAIM_TIMEOUT_SECONDS"))
    result = session.execute(
        update(Reminder)
        .where(Reminder.status == CLAIMED, Reminder.claimed_at < cutoff)
        .values(status=PENDING, claimed_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def claim_due(session: Session, *, now: datetime, worker: str, limit: int) -> list[Reminder]:
    """Claim up to limit due pending rows for worker with one compare-and-set UPDATE; return them.

    On PostgreSQL the candidates are read first and locked FOR UPDATE SKIP LOCKED, so a second dispatcher
    takes other rows instead of waiting, and the UPDATE names them: as its subquery, PostgreSQL may run the
    locking SELECT again for each row it scans, each run skipping the rows just claimed, and a claim of
    `limit` took every due row (a morning's reminders in one transaction). Their cases are then held FOR
    SHARE SKIP LOCKED, and a reminder of a case another write holds (a step's claim, lock_case) is left
    pending for the next tick: that write reads the case's pending reminders and moves or cancels them by
    id (a meeting moved, the SIP ended), and one sent between its read and its write would be moved after
    it went (the sent row saying it was about the new day, the new day reminded of by none). A case held
    here makes such a write wait for this commit, and read the reminder sent. SQLite has one writer at a
    time, and `status = 'pending'` in the UPDATE is the compare-and-set either way.
    """
    candidates = (
        sa_select(Reminder.id, Reminder.case_id)
        .where(Reminder.status == PENDING, Reminder.due_at <= now)
        .order_by(Reminder.status, Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(candidates.with_for_update(skip_locked=True)).all()
        if not rows:
            return []
        free = set(
            session.execute(
                sa_select(SipCase.id)
                .where(SipCase.id.in_({case_id for _, case_id in rows}))
                .with_for_update(read=True, skip_locked=True)
            ).scalars()
        )
        ids = [reminder_id for reminder_id, case_id in rows if case_id in free]
        if not ids:
            return []
        chosen = Reminder.id.in_(ids)
    else:
        chosen = Reminder.id.in_(candidates.with_only_columns(Reminder.id).scalar_subquery())
    session.execute(
        update(Reminder)
        .where(chosen, Reminder.status == PENDING)
        .values(status=CLAIMED, claimed_at=now, claimed_by=worker)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.exec(
            select(Reminder)
            .where(Reminder.claimed_by == worker, Reminder.status == CLAIMED)
            .order_by(Reminder.due_at, Reminder.id)
            .execution_options(populate_existing=True)
        ).all()
    )


def dispatch_due(
    session: Session, registry, *, now: datetime, limit: int | None = None, worker: str | None = None
) -> DispatchReport:
    """Claim the due reminders, render each into the outbox (or skip it, or record it undeliverable), mark it.

    The caller runs it in one unit of work: the claim, the outbox rows and the marks commit together, so a
    crash leaves every row pending for the next tick and nothing is sent twice.
    """
    report = DispatchReport()
    report.released = release_stale_claims(session, now=now)
    worker = worker or uuid.uuid4().hex
    batch = limit or setting("REMINDER_BATCH")
    late_after = timedelta(seconds=setting("REMINDER_LATE_AFTER_SECONDS"))
    for reminder in claim_due(session, now=now, worker=worker, limit=batch):
        try:
            with session.begin_nested():
                outcome = _dispatch_one(
                    session, registry, reminder, now=now, late=now - reminder.due_at > late_after
                )
        except (WorkflowVersionMissing, WorkflowStateMissing) as error:
            # Not a fault of the reminder: its SIP's workflow file is gone (or lost the SIP's state). One line
            # says which; the row says what to do and may be sent again once the file is back.
            log.warning("reminder %s not sent: %s", reminder.id, _workflow_missing(error))
            reminder.status, reminder.skip_reason = SKIPPED, SKIP_WORKFLOW_MISSING
            session.add(reminder)
            outcome = SKIPPED
        except Exception as error:  # noqa: BLE001 - one bad row must not hold back the others
            log.exception("reminder %s could not be dispatched", reminder.id)
            reminder.status, reminder.last_error = FAILED, type(error).__name__
            reminder.attempts += 1
            session.add(reminder)
            outcome = FAILED
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome == SENT and reminder.late:
            report.late += 1
    session.flush()
    if report.total():
        log.info("reminders dispatched: %s", report)
    return report


def _workflow_missing(error: WorkflowVersionMissing | WorkflowStateMissing) -> str:
    """What is missing, in the log's words (names of the workflow file's, no case or person)."""
    if isinstance(error, WorkflowStateMissing):
        return f"workflow {error.name} version {error.version} defines no state {error.state} any more"
    return f"no loaded workflow file defines workflow {error.name} version {error.version}"


def _dispatch_one(session: Session, registry, reminder: Reminder, *, now: datetime, late: bool) -> str:
    case = session.get(SipCase, reminder.case_id)
    workflow = registry.get(case.workflow_name, case.workflow_version)
    if for_unit_address(reminder):
        reminder.recipient_address = _unit_address_now(session, reminder)
    reason = skip_reason(session, workflow, case, reminder, now)
    if reason == SKIP_NOT_COVERED and _to_starter_instead(session, case, reminder, now):
        reason = None
    if reason is None:
        _past_a_disabled_account(session, reminder)
        _staff_else_unit_address(session, reminder)
    recipients = _recipients(session, reminder) if reason is None else []
    if isinstance(recipients, str):
        reason = recipients  # everyone it would reach has the same reminder already (or by name)
    if reason is not None:
        reminder.status, reminder.skip_reason = SKIPPED, reason
        session.add(reminder)
        return SKIPPED
    if not recipients:
        reminder.status = UNDELIVERABLE  # no address at all
        session.add(reminder)
        return UNDELIVERABLE
    reminder.attempts += 1
    outbox_id = None
    linkable = access.addresses_seeing_case(session, case, [address for address, _ in recipients], now=now)
    for address, language in recipients:
        locale = recipient_locale(language)
        links_case = address.lower() in linkable
        message = render(
            session, workflow, case, reminder, address=address, locale=locale, links_case=links_case
        )
        row = enqueue(
            session,
            message,
            kind="reminder",
            case_id=case.id,
            invitation_id=None,
            now=now,
            reminder_id=reminder.id,
            language=locale,
        )
        outbox_id = outbox_id or row.id
    reminder.status, reminder.sent_at, reminder.late, reminder.outbox_id = SENT, now, late, outbox_id
    reminder.last_error = None
    session.add(reminder)
    return SENT


def _to_starter_instead(session: Session, case: SipCase, reminder: Reminder, now: datetime) -> bool:
    """Point a deadline's reminder whose recipient no longer sees the SIP (the huvudansvarig organisation's
    consent ran out) at who started the case, as _responsible does before anyone holds huvudansvar: the
    initiating organisation always sees the SIP, and a deadline must not pass unheard. A starter who no
    longer sees it either (an administrator moved them to another organisation's unit) is not told: the
    initiating organisation's unit on the case is, each of its staff. The row then names its real
    recipient. False (skip it) for any other reminder, or a case with neither."""
    if reminder.deadline_id is None:
        return False
    starter = session.get(User, case.created_by_user_id) if case.created_by_user_id is not None else None
    if starter is not None and access.can_view_case(session, starter, case, now=now):
        reminder.recipient_user_id, reminder.recipient_unit_id = starter.id, None
        reminder.recipient_address = None
        return True
    unit_id = session.exec(
        select(Participant.unit_id)
        .where(
            Participant.case_id == case.id,
            Participant.organisation_id == case.initiating_organisation_id,
            Participant.unit_id.is_not(None),
            Participant.active,
        )
        .order_by(Participant.id)
    ).first()
    if unit_id is None:
        return False
    reminder.recipient_user_id, reminder.recipient_unit_id = None, unit_id
    reminder.recipient_address = None
    return True


def _past_a_disabled_account(session: Session, reminder: Reminder) -> None:
    """Point a deadline's or an overdue effort's reminder to a staff member whose account is disabled (on
    leave, or gone and a colleague took over) at their unit, each of its active staff, as their invitations
    go to the unit's mailbox then: a deadline must not pass unheard, nor an organisation's effort stay late
    unheard (scan_efforts gives an organisation that named no one to its unit too). The row then names its
    real recipient. Any other reminder stays (undeliverable)."""
    if (reminder.deadline_id is None and reminder.effort_id is None) or reminder.recipient_user_id is None:
        return
    user = session.get(User, reminder.recipient_user_id)
    if user is None or user.active or user.unit_id is None:
        return
    reminder.recipient_user_id, reminder.recipient_unit_id = None, user.unit_id
    reminder.recipient_address = None


def skip_reason(
    session: Session, workflow: Workflow, case: SipCase, reminder: Reminder, now: datetime
) -> str | None:
    """Why a due reminder no longer makes sense, or None when it does: the one place dispatch decides.

    Its case ended, its meeting is over or no longer planned, its deadline met, its effort settled or given
    a later end date; and a
    reminder telling of something ahead (a deadline "soon" or "today", a meeting "tomorrow", a declared
    reminder before its anchor) whose moment had come by the time it is sent (the scheduler was down): a
    "today" about yesterday would mislead; a deadline's "soon" once its "today" is due too. Those after the
    moment ("passed", escalated, an effort past its end) still go, late. A workflow file's reminder to a
    unit that names no contact person goes to no one, and one to a recipient whose organisation no longer
    sees the SIP (the consent ran out) to no one either (but a deadline's, which _dispatch_one gives to who
    started the case: _to_starter_instead).
    """
    if workflow.is_final(case.state):
        return SKIP_CASE_ENDED
    if reminder.meeting_id is not None:
        meeting = session.get(Meeting, reminder.meeting_id)
        if meeting.status != PLANNED:
            return SKIP_MEETING_OFF
        if meeting.starts_at <= now:
            return SKIP_PASSED
        if reminder.kind == MEETING_TOMORROW:
            if reminder.created_at >= reminder.due_at:
                return SKIP_WRITTEN_LATE
            if not _still_the_day_before(meeting, now):
                return SKIP_PASSED
        if reminder.kind == INVITATION_UNANSWERED:
            unanswered = session.exec(
                select(Invitation.id).where(
                    Invitation.meeting_id == meeting.id,
                    Invitation.removed_at.is_(None),
                    Invitation.partstat == "NEEDS-ACTION",
                )
            ).first()
            if unanswered is None:
                return SKIP_ANSWERED
    if reminder.deadline_id is not None:
        deadline = session.get(Deadline, reminder.deadline_id)
        if deadline.met_at is not None or deadline.cancelled_at is not None:
            return SKIP_DEADLINE_SETTLED
        # "Soon" or "due today" once the moment itself has passed would mislead: "passed" says it.
        moment = deadline_moment(workflow, case, deadline)
        ahead = reminder.kind in (DEADLINE_SOON, DEADLINE_DUE)
        if ahead and moment <= now:
            return SKIP_PASSED
        # "Soon" once the deadline's day has come in Sweden says less than its "due today" (due that
        # morning, on_the_morning, or already): a SIP entered on its deadline's day (a discharge notice of
        # Friday, entered on Monday), even in the night before that morning, is told "today" only.
        if reminder.kind == DEADLINE_SOON and to_local(now).date() >= to_local(moment).date():
            return SKIP_PASSED
    if reminder.effort_id is not None:
        effort = session.get(PlanEffort, reminder.effort_id)
        if effort is None or effort.status not in EFFORT_OPEN:
            return SKIP_EFFORT_SETTLED
        # Written early in the day, sent in its morning: an end date moved meanwhile is no longer passed.
        if effort.ends_on is None or effort.ends_on >= to_local(now).date():
            return SKIP_EFFORT_MOVED
    if reminder.kind == WORKFLOW and _declared_anchor_passed(session, workflow, case, reminder, now):
        return SKIP_PASSED
    if no_contact_person(reminder):
        return SKIP_NO_CONTACT
    if not _recipient_sees_case(session, case, reminder, now):
        return SKIP_NOT_COVERED
    return None


def _recipient_sees_case(session: Session, case: SipCase, reminder: Reminder, now: datetime) -> bool:
    """The organisation of the reminder's recipient (a user's unit's, a unit's: its staff or its address on
    the case; an overdue effort's plan contact address: the effort's organisation) sees the SIP at now, by
    the access rule (security.access.organisations_seeing_case): an organisation the consent no longer covers
    is not told of the SIP, as scan_efforts writes no overdue effort's reminder to one (written just after
    midnight, mailed at 07:00: a withdrawal in between is asked here). A recipient of no organisation (an
    invitee, another bare address) is not asked here: a withdrawal takes back the invitations (meetings)."""
    if reminder.recipient_unit_id is not None:
        organisation = select(Unit.organisation_id).where(Unit.id == reminder.recipient_unit_id)
    elif reminder.recipient_user_id is not None:
        organisation = (
            select(Unit.organisation_id)
            .join(User, User.unit_id == Unit.id)
            .where(User.id == reminder.recipient_user_id)
        )
    elif reminder.effort_id is not None:
        organisation = select(PlanEffort.organisation_id).where(PlanEffort.id == reminder.effort_id)
    else:
        return True
    organisation_id = session.exec(organisation).first()
    return organisation_id is None or organisation_id in access.organisations_seeing_case(
        session, case, now=now
    )


def no_contact_person(reminder) -> bool:
    """A workflow file's reminder (a Reminder, or a row of its columns) written for a unit taking part that
    names neither a contact person nor an address on the case: it goes to no one, and is skipped."""
    return for_unit_address(reminder) and not reminder.recipient_address


def _unit_address_now(session: Session, reminder: Reminder) -> str | None:
    """Where mail to the reminder's unit on its case goes now (Participant.mail_address, the invitations'
    rule), not where it went when the reminder was written: an administrator may have changed the unit's
    shared mailbox, or deactivated the unit, since the case was last reconciled."""
    return _unit_addresses_now(session, [reminder])[reminder.case_id, reminder.recipient_unit_id]


def _unit_addresses_now(session: Session, reminders: list[Reminder]) -> dict[tuple[int, int], str | None]:
    """_unit_address_now of many reminders, by (case, unit): the first active participant of the unit on the
    case, its mail address; the participants read in one statement and their addresses in one more,
    however many reminders (a directory change of thousands of units)."""
    pairs = {(r.case_id, r.recipient_unit_id) for r in reminders}
    if not pairs:
        return {}
    first: dict[tuple[int, int], Participant] = {}
    for participant in session.exec(
        select(Participant)
        .where(
            Participant.case_id.in_(sorted({pair[0] for pair in pairs})),
            Participant.unit_id.in_(sorted({pair[1] for pair in pairs})),
            Participant.active,
        )
        .order_by(Participant.id)
    ).all():
        first.setdefault((participant.case_id, participant.unit_id), participant)
    addresses = invitee_addresses(session, [first[pair] for pair in pairs if pair in first])
    return {pair: addresses[first[pair].id] if pair in first else None for pair in pairs}


def _to_the_units_at_their_addresses(unit_ids: Collection[int]) -> ColumnElement[bool]:
    """The pending reminders follow_unit_mailbox moves when the units' mailboxes change."""
    return and_(
        Reminder.status == PENDING,
        Reminder.recipient_unit_id.in_(sorted(set(unit_ids))),
        Reminder.invitation_id.is_(None),
        or_(Reminder.kind.in_((WORKFLOW, EFFORT_OVERDUE)), Reminder.recipient_address.is_not(None)),
    )


def unit_mailbox_cases(session: Session, unit_ids: Collection[int]) -> list[int]:
    """The ids of the cases whose reminders follow_unit_mailbox moves for the units, in order."""
    if not unit_ids:
        return []
    query = select(Reminder.case_id).where(_to_the_units_at_their_addresses(unit_ids)).distinct()
    return sorted(session.exec(query).all())


def follow_unit_mailbox(session: Session, unit_ids: Collection[int]) -> int:
    """An administrator changed units' shared mailboxes, or deactivated or activated units: each pending
    reminder to one of the units at its address on a case (for_unit_address) names the address it goes to
    now (_unit_address_now, which dispatch asks again), so the case page and the administrators' list say
    where it goes, or that nobody gets it (no_contact_person), not where it would have gone when written; and
    an overdue effort's to a unit's staff, none of whom mail reaches, names the unit's address as
    scan_efforts writes it (_staff_else_unit_address), also after a mailbox taken away was given again. The
    cases are held (lock_cases, in id order) before their reminders are read and moved, as a step's
    reconciliation writes them: one under way, having read the mailbox before the change, would write it
    back over the change. Set-based: an import closing thousands of units holds their cases and reads and
    moves their reminders in a few statements, not a few per unit and case. Called in the directory change's
    unit of work, after the change. The number of reminders changed."""
    if not unit_ids:
        return 0
    to_the_units = _to_the_units_at_their_addresses(unit_ids)
    if not lock_cases(session, select(Reminder.case_id).where(to_the_units)):
        return 0
    # Held, as the job holds those it claims: one it sends meanwhile is waited for and read sent (never
    # given the new mailbox after it went to the old one), one held here the job leaves for its next tick.
    rows = session.exec(
        select(Reminder)
        .where(to_the_units)
        .order_by(Reminder.case_id, Reminder.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    before = {reminder.id: reminder.recipient_address for reminder in rows}
    # Told apart before any moves: one at the unit's address moved to none is no longer for_unit_address.
    at_the_unit = [reminder for reminder in rows if for_unit_address(reminder)]
    to_the_staff = [reminder for reminder in rows if not for_unit_address(reminder)]
    addresses = _unit_addresses_now(session, at_the_unit)
    for reminder in at_the_unit:
        reminder.recipient_address = addresses[reminder.case_id, reminder.recipient_unit_id]
    _staff_else_unit_addresses(session, to_the_staff)
    changed = 0
    for reminder in rows:
        if reminder.recipient_address != before[reminder.id]:
            session.add(reminder)
            changed += 1
    return changed


def for_unit_address(reminder) -> bool:
    """A reminder (a Reminder, or a row of its columns) written for a unit at its address on the case
    (recipient_address), if any: a workflow file's for a unit taking part that names no contact person, and
    an overdue effort's for a unit whose staff no mail reaches (scan_efforts writes the address with it)."""
    return reminder.recipient_unit_id is not None and (
        reminder.kind == WORKFLOW or reminder.recipient_address is not None
    )


def _declared_anchor_passed(
    session: Session, workflow: Workflow, case: SipCase, reminder: Reminder, now: datetime
) -> bool:
    """Whether a declared reminder ahead of its anchor (a negative offset: "prepare the follow-up") comes
    after the anchor itself; one after its anchor (offset 0 or more) is never late for it."""
    declared = workflow.declared_reminder(reminder.topic)
    if declared is None or declared.offset_days >= 0:
        return False
    anchor = REMINDER_ANCHORS[declared.anchor](session, workflow, case)
    return anchor is not None and anchor <= now


def _still_the_day_before(meeting: Meeting, now: datetime) -> bool:
    """Whether the meeting is tomorrow: sent on the meeting's own day (moved to today, the scheduler down),
    "tomorrow" is false. (Written after its moment, booked or an invitee added within the day before, the
    reminder is skipped before this is asked: the invitation just sent says it all.)"""
    tomorrow = to_local(now).date() + timedelta(days=1)
    return to_local(meeting.starts_at).date() == tomorrow


def _same_reminder(other, reminder: Reminder) -> list[ColumnElement[bool]]:
    """Over other (Reminder or an alias of it): another row of the same reminder as reminder, whoever it is
    addressed to: the same kind, case, topic, deadline, meeting and effort, at the same moment.

    The one rule of "the same reminder" for not sending it to one person twice: a deadline's "passed" to
    the unit and to a contact person named later, its escalation to the contact and to their unit, a declared
    reminder to the unit's address and to a contact person named later."""
    return [
        other.case_id == reminder.case_id,
        other.kind == reminder.kind,
        other.topic.is_not_distinct_from(reminder.topic),
        other.deadline_id.is_not_distinct_from(reminder.deadline_id),
        other.meeting_id.is_not_distinct_from(reminder.meeting_id),
        other.effort_id.is_not_distinct_from(reminder.effort_id),
        other.due_at == reminder.due_at,
        other.id != reminder.id,
    ]


def _mailed_before(reminder: Reminder):
    """The addresses (lower case) an earlier sending of the same reminder (_same_reminder) wrote to, as a
    SELECT of one column.

    Each outbox row a sending writes records its reminder (OutboxMessage.reminder_id, _dispatch_one), so
    the rows of the same reminder's sent rows say whom it reached: a unit's staff as they were then, not as
    they are now. Rows written before that record (the migration adding it) keep only each sent row's
    first one (its outbox_id).
    """
    sent = aliased(Reminder, name="sent_before")
    return (
        sa_select(func.lower(OutboxMessage.recipient))
        .join(sent, sent.id == OutboxMessage.reminder_id)
        .where(sent.status == SENT, *_same_reminder(sent, reminder))
    )


def _recipients(session: Session, reminder: Reminder) -> list[tuple[str, str | None]] | str:
    """Where the reminder goes now, each address with its recipient's language (None: not known), or the
    reason to skip it when everyone it would reach has the same reminder already.

    The current address and language, not those known when the reminder was written: a staff member's
    own, an invitee's (their participant's, or for a unit reached at its contact person's address that
    person's), each of a unit's staff their own, a unit's address on the case, a bare address. Each reminder
    reaches a person once: an address an earlier sending of the same reminder wrote to (_mailed_before: a
    unit's "passed" to a colleague named its contact person after) is left out, and a unit's staff member
    the same reminder reaches by name (the lead organisation's contact, escalated to both in person and
    through the unit) too. None left: SKIP_BY_NAME when the names took them all, else SKIP_ALREADY_SENT.
    A meeting's invitee is not asked: each invitation's reminder carries its own answer link.
    """
    if reminder.invitation_id is not None:
        invitation = session.get(Invitation, reminder.invitation_id)
        ok = invitation.removed_at is None and invitation.channel == "email" and invitation.email
        if not ok:
            return []
        row = session.exec(
            select(Participant, User)
            .outerjoin(User, User.id == Participant.contact_user_id)
            .where(Participant.id == invitation.participant_id)
        ).first()
        return [(invitation.email, row[0].mail_language(row[1]) if row else None)]
    mailed = _mailed_before(reminder)
    by_address = reminder.recipient_user_id is None and reminder.recipient_unit_id is None
    if for_unit_address(reminder) or by_address:
        # A unit without a contact person: its address on the case, in the unit's language there; or a
        # bare address (an effort's plan contact), in the default.
        if not reminder.recipient_address:
            return []
        language = None
        if reminder.recipient_unit_id is not None:
            language = session.exec(
                select(Participant.language).where(
                    Participant.case_id == reminder.case_id,
                    Participant.unit_id == reminder.recipient_unit_id,
                    Participant.active,
                )
            ).first()
        if session.exec(sa_select(func.lower(reminder.recipient_address).in_(mailed))).scalar():
            return SKIP_ALREADY_SENT
        return [(reminder.recipient_address, language)]
    if reminder.recipient_user_id is not None:
        row = session.exec(
            select(User.email, User.language, func.lower(User.email).in_(mailed)).where(
                User.id == reminder.recipient_user_id, User.active, User.email.is_not(None)
            )
        ).first()
        if row is None:
            return []
        address, language, reached = row
        return SKIP_ALREADY_SENT if reached else [(address, language)]
    named = sa_select(Reminder.recipient_user_id).where(
        *_same_reminder(Reminder, reminder),
        Reminder.recipient_user_id.is_not(None),
        Reminder.status != CANCELLED,
    )
    staff = session.exec(
        select(User.email, User.language, User.id.in_(named), func.lower(User.email).in_(mailed))
        .where(User.unit_id == reminder.recipient_unit_id, User.active, User.email.is_not(None))
        .order_by(User.id)
        .limit(UNIT_RECIPIENTS_MAX)
    ).all()
    rest = [(address, language) for address, language, by_name, reached in staff if not (by_name or reached)]
    if staff and not rest:
        return SKIP_BY_NAME if all(by_name for _, _, by_name, _ in staff) else SKIP_ALREADY_SENT
    return rest


def recipient_locale(language: str | None) -> str:
    """The language a reminder is written in: the recipient's, else (a bare address) the default."""
    return known_language(language) or current_app.config["BABEL_DEFAULT_LOCALE"]


def subject(workflow: Workflow, case: SipCase, reminder: Reminder, locale: str) -> str:
    """The subject: what it is about and the case reference, never a name or a personnummer."""
    texts = {
        INVITATION_UNANSWERED: _("Unanswered invitations to a SIP meeting"),
        MEETING_TOMORROW: _("Reminder: SIP meeting tomorrow"),
        DEADLINE_SOON: _("A SIP deadline is approaching"),
        DEADLINE_DUE: _("A SIP deadline falls today"),
        DEADLINE_MISSED: _("A SIP deadline has passed"),
        DEADLINE_ESCALATED: _("A SIP deadline has passed and is still not met"),
        EFFORT_OVERDUE: _("A SIP effort is past its end date"),
    }
    if reminder.kind == WORKFLOW:
        declared = workflow.declared_reminder(reminder.topic)
        text = declared.label.get(locale) or declared.label["sv"] if declared else _("SIP reminder")
    else:
        text = texts[reminder.kind]
    return f"{text} ({case.reference})"


def _plan_writers_for(
    session: Session, workflow: Workflow, case: SipCase, organisation_id: int | None, locale: str
) -> str | None:
    """Who to tell of an effort of organisation_id, when that organisation only reads the plan (a school, a
    municipality taking part that neither started the SIP nor holds huvudansvar): the names of the
    organisations taking part that write it (plans.editor.writes_plan), as a list in locale ("Region Kronoberg
    and Växjö kommun": names joined by a comma read as an organisation and its unit); None when it writes the
    plan itself, or no organisation taking part does."""
    if organisation_id is None:
        return None
    # The active participants read once; each organisation's roles by the one rule (party_roles).
    rows = session.exec(
        select(Participant.organisation_id, Participant.role, Organisation.name)
        .join(Organisation, Organisation.id == Participant.organisation_id)
        .where(Participant.case_id == case.id, Participant.active)
        .order_by(Participant.id)
    ).all()

    def writes(organisation: int) -> bool:
        return plan_editor.writes_plan(workflow, party_roles(session, case, organisation, participants=rows))

    if writes(organisation_id):
        return None
    names = {row.organisation_id: row.name for row in rows}
    writers = [name for organisation, name in names.items() if writes(organisation)]
    return format_list(list(dict.fromkeys(writers)), locale=locale) or None


def render(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    reminder: Reminder,
    *,
    address: str,
    locale: str,
    links_case: bool,
):
    """The e-mail of one reminder to one address, subject and body in locale (the recipient's language).

    links_case: the address can open the case page (security.access.addresses_seeing_case); an invitee gets
    their answer link either way.
    """
    context: dict = {"reference": case.reference, "case_url": None, "answer_url": None}
    if links_case:
        context["case_url"] = current_app.config["PUBLIC_URL"] + f"/cases/{case.uid}"
    with force_locale(locale):
        from flask_babel import format_date, format_datetime

        def when(moment: datetime, patterns: dict = MAIL_MOMENT_PATTERNS) -> str:
            if patterns is MAIL_MOMENT_PATTERNS:
                return when_text(moment, locale)  # a time of day says it is Swedish time
            return format_datetime(moment.astimezone(STOCKHOLM), patterns.get(locale, patterns["sv"]))

        if reminder.meeting_id is not None:
            meeting = session.get(Meeting, reminder.meeting_id)
            context["meeting_at"] = when(meeting.starts_at)
            context["place"] = ", ".join(p for p in (meeting.location, meeting.room) if p) or None
            context["video_url"] = meeting.offered_video_url
            invitation = session.get(Invitation, reminder.invitation_id) if reminder.invitation_id else None
            if invitation is not None and invitation.active and meeting.status == PLANNED:
                context["answer_url"] = answer_url(meeting, invitation, locale)
            if invitation is not None:
                # The person, a närstående or a guardian has no login: told whom to ask, not to look in
                # sipflow, as their kallelse does (the reply reaches human_mailbox, as set below).
                invitee = session.get(Participant, invitation.participant_id)
                context["recipient_kind"] = invitee.kind if invitee is not None else "organisation"
                context["organisation"] = booking_organisation(session, meeting)
                context["replies"] = human_mailbox(session, meeting) is not None
        if reminder.deadline_id is not None:
            deadline = session.get(Deadline, reminder.deadline_id)
            rule = next((r for r in workflow.deadlines if r.kind == deadline.kind), None)
            context["deadline"] = (rule.label.get(locale) or rule.label["sv"]) if rule else deadline.kind
            due = deadline_moment(workflow, case, deadline)
            # A deadline counted in whole days is said as its day, not as "kl. 23:59".
            context["deadline_at"] = when(
                due, MAIL_DAY_PATTERNS if ends_its_day(due) else MAIL_MOMENT_PATTERNS
            )
        if reminder.kind == WORKFLOW:
            context.update(_anchor_line(session, workflow, case, reminder, when))
        if reminder.effort_id is not None:
            effort = session.get(PlanEffort, reminder.effort_id)
            # Written out in the recipient's language, as a deadline's day is ("torsdag 3 december 2026").
            day = MAIL_DAY_PATTERNS.get(locale, MAIL_DAY_PATTERNS["sv"])
            context["ends_on"] = format_date(effort.ends_on, day) if effort.ends_on else ""
            context["plan_writers"] = _plan_writers_for(
                session, workflow, case, effort.organisation_id, locale
            )
        context["kind"] = reminder.kind
        body = current_app.jinja_env.get_template(f"reminders/{reminder.template}.txt").render(**context)
        title = subject(workflow, case, reminder, locale)
    meeting = session.get(Meeting, reminder.meeting_id) if reminder.meeting_id is not None else None
    message = EmailMessage()
    # A meeting's reminder comes from whom its invitation came (the booking organisation).
    message["From"] = sender(booking_organisation(session, meeting) if meeting is not None else None)
    message["To"] = address
    if reminder.invitation_id is not None and reminder.meeting_id is not None:
        # An invitee's plain "Reply" should reach a person, as a reply to the invitation does.
        reply_to = human_mailbox(session, session.get(Meeting, reminder.meeting_id))
        if reply_to:
            message["Reply-To"] = reply_to
    message["Subject"] = title
    message.set_content(body)
    return message


def _anchor_line(session: Session, workflow: Workflow, case: SipCase, reminder: Reminder, when) -> dict:
    """A declared reminder's date it counts from, named by its anchor's label (the consent's last day): for
    the anchors that registered one, and only while the case has that date."""
    declared = workflow.declared_reminder(reminder.topic)
    if declared is None or declared.anchor not in REMINDER_ANCHOR_LABELS:
        return {}
    anchor = REMINDER_ANCHORS[declared.anchor](session, workflow, case)
    if anchor is None:
        return {}
    patterns = MAIL_DAY_PATTERNS if ends_its_day(anchor) else MAIL_MOMENT_PATTERNS
    return {"anchor_label": str(REMINDER_ANCHOR_LABELS[declared.anchor]), "anchor_at": when(anchor, patterns)}


def dispatch_tick(app, *, now: datetime) -> DispatchReport:
    """One scheduler tick: efforts past their end, then the due reminders, each batch a unit of work."""
    from sipflow.db import unit_of_work

    engine = app.extensions["sipflow.engine"]
    registry = app.extensions["sipflow.workflows"]
    with Session(engine, expire_on_commit=False) as session:
        final_states = {s.name for w in registry.workflows() for s in w.states.values() if s.final}
        with unit_of_work(session):
            scan_efforts(session, now=now, final_states=final_states)
        report = DispatchReport()
        while True:
            with unit_of_work(session):
                part = dispatch_due(session, registry, now=now)
            for name in ("sent", "late", "skipped", "undeliverable", "failed", "released"):
                setattr(report, name, getattr(report, name) + getattr(part, name))
            if part.total() < setting("REMINDER_BATCH"):
                return report


# --- Administration ------------------------------------------------------------------------------------


def _reachable() -> ColumnElement[bool]:
    """Over Reminder: a mail can now be sent to its recipient (the SQL spelling of _recipients giving an
    address): an invitation still active and sent by e-mail, a user or a unit's staff with an address (a unit
    without such staff: its address on the case; a deadline's or an effort's to a user disabled since: their
    unit, as dispatch gives it), or an address of its own. An invitee called some other way
    (phone, letter) is never reachable. Correlated to Reminder alone: a query that joins Invitation, User or
    Participant itself (case_reminders) asks of other rows here."""
    gone = aliased(User)
    return sql_case(
        (
            Reminder.invitation_id.is_not(None),
            exists()
            .where(
                Invitation.id == Reminder.invitation_id,
                Invitation.removed_at.is_(None),
                Invitation.channel == "email",
                Invitation.email.is_not(None),
            )
            .correlate(Reminder),
        ),
        (
            # A user with an address; a deadline's or an overdue effort's to one disabled since: their unit
            # (_past_a_disabled_account), reached as below.
            Reminder.recipient_user_id.is_not(None),
            or_(
                exists()
                .where(User.id == Reminder.recipient_user_id, User.active, User.email.is_not(None))
                .correlate(Reminder),
                and_(
                    or_(Reminder.deadline_id.is_not(None), Reminder.effort_id.is_not(None)),
                    exists()
                    .where(
                        gone.id == Reminder.recipient_user_id,
                        ~gone.active,
                        gone.unit_id.is_not(None),
                        _unit_reached(gone.unit_id, gone),
                    )
                    .correlate(Reminder),
                ),
            ),
        ),
        (
            # A reminder to a unit at its address on the case (for_unit_address): that address.
            and_(
                Reminder.recipient_unit_id.is_not(None),
                or_(Reminder.kind == WORKFLOW, Reminder.recipient_address.is_not(None)),
            ),
            Reminder.recipient_address.is_not(None),
        ),
        (
            # A unit's staff, each with an address; none: the unit's address on the case, where dispatch
            # gives it (_staff_else_unit_address: _unit_address_now's participant, Participant.mail_address).
            Reminder.recipient_unit_id.is_not(None),
            _unit_reached(Reminder.recipient_unit_id),
        ),
        else_=Reminder.recipient_address.is_not(None),
    )


def _unit_reached(unit_id, *outer) -> ColumnElement[bool]:
    """Over Reminder (and the outer tables that unit_id is a column of): mail to the staff of the unit reaches
    someone, each active staff member with an address, or, none, its address on the reminder's case
    (_staff_else_unit_address): the first active participant of the unit there, the one _unit_address_now
    reads, has a mail address by Participant.mail_address's rule (Participant.has_mail_address)."""
    staff, first = aliased(User), aliased(Participant)
    first_id = (
        sa_select(func.min(first.id))
        .where(first.case_id == Reminder.case_id, first.unit_id == unit_id, first.removed_at.is_(None))
        .correlate(Reminder, *outer)
        .scalar_subquery()
    )
    return or_(
        exists()
        .where(staff.unit_id == unit_id, staff.active, staff.email.is_not(None))
        .correlate(Reminder, *outer),
        exists()
        .where(Participant.id == first_id, Participant.has_mail_address())
        .correlate(Reminder, *outer),
    )


def _may_send_again() -> ColumnElement[bool]:
    """Over Reminder: the one rule of "send again": a failed one, one skipped while its workflow file was
    missing (sent again, it is skipped again until the file is back), or an undeliverable one that now has
    an address to go to (else it would only be undeliverable again)."""
    return or_(
        Reminder.status == FAILED,
        and_(Reminder.status == SKIPPED, Reminder.skip_reason == SKIP_WORKFLOW_MISSING),
        and_(Reminder.status == UNDELIVERABLE, _reachable()),
    )


def unreachable(session: Session, reminders: Iterable[Reminder]) -> set[int]:
    """The ids of the pending reminders (a page of the list) that no address reaches now (_reachable, as
    case_reminders' column): sent as things stand, each would be undeliverable."""
    ids = [r.id for r in reminders if r.status == PENDING]
    if not ids:
        return set()
    return set(session.exec(select(Reminder.id).where(Reminder.id.in_(ids), ~_reachable())).all())


def sendable_again(session: Session, reminders: Iterable[Reminder]) -> set[int]:
    """The ids of reminders (a page of the list) that may be sent again, in one statement."""
    ids = [r.id for r in reminders if r.status in (FAILED, SKIPPED, UNDELIVERABLE)]
    if not ids:
        return set()
    return set(session.exec(select(Reminder.id).where(Reminder.id.in_(ids), _may_send_again())).all())


def in_region(region: regions.Region) -> ColumnElement[bool] | None:
    """A WHERE clause on Reminder limiting rows to those an administrator of region sees: those of SIPs
    whose initiating organisation is in region (regions.region_filter), and those to the region's own (a
    staff member's unit's organisation, a unit's, an invitee unit's, an overdue effort's): the office of a
    national agency taking part in a county's SIP is reached at its mailbox, which only its organisation's
    administrator corrects; None for a national one (all).

    Asked by the list and by the retry, so an administrator reads and resends their region's reminders
    only. Primary-key lookups per row: the list still walks ix_reminder_due in order."""
    organisations = regions.region_filter(region)
    if organisations is None:
        return None
    # The case's initiating organisation by primary keys: joined, SQLite scanned the organisations instead.
    initiating = (
        select(SipCase.initiating_organisation_id).where(SipCase.id == Reminder.case_id).correlate(Reminder)
    )
    # The recipient's organisation, each by primary keys and correlated to the row (as the initiating one).
    recipient = func.coalesce(
        *(
            query.correlate(Reminder).scalar_subquery()
            for query in (
                select(Unit.organisation_id).where(Unit.id == Reminder.recipient_unit_id),
                select(Unit.organisation_id)
                .join(User, User.unit_id == Unit.id)
                .where(User.id == Reminder.recipient_user_id),
                select(Participant.organisation_id)
                .join(Invitation, Invitation.participant_id == Participant.id)
                .where(Invitation.id == Reminder.invitation_id),
                select(PlanEffort.organisation_id).where(PlanEffort.id == Reminder.effort_id),
            )
        )
    )
    return or_(
        exists().where(Organisation.id == initiating.scalar_subquery(), organisations),
        exists().where(Organisation.id == recipient, organisations),
    )


def retry_reminder(
    session: Session, reminder_id: int, *, now: datetime, region: regions.Region = regions.NATIONAL
) -> bool:
    """Put a failed reminder, or an undeliverable one that now has an address, back to pending, due now;
    False otherwise (also for a reminder outside region)."""
    scope = in_region(region)
    result = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, _may_send_again(), *([scope] if scope is not None else []))
        .values(status=PENDING, due_at=now, claimed_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def admin_region(session: Session, actor: User | None) -> regions.Region:
    """The region actor administers (regions.admin_region): whose reminders they see and resend."""
    return regions.admin_region(session, actor)


def case_ids_of(session: Session, meeting_ids: Iterable[int]) -> set[int]:
    """The cases of these meetings."""
    ids = list(meeting_ids)
    if not ids:
        return set()
    return set(session.exec(select(Meeting.case_id).where(Meeting.id.in_(ids))).all())


PAGE_SIZE = 50


def reminders_page_query(
    *,
    status: str,
    last: Reminder | None,
    size: int = PAGE_SIZE,
    region: regions.Region = regions.NATIONAL,
    backwards: bool = False,
):
    """The statement of one page of the reminders of status after last (keyset on ix_reminder_due), each with
    its case's reference: the list names a SIP by the reference staff know, never its internal id; only
    region's reminders (in_region). backwards: the page before last, nearest first (the previous page)."""
    ascending = (status in (PENDING, CLAIMED)) != backwards
    # A subquery by the case's primary key per row of the page: a join let SQLite scan the cases instead.
    reference = select(SipCase.reference).where(SipCase.id == Reminder.case_id).scalar_subquery()
    query = select(Reminder, reference).where(Reminder.status == status)
    scope = in_region(region)
    if scope is not None:
        query = query.where(scope)
    if last is not None:
        if ascending:
            query = query.where(
                (Reminder.due_at > last.due_at) | ((Reminder.due_at == last.due_at) & (Reminder.id > last.id))
            )
        else:
            query = query.where(
                (Reminder.due_at < last.due_at) | ((Reminder.due_at == last.due_at) & (Reminder.id < last.id))
            )
    if ascending:
        query = query.order_by(Reminder.status, Reminder.due_at, Reminder.id)
    else:
        query = query.order_by(Reminder.status.desc(), Reminder.due_at.desc(), Reminder.id.desc())
    return query.limit(size + 1)


UNKNOWN_STATUS = _l("Unknown status. Choose one from the list.")


def status_filter(value: str | None) -> tuple[str | None, str | None]:
    """The status the list asked for (upcoming when none), or None and the refusal of one no reminder has."""
    if not value:
        return PENDING, None
    if value not in STATUSES:
        return None, str(UNKNOWN_STATUS)
    return value, None


def reminders_page(
    session: Session,
    *,
    status: str,
    after: int | None,
    before: int | None = None,
    page: int = 1,
    size: int | None = None,
    region: regions.Region = regions.NATIONAL,
) -> KeysetPage:
    """One page of region's reminders of status with their case's reference, as (reminder, reference) rows:
    pending ones soonest first, the others latest first (keyset), after the reminder after or, the previous
    page, before the reminder before."""
    size = PAGE_SIZE if size is None else size

    def read(cursor_id: int | None, backwards: bool, count: int) -> list:
        last = session.get(Reminder, cursor_id) if cursor_id is not None else None
        if cursor_id is not None and (last is None or last.status != status):
            return []  # gone, or moved to another status: the list starts again
        statement = reminders_page_query(
            status=status, last=last, size=count - 1, region=region, backwards=backwards
        )
        return [(reminder, reference) for reminder, reference in session.exec(statement).all()]

    return keyset_page(read, after=after, before=before, page=page, limit=size, key=lambda row: row[0].id)


# What the case page shows: the reminders still to come and those that could not be delivered.
CASE_PAGE_STATUSES = (PENDING, UNDELIVERABLE)
# Skipped ones the case page shows too: a unit without a contact person on the case can be given one.
CASE_PAGE_SKIP_REASONS = (SKIP_NO_CONTACT,)
CASE_PAGE_MAX = 50
# The case page's link to its next reminders carries the last one's moment and id (a time and a row id,
# no personal data), as Mina SIP's cursor does.
CASE_PAGE_CURSOR_VERSION = "1"
CASE_PAGE_CURSOR_LENGTH = 120


# An invitee as the reminder lists name them: the participant's kind and relation, an organisation's
# name and unit (never the person's or a närstående's name, never an address: see Invitee).
_INVITEE = aliased(Participant, name="invitee")
_INVITEE_UNIT = aliased(Unit, name="invitee_unit")
# The organisation of the unit a reminder is addressed to (a unit without a contact person is named by it).
_RECIPIENT_ORGANISATION = aliased(Organisation, name="recipient_organisation")
_INVITEE_COLUMNS = (
    _INVITEE.kind.label("invitee_kind"),
    _INVITEE.relation.label("invitee_relation"),
    Organisation.name.label("invitee_organisation"),
    _INVITEE_UNIT.name.label("invitee_unit"),
)


def _with_invitees(query):
    """query (over Reminder) with each invitee's naming columns, by primary keys, outer-joined."""
    return (
        query.outerjoin(Invitation, Invitation.id == Reminder.invitation_id)
        .outerjoin(_INVITEE, _INVITEE.id == Invitation.participant_id)
        .outerjoin(Organisation, Organisation.id == _INVITEE.organisation_id)
        .outerjoin(_INVITEE_UNIT, _INVITEE_UNIT.id == _INVITEE.unit_id)
    )


@dataclass(frozen=True)
class Invitee:
    """How a meeting's invitee is named beside a reminder to them: an organisation by its name and unit, the
    person as the person, a närstående or guardian by kind and relation."""

    kind: str | None
    relation: str | None = None
    organisation: str | None = None
    unit: str | None = None


# Built once (every case page reads it): building and keying it per request cost more than running it.
# The columns the page shows, not the rows as objects (it never changes them).
_CASE_REMINDERS = (
    _with_invitees(
        select(
            Reminder.id,
            Reminder.kind,
            Reminder.due_at,
            Reminder.status,
            Reminder.skip_reason,
            Reminder.topic,
            Reminder.invitation_id,
            Reminder.recipient_user_id,
            Reminder.recipient_unit_id,
            Reminder.recipient_address,
            User.display_name.label("recipient_name"),
            Unit.name.label("recipient_unit_name"),
            _RECIPIENT_ORGANISATION.name.label("recipient_organisation_name"),
            *_INVITEE_COLUMNS,
            # Whether an address reaches the recipient now: a pending one no address reaches will not go out.
            _reachable().label("reachable"),
        )
        # Who hears of it, named in the same statement: two rows of one kind and day differ by their
        # recipient (three invitees of one meeting too).
        .outerjoin(User, User.id == Reminder.recipient_user_id)
        .outerjoin(Unit, Unit.id == Reminder.recipient_unit_id)
        .outerjoin(_RECIPIENT_ORGANISATION, _RECIPIENT_ORGANISATION.id == Unit.organisation_id)
    )
    .where(
        Reminder.case_id == bindparam("case_id", type_=Integer),
        or_(
            Reminder.status.in_(CASE_PAGE_STATUSES),
            and_(Reminder.status == SKIPPED, Reminder.skip_reason.in_(CASE_PAGE_SKIP_REASONS)),
        ),
    )
    .order_by(Reminder.due_at, Reminder.id)
    # One more than a page: whether later ones follow is known without a count.
    .limit(CASE_PAGE_MAX + 1)
)
# The page after the reminder (after_due, after_id), in the same order.
_CASE_REMINDERS_AFTER = _CASE_REMINDERS.where(
    or_(
        Reminder.due_at > bindparam("after_due"),
        and_(Reminder.due_at == bindparam("after_due"), Reminder.id > bindparam("after_id", type_=Integer)),
    )
)


# Cases a reconciliation of every case brings in line per transaction (reconcile_pending).
RECONCILE_BATCH = 200


def _running_on(registry) -> ColumnElement[bool]:
    """A case is in a state of its loaded workflow version that is not final: one still running."""
    return or_(
        false(),
        *(
            and_(
                SipCase.workflow_name == workflow.name,
                SipCase.workflow_version == workflow.version,
                SipCase.state.in_([state for state in workflow.states if not workflow.is_final(state)]),
            )
            for workflow in registry.workflows()
        ),
    )


def reconcile_pending(session: Session, registry, *, now: datetime, batch: int = RECONCILE_BATCH) -> int:
    """Bring the reminders of every case still running or with one still to send in line with the rules as
    they are now (a rule of when they go changed; a case running since a release that wrote none of a kind
    has no row to move, only one to add), a batch of cases per transaction, each case held as a write to it
    holds it; returns how many cases were reconciled. Cases of a workflow the app has not loaded are left."""
    done, after = 0, 0
    running = _running_on(registry)
    pending = exists().where(Reminder.case_id == SipCase.id, Reminder.status == PENDING)
    while True:
        case_ids = session.exec(
            select(SipCase.id)
            .where(SipCase.id > after, or_(pending, running))
            .order_by(SipCase.id)
            .limit(batch)
        ).all()
        if not case_ids:
            return done
        with unit_of_work(session):
            for case_id in case_ids:
                case = lock_case(session, session.get(SipCase, case_id))
                workflow = find_workflow(registry, case.workflow_name, case.workflow_version)
                if workflow is not None and case.state in workflow.states:
                    reconcile_case(session, workflow, case, now=now)
                    done += 1
        after = case_ids[-1]
        session.expunge_all()


# How many days back the consent's-end job looks for a last day that has ended: a scheduler down that long
# still moves the reminders when it starts again (reconciling a case twice changes nothing).
CONSENT_ENDED_DAYS_BACK = 7


def reconcile_after_consent_ended(session: Session, registry, *, now: datetime) -> int:
    """Move the reminders counting from the consent's end (anchor consent_ends) of every case whose consent
    for some organisation had its last day within the past CONSENT_ENDED_DAYS_BACK days: nothing is written
    when a consent runs out, so without this the next organisation's end (first_coverage_end, once the first
    has passed) would never be reminded of. Each case its own unit of work, held as a write to it holds it;
    the number of cases reconciled. Only cases of a workflow declaring such a reminder, and not ended."""
    anchored = {
        (w.name, w.version)
        for w in registry.workflows()
        if any(declared.anchor in CONSENT_ANCHORS for declared in w.reminders)
    }
    if not anchored:
        return 0
    yesterday = local_today(now) - timedelta(days=1)
    case_ids = cases_whose_consent_ended(
        session, first=yesterday - timedelta(days=CONSENT_ENDED_DAYS_BACK - 1), last=yesterday
    )
    session.rollback()  # the read's transaction: each case's own comes next
    done = 0
    for case_id in case_ids:
        with unit_of_work(session):
            case = session.get(SipCase, case_id)
            if (case.workflow_name, case.workflow_version) not in anchored:
                continue
            workflow = find_workflow(registry, case.workflow_name, case.workflow_version)
            if workflow is None or case.state not in workflow.states or workflow.is_final(case.state):
                continue  # an ended case is never reopened: it is not held for nothing
            case = lock_case(session, case)
            if case.state not in workflow.states or workflow.is_final(case.state):
                continue
            reconcile_case(session, workflow, case, now=now, families={DECLARED})
            done += 1
        session.expunge_all()
    return done


def recipient_names(
    session: Session, rows
) -> tuple[dict[int, str], dict[int, tuple[str, str]], dict[int, Invitee]]:
    """Who rows of reminders go to: ({user id: name}, {unit id: (name, its organisation's name)},
    {invitation id: Invitee})."""
    user_ids = {r.recipient_user_id for r in rows if r.recipient_user_id is not None}
    unit_ids = {r.recipient_unit_id for r in rows if r.recipient_unit_id is not None}
    invitation_ids = {r.invitation_id for r in rows if r.invitation_id is not None}
    users = session.exec(select(User.id, User.display_name).where(User.id.in_(user_ids))) if user_ids else ()
    units = (
        session.exec(
            select(Unit.id, Unit.name, Organisation.name)
            .join(Organisation, Organisation.id == Unit.organisation_id)
            .where(Unit.id.in_(unit_ids))
        )
        if unit_ids
        else ()
    )
    invitees = (
        session.exec(
            select(Invitation.id, *_INVITEE_COLUMNS)
            .select_from(Invitation)
            .join(_INVITEE, _INVITEE.id == Invitation.participant_id)
            .outerjoin(Organisation, Organisation.id == _INVITEE.organisation_id)
            .outerjoin(_INVITEE_UNIT, _INVITEE_UNIT.id == _INVITEE.unit_id)
            .where(Invitation.id.in_(invitation_ids))
        )
        if invitation_ids
        else ()
    )
    return (
        dict(tuple(row) for row in users),
        {unit_id: (name, organisation) for unit_id, name, organisation in units},
        {row[0]: Invitee(*row[1:]) for row in invitees},
    )


def invitee_of(row) -> Invitee | None:
    """The invitee a row of case_reminders goes to (None: it goes to no invitee)."""
    return (
        Invitee(row.invitee_kind, row.invitee_relation, row.invitee_organisation, row.invitee_unit)
        if (row.invitation_id is not None and row.invitee_kind is not None)
        else None
    )


# What the case page says of a pending reminder whose moment has passed without it being sent (overdue):
# the next dispatch skips it (what it tells of has come: "passed"; or another skip_reason), or sends it,
# late by the rule dispatch_due marks `late` by (more than REMINDER_LATE_AFTER_SECONDS after its moment).
OVERDUE_PASSED, OVERDUE_SKIPPED, OVERDUE_LATE = "passed", "skipped", "late"


def overdue_outlook(
    session: Session, workflow: Workflow, case: SipCase, rows, now: datetime
) -> dict[int, str]:
    """{reminder id: OVERDUE_*} for the pending rows (of case_reminders) whose moment passed more than
    REMINDER_LATE_AFTER_SECONDS ago: what the next dispatch does with each, by the one rule it asks
    (skip_reason). The others are upcoming (or about to go, on time)."""
    late_after = timedelta(seconds=setting("REMINDER_LATE_AFTER_SECONDS"))
    outlook: dict[int, str] = {}
    for row in rows:
        if row.status != PENDING or now - stored_utc(row.due_at) <= late_after:
            continue
        reason = skip_reason(session, workflow, case, session.get(Reminder, row.id), now)
        if reason is None:
            outlook[row.id] = OVERDUE_LATE
        else:
            outlook[row.id] = OVERDUE_PASSED if reason == SKIP_PASSED else OVERDUE_SKIPPED
    return outlook


@dataclass(frozen=True)
class CaseRemindersPage:
    """A page of the case page's reminders, and the token of the next page's cursor (None: no more follow)."""

    rows: list[Row]
    next_token: str | None


def case_page_cursor(token: str | None) -> tuple[datetime, int] | None:
    """The (due_at, id) a case page's reminders token carries; None when missing or malformed (page one)."""
    raw = cursor_text(token, CASE_PAGE_CURSOR_LENGTH) if token else None
    if raw is None:
        return None
    try:
        version, moment, reminder_id = raw.split("|")
        after = (parse_instant(moment), int(reminder_id))
    except ValueError:
        return None
    return after if version == CASE_PAGE_CURSOR_VERSION and 0 < after[1] < 2**63 else None


def case_reminders_page(
    session: Session, case_id: int, after: tuple[datetime, int] | None = None
) -> CaseRemindersPage:
    """At most CASE_PAGE_MAX of case_reminders, those after the cursor after (keyset, by due_at and id), and
    the next page's token when more follow: a case with more reminders than a page lists them all, a page at
    a time, none left out."""
    if after is None:
        rows = column_rows(session, _CASE_REMINDERS, {"case_id": case_id})
    else:
        params = {"case_id": case_id, "after_due": after[0], "after_id": after[1]}
        rows = column_rows(session, _CASE_REMINDERS_AFTER, params)
    if len(rows) <= CASE_PAGE_MAX:
        return CaseRemindersPage(rows, None)
    last = rows[CASE_PAGE_MAX - 1]
    raw = f"{CASE_PAGE_CURSOR_VERSION}|{stored_utc(last.due_at).isoformat()}|{last.id}"
    return CaseRemindersPage(rows[:CASE_PAGE_MAX], cursor_token(raw))


def case_reminders(session: Session, case_id: int) -> list[Row]:
    """The case's pending and undeliverable reminders, and those skipped for a unit without a contact person,
    soonest first (the first CASE_PAGE_MAX; case_reminders_page gives the rest).

    Rows of id, kind, due_at, status, skip_reason, topic, invitation_id, the recipient's ids and names
    (recipient_name, recipient_unit_name, recipient_organisation_name), an invitee's naming columns
    (invitee_of) and reachable (an address reaches the recipient now: _reachable), by name.
    """
    return case_reminders_page(session, case_id).rows
