"""Approvals of plan versions: each participating organisation and the person approve one version.

An approval belongs to a version, so a revised plan (version N+1) starts with no approvals and needs the
person's approval again. Only the case's newest version can be approved; approving an older one is a
conflict the user sees. Approving twice is idempotent: the first approval stands and is returned; the
database holds one approval per party and version (PlanApproval.party), so two units of one organisation
recording it at the same moment cannot both be saved.

Who approves what:
- an organisation approves through any of its participant rows (several units of one organisation are one
  party); staff record it (at the meeting or on paper) only for their own organisation;
- the person approves digitally through their personal link, or staff of any participating organisation
  record the person's approval given at the meeting or on paper;
- for a child (under 18 on the day), a guardian taking part may approve on the child's behalf: the approval
  is stored on the guardian's participant row (so the record says who gave it) and counts as the person's;
- a närstående reads the plan but does not approve it: they are no party to it;
- an organisation the consent in force does not cover (it joined later, or the consent ran out for it)
  cannot see the SIP, so it is not asked to approve (security.access.organisations_seeing_case); an
  approval it gave while covered is still shown;
- a version's organisations are those it was established with (`version_organisations`: its content's
  parties, its PDF's approvals table and signature lines): one that joined the SIP after it was frozen is
  neither asked to approve it nor may approve it (an approval its document would never show); the next
  version, established with it taking part, asks it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import labelled_organisations
from sipflow.clock import now_utc, to_local
from sipflow.errors import Conflict, InvalidInput, NotAllowed
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.plans.editor import is_child
from sipflow.plans.models import APPROVAL_METHODS, PlanApproval, PlanVersion
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l

ORGANISATION = "organisation"
PERSON = "person"
GUARDIAN = "guardian"
# Staff record approvals given at the meeting or on paper; "digital" is the person's own, through the link.
STAFF_METHODS = ("meeting", "paper")
DIGITAL = "digital"


class OutdatedVersion(Conflict):
    """The version approved is not the case's newest: the plan changed since the page was read."""

    code = "outdated_version"


class NotTakingPart(Conflict):
    """The participant no longer takes part in the case."""

    code = "not_taking_part"


class CaseEnded(Conflict):
    """The SIP has ended: its plan is no longer approved."""

    code = "case_ended"


@dataclass
class PartyApproval:
    """One party of a version (an organisation, or the person) and their approval, or None while missing."""

    kind: str
    label: str
    participant_id: int | None
    organisation_id: int | None
    # The case page passes versions.case_page_versions' rows (a participant_id each) in place of objects.
    approval: PlanApproval | Row | None
    # Who gave the person's approval when a guardian did, and which staff member recorded it.
    given_by: str | None = None
    recorded_by: str | None = None
    # An approval from a party that no longer takes part (shown, not counted as missing).
    former: bool = False


def newest_version(session: Session, case: SipCase) -> PlanVersion | None:
    """The case's newest version (without its PDF bytes), or None before the plan is established."""
    return session.exec(
        select(PlanVersion)
        .options(defer(PlanVersion.pdf))
        .where(PlanVersion.case_id == case.id)
        .order_by(PlanVersion.number.desc())
        .limit(1)
    ).first()


def version_organisations(content: Mapping) -> frozenset[int] | None:
    """The organisations that were parties of a version when it was frozen: those its content lists (as its
    PDF's approvals table does); None when the content keeps no parties (retention removed them)."""
    participants = content.get("participants")
    if participants is None:
        return None
    return frozenset(
        p["organisation_id"]
        for p in participants
        if p.get("kind") == ORGANISATION and p.get("organisation_id") is not None
    )


def is_party_of(version: PlanVersion, participant: Participant) -> bool:
    """Whether participant's party approves version: the person's side always; an organisation when it was
    one of the version's parties (version_organisations; when not kept, every organisation)."""
    if participant.kind != ORGANISATION:
        return True
    parties = version_organisations(version.content)
    return parties is None or participant.organisation_id in parties


class NotAPartyOfVersion(NotAllowed):
    """The organisation joined the SIP (or the consent came to cover it) after the version was frozen."""

    code = "not_a_party_of_version"


