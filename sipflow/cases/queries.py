"""Read-only queries for the case pages: the list of a user's SIPs and everything one case page shows.

Every query is bounded (a keyset page or one case) and the related rows of a page are fetched in one query
per kind of row, never one query per case.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, bindparam, exists, or_
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sipflow.cases import corrections
from sipflow.cases.models import CaseVisibility, Deadline, Participant, SipCase, TransitionLog, met_late
from sipflow.cases.participants import labelled_organisations
from sipflow.cases.services import StepReads, step_reads
from sipflow.clock import (
    end_of_local_day,
    ends_its_day,
    parse_instant,
    stored_utc,
    summer_time_in_repeated_hour,
    to_local,
)
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import column_rows
from sipflow.i18n import LOCALES, sort_key
from sipflow.people.labels import LABEL_COLUMNS, organisation_labels, unit_label
from sipflow.people.models import County, Municipality, Organisation, Person, Unit, User, directory_version
from sipflow.people.services import ORGANISATION_COUNTY
from sipflow.retention.models import case_anonymised_at, is_anonymised_person
from sipflow.routing import KeysetPage, cursor_text, cursor_token
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import CREATE_EVENT, HUVUDANSVARIG, Workflow
from sipflow.workflow.engine import WorkflowRegistry

PER_PAGE = 50
# Built once: an alias made per call costs more to build and key than the query it is in.
_CONTACT = aliased(User)
# The page number a cursor carries is only a label; beyond this it is refused as malformed.
MAX_PAGE = 10_000_000


def local_datetime(value: datetime | None) -> str:
    """An aware datetime as Swedish local wall-clock time, 'YYYY-MM-DD HH:MM'; in the hour the clocks show
    twice when summer time ends, saying which showing ('02:10 (standard time)' comes after '02:50 (summer
    time)'), as a time alone would name two moments and a timeline would seem to go back."""
    if value is None:
        return ""
    text = to_local(value).strftime("%Y-%m-%d %H:%M")
    summer = summer_time_in_repeated_hour(value)
    if summer is None:
        return text
    return _("%(time)s (summer time)", time=text) if summer else _("%(time)s (standard time)", time=text)


def local_due(value: datetime | None) -> str:
    """A deadline's due time as the lists show it: the date alone for one counted in whole days
    (clock.ends_its_day), else 'YYYY-MM-DD HH:MM'."""
    if value is None:
        return ""
    local = to_local(value)
    return local.strftime("%Y-%m-%d" if ends_its_day(value) else "%Y-%m-%d %H:%M")


def due_by(now: datetime, days: int) -> datetime:
    """The last moment of the Swedish day days after now's: a deadline "due within" days falls at or before
    it. Counted in days, as the lists show a deadline counted in whole days (local_due): one shown as the
    date a week ahead is due within the week all that day (Mina SIP's filter, Att göra's two weeks)."""
    return end_of_local_day(to_local(now).date() + timedelta(days=days))


def local_span(starts: datetime, ends: datetime) -> str:
    """A time span in Swedish local time: 'YYYY-MM-DD HH:MM–HH:MM' within a day, else both in full."""
    start, end = to_local(starts), to_local(ends)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"


def local_date(value: datetime | date | None) -> str:
    """A date, or the local calendar date of an aware datetime, as 'YYYY-MM-DD'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.isoformat()


def find_workflow(registry: WorkflowRegistry, name: str, version: int) -> Workflow | None:
    """The workflow a case follows, or None when that version is no longer loaded."""
    try:
        return registry.get(name, version)
    except KeyError:
        return None


def workflow_for_labels(registry: WorkflowRegistry, name: str, version: int) -> Workflow | None:
    """The workflow whose labels name a case's workflow, state and deadlines in a list: its own version,
    else (that version's file removed) the newest loaded version of the same workflow, whose labels are
    the workflow's words for the same names; None when no version of it is loaded."""
    workflow = find_workflow(registry, name, version)
    if workflow is None and name in registry.names():
        return registry.latest(name)
    return workflow


def workflow_label(workflow: Workflow | None, name: str, locale: str) -> str:
    """The workflow's name in locale (the technical name when unknown)."""
    if workflow is None:
        return name
    return workflow.label.get(locale) or workflow.label.get("sv") or name


def workflow_choices(registry: WorkflowRegistry, locale: str) -> list[tuple[str, str]]:
    """The kinds of SIP one may start (each workflow's newest version), labelled from their files and sorted
    by label as the reader's language sorts words (Swedish å, ä, ö after z), not by file name."""
    labelled = [(name, workflow_label(registry.latest(name), name, locale)) for name in registry.names()]
    return sorted(labelled, key=lambda item: (sort_key(item[1], locale), item[0]))


def kind_choices(registry: WorkflowRegistry, locale: str) -> list[tuple[str, str]]:
    """Mina SIP's kinds of SIP: each loaded workflow's occasion (its versions share it, no two workflows
    do), labelled and sorted as workflow_choices."""
    return [(registry.latest(name).occasion, label) for name, label in workflow_choices(registry, locale)]


def kinds_asking_for(registry: WorkflowRegistry, date_name: str, locale: str) -> list[str]:
    """The labels of the kinds of SIP whose file asks for this date at the start (its start_dates), sorted."""
    return [
        label
        for name, label in workflow_choices(registry, locale)
        if date_name in registry.latest(name).start_dates
    ]


def state_label(workflow: Workflow | None, state: str | None, locale: str) -> str:
    """A state's name in locale (the technical name when unknown)."""
    if state is None:
        return ""
    if workflow is None or state not in workflow.states:
        return state
    return workflow.state_label(state, locale)


def deadline_label(workflow: Workflow | None, kind: str, locale: str) -> str:
    """A deadline kind's name in locale."""
    for rule in workflow.deadlines if workflow else ():
        if rule.kind == kind:
            return rule.label.get(locale) or rule.label.get("sv") or kind
    return kind


def trigger_label(workflow: Workflow | None, trigger: str, locale: str) -> str | None:
    """The label of the transition fired by trigger (None for the creation event or an unknown one)."""
    for transition in workflow.transitions if workflow else ():
        if transition.trigger == trigger:
            return transition.label.get(locale) or transition.label.get("sv") or trigger
    return None


# --- Mina SIP -------------------------------------------------------------------------------------------


@dataclass
class CaseRow:
    """One line of the Mina SIP list."""

    uid: str
    reference: str
    workflow_label: str
    state_label: str
    person_name: str
    masked_identifier: str
    deadline_label: str | None = None
    deadline_due: datetime | None = None
    overdue: bool = False
    # The user's organisation holds huvudansvar (overall responsibility) for the case.
    huvudansvar: bool = False


@dataclass
class CasePage(KeysetPage):
    """One page of the Mina SIP list, with the opaque cursors of its neighbours (cursor_token's)."""

    rows: list[CaseRow]


@dataclass(frozen=True)
class Cursor:
    """Where a page of Mina SIP starts: the sort key of the row next to it and the page's number."""

    page: int
    updated_at: datetime
    case_id: int

    def encode(self) -> str:
        """The cursor as an opaque, URL-safe token (no personal data: a time and a row id)."""
        raw = f"{CURSOR_VERSION}|{self.page}|{self.updated_at.isoformat()}|{self.case_id}"
        return cursor_token(raw)

    @classmethod
    def decode(cls, token: str | None) -> Cursor | None:
        """The cursor a token carries; None when it is missing or malformed (the caller shows page one)."""
        raw = cursor_text(token, MAX_CURSOR_LENGTH) if token else None
        if raw is None:
            return None
        try:
            version, page, updated_at, case_id = raw.split("|")
            if version != CURSOR_VERSION:
                return None
            cursor = cls(int(page), parse_instant(updated_at), int(case_id))
        except ValueError:
            return None
        if not (1 <= cursor.page <= MAX_PAGE and 0 <= cursor.case_id < 2**63):
            return None
        return cursor


CURSOR_VERSION = "1"
MAX_CURSOR_LENGTH = 200


DEADLINE_FILTERS = ("overdue", "week")
# "Due within a week": an open deadline from now up to this far ahead.
DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class CaseFilter:
    """What Mina SIP is narrowed to: a kind of SIP (its occasion), a state, an open deadline (overdue or due
    within a week), a person."""

    state: str | None = None
    deadline: str | None = None
    person_id: int | None = None
    occasion: str | None = None
    # The state names the chosen state stands for (state_names_of): those its label names in some loaded
    # version; empty, the state alone.
    state_names: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.state or self.deadline or self.person_id is not None or self.occasion)


