"""Att göra: what needs a staff member now, in five bounded sections, each most urgent first.

* deadlines: open deadlines, missed or due within HORIZON, of the cases the user's organisation sees
  (its case_visibility candidates, then the access rule, as Mina SIP does), except the follow-ups;
* follow-ups: the open deadlines a workflow file counts from the case's `follow_up_on` (which deadline kinds
  those are is read from the files), missed or due within HORIZON;
* meetings: the cases awaiting a meeting's outcome (the states a step with the meetings area's outcome
  form leaves, read from the files) whose meeting is missing or unrecorded: called (a step that books the
  meeting led there) with no planned meeting, all cancelled say, or with a planned meeting already begun;
* invitations: planned meetings the user booked, not yet begun, with invitees who have not answered;
* efforts: plan efforts owned by the user's organisation whose end date has passed while they are still
  planned or ongoing.

Each section is read by one query, keyset-paginated on (its date, row id) and limited; cases in a final
state are left out (their final states come from the workflow files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, literal, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sipflow.cases.models import CaseVisibility, Deadline, SipCase
from sipflow.cases.queries import deadline_label, due_by, find_workflow
from sipflow.clock import parse_instant, to_local
from sipflow.meetings.models import PARTSTATS, PLANNED, Invitation, Meeting
from sipflow.meetings.outcome import meeting_states
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person, Unit, User
from sipflow.plans.models import OPEN_EFFORT_STATUSES, Plan, PlanEffort
from sipflow.routing import cursor_text, cursor_token
from sipflow.security import access
from sipflow.workflow.engine import WorkflowRegistry

SECTIONS = ("deadlines", "follow_ups", "meetings", "invitations", "efforts")
# Rows per section on the overview, and on a section's own page.
OVERVIEW_ROWS = 10
PER_PAGE = 50
# A deadline or follow-up "coming" is due within this; a missed one is shown however old.
HORIZON = timedelta(days=14)  # counted in Swedish days: cases.queries.due_by
NEEDS_ACTION = PARTSTATS[0]
CURSOR_VERSION = "1"
MAX_CURSOR_LENGTH = 200
# The column in which a workflow file's follow-up deadline counts from (a word of the file language).
FOLLOW_UP_SOURCE = "follow_up_on"
# The sections sorted by a date (the others by a time): their cursors carry a date.
DATE_SECTIONS = ("efforts",)


@dataclass(frozen=True)
class Cursor:
    """Where a section's page starts: the sort value (a time or a date) and the id of the row before it."""

    value: datetime | date
    row_id: int

    def encode(self) -> str:
        """An opaque, URL-safe token: a time or date and a row id, no personal data."""
        kind = "t" if isinstance(self.value, datetime) else "d"
        raw = f"{CURSOR_VERSION}|{kind}|{self.value.isoformat()}|{self.row_id}"
        return cursor_token(raw)

    @classmethod
    def decode(cls, token: str | None, *, dated: bool | None = None) -> Cursor | None:
        """The cursor a token carries; None when missing or malformed (the first page is shown).

        dated: True when the section sorts by a date, False by a time; a cursor of the other kind (another
        section's, say) is malformed there. None takes either.
        """
        raw = cursor_text(token, MAX_CURSOR_LENGTH) if token else None
        if raw is None:
            return None
        wanted = ("t", "d") if dated is None else ("d",) if dated else ("t",)
        try:
            version, kind, value, row_id = raw.split("|")
            if version != CURSOR_VERSION or kind not in wanted:
                return None
            parsed = parse_instant(value) if kind == "t" else date.fromisoformat(value)
            cursor = cls(parsed, int(row_id))
        except ValueError:
            return None
        return cursor if 0 <= cursor.row_id < 2**63 else None


@dataclass
class TodoItem:
    """One line of Att göra: the case it concerns (by uid), what is due, when, and whether it is late."""

    case_uid: str
    reference: str
    person_name: str
    label: str
    due: datetime | date
    overdue: bool
    # Invitations: how many invitees have not answered.
    count: int | None = None
    # Invitations: the meeting, whose own page records the answers given another way (the case page cannot).
    meeting_id: int | None = None
    # Invitations: how many of those the relay refused (the newest mail failed).
    undelivered: int = 0


