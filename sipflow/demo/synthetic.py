"""Synthetic SIP cases in bulk: persons, cases, participants, consents, meetings, attendance, deadlines, log.

Each case is simulated along its workflow file (the same transitions, forms, effects and deadline rules the
service layer applies), then written as plain rows, one transaction per batch of BATCH_SIZE cases, with ids
assigned here (after the highest id in each table) so that child rows need no round-trip. The ORM is used
only for the few dozen organisations, units and users the cases refer to.

Speed (a million cases must load in minutes; figures in bench/README.md):
* the INSERTs are the ones SQLAlchemy Core compiles for `insert(table)`; on PostgreSQL they run as Core
  executemany, on SQLite the parameters go straight to the DB-API's executemany, already converted to the
  text SQLAlchemy's SQLite types store (Core's per-row parameter processing was two thirds of the time);
* for more than one batch, a forked worker process simulates batch k+1 while this process writes batch k;
* SQLite gets a larger page cache for the duration of the load.

Deterministic for a given seed, database and `now`; calling it again adds more cases with new references
(`SIP-SYN-<seed>-<number>`, continuing after the highest number already there for that seed).
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import random
import traceback
from bisect import bisect
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from flask import current_app
from sqlalchemy import JSON, Boolean, Date, DateTime, func, insert, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlmodel import Session, select
from sqlmodel.sql.sqltypes import UTCDateTime

from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.clock import add_days, now_utc
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import get_session, unit_of_work
from sipflow.demo.kronoberg import OrganisationSpec, UnitSpec, ensure_organisations
from sipflow.meetings.models import Attendance, Meeting
from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.models import County, Municipality, Person, Unit, User
from sipflow.people.reference import load_municipalities
from sipflow.people.services import identifier_hash
from sipflow.workflow.definition import CREATE_EVENT, Workflow

BATCH_SIZE = 10_000
SQLITE_LOAD_CACHE_KIB = 512 * 1024
SQLITE_LOAD_CHECKS_FOREIGN_KEYS = False
SQLITE_LOAD_CHECKPOINT_PAGES = 100_000  # about 400 MB of WAL at 4 KiB pages
# Fixed width, so that the highest number of a seed is also its highest reference string (an index seek).
NUMBER_WIDTH = 8
WINDOW_DAYS = 3 * 365
_WINDOW_SECONDS = WINDOW_DAYS * 86400
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
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
QUESTIONS = (
    "Vem gör vad? Hur ser boendet ut?",
    "Hur kan skolgången fungera? Vem samordnar kontakterna?",
    "Vilket stöd behövs efter utskrivningen? Hemtjänst, boendestöd, läkemedel?",
    "Hur får personen en meningsfull sysselsättning? Hur ser ekonomin ut?",
    "Hur undviker vi att personen skickas mellan olika mottagningar?",
    "Vad är viktigt för dig? Vad vill du ska hända först?",
)
CHILD_VIEWS = (
    "Vill gå kvar i samma skola.",
    "Vill ha någon vuxen att prata med i skolan.",
    "Vill kunna sova bättre och orka träna igen.",
    "Vill att mamma och pappa slutar bråka om skolan.",
)
DECISIONS = (
    ("Kontakta boendestödet", "Socialtjänsten"),
    ("Boka läkarbesök för läkemedelsgenomgång", "Vårdcentralen"),
    ("Ansök om anpassad studiegång", "Elevhälsan"),
    ("Utred rätt till aktivitetsersättning", "Försäkringskassan"),
    ("Erbjud arbetsträning", "Arbetsförmedlingen"),
    ("Kontakta budget- och skuldrådgivningen", "Socialtjänsten"),
    ("Planera hemgång med hemtjänst", "Socialtjänsten"),
)
DECISION_PAIRS = tuple((a, b) for a in DECISIONS for b in DECISIONS if a != b)
NO_CHANGE_REASONS = ("Insatserna fungerar, ingen ändring behövs", "Personen vill vänta med förändringar")
CLOSE_REASONS = (
    "Målen i planen är uppnådda",
    "Insatserna avslutade enligt plan",
    "Personen har flyttat från kommunen",
    "Personen vill avsluta sin SIP",
    "Samordningen sker nu inom en enda huvudman",
)
WITHDRAW_REASONS = ("Personen återkallade samtycket", "Personen vill inte längre ha en SIP")
DECLINE_REASONS = ("Vill inte ha en SIP just nu", "Vill inte att uppgifter delas mellan myndigheterna")
CANCEL_REASONS = ("Felregistrerad", "Dubblett av en annan SIP")
CHANNELS = ("sipflow", "sipflow", "sipflow", "sipflow", "brev")
INFORMATION_SCOPE = "Uppgifter som behövs för planeringen"

# Which workflow each trigger's cases follow (other_need 50 %, discharge 30 %, child 20 % of the cases).
TRIGGER_WORKFLOWS = {"other_need": "sip", "discharge": "sip_discharge", "child": "sip_child"}


@dataclass(frozen=True)
class Party:
    """An organisation's one unit and the synthetic staff member who acts for it."""

    organisation_id: int
    unit_id: int
    user_id: int
    name: str


