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

from sipflow.admin.models import CoordinatorScope
from sipflow.cases import services
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import participating_organisations
from sipflow.clock import add_days, first_working_day, local_to_utc, now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.meetings.models import ATTENDANCE_MODES, Meeting
from sipflow.people.identifiers import RESERVNUMMER, luhn_check_digit, parse_identifier
from sipflow.people.models import Organisation, Unit, User
from sipflow.people.reference import load_municipalities
from sipflow.people.services import register_person
from sipflow.plans.approvals import approve_version, newest_version
from sipflow.plans.editor import plan_data, save_plan
from sipflow.plans.responsibility import give_huvudansvar
from sipflow.plans.services import find_plan
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
    # An independent school (friskola) in Växjö: its huvudman is neither the municipality nor the region.
    OrganisationSpec(
        "friskola-vaxjo-larande",
        "Lärande Friskola Växjö",
        "friskola",
        "07",
        VAXJO,
        (UnitSpec("friskola-vaxjo-larande-elevhalsan", "Elevhälsan"),),
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
    # A coordinator's counties (codes) whose statistics they follow; none would be every county.
    scope: tuple[str, ...] = ()


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
    # Kronoberg's länssamordnare belongs to no unit: a coordinator reads statistics and is never a party to
    # a case (party rights follow the organisation of the user's unit). She follows county 07, as a
    # coordinator Kronoberg's administrator makes would.
    UserSpec(
        "kerstin", "Kerstin Nord", None, "coordinator", "kerstin.nord@kronoberg.example.se", scope=("07",)
    ),
    UserSpec("admin", "Administratör", None, "admin", "admin@sipflow.example.se"),
)