def person_approved_before(session: Session, version: PlanVersion) -> int | None:
    """The number of the newest earlier version of version's case the person approved (themselves, or a
    guardian on their behalf), None if none: a plan revised since is asked for again, and their page says
    that the plan changed after they approved it, not only "not yet approved"."""
    return session.exec(
        select(func.max(PlanVersion.number))
        .join(PlanApproval, PlanApproval.version_id == PlanVersion.id)
        .join(Participant, Participant.id == PlanApproval.participant_id)
        .where(
            PlanVersion.case_id == version.case_id,
            PlanVersion.number < version.number,
            Participant.kind.in_((PERSON, GUARDIAN)),
        )
    ).one()


def approves_on_childs_behalf(kind: str, person: Person, today: date) -> bool:
    """Whether a participant of kind approves the plan on the person's behalf on today: a guardian of a
    child. The one rule of the approvals page (may_record_as) and of the PDF's signature lines
    (versions.freeze_version names them in the content)."""
    return kind == GUARDIAN and is_child(person, today)


def _organisation_of(session: Session, user: User | None) -> int | None:
    if user is None or user.unit_id is None:
        return None
    unit = session.get(Unit, user.unit_id)
    return unit.organisation_id if unit is not None else None


def _party_rows(session: Session, version: PlanVersion, participant: Participant) -> list[int]:
    """The participant rows whose approval counts for participant's party."""
    if participant.kind == ORGANISATION:
        where = (Participant.kind == ORGANISATION, Participant.organisation_id == participant.organisation_id)
    else:
        where = (Participant.kind.in_((PERSON, GUARDIAN)),)
    return list(
        session.exec(select(Participant.id).where(Participant.case_id == version.case_id, *where)).all()
    )


def party_key(participant: Participant) -> str:
    """The party participant approves for, as PlanApproval.party stores it: their organisation, or the
    person (a guardian approves on the person's behalf). The database holds one approval per party."""
    if participant.kind == ORGANISATION:
        return f"{ORGANISATION}:{participant.organisation_id}"
    return PERSON


def status_party_key(party: PartyApproval) -> str:
    """party_key of one party of approval_status: its organisation's, or the person's."""
    if party.kind == ORGANISATION:
        return f"{ORGANISATION}:{party.organisation_id}"
    return PERSON


def party_approval(session: Session, version: PlanVersion, participant: Participant) -> PlanApproval | None:
    """The approval already given for participant's party (their organisation, or the person) of version."""
    rows = _party_rows(session, version, participant)
    return session.exec(
        select(PlanApproval)
        .where(PlanApproval.version_id == version.id, PlanApproval.participant_id.in_(rows))
        .order_by(PlanApproval.approved_at, PlanApproval.id)
    ).first()


def may_record_for(
    session: Session, case: SipCase, participant: Participant, user: User | None, *, today: date
) -> bool:
    """Whether staff user may record participant's approval: their own organisation's, or the person's."""
    organisation_id = recording_organisation(session, case, user)
    return organisation_id is not None and may_record_as(
        session, case, participant, organisation_id, today=today
    )


def recording_organisation(session: Session, case: SipCase, user: User | None) -> int | None:
    """The staff user's organisation when it takes part in the case (it may record approvals); else None."""
    organisation_id = _organisation_of(session, user)
    if organisation_id is None:
        return None
    takes_part = session.exec(
        select(Participant.id).where(
            Participant.case_id == case.id,
            Participant.kind == ORGANISATION,
            Participant.organisation_id == organisation_id,
            Participant.active,
        )
    ).first()
    return organisation_id if takes_part is not None else None


def may_record_as(
    session: Session, case: SipCase, participant: Participant, organisation_id: int, *, today: date
) -> bool:
    """Whether staff of organisation_id (recording_organisation) may record participant's approval."""
    if participant.kind == ORGANISATION:
        return participant.organisation_id == organisation_id
    return _approves_for_person(session, case, participant, today=today)


def _approves_for_person(session: Session, case: SipCase, participant: Participant, *, today: date) -> bool:
    if participant.kind == PERSON:
        return True
    if participant.kind != GUARDIAN:
        return False
    return approves_on_childs_behalf(participant.kind, session.get(Person, case.person_id), today)