@dataclass
class TodoSection:
    """One section: its rows and, when more follow, the cursor of the next page."""

    name: str
    items: list[TodoItem] = field(default_factory=list)
    next_cursor: str | None = None

    @property
    def has_more(self) -> bool:
        """Rows follow beyond these."""
        return self.next_cursor is not None


def organisation_id_of(session: Session, user: User) -> int | None:
    """The user's organisation (through their unit), or None."""
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    return unit.organisation_id if unit is not None else None


def final_states(registry: WorkflowRegistry) -> set[str]:
    """The states any loaded workflow ends a case in."""
    return {state for wf in registry.workflows() for state in wf.states if wf.is_final(state)}


def follow_up_kinds(registry: WorkflowRegistry) -> set[str]:
    """The deadline kinds the workflow files count from the case's follow-up date."""
    return {
        rule.kind
        for wf in registry.workflows()
        for rule in wf.deadlines
        if rule.source_field == FOLLOW_UP_SOURCE
    }


def _after(columns, cursor: Cursor | None):
    """(sort column, id column) strictly after cursor."""
    if cursor is None:
        return None
    value_column, id_column = columns
    return or_(value_column > cursor.value, and_(value_column == cursor.value, id_column > cursor.row_id))


def _candidates(organisation_id: int, case_id_column):
    """The join condition to the organisation's case_visibility row of a case (its primary key)."""
    return and_(CaseVisibility.organisation_id == organisation_id, CaseVisibility.case_id == case_id_column)


