"""Huvudansvar moves on purpose: giving overall responsibility to an organisation taking part, logged.

The organisation with huvudansvar stays where it always was, the participant role `huvudansvarig`; this
is the one way it changes. Who may give it: the initiating organisation and the organisation holding it
now (the two parties the workflow files let establish a plan). The first assignment needs no reason; a
hand-over from one organisation to another does. Each change is a `HuvudansvarTransfer` row.

Only a huvudman may hold it (HUVUDMAN_KINDS): every way it is given asks is_huvudman here, and so does the
plan step's guard `huvudansvar_assigned` (plans/guards.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, bindparam, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import actor_organisation_id, check_version, party_roles, role_of_unit, touch_case
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.people.models import Organisation, User
from sipflow.plans.models import HuvudansvarTransfer, Plan
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import HUVUDANSVARIG, INITIATOR

# The kinds of organisation (people.models.ORGANISATION_KINDS) that are a huvudman of a SIP, the only ones
# that may have overall responsibility: the region (health care) and the municipality (social services,
# municipal health care), whom SoL 2 kap. 7 § and HSL 16 kap. 4 § oblige to make the plan together. Not a
# school, not even a municipal one: a municipal school is the municipality's, which holds it as its own
# organisation (kind municipality), and an independent one (kind friskola) has an owner that is no huvudman
# of the SIP law. Not an agency (kind other): Arbetsförmedlingen's and Försäkringskassan's part, as an
# independent school's, is the plan's "measures by others".
HUVUDMAN_KINDS = frozenset({"region", "municipality"})
NOT_A_HUVUDMAN = _l("Overall responsibility goes to a huvudman: the region or the municipality.")
# The party roles (workflow file language, PARTY_ROLES) that may give huvudansvar.
GIVING_ROLES = frozenset({INITIATOR, HUVUDANSVARIG})
REASON_LIMIT = 1000
# Hand-overs shown on one case page: a case changes hands a few times in its life.
MAX_TRANSFERS_SHOWN = 50
# Built once: an alias made per call costs more to build and key than the query it is in.
_TO_ORGANISATION, _FROM_ORGANISATION = aliased(Organisation), aliased(Organisation)
_USER_ORGANISATION = aliased(Organisation)


def _organisation_rows(session: Session, case: SipCase) -> list[Participant]:
    return list(
        session.exec(
            select(Participant)
            .where(Participant.case_id == case.id, Participant.active, Participant.kind == "organisation")
            .order_by(Participant.id)
        ).all()
    )


def is_huvudman(kind: str | None) -> bool:
    """An organisation of kind (Organisation.kind) is a huvudman: it may have overall responsibility."""
    return kind in HUVUDMAN_KINDS


def organisation_kind(session: Session, organisation_id: int) -> str | None:
    """The kind of the organisation organisation_id (None: no such organisation)."""
    return session.exec(select(Organisation.kind).where(Organisation.id == organisation_id)).first()


def _huvudmen(session: Session, rows: list[Participant]) -> list[int]:
    """The organisations among rows that are a huvudman, in the rows' order."""
    ids = [p.organisation_id for p in rows if p.organisation_id is not None]
    if not ids:
        return []
    kinds = dict(
        session.exec(select(Organisation.id, Organisation.kind).where(Organisation.id.in_(ids))).all()
    )
    return [organisation for organisation in dict.fromkeys(ids) if is_huvudman(kinds.get(organisation))]


def holder_id(rows: list[Participant]) -> int | None:
    """The organisation holding huvudansvar among the case's organisation participants, if any."""
    return next((p.organisation_id for p in rows if p.role == HUVUDANSVARIG), None)


def may_give_huvudansvar(
    session: Session, case: SipCase, actor: User, participants: list[Participant] | None = None
) -> bool:
    """The actor's organisation may give or hand over huvudansvar in the case.

    participants: the case's active participants when the caller read them already.
    """
    roles = party_roles(session, case, actor_organisation_id(session, actor), participants)
    return bool(roles & GIVING_ROLES)


def _give(
    session: Session,
    case: SipCase,
    actor: User | None,
    rows: list[Participant],
    *,
    organisation_id: int,
    reason: str | None,
    now: datetime,
) -> HuvudansvarTransfer:
    """Move the role and log the change (the caller claimed the case, or is about to fire a step on it).

    A hand-over clears the plan's huvudansvar contact (a person of the organisation giving it up) and keeps
    it in the transfer row.
    """
    from_id = holder_id(rows)
    cleared = _clear_contact(session, case) if from_id is not None else None
    for participant in rows:
        if participant.organisation_id == organisation_id:
            participant.role = HUVUDANSVARIG
        elif participant.role == HUVUDANSVARIG:
            participant.role = role_of_unit(case, (), participant.organisation_id)
        session.add(participant)
    transfer = HuvudansvarTransfer(
        case_id=case.id,
        at=now,
        user_id=actor.id if actor else None,
        organisation_id=actor_organisation_id(session, actor),
        from_organisation_id=from_id,
        to_organisation_id=organisation_id,
        reason=reason,
        cleared_contact=cleared,
    )
    session.add(transfer)
    session.flush()
    return transfer


def _clear_contact(session: Session, case: SipCase) -> str | None:
    """Clear the working plan's huvudansvar contact, moving its row version (an editor still showing it gets
    a conflict, not the old contact saved back); the contact cleared, if there was one."""
    contact = session.exec(select(Plan.huvudansvar_contact).where(Plan.case_id == case.id)).first()
    if contact is None:
        return None
    session.execute(
        update(Plan)
        .where(Plan.case_id == case.id)
        .values(huvudansvar_contact=None, row_version=Plan.row_version + 1)
    )
    return contact


