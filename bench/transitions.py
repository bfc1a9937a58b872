"""Full SIP lifecycles through the service layer, side by side with the same writes as hand-written SQL.

    .venv/bin/python bench/transitions.py [--cases N] [--block B] [--database-url URL] [--profile]

Both paths run on one database built by the migrations, one transaction per step as the application does:
by default a fresh file SQLite database (WAL, foreign keys on, synchronous FULL, busy timeout: the pragmas
sipflow.db sets); with --database-url an empty PostgreSQL database (it is migrated, filled and left so).
The paths take turns in blocks of B lifecycles (service, hand-written, service, ...), so whatever else loads
the machine falls on both alike; preparing the form data (scripted_input, parsing the personnummer) is done
with the clock stopped and its statements are not counted. The statements of one lifecycle of each path are
counted after the warm-up lifecycles, with the per-process cache of units' organisations filled; the
service path's line says how many of them are the requests' loads of actor and case, which the
hand-written path does not need (it holds both).

  create (person + case + participants + log + deadline + access-log row), give_consent, start_preparation,
  send_kallelse, hold_meeting, establish_plan, follow_up, revise_plan, close

* service: each step opens its own Session (as a request does), loads the actor and the case, (clock
  stopped) builds the form data with sipflow.cases.scripted.scripted_input, (clock running) calls
  services.create_case / services.fire_transition (through scripted.fire_scripted), then commits.
* hand-written: the sqlite3 module (psycopg on PostgreSQL) directly, the same rows the service path writes,
  like for like: person, case, participants, Mina SIP's case_visibility rows (and their time at each step),
  the start's access-log row (chained as sipflow.security.audit.record_access chains it), transition log,
  consent and its organisations, deadlines, meetings, attendance, the compare-and-set UPDATE of the version
  together with the new state and columns, the plan draft and its own goal, each held meeting's decision,
  KVÅ code record and the plan effort it becomes, the plan's compare-and-set and its frozen versions
  (content JSON and the PDF, rendered by the same sipflow.plans.pdf.render_plan_pdf), and the deadline
  reminders (written, then cancelled when the deadline is met). Several rows of one table go in one
  executemany; it knows its own ids, so it reads nothing back but the access log's head (the seq and the
  hash to chain to, returned by the UPDATE that locks it). (The plan's own edits and huvudansvar are made
  before establishing, in the editor: untimed on both sides.)

The ratio service / hand-written is the price of the ORM, the guards' queries and the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

# This file is called transitions.py, like the state machine library sipflow uses: keep its folder off the
# import path, and put the project's root on it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from sipflow import create_app  # noqa: E402
from sipflow.cases import services  # noqa: E402
from sipflow.cases.models import SipCase  # noqa: E402
from sipflow.cases.scripted import fire_scripted, scripted_input  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.clock import add_days, to_local  # noqa: E402
from sipflow.demo.kronoberg import personnummer  # noqa: E402
from sipflow.people.identifiers import parse_identifier  # noqa: E402
from sipflow.people.models import Organisation, Unit, User  # noqa: E402
from sipflow.people.reference import load_municipalities  # noqa: E402
from sipflow.people.services import identifier_hash, register_person  # noqa: E402
from sipflow.plans.pdf import render_plan_pdf  # noqa: E402
from sipflow.reminders.services import on_the_morning, soon_moment  # noqa: E402
from sipflow.security import audit  # noqa: E402

STEPS = (
    "give_consent",
    "start_preparation",
    "send_kallelse",
    "hold_meeting",
    "establish_plan",
    "follow_up",
    "revise_plan",
    "close",
)
WORKFLOW = "sip"
HASH_KEY = "bench-pnr-key"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# The hand-written lifecycles use other personnummer than the service path's, in the same database.
HAND_OFFSET = 500_000


def build_database(url: str) -> dict:
    """Migrate the database at url; add reference data, two organisations with a unit each and a user."""
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "PNR_HASH_KEY": HASH_KEY}
    )
    with app.app_context(), Session(app.extensions["sipflow.engine"]) as session:
        load_municipalities(session)
        region = Organisation(key="region-07", name="Region Kronoberg", kind="region", county_code="07")
        kommun = Organisation(
            key="kommun-0780",
            name="Växjö kommun",
            kind="municipality",
            county_code="07",
            municipality_code="0780",
        )
        session.add_all([region, kommun])
        session.flush()
        vc = Unit(key="vc", organisation_id=region.id, name="Vårdcentralen", is_health_care=True)
        ifo = Unit(key="ifo", organisation_id=kommun.id, name="Socialtjänsten")
        session.add_all([vc, ifo])
        session.flush()
        user = User(username="anna", display_name="Anna", password_hash="-", unit_id=vc.id)
        session.add(user)
        session.commit()
        ids = {
            "region": region.id,
            "kommun": kommun.id,
            "vc": vc.id,
            "ifo": ifo.id,
            "user": user.id,
        }
    app.extensions["sipflow.engine"].dispose()
    return ids


def identifier_for(number: int) -> str:
    """A distinct valid personnummer per lifecycle."""
    birth = date(1950, 1, 1) + timedelta(days=number // 900)
    return personnummer(birth, number % 900)


# --- the service path -------------------------------------------------------------------------------------


class Stopwatch:
    """Time and statements of the parts that count; form preparation runs with both stopped."""

    def __init__(self):
        self.seconds = 0.0
        self.statements: list[str] = []
        # How many of the counted statements, and how much of the time, are each request's loads of the
        # actor and the case (not the services'): the hand-written path holds both and reads neither.
        self.loads = 0
        self.load_seconds = 0.0
        self.loading = False
        self.counting = False
        self._since: float | None = None

    @contextmanager
    def request_loads(self) -> Iterator[None]:
        """Mark what runs inside as a request's loads of actor and case (timed and counted as ever)."""
        self.loading, began = True, time.perf_counter()
        try:
            yield
        finally:
            self.loading = False
            self.load_seconds += time.perf_counter() - began

    def start(self) -> None:
        self._since = time.perf_counter()

    def stop(self) -> None:
        self.seconds += time.perf_counter() - self._since
        self._since = None

    def record(self, conn, cursor, statement, params, context, executemany) -> None:
        if self.counting and self._since is not None:
            self.statements.append(statement_kind(statement))
            self.loads += self.loading