@dataclass
class Parties:
    regions: dict[str, Party]  # by county code
    municipalities: dict[str, Party]  # by municipality code
    schools: dict[str, Party]  # by municipality code
    employment: dict[str, Party]  # Arbetsförmedlingen, by county code
    insurance: dict[str, Party]  # Försäkringskassan, by county code


def _party_specs(session: Session) -> tuple[list[OrganisationSpec], list[Municipality], dict[str, County]]:
    counties = {c.code: c for c in session.exec(select(County).order_by(County.code)).all()}
    municipalities = list(session.exec(select(Municipality).order_by(Municipality.code)).all())
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

    def party(unit_key: str, name: str) -> Party:
        unit: Unit = units[unit_key]
        return Party(unit.organisation_id, unit.id, users[f"syn-{unit_key}"].id, name)

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


def reference_prefix(seed: int) -> str:
    """The reference prefix of a seed's synthetic cases."""
    return f"SIP-SYN-{seed}-"


def next_number(session: Session, seed: int) -> int:
    """The first free case number for seed: one past the highest reference already there."""
    prefix = reference_prefix(seed)
    # '.' follows '-' in ASCII: the range holds exactly the references that start with prefix.
    highest = session.exec(
        select(func.max(SipCase.reference)).where(
            SipCase.reference >= prefix, SipCase.reference < prefix[:-1] + "."
        )
    ).one()
    if highest is None:
        return 1
    tail = highest[len(prefix) :]
    return int(tail) + 1 if tail.isdigit() else 1


_ID_TABLES = (Person, SipCase, Participant, Consent, Meeting, Deadline, TransitionLog)


class _Ids:
    """Ids handed out here, after the highest one in each table."""

    def __init__(self, session: Session):
        self.next = {
            model.__tablename__: (session.exec(select(func.max(model.id))).one() or 0) + 1
            for model in _ID_TABLES
        }

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class _Rows:
    """The rows of one batch, per table, in foreign-key order."""

    ORDER = (
        Person,
        SipCase,
        Participant,
        Consent,
        ConsentOrganisation,
        Meeting,
        Attendance,
        Deadline,
        TransitionLog,
    )

    def __init__(self):
        self.by_table: dict[str, list[dict]] = {model.__tablename__: [] for model in self.ORDER}

    # Tables whose rows are appended as finished parameter tuples (in these column orders), not as dicts.
    TUPLE_KEYS = {
        "consentorganisation": ("consent_id", "organisation_id"),
        "attendance": ("meeting_id", "participant_id", "mode"),
        "transitionlog": (
            "id",
            "case_id",
            "at",
            "user_id",
            "organisation_id",
            "trigger",
            "from_state",
            "to_state",
            "reason",
            "details",
        ),
    }

    @classmethod
    def payload(cls, by_table: dict, sqlite: bool) -> tuple[list[dict], list[tuple[str, tuple, list]]]:
        """The batch as persons (dicts: they may still be renumbered) and, per table, its keys and rows.

        For SQLite the rows become the DB-API parameter tuples; for other databases they are dicts for
        Core's executemany. (This runs in the writing process: with a worker generating the batches, it
        balances the work between the two.)
        """
        tables = []
        for model in cls.ORDER[1:]:
            name = model.__tablename__
            rows = by_table[name]
            if not rows:
                continue
            keys = cls.TUPLE_KEYS.get(name)
            if keys is not None:
                if not sqlite:
                    rows = [dict(zip(keys, row, strict=True)) for row in rows]
            else:
                keys = tuple(rows[0])
                if sqlite:
                    _, to_tuple = _sqlite_plan(model.__table__, keys)
                    rows = [to_tuple(row) for row in rows]
            tables.append((name, keys, rows))
        return by_table["person"], tables


_TABLES = {model.__tablename__: model.__table__ for model in _Rows.ORDER}


def _write_batch(connection: Connection, persons: list[dict], tables, sqlite: bool) -> None:
    """Insert one batch, parents before children, in the connection's transaction."""
    if not sqlite:
        connection.execute(insert(Person.__table__), persons)
        for name, _, rows in tables:
            connection.execute(insert(_TABLES[name]), rows)
        return
    sql, to_tuple = _sqlite_plan(Person.__table__, tuple(persons[0]))
    connection.exec_driver_sql(sql, [to_tuple(row) for row in persons])
    for name, keys, rows in tables:
        sql, _ = _sqlite_plan(_TABLES[name], keys)
        connection.exec_driver_sql(sql, rows)


def _sqlite_datetime(value: datetime | None) -> str | None:
    # The text SQLAlchemy's SQLite DATETIME writes for an aware value: UTC as "YYYY-MM-DD HH:MM:SS.ffffff".
    # (A naive isoformat is twice as fast as an aware one, and every value here is already in UTC.)
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json_encoder():
    # json.dumps builds a new C encoder for every call, which is half its cost on small dicts: build one
    # with json.dumps's default settings once (same output, byte for byte).
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - Python without the C accelerator
        return json.dumps
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
                  False, False, True)  # fmt: skip
    return lambda value: "".join(encode(value, 0))


_to_json = _json_encoder()


