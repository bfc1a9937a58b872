"""Giving, declining and withdrawing consent: the consent area owns every change to a consent."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, String, bindparam, column, func, insert, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.cases.errors import CaseEnded
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import (
    active_guardians,
    active_participants,
    case_organisation_labels,
    participating_organisations,
)
from sipflow.cases.services import (
    actor_organisation_id,
    consent_givers,
    guardians_consent,
    holds_huvudansvar,
    just_done_by,
    of_age,
    party_roles,
    same_text,
    touch_case,
)
from sipflow.clock import to_local
from sipflow.consent.models import (
    CONSENT_FORMS,
    CONSENT_GIVERS,
    GIVEN,
    GUARDIAN_GIVER,
    Consent,
    ConsentOrganisation,
)
from sipflow.db import adopt_inserted
from sipflow.errors import Conflict, InvalidInput, NotAllowed, Refusals, UserError, refusal_of
from sipflow.people.identifiers import last_day_as_minor
from sipflow.people.models import Organisation, Person, User
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import Workflow
from sipflow.workflow.engine import WorkflowRegistry

log = logging.getLogger(__name__)

# Built once (most steps ask it): the case and the day are bind parameters.
_CONSENTS_IN_FORCE = select(Consent).where(
    Consent.case_id == bindparam("case_id", type_=Integer), Consent.in_force(bindparam("today", type_=Date))
)
# The organisations a consent covers, written by Core: nothing reads them back as objects in a step.
_INSERT_SCOPE = insert(ConsentOrganisation.__table__)
# The cases whose consents this transaction wrote (given, withdrawn, or withdrawn for one organisation): their
# end can move reminders counting from it. The reminders' reconciliation reads it before the commit, as it
# reads cases.services.STARTED_CASES (the consents' rows are written by Core too, which no flush shows).
CONSENTS_WRITTEN = "sipflow.consent.written"


def _note_consents_written(session: Session, case_id: int) -> None:
    session.info.setdefault(CONSENTS_WRITTEN, set()).add(case_id)


# The form of the workflow steps that record a consent (this area's input, registered in workflow_hooks):
# their parties are the ones who may also record a further consent outside the steps.
CONSENT_FORM = "consent"


def consents_in_force(session: Session, case_id: int, today: date) -> list[Consent]:
    """The consents of the case in force on today."""
    return list(session.exec(_CONSENTS_IN_FORCE, params={"case_id": case_id, "today": today}).all())


# A consent given by a legal representative (god man, förvaltare) names them (check_consent).
REPRESENTATIVE_GIVER = "legal_representative"
REPRESENTATIVE_UNNAMED = _l(
    "Write the name of the legal representative (god man or förvaltare) who gave the consent: a god man or "
    "förvaltare may be replaced, and the SIP must say which one consented."
)
# ... and so does a refusal, which ends the SIP: it says which representative declined (check_decline).
REPRESENTATIVE_UNNAMED_DECLINE = _l(
    "Write the name of the legal representative (god man or förvaltare) who declined: a god man or "
    "förvaltare may be replaced, and the SIP must say which one declined."
)
GUARDIANS_AND_NAME_DECLINED = _l(
    "Tick the guardians who declined or type the name of the one who declined, not both: a ticked "
    "guardian's refusal is recorded under their name in the SIP."
)


@dataclass(frozen=True)
class GivenConsent:
    """A given consent's fields as check_consent read them."""

    given_by: str
    form: str
    valid_until: date | None
    scope: set[int]
    guardians: list[Participant]
    typed_name: str | None
    information_scope: str | None


def check_consent(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    now: datetime,
    participants: list[Participant] | None = None,
    child: bool = False,
) -> GivenConsent:
    """A given consent's fields read from data, every field at fault refused at once (InvalidInputs), each
    at its field; writes nothing.

    participants: the case's active participants when the caller holds them already (a step does).
    child: the guardians give the consent (guardians_consent: a child's SIP, a person under 18): only a
    guardian gives it (_givers).
    """
    refusals = Refusals()
    given_by, guardians = _givers(
        refusals, session, case, data, participants, child=child, today=to_local(now).date()
    )
    form = refusals.take(fields.choice, data, "form", CONSENT_FORMS)
    valid_until = refusals.take(_valid_until, data, now=now)
    if given_by == CHILD_GIVER:
        valid_until = refusals.take(_within_custody, session, case, valid_until)
    if participants is not None:
        participating = {p.organisation_id for p in participants if p.organisation_id is not None}
    else:
        participating = {o.id for o in participating_organisations(session, case.id)}
    scope = refusals.take(_scope, data, participating, default=set())
    name_refusals = len(refusals.errors)
    typed_name = refusals.take(fields.line, data, "given_by_name")
    name_refused = len(refusals.errors) > name_refusals
    if guardians and typed_name:
        # Each ticked guardian's row carries their name in the case: a typed name has no row of its own to
        # go in (a third guardian? one of them spelt otherwise?), and would be dropped; the user chooses.
        refusals.refuse(
            _l(
                "Tick the guardians who consent or type the name of the one who consents, not both: "
                "a ticked guardian's consent is recorded under their name in the SIP."
            ),
            "given_by_name",
        )
    if given_by == REPRESENTATIVE_GIVER and not typed_name and not name_refused:
        # "The legal representative" names nobody once one replaces another: the SIP says which one consented.
        refusals.refuse(REPRESENTATIVE_UNNAMED, "given_by_name")
    information_scope = refusals.take(fields.text, data, "information_scope")
    refusals.raise_any()
    return GivenConsent(given_by, form, valid_until, scope, guardians, typed_name, information_scope)


