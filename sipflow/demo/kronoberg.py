"""The Kronoberg demo: organisations, units, staff users and the three personas of SIP.md §8.

Everything is looked up by a stable key first (organisation and unit `key`, `username`, the person's id
hash, the case `reference`), so loading twice changes nothing. The personas' cases are moved through the
real service layer, one transaction per step, as the application does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlmodel import Session, func, select

from sipflow.cases import services
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import participating_organisations
from sipflow.clock import add_days, local_to_utc, now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.people.identifiers import RESERVNUMMER, luhn_check_digit, parse_identifier
from sipflow.people.models import Organisation, Unit, User
from sipflow.people.reference import load_municipalities
from sipflow.people.services import register_person
from sipflow.security.passwords import hash_password

DEMO_PASSWORD = "demo-sip-2026"

# Organisation keys follow the pattern the synthetic cases use (region-CC, kommun-MMMM), so both share them.
REGION_KRONOBERG = "region-07"
VAXJO_KOMMUN = "kommun-0780"
VAXJO = "0780"


@dataclass(frozen=True)
class UnitSpec:
    key: str
    name: str
    is_health_care: bool = False


@dataclass(frozen=True)
class OrganisationSpec:
    key: str
    name: str
    kind: str
    county_code: str | None
    municipality_code: str | None
    units: tuple[UnitSpec, ...]


ORGANISATIONS: tuple[OrganisationSpec, ...] = (
    OrganisationSpec(
        REGION_KRONOBERG,
        "Region Kronoberg",
        "region",
        "07",
        None,
        (
            UnitSpec("region-07-vc-teleborg", "Vårdcentralen Teleborg", True),
            UnitSpec("region-07-psykiatri-vaxjo", "Psykiatriska kliniken Växjö (slutenvård, psykos)", True),
            UnitSpec("region-07-bup-vaxjo", "BUP Växjö", True),
        ),
    ),
    OrganisationSpec(
        VAXJO_KOMMUN,
        "Växjö kommun",
        "municipality",
        "07",
        VAXJO,
        (
            UnitSpec("kommun-0780-ifo", "Socialtjänsten (IFO)"),
            UnitSpec("kommun-0780-boendestod", "Boendestöd"),
        ),
    ),
    OrganisationSpec(
        "skola-katedralskolan",
        "Katedralskolan, Växjö kommun",
        "school",
        "07",
        VAXJO,
        (UnitSpec("skola-katedralskolan-elevhalsan", "Elevhälsan"),),
    ),
    OrganisationSpec(
        "arbetsformedlingen",
        "Arbetsförmedlingen",
        "other",
        None,
        None,
        (UnitSpec("arbetsformedlingen-vaxjo", "Arbetsförmedlingen Växjö"),),
    ),
    OrganisationSpec(
        "forsakringskassan",
        "Försäkringskassan",
        "other",
        None,
        None,
        (UnitSpec("forsakringskassan-vaxjo", "Försäkringskassan Växjö"),),
    ),
)


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    unit_key: str | None
    roles: str
    email: str


DEMO_USERS: tuple[UserSpec, ...] = (
    UserSpec("anna", "Anna Lind", "region-07-vc-teleborg", "staff", "anna.lind@kronoberg.example.se"),
    UserSpec("erik", "Erik Berg", "region-07-psykiatri-vaxjo", "staff", "erik.berg@kronoberg.example.se"),
    UserSpec("maria", "Maria Holm", "region-07-bup-vaxjo", "staff", "maria.holm@kronoberg.example.se"),
    UserSpec("sara", "Sara Ek", "kommun-0780-ifo", "staff", "sara.ek@vaxjo.example.se"),
    UserSpec("johan", "Johan Falk", "kommun-0780-boendestod", "staff", "johan.falk@vaxjo.example.se"),
    UserSpec(
        "lena", "Lena Strand", "skola-katedralskolan-elevhalsan", "staff", "lena.strand@vaxjo.example.se"
    ),
    UserSpec(
        "omar", "Omar Said", "arbetsformedlingen-vaxjo", "staff", "omar.said@arbetsformedlingen.example.se"
    ),
    UserSpec(
        "petra", "Petra Lund", "forsakringskassan-vaxjo", "staff", "petra.lund@forsakringskassan.example.se"
    ),
    # The länssamordnare belongs to no unit: a coordinator reads statistics and is never a party to a case
    # (party rights follow the organisation of the user's unit).
    UserSpec("kerstin", "Kerstin Nord", None, "coordinator", "kerstin.nord@kronoberg.example.se"),
    UserSpec("admin", "Administratör", None, "admin", "admin@sipflow.example.se"),
)

PERSONA_REFERENCES = {
    "viktoria": "SIP-DEMO-VIKTORIA",
    "mikael": "SIP-DEMO-MIKAEL",
    "kim": "SIP-DEMO-KIM",
}

# "Det är viktigt för mig…": the personas' own words, exactly as in SIP.md §8 (from seed 002).
PERSONA_PRIORITIES: dict[str, tuple[str, ...]] = {
    "viktoria": (
        "att jag kan sköta mig själv och leva mitt eget liv",
        "att jag får träffa någon att umgås med och någon som vill leva ihop med mig",
        "att jag får ett jobb där jag kan utvecklas",
        "att jag får resa och se mig om i världen",
        "att jag får komma till ro och kunna sova",
    ),
    "mikael": (
        "att jag har mina kontakter som känner mig på soc och arbetsförmedlingen",
        "att de här kontakterna inte skickar mig fram och tillbaka",
        "att jag har något att göra på dagarna så att jag inte sitter hemma",
        "att jag får träffa mina barn ibland utan att det blir bråk",
        "att jag får hjälp att dricka lite mindre än jag brukar",
        "att jag får lite ordning hemma",
    ),
    "kim": (
        "Att bli lyssnad på, få förståelse för mina problem och ett svar som jag förstår",
        "Att inte bli bollad emellan olika myndigheter eller personer",
        "Att få en egen lägenhet",
        "Att få ett arbete som jag klarar",
        "Att få ordning och reda i vardagen",
    ),
}


def priorities_text(persona: str) -> str:
    """The persona's priorities under the heading the guidance uses, one per line."""
    lines = "\n".join(f"- {item}" for item in PERSONA_PRIORITIES[persona])
    return f"Det är viktigt för mig…\n{lines}"