def statement_kind(statement: str) -> str:
    """SELECT, INSERT, UPDATE or DELETE: a statement's first word, or after a WITH its main statement's."""
    words = statement.split()
    if words[0].upper() != "WITH":
        return words[0].upper()
    depth = 0
    for word in words:
        if depth == 0 and word.upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            return word.upper()
        depth += word.count("(") - word.count(")")
    return "WITH"


class ServicePath:
    def __init__(self, url: str, ids: dict):
        self.app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "PNR_HASH_KEY": HASH_KEY}
        )
        self.engine = self.app.extensions["sipflow.engine"]
        self.registry = self.app.extensions["sipflow.workflows"]
        self.ids = ids
        self.watch = Stopwatch()

    def lifecycle(self, number: int) -> None:
        watch = self.watch
        at = START + timedelta(minutes=number)
        identifier = parse_identifier(identifier_for(number), today=to_local(at).date())
        watch.start()
        with Session(self.engine, expire_on_commit=False) as session:
            with watch.request_loads():
                actor = session.get(User, self.ids["user"])
            person = register_person(
                session,
                HASH_KEY,
                identifier,
                given_name="Testa",
                family_name="Person",
                home_municipality_code="0780",
                now=at,
            )
            case = services.create_case(
                session,
                self.registry,
                actor,
                workflow_name=WORKFLOW,
                person=person,
                unit_ids=[self.ids["ifo"]],
                now=at,
            )
            session.commit()
            case_id = case.id
        watch.stop()
        workflow = self.registry.latest(WORKFLOW)
        for step, trigger in enumerate(STEPS, start=1):
            now = at + timedelta(seconds=step)
            watch.start()
            with Session(self.engine, expire_on_commit=False) as session:
                with watch.request_loads():
                    actor = session.get(User, self.ids["user"])
                    case = session.get(SipCase, case_id)
                watch.stop()
                form = workflow.transition(case.state, trigger).form
                data = scripted_input(session, case, form, now, workflow=workflow)
                watch.start()
                fire_scripted(session, self.registry, actor, case, trigger, now=now, data=data)
                session.commit()
            watch.stop()

    def close(self) -> None:
        self.engine.dispose()


# --- the hand-written path --------------------------------------------------------------------------------


INSERT_PERSON = (
    "INSERT INTO person (id_kind, id_number, id_hash, given_name, family_name, birth_date, legal_sex, "
    "home_municipality_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CASE = (
    "INSERT INTO sipcase (uid, reference, workflow_name, workflow_version, state, occasion, version, "
    "person_id, initiating_organisation_id, created_by_user_id, requested_at, utskrivningsklar_at, "
    "child_view, questions, follow_up_on, closed_reason, created_at, updated_at, municipality_code) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MEETING = (
    "INSERT INTO meeting (case_id, kind, status, mode, starts_at, ends_at, location, video_url, held_at, "
    "uid, sequence, booked_by_user_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
)