def consent_refusal(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    now: datetime,
    participants: list[Participant] | None = None,
    child: bool = False,
) -> InvalidInput | None:
    """What check_consent refuses in data (InvalidInputs: several), or None; writes nothing. For a page
    whose own form checks refuse the form already, so it marks every field at once."""
    return refusal_of(check_consent, session, case, data, now=now, participants=participants, child=child)


def give_consent(
    session: Session,
    case: SipCase,
    actor: User,
    data: dict,
    *,
    now: datetime,
    participants: list[Participant] | None = None,
    child: bool = False,
) -> list[Consent]:
    """Record a given consent with its scope of organisations and validity (one row per guardian); every
    field at fault is refused at once (check_consent).

    participants: the case's active participants when the caller holds them already (a step does).
    """
    given = check_consent(session, case, data, now=now, participants=participants, child=child)
    consents = [
        Consent(
            case_id=case.id,
            decision=GIVEN,
            given_by=given.given_by,
            given_by_name=guardian.name if guardian else given.typed_name,
            given_by_participant_id=guardian.id if guardian else None,
            form=given.form,
            information_scope=given.information_scope,
            valid_until=given.valid_until,
            recorded_at=now,
            recorded_by_user_id=actor.id,
        )
        for guardian in given.guardians or [None]
    ]
    _note_consents_written(session, case.id)
    if session.get_bind().dialect.name == "postgresql":
        # One statement writes them and their organisations: one round trip fewer.
        _insert_with_scope(session, consents, sorted(given.scope))
        return consents
    session.add_all(consents)
    session.flush()  # their ids, for the organisations they cover
    # One INSERT of every consent's organisations, without a second flush's unit of work.
    session.connection().execute(
        _INSERT_SCOPE,
        [
            {"consent_id": consent.id, "organisation_id": organisation_id}
            for consent in consents
            for organisation_id in sorted(given.scope)
        ],
    )
    return consents


def _insert_with_scope(session: Session, consents: list[Consent], scope: list[int]) -> None:
    """INSERT consents (one a giver, all else alike) and the organisations each covers in one statement.

    PostgreSQL only (a data-modifying WITH: one round trip fewer than the consents' INSERT and then their
    organisations'). Each consent joins the session as its row, as if it had been read: the step's guards
    read these objects.
    """
    first = consents[0]
    params = {c.name: getattr(first, c.name) for c in _SHARED_CONSENT_COLUMNS}
    params.update(
        giver_names=[c.given_by_name for c in consents],
        giver_ids=[c.given_by_participant_id for c in consents],
        organisation_ids=scope,
    )
    rows = session.connection().execute(_GIVE_CONSENTS, params)
    ids = {participant_id: consent_id for consent_id, participant_id in rows}
    for consent in consents:
        # One row per guardian (each a participant of its own), or a single row without one.
        adopt_inserted(session, consent, ids[consent.given_by_participant_id])


# The columns every consent of one give_consent shares; the givers' name and participant differ.
_GIVER_COLUMNS = ("given_by_name", "given_by_participant_id")
_SHARED_CONSENT_COLUMNS = [
    c for c in Consent.__table__.columns if c.name != "id" and c.name not in _GIVER_COLUMNS
]


def _give_consents_statement():
    """WITH given AS (INSERT consent SELECT ... FROM the givers RETURNING id), INSERT their organisations."""
    table, scope = Consent.__table__, ConsentOrganisation.__table__
    givers = (
        func.unnest(
            bindparam("giver_names", type_=ARRAY(String)), bindparam("giver_ids", type_=ARRAY(Integer))
        )
        .table_valued(column("name", String), column("participant_id", Integer))
        .render_derived()
        .alias("giver")
    )
    given = (
        insert(table)
        .from_select(
            [*(c.name for c in _SHARED_CONSENT_COLUMNS), *_GIVER_COLUMNS],
            select(
                *(bindparam(c.name, type_=c.type) for c in _SHARED_CONSENT_COLUMNS),
                givers.c.name,
                givers.c.participant_id,
            ),
        )
        .returning(table.c.id, table.c.given_by_participant_id)
        .cte("given_consent")
    )
    organisations = (
        func.unnest(bindparam("organisation_ids", type_=ARRAY(Integer)))
        .table_valued(column("organisation_id", Integer))
        .render_derived()
        .alias("covered")
    )
    # Every consent covers every organisation: a cross join, said as one.
    covering = insert(scope).from_select(
        ["consent_id", "organisation_id"],
        select(given.c.id, organisations.c.organisation_id).select_from(given.join(organisations, true())),
    )
    return select(given.c.id, given.c.given_by_participant_id).add_cte(covering.cte("consent_scope"))


# Built once (PostgreSQL's arrays: the givers and the organisations are bind parameters, any number of each).
_GIVE_CONSENTS = _give_consents_statement()