def _sqlite_json(value: dict | None) -> str | None:
    if value is None:
        return None
    return _to_json(value) if value else "{}"


def _unchanged(value):
    return value


def _sqlite_plan(table, keys: tuple[str, ...]):
    """The INSERT that Core compiles for table and keys, and a function turning a row into its parameters.

    Core's executemany processes every parameter of every row in Python (about two thirds of the time a
    batch took on SQLite); here the few typed columns are converted to the exact text SQLAlchemy's SQLite
    types store, and the rest goes to the DB-API as it is.
    """
    cached = _SQLITE_PLANS.get((table.name, keys))
    if cached is not None:
        return cached
    compiled = insert(table).compile(dialect=sqlite_dialect(), column_keys=list(keys))
    order = list(compiled.positiontup)
    if table.name in _Rows.TUPLE_KEYS and tuple(order) != keys:  # pragma: no cover - a model changed
        raise AssertionError(f"{table.name}: columns {order}, rows built as {keys}")
    converters = []
    for position, key in enumerate(order):
        column_type = table.c[key].type
        if isinstance(column_type, UTCDateTime | DateTime):
            converters.append((position, _sqlite_datetime))
        elif isinstance(column_type, Date):
            converters.append((position, _sqlite_date))
        elif isinstance(column_type, JSON):
            converters.append((position, _sqlite_json))
        elif isinstance(column_type, Boolean):
            converters.append((position, lambda v: None if v is None else int(v)))
    getter = itemgetter(*order)
    if converters:

        def to_tuple(row: dict) -> tuple:
            values = list(getter(row))
            for position, convert in converters:
                values[position] = convert(values[position])
            return tuple(values)

    else:

        def to_tuple(row: dict) -> tuple:
            return getter(row)

    _SQLITE_PLANS[(table.name, keys)] = plan = (str(compiled), to_tuple)
    return plan


_SQLITE_PLANS: dict = {}


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


class _Renumberer:
    """New identifiers for the rare synthetic person whose identifier someone in the database already has."""

    def __init__(self, rng, hash_key: str):
        self.rng = rng
        self.hash_key = hash_key
        self.used: set[str] = set()

    def renumber(self, person: dict) -> None:
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


