"""Case operations: start a SIP, fire a workflow transition, manage participants.

Each operation runs inside the caller's unit of work and either writes everything it needs or raises a
UserError (sipflow.errors) before anything is committed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, and_, bindparam, event, insert, inspect, union_all, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from sipflow.cases import deadlines, fields
from sipflow.cases.errors import (
    AdultUnconfirmed,
    CaseEnded,
    GuardFailed,
    OpenCaseExists,
    PartyNotAllowed,
    StaleCase,
    TransitionNotAllowed,
)
from sipflow.cases.models import (
    PARTICIPANT_KINDS,
    CaseVisibility,
    Deadline,
    Participant,
    SipCase,
    TransitionLog,
)
from sipflow.cases.participants import active_participants
from sipflow.clock import stored_utc, to_local
from sipflow.consent.models import CONSENT_GIVERS, GUARDIAN_GIVER, Consent
from sipflow.db import adopt_inserted, compare_and_set, insert_id_unless_taken, mark_written
from sipflow.errors import InvalidInput, NotAllowed, Refusals, UserError, refusal_of
from sipflow.i18n import DEFAULT_LOCALE, checked_language
from sipflow.people.identifiers import ADULT_AGE, age_on, is_minor
from sipflow.people.models import Municipality, Organisation, Person, Unit, User
from sipflow.people.services import ORGANISATION_COUNTY, check_particulars, organisation_county
from sipflow.security import access, audit
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.definition import (
    CREATE_EVENT,
    HUVUDANSVARIG,
    INITIATOR,
    PARTICIPANT,
    TransitionDef,
    Workflow,
)
from sipflow.workflow.engine import WorkflowRegistry, case_flow
from sipflow.workflow.registry import (
    ATTRIBUTES_ONLY_INPUTS,
    EFFECT_REPEATS,
    GUARDS,
    INPUT_CHECKS,
    INPUT_REPEATS,
    INPUTS,
    INPUTS_BEFORE_CLAIM,
)

logger = logging.getLogger(__name__)


_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference(now: datetime) -> str:
    """A case reference without personal data, safe for calendars and e-mail subjects."""
    return f"SIP-{now.year}-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


# Reference data every step asks for: the organisation of a unit, by database and unit id. A unit never
# changes organisation (no code sets Unit.organisation_id after insert); any insert, update or delete of a
# unit through the ORM empties the cache all the same, so a unit id used again (after a delete) is read anew.
_UNIT_ORGANISATION: dict[tuple[str, int], int] = {}


@event.listens_for(Unit, "after_insert")
@event.listens_for(Unit, "after_update")
@event.listens_for(Unit, "after_delete")
def _forget_unit_organisations_on_write(mapper, connection, target) -> None:
    forget_unit_organisations()


def forget_unit_organisations() -> None:
    """Empty the cache of units' organisations (for writers that bypass the ORM: bulk loads, test resets)."""
    _UNIT_ORGANISATION.clear()


def unit_organisation_id(session: Session, unit_id: int) -> int | None:
    """The organisation of a unit, None for an unknown unit (cached per process: units do not move)."""
    key = (str(session.get_bind().url), unit_id)
    organisation_id = _UNIT_ORGANISATION.get(key)
    if organisation_id is None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            return None
        organisation_id = _UNIT_ORGANISATION[key] = unit.organisation_id
    return organisation_id


def actor_organisation_id(session: Session, actor: User) -> int | None:
    """The organisation of the actor's unit (cached per process: a step needs it, units do not move)."""
    if actor is None or actor.unit_id is None:
        return None
    return unit_organisation_id(session, actor.unit_id)


# session.info keys, for the rest of the transaction: {case id: the step's active participants}, and
# {case id: names of the columns besides version, state and time that a step's claim wrote}.
STEP_PARTICIPANTS = "sipflow.cases.step_participants"
# ctx.memo key: the consents in force the step's first read found (step_consents_in_force).
STEP_CONSENTS = "sipflow.cases.step_consents"
# ctx.memo key of the organisations that see the case as the step's first read found them.
STEP_SEEING = "sipflow.cases.step_seeing"
# ctx.memo key of the organisations taking part (participants.participating_organisations), as a guard
# read them or a page handed them (refusals_before_form).
STEP_ORGANISATIONS = "sipflow.cases.step_organisations"
CLAIMED_COLUMNS = "sipflow.cases.claimed_columns"
# {case id: [(trigger, to_state)]}: the steps whose log row went in by a Core INSERT (no flush shows them).
LOGGED_STEPS = "sipflow.cases.logged_steps"
# The ids of the cases a step started deadlines of by a Core INSERT (no flush shows them).
STARTED_DEADLINES = "sipflow.cases.started_deadlines"
# {case id: the case's deadlines still open after a step settled some (rows, in the order of their ids)}:
# the settling UPDATE returned every open one; good while no deadline is written after it.
OPEN_DEADLINES = "sipflow.cases.open_deadlines"
# The ids of the cases create_case inserted in this transaction (a Core-level INSERT: no flush shows them).
STARTED_CASES = "sipflow.cases.started_cases"


# The statements every step sends, built once with bind parameters (building and caching a statement per
# call costs more Python than a small read itself).
# The step's first read: the case's active participants, each with every consent of the case in force on
# the step's day (one row per pair; a participant's rows are next to each other, None when there is none).
_ACTIVE_PARTICIPANTS = (
    select(
        Participant,
        access.consent_covers_participant(bindparam("today", type_=Date)).label(access.COVERED),
        Consent,
    )
    .outerjoin(
        Consent,
        and_(Consent.case_id == Participant.case_id, Consent.in_force(bindparam("today", type_=Date))),
    )
    .where(Participant.case_id == bindparam("case_id", type_=Integer), Participant.active)
    .order_by(Participant.id, Consent.id)
)
_VISIBILITY = CaseVisibility.__table__
# The case's columns each Mina SIP row mirrors (CaseVisibility): a claim that writes one writes it there too.
_MIRRORED = ("state", "updated_at")


def step_participants(ctx: TransitionContext) -> list[Participant]:
    """The case's active participants, read once per step and shared by authorisation, inputs and guards.

    The rows are the session's own objects, so what an input changes (a new huvudansvarig) is what a guard
    sees; no step adds or removes participants. The same statement reads the consents in force
    (step_consents_in_force).
    """
    if "participants" not in ctx.memo:
        today = to_local(ctx.now).date()
        rows = ctx.session.exec(_ACTIVE_PARTICIPANTS, params={"case_id": ctx.case.id, "today": today}).all()
        share_step_reads(ctx, step_reads(ctx.case, rows, today))
    return ctx.memo["participants"]


@dataclass(frozen=True, slots=True)
class StepReads:
    """A step's first read: the case's active participants, its consents in force on a day, by id, and the
    organisations that see the case that day (access.organisations_seeing_case).

    The participants and consents are the session's own objects. A caller that read them for its own use in
    the step's transaction (the case page's step form) hands them to fire_transition, which then does not
    read them again.
    """

    participants: list[Participant]
    consents: list[Consent]
    on: date
    seeing: frozenset[int]
    # The organisations taking part that a consent in force on the day names (seeing but the initiator's
    # own right): they see the SIP under consent.
    covered: frozenset[int]


def step_reads(case: SipCase, rows, on: date) -> StepReads:
    """StepReads from rows whose first item is an active participant, whose last is a consent in force on
    that day or None, and which carry access.COVERED; ordered by participant (its rows next to each other)."""
    participants: dict[int, Participant] = {}
    consents: dict[int, Consent] = {}
    covered = []
    for row in rows:
        participant, consent = row[0], row[-1]
        participants[participant.id] = participant
        covered.append((participant.organisation_id, getattr(row, access.COVERED)))
        if consent is not None:
            consents[consent.id] = consent
    seeing = frozenset(access.seeing_among(case, covered))
    under_consent = frozenset(organisation_id for organisation_id, is_covered in covered if is_covered)
    consents_in_force = sorted(consents.values(), key=lambda c: c.id)
    return StepReads(list(participants.values()), consents_in_force, on, seeing, under_consent)


def share_step_reads(ctx: TransitionContext, reads: StepReads) -> None:
    """Make reads the step's first read (its participants and consents in force), as if ctx had read them;
    reads of another day than the step's are left (the consents in force may differ), so the step reads."""
    if reads.on != to_local(ctx.now).date():
        return
    ctx.memo["participants"] = reads.participants
    # Who sees the case is known either way: only a participant can (none, none sees it).
    ctx.memo[STEP_SEEING] = reads.seeing
    # No service removes a participant, so a case has some; should it have none, its consents are read.
    if reads.participants:
        ctx.memo[STEP_CONSENTS] = reads.consents
    # What runs before the commit of the same transaction (the reminders' reconciliation) may use them
    # too, unless a participant is written after this (its reader checks that).
    ctx.session.info.setdefault(STEP_PARTICIPANTS, {})[ctx.case.id] = reads.participants


def step_consents_in_force(ctx: TransitionContext) -> list[Consent] | None:
    """The case's consents in force on the step's day as the step's first read found them (None: not read).

    Only steps write consents, and a step holds the case's row from its claim: these are the ones the
    claim found, before the step's own input recorded any.
    """
    step_participants(ctx)
    return ctx.memo.get(STEP_CONSENTS)


def step_seeing(ctx: TransitionContext) -> frozenset[int] | None:
    """The organisations that see the case on the step's day as its first read found them, for
    access.refuse_uncovered's seeing (None: not known, so it reads them).

    A step that records or withdraws consents forgets them (forget_step_seeing): coverage changed.
    """
    step_participants(ctx)
    return ctx.memo.get(STEP_SEEING)


def forget_step_seeing(ctx: TransitionContext) -> None:
    """The step changed the case's consents: who sees the case is read again when asked."""
    ctx.memo.pop(STEP_SEEING, None)


def party_roles(
    session: Session,
    case: SipCase,
    organisation_id: int | None,
    participants: list[Participant] | None = None,
) -> set[str]:
    """The roles the organisation holds in the case (initiator, huvudansvarig, participant).

    participants: the case's active participants when the caller holds them already (a step does).
    """
    if organisation_id is None:
        return set()
    if participants is not None:
        roles = {p.role for p in participants if p.organisation_id == organisation_id}
    else:
        roles = set(
            session.exec(
                select(Participant.role).where(
                    Participant.case_id == case.id,
                    Participant.organisation_id == organisation_id,
                    Participant.active,
                )
            ).all()
        )
    if case.initiating_organisation_id == organisation_id:
        roles.add(INITIATOR)
    return roles


def allowed_transitions(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, participants=None
) -> list[TransitionDef]:
    """The transitions the actor's party may fire from the case's current state.

    participants: the case's active participants (anything with role and organisation_id) when the caller
    holds them already (the case page does).
    """
    workflow = registry.get(case.workflow_name, case.workflow_version)
    roles = party_roles(session, case, actor_organisation_id(session, actor), participants)
    return [t for t in workflow.transitions_from(case.state) if roles & set(t.parties)]