def give_huvudansvar(
    session: Session,
    case: SipCase,
    actor: User,
    *,
    organisation_id,
    reason: str | None,
    expected_version: int,
    now: datetime,
) -> HuvudansvarTransfer:
    """Give huvudansvar to an organisation taking part (first assignment or hand-over), logged.

    Claims the case at expected_version (a stale page is a conflict), so the case rises in every Mina SIP
    list and forms read before it are stale. A stale page is refused as that first, whatever else: a user
    whose colleague handed huvudansvar over a moment before is told someone else changed the SIP, not that
    the organisation they chose holds it already.
    """
    check_version(case, expected_version)
    # The organisations taking part: who holds huvudansvar, who may give it, and who may receive it.
    rows = _organisation_rows(session, case)
    if not may_give_huvudansvar(session, case, actor, rows):
        raise NotAllowed(
            _l("Only the initiating organisation or the one with overall responsibility may hand it over.")
        )
    if (
        isinstance(organisation_id, bool)
        or not isinstance(organisation_id, int)
        or organisation_id not in {p.organisation_id for p in rows}
    ):
        raise InvalidInput(
            _l("Overall responsibility must go to an organisation taking part."), field="organisation_id"
        )
    if not is_huvudman(organisation_kind(session, organisation_id)):
        raise InvalidInput(NOT_A_HUVUDMAN, field="organisation_id")
    if organisation_id not in access.organisations_seeing_case(session, case, now=now):
        raise InvalidInput(
            _l(
                "The consent does not cover that organisation, so it cannot see the SIP: it cannot have "
                "overall responsibility. Record a consent that names it first."
            ),
            field="organisation_id",
        )
    current = holder_id(rows)
    if organisation_id == current:
        raise InvalidInput(
            _l("That organisation already has overall responsibility."), field="organisation_id"
        )
    reason = fields.free_text(reason, "reason", limit=REASON_LIMIT)
    if current is not None and reason is None:
        raise InvalidInput(_l("Say why overall responsibility is handed over."), field="reason")
    touch_case(session, case, expected_version=expected_version, now=now)
    return _give(session, case, actor, rows, organisation_id=organisation_id, reason=reason, now=now)


def give_first_huvudansvar_unclaimed(
    session: Session,
    case: SipCase,
    actor: User | None,
    *,
    organisation_id: int | None = None,
    now: datetime,
) -> HuvudansvarTransfer | None:
    """For scripts (demo, tests): give huvudansvar to organisation_id when nobody has it, logged.

    organisation_id None: the initiating organisation if it is a huvudman, else the first huvudman taking
    part (none: nothing is given). One that is no huvudman is refused (InvalidInput). Does not claim the
    case: the scripted plan step that calls it right before claims it anyway.
    """
    rows = _organisation_rows(session, case)
    if holder_id(rows) is not None:
        return None
    huvudmen = _huvudmen(session, rows)
    if organisation_id is None:
        if not huvudmen:
            return None
        organisation_id = (
            case.initiating_organisation_id if case.initiating_organisation_id in huvudmen else huvudmen[0]
        )
    elif organisation_id not in {p.organisation_id for p in rows}:
        raise InvalidInput(
            _l("Overall responsibility must go to an organisation taking part."), field="organisation_id"
        )
    elif organisation_id not in huvudmen:
        raise InvalidInput(NOT_A_HUVUDMAN, field="organisation_id")
    return _give(session, case, actor, rows, organisation_id=organisation_id, reason=None, now=now)


@dataclass
class TransferView:
    """One hand-over as the pages show it."""

    transfer: HuvudansvarTransfer
    from_name: str | None
    to_name: str
    user_name: str | None
    # The organisation the user gave it for (their unit's then), named beside them as every timeline entry is.
    user_organisation_name: str | None = None


# Built once (every case page reads it): building and keying it per request cost more than running it.
_TRANSFERS = (
    select(
        HuvudansvarTransfer,
        _TO_ORGANISATION.name,
        _FROM_ORGANISATION.name,
        User.display_name,
        _USER_ORGANISATION.name,
    )
    .join(_TO_ORGANISATION, _TO_ORGANISATION.id == HuvudansvarTransfer.to_organisation_id)
    .outerjoin(_FROM_ORGANISATION, _FROM_ORGANISATION.id == HuvudansvarTransfer.from_organisation_id)
    .outerjoin(User, User.id == HuvudansvarTransfer.user_id)
    .outerjoin(_USER_ORGANISATION, _USER_ORGANISATION.id == HuvudansvarTransfer.organisation_id)
    .where(HuvudansvarTransfer.case_id == bindparam("case_id", type_=Integer))
    .order_by(HuvudansvarTransfer.at, HuvudansvarTransfer.id)
    .limit(MAX_TRANSFERS_SHOWN)
)


def transfers(session: Session, case: SipCase) -> list[TransferView]:
    """The case's huvudansvar changes, oldest first (bounded), with organisation and user names: one query."""
    rows = session.exec(_TRANSFERS, params={"case_id": case.id}).all()
    return [
        TransferView(
            transfer=t,
            from_name=from_name,
            to_name=to_name,
            user_name=user_name,
            user_organisation_name=user_organisation_name,
        )
        for t, to_name, from_name, user_name, user_organisation_name in rows
    ]


def holder_since_given_up(session: Session, case: SipCase, organisation_id: int | None) -> str | None:
    """The name of the organisation holding huvudansvar now, when organisation_id held it once and has
    handed it over since (its user may have a page from before open); None otherwise."""
    if organisation_id is None:
        return None
    views = transfers(session, case)
    if not views or views[-1].transfer.to_organisation_id == organisation_id:
        return None
    if any(v.transfer.from_organisation_id == organisation_id for v in views):
        return views[-1].to_name
    return None