def repeats_consent(session: Session, consent_id: int | None, data: dict) -> bool:
    """The consent form's data is what was recorded with the consent consent_id and the rows recorded with
    it (one per guardian): who gave it and how, its end, its text, and which guardians and organisations,
    compared as sets (the form's order says nothing)."""
    last = session.get(Consent, consent_id) if isinstance(consent_id, int) else None
    if last is None:
        return False
    rows = session.exec(
        select(Consent).where(
            Consent.case_id == last.case_id,
            Consent.recorded_at == last.recorded_at,
            Consent.recorded_by_user_id == last.recorded_by_user_id,
            Consent.decision == GIVEN,
        )
    ).all()
    covered = session.exec(
        select(ConsentOrganisation.organisation_id).where(ConsentOrganisation.consent_id == last.id)
    ).all()
    guardians = {row.given_by_participant_id for row in rows} - {None}
    try:
        same_lists = (
            fields.ids(data, "organisation_ids") == set(covered)
            and fields.ids(data, "guardian_participant_ids") == guardians
        )
    except InvalidInput:
        return False
    return (
        same_lists
        and data.get("given_by") == last.given_by
        and data.get("form") == last.form
        and _recorded_end(session, last, data.get("valid_until")) == last.valid_until
        and same_text(data.get("information_scope"), last.information_scope)
        # A guardian's consent carries the guardian's name, not the one typed.
        and (bool(guardians) or same_text(data.get("given_by_name"), last.given_by_name))
    )


def _recorded_end(session: Session, last: Consent, valid_until: date | None) -> date | None:
    """The last day a consent sent with valid_until was recorded with: a guardian's sent without one ended
    the day before the person's 18th birthday (_within_custody)."""
    if valid_until is None and last.given_by == CHILD_GIVER:
        case = session.get(SipCase, last.case_id)
        return guardians_last_day(session.get(Person, case.person_id)) if case else None
    return valid_until


def _valid_until(data: dict, *, now: datetime) -> date | None:
    """The last day the consent is valid (None: until withdrawn); not a day gone by."""
    valid_until = fields.calendar_date(data, "valid_until")
    if valid_until is not None and valid_until < to_local(now).date():
        raise InvalidInput(_l("The consent cannot end before today."), field="valid_until")
    return valid_until


def guardians_last_day(person: Person | None) -> date | None:
    """The last day a guardian's consent for person can be in force: the day before their 18th birthday,
    when custody ends (föräldrabalken 6 kap. 2 §) and the young adult consents themselves; None when the
    birth date is unknown. The one rule of how long a guardian's consent lasts."""
    if person is None or person.birth_date is None:
        return None
    return last_day_as_minor(person.birth_date)


def _within_custody(session: Session, case: SipCase, valid_until: date | None) -> date | None:
    """A guardian's consent's last day: the one typed, refused after guardians_last_day; none typed ("until
    withdrawn") is that day, so the guardians' consent never counts as the adult's own."""
    last_day = guardians_last_day(session.get(Person, case.person_id))
    if last_day is None:
        return valid_until
    if valid_until is None:
        return last_day
    if valid_until > last_day:
        raise InvalidInput(
            _l(
                "A guardian's consent lasts at most until the day before the person turns 18, %(day)s: "
                "custody ends then, and from their 18th birthday the person consents themselves.",
                day=last_day.isoformat(),
            ),
            field="valid_until",
        )
    return valid_until


def _scope(data: dict, participating: set[int]) -> set[int]:
    """The organisations the consent covers: at least one, each taking part (participating)."""
    scope = fields.ids(data, "organisation_ids")
    if not scope:
        raise InvalidInput(_l("Choose the organisations the consent covers."), field="organisation_ids")
    if not scope <= participating:
        raise InvalidInput(
            _l("The consent can only cover organisations taking part."), field="organisation_ids"
        )
    return scope


# Who gives or declines a child's consent (_givers): a guardian, never the child nor anyone else.
CHILD_GIVER = GUARDIAN_GIVER


def case_guardians_consent(
    session: Session, workflow: Workflow | None, case: SipCase, *, now: datetime
) -> bool:
    """guardians_consent for case (on workflow, its file) on now's Swedish day: the person read by id."""
    if workflow is None or not workflow.childs_view:
        return False
    return guardians_consent(workflow, session.get(Person, case.person_id), to_local(now).date())


def case_consent_givers(
    session: Session, workflow: Workflow | None, case: SipCase, *, now: datetime
) -> tuple[str, ...]:
    """consent_givers for case on now's Swedish day (the consent forms' offer): the person read by id."""
    today = to_local(now).date()
    return consent_givers(
        child=case_guardians_consent(session, workflow, case, now=now),
        adult=_of_age(session, case, today),
    )


def _givers(
    refusals: Refusals,
    session: Session,
    case: SipCase,
    data: dict,
    participants: list[Participant] | None,
    *,
    child: bool,
    declined: bool = False,
    today: date | None = None,
) -> tuple[str | None, list[Participant]]:
    """Who gives (or, declined, declines) the consent: data's "given_by" and the guardians ticked under
    "guardian_participant_ids", each refusal kept in refusals at its field. The one rule of both forms.

    For a child (child: guardians_consent) only a guardian gives or declines it, refused at "given
    by" otherwise; for a person of age on today (the Swedish day; None: not asked) a guardian does not,
    custody having ended at 18: the person or their legal representative does. A refusal names the guardians
    declining among those taking part (each gets a row of their own, so the SIP says who declined); a
    consent's missing guardians are the guard guardians_consented's.
    """
    given_by = refusals.take(fields.choice, data, "given_by", CONSENT_GIVERS)
    if given_by is None:
        return given_by, []
    # Whether the person is of age matters to a guardian giving it only (asked then alone).
    adult = given_by == CHILD_GIVER and not child and today is not None and _of_age(session, case, today)
    if given_by not in consent_givers(child=child, adult=adult):
        refusals.refuse(GUARDIAN_OF_ADULT if adult else GUARDIAN_FOR_A_CHILD, "given_by")
        return given_by, []
    if given_by != CHILD_GIVER:
        return given_by, []
    guardians = refusals.take(_consenting_guardians, session, case, data, participants, default=None)
    if guardians is None:
        return given_by, []
    if declined and not guardians and _guardians_taking_part(session, case, participants):
        refusals.refuse(_l("Tick the guardians who declined."), "guardian_participant_ids")
    return given_by, guardians


