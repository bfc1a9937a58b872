"""Who may see which SIP: the one object rule every case page, export and API call asks.

- A **staff** member of a unit sees a case when
  - their organisation started it (the initiating organisation keeps it before consent, and for the record
    after it ends or the consent is withdrawn), or
  - their organisation takes part in it (an active participant row) **and** a consent in force covers it:
    given, not withdrawn, valid until today or later (Europe/Stockholm), naming the organisation (and not
    withdrawn for that organisation alone).
  Withdrawing or outliving the consent takes the other organisations' access away at once.
- A **coordinator** sees numbers only, never a case or a person; an **administrator** sees no case content.
  Neither role adds anything for a user who is also staff: only the staff role opens cases.
- A user without a unit sees nothing.

Changing a person's particulars (`may_change_person`) is for administrators and for staff whose organisation
registered the person or sees one of their SIPs under a consent in force.

The rule is written once, as SQL (`visible_cases_clause`): lists use it as a WHERE clause, and a single case
is checked by the same clause, so the list and the case page can never disagree.

What the SIP shares with an organisation taking part goes no further than who may see it: a kallelse or an
invitation, a decision or an effort it owns, huvudansvar, an approval it is asked for. `refuse_uncovered`
(and huvudansvar, with its own words) asks `organisations_seeing_case` for it, the same rule per participant;
a read of the case's participants can carry it instead (`consent_covers_participant`, `seeing_among`), as a
step's first read and the case page's do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Date, Integer, String, and_, bindparam, exists, false, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import to_local
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import column_rows
from sipflow.errors import InvalidInput, InvalidInputs
from sipflow.people.labels import label_facts, organisation_labels
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.retention.models import is_anonymised_person
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l

STAFF = "staff"
ADMIN = "admin"
UID_MAX_LENGTH = 32


def may_see_cases(user: User | None) -> bool:
    """Whether the user can see any case at all: staff of a unit."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.unit_id is not None
        and user.has_role(STAFF)
    )


def may_start_case(user: User | None) -> bool:
    """Whether the user may start a SIP (Ny SIP): staff of a unit, whose organisation becomes initiator."""
    return may_see_cases(user)


def _organisation_of(user: User):
    return select(Unit.organisation_id).where(Unit.id == user.unit_id).scalar_subquery()


def _takes_part_under_consent(organisation, *, now: datetime) -> ColumnElement[bool]:
    """Over SipCase: the organisation takes part and a consent in force covers it."""
    return _takes_part_on(organisation, to_local(now).date())


def _takes_part_on(organisation, today) -> ColumnElement[bool]:
    """_takes_part_under_consent on the day today (a date or a bind parameter)."""
    takes_part = exists().where(
        Participant.case_id == SipCase.id,
        Participant.organisation_id == organisation,
        Participant.active,
    )
    return and_(takes_part, _consent_covers(organisation, today))


def _consent_covers(organisation, today, *, case_id=SipCase.id) -> ColumnElement[bool]:
    """Over SipCase (or the case of case_id): a consent in force on today names the organisation, and was
    not withdrawn for it alone (ConsentOrganisation.covering)."""
    return exists().where(
        Consent.case_id == case_id,
        Consent.in_force(today),
        ConsentOrganisation.consent_id == Consent.id,
        ConsentOrganisation.organisation_id == organisation,
        ConsentOrganisation.covering(),
    )


def consent_covers_organisation(case_id, organisation_id, today) -> ColumnElement[bool]:
    """A consent of the case (a column or value) in force on today names the organisation (likewise): what
    lets an organisation taking part see the SIP, for a read that is not of participants (plan efforts)."""
    return _consent_covers(organisation_id, today, case_id=case_id)


def consent_covers_participant(today) -> ColumnElement[bool]:
    """Over Participant: a consent of its case in force on today (a date or a bind parameter) names the
    participant's organisation. A read of the case's participants that carries it (labelled COVERED) gives
    the organisations seeing the case without asking again: seeing_among."""
    return _consent_covers(Participant.organisation_id, today, case_id=Participant.case_id)