@dataclass(frozen=True)
class Recorded:
    """What recording an approval did: the party's approval of the version, whether this request recorded
    it (False: it stood already, recorded before or by a request at the same moment), and who recorded the
    one that stood (None: the person themself, through their link)."""

    approval: PlanApproval
    new: bool
    recorded_by: str | None = None


def approve_version(
    session: Session,
    *,
    case: SipCase,
    version: PlanVersion,
    participant: Participant,
    method: str,
    now: datetime,
    recorded_by: User | None = None,
    registry=None,
) -> PlanApproval:
    """Record participant's approval of version; the party's earlier approval of it is returned unchanged
    (record_approval, which also says whether it was this call that recorded it)."""
    return record_approval(
        session,
        case=case,
        version=version,
        participant=participant,
        method=method,
        now=now,
        recorded_by=recorded_by,
        registry=registry,
    ).approval


def _stood(session: Session, approval: PlanApproval) -> Recorded:
    """An approval that stood before this request's: with the name of the staff member who recorded it."""
    user = session.get(User, approval.recorded_by_user_id) if approval.recorded_by_user_id else None
    return Recorded(approval, new=False, recorded_by=user.display_name if user is not None else None)


def record_approval(
    session: Session,
    *,
    case: SipCase,
    version: PlanVersion,
    participant: Participant,
    method: str,
    now: datetime,
    recorded_by: User | None = None,
    registry=None,
) -> Recorded:
    """Record participant's approval of version; the party's earlier approval of it stands (new False),
    also one a request recorded at the same moment (the party's unique row, in a savepoint, tells).

    recorded_by is the staff member recording an approval given at the meeting or on paper; None with
    method "digital" (the person, through their personal link). registry, when given, refuses an ended SIP.
    """
    today = to_local(now).date()
    if method not in APPROVAL_METHODS:
        raise InvalidInput(_l("Choose how the plan was approved."), field="method")
    if version.case_id != case.id or participant.case_id != case.id:
        raise NotAllowed(_l("That version or participant belongs to another SIP."), field="participant_id")
    if registry is not None and registry.has_ended(case):
        raise CaseEnded(_l("The SIP has ended: its plan can no longer be approved."))
    if not participant.active:
        raise NotTakingPart(
            _l("They no longer take part in this SIP, so they cannot approve its plan."),
            field="participant_id",
        )
    if participant.kind != ORGANISATION and not _approves_for_person(session, case, participant, today=today):
        raise NotAllowed(
            _l("Only the participating organisations and the person approve the plan."),
            field="participant_id",
        )
    if method == DIGITAL:
        if recorded_by is not None or participant.kind == ORGANISATION:
            raise InvalidInput(
                _l("Only the person approves digitally, through their personal link."), field="method"
            )
    elif recorded_by is None:
        raise InvalidInput(_l("Choose how the plan was approved."), field="method")
    elif not may_record_for(session, case, participant, recorded_by, today=today):
        raise NotAllowed(
            _l("You may record the approval of your own organisation and of the person only."),
            field="participant_id",
        )
    newest = newest_version(session, case)
    if newest is None or newest.id != version.id:
        raise OutdatedVersion(
            _l(
                "The plan has changed since version %(number)d: approve the newest version, "
                "version %(newest)d.",
                number=version.number,
                newest=newest.number if newest else version.number,
            ),
            field="version_id",
        )
    existing = party_approval(session, version, participant)
    if existing is not None:
        return _stood(session, existing)
    if not is_party_of(version, participant):
        raise NotAPartyOfVersion(
            _l(
                "Your organisation was not a party to the SIP when version %(number)d was established, so it "
                "does not approve that version: it approves the next one.",
                number=version.number,
            ),
            field="participant_id",
        )
    approval = PlanApproval(
        version_id=version.id,
        participant_id=participant.id,
        party=party_key(participant),
        method=method,
        approved_at=now,
        recorded_by_user_id=recorded_by.id if recorded_by is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(approval)
            session.flush()
    except IntegrityError:
        # A second request approved for the same party at the same moment (another unit of the organisation,
        # or a guardian beside the person): its approval stands.
        return _stood(session, party_approval(session, version, participant))
    return Recorded(approval, new=True)


def approval_status(
    session: Session, case: SipCase, version: PlanVersion, *, now: datetime | None = None
) -> list[PartyApproval]:
    """Each party of the case (its organisations by name, then the person) with their approval of version."""
    return approval_statuses(session, case, [version], now=now)[version.id]


def approval_statuses(
    session: Session, case: SipCase, versions: Sequence[PlanVersion], *, now: datetime | None = None
) -> dict[int, list[PartyApproval]]:
    """approval_status of each of the case's versions by id: the parties read once for all of them.

    now: the moment whose consents in force say which organisations are asked (None: the clock's now).
    """
    rows = session.exec(
        select(Participant, Organisation)
        .outerjoin(Organisation, Organisation.id == Participant.organisation_id)
        .where(Participant.case_id == case.id)
        .order_by(Participant.id)
    ).all()
    given: dict[int, list] = {version.id: [] for version in versions}
    if given:
        for approval, user in session.exec(
            select(PlanApproval, User)
            .outerjoin(User, User.id == PlanApproval.recorded_by_user_id)
            .where(PlanApproval.version_id.in_(list(given)))
            .order_by(PlanApproval.approved_at, PlanApproval.id)
        ).all():
            given[approval.version_id].append((approval, user))
    person = session.get(Person, case.person_id)
    seeing = access.organisations_seeing_case(session, case, now=now or now_utc())
    labels = labelled_organisations(session, {o.id: o for _p, o in rows if o is not None}.values())
    of_version = {version.id: version_organisations(version.content) for version in versions}
    return {
        version_id: parties_of(rows, approvals, person, seeing, labels, of_version[version_id])
        for version_id, approvals in given.items()
    }


def parties_of(
    rows,
    approvals,
    person: Person,
    seeing: set[int],
    labels: Mapping[int, str] | None = None,
    version_parties: Collection[int] | None = None,
) -> list[PartyApproval]:
    """The parties from the case's (participant, organisation) rows and the (approval, recorder) pairs.

    seeing: the organisations that may see the case (access.organisations_seeing_case); one outside it is
    left out unless it approved already: it cannot see the plan, so its approval can never be asked for.
    version_parties: the version's own organisations (version_organisations; None: not known, every one
    seeing the case); one that joined after the version was frozen is left out unless it approved already.
    labels: the organisations by the names the SIP's pages give them
    (cases.participants.labelled_organisations: two of one name told apart); without it, by name.
    """
    labels = labels or {}
    by_participant = {approval.participant_id: (approval, user) for approval, user in approvals}
    parties: dict[tuple, PartyApproval] = {}
    person_party = PartyApproval(
        kind=PERSON,
        label=f"{person.given_name} {person.family_name}",
        participant_id=None,
        organisation_id=None,
        approval=None,
    )
    for participant, organisation in rows:
        found = by_participant.get(participant.id)
        if participant.kind == ORGANISATION and organisation is not None:
            key = (ORGANISATION, organisation.id)
            party = parties.get(key)
            if party is None and (participant.active or found):
                party = parties[key] = PartyApproval(
                    kind=ORGANISATION,
                    label=labels.get(organisation.id, organisation.name),
                    participant_id=participant.id if participant.active else None,
                    organisation_id=organisation.id,
                    approval=None,
                    former=not participant.active,
                )
            if party is None:
                continue
            if participant.active:
                party.former = False
                party.participant_id = party.participant_id or participant.id
            if found and party.approval is None:
                party.approval, user = found
                party.recorded_by = user.display_name if user else None
        elif participant.kind in (PERSON, GUARDIAN):
            if participant.kind == PERSON and participant.active:
                person_party.participant_id = participant.id
            if found and person_party.approval is None:
                person_party.approval, user = found
                person_party.recorded_by = user.display_name if user else None
                person_party.given_by = participant.name if participant.kind == GUARDIAN else None
    asked = (
        p
        for p in parties.values()
        if p.approval is not None
        or (p.organisation_id in seeing and (version_parties is None or p.organisation_id in version_parties))
    )
    ordered = sorted(asked, key=lambda p: (p.label, p.organisation_id))
    return [*ordered, person_party]
