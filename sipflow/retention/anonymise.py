"""Anonymise cases whose retention has run out, and their person once none of the person's cases is kept.

A case in a final state is kept for the `retention_years` its workflow file gives that state (or the
SIPFLOW_RETENTION_YEARS_<STATE> override), counted from its final transition. After that its free text
goes: the questions, the child's view, the closing reason, every transition's reason and the free text in
its details (meeting decisions), the consents' names, scope text and reasons, the närstående's and
guardians' names and contact details, the reasons an organisation's consent was withdrawn, the meetings'
places, rooms, links, decision texts and no-change reasons, the invitations' addresses and the comments
invitees answered with, and what other areas' scrubbers clear (the plan's text and its versions' documents,
the mails sent about the case and their .eml files, the reminders' addresses, the code reversals' typed
reasons). tests/retention/test_retention_columns.py holds every text column of the case's tables to it.
What statistics count stays: state, occasion, workflow, dates, meeting modes and attendance, organisations,
deadlines, consent decisions and the person's sex, birth year and folkbokföringskommun. The access log is
never touched (it outlives the records it describes).

A person is anonymised once every one of their cases has been: the name is replaced, the identifier becomes
a random reservnummer-like value (with its own lookup hash), and the birth date keeps only its year.

Each anonymisation is recorded (`AnonymisedCase`, `AnonymisedPerson`), so running the job again does
nothing more; later areas with free text of their own add a scrubber with `register_case_scrubber`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask import Flask
from sqlalchemy import and_, bindparam, exists, false, func, or_, tuple_, update
from sqlmodel import Session, select

from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.clock import to_local
from sipflow.config import ConfigError, retention_override_variable
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Invitation, Meeting, MeetingDecision
from sipflow.people.identifiers import RESERVNUMMER, age_on
from sipflow.people.models import Person
from sipflow.people.services import identifier_hash
from sipflow.retention.models import (
    ANONYMOUS_FAMILY_NAME,
    ANONYMOUS_GIVEN_NAME,
    ANONYMOUS_PREFIX,
    AnonymisedCase,
    AnonymisedPerson,
)
from sipflow.workflow.definition import Workflow

log = logging.getLogger(__name__)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Transition details that are facts, not free text; everything else in details is dropped.
KEPT_DETAIL_KEYS = frozenset({"sent_at", "meeting_id", "consent_id", "huvudansvarig_organisation_id"})
BATCH_SIZE = 200

CaseScrubber = Callable[[Session, list[SipCase]], None]
_SCRUBBERS: list[CaseScrubber] = []


def register_case_scrubber(scrubber: CaseScrubber) -> CaseScrubber:
    """Add a function that clears one more area's free text of a batch of cases; a decorator."""
    _SCRUBBERS.append(scrubber)
    return scrubber