GUARDIAN_FOR_A_CHILD = _l("For a child, consent is given or declined by a guardian: choose “Guardian”.")
GUARDIAN_OF_ADULT = _l(
    "The person is 18 or older: a guardian's custody has ended, so the person gives or declines the consent "
    "themselves, or their legal representative (god man or förvaltare) does."
)


def _of_age(session: Session, case: SipCase, today: date) -> bool:
    """Whether case's person is 18 or older on today (a birth date unknown: not taken to be of age)."""
    return of_age(session.get(Person, case.person_id), today)


def _guardians_taking_part(
    session: Session, case: SipCase, participants: list[Participant] | None
) -> dict[int, Participant]:
    if participants is not None:
        return {p.id: p for p in participants if p.kind == "guardian"}
    return {p.id: p for p in active_guardians(session, case.id)}


def _consenting_guardians(
    session: Session, case: SipCase, data: dict, participants: list[Participant] | None
) -> list[Participant]:
    """The guardians of the case named as consenting; each gets a consent row of their own."""
    chosen = fields.ids(data, "guardian_participant_ids")
    guardians = _guardians_taking_part(session, case, participants)
    if not chosen <= set(guardians):
        raise InvalidInput(_l("Choose among the guardians taking part."), field="guardian_participant_ids")
    return [guardians[i] for i in sorted(chosen)]


def check_decline(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    participants: list[Participant] | None = None,
    child: bool = False,
    now: datetime | None = None,
) -> tuple[str, list[Participant], str, str, str | None]:
    """A declined consent's fields read from data (who declined, the guardians ticked, the form, the
    reason, the name typed), every field at fault refused at once, each at its field; writes nothing.
    child: as in check_consent (the same rule of who declines, _givers); a legal representative is named,
    as in check_consent."""
    refusals = Refusals()
    today = to_local(now).date() if now is not None else None
    given_by, guardians = _givers(
        refusals, session, case, data, participants, child=child, declined=True, today=today
    )
    name_refusals = len(refusals.errors)
    typed_name = refusals.take(fields.line, data, "given_by_name")
    name_refused = len(refusals.errors) > name_refusals
    if guardians and typed_name:
        refusals.refuse(GUARDIANS_AND_NAME_DECLINED, "given_by_name")
    if given_by == REPRESENTATIVE_GIVER and not typed_name and not name_refused:
        refusals.refuse(REPRESENTATIVE_UNNAMED_DECLINE, "given_by_name")
    form = refusals.take(fields.choice, data, "form", CONSENT_FORMS)
    reason = refusals.take(fields.require_text, data, "reason", _l("State the reason given."))
    refusals.raise_any()
    return given_by, guardians, form, reason, typed_name


def decline_consent(
    session: Session,
    case: SipCase,
    actor: User,
    data: dict,
    *,
    now: datetime,
    participants: list[Participant] | None = None,
    child: bool = False,
) -> list[Consent]:
    """Record a refusal and its reason: a SIP is never made against the person's will. One row per guardian
    ticked as declining (their participant row and name: the SIP says who declined), else one."""
    given_by, guardians, form, reason, typed_name = check_decline(
        session, case, data, participants=participants, child=child, now=now
    )
    consents = [
        Consent(
            case_id=case.id,
            decision="declined",
            given_by=given_by,
            given_by_name=guardian.name if guardian else typed_name,
            given_by_participant_id=guardian.id if guardian else None,
            form=form,
            declined_reason=reason,
            recorded_at=now,
            recorded_by_user_id=actor.id,
        )
        for guardian in guardians or [None]
    ]
    session.add_all(consents)
    return consents


def withdraw_consents(session: Session, case: SipCase, *, now: datetime, reason: str | None) -> None:
    """Mark every consent of the case withdrawn: the other parties lose access at once."""
    _note_consents_written(session, case.id)
    for consent in session.exec(
        select(Consent).where(Consent.case_id == case.id, Consent.withdrawn_at.is_(None))
    ).all():
        consent.withdrawn_at = now
        consent.withdrawn_reason = reason
        session.add(consent)


# --- A further consent, after the SIP's consent step -------------------------------------------------------


def consent_recorders(workflow: Workflow) -> set[str]:
    """The parties the workflow lets record consent: those of its steps with the consent form."""
    return {party for t in workflow.transitions if t.form == CONSENT_FORM for party in t.parties}


def _consent_change_refusal(
    workflow: Workflow, case: SipCase, roles: set[str], *, consent_given: bool, ended, not_recorder, not_given
) -> UserError | None:
    """Why the SIP's consent cannot be changed now, in the caller's words; None when it can.

    The one rule of a further consent and of a withdrawal for one organisation: an open SIP (else ended), a
    party that records the SIP's consent (else not_recorder), a given consent to add to (else not_given).
    """
    if workflow.is_final(case.state):
        return CaseEnded(ended)
    if not roles & consent_recorders(workflow):
        return NotAllowed(not_recorder)
    if not consent_given:
        return Conflict(not_given)
    return None