class _CaseSimulator:
    """Builds the rows of one synthetic case at a time, following the case's workflow file."""

    def __init__(self, *, rng, now, seed, hash_key, parties, municipalities, workflows, ids, sqlite):
        self.rng = rng
        # How values of rows built as final tuples are handed to the database driver.
        self.db_datetime = _sqlite_datetime if sqlite else _unchanged
        self.db_json = _sqlite_json if sqlite else _unchanged
        self.now = now
        self.seed = seed
        self.hash_key = hash_key
        self.parties: Parties = parties
        self.workflows: dict[str, Workflow] = workflows
        self.ids: _Ids = ids
        self.window_start = now - timedelta(days=WINDOW_DAYS)
        self.municipalities = municipalities
        self.county_of = {m.code: m.county_code for m in municipalities}
        self.mun_name = {m.code: m.name for m in municipalities}
        weights = [POPULATION.get(m.code, 20.0) for m in municipalities]
        self.mun_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        self.first_municipalities = [m.code for m in municipalities]
        rng.shuffle(self.first_municipalities)
        self.used_identifiers: set[str] = set()
        self.final_states = {w.name: {s for s in w.states if w.is_final(s)} for w in workflows.values()}
        # Per workflow and trigger: the deadline kinds it meets and the rules it starts.
        self.deadline_rules = {
            (w.name, trigger): (
                frozenset(rule.kind for rule in w.deadlines if trigger in rule.met_by),
                tuple(rule for rule in w.deadlines if trigger in rule.started_by),
            )
            for w in workflows.values()
            for trigger in (*w.triggers, CREATE_EVENT)
        }

    # -- persons ---------------------------------------------------------------------------------------

    def _reservnummer(self, number: int) -> str:
        value = f"S{self.seed}R{number}".replace("-", "M")
        if len(value) > 20:
            value = "SR" + hashlib.sha256(f"{self.seed}:{number}".encode()).hexdigest()[:18].upper()
        self.used_identifiers.add(value)
        return value

    def _person(self, rows: _Rows, index: int, number: int, trigger: str, requested: datetime, mun: str):
        rng = self.rng
        if trigger == "child":
            age = rng.randrange(18)
        elif trigger == "discharge":
            age = min(95, int(rng.triangular(18, 96, 78)))
        else:
            age = min(95, int(rng.triangular(18, 96, 38)))
        if index % 31 == 7:  # about 3 %: a reservnummer, legal sex not known (as for Kim)
            kind, sex, birth = "reservnummer", "unknown", None
            value = self._reservnummer(number)
            given = rng.choice(NEUTRAL_NAMES)
        else:
            sex = "female" if rng.random() < 0.5 else "male"
            kind = "samordningsnummer" if rng.random() < 0.02 else "personnummer"
            birth = date.fromordinal(requested.toordinal() - age * 365 - age // 4 - rng.randrange(365))
            value = new_personnummer(
                self.rng, self.used_identifiers, birth, sex == "male", kind == "samordningsnummer"
            )
            given = rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
        person = {
            "id": self.ids.take("person"),
            "id_kind": kind,
            "id_number": value,
            "id_hash": identifier_hash(self.hash_key, value),
            "given_name": given,
            "family_name": rng.choice(FAMILY_NAMES),
            "birth_date": birth,
            "legal_sex": sex,
            "home_municipality_code": mun,
            "created_at": requested,
        }
        rows.by_table["person"].append(person)
        return person, age

    # -- helpers ---------------------------------------------------------------------------------------

    def _days(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(low, high) * 86400)

    def _meeting_start(self, after: datetime, low_days: float, high_days: float) -> datetime:
        day = (after + self._days(low_days, high_days)).date()
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        # 08:00-14:45 UTC is working hours in Sweden, summer and winter.
        minutes = 8 * 60 + 15 * self.rng.randrange(28)
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=UTC)

    def _meeting_mode(self, at: datetime) -> str:
        # Digital meetings grow over the window, as the counties' goals want them to.
        share = (at - self.window_start).total_seconds() / _WINDOW_SECONDS
        share = 0.0 if share < 0 else 1.0 if share > 1 else share
        r = self.rng.random()
        if r < 0.12 + 0.18 * share:
            return "video"
        if r < 0.22 + 0.30 * share:
            return "mixed"
        return "on_site"

    def _office_hours(self, at: datetime) -> datetime:
        """at, or the next working morning when at falls in an evening, a night or a weekend."""
        hour = at.hour
        if 6 <= hour < 15 and at.weekday() < 5:  # 06-15 UTC: 07/08-16/17 in Sweden
            return at
        day = at.toordinal() + (hour >= 15)
        weekday = (day - 1) % 7  # day 1 (0001-01-01) was a Monday
        if weekday >= 5:
            day += 7 - weekday
        return _EPOCH + timedelta(days=day - 1, minutes=360 + self.rng.randrange(540))

    def _requested_at(self) -> datetime:
        # Density rising linearly to twice the starting rate: "antalet SIP ska öka".
        position = -1 + math.sqrt(1 + 3 * self.rng.random())
        at = self._office_hours(self.window_start + timedelta(seconds=position * WINDOW_DAYS * 86400))
        return min(at, self.now - timedelta(hours=1))

    # -- one case --------------------------------------------------------------------------------------

    def add_case(self, rows: _Rows, index: int, number: int) -> None:
        """Simulate one case from its request to now and append its rows."""
        rng = self.rng
        r = rng.random()
        trigger = "other_need" if r < 0.5 else "discharge" if r < 0.8 else "child"
        workflow = self.workflows[trigger]
        if index < len(self.first_municipalities):
            mun = self.first_municipalities[index]
        else:
            mun = self.municipalities[bisect(self.mun_cum, rng.random() * self.mun_cum[-1])].code
        county = self.county_of[mun]
        requested = self._requested_at()
        person, age = self._person(rows, index, number, trigger, requested, mun)

        region = self.parties.regions[county]
        kommun = self.parties.municipalities[mun]
        others = []
        if trigger == "child":
            school = self.parties.schools[mun]
            initiator = school if r < 0.88 else region if r < 0.95 else kommun
            others.append(school)
        elif trigger == "discharge":
            initiator = region
            if age < 65 and rng.random() < 0.25:
                others.append(self.parties.employment[county])
            if age < 65 and rng.random() < 0.3:
                others.append(self.parties.insurance[county])
        else:
            initiator = region if rng.random() < 0.55 else kommun
            if age < 65 and rng.random() < 0.35:
                others.append(self.parties.employment[county])
            if age < 65 and rng.random() < 0.2:
                others.append(self.parties.insurance[county])
        organisations = [initiator] + [p for p in (region, kommun, *others) if p is not initiator]
        organisations = organisations[:4]

        case_id = self.ids.take("sipcase")
        klar = requested - self._days(0.02, 0.8) if trigger == "discharge" else None
        case = {
            "id": case_id,
            "uid": f"{rng.getrandbits(128):032x}",
            "reference": f"{reference_prefix(self.seed)}{number:0{NUMBER_WIDTH}d}",
            "workflow_name": workflow.name,
            "workflow_version": workflow.version,
            "state": workflow.initial,
            "occasion": trigger,
            "version": 1,
            "person_id": person["id"],
            "initiating_organisation_id": initiator.organisation_id,
            "created_by_user_id": initiator.user_id,
            "requested_at": requested,
            "utskrivningsklar_at": klar,
            "child_view": None,
            "questions": None,
            "follow_up_on": None,
            "closed_reason": None,
            "created_at": requested,
            "updated_at": requested,
        }
        rows.by_table["sipcase"].append(case)

        participants = rows.by_table["participant"]
        org_rows = []
        for i, party in enumerate(organisations):
            row = {
                "id": self.ids.take("participant"),
                "case_id": case_id,
                "kind": "organisation",
                "role": "initiator" if i == 0 else "participant",
                "organisation_id": party.organisation_id,
                "unit_id": party.unit_id,
                "contact_user_id": party.user_id if i == 0 else None,
                "name": None,
                "relation": None,
                "added_at": requested,
            }
            participants.append(row)
            org_rows.append((party, row))
        private = [self._private(case_id, "person", None, None, requested)]
        guardians = []
        family = person["family_name"]
        if trigger == "child":
            for relation in ("mamma", "pappa")[: 1 if rng.random() < 0.35 else 2]:
                first = rng.choice(FEMALE_NAMES if relation == "mamma" else MALE_NAMES)
                guardian = self._private(
                    case_id, "guardian", f"{first} {family}", "vårdnadshavare", requested
                )
                private.append(guardian)
                guardians.append(guardian)
        elif rng.random() < 0.45:
            relation = rng.choice(
                ("mamma", "pappa", "syster", "bror")
                if age < 30
                else ("sambo", "make", "maka", "syster", "bror", "vän")
                if age < 70
                else ("dotter", "son", "make", "maka")
            )
            private.append(
                self._private(
                    case_id,
                    "narstaende",
                    f"{rng.choice(FEMALE_NAMES + MALE_NAMES)} {family}",
                    relation,
                    requested,
                )
            )
        participants.extend(private)

        sim = _CaseState(
            case=case,
            workflow=workflow,
            org_rows=org_rows,
            private=private,
            guardians=guardians,
            initiator=initiator,
            huvudansvarig=initiator,
        )
        self._log(rows, sim, CREATE_EVENT, None, requested, initiator, None, {})
        self._deadlines(rows, sim, CREATE_EVENT, requested)
        self._run(rows, sim)

    def _private(self, case_id, kind, name, relation, at) -> dict:
        return {
            "id": self.ids.take("participant"),
            "case_id": case_id,
            "kind": kind,
            "role": "participant",
            "organisation_id": None,
            "unit_id": None,
            "contact_user_id": None,
            "name": name,
            "relation": relation,
            "added_at": at,
        }

    def _log(self, rows, sim, trigger, from_state, at, party, reason, details) -> None:
        # Never changed once written: built as the final parameter tuple straight away.
        rows.by_table["transitionlog"].append(
            (
                self.ids.take("transitionlog"),
                sim.case["id"],
                self.db_datetime(at),
                party.user_id,
                party.organisation_id,
                trigger,
                from_state,
                sim.case["state"],
                reason,
                self.db_json(details),
            )
        )

    def _deadlines(self, rows, sim, trigger, at) -> None:
        """What services._settle_deadlines and _start_deadlines write for this trigger."""
        workflow, case = sim.workflow, sim.case
        met, started = self.deadline_rules[(workflow.name, trigger)]
        ending = case["state"] in self.final_states[workflow.name]
        if (met or ending) and sim.open_deadlines:
            for deadline in sim.open_deadlines:
                if deadline["kind"] in met:
                    deadline["met_at"] = at
                elif ending:
                    deadline["cancelled_at"] = at
            sim.open_deadlines = [
                d for d in sim.open_deadlines if d["met_at"] is None and d["cancelled_at"] is None
            ]
        for rule in started:
            start = case[rule.source_field]
            if start is None:
                continue
            due = add_days(start, rule.days, working_days=rule.working_days) if rule.days else start
            deadline = {
                "id": self.ids.take("deadline"),
                "case_id": case["id"],
                "kind": rule.kind,
                "due_at": due,
                "met_at": None,
                "cancelled_at": None,
            }
            rows.by_table["deadline"].append(deadline)
            sim.open_deadlines.append(deadline)

    def _next_step(self, sim) -> tuple[str, datetime, Party]:
        """The case's next trigger, when it happens and which party fires it."""
        rng, case, t = self.rng, sim.case, sim.at
        state = case["state"]
        discharge = case["occasion"] == "discharge"
        r = rng.random()
        initiator, lead = sim.initiator, sim.huvudansvarig
        if state == "requested":
            if r < 0.04:
                return "decline_consent", t + self._days(0.5, 10), initiator
            if r < 0.05:
                return "cancel", t + self._days(0, 3), initiator
            if r < 0.06:
                return "withdraw_consent", t + self._days(0.5, 10), initiator
            return "give_consent", t + (self._days(0.05, 1) if discharge else self._days(0.5, 10)), initiator
        if state == "consent_given":
            if r < 0.01:
                return "withdraw_consent", t + self._days(1, 20), initiator
            if r < 0.015:
                return "cancel", t + self._days(0, 5), initiator
            other = sim.org_rows[1][0] if len(sim.org_rows) > 1 and r < 0.3 else initiator
            return (
                "start_preparation",
                t + (self._days(0.02, 0.5) if discharge else self._days(0.5, 7)),
                other,
            )
        if state == "preparing":
            if r < 0.01:
                return "withdraw_consent", t + self._days(1, 20), initiator
            if r < 0.013:
                return "cancel", t + self._days(0, 5), initiator
            if discharge:
                # Most discharge kallelser go out within the three days of the law; some are late.
                target = case["utskrivningsklar_at"] + (
                    self._days(0.3, 2.9) if r < 0.85 else self._days(3, 8)
                )
                return "send_kallelse", max(target, t + timedelta(minutes=30)), initiator
            return "send_kallelse", t + self._days(0.5, 12), initiator
        if state == "invited":
            meeting_start = sim.meeting["starts_at"]
            if r < 0.01:
                return "withdraw_consent", t + (meeting_start - t) * rng.random(), initiator
            if r < 0.013:
                return "cancel", t + (meeting_start - t) * rng.random(), initiator
            return "hold_meeting", meeting_start, initiator
        if state == "meeting_held":
            if r < 0.005:
                return "withdraw_consent", t + self._days(1, 20), initiator
            return (
                "establish_plan",
                t + (self._days(0.02, 0.15) if r < 0.6 else self._days(0.5, 3)),
                initiator,
            )
        if state == "plan_established":
            follow_up_on = case["follow_up_on"]
            if r < 0.02:
                return "withdraw_consent", t + (follow_up_on - t) * rng.random(), lead
            if r < 0.10:
                return "close", t + (follow_up_on - t) * rng.random(), lead
            return "follow_up", max(follow_up_on + self._days(-5, 25), t + timedelta(hours=1)), lead
        if state == "follow_up":
            if r < 0.02:
                return "withdraw_consent", t + self._days(1, 30), lead
            if r < 0.40:
                return "close", t + self._days(0.02, 7), lead
            return "revise_plan", t + self._days(0.02, 3), lead
        raise AssertionError(
            f"no synthetic step from {state}"
        )  # pragma: no cover - final states stop earlier

    def _run(self, rows: _Rows, sim: _CaseState) -> None:
        case, workflow = sim.case, sim.workflow
        while not workflow.is_final(case["state"]):
            trigger, at, party = self._next_step(sim)
            at = self._office_hours(at)
            if at > self.now:
                break
            transition = workflow.transition(case["state"], trigger)
            if transition is None:  # pragma: no cover - the steps above follow the shipped workflows
                raise AssertionError(f"{workflow.name}: {trigger} not allowed from {case['state']}")
            details: dict = {}
            reason = None
            form = transition.form
            if form == "consent":
                details["consent_id"] = self._consent(rows, sim, at, party)
            elif form == "consent_declined":
                reason = self.rng.choice(DECLINE_REASONS)
                self._declined(rows, sim, at, party, reason)
            elif form == "preparation":
                case["questions"] = self.rng.choice(QUESTIONS)
                if case["occasion"] == "child":
                    case["child_view"] = self.rng.choice(CHILD_VIEWS)
            elif form == "kallelse":
                details.update({"sent_at": at.isoformat(), "channel": self.rng.choice(CHANNELS)})
            elif form == "meeting_outcome":
                details.update(self._outcome(at))
            elif form == "plan":
                details["huvudansvarig_organisation_id"] = self._plan(sim, at)
            elif form == "reason":
                reason = self.rng.choice(
                    CLOSE_REASONS
                    if transition.dest == "closed"
                    else WITHDRAW_REASONS
                    if trigger == "withdraw_consent"
                    else CANCEL_REASONS
                )
                if transition.dest == "closed":
                    case["closed_reason"] = reason
            from_state = case["state"]
            case["state"] = transition.dest
            for effect in transition.effects:
                if effect == "plan_meeting":
                    details["meeting_id"] = self._plan_meeting(rows, sim, at)
                elif effect == "mark_meeting_held":
                    details["meeting_id"] = self._hold_meeting(rows, sim, at)
                elif effect == "withdraw_consents":
                    for consent in sim.consents:
                        if consent["withdrawn_at"] is None:
                            consent["withdrawn_at"] = at
                            consent["withdrawn_reason"] = reason
            if workflow.is_final(case["state"]) and sim.meeting is not None:
                sim.meeting["status"] = "cancelled"  # a stopped case calls no meeting
                sim.meeting = None
            case["version"] += 1
            case["updated_at"] = at
            self._log(rows, sim, trigger, from_state, at, party, reason, details)
            self._deadlines(rows, sim, trigger, at)
            sim.at = at

    # -- what the forms and effects write ----------------------------------------------------------------

    def _consent(self, rows, sim, at, party) -> int:
        rng = self.rng
        givers = sim.guardians or [None]
        first_id = None
        for guardian in givers:
            consent_id = self.ids.take("consent")
            first_id = first_id or consent_id
            consent = {
                "id": consent_id,
                "case_id": sim.case["id"],
                "decision": "given",
                "given_by": "guardian" if guardian else "person",
                "given_by_name": guardian["name"] if guardian else None,
                "form": "written" if rng.random() < 0.6 else "oral",
                "information_scope": INFORMATION_SCOPE,
                # Long enough for every follow-up the simulation generates, so consent_valid always holds.
                "valid_until": (at + timedelta(days=WINDOW_DAYS + 30)).date(),
                "declined_reason": None,
                "recorded_at": at,
                "recorded_by_user_id": party.user_id,
                "withdrawn_at": None,
                "withdrawn_reason": None,
            }
            rows.by_table["consent"].append(consent)
            sim.consents.append(consent)
            for org, _ in sim.org_rows:
                rows.by_table["consentorganisation"].append((consent_id, org.organisation_id))
        return first_id

    def _declined(self, rows, sim, at, party, reason) -> None:
        rows.by_table["consent"].append(
            {
                "id": self.ids.take("consent"),
                "case_id": sim.case["id"],
                "decision": "declined",
                "given_by": "guardian" if sim.guardians else "person",
                "given_by_name": None,
                "form": "oral",
                "information_scope": None,
                "valid_until": None,
                "declined_reason": reason,
                "recorded_at": at,
                "recorded_by_user_id": party.user_id,
                "withdrawn_at": None,
                "withdrawn_reason": None,
            }
        )

    def _outcome(self, at) -> dict:
        rng = self.rng
        if rng.random() < 0.08:
            return {"decisions": [], "no_change_reason": rng.choice(NO_CHANGE_REASONS)}
        due = (at + timedelta(days=rng.choice((7, 14, 30)))).date().isoformat()
        return {"decisions": [{"text": t, "owner": o, "due_on": due} for t, o in rng.choice(DECISION_PAIRS)]}

    def _plan(self, sim, at) -> int:
        rng = self.rng
        if len(sim.org_rows) > 1 and rng.random() < 0.4:
            lead = sim.org_rows[1][0]
        else:
            lead = sim.initiator
        for party, row in sim.org_rows:
            if party is lead:
                row["role"] = "huvudansvarig"
            elif row["role"] == "huvudansvarig":
                row["role"] = "participant"
        sim.huvudansvarig = lead
        sim.case["follow_up_on"] = at + timedelta(days=rng.choice((30, 60, 90, 90, 120, 180)))
        return lead.organisation_id

    def _plan_meeting(self, rows, sim, at) -> int:
        discharge = sim.case["occasion"] == "discharge"
        starts = self._meeting_start(at, 1, 6) if discharge else self._meeting_start(at, 5, 21)
        meeting = self._meeting_row(sim, "follow_up" if sim.held else "first", "planned", starts)
        rows.by_table["meeting"].append(meeting)
        sim.meeting = meeting
        return meeting["id"]

    def _meeting_row(self, sim, kind, status, starts) -> dict:
        mode = self._meeting_mode(starts)
        meeting_id = self.ids.take("meeting")
        return {
            "id": meeting_id,
            "case_id": sim.case["id"],
            "kind": kind,
            "status": status,
            "mode": mode,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=90 if self.rng.random() < 0.3 else 60),
            "location": None if mode == "video" else sim.initiator.name,
            "video_url": f"https://video.example.se/sip/{sim.case['uid'][:16]}/{meeting_id}"
            if mode != "on_site"
            else None,
            "held_at": None,
            # Drawn from the seeded generator, so a seed gives the same data every time.
            "uid": f"{self.rng.getrandbits(128):032x}@sipflow",
            "sequence": 0,
            "room": None,
            "booked_by_user_id": None,
            "cancelled_at": None,
            "updated_at": None,
        }

    def _hold_meeting(self, rows, sim, at) -> int:
        rng = self.rng
        meeting = sim.meeting
        if meeting is None:  # a follow-up meeting nobody booked through a kallelse: recorded as it was held
            meeting = self._meeting_row(sim, "follow_up" if sim.held else "first", "held", at)
            meeting["ends_at"] = at + timedelta(hours=1)
            rows.by_table["meeting"].append(meeting)
        meeting["status"] = "held"
        meeting["held_at"] = at
        meeting["mode"] = mode = self._meeting_mode(at) if rng.random() < 0.1 else meeting["mode"]
        sim.meeting = None
        sim.held += 1
        attendance = rows.by_table["attendance"]
        everyone = [row for _, row in sim.org_rows] + sim.private
        for i, row in enumerate(everyone):
            r = rng.random()
            if mode == "on_site":
                how = "absent" if r < 0.08 else "on_site"
            elif mode == "video":
                how = "absent" if r < 0.08 else "phone" if r < 0.14 else "video"
            elif i == 0:
                how = "on_site"  # a mixed meeting has someone in the room ...
            elif i == 1:
                how = "video"  # ... and someone who is not
            else:
                how = "absent" if r < 0.08 else "phone" if r < 0.13 else "video" if r < 0.5 else "on_site"
            if row["kind"] == "narstaende" and rng.random() < 0.3:
                how = "absent"
            attendance.append((meeting["id"], row["id"], how))
        return meeting["id"]