def visible_cases_clause(user: User | None, *, now: datetime) -> ColumnElement[bool]:
    """A WHERE clause over SipCase that holds for exactly the cases the user may see at now."""
    if not may_see_cases(user):
        return false()
    organisation = _organisation_of(user)
    return or_(
        SipCase.initiating_organisation_id == organisation, _takes_part_under_consent(organisation, now=now)
    )


# The single-case checks of every case page, built once with bind parameters (the user's unit, the day in
# Sweden, the case or the person): building and keying the rule's expression on each request cost more
# than running it. The same rule as visible_cases_clause and may_change_person spell out.
_UNITS_ORGANISATION = (
    select(Unit.organisation_id).where(Unit.id == bindparam("unit_id", type_=Integer)).scalar_subquery()
)
_TODAY = bindparam("today", type_=Date)
_CASE_FOR_USER = select(SipCase).where(
    SipCase.uid == bindparam("uid", type_=String),
    or_(
        SipCase.initiating_organisation_id == _UNITS_ORGANISATION,
        _takes_part_on(_UNITS_ORGANISATION, _TODAY),
    ),
)
_PERSON_ID = bindparam("person_id", type_=Integer)
_MAY_CHANGE_PERSON = select(
    or_(
        select(SipCase.initiating_organisation_id)
        .where(SipCase.person_id == _PERSON_ID)
        .order_by(SipCase.created_at, SipCase.id)
        .limit(1)
        .scalar_subquery()
        == _UNITS_ORGANISATION,
        exists().where(SipCase.person_id == _PERSON_ID, _takes_part_on(_UNITS_ORGANISATION, _TODAY)),
    )
)