def _read_refusal(rule, session: Session, registry: WorkflowRegistry, case: SipCase, actor: User):
    """rule (further_consent_refusal, organisation_withdrawal_refusal) for actor on case, from what it reads
    (the actor's roles, the consents)."""
    workflow = registry.get(case.workflow_name, case.workflow_version)
    roles = party_roles(session, case, actor_organisation_id(session, actor))
    return rule(workflow, case, roles, consent_given=has_given_consent(session, case))


def further_consent_refusal(
    workflow: Workflow, case: SipCase, roles: set[str], *, consent_given: bool
) -> UserError | None:
    """Why a further consent cannot be recorded on case now; None when it can.

    roles: the actor's party roles in the case; consent_given: whether the SIP's consent step recorded a
    given consent (the first consent is always that step, so its guards and deadlines see it).
    """
    return _consent_change_refusal(
        workflow,
        case,
        roles,
        consent_given=consent_given,
        ended=_l("The SIP has ended: no consent can be recorded for it."),
        not_recorder=_l("Only the parties that record the SIP's consent may record a further one."),
        not_given=_l(
            "The SIP's first consent is recorded as a step under Next steps; a further one comes after it."
        ),
    )


def refusal_of_further_consent(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User
) -> UserError | None:
    """further_consent_refusal for actor on case, from what it reads (the actor's roles, the consents)."""
    return _read_refusal(further_consent_refusal, session, registry, case, actor)


def organisation_withdrawal_refusal(
    workflow: Workflow, case: SipCase, roles: set[str], *, consent_given: bool
) -> UserError | None:
    """Why a withdrawal for one organisation cannot be recorded on case now; None when it can.

    The parties that record the SIP's consent record its withdrawal for one organisation too, on an open
    SIP with a given consent: further_consent_refusal's rule, in its own words.
    """
    return _consent_change_refusal(
        workflow,
        case,
        roles,
        consent_given=consent_given,
        ended=_l("The SIP has ended: its consent can no longer be changed."),
        not_recorder=_l(
            "Only the parties that record the SIP's consent may record that it is withdrawn for an "
            "organisation."
        ),
        not_given=_l("No consent has been given for this SIP yet, so there is nothing to withdraw."),
    )


def refusal_of_organisation_withdrawal(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User
) -> UserError | None:
    """organisation_withdrawal_refusal for actor on case, from what it reads."""
    return _read_refusal(organisation_withdrawal_refusal, session, registry, case, actor)


def has_given_consent(session: Session, case: SipCase) -> bool:
    """Whether a given consent was ever recorded for case (withdrawn or run out included)."""
    found = session.exec(
        select(Consent.id).where(Consent.case_id == case.id, Consent.decision == GIVEN).limit(1)
    ).first()
    return found is not None


def record_further_consent(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    data: dict,
    *,
    expected_version: int,
    now: datetime,
) -> FurtherConsent:
    """Record a consent after the consent step: for an organisation that joined later, or one running out.

    The same form and checks as the step's (give_consent). Claims the case at expected_version (a stale
    page is a conflict), so the change shows in Mina SIP and forms read before it are stale. A consent adds
    coverage and takes none away: the result names the organisations it leaves out that an earlier consent
    in force still covers (the page says so, and how a withdrawal for one of them is recorded).
    """
    refusal = refusal_of_further_consent(session, registry, case, actor)
    if refusal is not None:
        raise refusal
    touch_case(session, case, expected_version=expected_version, now=now)
    earlier = covered_organisations(session, case, today=to_local(now).date())
    child = case_guardians_consent(
        session, registry.get(case.workflow_name, case.workflow_version), case, now=now
    )
    consents = give_consent(session, case, actor, data, now=now, child=child)
    scope = set(fields.ids(data, "organisation_ids"))
    left_out = [
        c
        for c in earlier
        if c.organisation_id not in scope and c.organisation_id != case.initiating_organisation_id
    ]
    return FurtherConsent(consents, left_out)


def own_further_consent_just_recorded(
    session: Session, case: SipCase, actor: User, data: dict, *, expected_version: int, now: datetime
) -> Consent | None:
    """The further consent a form sent at expected_version records, when actor recorded just that one a
    moment ago (just_done_by) from the same version and nothing changed in the SIP since (repeats_consent):
    the form is their second send of it. Another consent, or any change after it, is someone else's: None."""
    if case.version != expected_version + 1:
        return None
    newest = session.exec(
        select(Consent).where(Consent.case_id == case.id).order_by(Consent.id.desc()).limit(1)
    ).first()
    if newest is None or newest.decision != GIVEN:
        return None
    if not just_done_by(actor, newest.recorded_by_user_id, newest.recorded_at, now=now):
        return None
    return newest if repeats_consent(session, newest.id, data) else None


@dataclass(frozen=True)
class FurtherConsent:
    """A further consent recorded: its rows, and the organisations it leaves out that an earlier consent in
    force still covers (they keep seeing the SIP), the initiator aside (it leads the SIP either way)."""

    consents: list[Consent]
    still_covered: list[CoveredOrganisation]


@dataclass(frozen=True)
class CoveredOrganisation:
    """An organisation taking part that a consent in force covers, by the name the SIP's pages give it
    (participants.labelled_organisations), and the last day one does (None: until withdrawn)."""

    organisation_id: int
    name: str
    until: date | None