@dataclass
class _CaseState:
    case: dict
    workflow: Workflow
    org_rows: list
    private: list
    guardians: list
    initiator: Party
    huvudansvarig: Party
    at: datetime | None = None
    meeting: dict | None = None
    held: int = 0

    def __post_init__(self):
        self.at = self.case["requested_at"]
        self.open_deadlines: list[dict] = []
        self.consents: list[dict] = []


def _free_identifiers(connection: Connection, renumberer: _Renumberer, persons: list[dict]) -> None:
    """Renumber the few persons whose identifier a person in the database already has."""
    # Besides the database, a new identifier must not repeat one of this batch (not inserted yet).
    renumberer.used = {p["id_number"] for p in persons}
    pending = persons
    while pending:
        taken = set()
        for start in range(0, len(pending), 500):
            chunk = [p["id_hash"] for p in pending[start : start + 500]]
            taken.update(
                connection.execute(select(Person.id_hash).where(Person.id_hash.in_(chunk))).scalars()
            )
        pending = [p for p in pending if p["id_hash"] in taken]
        for person in pending:
            renumberer.renumber(person)


def _generate(simulator: _CaseSimulator, first: int, n: int, batch_size: int):
    """Yield (size, rows by table) per batch of simulated cases."""
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        rows = _Rows()
        for index in range(done, done + size):
            simulator.add_case(rows, index, first + index)
        done += size
        yield size, rows.by_table


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _worker(batches, sender) -> None:
    """In the forked child: generate every batch and send it; never touch the database."""
    try:
        for item in batches:
            sender.send(("batch", item))
        sender.send(("done", None))
    except BaseException:  # noqa: BLE001 - whatever failed is reported to the parent, which raises it
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()