def _new_deadlines(workflow: Workflow, case: SipCase, event: str) -> list[dict]:
    """The deadlines event starts on the case, as rows: each rule's kind and when it falls due."""
    rows = []
    for rule in deadlines.started_by(workflow, event):
        due = deadlines.due_at(rule, {rule.source_field: getattr(case, rule.source_field)})
        if due is not None:
            rows.append({"case_id": case.id, "kind": rule.kind, "due_at": due})
    return rows


def _start_deadlines(session: Session, workflow: Workflow, case: SipCase, event: str) -> None:
    for row in _new_deadlines(workflow, case, event):
        session.add(Deadline(**row))


# A step's new deadlines (Core: no object of them is needed in the step; the reminders read them).
_INSERT_DEADLINE = insert(Deadline.__table__).inline()


def _settle_statement(column: str, *, of_kinds: bool):
    """UPDATE deadline SET column = :at for the case's open deadlines (of_kinds: of the :kinds only).

    With of_kinds every open deadline is matched (the others keep their value) and returned whole: what is
    still open after the step is known without a read.
    """
    table = Deadline.__table__
    at = bindparam("at", type_=table.c[column].type)
    where = [
        table.c.case_id == bindparam("of_case_id", type_=table.c.case_id.type),
        table.c.met_at.is_(None),
        table.c.cancelled_at.is_(None),
    ]
    if of_kinds:
        value = sql_case((table.c.kind.in_(bindparam("kinds", expanding=True)), at), else_=table.c[column])
        return table.update().where(*where).values({column: value}).returning(*table.c)
    return table.update().where(*where).values({column: at}).returning(table.c.id)


# Built once (Core): the ORM's bulk UPDATE with synchronize_session="fetch" cost a millisecond of Python.
_MEET_DEADLINES = _settle_statement("met_at", of_kinds=True)
_CANCEL_DEADLINES = _settle_statement("cancelled_at", of_kinds=False)


def _set_held(session: Session, deadline_ids, column: str, at: datetime) -> None:
    """Set column on the deadlines the session holds of these ids, as synchronize_session="fetch" did."""
    for deadline_id in deadline_ids:
        held = session.identity_map.get(inspect(Deadline).identity_key_from_primary_key((deadline_id,)))
        if held is not None:
            set_committed_value(held, column, at)


def _settle_deadlines(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    trigger: str,
    now: datetime,
    done_at: datetime | None,
    log: _StepLog,
) -> None:
    """Settle the case's open deadlines as deadlines.settled says, each outcome in one UPDATE.

    RETURNING (SQLite and PostgreSQL): the rows it changed without an extra read; the met outcome's
    returns every open deadline, and those still open are left for the reminders (OPEN_DEADLINES).
    A met deadline is met when the step's act took place (done_at: a kallelse sent earlier from another
    system), else now. log: the step's log row, which the first UPDATE carries where it can.
    """
    met = deadlines.met_kinds(workflow, trigger)
    if met:
        met_at = now if done_at is None else done_at
        params = {"of_case_id": case.id, "kinds": list(met), "at": met_at}
        rows = log.execute(_MEET_DEADLINES, params).all()
        _set_held(session, (row.id for row in rows if row.kind in met), "met_at", met_at)
        still_open = sorted((row for row in rows if row.kind not in met), key=lambda row: row.id)
        session.info.setdefault(OPEN_DEADLINES, {})[case.id] = still_open
    if workflow.is_final(case.state):
        # What a met kind did not settle above is cancelled: the case ends with it open.
        ids = log.execute(_CANCEL_DEADLINES, {"of_case_id": case.id, "at": now}).scalars()
        _set_held(session, ids, "cancelled_at", now)
        session.info.setdefault(OPEN_DEADLINES, {})[case.id] = []


def open_case_ids(session: Session, registry: WorkflowRegistry, person: Person) -> list[int]:
    """The ids of the person's SIPs that have not reached a final state, oldest first."""
    if person.id is None:
        return []
    rows = session.exec(
        select(SipCase.id, SipCase.workflow_name, SipCase.workflow_version, SipCase.state)
        .where(SipCase.person_id == person.id)
        .order_by(SipCase.created_at, SipCase.id)
    ).all()
    return [row[0] for row in rows if _may_be_running(registry, *row[1:])]


def _may_be_running(registry: WorkflowRegistry, name: str, version: int, state: str) -> bool:
    """A case in state of workflow name, version has not ended, as far as the loaded files tell: a case
    whose rules are no longer loaded counts as running (for a warning: one too many, never one missed)."""
    try:
        workflow = registry.get(name, version)
    except KeyError:
        return True
    return state not in workflow.states or not workflow.is_final(state)


def open_cases_to_warn_of(
    session: Session, actor: User, person: Person, case_ids: list[int], *, now: datetime
) -> list[int]:
    """Of the person's open SIPs (case_ids, open_case_ids), those Ny SIP warns the actor of, oldest first.

    Each SIP the actor may see (security.access), and a hidden one only where the actor is: the actor's
    own organisation takes part in it (without a consent covering it yet), or an organisation taking part
    lies in the county of the actor's organisation, or a national one takes part and the person is
    folkbokförd in that county. There a parallel SIP is a real risk; elsewhere the warning would tell a
    stranger that the person has a SIP (care needs), so Ny SIP goes on as for a person without one. An
    actor of a national organisation (no county) is warned of the SIPs it sees or takes part in alone.
    """
    if not case_ids:
        return []
    visible = set(
        session.exec(
            select(SipCase.id).where(SipCase.id.in_(case_ids), access.visible_cases_clause(actor, now=now))
        ).all()
    )
    hidden = [case_id for case_id in case_ids if case_id not in visible]
    if not hidden:
        return case_ids
    own = actor_organisation_id(session, actor)
    county = organisation_county(session, own)
    home = session.get(Municipality, person.home_municipality_code) if county is not None else None
    person_county = home.county_code if home is not None else None
    rows = session.exec(
        select(Participant.case_id, Participant.organisation_id, ORGANISATION_COUNTY)
        .join(Organisation, Organisation.id == Participant.organisation_id)
        .outerjoin(Municipality, Municipality.code == Organisation.municipality_code)
        .where(Participant.case_id.in_(hidden), Participant.active)
    ).all()
    near = {
        case_id
        for case_id, organisation_id, taking_part in rows
        if organisation_id == own
        or (county is not None and taking_part == county)
        or (county is not None and taking_part is None and person_county == county)
    }
    return [case_id for case_id in case_ids if case_id in visible or case_id in near]


def open_case_ids_warned_of(
    session: Session, registry: WorkflowRegistry, actor: User, person: Person, *, now: datetime
) -> list[int]:
    """The person's open SIPs create_case warns the actor of now (what a confirmation is given for)."""
    open_ids = open_case_ids(session, registry, person)
    return open_cases_to_warn_of(session, actor, person, open_ids, now=now)


def disclose_open_cases(
    session: Session, actor: User, person_id: int, case_ids: list[int], *, now: datetime
) -> list[SipCase]:
    """Of the person's open SIPs (case_ids), those the actor may see, oldest first.

    Telling the actor the person has an open SIP at all (even one hidden from them) discloses a fact of the
    person's care: it is a look-up of the person, logged in the caller's transaction as its last write.
    """
    visible = session.exec(
        select(SipCase)
        .where(SipCase.id.in_(case_ids), access.visible_cases_clause(actor, now=now))
        .order_by(SipCase.created_at, SipCase.id)
    ).all()
    person = session.get(Person, person_id)
    audit.record_access(
        session, user=actor, action=audit.PERSON_LOOKUP, purpose=audit.PURPOSE_CARE, person=person, now=now
    )
    return list(visible)


# What the start form says about each case date a workflow may require (start_dates in its file).
UNKNOWN_KIND = _l("Unknown kind of SIP.")
_START_DATE_MESSAGES = {
    "utskrivningsklar_at": (
        _l("Enter when the patient was reported ready for discharge."),
        _l("The discharge notice cannot lie in the future."),
        _l("The discharge notice cannot be more than a year old: check the date."),
        _l("The discharge notice cannot lie before the person was born."),
    ),
}
# What the start form says of a case date typed for a kind of SIP whose file does not ask for it (its
# start_dates): refused rather than dropped, since Ny SIP's kind left as it was would lose the deadline the
# date starts (a discharge's three-day kallelse).
_UNASKED_START_DATE_MESSAGES = {
    "utskrivningsklar_at": _l(
        "The time the patient was reported ready for discharge does not apply to the kind of SIP you chose: "
        "choose a kind named under the field, or clear the field."
    ),
}
# How far back a start date may lie: a SIP started for an older event is a typing error (its deadlines
# would all be long missed, and every list would show it as late).
START_DATE_MAX_AGE = timedelta(days=365)


def create_case(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    *,
    workflow_name: str,
    person: Person,
    unit_ids: list[int],
    now: datetime,
    utskrivningsklar_at: datetime | None = None,
    reference: str | None = None,
    another_open_confirmed: bool = True,
) -> SipCase:
    """Start a SIP in the actor's organisation, with the other units taking part.

    With another_open_confirmed False, a person who already has an open SIP the actor is to be warned of
    (open_cases_to_warn_of) is refused with OpenCaseExists (naming those SIPs), so the page can warn and ask;
    open SIPs not warned of are a look-up of the person all the same (person.lookup, logged with the start).
    Scripts and tests start what they are told to.
    """
    if workflow_name not in registry.names():
        raise InvalidInput(UNKNOWN_KIND, field="workflow_name")
    workflow = registry.latest(workflow_name)
    organisation_id = actor_organisation_id(session, actor)
    if organisation_id is None:
        raise PartyNotAllowed(_l("Only staff of a unit can start a SIP."))
    # Only the dates the workflow asks for (its start_dates) are kept, and each of them is required.
    dates = {"utskrivningsklar_at": utskrivningsklar_at}
    _check_start_dates(workflow, dates, person.birth_date, now=now)
    kept = {name: dates[name] if name in workflow.start_dates else None for name in dates}
    # The person's open SIPs were looked up for the actor, even those Ny SIP does not warn of: logged.
    looked_up = False
    if not another_open_confirmed:
        open_ids = open_case_ids(session, registry, person)
        warned = open_cases_to_warn_of(session, actor, person, open_ids, now=now)
        if warned:
            raise OpenCaseExists(_l("The person already has an open SIP."), case_ids=warned)
        looked_up = bool(open_ids)
    case = _insert_case(
        session,
        SipCase(
            reference=reference or new_reference(now),
            workflow_name=workflow.name,
            workflow_version=workflow.version,
            state=workflow.initial,
            occasion=workflow.occasion,
            person_id=person.id,
            initiating_organisation_id=organisation_id,
            created_by_user_id=actor.id,
            requested_at=now,
            utskrivningsklar_at=kept["utskrivningsklar_at"],
            municipality_code=person.home_municipality_code,
            created_at=now,
            updated_at=now,
        ),
        draw_again=None if reference else (lambda: new_reference(now)),
    )
    # The rows of the start are flushed together at the end (one INSERT per table), not by each lookup.
    with session.no_autoflush:
        _add_start_rows(session, workflow, case, actor, organisation_id, unit_ids, now=now)
    session.flush()
    # Who started the SIP (and so registered a new person) is the person's to know: the loggutdrag shows
    # it. The append is the start's last write, as record_access asks (after the look-up's, when made).
    if looked_up:
        audit.record_access(
            session,
            user=actor,
            action=audit.PERSON_LOOKUP,
            purpose=audit.PURPOSE_CARE,
            person=person,
            organisation_id=organisation_id,
            now=now,
        )
    audit.record_access(
        session,
        user=actor,
        action=audit.CASE_CREATE,
        purpose=audit.PURPOSE_CARE,
        case=case,
        person=person,
        organisation_id=organisation_id,
        now=now,
    )
    # Case reference and ids only: the log never learns who the person is.
    logger.info(
        "case %s started (%s v%d) by user %s", case.reference, workflow.name, workflow.version, actor.id
    )
    return case