def _coverage(session: Session, case_id: int, today: date) -> dict[int, tuple[str, date | None]]:
    """Each organisation taking part in the case that the consents in force on today cover: its name and
    the last day one of them does (None: until withdrawn). What the access rule counts as covering
    (Consent.in_force, ConsentOrganisation.covering); one statement."""
    rows = session.exec(
        select(ConsentOrganisation.organisation_id, Organisation.name, Consent.valid_until)
        .join(Consent, Consent.id == ConsentOrganisation.consent_id)
        .join(Organisation, Organisation.id == ConsentOrganisation.organisation_id)
        .where(
            Consent.case_id == case_id,
            Consent.in_force(today),
            ConsentOrganisation.covering(),
            ConsentOrganisation.organisation_id.in_(
                select(Participant.organisation_id).where(Participant.case_id == case_id, Participant.active)
            ),
        )
    ).all()
    names = {organisation_id: name for organisation_id, name, _until in rows}
    ends = _last_days((organisation_id, valid_until) for organisation_id, _name, valid_until in rows)
    return {organisation_id: (names[organisation_id], until) for organisation_id, until in ends.items()}


def _last_days(rows: Iterable[tuple[int, date | None]]) -> dict[int, date | None]:
    """Per key, the last day its consents in force (key, valid_until) cover: the latest, None (until
    withdrawn) over any day."""
    found: dict[int, date | None] = {}
    for key, valid_until in rows:
        if key not in found:
            found[key] = valid_until
        elif found[key] is not None and (valid_until is None or valid_until > found[key]):
            found[key] = valid_until
    return found


def covered_organisations(session: Session, case: SipCase, *, today: date) -> list[CoveredOrganisation]:
    """The organisations taking part in case that the consents in force on today cover, each with the last
    day one of them does, by name (labelled apart where two share a name), for the consent pages."""
    coverage = _coverage(session, case.id, today)
    labels = case_organisation_labels(session, case.id) if coverage else {}
    return sorted(
        (CoveredOrganisation(i, labels.get(i, name), until) for i, (name, until) in coverage.items()),
        key=lambda c: (c.name.casefold(), c.organisation_id),
    )


def first_coverage_end(session: Session, case: SipCase, *, today: date) -> date | None:
    """The last day of consent of the organisation taking part whose consent runs out first (None: every
    one's lasts until withdrawn): from then on it no longer sees the SIP. The organisation that started the
    SIP sees it whatever the consent says (security.access), so its own end is not counted. One statement."""
    coverage = _coverage(session, case.id, today)
    return min(
        (until for i, (_, until) in coverage.items() if until and i != case.initiating_organisation_id),
        default=None,
    )


def first_consent_end(
    session: Session, workflow: Workflow | None, case: SipCase, *, today: date
) -> date | None:
    """The last day of consent after which the SIP first loses something (None: nothing runs out): the
    organisation taking part whose consent runs out first (first_coverage_end) or, where the guardians
    consent (guardians_consent: a child's SIP, the person under 18), the guardian taking part whose
    consent runs out first, when that is earlier: from the next day the steps asking every guardian's
    consent are refused for them (guardians_without_consent), though the other guardian's consent still
    covers the organisations. What a reminder ahead of the consent's end counts from."""
    ends = [first_coverage_end(session, case, today=today)]
    if guardians_consent(workflow, session.get(Person, case.person_id), today):
        guardians = session.exec(
            select(Consent.given_by_participant_id, Consent.valid_until).where(
                Consent.case_id == case.id,
                Consent.in_force(today),
                Consent.given_by == CHILD_GIVER,
                Consent.given_by_participant_id.in_(
                    select(Participant.id).where(
                        Participant.case_id == case.id, Participant.kind == GUARDIAN, Participant.active
                    )
                ),
            )
        ).all()
        ends.extend(_last_days(guardians).values())
    return min((end for end in ends if end is not None), default=None)


def consents_ended_query(*, first: date, last: date):
    """The query of cases_whose_consent_ended: a range of the consents' last days (ix_consent_valid_until),
    so the nightly job reads the week's ends, not every consent."""
    return (
        select(Consent.case_id)
        .where(
            Consent.decision == GIVEN,
            Consent.withdrawn_at.is_(None),
            Consent.valid_until >= first,
            Consent.valid_until <= last,
        )
        .group_by(Consent.case_id)
        .order_by(Consent.case_id)
    )


def cases_whose_consent_ended(session: Session, *, first: date, last: date) -> list[int]:
    """The cases with a consent given and not withdrawn whose last day is from first to last (Swedish days),
    in id order: an organisation it covered may have stopped being covered then, so what counts from the
    consent's end (first_coverage_end) has moved though no consent was written. One statement."""
    return list(session.exec(consents_ended_query(first=first, last=last)).all())


# The guard that asks every guardian taking part to have consented (workflow_hooks registers it; a workflow
# file names it on the steps of a child's SIP that share it: sip_child version 2 on every one).
GUARDIANS_CONSENTED = "guardians_consented"
# The participants' kind of a guardian.
GUARDIAN = "guardian"


def guardians_without_consent(participants: Iterable, consents: Iterable[Consent]) -> list:
    """The guardians among participants (the case's active ones, anything with id and kind, in the caller's
    order) that none of consents (those in force) was given by: the one answer to whose consent a child's
    SIP lacks. The guard guardians_consented, its refusal naming them and the case page ask it; it reads
    nothing."""
    consented = {c.given_by_participant_id for c in consents if c.given_by == CHILD_GIVER}
    return [p for p in participants if p.kind == GUARDIAN and p.id not in consented]