# Why a filter value the lists do not offer is refused (a bookmark of a state a workflow file dropped, say).
UNKNOWN_STATE = _l("No loaded kind of SIP has this state. Choose a state from the list.")
UNKNOWN_DEADLINE = _l("Unknown deadline filter. Choose one from the list.")
UNKNOWN_KIND = _l("No loaded kind of SIP is called this. Choose a kind from the list.")


def case_filter(
    registry: WorkflowRegistry,
    *,
    state: str | None,
    deadline: str | None,
    person_id: int | None,
    kind: str | None = None,
) -> tuple[CaseFilter, dict[str, str]]:
    """The filter asked for, and by field the values refused (a refused one narrows nothing)."""
    errors: dict[str, str] = {}
    if kind and kind not in {registry.latest(name).occasion for name in registry.names()}:
        errors["kind"], kind = str(UNKNOWN_KIND), None
    names: tuple[str, ...] = ()
    if state:
        names = state_names_of(registry, state)
        if not names:
            errors["state"], state = str(UNKNOWN_STATE), None
        else:
            state = names[0]  # the list's own value for it (an older version's name, bookmarked, say)
    if deadline and deadline not in DEADLINE_FILTERS:
        errors["deadline"], deadline = str(UNKNOWN_DEADLINE), None
    filters = CaseFilter(
        state=state or None,
        deadline=deadline or None,
        person_id=person_id,
        occasion=kind or None,
        state_names=names if state else (),
    )
    return filters, errors


def _newest_first(registry: WorkflowRegistry) -> list[Workflow]:
    """Every loaded version, each workflow's newest first, then the older ones, newest first."""
    return sorted(registry.workflows(), key=lambda w: (w is not registry.latest(w.name), -w.version, w.name))


@dataclass(frozen=True)
class _StateGroup:
    """One choice of Mina SIP's state filter: the state names it finds and their labels (by locale)."""

    names: tuple[str, ...]
    labels: tuple[dict[str, str], ...]


def _state_groups(registry: WorkflowRegistry) -> list[_StateGroup]:
    """The states of every loaded version (the cases of an older one are still in its states), grouped by
    label: the state names one label (its text in every language) names, the newest versions' first. A
    state a new version renamed keeping its label is one choice with the old name: the list shows the
    label, as the rows do, so choosing it finds the cases of either version. Labels sharing a state name
    (a county's file labelling a shipped state its own way) are one choice too, named by both."""
    by_label: dict[tuple[str, ...], list[str]] = {}
    for workflow in _newest_first(registry):
        for state in workflow.states:
            label = tuple(workflow.state_label(state, locale) for locale in LOCALES)
            names = by_label.setdefault(label, [])
            if state not in names:
                names.append(state)
    groups: list[tuple[list[str], list[tuple[str, ...]]]] = []
    for label, names in by_label.items():
        sharing = [group for group in groups if set(group[0]) & set(names)]
        merged_names = [name for group in sharing for name in group[0]]
        merged_labels = [text for group in sharing for text in group[1]]
        groups = [group for group in groups if group not in sharing]
        merged_names += [name for name in names if name not in merged_names]
        groups.append((merged_names, [*merged_labels, label]))
    return [
        _StateGroup(tuple(names), tuple(dict(zip(LOCALES, label, strict=True)) for label in labels))
        for names, labels in groups
    ]


def state_names_of(registry: WorkflowRegistry, state: str) -> tuple[str, ...]:
    """The state names Mina SIP's state filter `state` finds: those of the group naming it, the list's
    value first; empty when no loaded version has the state."""
    for group in _state_groups(registry):
        if state in group.names:
            return group.names
    return ()


def state_choices(registry: WorkflowRegistry, locale: str) -> list[tuple[str, str]]:
    """The states of the loaded workflows' versions, one choice per group (_state_groups), labelled from
    their files, a group of several labels by each ("Makulerad / Ärendet makulerat"), sorted by label as
    the reader's language sorts words, as the kinds are."""
    choices = []
    for group in _state_groups(registry):
        texts = list(dict.fromkeys(label[locale] for label in group.labels))
        choices.append((group.names[0], " / ".join(texts)))
    return sorted(choices, key=lambda item: (sort_key(item[1], locale), item[0]))