def personnummer(birth: date, serial: int) -> str:
    """A valid 12-digit personnummer; serials 980-999 are the range Skatteverket keeps for test numbers."""
    nine = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(nine))


# ---------------------------------------------------------------------------------------------------------
# Organisations, units, users


def ensure_organisations(session: Session, specs=ORGANISATIONS) -> tuple[dict[str, Unit], int, int]:
    """Create the organisations and units that are missing; return units by key and the counts created."""
    # The existing rows in two queries, not one per key (the synthetic parties are some twelve hundred).
    orgs = {
        o.key: o
        for o in session.exec(select(Organisation).where(Organisation.key.in_([s.key for s in specs])))
    }
    unit_keys = [u.key for spec in specs for u in spec.units]
    units: dict[str, Unit] = {u.key: u for u in session.exec(select(Unit).where(Unit.key.in_(unit_keys)))}
    new_orgs = new_units = 0
    for spec in specs:
        org = orgs.get(spec.key)
        if org is None:
            org = Organisation(
                key=spec.key,
                name=spec.name,
                kind=spec.kind,
                county_code=spec.county_code,
                municipality_code=spec.municipality_code,
            )
            session.add(org)
            session.flush()
            new_orgs += 1
        for unit_spec in spec.units:
            if unit_spec.key not in units:
                units[unit_spec.key] = Unit(
                    key=unit_spec.key,
                    organisation_id=org.id,
                    name=unit_spec.name,
                    is_health_care=unit_spec.is_health_care,
                )
                session.add(units[unit_spec.key])
                new_units += 1
    session.flush()
    return units, new_orgs, new_units


def ensure_users(session: Session, units: dict[str, Unit]) -> tuple[dict[str, User], int]:
    """Create the demo users that are missing (all with DEMO_PASSWORD); existing ones are left alone."""
    existing = {
        u.username: u
        for u in session.exec(select(User).where(User.username.in_([s.username for s in DEMO_USERS]))).all()
    }
    missing = [s for s in DEMO_USERS if s.username not in existing]
    if missing:
        hashed = hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once for all of them
        for spec in missing:
            user = User(
                username=spec.username,
                display_name=spec.display_name,
                email=spec.email,
                password_hash=hashed,
                unit_id=units[spec.unit_key].id if spec.unit_key else None,
                roles=spec.roles,
            )
            session.add(user)
            existing[spec.username] = user
        session.flush()
    return existing, len(missing)


# ---------------------------------------------------------------------------------------------------------
# Personas


@dataclass(frozen=True)
class Relative:
    kind: str
    name: str
    relation: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Step:
    trigger: str
    actor: str
    days_ago: float
    data: dict | None = None