def _check_start_dates(workflow: Workflow, dates: dict, birth_date: date | None, *, now: datetime) -> None:
    """Refuse each date the workflow asks for at the start (its start_dates) that is missing, in the future,
    before the person's birth (birth_date, when known) or too old, and each date given that it does not ask
    for (typed for another kind of SIP: never silently dropped); every date's refusal at once."""
    refusals = Refusals()
    for name in workflow.start_dates:
        refusals.take(check_start_date, name, dates.get(name), birth_date, now=now)
    for name, value in dates.items():
        if value is not None and name not in workflow.start_dates:
            refusals.refuse(_UNASKED_START_DATE_MESSAGES[name], name)
    refusals.raise_any()


def check_start_date(name: str, value: datetime | None, birth_date: date | None, *, now: datetime) -> None:
    """Refuse a start date (one of START_DATES) that is missing, in the future, before the person's birth
    (birth_date, when known) or more than START_DATE_MAX_AGE old: the bounds of Ny SIP and of a correction."""
    missing, future, too_old, before_birth = _START_DATE_MESSAGES[name]
    if value is None:
        raise InvalidInput(missing, field=name)
    if value > now:
        raise InvalidInput(future, field=name)
    if birth_date is not None and to_local(value).date() < birth_date:
        raise InvalidInput(before_birth, field=name)
    if value < now - START_DATE_MAX_AGE:
        raise InvalidInput(too_old, field=name)


def start_refusal(
    session: Session,
    registry: WorkflowRegistry,
    *,
    workflow_name: str | None,
    given_name: str | None,
    family_name: str | None,
    home_municipality_code: str | None,
    utskrivningsklar_at: datetime | None,
    birth_date: date | None,
    now: datetime,
    adult_confirmed: bool = True,
) -> InvalidInput | None:
    """What starting a SIP refuses in what was typed (InvalidInputs: several), or None; writes nothing.

    Ny SIP asks it before it registers the person and starts the SIP, with the fields its own form checks
    let through (None: refused there, or not known: birth_date of an identifier that did not parse), so
    every field is refused in one send: the person's particulars (people.services.check_particulars),
    the workflow's start dates (create_case's rule), each at its field, and, unless adult_confirmed, a
    child's SIP for an adult (refuse_unconfirmed_adult).
    """

    def check() -> None:
        refusals = Refusals()
        refusals.take(check_particulars, session, given_name, family_name, home_municipality_code)
        if workflow_name is not None:
            if workflow_name not in registry.names():
                refusals.refuse(UNKNOWN_KIND, "workflow_name")
            else:
                workflow = registry.latest(workflow_name)
                dates = {"utskrivningsklar_at": utskrivningsklar_at}
                refusals.take(_check_start_dates, workflow, dates, birth_date, now=now)
                if not adult_confirmed:
                    refusals.take(refuse_unconfirmed_adult, workflow, birth_date, today=to_local(now).date())
        refusals.raise_any()

    return refusal_of(check)


def refuse_unconfirmed_adult(workflow: Workflow, birth_date: date | None, *, today: date) -> None:
    """Refuse, at the kind of SIP, a child's SIP (the workflow's childs_view) for a person of ADULT_AGE or
    older on today by birth_date (unknown: nothing to say), for the user to confirm or choose another kind:
    its guardians' consent and the child's own view would be asked of an adult."""
    if not workflow.childs_view or birth_date is None:
        return
    age = age_on(birth_date, today)
    if age >= ADULT_AGE:
        raise AdultUnconfirmed(
            _l(
                "The person is %(age)s years old, an adult, but this kind of SIP is for children. Choose "
                "another kind, or tick the box below to start it anyway.",
                age=age,
            ),
            field="workflow_name",
        )


def of_age(person: Person | None, today: date) -> bool:
    """Whether person is 18 or older on today (a birth date unknown: not taken to be of age). From then a
    child's SIP asks no more for what a child gives (the guardians' consent, the child's own view): the
    person speaks for themselves."""
    return person is not None and person.birth_date is not None and not is_minor(person.birth_date, today)


def asks_childs_view(workflow: Workflow | None, person: Person | None, today: date) -> bool:
    """Whether a SIP asks for the child's own view on today: its workflow is a child's (childs_view) and the
    person is not of age then (of_age). The preparation form's field; the guard child_view_recorded, named by
    a child's workflow only, asks of_age alike: a young adult's voice is their own goals ("Vad är viktigt
    för dig?")."""
    return workflow is not None and workflow.childs_view and not of_age(person, today)


def guardians_consent(workflow: Workflow | None, person: Person | None, today: date) -> bool:
    """Whether the guardians give or decline a SIP's consent on today: its workflow is a child's (childs_view)
    and the person is under 18 then. Custody ends at 18 (föräldrabalken 6 kap. 2 §): from that day the
    person consents themselves, also on a child's SIP begun while they were a child (or started for them as
    an adult). A person whose birth date is unknown is the child the workflow is for. The one rule of who
    consents (the consent forms' `child`) and of the guard guardians_consented."""
    if workflow is None or not workflow.childs_view:
        return False
    if person is None or person.birth_date is None:
        return True
    return is_minor(person.birth_date, today)


def consent_givers(*, child: bool, adult: bool) -> tuple[str, ...]:
    """Who may give or decline a SIP's consent, the one rule (consent.services refuses any other giver with
    its reason; the consent forms offer only these): for a child (guardians_consent), a guardian; for a
    person of age (of_age), anyone but a guardian, custody having ended; otherwise anyone."""
    if child:
        return (GUARDIAN_GIVER,)
    if adult:
        return tuple(giver for giver in CONSENT_GIVERS if giver != GUARDIAN_GIVER)
    return CONSENT_GIVERS


# Draws of a new reference before giving up: with 32**6 references a year, a second collision in a row is
# about as likely as one in a billion starts.
_REFERENCE_DRAWS = 5


def _insert_case(session: Session, case: SipCase, *, draw_again: Callable[[], str] | None) -> SipCase:
    """INSERT the case and return it as the session's object; a reference taken already is drawn again.

    References are random (no personal data, no count of cases): two starts of a year can draw the same
    one, and the unique key would turn the second into a server error with its form lost. ON CONFLICT DO
    NOTHING on the reference costs nothing when it is free. draw_again: None for a reference the caller
    chose (the demo's), which must be free.
    """
    values = {column.key: getattr(case, column.key) for column in _CASE_COLUMNS}
    statement = insert_id_unless_taken(session, _CASES, _CASES.c.reference)
    for _ in range(_REFERENCE_DRAWS if draw_again else 1):
        case_id = session.connection().execute(statement, values).scalar()
        if case_id is not None:
            case.reference = values["reference"]
            # The object holds every column it was built with: it joins the session as the row it wrote.
            adopt_inserted(session, case, case_id)
            # The reminders' reconciliation learns of a new case from its flush; this INSERT had none.
            session.info.setdefault(STARTED_CASES, set()).add(case_id)
            return case
        if draw_again:
            values["reference"] = draw_again()
    raise RuntimeError("no free case reference")


_CASES = SipCase.__table__
_CASE_COLUMNS = [column for column in _CASES.columns if column.key != "id"]


def _add_start_rows(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    actor: User,
    organisation_id: int,
    unit_ids: list[int],
    *,
    now: datetime,
) -> None:
    """A new case's participants, Mina SIP candidates, first log row and deadlines."""
    participants = [
        Participant(
            case_id=case.id,
            kind="organisation",
            role=INITIATOR,
            organisation_id=organisation_id,
            unit_id=actor.unit_id,
            contact_user_id=actor.id,
            added_at=now,
        ),
        Participant(case_id=case.id, kind="person", added_at=now),
    ]
    # One row per unit (a new case has none yet): socialtjänst and boendestöd both take part, and so may
    # another unit of the initiator's own organisation (BUP beside the vårdcentral); the initiator's unit
    # is in already (units_taking_part).
    taking_part = units_taking_part(initiator_unit_id=actor.unit_id)
    joining = [u for u in dict.fromkeys(unit_ids) if u not in taking_part]
    postgresql = session.get_bind().dialect.name == "postgresql"
    if not postgresql:
        _refuse_deactivated_units(session, joining, initiator_unit_id=actor.unit_id)
    for unit_id in joining:
        unit_organisation = unit_organisation_id(session, unit_id)
        if unit_organisation is None:
            if postgresql:
                # A deactivated unit is refused before an unknown one, as when the check comes first.
                _refuse_deactivated_units(session, joining, initiator_unit_id=actor.unit_id)
            raise InvalidInput(_l("Unknown unit."), field="unit_ids")
        participants.append(
            Participant(
                case_id=case.id,
                kind="organisation",
                # Another unit of the initiator's own organisation is initiator too (no huvudansvar yet).
                role=role_of_unit(case, (), unit_organisation),
                organisation_id=unit_organisation,
                unit_id=unit_id,
                added_at=now,
            )
        )
    # Core INSERTs, one per table: nothing in this step needs the rows' ids or objects (the ORM would send
    # one statement per participant on SQLite, to read each id back).
    rows = {
        _PARTICIPANTS: [{c.name: getattr(p, c.name) for c in _PARTICIPANT_COLUMNS} for p in participants],
        # Mina SIP's candidates: the initiator and every organisation taking part (security.access decides).
        _VISIBILITY: [
            {
                "organisation_id": org_id,
                "case_id": case.id,
                "updated_at": now,
                "state": case.state,
                "occasion": case.occasion,
            }
            for org_id in sorted({p.organisation_id for p in participants if p.organisation_id is not None})
        ],
        _TRANSITION_LOG: [
            {
                "case_id": case.id,
                "at": now,
                "user_id": actor.id,
                "organisation_id": organisation_id,
                "trigger": CREATE_EVENT,
                "from_state": None,
                "to_state": case.state,
                "reason": None,
                "details": {},
            }
        ],
    }
    if postgresql:
        # One round trip for the three INSERTs and the check of the units (a data-modifying WITH).
        _insert_start_rows_at_once(session, rows, [*joining, actor.unit_id], initiator_unit_id=actor.unit_id)
    else:
        for table, table_rows in rows.items():
            session.connection().execute(table.insert(), table_rows)
    # The log row went in by Core: the reminders learn of the step as from a TransitionLog's flush.
    session.info.setdefault(LOGGED_STEPS, {}).setdefault(case.id, []).append((CREATE_EVENT, case.state))
    # They are the case's active participants, as a step reads them (in the order of their ids): the
    # reminders' reconciliation before the commit takes them instead of reading them back.
    session.info.setdefault(STEP_PARTICIPANTS, {})[case.id] = participants
    _start_deadlines(session, workflow, case, CREATE_EVENT)