@dataclass(frozen=True)
class RetentionPolicy:
    """Years kept per (workflow name, final state), and the key hashing replaced identifiers."""

    years: Mapping[tuple[str, str], int]
    hash_key: str

    @classmethod
    def from_workflows(
        cls, workflows: Iterable[Workflow], *, overrides: Mapping[str, int], hash_key: str
    ) -> RetentionPolicy:
        """The files' retention_years per workflow name (its newest version wins), overrides by state name.

        An override naming a state that no workflow has as a final state is refused (ConfigError).
        """
        years: dict[tuple[str, str], int] = {}
        # Oldest version first, so the newest says how long a state is kept; a final state only an older
        # version has keeps that version's years (its cases must still be anonymised).
        for workflow in sorted(workflows, key=lambda w: (w.name, w.version)):
            for state, kept in workflow.retention_years.items():
                years[(workflow.name, state)] = kept
        finals = {state for _, state in years}
        by_variable = {retention_override_variable(state): state for state in finals}
        for name, kept in overrides.items():
            variable = retention_override_variable(name)
            if variable not in by_variable:
                raise ConfigError(
                    f"{variable} names no final state of any workflow "
                    f"(final states: {', '.join(sorted(finals))})"
                )
            state = by_variable[variable]
            for key in years:
                if key[1] == state:
                    years[key] = kept
        return cls(years=years, hash_key=hash_key)

    @classmethod
    def from_app(cls, app: Flask) -> RetentionPolicy:
        """The policy of the application: its workflow files and SIPFLOW_RETENTION_YEARS_* overrides."""
        return cls.from_workflows(
            app.extensions["sipflow.workflows"].workflows(),
            overrides=app.config["RETENTION_YEARS"],
            hash_key=app.config["PNR_HASH_KEY"],
        )

    def cutoff(self, workflow_name: str, state: str, now: datetime) -> datetime:
        """Cases of the workflow that reached state at or before this moment have outlived their retention."""
        return years_before(now, self.years[(workflow_name, state)])


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment years earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _final_at():
    """When the case entered its current state: its last transition there (else its last update)."""
    entered = (
        select(func.max(TransitionLog.at))
        .where(TransitionLog.case_id == SipCase.id, TransitionLog.to_state == SipCase.state)
        .correlate(SipCase)
        .scalar_subquery()
    )
    return func.coalesce(entered, SipCase.updated_at)


def expired_cases_query(
    *, now: datetime, policy: RetentionPolicy, limit: int | None = None, after_id: int | None = None
):
    """The not yet anonymised cases whose retention has run out at now, oldest id first (after after_id)."""
    final_at = _final_at()
    # One branch per distinct number of years, each matching its (workflow_name, state) pairs; the state
    # filter in front lets the database use the index on state.
    pairs_by_years: dict[int, list[tuple[str, str]]] = {}
    for pair, years in sorted(policy.years.items()):
        pairs_by_years.setdefault(years, []).append(pair)
    pair = tuple_(SipCase.workflow_name, SipCase.state)
    expired = or_(
        false(),  # a policy without final states matches nothing
        *(
            and_(pair.in_(pairs), final_at <= years_before(now, years))
            for years, pairs in sorted(pairs_by_years.items())
        ),
    )
    done = exists().where(AnonymisedCase.case_id == SipCase.id)
    final_states = sorted({state for _, state in policy.years})
    query = select(SipCase).where(SipCase.state.in_(final_states), expired, ~done).order_by(SipCase.id)
    if after_id is not None:
        query = query.where(SipCase.id > after_id)
    return query.limit(limit) if limit else query


# Per model with a case_id: the free-text columns retention clears (the transition log is done apart).
CLEARED_COLUMNS = (
    (Consent, ("given_by_name", "information_scope", "declined_reason", "withdrawn_reason")),
    (Participant, ("name", "relation", "email", "phone", "removed_reason")),
    (Meeting, ("location", "room", "video_url", "no_change_reason")),
)