def guardians_lacking_consent(
    workflow: Workflow,
    state: str,
    participants: Sequence,
    consents: Iterable[Consent],
    *,
    person: Person | None,
    today: date,
) -> list:
    """The guardians taking part whose consent a step of workflow from state asks (its guard
    guardians_consented) and no consent in force gives (guardians_without_consent); [] when no step from
    state asks every guardian's consent (an ended SIP, a workflow version that does not) or the guardians
    consent no more (guardians_consent: the person has turned 18). For the case page: the guardians it
    names before a step is refused for them. Reads nothing."""
    if not any(GUARDIANS_CONSENTED in t.conditions for t in workflow.transitions_from(state)):
        return []
    if not guardians_consent(workflow, person, today):
        return []
    return guardians_without_consent(participants, consents)


# How long before a child's 18th birthday the case page tells staff it comes (custody_turn): a quarter, time
# to ask the young person for their own consent and whether their guardians go on taking part.
TURN_NOTICE_DAYS = 90


@dataclass(frozen=True)
class CustodyTurn:
    """The person's 18th birthday on a child's SIP, as the case page tells staff of it: coming or passed."""

    birthday: date
    passed: bool


def custody_turn(
    workflow: Workflow,
    state: str,
    consents: Iterable[tuple[Consent, bool]],
    *,
    person: Person | None,
    today: date,
) -> CustodyTurn | None:
    """What the case page says of the person's 18th birthday on an open SIP of a child's workflow
    (childs_view), from its consents (each with whether it is in force today): the birthday within
    TURN_NOTICE_DAYS, when the guardians' consent ends (guardians_last_day); or passed while a guardian
    consented and no consent of the person's own (or their legal representative's) is in force, so staff ask
    the young adult before the SIP goes on. None otherwise (an unknown birth date, an ended SIP). Reads
    nothing."""
    if not workflow.childs_view or workflow.is_final(state):
        return None
    last_day = guardians_last_day(person)
    if last_day is None:
        return None
    birthday = last_day + timedelta(days=1)
    if today < birthday:
        return CustodyTurn(birthday, passed=False) if (birthday - today).days <= TURN_NOTICE_DAYS else None
    consents = list(consents)
    by_guardians = any(c.given_by == CHILD_GIVER and c.decision == GIVEN for c, _ in consents)
    own = any(in_force and c.given_by != CHILD_GIVER for c, in_force in consents)
    return CustodyTurn(birthday, passed=True) if by_guardians and not own else None


def consent_giver(session: Session, case: SipCase) -> str | None:
    """Who gave case's consent (CONSENT_GIVERS: the person, the guardians, a legal representative), as its
    latest given consent records it; None before one. The consent pages word a withdrawal by it."""
    return session.exec(
        select(Consent.given_by)
        .where(Consent.case_id == case.id, Consent.decision == GIVEN)
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
    ).first()


def withdrawn_organisations(session: Session, case: SipCase) -> dict[int, date]:
    """The organisations taking part in case that the consent was withdrawn for (a consent's row withdrawn,
    withdraw_for_organisation) and that no consent recorded since names: id -> the Swedish day of the latest
    withdrawal. A further consent starts them unticked and says so (ticking one again gives it back the
    SIP: a new consent may name it again)."""
    rows = session.exec(
        select(ConsentOrganisation.organisation_id, ConsentOrganisation.withdrawn_at, Consent.recorded_at)
        .join(Consent, Consent.id == ConsentOrganisation.consent_id)
        .where(Consent.case_id == case.id, Consent.decision == GIVEN)
    ).all()
    withdrawn: dict[int, datetime] = {}
    named: dict[int, datetime] = {}
    for organisation_id, withdrawn_at, recorded_at in rows:
        latest = withdrawn if withdrawn_at is not None else named
        at = withdrawn_at if withdrawn_at is not None else recorded_at
        if organisation_id not in latest or at > latest[organisation_id]:
            latest[organisation_id] = at
    taking_part = {o.id for o in participating_organisations(session, case.id)}
    return {
        organisation_id: to_local(at).date()
        for organisation_id, at in withdrawn.items()
        if organisation_id in taking_part and not (organisation_id in named and named[organisation_id] >= at)
    }


# --- A consent withdrawn for one organisation ---------------------------------------------------------------

# What other areas do when the consent stops covering an organisation of a case (meetings withdraws its
# invitations to meetings ahead, as its nightly coverage job does when a consent runs out): each is called
# as hook(session, case, now=now) in the withdrawal's unit of work. The area registers its own.
_COVERAGE_HOOKS: list[Callable[..., object]] = []


def register_coverage_withdrawal(hook: Callable[..., object]) -> None:
    """Run hook(session, case, now=now) whenever consent is withdrawn for an organisation of a case."""
    if hook not in _COVERAGE_HOOKS:
        _COVERAGE_HOOKS.append(hook)


def withdrawable_organisations(
    case: SipCase, covered: list[CoveredOrganisation]
) -> list[CoveredOrganisation]:
    """Of covered (covered_organisations), those a withdrawal for one organisation may name: all but the
    initiator (it leads the SIP and keeps it whatever the consent: withdrawing its consent is withdrawing
    the SIP's, the workflow's step)."""
    return [c for c in covered if c.organisation_id != case.initiating_organisation_id]


@dataclass(frozen=True)
class OrganisationWithdrawal:
    """A withdrawal for one organisation recorded: the organisation and the consents it ended it in."""

    organisation: CoveredOrganisation
    consent_ids: list[int]