@dataclass(frozen=True)
class Persona:
    key: str
    identifier: str
    identifier_kind: str | None
    given_name: str
    family_name: str
    workflow: str
    actor: str
    unit_keys: tuple[str, ...]
    relatives: tuple[Relative, ...]
    created_days_ago: float
    steps: tuple[Step, ...]
    utskrivningsklar_days_ago: float | None = None
    # The person's own address for invitations (None: called some other way, by phone or letter).
    email: str | None = None


@dataclass(frozen=True)
class DemoMeeting:
    """A meeting the demo books through sipflow: working days ahead, local start time, form and place."""

    working_days_ahead: int
    start: time
    minutes: int
    mode: str
    location: str | None = None
    room: str | None = None


def _personas() -> tuple[Persona, ...]:
    return (
        # At risk: out of upper-secondary school, anxious, gaming at night; parents worried.
        Persona(
            key="viktoria",
            identifier=personnummer(date(2005, 8, 23), 982),
            identifier_kind=None,
            given_name="Viktoria",
            family_name="Sandberg",
            workflow="sip",
            actor="anna",
            unit_keys=("kommun-0780-ifo",),
            relatives=(
                Relative("narstaende", "Annika Sandberg", "mamma", "annika.sandberg@example.se"),
                Relative("narstaende", "Peter Sandberg", "pappa", None, "070-000 00 11"),
            ),
            created_days_ago=9,
            steps=(Step("give_consent", "anna", 6, {"form": "written"}),),
        ),
        # Identified problems: depression, divorce, debts, more drinking, missed follow-ups.
        Persona(
            key="mikael",
            identifier=personnummer(date(1982, 4, 9), 981),
            identifier_kind=None,
            given_name="Mikael",
            family_name="Johansson",
            workflow="sip",
            actor="anna",
            unit_keys=("kommun-0780-ifo", "arbetsformedlingen-vaxjo"),
            relatives=(
                Relative("narstaende", "Linda Berglund", "f.d. fru, mamma till barnen", "linda.b@example.se"),
            ),
            created_days_ago=16,
            steps=(
                Step("give_consent", "anna", 13, {"form": "oral"}),
                Step("start_preparation", "sara", 5),
                Step("send_kallelse", "anna", 1, {"meeting": DemoMeeting(5, time(13, 0), 90, "video")}),
            ),
            email="mikael.johansson@example.se",
        ),
        # Complex: schizophrenia, often without a home, repeated admissions; a discharge SIP from psychiatry.
        # Kim's sex is not stated: a reservnummer leaves the legal sex unknown ("ej angivet").
        Persona(
            key="kim",
            identifier="RK07KIM0001",
            identifier_kind=RESERVNUMMER,
            given_name="Kim",
            family_name="Andersson",
            workflow="sip_discharge",
            actor="erik",
            unit_keys=(
                "kommun-0780-ifo",
                "kommun-0780-boendestod",
                "arbetsformedlingen-vaxjo",
                "forsakringskassan-vaxjo",
            ),
            relatives=(Relative("narstaende", "Birgitta Andersson", "mamma", None, "070-000 00 42"),),
            created_days_ago=22 / 24,
            utskrivningsklar_days_ago=1,
            # A discharge SIP moves fast: consent and preparation on the ward, the meeting within three days.
            steps=(
                Step("give_consent", "erik", 0.8, {"form": "oral"}),
                Step("start_preparation", "erik", 0.6),
                Step(
                    "send_kallelse",
                    "erik",
                    0.5,
                    {
                        "meeting": DemoMeeting(
                            2,
                            time(10, 0),
                            60,
                            "on_site",
                            "Psykiatriska kliniken, Strandvägen 8, Växjö",
                            "Samtalsrum 2",
                        )
                    },
                ),
            ),
        ),
    )


def _consent_data(session: Session, case: SipCase, now: datetime, form: str) -> dict:
    return {
        "given_by": "guardian" if case.occasion == "child" else "person",
        "form": form,
        "valid_until": to_local(now).date() + timedelta(days=365),
        "organisation_ids": [o.id for o in participating_organisations(session, case.id)],
        "information_scope": "Uppgifter om hälsa, boende, sysselsättning och ekonomi som behövs för planen",
    }


def _step_data(session: Session, persona: Persona, case: SipCase, step: Step, now: datetime) -> dict:
    if step.trigger == "give_consent":
        return _consent_data(session, case, now, (step.data or {}).get("form", "written"))
    if step.trigger == "start_preparation":
        # Her/his priorities become the person's own goals in the plan draft, in their own words.
        return {
            "questions": priorities_text(persona.key),
            "own_goals": "\n".join(PERSONA_PRIORITIES[persona.key]),
        }
    if step.data and "meeting" in step.data:
        return _booking_data(session, case, step.data["meeting"])
    return dict(step.data or {})