INSERT_REMINDER = (
    "INSERT INTO reminder (kind, dedupe_key, case_id, deadline_id, topic, template, recipient_user_id, "
    "recipient_unit_id, due_at, status, late, attempts, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, 0, ?)"
)
INSERT_DECISION = (
    "INSERT INTO meetingdecision (meeting_id, text, organisation_id, unit_id, participant_id, due_on, "
    "position) VALUES (?, ?, ?, NULL, NULL, ?, 0)"
)
INSERT_CODE = (
    "INSERT INTO code_record (case_id, meeting_id, unit_id, organisation_id, code, kind, sign, held_on, "
    "meeting_kind, person_id, municipality_code, legal_sex, age_years, occasion, organisation_kind, "
    "recorded_at, recorded_by_user_id) VALUES (?, ?, ?, ?, 'XU045', 'sip', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_EFFORT = (
    "INSERT INTO planeffort (plan_id, uid, kind, what, organisation_id, responsible, ends_on, status, "
    "decision_id, position) VALUES (?, ?, 'effort', ?, ?, ?, ?, 'planned', ?, ?)"
)
INSERT_VERSION = (
    'INSERT INTO planversion (case_id, number, "trigger", established_at, established_by_user_id, content, '
    "pdf, pdf_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# The Swedish local minute a reminder's dedupe key carries (reminders/services.py: _stamp).
STAMP = "%Y%m%dT%H%M"


def ts(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores for an aware datetime (in UTC)."""
    return None if value is None else value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


class Connection:
    """The hand-written path's DB-API connection: sqlite3 or psycopg, the same SQL, statements counted."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgresql")
        self.statements = 0
        if self.postgres:
            import psycopg

            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.db = psycopg.connect(dsn)
        else:
            self.db = sqlite3.connect(make_url(url).database)
            for pragma in ("foreign_keys=ON", "busy_timeout=5000", "journal_mode=WAL", "synchronous=FULL"):
                self.db.execute(f"PRAGMA {pragma}")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def t(self, value: datetime | None):
        """A moment as the driver stores it: SQLAlchemy's text on SQLite, a timestamptz on PostgreSQL."""
        return value if self.postgres or value is None else ts(value)

    def d(self, value: date):
        """A date as the driver stores it."""
        return value if self.postgres else value.isoformat()

    def fetchone(self, sql: str, params=()):
        """Run one statement and return its first row."""
        self.statements += 1
        return self.db.execute(self._sql(sql), params).fetchone()

    def execute(self, sql: str, params=()) -> int:
        self.statements += 1
        return self.db.execute(self._sql(sql), params).rowcount

    def insert(self, sql: str, params) -> int:
        """Insert one row and return its id."""
        self.statements += 1
        if self.postgres:
            return self.db.execute(self._sql(sql) + " RETURNING id", params).fetchone()[0]
        return self.db.execute(sql, params).lastrowid

    def executemany(self, sql: str, rows) -> None:
        self.statements += 1
        if self.postgres:
            self.db.cursor().executemany(self._sql(sql), rows)
        else:
            self.db.executemany(sql, rows)

    def commit(self) -> None:
        self.db.commit()

    def close(self) -> None:
        self.db.close()


class HandWrittenPath:
    def __init__(self, url: str, ids: dict):
        self.db = Connection(url)
        self.ids = ids
        self.kallelse_days = 21  # workflows/sip.toml: deadlines.kallelse
        self.sip_kind = "SIP"  # workflows/sip.toml: label.sv, the PDF's "Typ av SIP"
        self.watch = Stopwatch()

    def _visible(self, case_id: int, at: datetime, state: str) -> None:
        """Mina SIP's candidate rows take the case's time and state (one UPDATE per step, as the service)."""
        self.db.execute(
            "UPDATE case_visibility SET updated_at=?, state=? WHERE case_visibility.case_id = ?",
            (self.db.t(at), state, case_id),
        )

    def _deadline_reminders(self, case_id, deadline_id, kind, moment, soon_days, at, escalate=False) -> None:
        """The reminders of an open deadline, in one INSERT: soon, due, missed (and escalated when a
        huvudansvarig organisation has it), to the user; the rows the reconciliation writes."""
        user, unit = self.ids["user"], self.ids["vc"]
        rows = []
        for name, due, tag, user_id, unit_id in (
            ("deadline_soon", soon_moment(moment, soon_days), f"u{user}", user, None),
            ("deadline_due", on_the_morning(moment), f"u{user}", user, None),
            ("deadline_missed", on_the_morning(add_days(moment, 1)), f"u{user}", user, None),
            *(
                [
                    ("deadline_escalated", on_the_morning(add_days(moment, 7)), f"u{user}", user, None),
                    ("deadline_escalated", on_the_morning(add_days(moment, 7)), f"e{unit}", None, unit),
                ]
                if escalate
                else []
            ),
        ):
            key = f"{name}:{case_id}:{kind}:{tag}@{to_local(due).strftime(STAMP)}/d{deadline_id}"
            rows.append(
                (
                    name,
                    key,
                    case_id,
                    deadline_id,
                    kind,
                    name,
                    user_id,
                    unit_id,
                    self.db.t(due),
                    False,
                    self.db.t(at),
                )
            )
        self.db.executemany(INSERT_REMINDER, rows)

    def _access(self, case_id: int, person_id: int, action: str, at: datetime) -> None:
        """An access-log row as audit.record_access appends it: the head's length raised (its lock), the
        row chained to the last one's hash, and the head's new hash."""
        db, ids = self.db, self.ids
        claimed = db.fetchone(
            "UPDATE access_log_head SET length = length + 1 WHERE access_log_head.id = 1 "
            "RETURNING length, last_hash"
        )
        if claimed is None:  # a new database whose log this path begins
            db.execute(
                "INSERT INTO access_log_head (id, length, last_hash) VALUES (1, 0, ?)", (audit.GENESIS_HASH,)
            )
            claimed = db.fetchone(
                "UPDATE access_log_head SET length = length + 1 WHERE access_log_head.id = 1 "
                "RETURNING length, last_hash"
            )
        seq, prev_hash = claimed
        values = {
            "seq": seq,
            "at": at.astimezone(UTC),
            "user_id": ids["user"],
            "organisation_id": ids["region"],
            "case_id": case_id,
            "person_id": person_id,
            "action": action,
            "purpose": audit.PURPOSE_CARE,
            "outcome": audit.ALLOWED,
        }
        row_hash = audit.compute_row_hash(prev_hash, values)
        db.execute(
            "INSERT INTO access_log (seq, at, user_id, organisation_id, case_id, person_id, action, purpose, "
            "outcome, link_id, id_hash, prev_hash, row_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
            (seq, db.t(at), ids["user"], ids["region"], case_id, person_id, action, audit.PURPOSE_CARE)
            + (audit.ALLOWED, prev_hash, row_hash),
        )
        db.execute("UPDATE access_log_head SET last_hash=? WHERE access_log_head.id = 1", (row_hash,))

    def _cancel_reminders(self, case_id: int, deadline_id: int) -> None:
        self.db.execute(
            "UPDATE reminder SET status='cancelled' WHERE reminder.case_id = ? AND reminder.deadline_id = ? "
            "AND reminder.status = 'pending'",
            (case_id, deadline_id),
        )

    def _outcome(self, case_id, meeting_id, meeting_kind, plan_id, position, person, at) -> dict:
        """A held meeting's decision, its KVÅ code record and the plan effort the decision becomes."""
        db, ids = self.db, self.ids
        due = to_local(at).date() + timedelta(days=14)
        decision = db.insert(INSERT_DECISION, (meeting_id, "Kontakta boendestödet", ids["region"], db.d(due)))
        held_on = to_local(at).date()
        age = (
            held_on.year
            - person.birth_date.year
            - ((held_on.month, held_on.day) < (person.birth_date.month, person.birth_date.day))
        )
        db.execute(
            INSERT_CODE,
            (
                case_id,
                meeting_id,
                ids["vc"],
                ids["region"],
                db.d(held_on),
                meeting_kind,
                person.id,
                "0780",
                person.legal_sex,
                age,
                "other_need",
                "region",
                db.t(at),
                ids["user"],
            ),
        )
        effort_uid = uuid.uuid4().hex
        db.execute(
            INSERT_EFFORT,
            (
                plan_id,
                effort_uid,
                "Kontakta boendestödet",
                ids["region"],
                "Samordnare",
                db.d(due),
                decision,
                position,
            ),
        )
        # An effort came in outside the editor: the plan's row version moves on (older editor pages conflict).
        db.execute('UPDATE "plan" SET row_version = row_version + 1 WHERE case_id = ?', (case_id,))
        return {
            "uid": effort_uid,
            "kind": "effort",
            "what": "Kontakta boendestödet",
            "organisation_id": ids["region"],
            "organisation": "Region Kronoberg",
            "unit": None,
            "responsible": "Samordnare",
            "actor": None,
            "starts_on": None,
            "ends_on": due.isoformat(),
            "status": "planned",
        }

    def _freeze(self, case_id, plan_id, plan_version, number, trigger, reference, person, plan, at) -> None:
        """The plan's compare-and-set and its frozen version: content JSON and PDF, from what it knows."""
        db, ids = self.db, self.ids
        changed = db.execute(
            'UPDATE "plan" SET row_version=? WHERE "plan".id = ? AND "plan".row_version = ?',
            (plan_version, plan_id, plan_version),
        )
        if changed != 1:
            raise RuntimeError("stale plan")
        names = {ids["region"]: "Region Kronoberg", ids["kommun"]: "Växjö kommun"}
        content = {
            "format": 1,
            "case_reference": reference,
            "person": {
                "name": "Testa Person",
                "id_number": person.value,
                "birth_date": person.birth_date.isoformat(),
            },
            "needs": "",
            "own_goals": [{"uid": plan["goal_uid"], "text": "Att få bo kvar hemma"}],
            "professional_goals": [],
            "efforts": plan["efforts"],
            "no_other_measures": True,
            "huvudansvar": {
                "organisation_id": ids["region"],
                "organisation": names[ids["region"]],
                "contact": None,
            },
            "fast_vardkontakt": None,
            "fast_omsorgskontakt": None,
            "contacts": [],
            "follow_up_on": plan["follow_up_on"].isoformat(),
            "child_view": None,
            "child_view_missing_reason": None,
            "participants": [
                {
                    "participant_id": pid,
                    "kind": kind,
                    "role": role,
                    "organisation_id": org,
                    "organisation": names.get(org),
                    "unit": unit,
                    "name": None,
                    "relation": None,
                }
                for pid, kind, role, org, unit in plan["participants"]
            ],
            "version": number,
            "trigger": trigger,
            "established_at": at.astimezone(UTC).isoformat(),
            "established_by": {"name": "Anna", "organisation": names[ids["region"]]},
            "approvals": [],
            "guardians_approving": [],
            "sip_kind": self.sip_kind,
        }
        pdf = render_plan_pdf(content)
        db.execute(
            INSERT_VERSION,
            (
                case_id,
                number,
                trigger,
                db.t(at),
                ids["user"],
                json.dumps(content),
                pdf,
                hashlib.sha256(pdf).hexdigest(),
            ),
        )

    def _step(self, case_id: int, version: int, state: str, at: datetime, **fields) -> int:
        """The compare-and-set of the version, with the new state, time and any other column: one UPDATE."""
        sets = "".join(f"{name}=?, " for name in fields)
        changed = self.db.execute(
            f"UPDATE sipcase SET {sets}version=?, state=?, updated_at=? "
            "WHERE sipcase.id = ? AND sipcase.version = ?",
            (*fields.values(), version + 1, state, self.db.t(at), case_id, version),
        )
        if changed != 1:
            raise RuntimeError("stale case")
        self._visible(case_id, at, state)
        return version + 1

    def _log(self, case_id, at, trigger, from_state, to_state, reason=None, details=None) -> None:
        self.db.execute(
            'INSERT INTO transitionlog (case_id, at, user_id, organisation_id, "trigger", from_state, '
            "to_state, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                self.db.t(at),
                self.ids["user"],
                self.ids["region"],
                trigger,
                from_state,
                to_state,
                reason,
                json.dumps(details or {}),
            ),
        )

    def _meeting_attendance(self, meeting_id: int, participants: list[int]) -> None:
        self.db.executemany(
            "INSERT INTO attendance (meeting_id, participant_id, mode) VALUES (?, ?, ?)",
            [(meeting_id, pid, "video" if i % 2 else "on_site") for i, pid in enumerate(participants)],
        )

    def lifecycle(self, number: int) -> None:
        db, ids = self.db, self.ids
        at = START + timedelta(minutes=number)
        value = parse_identifier(identifier_for(number), today=to_local(at).date())
        self.watch.start()

        # create: person, case, participants, log, kallelse deadline
        person_id = db.insert(
            INSERT_PERSON,
            (
                value.kind,
                value.value,
                identifier_hash(HASH_KEY, value.value),
                "Testa",
                "Person",
                db.d(value.birth_date),
                value.legal_sex,
                "0780",
                db.t(at),
            ),
        )
        reference = services.new_reference(at)
        case_id = db.insert(
            INSERT_CASE,
            (
                uuid.uuid4().hex,
                reference,
                WORKFLOW,
                1,
                "requested",
                "other_need",
                1,
                person_id,
                ids["region"],
                ids["user"],
                db.t(at),
                None,
                None,
                None,
                None,
                None,
                db.t(at),
                db.t(at),
                "0780",  # the person's municipality when the SIP was requested, as the person row has it
            ),
        )
        insert_participant = (
            "INSERT INTO participant (case_id, kind, role, organisation_id, unit_id, contact_user_id, name, "
            "relation, email, phone, added_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        initiator = db.insert(
            insert_participant,
            (case_id, "organisation", "initiator", ids["region"], ids["vc"], ids["user"])
            + (None,) * 4
            + (db.t(at), None),
        )
        person_part = db.insert(
            insert_participant,
            (case_id, "person", "participant", None, None, None) + (None,) * 4 + (db.t(at), None),
        )
        municipality = db.insert(
            insert_participant,
            (case_id, "organisation", "participant", ids["kommun"], ids["ifo"], None)
            + (None,) * 4
            + (db.t(at), None),
        )
        participants = [initiator, person_part, municipality]
        db.executemany(
            "INSERT INTO case_visibility (organisation_id, case_id, updated_at, state, occasion) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (ids["region"], case_id, db.t(at), "requested", "other_need"),
                (ids["kommun"], case_id, db.t(at), "requested", "other_need"),
            ],
        )
        self._log(case_id, at, "create", None, "requested")
        insert_deadline = (
            "INSERT INTO deadline (case_id, kind, due_at, met_at, cancelled_at) VALUES (?, ?, ?, ?, ?)"
        )
        kallelse_due = add_days(at, self.kallelse_days)
        kallelse = db.insert(insert_deadline, (case_id, "kallelse", db.t(kallelse_due), None, None))
        self._deadline_reminders(case_id, kallelse, "kallelse", kallelse_due, self.kallelse_days // 3, at)
        self._access(case_id, person_id, audit.CASE_CREATE, at)
        db.commit()
        person = SimpleNamespace(
            id=person_id, value=value.value, birth_date=value.birth_date, legal_sex=value.legal_sex
        )
        plan = {
            "participants": [
                (initiator, "organisation", "huvudansvarig", ids["region"], "Vårdcentralen"),
                (person_part, "person", "participant", None, None),
                (municipality, "organisation", "participant", ids["kommun"], "Socialtjänsten"),
            ],
            "efforts": [],
        }

        version = 1
        now = at + timedelta(seconds=1)
        today = to_local(now).date()

        # give_consent
        consent_id = db.insert(
            "INSERT INTO consent (case_id, decision, given_by, given_by_name, form, information_scope, "
            "valid_until, declined_reason, recorded_at, recorded_by_user_id, withdrawn_at, withdrawn_reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                "given",
                "person",
                None,
                "written",
                "Uppgifter som behövs för planeringen",
                db.d(today + timedelta(days=365)),
                None,
                db.t(now),
                ids["user"],
                None,
                None,
            ),
        )
        db.executemany(
            "INSERT INTO consentorganisation (consent_id, organisation_id) VALUES (?, ?)",
            [(consent_id, ids["region"]), (consent_id, ids["kommun"])],
        )
        version = self._step(case_id, version, "consent_given", now)
        self._log(
            case_id, now, "give_consent", "requested", "consent_given", details={"consent_id": consent_id}
        )
        db.commit()

        # start_preparation
        now += timedelta(seconds=1)
        version = self._step(case_id, version, "preparing", now, questions="Vem gör vad? Hur ser boendet ut?")
        # The preparation's own goals start the plan draft.
        plan_id = db.insert(
            'INSERT INTO "plan" (case_id, row_version, no_other_measures, updated_at, updated_by_user_id) '
            "VALUES (?, 1, ?, ?, ?)",
            (case_id, False, db.t(now), ids["user"]),
        )
        plan["goal_uid"] = uuid.uuid4().hex
        db.execute(
            "INSERT INTO plangoal (plan_id, uid, kind, text, position) VALUES (?, ?, 'own', ?, 0)",
            (plan_id, plan["goal_uid"], "Att få bo kvar hemma"),
        )
        plan_version = 1
        self._log(case_id, now, "start_preparation", "consent_given", "preparing")
        db.commit()

        # send_kallelse: books the meeting, meets the kallelse deadline
        now += timedelta(seconds=1)
        starts = now + timedelta(days=7)
        meeting_id = db.insert(
            INSERT_MEETING,
            (
                case_id,
                "first",
                "planned",
                "video",
                db.t(starts),
                db.t(starts + timedelta(hours=1)),
                None,
                None,
                None,
                f"{uuid.uuid4().hex}@sipflow",
                ids["user"],
                db.t(now),
            ),
        )
        version = self._step(case_id, version, "invited", now)
        self._log(
            case_id,
            now,
            "send_kallelse",
            "preparing",
            "invited",
            details={"sent_at": now.isoformat(), "channel": "LINK", "meeting_id": meeting_id},
        )
        db.execute("UPDATE deadline SET met_at=? WHERE deadline.id = ?", (db.t(now), kallelse))
        self._cancel_reminders(case_id, kallelse)
        db.commit()

        decisions = [{"text": "Kontakta boendestödet", "owner": "Socialtjänsten"}]

        # hold_meeting
        now += timedelta(seconds=1)
        # Held before its booked time (a week ahead): the meeting takes the held time and a new SEQUENCE, as
        # the service's move_to_held_time does (it has no invitee to mail: the kallelse went by other means).
        db.execute(
            "UPDATE meeting SET status=?, mode=?, held_at=?, starts_at=?, ends_at=?, sequence=sequence + 1 "
            "WHERE meeting.id = ?",
            ("held", "mixed", db.t(now), db.t(now), db.t(now + timedelta(hours=1)), meeting_id),
        )
        self._meeting_attendance(meeting_id, participants)
        plan["efforts"].append(self._outcome(case_id, meeting_id, "first", plan_id, 0, person, now))
        plan_version += 1
        version = self._step(case_id, version, "meeting_held", now)
        due = (to_local(now).date() + timedelta(days=14)).isoformat()
        self._log(
            case_id,
            now,
            "hold_meeting",
            "invited",
            "meeting_held",
            details={
                "decisions": [d | {"due_on": due} for d in decisions],
                "meeting_id": meeting_id,
                "booked_starts_at": starts.isoformat(),
            },
        )
        db.commit()

        # establish_plan: the plan's compare-and-set, its first version, the follow-up date and its deadline
        # (the plan itself and huvudansvar are written by the editor before the step, untimed on both sides)
        now += timedelta(seconds=1)
        follow_up_on = now + timedelta(days=90)
        plan["follow_up_on"] = to_local(follow_up_on).date()
        version = self._step(case_id, version, "plan_established", now, follow_up_on=db.t(follow_up_on))
        self._freeze(case_id, plan_id, plan_version, 1, "establish_plan", reference, person, plan, now)
        follow_deadline = db.insert(insert_deadline, (case_id, "follow_up", db.t(follow_up_on), None, None))
        self._deadline_reminders(case_id, follow_deadline, "follow_up", follow_up_on, 7, now, escalate=True)
        self._log(
            case_id,
            now,
            "establish_plan",
            "meeting_held",
            "plan_established",
            details={"huvudansvarig_organisation_id": ids["region"]},
        )
        db.commit()

        # follow_up: a held follow-up meeting, meets the follow-up deadline
        now += timedelta(seconds=1)
        follow_meeting = db.insert(
            INSERT_MEETING,
            (
                case_id,
                "follow_up",
                "held",
                "mixed",
                db.t(now),
                db.t(now + timedelta(hours=1)),
                None,
                None,
                db.t(now),
                f"{uuid.uuid4().hex}@sipflow",
                None,
                None,
            ),
        )
        self._meeting_attendance(follow_meeting, participants)
        plan["efforts"].append(self._outcome(case_id, follow_meeting, "follow_up", plan_id, 1, person, now))
        plan_version += 1
        version = self._step(case_id, version, "follow_up", now)
        due = (to_local(now).date() + timedelta(days=14)).isoformat()
        self._log(
            case_id,
            now,
            "follow_up",
            "plan_established",
            "follow_up",
            details={"decisions": [d | {"due_on": due} for d in decisions], "meeting_id": follow_meeting},
        )
        db.execute("UPDATE deadline SET met_at=? WHERE deadline.id = ?", (db.t(now), follow_deadline))
        self._cancel_reminders(case_id, follow_deadline)
        db.commit()

        # revise_plan: the plan's compare-and-set, its second version, the follow-up deadline again
        now += timedelta(seconds=1)
        # The plan keeps its follow-up day (as the scripted plan does).

        plan["follow_up_on"] = to_local(follow_up_on).date()
        version = self._step(case_id, version, "plan_established", now, follow_up_on=db.t(follow_up_on))
        self._freeze(case_id, plan_id, plan_version, 2, "revise_plan", reference, person, plan, now)
        next_deadline = db.insert(insert_deadline, (case_id, "follow_up", db.t(follow_up_on), None, None))
        # The new deadline's reminders (their keys name the deadline, so the met one's do not stand in).
        self._deadline_reminders(case_id, next_deadline, "follow_up", follow_up_on, 7, now, escalate=True)
        self._log(
            case_id,
            now,
            "revise_plan",
            "follow_up",
            "plan_established",
            details={"huvudansvarig_organisation_id": ids["region"]},
        )
        db.commit()

        # close: the open deadline is cancelled
        now += timedelta(seconds=1)
        reason = "Enligt överenskommelse"
        version = self._step(case_id, version, "closed", now, closed_reason=reason)
        self._log(case_id, now, "close", "plan_established", "closed", reason=reason)
        db.execute("UPDATE deadline SET cancelled_at=? WHERE deadline.id = ?", (db.t(now), next_deadline))
        self._cancel_reminders(case_id, next_deadline)
        db.commit()
        self.watch.stop()

    def close(self) -> None:
        self.db.close()