def _scrub_cases(session: Session, cases: list[SipCase]) -> None:
    """Clear the free text of the cases and their rows, a few statements for the whole batch."""
    case_ids = [case.id for case in cases]
    session.execute(
        _quiet(
            update(SipCase)
            .where(SipCase.id.in_(case_ids))
            .values(questions=None, child_view=None, closed_reason=None)
        )
    )
    entries = session.execute(
        select(TransitionLog.id, TransitionLog.details).where(TransitionLog.case_id.in_(case_ids))
    ).all()
    if entries:
        log_table = TransitionLog.__table__
        session.execute(
            update(log_table)
            .where(log_table.c.id == bindparam("b_id"))
            .values(reason=None, details=bindparam("b_details")),
            [
                {
                    "b_id": entry_id,
                    "b_details": {k: v for k, v in (details or {}).items() if k in KEPT_DETAIL_KEYS},
                }
                for entry_id, details in entries
            ],
        )
    for model, columns in CLEARED_COLUMNS:
        session.execute(
            _quiet(update(model).where(model.case_id.in_(case_ids)).values(dict.fromkeys(columns)))
        )
    # A consent withdrawn for one organisation keeps when and by whom; the words given go.
    session.execute(
        _quiet(
            update(ConsentOrganisation)
            .where(
                ConsentOrganisation.consent_id.in_(select(Consent.id).where(Consent.case_id.in_(case_ids)))
            )
            .values(withdrawn_reason=None)
        )
    )
    meeting_ids = select(Meeting.id).where(Meeting.case_id.in_(case_ids))
    # A decision stays a counted fact (owner, date); what it said goes.
    session.execute(
        _quiet(update(MeetingDecision).where(MeetingDecision.meeting_id.in_(meeting_ids)).values(text=""))
    )
    # An answer stays (who came, how); the address it went to and the invitee's own words go.
    session.execute(
        _quiet(
            update(Invitation).where(Invitation.meeting_id.in_(meeting_ids)).values(email=None, comment=None)
        )
    )
    for scrubber in _SCRUBBERS:
        scrubber(session, cases)


def _quiet(statement):
    """The bulk statement without synchronising the session (retention reads back nothing it clears)."""
    return statement.execution_options(synchronize_session=False)


def _random_reservnummers(session: Session, hash_key: str, count: int) -> list[tuple[str, str]]:
    """count random reservnummer-like values with their lookup hashes, each unused by any person."""
    found: dict[str, str] = {}
    while len(found) < count:
        drawn = {}
        for _ in range(count - len(found)):
            value = ANONYMOUS_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(12))
            drawn[identifier_hash(hash_key, value)] = value
        taken = set(session.exec(select(Person.id_hash).where(Person.id_hash.in_(list(drawn)))).all())
        found.update(
            {digest: value for digest, value in drawn.items() if digest not in taken and digest not in found}
        )
    return [(value, digest) for digest, value in found.items()]


def anonymise_person(session: Session, person: Person, *, now: datetime, policy: RetentionPolicy) -> None:
    """Replace the person's name and identifier, keep the birth year, sex and folkbokföringskommun."""
    anonymise_persons(session, [person], now=now, policy=policy)


def anonymise_persons(
    session: Session, persons: list[Person], *, now: datetime, policy: RetentionPolicy
) -> None:
    """anonymise_person for each of persons, a few statements for them all."""
    if not persons:
        return
    _keep_ages(session, [person for person in persons if person.birth_date is not None])
    for person, (value, digest) in zip(
        persons, _random_reservnummers(session, policy.hash_key, len(persons)), strict=True
    ):
        person.id_kind = RESERVNUMMER
        person.id_number = value
        person.id_hash = digest
        person.given_name = ANONYMOUS_GIVEN_NAME
        person.family_name = ANONYMOUS_FAMILY_NAME
        if person.birth_date is not None:
            person.birth_date = date(person.birth_date.year, 1, 1)
        session.add(person)
    session.add_all([AnonymisedPerson(person_id=person.id, anonymised_at=now) for person in persons])


def _keep_ages(session: Session, persons: list[Person]) -> None:
    """Write on the persons' cases their age at the request, and on the cases' deadlines their age on the
    day each falls due, from the whole birth date before it is cut to its year: the statistics count a SIP
    offered and a follow-up due in the age band of those days (stats.services.case_outcome_queries), and a
    figure published must not move when the person is anonymised years later."""
    births = {person.id: person.birth_date for person in persons}
    if not births:
        return
    cases = session.exec(
        select(SipCase.id, SipCase.person_id, SipCase.requested_at).where(SipCase.person_id.in_(list(births)))
    ).all()
    if not cases:
        return
    session.execute(
        update(SipCase.__table__)
        .where(SipCase.__table__.c.id == bindparam("b_id"))
        .values(age_at_request=bindparam("b_age")),
        [
            {"b_id": case_id, "b_age": age_on(births[person_id], to_local(at).date())}
            for case_id, person_id, at in cases
        ],
    )
    birth_of_case = {case_id: births[person_id] for case_id, person_id, _ in cases}
    deadlines = session.exec(
        select(Deadline.id, Deadline.case_id, Deadline.due_at).where(
            Deadline.case_id.in_(list(birth_of_case))
        )
    ).all()
    if deadlines:
        session.execute(
            update(Deadline.__table__)
            .where(Deadline.__table__.c.id == bindparam("b_id"))
            .values(age_on_due_day=bindparam("b_age")),
            [
                {"b_id": deadline_id, "b_age": age_on(birth_of_case[case_id], to_local(due).date())}
                for deadline_id, case_id, due in deadlines
            ],
        )