# A reference is printed in mail subjects and calendar entries, so it never carries a name, not even a
# demo persona's.
PERSONA_REFERENCES = {
    "viktoria": "SIP-DEMO-0001",
    "mikael": "SIP-DEMO-0002",
    "kim": "SIP-DEMO-0003",
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
        for spec in missing:
            for code in spec.scope:
                session.add(CoordinatorScope(user_id=existing[spec.username].id, county_code=code))
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
    """A transition fired days_ago, or (days_ago None) hours_after_meeting after the booked meeting ends."""

    trigger: str
    actor: str
    days_ago: float | None
    data: dict | None = None
    hours_after_meeting: float = 0.0


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
    # The questions for the meeting's agenda (what the person wants to be taken up), not their priorities.
    questions: str | None = None


@dataclass(frozen=True)
class DemoDecision:
    """A decision taken at the meeting: what, by which unit, within how many days."""

    text: str
    unit_key: str
    due_in_days: int


@dataclass(frozen=True)
class DemoOutcome:
    """The meeting's outcome as the outcome page records it: attendance by unit or kind, and decisions."""

    decisions: tuple[DemoDecision, ...]
    # Attendance by unit key, or "person" / a närstående's relation; everyone else on site.
    attendance: dict[str, str]


@dataclass(frozen=True)
class DemoEffort:
    """An effort of the plan: what, the unit that owns it, the person responsible, its days and status."""

    what: str
    unit_key: str
    responsible: str
    starts_in_days: int
    ends_in_days: int
    status: str


@dataclass(frozen=True)
class DemoPlan:
    """The plan as the editor writes it before it is established (days count from the meeting's day)."""

    needs: str
    efforts: tuple[DemoEffort, ...]
    own_efforts: tuple[tuple[str, str], ...]  # (what, who does it) the person or a närstående does
    huvudansvar_unit: str
    huvudansvar_contact: str
    follow_up_in_days: int
    # Who recorded whose approval at the meeting: approving user for each organisation; the person's by actor.
    approvals_by: tuple[str, ...]


@dataclass(frozen=True)
class DemoMeeting:
    """A meeting the demo books through sipflow: working days ahead, local start time, form and place."""

    working_days_ahead: int
    start: time
    minutes: int
    mode: str
    location: str | None = None
    room: str | None = None


MIKAEL_OUTCOME = DemoOutcome(
    decisions=(
        DemoDecision(
            "Samtal om alkoholvanorna och uppföljning av depressionsbehandlingen", "region-07-vc-teleborg", 14
        ),
        DemoDecision("Budget- och skuldrådgivning samt ansökan om boendestöd", "kommun-0780-ifo", 21),
        DemoDecision(
            "Kartläggning inför arbetsträning med daglig sysselsättning", "arbetsformedlingen-vaxjo", 30
        ),
    ),
    attendance={"person": "video", "f.d. fru, mamma till barnen": "absent"},
)

MIKAEL_PLAN = DemoPlan(
    needs=(
        "Mikael behöver stöd med nedstämdheten och alkoholen, ordning på ekonomin och hemmet, "
        "något att göra på dagarna och samma kontakter över tid."
    ),
    efforts=(
        DemoEffort(
            "Samtal om alkoholvanorna och uppföljning av depressionsbehandlingen",
            "region-07-vc-teleborg",
            "Anna Lind, distriktssköterska",
            0,
            120,
            "ongoing",
        ),
        DemoEffort(
            "Budget- och skuldrådgivning samt ansökan om boendestöd",
            "kommun-0780-ifo",
            "Sara Ek, socialsekreterare",
            7,
            180,
            "ongoing",
        ),
        DemoEffort(
            "Kartläggning inför arbetsträning med daglig sysselsättning",
            "arbetsformedlingen-vaxjo",
            "Omar Said, arbetsförmedlare",
            14,
            180,
            "planned",
        ),
    ),
    own_efforts=(("Går till dagverksamhetens träffar två gånger i veckan", "Mikael"),),
    huvudansvar_unit="kommun-0780-ifo",
    huvudansvar_contact="Sara Ek, Socialtjänsten (IFO), 0470-00 00 00",
    follow_up_in_days=90,
    approvals_by=("anna", "sara", "omar"),
)

KIM_OUTCOME = DemoOutcome(
    decisions=(
        DemoDecision("Boendestöd två gånger i veckan från utskrivningsdagen", "kommun-0780-boendestod", 3),
        DemoDecision("Ansökan om boende med särskild service", "kommun-0780-ifo", 14),
        DemoDecision("Återbesök på psykosmottagningen inom en vecka", "region-07-psykiatri-vaxjo", 7),
    ),
    attendance={"forsakringskassan-vaxjo": "phone", "mamma": "phone"},
)


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
        # Identified problems: depression, divorce, debts, more drinking, missed follow-ups. His first SIP
        # meeting was held on its booked day; the plan was established after it and approved there.
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
            created_days_ago=34,
            steps=(
                Step("give_consent", "anna", 31, {"form": "oral"}),
                Step("start_preparation", "sara", 27),
                Step("send_kallelse", "anna", 24, {"meeting": DemoMeeting(5, time(13, 0), 90, "video")}),
                Step("hold_meeting", "anna", None, {"outcome": MIKAEL_OUTCOME}),
                Step("establish_plan", "anna", None, {"plan": MIKAEL_PLAN}, hours_after_meeting=1.5),
            ),
            email="mikael.johansson@example.se",
            questions=(
                "Hur får jag en kontakt som håller ihop det, så att jag inte skickas fram och tillbaka?\n"
                "Vad kan jag göra på dagarna?\n"
                "Hur blir det med skulderna och med att träffa barnen?"
            ),
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
            created_days_ago=7.2,
            utskrivningsklar_days_ago=7.3,
            # A discharge SIP moves fast: consent and preparation on the ward, the meeting next working day.
            steps=(
                Step("give_consent", "erik", 6.9, {"form": "oral"}),
                Step("start_preparation", "erik", 6.8),
                Step(
                    "send_kallelse",
                    "erik",
                    6.7,
                    {
                        "meeting": DemoMeeting(
                            1,
                            time(10, 0),
                            60,
                            "on_site",
                            # An address, not the clinic: the place goes into every invitee's calendar, and a
                            # clinic's name says what the person is treated for (the form's own advice).
                            "Strandvägen 8, Växjö",
                            "Samtalsrum 2",
                        )
                    },
                ),
                Step("hold_meeting", "erik", None, {"outcome": KIM_OUTCOME}, hours_after_meeting=0.5),
            ),
            questions="Var ska jag bo när jag skrivs ut?\nVem hör jag av mig till om det blir svårt?",
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


def _step_data(
    session: Session, persona: Persona, case: SipCase, step: Step, now: datetime, units: dict[str, Unit]
) -> dict:
    if step.trigger == "give_consent":
        return _consent_data(session, case, now, (step.data or {}).get("form", "written"))
    if step.trigger == "start_preparation":
        # Her/his priorities become the person's own goals in the plan draft, in their own words; the
        # questions are what the agenda takes up.
        return {
            "questions": persona.questions or priorities_text(persona.key),
            "own_goals": "\n".join(PERSONA_PRIORITIES[persona.key]),
        }
    if step.data and "meeting" in step.data:
        return _booking_data(session, case, step.data["meeting"], now)
    if step.data and "outcome" in step.data:
        return _outcome_data(session, case, step.data["outcome"], units)
    return dict(step.data or {})


def _booking_data(session: Session, case: SipCase, meeting: DemoMeeting, now: datetime) -> dict:
    """Book the meeting through sipflow, working days after the step, every participant invited."""
    day = to_local(add_days(now, meeting.working_days_ahead, working_days=True)).date()
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


def _booked_meeting(session: Session, case: SipCase) -> Meeting:
    """The case's first booked meeting (the demo books one per case)."""
    return session.exec(select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.starts_at)).first()