# --- running ----------------------------------------------------------------------------------------------


def count_statements(service: ServicePath, hand: HandWrittenPath, number: int) -> tuple[Counter, int]:
    """Statements one lifecycle sends: the service path's by kind, the hand-written path's in all."""
    service.watch.statements.clear()
    service.watch.loads = 0
    service.watch.counting = True
    # Listened to only while counting: an engine with a statement listener calls it at every statement,
    # a cost the timed runs would carry and the hand-written side's counter (one addition) does not.
    event.listen(service.engine, "before_cursor_execute", service.watch.record)
    try:
        service.lifecycle(number)
    finally:
        event.remove(service.engine, "before_cursor_execute", service.watch.record)
        service.watch.counting = False
    before = hand.db.statements
    hand.lifecycle(HAND_OFFSET + number)
    return Counter(service.watch.statements), hand.db.statements - before


def interleaved(service: ServicePath, hand: HandWrittenPath, numbers: range, block: int) -> list[float]:
    """Run the lifecycles in blocks, taking turns: service, hand-written, service, ...

    Returns each block's ratio service / hand-written (their spread is the run's own noise).
    """
    ratios = []
    for first in range(0, len(numbers), block):
        chunk = numbers[first : first + block]
        service_before, hand_before = service.watch.seconds, hand.watch.seconds
        for number in chunk:
            service.lifecycle(number)
        for number in chunk:
            hand.lifecycle(HAND_OFFSET + number)
        ratios.append((service.watch.seconds - service_before) / (hand.watch.seconds - hand_before))
    return ratios


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="lifecycles per path (default 200)")
    parser.add_argument("--block", type=int, default=10, help="lifecycles per turn (default 10)")
    parser.add_argument(
        "--database-url", help="an empty database to use (default: a fresh file SQLite database)"
    )
    parser.add_argument("--profile", action="store_true", help="profile the service path with cProfile")
    args = parser.parse_args(argv)
    n = args.cases
    warm_up = 10

    with tempfile.TemporaryDirectory(prefix="sipflow-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ids = build_database(url)
        service = ServicePath(url, ids)
        hand = HandWrittenPath(url, ids)
        with service.app.app_context():
            interleaved(service, hand, range(1, warm_up + 1), args.block)
            # Counted warm, as a running server sends them: reference data (a unit's organisation) is cached.
            kinds, hand_statements = count_statements(service, hand, 0)
            service.watch.seconds = hand.watch.seconds = service.watch.load_seconds = 0.0
            numbers = range(warm_up + 1, warm_up + 1 + n)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
            block_ratios = interleaved(service, hand, numbers, args.block)
            if args.profile:
                profiler.disable()
        service.close()
        hand.close()

    service_s, hand_s = service.watch.seconds, hand.watch.seconds
    steps = len(STEPS) + 1
    where = "PostgreSQL" if url.startswith("postgresql") else "file SQLite in WAL mode"
    print(
        f"{n} lifecycles per path of {steps} transactions each ({WORKFLOW}), {where}, blocks of {args.block}"
    )
    detail = ", ".join(f"{kinds[k]} {k}" for k in ("SELECT", "INSERT", "UPDATE", "DELETE") if kinds[k])
    print(
        f"statements per lifecycle: service {sum(kinds.values())} ({detail}; {service.watch.loads} of them "
        f"the requests' loads of actor and case), hand-written {hand_statements}"
    )
    print(f"service      {service_s:8.3f} s   {service_s / n * 1000:7.2f} ms/lifecycle")
    print(f"hand-written {hand_s:8.3f} s   {hand_s / n * 1000:7.2f} ms/lifecycle")
    print(f"ratio service / hand-written: {service_s / hand_s:.2f}")
    # For a like-for-like reading: a hand-written request handler would load actor and case as well.
    loads_s = service.watch.load_seconds
    print(
        f"of the service side, the requests' loads of actor and case: {loads_s / n * 1000:.2f} ms/lifecycle; "
        f"without them the ratio is {(service_s - loads_s) / hand_s:.2f}"
    )
    if len(block_ratios) >= 4:
        low, middle, high = statistics.quantiles(block_ratios, n=4)
        print(
            f"ratio per block of {args.block}: median {middle:.2f}, quartiles {low:.2f}-{high:.2f} "
            f"({len(block_ratios)} blocks; the spread is this run's own noise)"
        )
    if args.profile:
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(35)


if __name__ == "__main__":
    main()