def _persons_done(session: Session, person_ids: list[int]) -> list[Person]:
    """The persons among person_ids every one of whose cases is anonymised and who are not yet, by id."""
    if not person_ids:
        return []
    # The rows held first, in a statement of their own: a request starting a SIP for one of them holds
    # its row from finding the person to its commit (PostgreSQL, people.services.find_or_register_person),
    # so the count below, a statement after the wait, sees that SIP and keeps the person; a request that
    # comes after waits, finds the identifier replaced and registers the person anew.
    session.exec(
        select(Person.id).where(Person.id.in_(person_ids)).order_by(Person.id).with_for_update()
    ).all()
    kept = exists().where(
        SipCase.person_id == Person.id, ~exists().where(AnonymisedCase.case_id == SipCase.id)
    )
    done = exists().where(AnonymisedPerson.person_id == Person.id)
    return list(
        session.exec(select(Person).where(Person.id.in_(person_ids), ~kept, ~done).order_by(Person.id)).all()
    )


def anonymise_expired_cases(
    session: Session, *, now: datetime, policy: RetentionPolicy, limit: int | None = None
) -> int:
    """Anonymise the cases (at most limit) whose retention ran out, and their persons when due; the count.

    Runs in the caller's transaction (the caller commits). Cases already anonymised are never counted again.
    """
    return len(_anonymise_batch(session, now=now, policy=policy, limit=limit))


def _anonymise_batch(
    session: Session,
    *,
    now: datetime,
    policy: RetentionPolicy,
    limit: int | None,
    after_id: int | None = None,
) -> list[SipCase]:
    """anonymise_expired_cases for the cases after after_id; the cases anonymised, by id."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("anonymise_expired_cases() needs an aware datetime")
    cases = session.exec(expired_cases_query(now=now, policy=policy, limit=limit, after_id=after_id)).all()
    if not cases:
        return cases
    _scrub_cases(session, cases)
    session.add_all(
        [AnonymisedCase(case_id=case.id, final_state=case.state, anonymised_at=now) for case in cases]
    )
    session.flush()
    persons = _persons_done(session, sorted({case.person_id for case in cases}))
    anonymise_persons(session, persons, now=now, policy=policy)
    session.flush()
    log.info("retention anonymised %d cases and %d persons", len(cases), len(persons))
    return cases


def run_retention(
    session: Session, *, now: datetime, policy: RetentionPolicy, batch: int = BATCH_SIZE
) -> int:
    """Anonymise everything due, committing batch by batch; the number of cases anonymised."""
    total = 0
    # Each batch goes on after the last case of the one before: every case before it was anonymised or is
    # not due at this now, so a batch reads its own cases, not again every case the run went past (at the
    # first run after a decade, a county's whole oldest year).
    after_id = None
    while True:
        try:
            cases = _anonymise_batch(session, now=now, policy=policy, limit=batch, after_id=after_id)
            ids = [case.id for case in cases]
            session.commit()
        except BaseException:
            session.rollback()
            raise
        total += len(ids)
        if len(ids) < batch:
            return total
        after_id = ids[-1]