def _filtered(query, filters: CaseFilter | None, *, now: datetime):
    """query narrowed by filters; each condition is checked on a row the keyset walk reached (no sort)."""
    if not filters:
        return query
    if filters.state:
        # The candidates' own state makes the filter a range of their (organisation, state, time) index;
        # the case's state is asked too, so a row out of step could only leave a case out, never show one.
        names = filters.state_names or (filters.state,)
        if len(names) == 1:
            query = query.where(CaseVisibility.state == names[0], SipCase.state == names[0])
        else:  # a state a newer version renamed: the ranges of each name
            query = query.where(CaseVisibility.state.in_(names), SipCase.state.in_(names))
    if filters.occasion:
        # Likewise a range of their (organisation, occasion, time) index; the case's occasion is asked too.
        query = query.where(CaseVisibility.occasion == filters.occasion, SipCase.occasion == filters.occasion)
    if filters.person_id is not None:
        query = query.where(SipCase.person_id == filters.person_id)
    if filters.deadline in DEADLINE_FILTERS:
        due = (
            Deadline.due_at < now
            if filters.deadline == "overdue"
            else Deadline.due_at.between(now, due_by(now, DUE_SOON.days))
        )
        query = query.where(
            exists().where(
                Deadline.case_id == CaseVisibility.case_id,
                Deadline.met_at.is_(None),
                Deadline.cancelled_at.is_(None),
                due,
            )
        )
    return query