_PARTICIPANTS = Participant.__table__
_PARTICIPANT_COLUMNS = [column for column in _PARTICIPANTS.columns if column.key != "id"]
_TRANSITION_LOG = TransitionLog.__table__
# The start's INSERTs and its check of the units on PostgreSQL, per number of rows of each table: built once.
_START_STATEMENTS: dict[tuple[int, ...], object] = {}


def _start_statement(counts: tuple[int, ...]):
    """SELECT the deactivated units among :start_units, WITH the start's rows inserted (counts: per table).

    One round trip for four on PostgreSQL: a data-modifying WITH. Its INSERTs run whatever the SELECT finds;
    a unit it finds refuses the start, which rolls them back with the case.
    """
    statement = _START_STATEMENTS.get(counts)
    if statement is None:
        units = Unit.__table__
        statement = select(units.c.id).where(
            units.c.id.in_(bindparam("start_units", expanding=True)), units.c.active.is_(False)
        )
        for table, count in zip((_PARTICIPANTS, _VISIBILITY, _TRANSITION_LOG), counts, strict=True):
            columns = [column for column in table.columns if column.key != "id"]
            # INSERT ... SELECT row UNION ALL SELECT row, not a multi-row VALUES: SQLAlchemy compiles a
            # multi-row VALUES afresh at every execution (it has no cache key), a millisecond of Python.
            rows = [
                select(*(bindparam(f"{table.name}_{i}_{c.key}", type_=c.type) for c in columns))
                for i in range(count)
            ]
            rows_select = rows[0] if count == 1 else union_all(*rows)
            inserted = table.insert().from_select([c.key for c in columns], rows_select)
            statement = statement.add_cte(inserted.cte(f"start_{table.name}"))
        _START_STATEMENTS[counts] = statement
    return statement


def _insert_start_rows_at_once(
    session: Session, rows: dict, unit_ids: list[int], *, initiator_unit_id: int | None
) -> None:
    """Insert the start's rows (by table) and refuse a deactivated unit among unit_ids, in one statement."""
    params: dict = {"start_units": unit_ids}
    for table, table_rows in rows.items():
        for i, row in enumerate(table_rows):
            params.update((f"{table.name}_{i}_{key}", value) for key, value in row.items())
    statement = _start_statement(tuple(len(table_rows) for table_rows in rows.values()))
    inactive = set(session.connection().execute(statement, params).scalars())
    _refuse_inactive(inactive, initiator_unit_id)


def check_participants_open(registry: WorkflowRegistry, case: SipCase) -> None:
    """Refuse with CaseEnded when the case is in a final state of its workflow: no one is added any more."""
    if registry.has_ended(case):
        raise CaseEnded(_l("The SIP has ended: no one can be added to it."))


def _change_participants(
    session: Session, registry: WorkflowRegistry, case: SipCase, expected_version: int | None
) -> None:
    """Refuse an ended SIP, then claim the case version as a step does (None: the version as loaded)."""
    check_participants_open(registry, case)
    expected = case.version if expected_version is None else expected_version
    check_version(case, expected)
    _claim_version(session, case, expected)


def add_unit_participant(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    unit_id: int,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> Participant:
    """Let a unit (and so its organisation) take part in the case; a unit already taking part is kept.

    Any active unit not taking part may join (units_taking_part): another unit of an organisation already
    on the SIP too, each with its own contact person, reminders and KVÅ codes, and a unit taken off the SIP
    comes back as a new row (the removed one stays, with its reason, in the SIP's history). The version is
    claimed first, as for every change of participants: a second add from the same version is a conflict
    (the case page answers a double click as done, cases.views._unit_already_taking_part).
    """
    _change_participants(session, registry, case, expected_version)
    participant = _add_unit(session, case, unit_id, now=now)
    # The organisation becomes a candidate for Mina SIP (once, however many of its units take part).
    if session.get(CaseVisibility, (participant.organisation_id, case.id)) is None:
        session.add(
            CaseVisibility(
                organisation_id=participant.organisation_id,
                case_id=case.id,
                updated_at=case.updated_at,
                state=case.state,
                occasion=case.occasion,
            )
        )
    return participant


def units_taking_part(participants: Iterable = (), *, initiator_unit_id: int | None = None) -> frozenset[int]:
    """The units taking part in a SIP: the one rule of which units may be added to it is every active unit
    but these (the pickers offer those, the adds keep a unit already in).

    participants: the SIP's active participants (anything with unit_id: the rows, or the page's views);
    initiator_unit_id: the unit of the one starting a SIP (Ny SIP), which takes part from the start. A unit
    is left out, never its organisation: another unit of an organisation taking part joins in its own
    right (BUP beside the vårdcentral, boendestöd beside socialtjänsten), and a removed unit may come back.
    """
    units = {p.unit_id for p in participants if p.unit_id is not None}
    if initiator_unit_id is not None:
        units.add(initiator_unit_id)
    return frozenset(units)


def _taking_part(active: list[Participant], unit_id: int) -> Participant | None:
    """The unit's row among the case's active rows, or None (units_taking_part over them)."""
    if unit_id not in units_taking_part(active):
        return None
    return next(p for p in active if p.unit_id == unit_id)


def role_of_unit(case: SipCase, active: Iterable, organisation_id: int | None) -> str:
    """The role a unit's row carries: the one rule of the start, a unit joining and a hand-over.

    Both roles that lead a SIP are the organisation's, so each of its units carries them: huvudansvar while
    the organisation holds it (holds_huvudansvar over active, the case's active participants), else the
    initiator role for every unit of the organisation that started the SIP (its boendestöd as much as its
    socialtjänst, before and after it hands huvudansvar on); any other unit takes part.
    """
    if holds_huvudansvar(active, organisation_id):
        return HUVUDANSVARIG
    return INITIATOR if organisation_id == case.initiating_organisation_id else PARTICIPANT


def holds_huvudansvar(active: Iterable, organisation_id: int | None) -> bool:
    """The organisation holds huvudansvar on the SIP: one of its units taking part carries the role.

    active: the case's active participants (anything with role and organisation_id). Huvudansvar is the
    organisation's, stored on each of its rows: every unit it has on the SIP carries the role (a unit added
    later gets it, _add_unit; a unit removed leaves it with the others, remove_participant), so any row says
    it, and a row that does not (written before that rule) does not take it away.
    """
    return organisation_id is not None and any(
        p.organisation_id == organisation_id and p.role == HUVUDANSVARIG for p in active
    )


def huvudansvar_without_active_unit(
    session: Session, registry: WorkflowRegistry, *, unit_ids: Iterable[int]
) -> list[str]:
    """The references (in order) of the SIPs still running on which one of unit_ids carries huvudansvar
    and no active unit of the organisation holding it is left on the SIP: once those units are deactivated
    (a unit closing, its organisation too), nobody there can act for the party with overall
    responsibility, and the SIP stays unnoticed in a closed unit's hands unless another unit of the
    organisation joins it (it then carries huvudansvar, holds_huvudansvar) or huvudansvar is handed over.
    The units asked about count as closed, so it is asked after the deactivation or before it: an import's
    dry run names the SIPs its file would leave so, as the import does."""
    asked = list(unit_ids)
    if not asked:
        return []
    other = Participant.__table__.alias("other")
    others_unit = Unit.__table__.alias("others_unit")
    still_active = (
        select(other.c.id)
        .join(others_unit, others_unit.c.id == other.c.unit_id)
        .where(
            other.c.case_id == Participant.case_id,
            other.c.removed_at.is_(None),
            other.c.role == HUVUDANSVARIG,
            others_unit.c.active,
            others_unit.c.id.not_in(asked),
        )
        .exists()
    )
    rows = session.exec(
        select(SipCase.reference, SipCase.workflow_name, SipCase.workflow_version, SipCase.state)
        .join(Participant, Participant.case_id == SipCase.id)
        .where(
            Participant.unit_id.in_(asked),
            Participant.active,
            Participant.role == HUVUDANSVARIG,
            ~still_active,
        )
        .distinct()
        .order_by(SipCase.reference)
    ).all()
    return [row[0] for row in rows if _may_be_running(registry, *row[1:])]


def check_may_start_cases(session: Session, actor: User) -> None:
    """Refuse (InvalidInput) a user whose unit is deactivated: the Ny SIP page says so when it opens, before
    anything is typed, by the rule create_case applies."""
    _refuse_deactivated_units(session, [], initiator_unit_id=actor.unit_id)


def _refuse_deactivated_units(
    session: Session, unit_ids: list[int], initiator_unit_id: int | None = None
) -> None:
    """A deactivated unit stays on the SIPs it took part in, but joins no more: neither as a participant
    (unit_ids) nor as the initiator, the unit of the one who starts a SIP (initiator_unit_id).

    Asked of the database, not the per-process cache: another worker may have deactivated it. Deactivating
    an organisation deactivates its units, so the unit's flag is the one to ask.
    """
    asked = [*unit_ids, *([initiator_unit_id] if initiator_unit_id is not None else [])]
    if not asked:
        return
    inactive = set(session.exec(select(Unit.id).where(Unit.id.in_(asked), Unit.active.is_(False))).all())
    _refuse_inactive(inactive, initiator_unit_id)


def _refuse_inactive(inactive: set[int], initiator_unit_id: int | None) -> None:
    """Refuse the start or the join when a unit asked about was found deactivated (inactive: their ids)."""
    if initiator_unit_id in inactive:
        raise InvalidInput(_l("Your unit is deactivated: it starts no new SIP. Ask an administrator."))
    if inactive:
        raise InvalidInput(_l("The unit is deactivated and cannot take part in a SIP."), field="unit_ids")


def _add_unit(session: Session, case: SipCase, unit_id: int, *, now: datetime) -> Participant:
    organisation_id = unit_organisation_id(session, unit_id)
    if organisation_id is None:
        raise InvalidInput(_l("Unknown unit."), field="unit_ids")
    _refuse_deactivated_units(session, [unit_id])
    # One row per unit: socialtjänst and boendestöd of one municipality both take part in their own right.
    active = active_participants(session, case.id)
    existing = _taking_part(active, unit_id)
    if existing is not None:
        return existing
    # Huvudansvar and the initiator role are the organisation's: a unit joining (or coming back to) the one
    # holding either carries it too.
    participant = Participant(
        case_id=case.id,
        kind="organisation",
        role=role_of_unit(case, active, organisation_id),
        organisation_id=organisation_id,
        unit_id=unit_id,
        added_at=now,
    )
    session.add(participant)
    return participant


def add_private_participant(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    *,
    kind: str,
    name: str,
    relation: str | None,
    email: str | None,
    phone: str | None,
    now: datetime,
    expected_version: int | None = None,
    language: str = DEFAULT_LOCALE,
    added_by: User | None = None,
) -> Participant:
    """Add a närstående or a guardian to the case; language: what their invitations are written in;
    added_by: the user adding them (None: sipflow, an import)."""
    _change_participants(session, registry, case, expected_version)
    if kind not in PARTICIPANT_KINDS or kind in ("organisation", "person"):
        raise InvalidInput(_l("Choose relative, guardian or legal representative."), field="kind")
    name = fields.line_text(name, "name")
    if not name:
        raise InvalidInput(_l("Enter a name."), field="name")
    language = checked_language(language)
    participant = Participant(
        case_id=case.id,
        kind=kind,
        name=name,
        relation=fields.line_text(relation, "relation"),
        email=fields.line_text(email, "email"),
        phone=fields.line_text(phone, "phone"),
        added_at=now,
        added_by_user_id=added_by.id if added_by is not None else None,
        language=language,
    )
    refuse_duplicate_private_participant(session, case, participant)
    session.add(participant)
    return participant


ALREADY_TAKING_PART = {
    "narstaende": _l("This relative already takes part in the SIP: same name and relation."),
    "guardian": _l("This guardian already takes part in the SIP: same name and relation."),
    "representative": _l("This legal representative already takes part in the SIP: same name and relation."),
}
SAME_ADDRESS_AND_NAME = _l("Someone with this name and e-mail address already takes part in the SIP.")
SAME_PHONE_AND_NAME = _l("Someone with this name and phone number already takes part in the SIP.")
THE_PERSON_THEMSELVES = _l(
    "The person themselves already takes part in the SIP. If a relative has the same name as the person,"
    " write the name so that the two can be told apart (for example with Sr. or Jr.)."
)


def _same_words(value: str | None) -> str:
    """value compared as a person reads it: case, runs of spaces and how a letter is encoded do not count."""
    return fields.normalised(" ".join((value or "").split()).casefold())


def _same_number(value: str | None) -> str:
    """A phone number as dialled: its digits only, the Swedish country code read as the leading 0."""
    typed = (value or "").strip()
    digits = "".join(character for character in typed if character.isdecimal() and character.isascii())
    if typed.startswith("+46"):
        return "0" + digits[2:]
    if digits.startswith("0046"):
        return "0" + digits[4:]
    return digits


def refuse_duplicate_private_participant(session: Session, case: SipCase, new: Participant) -> None:
    """Refuse new when it is the person themselves or someone already taking part in the SIP as the same
    kind of participant.

    The person themselves: new's name is the person's registered given and family name. The same: an active
    participant of new's kind with the same name and either the same relation (no relation matching no
    relation), the same e-mail address or the same phone number; names, relations and addresses compared
    without case or spacing, phone numbers by their digits. Different names at one address are family
    members sharing it (guardians, siblings), whom meetings and plan links tell apart; a removed participant
    may be added again.
    """
    name, relation = _same_words(new.name), _same_words(new.relation)
    address, number = _same_words(new.email), _same_number(new.phone)
    person = session.get(Person, case.person_id)
    if person is not None and _same_words(f"{person.given_name} {person.family_name}") == name:
        raise InvalidInput(THE_PERSON_THEMSELVES, field="name")
    for other in session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.kind == new.kind, Participant.active
        )
    ).all():
        if _same_words(other.name) != name:
            continue
        if _same_words(other.relation) == relation:
            raise InvalidInput(ALREADY_TAKING_PART[new.kind], field="name")
        if address and _same_words(other.email) == address:
            raise InvalidInput(SAME_ADDRESS_AND_NAME, field="email")
        if number and _same_number(other.phone) == number:
            raise InvalidInput(SAME_PHONE_AND_NAME, field="phone")