def _from_worker(batches):
    """Yield the batches generated by a forked child process, one batch ahead of the writer."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_worker, args=(batches, sender), name="sipflow-synthetic", daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                kind, item = receiver.recv()
            except EOFError:
                raise RuntimeError("the synthetic case generator stopped without a word") from None
            if kind == "done":
                return
            if kind == "error":
                raise RuntimeError(f"the synthetic case generator failed:\n{item}")
            yield item
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


@contextmanager
def _bulk_load_pragmas(connection: Connection, sqlite: bool):
    """SQLite: pragmas for the load on the loader's own connection, and the connection's own ones after it.

    * a page cache of up to SQLITE_LOAD_CACHE_KIB: the unique indexes on random keys (uid, id_hash) touch
      pages all over their B-trees, and with the default 2 MiB every insert reads pages back from the file
      once the tables are large;
    * foreign keys unchecked unless SQLITE_LOAD_CHECKS_FOREIGN_KEYS: every reference is built here to a row
      of the same batch or to an organisation, unit or user looked up before (tests/test_demo.py checks
      that the rows hang together), and the checks cost a sixth of the writing time;
    * a WAL checkpoint every SQLITE_LOAD_CHECKPOINT_PAGES pages rather than every 1000: each batch touches
      most leaf pages of those random-key indexes again, and checkpointing after every batch wrote them
      back to the database file each time (a million cases: 33 GB written instead of 27 GB).
    """
    if not sqlite:
        yield
        return
    before = {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
        for name in ("cache_size", "foreign_keys", "wal_autocheckpoint")
    }
    connection.commit()  # these pragmas cannot change inside a transaction; each batch begins its own
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    connection.exec_driver_sql(f"PRAGMA foreign_keys={int(SQLITE_LOAD_CHECKS_FOREIGN_KEYS)}")
    connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_LOAD_CHECKPOINT_PAGES}")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        for name, value in before.items():
            connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")
        connection.commit()
        # Fold the (large) WAL into the database now, rather than leave it to the next writer.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.commit()


def _sync_sequences(connection: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids assigned here."""
    for model in _ID_TABLES:
        table = model.__tablename__
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
            )
        )


