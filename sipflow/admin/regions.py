"""The region an administrator has: the one rule of what they may change, for users and the directory alike.

An administrator whose unit belongs to an organisation of a county (its `Organisation.county_code`) is that
region's administrator: they manage the users of the county's organisations, and the county's organisations
(those with that county code, municipalities of the county among them) and their units; the organisations of
other counties and the national ones (no county) are read-only to them. An administrator without a unit is a
national (system) administrator and manages everything, as the command line does (no actor). An
administrator of an organisation with no county manages their own organisation (its users and units).

The persons an administrator may look up, hand extracts of and correct (`may_administer_person`) are their
region's too: a county's administrator has those folkbokförda in the county or with a SIP one of the
county's organisations initiated or takes part in; an organisation's, those with a SIP it initiated or takes
part in; a national administrator, everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from sipflow.cases.models import Participant, SipCase
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.people.models import Municipality, Organisation, Person, Unit, User
from sipflow.translated import lazy_gettext as _l

# A region's administrator places new things in their county: said at the county or scope field.
CHOOSE_YOUR_COUNTY = _l("Choose your county or one of its municipalities.")


@dataclass(frozen=True)
class Region:
    """What an administrator manages: everything (national), one county, or one organisation."""

    national: bool
    county_code: str | None = None
    organisation_id: int | None = None


NATIONAL = Region(national=True)


def admin_region(session: Session, actor: User | None) -> Region:
    """The region actor administers (see the module's docstring); None, the command line, is national."""
    if actor is None or actor.unit_id is None:
        return NATIONAL
    organisation = session.exec(
        select(Organisation)
        .join(Unit, col(Unit.organisation_id) == Organisation.id)
        .where(Unit.id == actor.unit_id)
    ).one()
    if organisation.county_code:
        return Region(national=False, county_code=organisation.county_code)
    return Region(national=False, organisation_id=organisation.id)


def is_national_administrator(session: Session, user: User) -> bool:
    """Whether user is an administrator of everything (an administrator without a unit, see admin_region)."""
    return user.has_role("admin") and admin_region(session, user).national


def region_filter(region: Region):
    """A WHERE clause on Organisation limiting rows to region's organisations; None: all."""
    if region.national:
        return None
    if region.county_code is not None:
        return col(Organisation.county_code) == region.county_code
    return col(Organisation.id) == region.organisation_id


def organisation_in_region(region: Region, *, organisation_id: int | None, county_code: str | None) -> bool:
    """Whether an organisation (its id, None for one not created yet; its county) lies in region."""
    if region.national:
        return True
    if region.county_code is not None:
        return county_code == region.county_code
    return organisation_id is not None and organisation_id == region.organisation_id


def is_national(organisation: Organisation) -> bool:
    """Whether organisation works nationwide: it has no county (a municipality's, or a school's, has one)."""
    return organisation.county_code is None


def may_change(region: Region, organisation: Organisation) -> bool:
    """Whether region's administrator may change organisation and its units (else they are read-only)."""
    return organisation_in_region(
        region, organisation_id=organisation.id, county_code=organisation.county_code
    )


def organisation_change_refusal(region: Region, organisation: Organisation) -> NotAllowed | None:
    """The refusal region's administrator meets changing organisation itself, None if they may: what the
    save refuses and the edit page shows instead of its form."""
    if may_change(region, organisation):
        return None
    if is_national(organisation):
        return NotAllowed(
            _l(
                "This organisation is national (no county): its own administrator or a national administrator"
                " changes it; you may read it."
            )
        )
    return NotAllowed(_l("This organisation is another region's: you may read it, not change it."))


def unit_change_refusal(region: Region, organisation: Organisation) -> NotAllowed | None:
    """The refusal region's administrator meets changing a unit of organisation (creating, editing,
    activating or deactivating it), None if they may: what the save refuses and the edit page shows."""
    if may_change(region, organisation):
        return None
    if is_national(organisation):
        return NotAllowed(
            _l(
                "The unit's organisation is national (no county): its own administrator or a national"
                " administrator changes its units; you may read them."
            )
        )
    return NotAllowed(
        _l("The unit's organisation is another region's: you may read its units, not change them.")
    )


def read_only_label(region: Region, organisation: Organisation):
    """What the directory lists say on a row of organisation (or of its units) region's administrator may
    not change (a national organisation is no other region's), None if they may."""
    if may_change(region, organisation):
        return None
    return _l("National: read only") if is_national(organisation) else _l("Another region's: read only")


def catalogue_change_refusal(region: Region) -> NotAllowed | None:
    """The refusal region's administrator meets changing the national KVÅ code catalogue or the SIP code per
    organisation type (which every region's units record), None if they may: national administrators only;
    what the save refuses and the code pages show instead of their forms."""
    if region.national:
        return None
    return NotAllowed(
        _l(
            "The KVÅ code catalogue and the SIP code per organisation type are national: you may read them, "
            "a national administrator changes them."
        )
    )


def unit_in_region(session: Session, region: Region, unit: Unit) -> bool:
    """Whether unit belongs to an organisation of region."""
    if region.national:
        return True
    organisation = session.get(Organisation, unit.organisation_id)
    return organisation_in_region(
        region, organisation_id=organisation.id, county_code=organisation.county_code
    )


def check_organisation_change(
    region: Region,
    organisation: Organisation | None,
    *,
    county_code: str | None,
    municipality_code: str | None = None,
) -> None:
    """Refuse a region's administrator an organisation outside the region: changing one (organisation; None
    to create one) or placing one (its county and municipality after the change) in another county or in
    none. NotAllowed for the organisation itself, InvalidInput at the county or municipality field."""
    if region.national:
        return
    refusal = organisation_change_refusal(region, organisation) if organisation is not None else None
    if refusal is not None:
        raise refusal
    if region.county_code is None:
        if organisation is None:
            raise NotAllowed(_l("Only an administrator of a county or a national one creates organisations."))
        if county_code is not None:
            # Giving their organisation a county would make its administrators that county's.
            raise InvalidInput(
                _l("Your organisation has no county: a national administrator gives it one."),
                field="municipality_code" if municipality_code else "county_code",
            )
        return
    if county_code != region.county_code:
        raise InvalidInput(
            CHOOSE_YOUR_COUNTY, field="municipality_code" if municipality_code else "county_code"
        )


def check_unit_change(region: Region, organisation: Organisation) -> None:
    """Refuse (NotAllowed) a region's administrator a unit (to create, change, activate or deactivate) of
    organisation when the organisation lies outside their region."""
    refusal = unit_change_refusal(region, organisation)
    if refusal is not None:
        raise refusal


def person_in_region_query(region: Region, person_id: int):
    """A SELECT of one boolean: whether the person lies in a region that is not national (see
    `may_administer_person`); each branch reads the person's few SIPs through indexes."""
    initiated = select(SipCase.id).where(col(SipCase.person_id) == person_id)
    taking_part = (
        select(Participant.id)
        .join(SipCase, col(SipCase.id) == Participant.case_id)
        .where(col(SipCase.person_id) == person_id, Participant.active)
    )
    if region.county_code is None:
        initiated = initiated.where(col(SipCase.initiating_organisation_id) == region.organisation_id)
        taking_part = taking_part.where(col(Participant.organisation_id) == region.organisation_id)
        return select(or_(exists(initiated), exists(taking_part)))

    def county_of(organisation_id):
        # Asked of each of the person's few organisations by primary key: a join let the planner walk all
        # the county's organisations first, each searched for among the person's cases.
        found = select(Organisation.county_code).where(col(Organisation.id) == organisation_id)
        return found.scalar_subquery()

    initiated = initiated.where(county_of(SipCase.initiating_organisation_id) == region.county_code)
    taking_part = taking_part.where(county_of(Participant.organisation_id) == region.county_code)
    folkbokford = (
        select(Municipality.code)
        .join(Person, col(Person.home_municipality_code) == Municipality.code)
        .where(col(Person.id) == person_id, col(Municipality.county_code) == region.county_code)
    )
    return select(or_(exists(folkbokford), exists(initiated), exists(taking_part)))


def may_administer_person(session: Session, region: Region, person: Person) -> bool:
    """Whether region's administrator may look up person, hand out their extracts and correct their
    particulars (see the module's docstring); a person they may not is to them as one never registered."""
    if region.national:
        return True
    if person.id is None:
        return False
    return bool(session.exec(person_in_region_query(region, person.id)).one())
