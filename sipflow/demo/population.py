"""Who synthetic cases are about and who works on them: organisations, units, staff and persons.

The organisations are the real kinds of a county (a region per county, a municipality's social services and
schools, Arbetsförmedlingen and Försäkringskassan per county), each with one unit and one synthetic staff
member who cannot log in. Persons live where people live (weighted by population) and carry valid,
unique identifiers.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from sipflow.demo.kronoberg import OrganisationSpec, UnitSpec, ensure_organisations
from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.models import County, Municipality, Unit, User
from sipflow.people.services import identifier_hash

UNUSABLE_PASSWORD = "!synthetic-user-cannot-log-in"

# Approximate population in thousands: only to weight where synthetic persons live.
POPULATION = {
    "0760": 9.6, "0761": 8.8, "0763": 12.5, "0764": 20.5, "0765": 18.3, "0767": 10.1, "0780": 97.0,
    "0781": 28.7, "0821": 5.7, "0834": 7.1, "0840": 15.6, "0860": 13.6, "0861": 13.5, "0862": 9.2,
    "0880": 72.0, "0881": 20.3, "0882": 27.2, "0883": 36.5, "0884": 15.5, "0885": 10.9, "1904": 4.3,
    "1907": 10.1, "1960": 8.8, "1961": 16.5, "1962": 5.7, "1980": 158.0, "1981": 22.9, "1982": 13.4,
    "1983": 26.5, "1984": 14.0,
}  # fmt: skip

FEMALE_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Emma", "Elin", "Linnea", "Ida", "Maja", "Ebba", "Alva",
    "Wilma", "Saga", "Agnes", "Astrid", "Ingrid", "Margareta", "Birgitta", "Kerstin", "Lena", "Sofia",
    "Fatima", "Amina", "Julia", "Hanna", "Matilda", "Signe", "Elsa", "Nour",
)  # fmt: skip
MALE_NAMES = (
    "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Mikael", "Oskar", "Lucas", "William",
    "Liam", "Hugo", "Elias", "Noah", "Adam", "Viktor", "Filip", "Emil", "Axel", "Gustav", "Olof",
    "Sven", "Bengt", "Ali", "Mohammed", "Ahmed", "Jonas", "Daniel", "Ludvig",
)  # fmt: skip
NEUTRAL_NAMES = ("Kim", "Alex", "Robin", "Charlie", "Love", "Sam", "Noa", "Mika", "Tintin", "Billie")
FAMILY_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson",
    "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist", "Lindgren", "Axelsson",
    "Berg", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist", "Mattsson", "Berglund",
    "Fredriksson", "Sandberg", "Henriksson", "Holm", "Hussein", "Ali", "Mohammed", "Nyström",
)  # fmt: skip

# The synthetic population lives in the seeds' three counties (Kronoberg, Kalmar, Västmanland) of the
# all-Sweden reference data, so benchmarks keep their size whatever else the database holds.
DEMO_COUNTIES = ("07", "08", "19")


@dataclass(frozen=True)
class Party:
    """An organisation's one unit and the synthetic staff member who acts for it."""

    organisation_id: int
    unit_id: int
    user_id: int
    name: str
    # The organisation's kind (Organisation.kind): whether it may have huvudansvar.
    kind: str


@dataclass
class Parties:
    """The parties synthetic cases draw from, per county or municipality."""

    regions: dict[str, Party]  # by county code
    municipalities: dict[str, Party]  # by municipality code
    schools: dict[str, Party]  # by municipality code
    employment: dict[str, Party]  # Arbetsförmedlingen, by county code
    insurance: dict[str, Party]  # Försäkringskassan, by county code

    def of(self, kind: str, county: str, municipality: str) -> Party:
        """The party of kind (region, municipality, school, employment, insurance) serving a home."""
        if kind in ("municipality", "school"):
            return getattr(self, "municipalities" if kind == "municipality" else "schools")[municipality]
        return getattr(self, "regions" if kind == "region" else kind)[county]