def _booking_data(session: Session, case: SipCase, meeting: DemoMeeting) -> dict:
    """Book the meeting through sipflow, ahead of the real clock, every participant invited."""
    day = to_local(add_days(now_utc(), meeting.working_days_ahead, working_days=True)).date()
    starts_at = local_to_utc(datetime.combine(day, meeting.start))
    participant_ids = session.exec(
        select(Participant.id).where(Participant.case_id == case.id, Participant.active)
    ).all()
    return {
        "send_invitations": True,
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(minutes=meeting.minutes),
        "mode": meeting.mode,
        "location": meeting.location,
        "room": meeting.room,
        "invitee_ids": list(participant_ids),
    }


def _set_contacts(session: Session, case: SipCase, persona: Persona, users: dict[str, User]) -> None:
    """Each unit taking part gets its demo user as contact person, and the person their address."""
    by_unit = {user.unit_id: user for user in users.values() if user.unit_id is not None}
    session.flush()
    for participant in session.exec(select(Participant).where(Participant.case_id == case.id)).all():
        if participant.kind == "organisation" and participant.contact_user_id is None:
            contact = by_unit.get(participant.unit_id)
            participant.contact_user_id = contact.id if contact is not None else None
        elif participant.kind == "person":
            participant.email = persona.email
        session.add(participant)


def _load_persona(session: Session, registry, hash_key: str, users: dict[str, User], units, persona, now):
    """Create the persona's case if it is missing and move it along its steps; return (case, created)."""
    reference = PERSONA_REFERENCES[persona.key]
    case = session.exec(select(SipCase).where(SipCase.reference == reference)).first()
    created = case is None
    if created:
        created_at = now - timedelta(days=persona.created_days_ago)
        identifier = parse_identifier(
            persona.identifier, today=to_local(created_at).date(), kind=persona.identifier_kind
        )
        with unit_of_work(session):
            person = register_person(
                session,
                hash_key,
                identifier,
                given_name=persona.given_name,
                family_name=persona.family_name,
                home_municipality_code=VAXJO,
                now=created_at,
            )
            klar = persona.utskrivningsklar_days_ago
            case = services.create_case(
                session,
                registry,
                users[persona.actor],
                workflow_name=persona.workflow,
                person=person,
                unit_ids=[units[key].id for key in persona.unit_keys],
                now=created_at,
                utskrivningsklar_at=now - timedelta(days=klar) if klar is not None else None,
                reference=reference,
            )
            # Her/his own words, kept with the case until plans arrive; preparation may restate them.
            case.questions = priorities_text(persona.key)
            session.add(case)
            _set_contacts(session, case, persona, users)
            for relative in persona.relatives:
                services.add_private_participant(
                    session,
                    registry,
                    case,
                    kind=relative.kind,
                    name=relative.name,
                    relation=relative.relation,
                    email=relative.email,
                    phone=relative.phone,
                    now=created_at,
                )
    workflow = registry.get(case.workflow_name, case.workflow_version)
    for step in persona.steps:
        # A step whose trigger does not fit the current state was done before (or the case moved on).
        if workflow.transition(case.state, step.trigger) is None:
            continue
        at = now - timedelta(days=step.days_ago)
        with unit_of_work(session):
            services.fire_transition(
                session,
                registry,
                users[step.actor],
                case,
                step.trigger,
                expected_version=case.version,
                now=at,
                data=_step_data(session, persona, case, step, at),
            )
    return case, created


# ---------------------------------------------------------------------------------------------------------


def load_demo() -> str:
    """Load reference data, the Kronoberg organisations, users and persona cases; return a summary line."""
    session = get_session()
    registry = current_app.extensions["sipflow.workflows"]
    hash_key = current_app.config["PNR_HASH_KEY"]
    now = now_utc()
    with unit_of_work(session):
        municipalities = load_municipalities(session)
        units, new_orgs, new_units = ensure_organisations(session)
        users, new_users = ensure_users(session, units)
    cases, new_cases = [], 0
    for persona in _personas():
        case, created = _load_persona(session, registry, hash_key, users, units, persona, now)
        cases.append(case)
        new_cases += created
    org_count = session.exec(select(func.count()).select_from(Organisation)).one()
    return (
        f"demo: {municipalities} municipalities; {org_count} organisations ({new_orgs} new), "
        f"{len(units)} demo units ({new_units} new), {len(users)} demo users ({new_users} new, "
        f"password {DEMO_PASSWORD}); persona cases ({new_cases} new): "
        + ", ".join(f"{c.reference} {c.state}" for c in cases)
    )