def check_organisation_withdrawal(
    session: Session, case: SipCase, data: dict, *, now: datetime
) -> tuple[CoveredOrganisation, str | None]:
    """The organisation chosen and the reason, every field at fault refused at once; writes nothing."""
    today = to_local(now).date()
    refusals = Refusals()
    reason = refusals.take(fields.text, data, "reason")
    chosen = data.get("organisation_id")
    covered = covered_organisations(session, case, today=today)
    offered = {c.organisation_id: c for c in withdrawable_organisations(case, covered)}
    organisation = offered.get(chosen) if isinstance(chosen, int) else None
    if chosen is None:
        refusals.refuse(_l("Choose the organisation the consent is withdrawn for."), "organisation_id")
    elif chosen == case.initiating_organisation_id:
        # Not "not covered": it may well be; it sees the SIP whatever the consent says.
        refusals.refuse(
            _l(
                "The organisation that started the SIP sees it whatever the consent says. To withdraw the "
                "consent altogether, record that with “Withdraw consent” under Next steps."
            ),
            "organisation_id",
        )
    elif organisation is None:
        refusals.refuse(
            _l("The consent does not cover that organisation now. Choose one of those listed."),
            "organisation_id",
        )
    elif all(c.organisation_id == organisation.organisation_id for c in covered):
        refusals.refuse(
            _l(
                "The consent would then cover no organisation. When the person withdraws all of it, "
                "record that with “Withdraw consent” under Next steps."
            ),
            "organisation_id",
        )
    elif holds_huvudansvar(active_participants(session, case.id), organisation.organisation_id):
        # It leads the SIP (its deadlines, its reminders, who is removed): it must see it. Moved first.
        refusals.refuse(
            _l(
                "That organisation has overall responsibility for the SIP. Hand overall responsibility over "
                "to another organisation on the plan page first, then record the withdrawal."
            ),
            "organisation_id",
        )
    refusals.raise_any()
    return organisation, reason


def organisation_withdrawal_refusal_in(
    session: Session, case: SipCase, data: dict, *, now: datetime
) -> InvalidInput | None:
    """What check_organisation_withdrawal refuses in data, or None: for a page whose own form checks refused
    the form already, so every field is marked at once."""
    return refusal_of(check_organisation_withdrawal, session, case, data, now=now)


def withdraw_for_organisation(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    data: dict,
    *,
    expected_version: int,
    now: datetime,
) -> OrganisationWithdrawal:
    """Record that the person withdrew their consent for one organisation, keeping it for the others.

    Each consent in force's row for that organisation is ended (when, by whom, why), so the access rule,
    and with it Mina SIP, Att göra and every read of who sees the SIP, no longer counts the organisation
    as covered; its participants stay on the SIP, as when a consent runs out, and the areas registered
    with register_coverage_withdrawal act on it in this unit of work (meetings withdraws its invitations to
    meetings ahead). Claims the case at expected_version, as a further consent does.
    """
    refusal = refusal_of_organisation_withdrawal(session, registry, case, actor)
    if refusal is not None:
        raise refusal
    organisation, reason = check_organisation_withdrawal(session, case, data, now=now)
    touch_case(session, case, expected_version=expected_version, now=now)
    in_force = select(Consent.id).where(Consent.case_id == case.id, Consent.in_force(to_local(now).date()))
    ended = session.execute(
        update(ConsentOrganisation)
        .where(
            ConsentOrganisation.organisation_id == organisation.organisation_id,
            ConsentOrganisation.covering(),
            ConsentOrganisation.consent_id.in_(in_force.scalar_subquery()),
        )
        .values(withdrawn_at=now, withdrawn_by_user_id=actor.id, withdrawn_reason=reason)
        .returning(ConsentOrganisation.consent_id)
        .execution_options(synchronize_session=False)
    ).all()
    consent_ids = sorted(row[0] for row in ended)
    _note_consents_written(session, case.id)
    for hook in _COVERAGE_HOOKS:
        hook(session, case, now=now)
    # Ids only: an organisation's name can say what the person is treated for.
    log.info(
        "consent withdrawn for organisation %s on case %s by user %s (consents %s)",
        organisation.organisation_id,
        case.id,
        actor.id,
        consent_ids,
    )
    return OrganisationWithdrawal(organisation, consent_ids)


def own_organisation_withdrawal_just_recorded(
    session: Session, case: SipCase, actor: User, data: dict, *, expected_version: int, now: datetime
) -> bool:
    """The withdrawal for one organisation a form sent at expected_version records, when actor recorded just
    that one (the organisation, the reason) a moment ago (just_done_by) from the same version and nothing
    changed in the SIP since: the form is their second send of it. Anything else is someone else's change."""
    chosen = data.get("organisation_id")
    if case.version != expected_version + 1 or not isinstance(chosen, int):
        return False
    newest = session.exec(
        select(ConsentOrganisation)
        .join(Consent, Consent.id == ConsentOrganisation.consent_id)
        .where(
            Consent.case_id == case.id,
            ConsentOrganisation.organisation_id == chosen,
            ConsentOrganisation.withdrawn_at.is_not(None),
        )
        .order_by(ConsentOrganisation.withdrawn_at.desc())
        .limit(1)
    ).first()
    if newest is None or not just_done_by(actor, newest.withdrawn_by_user_id, newest.withdrawn_at, now=now):
        return False
    try:
        reason = fields.text(data, "reason")
    except InvalidInput:
        return False
    return reason == newest.withdrawn_reason