def may_change_person(
    session: Session,
    user: User | None,
    person: Person,
    *,
    now: datetime,
    covered_in: frozenset[int] = frozenset(),
) -> bool:
    """Whether the user may change the person's name and folkbokföringskommun.

    Administrators may. So may staff of the organisation that registered the person (the one that started
    their first SIP), and staff of an organisation a consent in force lets see one of their SIPs. Starting
    a SIP of one's own is not enough: anyone who knows a personnummer can do that. Nobody may change a
    person retention has anonymised: a name typed there would be personal data no retention clears again.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if is_anonymised_person(session, person):
        return False
    if user.has_role(ADMIN):
        return True
    if not may_see_cases(user) or person.id is None:
        return False
    # covered_in: the organisations a consent in force names in one of the person's SIPs, as the caller's
    # read of its participants found them; the user's among them may, with nothing more to ask.
    # (The user's unit is in the session already: the login's read brought it.)
    if covered_in and session.get(Unit, user.unit_id).organisation_id in covered_in:
        return True
    params = {"person_id": person.id, "unit_id": user.unit_id, "today": to_local(now).date()}
    return bool(column_rows(session, _MAY_CHANGE_PERSON, params)[0][0])


# The organisations taking part in a case that may see it: the same rule, asked of each participant row.
_CASE_ID = bindparam("case_id", type_=Integer)
_SEEING_ORGANISATIONS = (
    select(Participant.organisation_id)
    .join(SipCase, SipCase.id == Participant.case_id)
    .where(
        Participant.case_id == _CASE_ID,
        Participant.active,
        Participant.organisation_id.is_not(None),
        or_(
            SipCase.initiating_organisation_id == Participant.organisation_id,
            consent_covers_participant(_TODAY),
        ),
    )
    .distinct()
)


# The label of consent_covers_participant in a read of participants.
COVERED = "covered"


def seeing_among(case: SipCase, covered: Iterable[tuple[int | None, bool]]) -> set[int]:
    """organisations_seeing_case from the case's active participants' (organisation id, covered) pairs,
    covered being consent_covers_participant on the day: the initiator, and the organisations covered."""
    return {
        organisation_id
        for organisation_id, is_covered in covered
        if organisation_id is not None and (is_covered or organisation_id == case.initiating_organisation_id)
    }


def organisations_seeing_case(session: Session, case: SipCase, *, now: datetime) -> set[int]:
    """The organisations taking part in case whose staff may see it at now (initiator, or under consent)."""
    params = {"case_id": case.id, "today": to_local(now).date()}
    return {row[0] for row in column_rows(session, _SEEING_ORGANISATIONS, params)}


class NotCoveredByConsent(InvalidInput):
    """A party of the SIP the consent in force does not cover is named where only covered ones may be."""

    code = "not_covered_by_consent"


def refuse_uncovered(
    session: Session,
    case: SipCase,
    named: Iterable[tuple[str, int | None]],
    *,
    now: datetime,
    seeing: set[int] | frozenset[int] | None = None,
) -> None:
    """Refuse every organisation named that the consent in force does not let see the SIP, all at once.

    named: (form field, organisation id or None) pairs, e.g. each invitee's or each effort owner's; None (a
    private person, the person's own effort) is no organisation and passes. What the SIP shares with an
    organisation (a kallelse, a decision or effort it owns, an approval it is asked for) goes only as far as
    the person's consent: the same rule as organisations_seeing_case, asked once for every pair. Each field
    gets one refusal naming its uncovered organisations (several fields: InvalidInputs holding each).
    seeing: organisations_seeing_case's answer when the caller has it already (then nothing is read).
    """
    pairs = [(field, organisation_id) for field, organisation_id in named if organisation_id is not None]
    if not pairs:
        return
    if seeing is None:
        seeing = organisations_seeing_case(session, case, now=now)
    uncovered: dict[str, list[int]] = {}
    for field, organisation_id in pairs:
        if organisation_id not in seeing and organisation_id not in uncovered.get(field, ()):
            uncovered.setdefault(field, []).append(organisation_id)
    if not uncovered:
        return
    wanted = {organisation_id for ids in uncovered.values() for organisation_id in ids}
    # Named as the SIP's pages name them: among the organisations that take or took part in it, one sharing
    # its name with another is named by where it is (people.labels.organisation_labels).
    on_case = select(Participant.organisation_id).where(Participant.case_id == case.id)
    organisations = session.exec(
        select(Organisation).where(or_(Organisation.id.in_(wanted), Organisation.id.in_(on_case)))
    ).all()
    labels = organisation_labels(session, {o.id: label_facts(o) for o in organisations})
    names = {i: labels[i] for i in wanted if i in labels}
    refusals = [
        NotCoveredByConsent(uncovered_message([names.get(i, "?") for i in ids]), field=field)
        for field, ids in uncovered.items()
    ]
    if len(refusals) == 1:
        raise refusals[0]
    raise InvalidInputs(refusals)


def uncovered_message(names: list[str]):
    """The refusal of organisations the consent does not cover, named in the order the form gave them; a
    page that offers such an organisation unticked says it beside it in the same words (meetings' booking)."""
    if len(names) == 1:
        return _l(
            "The consent does not cover %(organisation)s, so it cannot see the SIP. Record a further "
            "consent that names it first.",
            organisation=names[0],
        )
    return _l(
        "The consent does not cover %(organisations)s, so they cannot see the SIP. Record a further "
        "consent that names them first.",
        organisations=", ".join(names),
    )


def can_view_case(session: Session, user: User | None, case: SipCase, *, now: datetime) -> bool:
    """Whether the user may see the case at now."""
    if not may_see_cases(user) or case is None or case.id is None:
        return False
    found = session.execute(
        select(SipCase.id).where(SipCase.id == case.id, visible_cases_clause(user, now=now))
    ).first()
    return found is not None


def addresses_seeing_case(
    session: Session, case: SipCase, addresses: Iterable[str], *, now: datetime
) -> set[str]:
    """Of addresses, those (lower case) of an active staff user who may see case at now: the only recipients
    a mail may give the case page's address (anyone else, a person, an external contact, an organisation the
    consent no longer covers, would get a login they lack or a 404)."""
    wanted = {address.lower() for address in addresses if address}
    if not wanted or case.id is None:
        return set()
    rows = session.exec(addresses_seeing_case_query(case, wanted, now=now)).all()
    return {email.lower() for email, roles in rows if STAFF in roles.split(",")}


def addresses_seeing_case_query(case: SipCase, wanted: set[str], *, now: datetime):
    """The active users at the lower-case addresses wanted whose organisation sees case: email and roles."""
    # lower(email) as ix_user_email_lower indexes it: the users are found by address, never all read. The
    # case and the unit are in this SELECT's FROM so the access rule's subqueries correlate to them (nested
    # in an EXISTS of its own, the unit was not: any unit's organisation then passed).
    return (
        select(User.email, User.roles)
        .join(Unit, Unit.id == User.unit_id)
        .join(SipCase, SipCase.id == bindparam("case_id", type_=Integer))
        .where(
            func.lower(User.email).in_(wanted),
            User.active,
            or_(
                SipCase.initiating_organisation_id == Unit.organisation_id,
                _takes_part_on(Unit.organisation_id, _TODAY),
            ),
        )
        .params(case_id=case.id, today=to_local(now).date())
    )


def _plausible_uid(uid: str | None) -> bool:
    return bool(uid) and len(uid) <= UID_MAX_LENGTH


def case_for_user(session: Session, user: User | None, uid: str, *, now: datetime) -> SipCase | None:
    """The case with uid if the user may see it; None when it does not exist or is not theirs (alike)."""
    if not may_see_cases(user) or not _plausible_uid(uid):
        return None
    params = {"uid": uid, "unit_id": user.unit_id, "today": to_local(now).date()}
    return session.exec(_CASE_FOR_USER, params=params).first()


def record_refusal(
    session: Session, user: User | None, uid: str, *, purpose: str, now: datetime
) -> SipCase | None:
    """Log a refused case address: the case's id when it exists, nothing else about it; the case, if any.

    The caller answers 404 (unless lost_access says the user's organisation took part), so the user learns
    nothing from the refusal.
    """
    case = None
    if _plausible_uid(uid):
        case = session.exec(select(SipCase).where(SipCase.uid == uid)).first()
    audit.record_access(
        session,
        user=user,
        action=audit.ACCESS_DENIED,
        purpose=purpose,
        case=case,
        outcome=audit.DENIED,
        now=now,
    )
    return case


# Why an organisation that took part in a SIP may see it no more (lost_access).
REMOVED, UNCOVERED = "removed", "uncovered"


def lost_access(session: Session, user: User | None, case: SipCase) -> str | None:
    """Why the user, refused the case, no longer sees it although they saw it (the access log holds a read
    of theirs allowed) for an organisation that took part: REMOVED (none of its units takes part any more)
    or UNCOVERED (the consent no longer covers it); None otherwise, when the refusal must not tell that the
    case exists (a participant the consent never covered has never seen it).

    A user who saw the SIP knows it exists: a form they sent from before can be answered with why it was
    refused, without anything of the case itself.
    """
    if user is None or user.unit_id is None:
        return None
    saw = session.exec(
        select(audit.AccessLogEntry.seq)
        .where(
            audit.AccessLogEntry.case_id == case.id,
            audit.AccessLogEntry.user_id == user.id,
            audit.AccessLogEntry.outcome.in_((audit.ALLOWED, audit.NOT_SAVED)),
        )
        .limit(1)
    ).first()
    if saw is None:
        return None
    organisation_id = session.exec(select(Unit.organisation_id).where(Unit.id == user.unit_id)).first()
    if organisation_id is None:
        return None
    rows = session.exec(
        select(Participant.active).where(
            Participant.case_id == case.id, Participant.organisation_id == organisation_id
        )
    ).all()
    if not rows:
        return None
    return UNCOVERED if any(rows) else REMOVED