def _outcome_data(session: Session, case: SipCase, outcome: DemoOutcome, units: dict[str, Unit]) -> dict:
    """The outcome page's input: held at the booked time (not moved), attendance, decisions with owners."""
    meeting = _booked_meeting(session, case)
    usual = meeting.mode if meeting.mode in ATTENDANCE_MODES else "on_site"
    by_unit = {unit.id: key for key, unit in units.items()}
    attendance = {}
    for participant in session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.active)
    ).all():
        if participant.kind == "organisation":
            name = by_unit.get(participant.unit_id)
        elif participant.kind == "person":
            name = "person"
        else:
            name = participant.relation
        attendance[participant.id] = outcome.attendance.get(name, usual)
    day = to_local(meeting.starts_at).date()
    return {
        "meeting_id": meeting.id,
        "held_at": meeting.starts_at,
        "moved": False,
        "mode": meeting.mode,
        "attendance": attendance,
        "decisions": [
            {
                "text": decision.text,
                "owner": f"unit:{units[decision.unit_key].id}",
                "due_on": day + timedelta(days=decision.due_in_days),
            }
            for decision in outcome.decisions
        ],
    }


def _write_plan(session, registry, case: SipCase, spec: DemoPlan, actor: User, units, now: datetime) -> dict:
    """Write the plan in the editor's shape and give huvudansvar, as the plan page does; the step's data."""
    meeting_day = to_local(_booked_meeting(session, case).starts_at).date()
    plan = find_plan(session, case)
    data = plan_data(session, case, plan)
    data["needs"] = spec.needs
    for spec_effort in spec.efforts:
        unit = units[spec_effort.unit_key]
        effort = next((e for e in data["efforts"] if e["what"] == spec_effort.what), None)
        if effort is None:
            effort = {"kind": "effort", "what": spec_effort.what}
            data["efforts"].append(effort)
        effort.update(
            organisation_id=unit.organisation_id,
            unit_id=unit.id,
            responsible=spec_effort.responsible,
            starts_on=meeting_day + timedelta(days=spec_effort.starts_in_days),
            ends_on=meeting_day + timedelta(days=spec_effort.ends_in_days),
            status=spec_effort.status,
        )
    for what, who in spec.own_efforts:
        if not any(e["what"] == what for e in data["efforts"]):
            data["efforts"].append({"kind": "own", "what": what, "actor": who, "starts_on": meeting_day})
    data["no_other_measures"] = True
    data["huvudansvar_contact"] = spec.huvudansvar_contact
    data["follow_up_on"] = first_working_day(meeting_day + timedelta(days=spec.follow_up_in_days))
    plan = save_plan(
        session, case, actor, data, expected_row_version=plan.row_version if plan else 0, now=now
    )
    give_huvudansvar(
        session,
        case,
        actor,
        organisation_id=units[spec.huvudansvar_unit].organisation_id,
        reason=None,
        expected_version=case.version,
        now=now,
    )
    return {"plan_row_version": plan.row_version}


def _approve(session, case: SipCase, spec: DemoPlan, users: dict[str, User], actor: User, now: datetime):
    """The organisations' and the person's approvals of the newest version, recorded at the meeting."""
    version = newest_version(session, case)
    rows = session.exec(select(Participant).where(Participant.case_id == case.id, Participant.active)).all()
    for username in spec.approvals_by:
        user = users[username]
        organisation_id = session.get(Unit, user.unit_id).organisation_id
        row = next(p for p in rows if p.kind == "organisation" and p.organisation_id == organisation_id)
        approve_version(
            session, case=case, version=version, participant=row, method="meeting", now=now, recorded_by=user
        )
    person = next(p for p in rows if p.kind == "person")
    approve_version(
        session, case=case, version=version, participant=person, method="meeting", now=now, recorded_by=actor
    )


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
            # The agenda's questions; a persona without any keeps her own words here until preparation.
            case.questions = persona.questions or priorities_text(persona.key)
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
        if step.days_ago is None:
            at = _booked_meeting(session, case).ends_at + timedelta(hours=step.hours_after_meeting)
            if at > now:
                # A database an older demo filled has the meeting ahead: it is held when its time comes.
                break
        else:
            at = now - timedelta(days=step.days_ago)
        plan = (step.data or {}).get("plan")
        actor = users[step.actor]
        if plan is not None:
            with unit_of_work(session):
                data = _write_plan(session, registry, case, plan, actor, units, at - timedelta(minutes=10))
        with unit_of_work(session):
            services.fire_transition(
                session,
                registry,
                actor,
                case,
                step.trigger,
                expected_version=case.version,
                now=at,
                data=data if plan is not None else _step_data(session, persona, case, step, at, units),
            )
        if plan is not None:
            with unit_of_work(session):
                _approve(session, case, plan, users, actor, at + timedelta(minutes=5))
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