def load_synthetic_cases(
    n: int,
    *,
    seed: int,
    progress: Callable[[int], object] | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Add n synthetic cases with persons, participants, consents, meetings and logs; return how many."""
    if n <= 0:
        return 0
    session = get_session()
    registry = current_app.extensions["sipflow.workflows"]
    now = now or now_utc()
    with unit_of_work(session):
        load_municipalities(session)
        parties, municipalities = ensure_parties(session)
    workflows = {trigger: registry.latest(name) for trigger, name in TRIGGER_WORKFLOWS.items()}
    with unit_of_work(session):
        first = next_number(session, seed)
        ids = _Ids(session)
    engine = session.get_bind()
    sqlite = engine.dialect.name == "sqlite"
    simulator = _CaseSimulator(
        rng=QuickRandom(f"sipflow-synthetic:{seed}:{first}"),
        now=now,
        seed=seed,
        hash_key=current_app.config["PNR_HASH_KEY"],
        parties=parties,
        municipalities=municipalities,
        workflows=workflows,
        ids=ids,
        sqlite=sqlite,
    )
    renumberer = _Renumberer(QuickRandom(f"sipflow-synthetic-renumber:{seed}:{first}"), simulator.hash_key)
    # At least four batches when there is enough to share, so that a small load is pipelined too.
    batch_size = min(batch_size, max(1_000, -(-n // 4)))
    batches = _generate(simulator, first, n, batch_size)
    if n > batch_size and _can_fork():
        # Generating a batch costs about as much as writing one: the second core builds the next batch
        # while this process writes the current one.
        batches = _from_worker(batches)
    # One connection of its own for the whole load, one transaction per batch.
    with engine.connect() as connection, _bulk_load_pragmas(connection, sqlite):
        for size, by_table in batches:
            persons, tables = _Rows.payload(by_table, sqlite)
            with connection.begin():
                _free_identifiers(connection, renumberer, persons)
                _write_batch(connection, persons, tables, sqlite)
            if progress is not None:
                progress(size)
        if engine.dialect.name == "postgresql":
            with connection.begin():
                _sync_sequences(connection)
    return n