def _party_specs(session: Session) -> tuple[list[OrganisationSpec], list[Municipality], dict[str, County]]:
    counties = {
        c.code: c
        for c in session.exec(
            select(County).where(County.code.in_(DEMO_COUNTIES)).order_by(County.code)
        ).all()
    }
    municipalities = list(
        session.exec(
            select(Municipality)
            .where(Municipality.county_code.in_(DEMO_COUNTIES))
            .order_by(Municipality.code)
        ).all()
    )
    specs = []
    for cc, county in counties.items():
        specs.append(
            OrganisationSpec(
                f"region-{cc}",
                county.region_name,
                "region",
                cc,
                None,
                (UnitSpec(f"region-{cc}-halso-och-sjukvard", "Hälso- och sjukvården", True),),
            )
        )
    for m in municipalities:
        specs.append(
            OrganisationSpec(
                f"kommun-{m.code}",
                f"{m.name} kommun",
                "municipality",
                m.county_code,
                m.code,
                (UnitSpec(f"kommun-{m.code}-socialtjanst", "Socialtjänsten"),),
            )
        )
        specs.append(
            OrganisationSpec(
                f"skola-{m.code}",
                f"Grundskolorna i {m.name} kommun",
                "school",
                m.county_code,
                m.code,
                (UnitSpec(f"skola-{m.code}-elevhalsan", "Elevhälsan"),),
            )
        )
    specs.append(
        OrganisationSpec(
            "arbetsformedlingen",
            "Arbetsförmedlingen",
            "other",
            None,
            None,
            tuple(
                UnitSpec(f"arbetsformedlingen-{cc}", f"Arbetsförmedlingen, {c.name}")
                for cc, c in counties.items()
            ),
        )
    )
    specs.append(
        OrganisationSpec(
            "forsakringskassan",
            "Försäkringskassan",
            "other",
            None,
            None,
            tuple(
                UnitSpec(f"forsakringskassan-{cc}", f"Försäkringskassan, {c.name}")
                for cc, c in counties.items()
            ),
        )
    )
    return specs, municipalities, counties


def ensure_parties(session: Session) -> tuple[Parties, list[Municipality]]:
    """The organisations, units and (inactive) staff users synthetic cases use; created when missing."""
    specs, municipalities, counties = _party_specs(session)
    units, _, _ = ensure_organisations(session, specs)
    names = {f"syn-{key}" for key in units}
    users = {u.username: u for u in session.exec(select(User).where(User.username.in_(names))).all()}
    for key, unit in units.items():
        if f"syn-{key}" not in users:
            user = User(
                username=f"syn-{key}",
                display_name=f"Handläggare ({unit.name})",
                password_hash=UNUSABLE_PASSWORD,  # not an argon2 hash: verify_password always says no
                unit_id=unit.id,
                roles="staff",
                active=False,
            )
            session.add(user)
            users[user.username] = user
    session.flush()

    kinds = {unit.key: spec.kind for spec in specs for unit in spec.units}

    def party(unit_key: str, name: str) -> Party:
        unit: Unit = units[unit_key]
        return Party(unit.organisation_id, unit.id, users[f"syn-{unit_key}"].id, name, kinds[unit_key])

    mun_names = {m.code: m.name for m in municipalities}
    return (
        Parties(
            regions={
                cc: party(f"region-{cc}-halso-och-sjukvard", c.region_name) for cc, c in counties.items()
            },
            municipalities={
                code: party(f"kommun-{code}-socialtjanst", f"Socialtjänsten, {name} kommun")
                for code, name in mun_names.items()
            },
            schools={
                code: party(f"skola-{code}-elevhalsan", f"Elevhälsan, {name} kommun")
                for code, name in mun_names.items()
            },
            employment={cc: party(f"arbetsformedlingen-{cc}", "Arbetsförmedlingen") for cc in counties},
            insurance={cc: party(f"forsakringskassan-{cc}", "Försäkringskassan") for cc in counties},
        ),
        municipalities,
    )