def deadlines_query(
    user: User,
    organisation_id: int,
    registry: WorkflowRegistry,
    *,
    now: datetime,
    follow_ups: bool,
    limit: int,
    after: Cursor | None = None,
):
    """Open deadlines (the follow-ups, or all others) missed or due within HORIZON, earliest first."""
    kinds = follow_up_kinds(registry)
    query = (
        select(Deadline.id, Deadline.due_at, Deadline.kind, SipCase, Person)
        .join(CaseVisibility, _candidates(organisation_id, Deadline.case_id))
        .join(SipCase, SipCase.id == Deadline.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .where(
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
            Deadline.due_at <= due_by(now, HORIZON.days),
            SipCase.state.not_in(final_states(registry)),
            access.visible_cases_clause(user, now=now),
        )
    )
    if follow_ups:
        query = query.where(Deadline.kind.in_(kinds))
    elif kinds:
        query = query.where(Deadline.kind.not_in(kinds))
    position = _after((Deadline.due_at, Deadline.id), after)
    if position is not None:
        query = query.where(position)
    return query.order_by(Deadline.due_at, Deadline.id).limit(limit)


def invitations_query(user: User, registry: WorkflowRegistry, *, now: datetime, limit: int, after=None):
    """Planned meetings the user booked, not yet begun, with the number of invitees yet to answer and how
    many of them their invitation could not be delivered to.

    The count is a subquery per meeting shown (by the invitation's meeting index), so the meetings are read
    in index order and no GROUP BY sorts all of the user's bookings.
    """
    waiting = and_(
        Invitation.meeting_id == Meeting.id,
        Invitation.partstat == NEEDS_ACTION,
        Invitation.removed_at.is_(None),
    )
    unanswered = select(func.count(Invitation.id)).where(waiting).correlate(Meeting).scalar_subquery()
    # Of those, the invitees whose newest mail the relay refused for good (a mistyped address): the booker
    # is told here, not only on the meeting page.
    # The newest mail is the one no later row of the invitation follows (by id, through the invitation's
    # index: no sort per invitation).
    later = aliased(OutboxMessage)
    refused = exists().where(
        OutboxMessage.invitation_id == Invitation.id,
        OutboxMessage.status == "failed",
        ~exists().where(later.invitation_id == OutboxMessage.invitation_id, later.id > OutboxMessage.id),
    )
    undelivered = (
        select(func.count(Invitation.id)).where(waiting, refused).correlate(Meeting).scalar_subquery()
    )
    query = (
        select(Meeting.id, Meeting.starts_at, SipCase, Person, unanswered, undelivered)
        .join(SipCase, SipCase.id == Meeting.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .where(
            Meeting.booked_by_user_id == user.id,
            Meeting.status == PLANNED,
            Meeting.starts_at > now,
            exists().where(waiting),
            SipCase.state.not_in(final_states(registry)),
            access.visible_cases_clause(user, now=now),
        )
    )
    position = _after((Meeting.starts_at, Meeting.id), after)
    if position is not None:
        query = query.where(position)
    return query.order_by(Meeting.starts_at, Meeting.id).limit(limit)


def meetings_query(
    user: User, organisation_id: int, registry: WorkflowRegistry, *, now: datetime, limit: int, after=None
):
    """Cases awaiting a meeting's outcome with no meeting booked, or whose booked meeting began unrecorded.

    Rows (since, begun, case, person), oldest first. Two walks, each in its index's order and limited, then
    merged: the cases in a called state that the meetings area flagged as left without a planned meeting
    (sipcase.unbooked_since, a partial index: since when), and the planned meetings already begun (by status
    and start), the
    earliest of each case, in a state awaiting an outcome. A case is in at most one walk, so (since, case
    id) is the key.
    """
    awaiting, called = meeting_states(registry)
    visible = access.visible_cases_clause(user, now=now)
    other = aliased(Meeting)
    # The cases the meetings area flagged as left without a planned meeting (few, from a partial index),
    # oldest first; the organisation's candidate row and the case's state decide which are the user's.
    unbooked = select(
        SipCase.unbooked_since.label("since"),
        SipCase.id.label("case_id"),
        literal(False).label("begun"),
    ).where(
        SipCase.unbooked_since.is_not(None),
        SipCase.state.in_(called),
        # Asked of each flagged case (not joined): the walk stays on the partial index's few rows.
        exists().where(_candidates(organisation_id, SipCase.id)),
        ~exists().where(other.case_id == SipCase.id, other.status == PLANNED),
        visible,
    )
    earlier = or_(
        other.starts_at < Meeting.starts_at, and_(other.starts_at == Meeting.starts_at, other.id < Meeting.id)
    )
    begun = (
        select(
            Meeting.starts_at.label("since"), Meeting.case_id.label("case_id"), literal(True).label("begun")
        )
        .join(SipCase, SipCase.id == Meeting.case_id)
        .where(
            # The organisation's candidate row, asked of each begun meeting as a scalar subquery (never
            # turned into a join): the walk goes by the few planned meetings already begun, in the order
            # shown. Joined, SQLite drove the walk by the region's 280 000 candidate rows at a million cases
            # (300 ms), and PostgreSQL, expecting thousands of begun meetings where there were none, hashed
            # the candidates in a parallel plan (8 ms, most of it starting the workers).
            select(CaseVisibility.case_id)
            .where(_candidates(organisation_id, Meeting.case_id))
            .correlate(Meeting)
            .scalar_subquery()
            .is_not(None),
            Meeting.status == PLANNED,
            Meeting.starts_at <= now,
            SipCase.state.in_(awaiting),
            ~exists().where(other.case_id == Meeting.case_id, other.status == PLANNED, earlier),
            visible,
        )
    )
    walks = []
    for walk, key in (
        (unbooked, (SipCase.unbooked_since, SipCase.id)),
        (begun, (Meeting.starts_at, Meeting.case_id)),
    ):
        position = _after(key, after)
        if position is not None:
            walk = walk.where(position)
        walks.append(select(walk.order_by(*key).limit(limit).subquery()))
    merged = union_all(*walks).subquery()
    return (
        select(merged.c.since, merged.c.begun, SipCase, Person)
        .join(SipCase, SipCase.id == merged.c.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .order_by(merged.c.since, merged.c.case_id)
        .limit(limit)
    )


def efforts_query(
    user: User, organisation_id: int, registry: WorkflowRegistry, *, now: datetime, limit: int, after=None
):
    """Efforts the organisation owns, past their end date and still planned or ongoing, oldest end first."""
    today = to_local(now).date()
    query = (
        select(PlanEffort, SipCase, Person)
        .join(Plan, Plan.id == PlanEffort.plan_id)
        .join(SipCase, SipCase.id == Plan.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .where(
            PlanEffort.organisation_id == organisation_id,
            # Asked of each effort as a scalar subquery, which PostgreSQL never turns into a join: joined
            # (or as EXISTS), with few efforts it walked the organisation's 280,000 candidate rows at a
            # million cases to find none (23-60 ms).
            select(CaseVisibility.case_id)
            .where(_candidates(organisation_id, SipCase.id))
            .correlate(SipCase)
            .scalar_subquery()
            .is_not(None),
            PlanEffort.ends_on < today,
            PlanEffort.status.in_(OPEN_EFFORT_STATUSES),
            SipCase.state.not_in(final_states(registry)),
            access.visible_cases_clause(user, now=now),
        )
    )
    position = _after((PlanEffort.ends_on, PlanEffort.id), after)
    if position is not None:
        query = query.where(position)
    return query.order_by(PlanEffort.ends_on, PlanEffort.id).limit(limit)


def _name(person: Person) -> str:
    return f"{person.given_name} {person.family_name}"


def section(
    session: Session,
    registry: WorkflowRegistry,
    user: User,
    name: str,
    *,
    locale: str,
    now: datetime,
    limit: int,
    after: str | None = None,
) -> TodoSection:
    """One section of Att göra for user: at most limit rows after the cursor, and the next cursor."""
    if name not in SECTIONS:
        raise ValueError(f"unknown section {name!r}")
    result = TodoSection(name)
    organisation_id = organisation_id_of(session, user)
    if not access.may_see_cases(user) or organisation_id is None:
        return result
    cursor = Cursor.decode(after, dated=name in DATE_SECTIONS)
    today = to_local(now).date()
    # One row more than shown tells whether a further page exists, without counting.
    if name in ("deadlines", "follow_ups"):
        query = deadlines_query(
            user,
            organisation_id,
            registry,
            now=now,
            follow_ups=name == "follow_ups",
            limit=limit + 1,
            after=cursor,
        )
        found = session.exec(query).all()
        for _deadline_id, due_at, kind, case, person in found[:limit]:
            workflow = find_workflow(registry, case.workflow_name, case.workflow_version)
            result.items.append(
                TodoItem(
                    case_uid=case.uid,
                    reference=case.reference,
                    person_name=_name(person),
                    label=deadline_label(workflow, kind, locale),
                    due=due_at,
                    overdue=due_at < now,
                )
            )
        last = (found[limit - 1][1], found[limit - 1][0]) if len(found) > limit else None
    elif name == "meetings":
        query = meetings_query(user, organisation_id, registry, now=now, limit=limit + 1, after=cursor)
        found = session.exec(query).all()
        for since, begun, case, person in found[:limit]:
            result.items.append(
                TodoItem(
                    case_uid=case.uid,
                    reference=case.reference,
                    person_name=_name(person),
                    label=_("Outcome not recorded") if begun else _("No meeting booked"),
                    due=since,
                    # Recorded the day it was held is in time; a meeting of an earlier day is overdue. So
                    # is a SIP left without a meeting since an earlier day: booking again is due that day.
                    overdue=to_local(since).date() < today,
                )
            )
        last = (found[limit - 1][0], found[limit - 1][2].id) if len(found) > limit else None
    elif name == "invitations":
        found = session.exec(invitations_query(user, registry, now=now, limit=limit + 1, after=cursor)).all()
        for meeting_id, starts_at, case, person, count, undelivered in found[:limit]:
            result.items.append(
                TodoItem(
                    case_uid=case.uid,
                    reference=case.reference,
                    person_name=_name(person),
                    label="",
                    due=starts_at,
                    overdue=False,
                    count=count,
                    meeting_id=meeting_id,
                    undelivered=undelivered,
                )
            )
        last = (found[limit - 1][1], found[limit - 1][0]) if len(found) > limit else None
    else:
        query = efforts_query(user, organisation_id, registry, now=now, limit=limit + 1, after=cursor)
        found = session.exec(query).all()
        for effort, case, person in found[:limit]:
            result.items.append(
                TodoItem(
                    case_uid=case.uid,
                    reference=case.reference,
                    person_name=_name(person),
                    label=effort.what,
                    due=effort.ends_on,
                    overdue=effort.ends_on < today,
                )
            )
        last = (found[limit - 1][0].ends_on, found[limit - 1][0].id) if len(found) > limit else None
    if last is not None:
        result.next_cursor = Cursor(*last).encode()
    return result


def todo(
    session: Session, registry: WorkflowRegistry, user: User, *, locale: str, now: datetime
) -> list[TodoSection]:
    """Every section of Att göra, the first OVERVIEW_ROWS rows of each."""
    return [
        section(session, registry, user, name, locale=locale, now=now, limit=OVERVIEW_ROWS)
        for name in SECTIONS
    ]