def visible_page_query(
    user: User, *, now: datetime, limit: int, after=None, before=None, filters: CaseFilter | None = None
):
    """The query of one Mina SIP page: visible cases and their persons, strictly after or before a cursor.

    Newest first, or oldest first when reading upwards from `before`. It walks the user's organisation's
    candidates (case_visibility: cases it started or takes part in) in (updated_at, case_id) order from the
    cursor and keeps those the access rule lets the user see, so a page reads its own rows (and those consent
    hides), not every case: a deep page costs what the first one does, and an organisation that sees few
    cases reads few rows.
    """
    organisation = select(Unit.organisation_id).where(Unit.id == user.unit_id).scalar_subquery()
    query = (
        select(SipCase, Person)
        .select_from(CaseVisibility)
        .join(SipCase, SipCase.id == CaseVisibility.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .where(CaseVisibility.organisation_id == organisation, access.visible_cases_clause(user, now=now))
    )
    query = _filtered(query, filters, now=now)
    if after is not None:
        query = query.where(
            CaseVisibility.updated_at <= after.updated_at,
            or_(CaseVisibility.updated_at < after.updated_at, CaseVisibility.case_id < after.case_id),
        )
    if before is not None:
        query = query.where(
            CaseVisibility.updated_at >= before.updated_at,
            or_(CaseVisibility.updated_at > before.updated_at, CaseVisibility.case_id > before.case_id),
        )
        return query.order_by(CaseVisibility.updated_at, CaseVisibility.case_id).limit(limit)
    return query.order_by(CaseVisibility.updated_at.desc(), CaseVisibility.case_id.desc()).limit(limit)


def _visible_page(
    session: Session, user: User, *, now: datetime, limit: int, after=None, before=None, filters=None
):
    """The rows of visible_page_query, newest first."""
    query = visible_page_query(user, now=now, limit=limit, after=after, before=before, filters=filters)
    found = list(session.exec(query).all())
    # Read upwards from a `before` cursor: turn the rows round.
    return found[::-1] if before is not None else found


def my_cases(
    session: Session,
    registry: WorkflowRegistry,
    user: User,
    *,
    locale: str,
    now: datetime,
    after: str | None = None,
    before: str | None = None,
    per_page: int = PER_PAGE,
    filters: CaseFilter | None = None,
) -> CasePage:
    """The cases the user may see (security.access), newest activity first, one page of them.

    after/before are the cursors of the neighbouring pages' links; a malformed one gives the first page.
    """
    after_cursor, before_cursor = Cursor.decode(after), Cursor.decode(before)
    if after_cursor is not None:
        before_cursor = None
    if not access.may_see_cases(user):
        return CasePage(rows=[], page=1)
    # One row more than shown tells whether there is a further page without counting every case.
    if before_cursor is not None:
        found = _visible_page(
            session, user, now=now, limit=per_page + 1, before=before_cursor, filters=filters
        )
        has_previous, has_next = len(found) > per_page, True
        found = found[-per_page:]
        page = before_cursor.page if has_previous else 1
    else:
        found = _visible_page(session, user, now=now, limit=per_page + 1, after=after_cursor, filters=filters)
        has_previous, has_next = after_cursor is not None, len(found) > per_page
        found = found[:per_page]
        page = after_cursor.page if after_cursor is not None else 1
    next_deadline = open_deadlines_by_case(session, [case.id for case, _ in found])
    held = huvudansvar_case_ids(session, user, [case.id for case, _ in found])
    rows = []
    for case, person in found:
        workflow = workflow_for_labels(registry, case.workflow_name, case.workflow_version)
        row = CaseRow(
            uid=case.uid,
            reference=case.reference,
            workflow_label=workflow_label(workflow, case.workflow_name, locale),
            state_label=state_label(workflow, case.state, locale),
            person_name=f"{person.given_name} {person.family_name}",
            masked_identifier=person.masked_identifier(),
            huvudansvar=case.id in held,
        )
        deadline = next_deadline.get(case.id)
        if deadline is not None:
            row.deadline_label = deadline_label(workflow, deadline.kind, locale)
            row.deadline_due = deadline.due_at
            row.overdue = deadline.due_at < now
        rows.append(row)
    result = CasePage(rows=rows, page=page)
    if found:
        first, last = found[0][0], found[-1][0]
        if has_previous:
            result.previous_cursor = Cursor(max(page - 1, 1), first.updated_at, first.id).encode()
        if has_next:
            result.next_cursor = Cursor(min(page + 1, MAX_PAGE), last.updated_at, last.id).encode()
    return result


def huvudansvar_case_ids(session: Session, user: User, case_ids: list[int]) -> set[int]:
    """Which of the cases the user's organisation holds huvudansvar for, in one query for all of them."""
    if not case_ids or user.unit_id is None:
        return set()
    organisation = select(Unit.organisation_id).where(Unit.id == user.unit_id).scalar_subquery()
    return set(
        session.exec(
            select(Participant.case_id).where(
                Participant.case_id.in_(case_ids),
                Participant.organisation_id == organisation,
                Participant.role == HUVUDANSVARIG,
                Participant.active,
            )
        ).all()
    )


def open_deadlines_by_case(session: Session, case_ids: list[int]) -> dict[int, Deadline]:
    """The earliest open deadline of each case, in one query for all of them."""
    if not case_ids:
        return {}
    earliest: dict[int, Deadline] = {}
    for deadline in session.exec(
        select(Deadline)
        .where(
            Deadline.case_id.in_(case_ids),
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
        )
        .order_by(Deadline.case_id, Deadline.due_at, Deadline.id)
    ).all():
        earliest.setdefault(deadline.case_id, deadline)
    return earliest


# --- The case page ----------------------------------------------------------------------------------------


@dataclass
class ParticipantView:
    """A party to the case as the page shows it."""

    id: int
    kind: str
    role: str
    name: str
    unit_name: str | None = None
    organisation_kind: str | None = None
    contact_name: str | None = None
    # The contact person's account is disabled: still named (an account may be enabled again), but no longer
    # reached (mail_address), which the page says beside the name.
    contact_disabled: bool = False
    relation: str | None = None
    email: str | None = None
    phone: str | None = None
    # The party's organisation, so the page can tell the user's roles without reading participants again.
    organisation_id: int | None = None
    # The language mail to the party is written in (Participant.mail_language).
    language: str = "sv"
    # A unit's own id and its contact person's (the page offers its organisation's staff to name one).
    unit_id: int | None = None
    contact_user_id: int | None = None
    # A unit invited at its shared mailbox (no address of its own, no active contact person): the mailbox.
    mailbox: str | None = None
    # The unit is deactivated (it closed, or its organisation did): it stays on the SIP, nobody acts there.
    unit_deactivated: bool = False


@dataclass
class ConsentView:
    """A consent record and the organisations it covers."""

    consent: Consent
    recorded_by: str | None
    organisations: list[str] = field(default_factory=list)
    # In force on the page's day (Consent.in_force, read with the row), so no part of the page asks again.
    in_force: bool = False
    # The organisations the consent was withdrawn for alone (ConsentOrganisation.withdrawn_at): it no longer
    # covers them.
    withdrawn_for: list[WithdrawnFor] = field(default_factory=list)


@dataclass(frozen=True)
class WithdrawnFor:
    """An organisation a consent was withdrawn for, when and why."""

    name: str
    at: datetime
    reason: str | None


@dataclass
class DeadlineView:
    """A deadline with its label and status."""

    # The deadline's columns by name (a Core row, like the timeline's: shown, never changed here).
    deadline: Row
    label: str
    overdue: bool
    # Met after it fell (models.met_late): the page says so, not a plain "met".
    met_late: bool = False


@dataclass
class RemovedParticipantView:
    """A participant taken off the SIP, as its history shows them: who, when, by whom and why.

    name: a unit as the lists label one ("Organisation, Unit", people.labels.unit_label), else the name.
    """

    name: str
    kind: str
    removed_at: datetime
    removed_by: str | None
    reason: str | None


@dataclass
class TimelineEntry:
    """One transition log row, with names and labels resolved."""

    # The log row's columns by name (a Core row: the page reads them, never changes them).
    log: Row
    user_name: str | None
    organisation_name: str | None
    action_label: str | None
    from_label: str
    to_label: str
    decisions: list[dict]
    no_change_reason: str | None
    # How a kallelse went out: "sipflow" (invitations sent from here) or the other system's name.
    channel: str | None = None
    # A corrected case date (cases.corrections): its label, the date before and the date after.
    corrected: tuple[str, datetime, datetime] | None = None
    # The plan version the step established (the plan area's freeze_plan_version writes it to the log).
    plan_version: int | None = None


@dataclass
class CaseDetail:
    """Everything the case page shows about one case."""

    case: SipCase
    workflow: Workflow | None
    workflow_label: str
    state_label: str
    is_final: bool
    person: Person
    masked_identifier: str
    municipality_name: str
    participants: list[ParticipantView]
    # (participant, organisation, unit, contact user) of every participant, removed ones too, by id.
    participant_rows: list
    organisations: list[Organisation]
    # Every organisation that takes or took part, by the name the SIP's pages give it
    # (participants.labelled_organisations: two of one name told apart).
    organisation_labels: dict[int, str]
    consents: list[ConsentView]
    deadlines: list[DeadlineView]
    timeline: list[TimelineEntry]
    missing_region: bool
    missing_municipality: bool
    # The organisations taking part that see the case now (access.organisations_seeing_case), from the
    # participants' read: what the page offers or asks of an organisation goes no further.
    seeing: frozenset[int]
    # Of them, those a consent in force names (StepReads.covered).
    covered: frozenset[int]
    # The participants taken off the SIP, in the order they were removed: its history, shown nowhere else.
    removed: list[RemovedParticipantView] = field(default_factory=list)
    # The participants' read as a step's first read (its active participants and consents in force): what
    # the page asks of a step's guards before its form is filled (services.refusals_before_form).
    step_reads: StepReads | None = None
    # The organisation holding huvudansvar when none of its units on the SIP is active any more
    # (huvudansvar_closed): the page says so and what to do.
    huvudansvar_closed: str | None = None
    # The token of the timeline's page of earlier steps when there are more, and the cursor this page was
    # read before (None: the newest steps).
    timeline_earlier: str | None = None
    timeline_before: tuple[datetime, int] | None = None
    # When retention anonymised the SIP (None while it has not): the page says its free text, names and
    # contact details were cleared then, not lost.
    anonymised_at: datetime | None = None
    # Whether retention anonymised the person too (every SIP of theirs): their birth date was cut to the
    # first of January of its year, so the page shows the year alone, not a day they were not born on.
    person_anonymised: bool = False

    @property
    def timeline_whole(self) -> bool:
        """Whether timeline holds every step of the case (what an area may conclude from its triggers)."""
        return self.timeline_earlier is None and self.timeline_before is None

    def on_timeline_page(self, at: datetime) -> bool:
        """Whether a moment falls on this page of the timeline, so an area's entry merged into it by time
        (a hand-over of huvudansvar) is shown on one page, beside the steps of its time."""
        moment = stored_utc(at)
        if self.timeline_earlier is not None and moment < stored_utc(self.timeline[0].log.at):
            return False
        return self.timeline_before is None or moment < self.timeline_before[0]


def huvudansvar_closed(participants: list[ParticipantView]) -> str | None:
    """The name of the organisation holding huvudansvar when every one of its units taking part is
    deactivated (a unit closed, or its organisation), else None: the case page's form of the rule
    services.huvudansvar_without_active_unit asks of many SIPs at once, from the page's own read."""
    holders = [p for p in participants if p.kind == "organisation" and p.role == HUVUDANSVARIG]
    if holders and all(p.unit_deactivated for p in holders):
        return holders[0].name
    return None


# The case page's own reads, built once with the case (and the day) as bind parameters: building and keying
# these expressions on every request cost more than running them.
_CASE_ID = bindparam("case_id", type_=Integer)
_PARTICIPANTS = (
    select(Participant, Organisation, Unit, _CONTACT)
    .outerjoin(Organisation, Organisation.id == Participant.organisation_id)
    .outerjoin(Unit, Unit.id == Participant.unit_id)
    .outerjoin(_CONTACT, _CONTACT.id == Participant.contact_user_id)
    .where(Participant.case_id == _CASE_ID)
    .order_by(Participant.id)
)
# The same for a step's post: each active participant's rows also carry every consent of the case in force
# on the day (one row per pair, the consent last; None for none), which is the step's own first read too.
_PARTICIPANTS_WITH_CONSENTS = (
    _PARTICIPANTS.add_columns(
        access.consent_covers_participant(bindparam("today", type_=Date)).label(access.COVERED), Consent
    )
    .outerjoin(
        Consent,
        and_(
            Consent.case_id == Participant.case_id,
            Participant.active,
            Consent.in_force(bindparam("today", type_=Date)),
        ),
    )
    .order_by(Consent.id)
)
# Names as columns, not the users' and organisations' rows as objects: the page shows only the names.
# The consents with the names of the organisations each covers, one row per (consent, organisation): a
# consent's rows are next to each other and a consent covering none has one row with no name.
_CONSENTS = (
    select(
        Consent,
        User.display_name,
        Consent.in_force(bindparam("today", type_=Date)),
        Organisation.id,
        Organisation.name,
        ConsentOrganisation.withdrawn_at,
        ConsentOrganisation.withdrawn_reason,
    )
    .outerjoin(User, User.id == Consent.recorded_by_user_id)
    .outerjoin(ConsentOrganisation, ConsentOrganisation.consent_id == Consent.id)
    .outerjoin(Organisation, Organisation.id == ConsentOrganisation.organisation_id)
    .where(Consent.case_id == _CASE_ID)
    .order_by(Consent.recorded_at, Consent.id, Organisation.name)
)
# The log's columns, not TransitionLog objects: loading a case's dozen log rows as objects cost more than
# reading them.
# The case page's timeline: the newest steps, a page at a time (a SIP followed up every quarter for years,
# with its corrections and revisions, logs hundreds), read backwards on ix_transitionlog_case_id_at_id.
TIMELINE_PAGE_MAX = 50
TIMELINE_CURSOR_VERSION = "1"
# Version, an ISO instant and a row id, base64: well under this.
TIMELINE_CURSOR_LENGTH = 120

_TIMELINE = (
    select(
        *TransitionLog.__table__.c,
        User.display_name.label("user_name"),
        Organisation.name.label("organisation_name"),
    )
    .outerjoin(User, User.id == TransitionLog.user_id)
    .outerjoin(Organisation, Organisation.id == TransitionLog.organisation_id)
    .where(TransitionLog.case_id == _CASE_ID)
    .order_by(TransitionLog.at.desc(), TransitionLog.id.desc())
    .limit(TIMELINE_PAGE_MAX + 1)
)
# The page of the steps before the cursor's (the oldest step of the newer page), by (at, id).
_TIMELINE_BEFORE = _TIMELINE.where(
    or_(
        TransitionLog.at < bindparam("before_at"),
        and_(
            TransitionLog.at == bindparam("before_at"),
            TransitionLog.id < bindparam("before_id", type_=Integer),
        ),
    )
)
_DEADLINES = (
    select(*Deadline.__table__.c).where(Deadline.case_id == _CASE_ID).order_by(Deadline.due_at, Deadline.id)
)
_PERSON_WITH_MUNICIPALITY = (
    select(Person, Municipality.name)
    .outerjoin(Municipality, Municipality.code == Person.home_municipality_code)
    .where(Person.id == bindparam("person_id", type_=Integer))
)


def participant_rows(
    session: Session, case: SipCase, *, step_now: datetime | None = None
) -> tuple[list, StepReads | None]:
    """Every participant of the case (removed ones too, whom an old invitation still names) as a row of
    (participant, organisation, unit, contact person), in the order of their ids, in one statement.

    With step_now (a step's post) the same statement also reads the consents in force that day: they come
    back with the active participants as the step's own first read (services.StepReads), else None.
    """
    if step_now is None:
        return list(session.exec(_PARTICIPANTS, params={"case_id": case.id}).all()), None
    today = to_local(step_now).date()
    params = {"case_id": case.id, "today": today}
    rows = session.exec(_PARTICIPANTS_WITH_CONSENTS, params=params).all()
    reads = step_reads(case, [row for row in rows if row[0].active], today)
    return list({row[0].id: tuple(row[:4]) for row in rows}.values()), reads


def _participant_view(row, person: Person) -> ParticipantView:
    """One participant row (with its organisation, unit and contact user) as the page shows it."""
    participant, organisation, unit, user = row
    if participant.kind == "organisation":
        name = organisation.name if organisation else "?"
    elif participant.kind == "person":
        name = f"{person.given_name} {person.family_name}"
    else:
        name = participant.name or ""
    return ParticipantView(
        id=participant.id,
        kind=participant.kind,
        role=participant.role,
        name=name,
        unit_name=unit.name if unit else None,
        organisation_kind=organisation.kind if organisation else None,
        contact_name=user.display_name if user else None,
        contact_disabled=user is not None and not user.active,
        relation=participant.relation,
        email=participant.email,
        phone=participant.phone,
        organisation_id=participant.organisation_id,
        language=participant.mail_language(user),
        unit_id=participant.unit_id,
        contact_user_id=participant.contact_user_id,
        unit_deactivated=unit is not None and not unit.active,
        # Where its invitations go when neither its own address nor a contact person's (mail_address).
        mailbox=None
        if participant.email or participant.reaches_contact(user)
        else participant.mail_address(user, unit),
    )


def organisations_taking_part(rows) -> list[Organisation]:
    """The organisations of the active participants among participant_rows, by name: the same as
    participants.participating_organisations, from rows a page read already."""
    organisations = {row[1].id: row[1] for row in rows if row[0].active and row[1] is not None}
    return sorted(organisations.values(), key=lambda o: (o.name, o.id))


def _participant_views(rows, person: Person) -> tuple[list[ParticipantView], list[Organisation]]:
    """The active parties as the page shows them, and their organisations by name, from participant_rows."""
    kind_order = {"organisation": 0, "person": 1, "guardian": 2, "representative": 3, "narstaende": 4}
    result = [_participant_view(row, person) for row in rows if row[0].active]
    result.sort(key=lambda p: (kind_order.get(p.kind, 9), p.id))
    return result, organisations_taking_part(rows)


def participant_of(parties: CaseParties | CaseDetail, participant_id: int) -> ParticipantView | None:
    """The case's participant participant_id, removed or not, as the page shows it; None if not the case's."""
    row = next((r for r in parties.participant_rows if r[0].id == participant_id), None)
    return None if row is None else _participant_view(row, parties.person)


_REMOVERS = select(User.id, User.display_name).where(User.id.in_(bindparam("user_ids", expanding=True)))


def _removed(session: Session, rows) -> list[RemovedParticipantView]:
    """The removed participants among participant_rows; their removers' names read only when there are any."""
    removed = [row for row in rows if not row[0].active]
    if not removed:
        return []
    user_ids = sorted({p.removed_by_user_id for p, *_ in removed if p.removed_by_user_id is not None})
    names = dict(session.exec(_REMOVERS, params={"user_ids": user_ids}).all()) if user_ids else {}
    views = [
        RemovedParticipantView(
            name=(
                unit_label(organisation.name, unit.name if unit is not None else None)
                if organisation is not None
                else (participant.name or "")
            ),
            kind=participant.kind,
            removed_at=participant.removed_at,
            removed_by=names.get(participant.removed_by_user_id),
            reason=participant.removed_reason,
        )
        for participant, organisation, unit, *_ in removed
    ]
    return sorted(views, key=lambda v: v.removed_at)


def _consents(session: Session, case: SipCase, today: date, labels: dict[int, str]) -> list[ConsentView]:
    """The case's consents in the order they were recorded, each with its organisations' names (labels: as
    the SIP's pages name them)."""
    views: dict[int, ConsentView] = {}
    for consent, recorded_by, in_force, organisation_id, name, withdrawn_at, withdrawn_reason in session.exec(
        _CONSENTS, params={"case_id": case.id, "today": today}
    ).all():
        organisation_name = labels.get(organisation_id, name)
        view = views.get(consent.id)
        if view is None:
            view = views[consent.id] = ConsentView(consent, recorded_by, in_force=bool(in_force))
        if organisation_name is None:
            continue
        if withdrawn_at is None:
            view.organisations.append(organisation_name)
        else:
            view.withdrawn_for.append(WithdrawnFor(organisation_name, withdrawn_at, withdrawn_reason))
    return list(views.values())


def _plan_version(details: dict) -> int | None:
    """The plan version a step's log row says it established, when it says one."""
    number = details.get("plan_version")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def timeline_cursor(token: str | None) -> tuple[datetime, int] | None:
    """The (at, id) a timeline page's token carries; None when missing or malformed (the newest steps)."""
    raw = cursor_text(token, TIMELINE_CURSOR_LENGTH) if token else None
    if raw is None:
        return None
    try:
        version, moment, log_id = raw.split("|")
        before = (parse_instant(moment), int(log_id))
    except ValueError:
        return None
    return before if version == TIMELINE_CURSOR_VERSION and 0 < before[1] < 2**63 else None


def _timeline(
    session: Session,
    case: SipCase,
    workflow: Workflow | None,
    locale: str,
    before: tuple[datetime, int] | None,
) -> tuple[list[TimelineEntry], str | None]:
    """A page of the case's steps, oldest first: the newest TIMELINE_PAGE_MAX, or those before the cursor
    before; and the token of the page of earlier steps when there are more."""
    if before is None:
        rows = column_rows(session, _TIMELINE, {"case_id": case.id})
    else:
        params = {"case_id": case.id, "before_at": before[0], "before_id": before[1]}
        rows = column_rows(session, _TIMELINE_BEFORE, params)
    earlier = None
    if len(rows) > TIMELINE_PAGE_MAX:
        rows = rows[:TIMELINE_PAGE_MAX]
        oldest = rows[-1]
        earlier = cursor_token(f"{TIMELINE_CURSOR_VERSION}|{stored_utc(oldest.at).isoformat()}|{oldest.id}")
    entries = []
    for log in reversed(rows):
        details = log.details or {}
        entries.append(
            TimelineEntry(
                log=log,
                user_name=log.user_name,
                organisation_name=log.organisation_name,
                action_label=None
                if log.trigger == CREATE_EVENT
                else trigger_label(workflow, log.trigger, locale),
                from_label=state_label(workflow, log.from_state, locale),
                to_label=state_label(workflow, log.to_state, locale),
                decisions=[d for d in details.get("decisions") or [] if isinstance(d, dict)],
                no_change_reason=details.get("no_change_reason"),
                channel=details.get("channel"),
                corrected=corrections.logged_correction(log.trigger, details),
                plan_version=_plan_version(details),
            )
        )
    return entries, earlier


@dataclass
class CaseParties:
    """The case with its workflow, person and parties: what a step's form needs (its choices)."""

    case: SipCase
    workflow: Workflow | None
    person: Person
    municipality_name: str | None
    participants: list[ParticipantView]
    organisations: list[Organisation]
    # (participant, organisation, unit, contact user) of every participant, removed ones too, by id.
    participant_rows: list
    # Every organisation that takes or took part, by the name the SIP's pages give it
    # (participants.labelled_organisations: two of one name told apart).
    organisation_labels: dict[int, str] = field(default_factory=dict)
    # Read for a step (case_parties' step_now): the step's own first read, for fire_transition.
    step_reads: StepReads | None = None


def case_parties(
    session: Session, registry: WorkflowRegistry, case: SipCase, *, step_now: datetime | None = None
) -> CaseParties:
    """The case's workflow, person and parties, in two statements (a step's post reads no more first).

    With step_now (a step's post) the participants' read also holds the consents in force that day: the
    step takes it as its own first read (step_reads) and does not read them again.
    """
    person, municipality_name = session.exec(
        _PERSON_WITH_MUNICIPALITY, params={"person_id": case.person_id}
    ).one()
    rows, reads = participant_rows(session, case, step_now=step_now)
    # The same organisations as participating_organisations, taken from the participants' rows.
    participants, organisations = _participant_views(rows, person)
    return CaseParties(
        case=case,
        workflow=find_workflow(registry, case.workflow_name, case.workflow_version),
        person=person,
        municipality_name=municipality_name,
        participants=participants,
        organisations=organisations,
        participant_rows=rows,
        organisation_labels=labelled_organisations(session, {r[1].id: r[1] for r in rows if r[1]}.values()),
        step_reads=reads,
    )


def case_detail(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    *,
    locale: str,
    now: datetime,
    timeline_before: tuple[datetime, int] | None = None,
) -> CaseDetail:
    """Gather the case page: person, parties, consent, deadlines and a page of the timeline (the newest
    steps, or those before timeline_before; areas add their parts)."""
    # Read as for a step: the participants' read then also says which organisations see the case.
    parties = case_parties(session, registry, case, step_now=now)
    workflow, person, municipality_name = parties.workflow, parties.person, parties.municipality_name
    participants, organisations = parties.participants, parties.organisations
    kinds = {o.kind for o in organisations}
    is_final = bool(workflow and case.state in workflow.states and workflow.is_final(case.state))
    # Only an ended SIP is ever anonymised: a running one costs no statement.
    anonymised_at = case_anonymised_at(session, case.id) if is_final else None
    deadlines = [
        DeadlineView(
            deadline=d,
            label=deadline_label(workflow, d.kind, locale),
            overdue=d.met_at is None and d.cancelled_at is None and d.due_at < now,
            met_late=met_late(d.met_at, d.due_at),
        )
        for d in column_rows(session, _DEADLINES, {"case_id": case.id})
    ]
    timeline, timeline_earlier = _timeline(session, case, workflow, locale, timeline_before)
    return CaseDetail(
        case=case,
        workflow=workflow,
        workflow_label=workflow_label(workflow, case.workflow_name, locale),
        state_label=state_label(workflow, case.state, locale),
        is_final=is_final,
        person=person,
        masked_identifier=person.masked_identifier(),
        municipality_name=person.home_municipality_code if municipality_name is None else municipality_name,
        participants=participants,
        participant_rows=parties.participant_rows,
        organisations=organisations,
        organisation_labels=parties.organisation_labels,
        consents=_consents(session, case, to_local(now).date(), parties.organisation_labels),
        deadlines=deadlines,
        timeline=timeline,
        timeline_earlier=timeline_earlier,
        timeline_before=timeline_before,
        missing_region="region" not in kinds,
        missing_municipality="municipality" not in kinds,
        seeing=parties.step_reads.seeing,
        covered=parties.step_reads.covered,
        removed=_removed(session, parties.participant_rows),
        step_reads=parties.step_reads,
        huvudansvar_closed=huvudansvar_closed(participants),
        anonymised_at=anonymised_at,
        person_anonymised=anonymised_at is not None and is_anonymised_person(session, person),
    )


# --- Choices for the forms --------------------------------------------------------------------------------


# Plain columns, not the two rows as objects: every case page lists every unit of the directory. Built once.
# The county (code and name) comes with each row, by key, so Ny SIP's grouping by county costs no statement.
_ACTIVE_UNITS = (
    select(Unit.id, Unit.name, Organisation.id, ORGANISATION_COUNTY, County.name, *LABEL_COLUMNS)
    .join(Organisation, Organisation.id == Unit.organisation_id)
    .outerjoin(Municipality, Municipality.code == Organisation.municipality_code)
    .outerjoin(County, County.code == ORGANISATION_COUNTY)
    .where(Unit.active, Organisation.active)
    .order_by(Organisation.name, Organisation.id, Unit.name)
)


# The active units' rows by the token of the directory they were read under (people.models.directory_version),
# so a process reads them again only once a write to the directory has replaced the token (the database's
# triggers do, whoever writes); a view asks the token instead, one row by its key. A few tokens are kept, for
# a process serving more than one database (the benchmark's two sizes); the oldest goes first.
_DIRECTORY_TOKEN = select(directory_version.c.token).where(directory_version.c.id == 1)
_ACTIVE_UNIT_ROWS: dict[str, tuple] = {}
_KEPT_TOKENS = 4
_ACTIVE_UNIT_ROWS_LOCK = threading.Lock()
# The case page's picker (units_for_case_page) by token, language, units taking part and the user's unit:
# built from the rows above on every view of every SIP, 4 % of the page's instructions (bench/README.md,
# "The case page's instructions, counted"). A few hundred SIPs' worth; the oldest goes first.
_CASE_PAGE_UNITS: dict[tuple, tuple] = {}
_CASE_PAGE_UNITS_KEPT = 512


def active_unit_rows(session: Session) -> tuple:
    """The rows of _ACTIVE_UNITS: the process's copy while the directory's token is the one it was read
    under, else read again (and kept under the token now)."""
    return _directory_rows(session)[1]


def _directory_rows(session: Session) -> tuple[str | None, tuple]:
    """The directory's token now and active_unit_rows under it."""
    token = session.execute(_DIRECTORY_TOKEN).scalar()
    rows = _ACTIVE_UNIT_ROWS.get(token) if token is not None else None
    if rows is not None:
        return token, rows
    rows = tuple(column_rows(session, _ACTIVE_UNITS))
    if token is not None:
        with _ACTIVE_UNIT_ROWS_LOCK:
            _ACTIVE_UNIT_ROWS[token] = rows
            while len(_ACTIVE_UNIT_ROWS) > _KEPT_TOKENS:
                del _ACTIVE_UNIT_ROWS[next(iter(_ACTIVE_UNIT_ROWS))]
    return token, rows


@dataclass(frozen=True)
class UnitGroup:
    """One organisation's active units as a unit picker offers them, under a label no other group has."""

    organisation_id: int
    label: str
    units: tuple[tuple[int, str], ...]
    # The organisation's county (its own, else its municipality's); None for a national organisation.
    county_code: str | None = None
    county_name: str | None = None


def deactivated_unit_label(session: Session, unit_id: int | None) -> str | None:
    """The label (organisation, unit) of unit_id when it exists and is deactivated (its organisation's
    deactivation deactivates it too); None otherwise."""
    if unit_id is None:
        return None
    row = session.exec(
        select(Organisation.name, Unit.name)
        .join(Organisation, Organisation.id == Unit.organisation_id)
        .where(Unit.id == unit_id, Unit.active.is_(False))
    ).first()
    return unit_label(*row) if row is not None else None


def units_by_organisation(
    session: Session, *, exclude_unit_ids: set[int] | frozenset[int] = frozenset()
) -> list[UnitGroup]:
    """Every active unit, grouped by its organisation (by name), leaving out the given units (the case page:
    those taking part, services.units_taking_part; an organisation's other units stay offered).

    Organisations may share a name (two companies in different counties, a municipality and a company): each
    is a group of its own, labelled apart as every organisation picker labels them (people.labels), also
    from an organisation whose units are all left out (one taking part with a namesake offered).
    """
    return _units_by_organisation(session, exclude_unit_ids)[0]


def _units_by_organisation(
    session: Session, exclude_unit_ids: set[int] | frozenset[int], rows: tuple | None = None
) -> tuple[list[UnitGroup], dict[int, str | None], dict[int, int]]:
    """units_by_organisation, the county code of every organisation with an active unit (left out or
    not) and the organisation of every active unit (left out or not), from one statement (none when rows,
    active_unit_rows', are given)."""
    groups: dict[int, list[tuple[int, str]]] = {}
    organisations: dict[int, int] = {}
    about: dict[int, tuple[str, str, str, str | None, str | None]] = {}
    counties: dict[int, str | None] = {}
    county_names: dict[int, str | None] = {}
    if rows is None:
        rows = active_unit_rows(session)
    for unit_id, unit_name, organisation_id, county_code, county_name, *facts in rows:
        counties[organisation_id] = county_code
        organisations[unit_id] = organisation_id
        # Labelled among every organisation with an active unit, those left out too: a namesake of one
        # taking part (Försäkringskassan of another county) is offered under a label of its own.
        about[organisation_id] = tuple(facts)
        if unit_id in exclude_unit_ids:
            continue
        groups.setdefault(organisation_id, []).append((unit_id, unit_name))
        county_names[organisation_id] = county_name
    labels = organisation_labels(session, about)
    return (
        [
            UnitGroup(org_id, labels[org_id], tuple(units), counties[org_id], county_names[org_id])
            for org_id, units in groups.items()
        ],
        counties,
        organisations,
    )


@dataclass(frozen=True)
class CountyUnits:
    """The groups of one county's organisations, as Ny SIP offers another county's units: apart."""

    county_code: str
    name: str
    groups: tuple[UnitGroup, ...]


@dataclass(frozen=True)
class StartUnits:
    """The units Ny SIP offers, in the order the page shows them: those of the user's own county and of
    national organisations first (the common case), then each other county's, by county name.

    A SIP may involve another county's units, so they stay choosable; the page closes them away until wanted,
    so a keyboard user does not pass every unit of three counties to reach the send button.
    """

    near: tuple[UnitGroup, ...]
    elsewhere: tuple[CountyUnits, ...]

    def groups(self) -> list[UnitGroup]:
        """Every group, near ones first: the choices a post is checked against."""
        return [*self.near, *(group for county in self.elsewhere for group in county.groups)]


def units_for_new_case(
    session: Session, own_organisation_id: int | None, *, exclude_unit_ids: set[int] | frozenset[int]
) -> StartUnits:
    """The units Ny SIP offers a user of own_organisation_id (None: of no organisation): every active unit
    but exclude_unit_ids (the user's own, which takes part anyway: services.units_taking_part), the own
    organisation's other units too, the own county's first (units_by_organisation's one statement, which
    carries each organisation's county).

    A user whose organisation has no county (a national agency) or none at all has only the national
    organisations near, and every county apart.
    """
    groups, counties, _organisations = _units_by_organisation(session, exclude_unit_ids)
    return _near_first(groups, counties, own_organisation_id)


def units_for_case_page(
    session: Session, own_unit_id: int | None, *, exclude_unit_ids: set[int] | frozenset[int], locale: str
) -> tuple[UnitGroup, ...]:
    """The units the case page's picker offers a user of own_unit_id: every active unit but
    exclude_unit_ids (those taking part), in Ny SIP's order (units_for_new_case): the own county's and the
    national organisations' first, then each other county's, by county name; from the same one statement
    (the own organisation is read from its rows, an active unit's). The same for every view of a SIP until
    a unit joins or leaves it or the directory changes: kept per process under the directory's token and
    locale, the page's language (a label telling namesakes apart says "hela landet" or a kind in it)."""
    token, rows = _directory_rows(session)
    key = (token, locale, frozenset(exclude_unit_ids), own_unit_id)
    found = _CASE_PAGE_UNITS.get(key) if token is not None else None
    if found is not None:
        return found
    groups, counties, organisations = _units_by_organisation(session, exclude_unit_ids, rows)
    found = tuple(_near_first(groups, counties, organisations.get(own_unit_id)).groups())
    if token is not None:
        with _ACTIVE_UNIT_ROWS_LOCK:
            _CASE_PAGE_UNITS[key] = found
            while len(_CASE_PAGE_UNITS) > _CASE_PAGE_UNITS_KEPT:
                del _CASE_PAGE_UNITS[next(iter(_CASE_PAGE_UNITS))]
    return found


def _near_first(
    groups: list[UnitGroup], counties: dict[int, str | None], own_organisation_id: int | None
) -> StartUnits:
    """The groups of the own organisation's county and the national ones near, every other county apart."""
    own_county = counties.get(own_organisation_id) if own_organisation_id is not None else None
    near = [group for group in groups if group.county_code is None or group.county_code == own_county]
    elsewhere: dict[str, list[UnitGroup]] = {}
    for group in groups:
        if group.county_code is not None and group.county_code != own_county:
            elsewhere.setdefault(group.county_code, []).append(group)
    apart = [CountyUnits(code, got[0].county_name or code, tuple(got)) for code, got in elsewhere.items()]
    apart.sort(key=lambda county: (county.name, county.county_code))
    return StartUnits(tuple(near), tuple(apart))


def municipalities_by_county(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The municipalities, grouped by county name."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for municipality, county in session.exec(
        select(Municipality, County)
        .join(County, County.code == Municipality.county_code)
        .order_by(County.name, Municipality.name)
    ).all():
        groups.setdefault(county.name, []).append((municipality.code, municipality.name))
    return groups


def unit_with_organisation(session: Session, unit_id: int | None) -> tuple[Unit, Organisation] | None:
    """A unit and its organisation; session.get, since every page asks and the session remembers."""
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit is None:
        return None
    return unit, session.get(Organisation, unit.organisation_id)