def new_personnummer(rng, used: set[str], birth: date, male: bool, coordination: bool) -> str:
    """A valid personnummer (or samordningsnummer) for birth and sex that is not in used; added to it."""
    day = birth.day + (60 if coordination else 0)
    yymmdd = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}"
    while True:
        serial = rng.randrange(490) * 2 + (1 if male else 0)  # 000-979: 980-999 are kept for test numbers
        number = f"{birth.year // 100:02d}{yymmdd}{serial:03d}{luhn_check_digit(f'{yymmdd}{serial:03d}')}"
        if number not in used:
            used.add(number)
            return number


class QuickRandom(random.Random):
    """choice() and randrange(n) from a single random() call.

    Good enough for synthetic data and several times faster than the exact versions (rejection sampling
    on getrandbits), which took a fifth of the generation time.
    """

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randrange(self, n):  # noqa: D102 - only the one-argument form is used here
        return int(self.random() * n)


class Renumberer:
    """New identifiers for the rare synthetic person whose identifier someone in the database already has."""

    def __init__(self, rng, hash_key: str):
        self.rng = rng
        self.hash_key = hash_key
        self.used: set[str] = set()

    def renumber(self, person: dict) -> None:
        """Give person a new identifier of the same kind."""
        if person["id_kind"] == "reservnummer":
            value = f"SR{self.rng.getrandbits(72):018X}"
        else:
            value = new_personnummer(
                self.rng,
                self.used,
                person["birth_date"],
                person["legal_sex"] == "male",
                person["id_kind"] == "samordningsnummer",
            )
        person["id_number"] = value
        person["id_hash"] = identifier_hash(self.hash_key, value)


class Population:
    """Draws where a case's person lives and who they are."""

    def __init__(self, rng, *, seed: int, hash_key: str, municipalities: list[Municipality], take_id):
        self.rng = rng
        self.seed = seed
        self.hash_key = hash_key
        self.take_id = take_id
        self.municipalities = municipalities
        self.county_of = {m.code: m.county_code for m in municipalities}
        weights = [POPULATION.get(m.code, 20.0) for m in municipalities]
        self.mun_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        # The first cases go one to each municipality, so that even a small load covers them all.
        self.first_municipalities = [m.code for m in municipalities]
        rng.shuffle(self.first_municipalities)
        self.used_identifiers: set[str] = set()

    def home(self, index: int) -> str:
        """The municipality code where the person of the index-th case lives."""
        if index < len(self.first_municipalities):
            return self.first_municipalities[index]
        return self.municipalities[bisect(self.mun_cum, self.rng.random() * self.mun_cum[-1])].code

    def _reservnummer(self, number: int) -> str:
        value = f"S{self.seed}R{number}".replace("-", "M")
        if len(value) > 20:
            value = "SR" + hashlib.sha256(f"{self.seed}:{number}".encode()).hexdigest()[:18].upper()
        self.used_identifiers.add(value)
        return value

    def person(self, index: int, number: int, age: int, registered: datetime, mun: str) -> dict:
        """The row of a new person of age living in mun, registered at registered."""
        rng = self.rng
        if index % 31 == 7:  # about 3 %: a reservnummer, legal sex not known (as for Kim)
            kind, sex, birth = "reservnummer", "unknown", None
            value = self._reservnummer(number)
            given = rng.choice(NEUTRAL_NAMES)
        else:
            sex = "female" if rng.random() < 0.5 else "male"
            kind = "samordningsnummer" if rng.random() < 0.02 else "personnummer"
            birth = date.fromordinal(registered.toordinal() - age * 365 - age // 4 - rng.randrange(365))
            value = new_personnummer(
                self.rng, self.used_identifiers, birth, sex == "male", kind == "samordningsnummer"
            )
            given = rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
        return {
            "id": self.take_id("person"),
            "id_kind": kind,
            "id_number": value,
            "id_hash": identifier_hash(self.hash_key, value),
            "given_name": given,
            "family_name": rng.choice(FAMILY_NAMES),
            "birth_date": birth,
            "legal_sex": sex,
            "home_municipality_code": mun,
            "created_at": registered,
        }