@dataclass(frozen=True, slots=True)
class ContactChange:
    """What saving a participant's contact details changed: "set" (a new value), "removed" or None (kept)."""

    participant: Participant
    email: str | None = None
    phone: str | None = None
    language: bool = False

    @property
    def changed(self) -> bool:
        """Anything stored changed."""
        return bool(self.email or self.phone or self.language)


def _contact_value(
    current: str | None, typed: str | None, remove: bool, field: str
) -> tuple[str | None, str | None]:
    """The value to store and what happened to it ("set", "removed" or None): typed, or the removal asked."""
    if typed is not None and remove:
        raise InvalidInput(_l("Enter a new value or remove the stored one, not both."), field=field)
    if remove:
        return None, ("removed" if current is not None else None)
    if typed is None or typed == current:
        return current, None  # left empty: the stored value is kept (the form does not show it)
    return typed, "set"


def set_participant_contact(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    participant_id: int,
    *,
    email: str | None,
    phone: str | None,
    now: datetime,
    expected_version: int | None = None,
    language: str | None = None,
    remove_email: bool = False,
    remove_phone: bool = False,
) -> ContactChange:
    """Set the address, phone and language a participant is invited and reached at; what changed.

    An empty (None) address, phone or language keeps the stored one: removing an address or a phone is asked
    for explicitly (remove_email, remove_phone), as it revokes the participant's personal links and takes them
    off e-mail invitations. A changed or removed address is told to the other areas' hooks (meetings moves
    the participant's invitations to meetings ahead to it).
    """
    _change_participants(session, registry, case, expected_version)
    participant = session.get(Participant, participant_id)
    if participant is None or participant.case_id != case.id or not participant.active:
        raise InvalidInput(_l("Choose among the participants of the SIP."), field="participant_id")
    email = fields.line_text(email, "email")
    if email is not None and (len(email) > 254 or email.count("@") != 1 or any(c.isspace() for c in email)):
        raise InvalidInput(_l("Enter an e-mail address."), field="email")
    new_email, email_change = _contact_value(participant.email, email, remove_email, "email")
    new_phone, phone_change = _contact_value(
        participant.phone, fields.line_text(phone, "phone"), remove_phone, "phone"
    )
    language_changed = False
    if language is not None:
        language = checked_language(language)
        language_changed = participant.language != language
        participant.language = language
    participant.email = new_email
    participant.phone = new_phone
    session.add(participant)
    if email_change is not None:
        for hook in _ADDRESS_HOOKS:
            hook(session, case, participant, now=now)
    return ContactChange(participant, email=email_change, phone=phone_change, language=language_changed)


@dataclass(frozen=True, slots=True)
class ContactPersonChange:
    """What naming a unit's contact person did: the participant, and whether its contact person changed."""

    participant: Participant
    changed: bool


def contact_person_candidates(session: Session, unit_id: int | None) -> list[tuple[int, str]]:
    """Who may be a unit's contact person on a SIP: the unit's active staff, as (id, name), by name."""
    if unit_id is None:
        return []
    return [
        (user_id, name)
        for user_id, name in session.exec(
            select(User.id, User.display_name)
            .where(User.unit_id == unit_id, User.active)
            .order_by(User.display_name, User.id)
        ).all()
    ]


def contact_person_refusal(
    registry: WorkflowRegistry, case: SipCase, actor_organisation_id: int | None, participant
) -> UserError | None:
    """Why a user of actor_organisation_id cannot name the participant's contact person now, or None.

    participant: the row or the page's view (kind, organisation_id, unit_id; None: not on the SIP). Only a
    unit taking part in an open SIP has one, named by the staff of its own organisation.
    """
    if registry.has_ended(case):
        return CaseEnded(_l("The SIP has ended: its contact persons stay as they are."))
    if participant is None or getattr(participant, "removed_at", None) is not None:
        return InvalidInput(_l("The unit no longer takes part in the SIP."))
    if participant.kind != "organisation" or participant.unit_id is None:
        return InvalidInput(_l("Only a unit taking part in the SIP has a contact person."))
    if actor_organisation_id is None or participant.organisation_id != actor_organisation_id:
        return NotAllowed(_l("Only staff of the unit's own organisation may name its contact person."))
    return None


def set_contact_person(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    participant_id: int,
    contact_user_id: int | None,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> ContactPersonChange:
    """Name (or with None, clear) the contact person of a unit taking part in the SIP.

    The one rule: the staff of the unit's organisation name one of the unit's active staff members
    (contact_person_refusal, contact_person_candidates); a page read at another version of the case is a
    conflict, as for every change of participants. A unit without an address of its own is invited at its
    contact person's: the areas told of a changed address follow (meetings moves the invitations to meetings
    not yet begun). Reminders follow through their reconciliation of the participant row written.
    """
    _change_participants(session, registry, case, expected_version)
    participant = session.get(Participant, participant_id)
    if participant is not None and participant.case_id != case.id:
        participant = None
    refusal = contact_person_refusal(registry, case, actor_organisation_id(session, actor), participant)
    if refusal is not None:
        raise refusal
    if contact_user_id is not None:
        user = session.get(User, contact_user_id)
        if user is None or not user.active or user.unit_id != participant.unit_id:
            raise InvalidInput(
                _l("Choose an active staff member of the unit, or no contact person."),
                field="contact_user_id",
            )
    if participant.contact_user_id == contact_user_id:
        return ContactPersonChange(participant, changed=False)
    _name_contact(session, case, participant, contact_user_id, by_user_id=actor.id, now=now)
    return ContactPersonChange(participant, changed=True)


def _name_contact(
    session: Session,
    case: SipCase,
    participant: Participant,
    contact_user_id: int | None,
    *,
    by_user_id: int | None,
    now: datetime,
) -> None:
    """Write the unit's new contact person (None: none) and tell the areas whose mail follows its address."""
    participant.contact_user_id = contact_user_id
    participant.contact_named_by_user_id = by_user_id
    participant.contact_named_at = now
    session.add(participant)
    # Ids only: the log names no one.
    logger.info(
        "case %s: participant %s has a new contact person (user %s)",
        case.reference,
        participant.id,
        contact_user_id,
    )
    if not participant.email:
        # Its invitations went to the contact person's address: that address changed.
        for hook in _ADDRESS_HOOKS:
            hook(session, case, participant, now=now)


def release_contact_person(
    session: Session,
    registry: WorkflowRegistry,
    *,
    user_id: int,
    unit_id: int,
    by_user_id: int | None,
    now: datetime,
) -> int:
    """A staff member who left unit_id (an administrator moved them to another unit) is no longer its
    contact person: on each SIP still running that names them for that unit, the unit has none from now, as
    if cleared on the case page (a contact person is one of the unit's active staff, set_contact_person),
    so its staff see it and name another. Invitations and reminders follow as they do there; each case's
    version is claimed, so a form read before the change is told of it. Ended SIPs keep who it was, as
    their history. The number of SIPs changed."""
    named = session.exec(
        select(Participant.id, Participant.case_id)
        .where(Participant.contact_user_id == user_id, Participant.unit_id == unit_id, Participant.active)
        .order_by(Participant.case_id, Participant.id)
    ).all()
    changed = 0
    for participant_id, case_id in named:
        case = lock_case(session, session.get(SipCase, case_id))
        # Read again under the case's lock: a contact person named on the case page meanwhile stays.
        participant = session.get(Participant, participant_id, populate_existing=True)
        if registry.has_ended(case) or participant.contact_user_id != user_id or not participant.active:
            continue
        _claim_version(session, case, case.version)
        _name_contact(session, case, participant, None, by_user_id=by_user_id, now=now)
        changed += 1
    return changed


# What other areas do when a participant's e-mail address is set, corrected or cleared (meetings moves the
# invitations to meetings ahead to it): each is called as hook(session, case, participant, now=now) in the
# change's unit of work, the case's version claimed. The area registers its own, so cases imports none.
_ADDRESS_HOOKS: list[Callable[..., None]] = []


def register_address_change(hook: Callable[..., None]) -> None:
    """Run hook(session, case, participant, now=now) whenever a participant's e-mail address changes."""
    if hook not in _ADDRESS_HOOKS:
        _ADDRESS_HOOKS.append(hook)


# What other areas do when a participant leaves a SIP (meetings withdraws its invitations): each is called
# as hook(session, case, participant, now=now) in the removal's unit of work. The area registers its own,
# so cases imports none of them.
_REMOVAL_HOOKS: list[Callable[..., None]] = []
# Why other areas refuse a removal (plans: an organisation owning efforts still to do): each is called as
# check(session, case, participant) -> InvalidInput | None, reads only, and is asked before anything
# changes, by the removal and by its page (which then offers no form).
_REMOVAL_REFUSALS: list[Callable[..., InvalidInput | None]] = []
# The party roles (workflow file language, PARTY_ROLES) that may take a participant off a SIP: the ones
# that lead it. Anyone seeing the SIP may add one; a removal hides the SIP from an organisation.
REMOVING_ROLES = frozenset({INITIATOR, HUVUDANSVARIG})
REMOVAL_REASON_LIMIT = 500


def register_participant_removal(hook: Callable[..., None]) -> None:
    """Run hook(session, case, participant, now=now) whenever a participant is removed from a SIP."""
    if hook not in _REMOVAL_HOOKS:
        _REMOVAL_HOOKS.append(hook)


def register_removal_refusal(check: Callable[..., InvalidInput | None]) -> None:
    """Ask check(session, case, participant) -> the refusal or None (read-only) before every removal."""
    if check not in _REMOVAL_REFUSALS:
        _REMOVAL_REFUSALS.append(check)


def may_remove_participants(
    session: Session, case: SipCase, actor: User, participants: list | None = None
) -> bool:
    """The actor's organisation initiated the SIP or holds huvudansvar, so it may remove participants.

    participants: the case's active participants (anything with role and organisation_id) when the caller
    holds them already (the case page does).
    """
    roles = party_roles(session, case, actor_organisation_id(session, actor), participants)
    return bool(roles & REMOVING_ROLES)


def removal_refusal(case: SipCase, participant, active) -> InvalidInput | None:
    """Why the participant cannot be removed, or None: the one rule, asked by the service and the case page.

    participant, active: the participant and the case's active participants (anything with id, kind, role
    and organisation_id: the rows, or the page's views). The person is the SIP's own. The organisation that
    started the SIP, and the one holding huvudansvar, stay while this is their last unit on it.
    """
    if participant.kind == "person":
        return InvalidInput(_l("The person the SIP is for cannot be removed from it."))
    if participant.organisation_id is None:
        return None
    if any(p.organisation_id == participant.organisation_id and p.id != participant.id for p in active):
        return None
    if participant.organisation_id == case.initiating_organisation_id:
        return InvalidInput(_l("The organisation that started the SIP cannot be removed from it."))
    if holds_huvudansvar([participant], participant.organisation_id):
        return InvalidInput(
            _l("The organisation with overall responsibility cannot be removed: hand it over first.")
        )
    return None


def removal_refusal_now(session: Session, case: SipCase, participant, active) -> InvalidInput | None:
    """Why the participant cannot be removed now: removal_refusal, then the other areas' registered checks.

    Unlike removal_refusal it reads (the checks ask the database), so the case page does not ask it.
    """
    refusal = removal_refusal(case, participant, active)
    if refusal is not None:
        return refusal
    for check in _REMOVAL_REFUSALS:
        refusal = check(session, case, participant)
        if refusal is not None:
            return refusal
    return None


def refusal_of_removal(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, participant_id: int, active
) -> UserError | None:
    """Why actor cannot remove the participant from the SIP now, or None: asked by the removal and its page.

    active: the case's active participants (the rows, or the page's views). An ended SIP, a party that does
    not lead it, a participant no longer on it, then removal_refusal_now.
    """
    if registry.has_ended(case):
        return CaseEnded(_l("The SIP has ended: no one can be removed from it."))
    if not may_remove_participants(session, case, actor, active):
        return NotAllowed(
            _l(
                "Only the initiating organisation or the one with overall responsibility may remove "
                "participants."
            )
        )
    participant = next((p for p in active if p.id == participant_id), None)
    if participant is None:
        return InvalidInput(_l("The participant no longer takes part in the SIP."), field="participant_id")
    return removal_refusal_now(session, case, participant, active)


def remove_participant(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    participant_id: int,
    *,
    reason: str | None,
    now: datetime,
    expected_version: int,
) -> Participant:
    """Take a participant added in error, or no longer taking part, off an open SIP, with the reason.

    The row stays (removed_at, by whom, why): the history, old invitations and consents still name it.
    Refused as refusal_of_removal says; other areas' hooks follow (meetings withdraws the participant's
    invitations to planned meetings).
    """
    # The case is claimed first: what the refusal reads (the other areas' checks too) is then read as the
    # writer before this one left it (SQLite holds its one writer's lock from here to the commit).
    touch_case(session, case, expected_version=expected_version, now=now)
    active = session.exec(select(Participant).where(Participant.case_id == case.id, Participant.active)).all()
    refusal = refusal_of_removal(session, registry, case, actor, participant_id, active)
    if refusal is not None:
        raise refusal
    participant = next(p for p in active if p.id == participant_id)
    reason = fields.free_text(reason, "reason", limit=REMOVAL_REASON_LIMIT)
    if reason is None:
        raise InvalidInput(_l("Say why the participant is removed."), field="reason")
    participant.removed_at = now
    participant.removed_by_user_id = actor.id
    participant.removed_reason = reason
    session.add(participant)
    _keep_huvudansvar(session, participant, active)
    for hook in _REMOVAL_HOOKS:
        hook(session, case, participant, now=now)
    return participant


def _keep_huvudansvar(session: Session, removed: Participant, active) -> None:
    """A unit of the organisation holding huvudansvar was removed: the role stays with the organisation's
    units still on the SIP (removal_refusal refuses its last one), each carrying it (holds_huvudansvar)."""
    if removed.role != HUVUDANSVARIG:
        return
    for p in active:
        if p.id != removed.id and p.organisation_id == removed.organisation_id and p.role != HUVUDANSVARIG:
            p.role = HUVUDANSVARIG
            session.add(p)


def check_version(case: SipCase, expected_version: int) -> None:
    """Refuse a form that was loaded before the case last changed."""
    if case.version != expected_version:
        raise StaleCase(
            _l("Someone else changed this SIP while you were working. Reload the page and try again.")
        )


# A stale form sent this soon after its sender's own step of the same kind is taken for a second click.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=1)


def same_text(typed, stored) -> bool:
    """A typed text (None or blank: nothing) is the one stored, as the service stores it (stripped)."""
    typed = typed.strip() if isinstance(typed, str) else typed
    stored = stored.strip() if isinstance(stored, str) else stored
    return (typed or None) == (stored or None)


def _typed_as_recorded(step: TransitionLog, case: SipCase, data: dict) -> bool:
    """Every text data carries is what step recorded (its reason, its details, the case's field of that name):
    a form that typed something else is another attempt, whose text must not be lost. A form of a kind with
    lists (which rows to record) says itself what its step recorded (register_input's repeats)."""
    recorded = {step.reason, *(v for v in step.details.values() if isinstance(v, str))}
    for name, value in data.items():
        if isinstance(value, str):
            stored = getattr(case, name, None)
            if value.strip() and value.strip() not in recorded and value.strip() != stored:
                return False
        elif isinstance(value, list | dict | set | tuple) and value:
            return False
    return True


def just_done_by(actor: User, user_id: int | None, at: datetime | None, *, now: datetime) -> bool:
    """A change recorded as user_id's at `at` is actor's own of a moment ago (DOUBLE_SUBMIT_WINDOW): the one
    rule by which a form of actor's that it made stale is their second send of it (a double click, a
    network's resend), answered done (web.already_done), not refused as someone else's change."""
    if user_id is None or user_id != actor.id or at is None:
        return False
    return stored_utc(at) >= now - DOUBLE_SUBMIT_WINDOW


def own_step_just_taken(
    session: Session,
    case: SipCase,
    actor: User,
    triggers,
    *,
    now: datetime,
    data: dict | None = None,
    form: str | None = None,
    effects=(),
) -> TransitionLog | None:
    """The case's newest step when actor took it, with one of triggers, just now (just_done_by), having
    recorded what data carries: what made actor's form stale is then their own step (a double click),
    not someone else's change. form: the step's form kind; one that registered `repeats` compares data with
    the rows its step wrote (lists too, as they hold them), any other its texts (_typed_as_recorded).
    effects: the step's effects; one that registered `repeats` compares the fields it recorded (the
    preparation's own goals, in the plan) and leaves the rest to the form's comparison."""
    newest = session.exec(
        select(TransitionLog)
        .where(TransitionLog.case_id == case.id)
        .order_by(TransitionLog.id.desc())
        .limit(1)
    ).first()
    if newest is None or newest.trigger not in set(triggers):
        return None
    if not just_done_by(actor, newest.user_id, newest.at, now=now):
        return None
    data = dict(data or {})
    for effect in effects:
        repeats = EFFECT_REPEATS.get(effect)
        if repeats is not None and (data := repeats(session, case, newest, data)) is None:
            return None
    repeats = INPUT_REPEATS.get(form) if form is not None else None
    same = repeats(session, case, newest, data) if repeats else _typed_as_recorded(newest, case, data)
    return newest if same else None


def own_private_participant_just_added(
    session: Session,
    case: SipCase,
    actor: User,
    *,
    expected_version: int,
    kind: str,
    name: str | None,
    relation: str | None,
    email: str | None,
    phone: str | None,
    language: str,
    now: datetime,
) -> Participant | None:
    """The närstående or guardian a form sent at expected_version asks to add, when actor added just that one
    a moment ago (just_done_by) from the same version and nothing changed in the SIP since: the form is
    their second send of it. Another add, or any change after it, is someone else's: None."""
    if case.version != expected_version + 1:
        return None
    newest = session.exec(
        select(Participant).where(Participant.case_id == case.id).order_by(Participant.id.desc()).limit(1)
    ).first()
    if newest is None or not newest.active:
        return None
    if not just_done_by(actor, newest.added_by_user_id, newest.added_at, now=now):
        return None
    try:
        sent = (
            kind,
            fields.line_text(name, "name"),
            fields.line_text(relation, "relation"),
            fields.line_text(email, "email"),
            fields.line_text(phone, "phone"),
            language,
        )
    except InvalidInput:
        return None
    stored = (newest.kind, newest.name, newest.relation, newest.email, newest.phone, newest.language)
    return newest if sent == stored else None


def own_contact_person_just_named(
    session: Session,
    case: SipCase,
    actor: User,
    participant_id: int,
    contact_user_id: int | None,
    *,
    expected_version: int,
    now: datetime,
) -> Participant | None:
    """The unit whose contact person a form sent at expected_version names, when actor named just that one
    (or no one) a moment ago (just_done_by), from the same version, and nothing changed in the SIP since: the
    form is their second send of it. Another choice, or someone else's, is someone else's change: None."""
    if case.version != expected_version + 1:
        return None
    participant = session.get(Participant, participant_id)
    if (
        participant is None
        or participant.case_id != case.id
        or participant.contact_user_id != contact_user_id
    ):
        return None
    if not just_done_by(actor, participant.contact_named_by_user_id, participant.contact_named_at, now=now):
        return None
    return participant


def own_removal_just_made(
    session: Session,
    case: SipCase,
    actor: User,
    participant_id: int,
    *,
    reason: str | None,
    expected_version: int,
    now: datetime,
) -> Participant | None:
    """The participant a removal form sent at expected_version takes off the SIP, when actor took just that
    one off a moment ago (just_done_by), for the same reason, from the same version, and nothing changed in
    the SIP since: the form is their second send of it. Anything else is someone else's change: None."""
    if case.version != expected_version + 1:
        return None
    participant = session.get(Participant, participant_id)
    if participant is None or participant.case_id != case.id or participant.active:
        return None
    if not just_done_by(actor, participant.removed_by_user_id, participant.removed_at, now=now):
        return None
    try:
        sent = fields.free_text(reason, "reason", limit=REMOVAL_REASON_LIMIT)
    except InvalidInput:
        return None
    return participant if sent == participant.removed_reason else None


def lock_case(session: Session, case: SipCase) -> SipCase:
    """For a write outside a step: hold the case's row until the commit, as a claim does; the case as it is.

    A step reads what it shares with the reminders' reconciliation (the case's meetings) after its claim:
    a write that takes this lock first is then either wholly in what the step reads or waits for its
    commit, and sees the case as the step left it (the case returned is read again with the lock, so a
    version check of it is current). On PostgreSQL a row lock, FOR NO KEY UPDATE as a claim's UPDATE takes:
    FOR UPDATE would also make another transaction's foreign key check of the case wait (the reminder job
    writing a reminder's mail while holding the reminder, which a directory change held the case to move).
    SQLite has one writer at a time and a step holds it from its claim to its commit: a write to the case's
    row that changes nothing takes it (waiting for such a step, as the busy timeout allows), and the read
    after it sees what the step committed.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(_TAKE_WRITE_LOCK, {"lock_id": case.id})
        return session.get(SipCase, case.id, populate_existing=True)
    return session.get(SipCase, case.id, with_for_update={"key_share": True}, populate_existing=True)


def running_cases_of_units(
    session: Session, registry: WorkflowRegistry, unit_ids: Collection[int]
) -> list[int]:
    """The ids of the SIPs still running that the units take part in, in order: those a write may invite or
    remind a unit on, at its mailbox, at any moment.

    From the running cases (by their state's index) to their participants (by case): a unit's participant
    rows have no index of their own, and most are on SIPs long ended."""
    if not unit_ids:
        return []
    running = sorted(
        {state.name for w in registry.workflows() for state in w.states.values() if not state.final}
    )
    query = (
        select(Participant.case_id)
        .join(SipCase, SipCase.id == Participant.case_id)
        .where(SipCase.state.in_(running), Participant.unit_id.in_(sorted(set(unit_ids))), Participant.active)
        .distinct()
    )
    return sorted(session.exec(query).all())


def lock_cases(session: Session, case_ids) -> list[SipCase]:
    """lock_case of many cases at once (case_ids: their ids, or a SELECT of them), held in the order of their
    ids; the cases as they are, by id. One statement (two on SQLite) however many: a directory change of
    thousands of units holds the cases they reach.

    Every write holding several cases takes them in that one order, so none holds one another waits for while
    it waits for one the other holds: PostgreSQL would fail one of them (deadlock detected). Held once, a
    case's lock_case later in the same transaction waits for nothing. On PostgreSQL FOR NO KEY UPDATE, as
    lock_case takes.
    """
    if isinstance(case_ids, (list, tuple, set, frozenset)):
        case_ids = sorted(set(case_ids))
        if not case_ids:
            return []
    table = SipCase.__table__
    query = select(SipCase).where(SipCase.id.in_(case_ids)).order_by(SipCase.id)
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(
            update(table).where(table.c.id.in_(case_ids)).values(version=table.c.version)
        )
    else:
        query = query.with_for_update(key_share=True)
    return list(session.exec(query.execution_options(populate_existing=True)).all())


# SQLite has no row locks; this takes its database write lock. version = version: no column changes.
_TAKE_WRITE_LOCK = (
    update(SipCase.__table__)
    .where(SipCase.__table__.c.id == bindparam("lock_id", type_=Integer()))
    .values(version=SipCase.__table__.c.version)
)


# The claim's UPDATE for each set of further columns it writes (and dialect), built once: Core, as the ORM's
# update with synchronize_session=False kept nothing in step either. Bind parameters are named apart from the
# columns they set (SQLAlchemy reserves those names) and typed as those columns.
_CLAIMS: dict[tuple[tuple[str, ...], bool], tuple] = {}


def _claim_statements(names: tuple[str, ...], *, postgresql: bool) -> tuple:
    """The claim for these column names: UPDATE sipcase SET version and them WHERE id and version.

    Followed by the UPDATE of the case's Mina SIP rows for the mirrored columns among them. On PostgreSQL
    that one rides in the claim as a data-modifying WITH (one round trip fewer per step): it runs after the
    claim's row lock, and a claim that matched nothing raises StaleCase, which rolls both back.
    """
    statements = _CLAIMS.get((names, postgresql))
    if statements is None:
        table = SipCase.__table__
        params = {name: bindparam(f"claim_{name}", type_=table.c[name].type) for name in names}
        case_id = bindparam("claim_id", type_=table.c.id.type)
        claim = (
            table.update()
            .where(
                table.c.id == case_id,
                table.c.version == bindparam("claim_expected", type_=table.c.version.type),
            )
            .values({"version": bindparam("claim_version", type_=table.c.version.type), **params})
        )
        mirrored = {name: params[name] for name in _MIRRORED if name in params}
        move = (
            _VISIBILITY.update().where(_VISIBILITY.c.case_id == case_id).values(mirrored)
            if mirrored
            else None
        )
        if move is not None and postgresql:
            statements = (claim.add_cte(move.cte("moved_visibility")),)
        else:
            statements = (claim,) if move is None else (claim, move)
        _CLAIMS[(names, postgresql)] = statements
    return statements


def _claim_version(
    session: Session,
    case: SipCase,
    expected_version: int,
    *,
    after_retry: Callable[[], None] | None = None,
    **values,
) -> None:
    """Compare-and-set the version: of two writers holding the same version, only one gets past here.

    values are further columns the same UPDATE sets (a step's new state and time), so a step writes the
    case row once; the caller marks them committed once the Python object holds them too. The case's Mina
    SIP rows take the new state and time with it: they order and filter each organisation's candidates.
    after_retry: run when SQLite made the claim start afresh (the session rolled back and the case was read
    again), before the claim is sent again.
    """

    def recheck() -> None:
        check_version(case, expected_version)
        if after_retry is not None:
            after_retry()

    names = tuple(sorted(values))
    params = {"claim_id": case.id, "claim_expected": expected_version, "claim_version": expected_version + 1}
    params.update((f"claim_{name}", values[name]) for name in names)
    claim, *after = _claim_statements(names, postgresql=session.get_bind().dialect.name == "postgresql")
    claimed = compare_and_set(
        session,
        claim,
        obj=case,
        recheck=recheck,
        busy=StaleCase(_l("The SIP is being changed by someone else right now. Try again.")),
        params=params,
    )
    if not claimed:
        raise StaleCase(
            _l("Someone else changed this SIP while you were working. Reload the page and try again.")
        )
    for statement in after:
        session.connection().execute(statement, params)
    set_committed_value(case, "version", expected_version + 1)


def _changed_columns(case: SipCase) -> dict:
    """The columns of the case set in Python and not yet written, with their new values."""
    state = inspect(case)
    changed = {}
    # Only an attribute set since the case was loaded has its loaded value kept in committed_state: the
    # others cannot have changed (asking every column's history cost more than the step's guards).
    columns = state.mapper.column_attrs
    for key in state.committed_state:
        if key in columns:
            added = state.attrs[key].history.added
            if added:
                changed[key] = added[0]
    return changed


def touch_case(session: Session, case: SipCase, *, expected_version: int, now: datetime, **columns) -> None:
    """Claim the case at expected_version for a change outside the workflow (huvudansvar handed over).

    Bumps its version and time as a step does, and its Mina SIP rows' time, so the change shows in lists
    and a form read before it is stale. columns: further columns of the case the same claim sets (a
    corrected start date); noted as a step's are (CLAIMED_COLUMNS), so the reminders they anchor follow.
    """
    check_version(case, expected_version)
    _claim_version(session, case, expected_version, updated_at=now, **columns)
    set_committed_value(case, "updated_at", now)
    for name, value in columns.items():
        set_committed_value(case, name, value)
    if columns:
        session.info.setdefault(CLAIMED_COLUMNS, {}).setdefault(case.id, set()).update(columns)


# A change to the SIP that leaves its version alone: the case's time and its Mina SIP rows' (built once per
# dialect; on PostgreSQL the rows' UPDATE rides in the case's as a WITH, run after it, one round trip).
_MOVES: dict[bool, tuple] = {}


def _move_statements(*, postgresql: bool) -> tuple:
    """UPDATE sipcase SET updated_at WHERE id, and the same time on the case's Mina SIP rows."""
    statements = _MOVES.get(postgresql)
    if statements is None:
        table = SipCase.__table__
        case_id = bindparam("move_id", type_=table.c.id.type)
        at = bindparam("move_at", type_=table.c.updated_at.type)
        move_case = table.update().where(table.c.id == case_id).values(updated_at=at)
        move_rows = _VISIBILITY.update().where(_VISIBILITY.c.case_id == case_id).values(updated_at=at)
        statements = (
            (move_case.add_cte(move_rows.cte("moved_visibility")),) if postgresql else (move_case, move_rows)
        )
        _MOVES[postgresql] = statements
    return statements


def note_case_changed(session: Session, case: SipCase, *, now: datetime) -> None:
    """Make now the case's last change, in Mina SIP too, keeping its version (the working plan's text saved).

    For a change that has a version of its own (the plan's row_version): forms read at the case's version stay
    valid, while lists show the SIP as just changed. Mina SIP orders by the rows' time and pages by the
    case's, so both move together. On PostgreSQL this locks the case's row: take it before rows a step
    locks after its claim (the plan), so the two wait for each other instead of deadlocking.
    """
    params = {"move_id": case.id, "move_at": now}
    for statement in _move_statements(postgresql=session.get_bind().dialect.name == "postgresql"):
        session.connection().execute(statement, params)
    set_committed_value(case, "updated_at", now)


def check_may_fire(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    case: SipCase,
    trigger: str,
    *,
    organisation_id: int | None = None,
    participants: list[Participant] | None = None,
) -> TransitionDef:
    """The transition, if the case's state has it and the actor's party may fire it; else the refusal.

    organisation_id, participants: the actor's organisation and the case's active participants (anything
    with role and organisation_id: the step's own rows, or the page's) when the caller holds them already.
    """
    transition = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger)
    if transition is None:
        raise TransitionNotAllowed(
            _l("That step is not possible in the SIP's current state (%(state)s).", state=case.state)
        )
    if organisation_id is None:
        organisation_id = actor_organisation_id(session, actor)
    if not party_roles(session, case, organisation_id, participants) & set(transition.parties):
        raise PartyNotAllowed(_l("Your organisation's part in this SIP does not allow that step."))
    return transition


def step_input_refusal(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    case: SipCase,
    trigger: str,
    read_data: Callable[[], dict],
    *,
    now: datetime,
    reads: StepReads | None = None,
) -> InvalidInput | None:
    """What the step's form input refuses in the data read_data gives (InvalidInputs: several), or None;
    writes nothing. For a page whose own form checks refuse the form already, so it marks every field at
    once; None too when the step is not one of the case's state or its input has no checks of its own
    (registry.INPUT_CHECKS). read_data is called only then: a form its checks refused may hold a value
    that only such an input reads safely."""
    workflow = registry.get(case.workflow_name, case.workflow_version)
    transition = workflow.transition(case.state, trigger)
    check = INPUT_CHECKS.get(transition.form) if transition is not None else None
    if check is None:
        return None
    ctx = TransitionContext(
        session=session,
        case=case,
        actor=actor,
        now=now,
        data=dict(read_data()),
        trigger=trigger,
        workflow=workflow,
    )
    if reads is not None:
        share_step_reads(ctx, reads)
    with session.no_autoflush:
        return refusal_of(check, ctx)


def refusals_before_form(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    actor: User | None,
    transition: TransitionDef,
    *,
    now: datetime,
    reads: StepReads | None,
    organisations: list[Organisation] | None = None,
) -> list:
    """The messages of transition's guards that are known before its form is filled (Guard.before_form)
    and would refuse it now, in the workflow file's order: the step's page shows them over its form, so no
    one fills it in to be told at the end. Each asks the guard's own check, as the step will.

    reads (the step's first read) and organisations (those taking part, by name) are what the page read:
    given, the guards send no statement. Writes nothing.
    """
    guards = [GUARDS[name] for name in transition.conditions if name in GUARDS and GUARDS[name].before_form]
    if not guards:
        return []
    ctx = TransitionContext(
        session=session, case=case, actor=actor, now=now, trigger=transition.trigger, workflow=workflow
    )
    if reads is not None:
        share_step_reads(ctx, reads)
    if organisations is not None:
        ctx.memo[STEP_ORGANISATIONS] = organisations
    with session.no_autoflush:
        return [guard.message_for(ctx) for guard in guards if not guard.check(ctx)]


def fire_transition(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    case: SipCase,
    trigger: str,
    *,
    expected_version: int,
    now: datetime,
    data: dict | None = None,
    reads: StepReads | None = None,
) -> LoggedStep:
    """Move the case by trigger: version check, form input, guards, state, log and effects, all or nothing.

    reads: the step's first read when the caller made it in this transaction (used if it is of the step's
    day). Returns the step's log row as written.
    """
    workflow = registry.get(case.workflow_name, case.workflow_version)
    organisation_id = actor_organisation_id(session, actor)
    ctx = TransitionContext(
        session=session,
        case=case,
        actor=actor,
        now=now,
        data=dict(data or {}),
        trigger=trigger,
        workflow=workflow,
    )
    if reads is not None:
        share_step_reads(ctx, reads)
    transition = check_may_fire(
        session,
        registry,
        actor,
        case,
        trigger,
        organisation_id=organisation_id,
        participants=step_participants(ctx),
    )
    check_version(case, expected_version)
    if transition.closes:
        ctx.data["closing"] = True
    from_state = case.state
    form_input = INPUTS[transition.form]
    early = transition.form in ATTRIBUTES_ONLY_INPUTS
    # What runs before the claim (and again should SQLite make the claim start afresh): the whole input
    # when it sends nothing, else the part of it that only reads and sets columns of the case, if any.
    before_claim = form_input if early else INPUTS_BEFORE_CLAIM.get(transition.form)
    # No autoflush: the case row is written once, by the claim, not piecemeal by every query.
    with session.no_autoflush:
        if before_claim is not None:
            before_claim(ctx)
        columns = _changed_columns(case)
        # One UPDATE of the case row per step: the claim also writes the state the step leads to (a guard
        # that fails rolls it back with everything else), the time and the columns an early form set.
        _claim_version(
            session,
            case,
            expected_version,
            after_retry=(lambda: before_claim(ctx)) if before_claim is not None else None,
            **(columns | {"state": transition.dest, "updated_at": now}),
        )
        mark_written(case, columns)
        # No flush shows these columns changed (the claim wrote them): say so to what runs before the commit.
        session.info.setdefault(CLAIMED_COLUMNS, {}).setdefault(case.id, set()).update(columns)
        if not early:
            form_input(ctx)
        session.flush()
        # The claim wrote the new state already: the case takes it without a change to flush again.
        flow = case_flow(workflow, ctx, lambda state: set_committed_value(case, "state", state))
        fired = flow.trigger(trigger)
        if not fired:
            name = flow.failed_guard or "unknown"
            guard = GUARDS.get(name)
            raise GuardFailed(
                guard.message_for(ctx) if guard else name, guard=name, field=guard.field if guard else None
            )
    set_committed_value(case, "updated_at", now)
    row = _log_row(ctx, organisation_id, from_state)
    log = _StepLog(session, row)
    session.info.setdefault(LOGGED_STEPS, {}).setdefault(case.id, []).append((trigger, case.state))
    _settle_deadlines(session, workflow, case, trigger, now, ctx.done_at, log)
    for deadline in _new_deadlines(workflow, case, trigger):
        log.execute(_INSERT_DEADLINE, deadline)
        session.info.setdefault(STARTED_DEADLINES, set()).add(case.id)
    log.write()
    session.flush()
    logger.info("case %s: %s, %s -> %s by user %s", case.reference, trigger, from_state, case.state, actor.id)
    return LoggedStep(**row)


@dataclass(frozen=True, slots=True)
class LoggedStep:
    """A step's log row as written (without its id): what fire_transition returns."""

    # A plain record: a TransitionLog built only to hand these back went through SQLModel's per-field set-up.
    case_id: int
    at: datetime
    user_id: int | None
    organisation_id: int | None
    trigger: str
    from_state: str | None
    to_state: str
    reason: str | None
    details: dict


# No RETURNING (inline): the step's log row is written, never read back in the step.
_INSERT_LOG = insert(TransitionLog.__table__).inline()

# The same INSERT as a WITH another statement carries, its parameters named apart (log_<column>).
_LOG_CTE = (
    insert(TransitionLog.__table__)
    .values(
        {
            c.key: bindparam(f"log_{c.key}", type_=c.type)
            for c in TransitionLog.__table__.c
            if not c.primary_key
        }
    )
    .cte("logged_step")
)
_CARRYING_LOG: dict = {}


class _StepLog:
    """A step's log row until it is written: on PostgreSQL the step's first deadline write carries it.

    As a data-modifying WITH of that statement, one round trip fewer; it runs whether or not the statement
    matches a row. On SQLite, which has no such WITH, the row is written at once, as before.
    """

    def __init__(self, session: Session, row: dict):
        self.session = session
        self.row: dict | None = row
        if session.get_bind().dialect.name != "postgresql":
            self.write()

    def execute(self, statement, params: dict):
        """Execute statement (built once, Core) with params, carrying the log row if it is still unwritten."""
        if self.row is not None:
            carrying = _CARRYING_LOG.get(statement)
            if carrying is None:
                carrying = _CARRYING_LOG[statement] = statement.add_cte(_LOG_CTE)
            params = params | {f"log_{key}": value for key, value in self.row.items()}
            statement, self.row = carrying, None
        return self.session.connection().execute(statement, params)

    def write(self) -> None:
        """Write the log row on its own, unless a statement carried it."""
        if self.row is not None:
            self.session.connection().execute(_INSERT_LOG, self.row)
            self.row = None


def _log_row(ctx: TransitionContext, organisation_id: int | None, from_state: str) -> dict:
    """What a step's log row holds: who moved the case from which state to which, when, why and with what."""
    reason = ctx.data.get("reason")
    return {
        "case_id": ctx.case.id,
        "at": ctx.now,
        "user_id": ctx.actor.id,
        "organisation_id": organisation_id,
        "trigger": ctx.trigger,
        "from_state": from_state,
        "to_state": ctx.case.state,
        "reason": reason if isinstance(reason, str) else None,
        "details": ctx.details,
    }
