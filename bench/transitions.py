"""Full SIP lifecycles through the service layer, side by side with the same writes as hand-written SQL.

    .venv/bin/python bench/transitions.py [--cases N] [--profile] [--statements]

Both paths run on fresh file SQLite databases built by the migrations (WAL, foreign keys on, synchronous
FULL, busy timeout: the pragmas sipflow.db sets), one transaction per step as the application does:

  create (person + case + participants + log + deadline), give_consent, start_preparation, send_kallelse,
  hold_meeting, establish_plan, follow_up, revise_plan, close

* service: each step opens its own Session (as a request does), loads the actor and the case, builds the
  form data with sipflow.cases.scripted.scripted_input and calls services.create_case /
  services.fire_transition (through scripted.fire_scripted), then commits.
* hand-written: the sqlite3 module directly, the same INSERTs and UPDATEs (person, case, participants,
  transition log, consent and its organisations, deadlines, meetings, attendance, the compare-and-set UPDATE
  of the version), the same text formats for dates and JSON, and nothing else: it knows its own ids, so it
  reads nothing back.

The ratio service / hand-written is the price of the ORM, the guards' queries and the engine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# This file is called transitions.py, like the state machine library sipflow uses: keep its folder off the
# import path, and put the project's root on it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session  # noqa: E402

from sipflow import create_app  # noqa: E402
from sipflow.cases import services  # noqa: E402
from sipflow.cases.models import SipCase  # noqa: E402
from sipflow.cases.scripted import fire_scripted  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.clock import add_days, to_local  # noqa: E402
from sipflow.demo.kronoberg import personnummer  # noqa: E402
from sipflow.people.identifiers import parse_identifier  # noqa: E402
from sipflow.people.models import Organisation, Unit, User  # noqa: E402
from sipflow.people.reference import load_municipalities  # noqa: E402
from sipflow.people.services import identifier_hash, register_person  # noqa: E402

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


def build_database(directory: Path, name: str) -> tuple[str, dict]:
    """A migrated database with the reference data, two organisations with a unit each and a user."""
    path = directory / f"{name}.sqlite3"
    url = f"sqlite:///{path}"
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
    return str(path), ids


def identifier_for(number: int) -> str:
    """A distinct valid personnummer per lifecycle."""
    birth = date(1950, 1, 1) + timedelta(days=number // 900)
    return personnummer(birth, number % 900)


# --- the service path -------------------------------------------------------------------------------------


class ServicePath:
    def __init__(self, path: str, ids: dict):
        self.app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{path}",
                "SECRET_KEY": "bench-secret-key-0123456789",
                "PNR_HASH_KEY": HASH_KEY,
            }
        )
        self.engine = self.app.extensions["sipflow.engine"]
        self.registry = self.app.extensions["sipflow.workflows"]
        self.ids = ids

    def lifecycle(self, number: int) -> None:
        at = START + timedelta(minutes=number)
        with Session(self.engine, expire_on_commit=False) as session:
            actor = session.get(User, self.ids["user"])
            identifier = parse_identifier(identifier_for(number), today=to_local(at).date())
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
        for step, trigger in enumerate(STEPS, start=1):
            now = at + timedelta(seconds=step)
            with Session(self.engine, expire_on_commit=False) as session:
                actor = session.get(User, self.ids["user"])
                case = session.get(SipCase, case_id)
                fire_scripted(session, self.registry, actor, case, trigger, now=now)
                session.commit()

    def close(self) -> None:
        self.engine.dispose()


# --- the hand-written path --------------------------------------------------------------------------------


INSERT_PERSON = (
    "INSERT INTO person (id_kind, id_number, id_hash, given_name, family_name, birth_date, legal_sex, "
    "home_municipality_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CASE = (
    'INSERT INTO sipcase (uid, reference, workflow_name, workflow_version, state, occasion, version, '
    "person_id, initiating_organisation_id, created_by_user_id, requested_at, utskrivningsklar_at, "
    "child_view, questions, follow_up_on, closed_reason, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MEETING = (
    "INSERT INTO meeting (case_id, kind, status, mode, starts_at, ends_at, location, video_url, held_at, "
    "uid, sequence, booked_by_user_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)"
)


def ts(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores for an aware datetime (in UTC)."""
    return None if value is None else value.astimezone(UTC).isoformat(" ", "microseconds")[:26]


class HandWrittenPath:
    def __init__(self, path: str, ids: dict):
        self.db = sqlite3.connect(path)
        for pragma in ("foreign_keys=ON", "busy_timeout=5000", "journal_mode=WAL", "synchronous=FULL"):
            self.db.execute(f"PRAGMA {pragma}")
        self.ids = ids
        self.kallelse_days = 21  # workflows/sip.toml: deadlines.kallelse

    def _claim(self, case_id: int, version: int) -> int:
        cursor = self.db.execute(
            "UPDATE sipcase SET version=? WHERE sipcase.id = ? AND sipcase.version = ?",
            (version + 1, case_id, version),
        )
        if cursor.rowcount != 1:
            raise RuntimeError("stale case")
        return version + 1

    def _log(self, case_id, at, trigger, from_state, to_state, reason=None, details=None) -> None:
        self.db.execute(
            'INSERT INTO transitionlog (case_id, at, user_id, organisation_id, "trigger", from_state, '
            "to_state, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                ts(at),
                self.ids["user"],
                self.ids["region"],
                trigger,
                from_state,
                to_state,
                reason,
                json.dumps(details or {}),
            ),
        )

    def _state(self, case_id, state, at, **fields) -> None:
        sets = "".join(f"{name}=?, " for name in fields)
        self.db.execute(
            f"UPDATE sipcase SET {sets}state=?, updated_at=? WHERE sipcase.id = ?",
            (*fields.values(), state, ts(at), case_id),
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

        # create: person, case, participants, log, kallelse deadline
        person_id = db.execute(
            INSERT_PERSON,
            (
                value.kind,
                value.value,
                identifier_hash(HASH_KEY, value.value),
                "Testa",
                "Person",
                value.birth_date.isoformat(),
                value.legal_sex,
                "0780",
                ts(at),
            ),
        ).lastrowid
        case_id = db.execute(
            INSERT_CASE,
            (
                uuid.uuid4().hex,
                services.new_reference(at),
                WORKFLOW,
                1,
                "requested",
                "other_need",
                1,
                person_id,
                ids["region"],
                ids["user"],
                ts(at),
                None,
                None,
                None,
                None,
                None,
                ts(at),
                ts(at),
            ),
        ).lastrowid
        insert_participant = (
            "INSERT INTO participant (case_id, kind, role, organisation_id, unit_id, contact_user_id, name, "
            "relation, email, phone, added_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        initiator = db.execute(
            insert_participant,
            (case_id, "organisation", "initiator", ids["region"], ids["vc"], ids["user"])
            + (None,) * 4
            + (ts(at), None),
        ).lastrowid
        person_part = db.execute(
            insert_participant,
            (case_id, "person", "participant", None, None, None) + (None,) * 4 + (ts(at), None),
        ).lastrowid
        municipality = db.execute(
            insert_participant,
            (case_id, "organisation", "participant", ids["kommun"], ids["ifo"], None)
            + (None,) * 4
            + (ts(at), None),
        ).lastrowid
        participants = [initiator, person_part, municipality]
        self._log(case_id, at, "create", None, "requested")
        insert_deadline = (
            "INSERT INTO deadline (case_id, kind, due_at, met_at, cancelled_at) VALUES (?, ?, ?, ?, ?)"
        )
        kallelse = db.execute(
            insert_deadline, (case_id, "kallelse", ts(add_days(at, self.kallelse_days)), None, None)
        ).lastrowid
        db.commit()

        version = 1
        now = at + timedelta(seconds=1)
        today = to_local(now).date()

        # give_consent
        version = self._claim(case_id, version)
        consent_id = db.execute(
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
                (today + timedelta(days=365)).isoformat(),
                None,
                ts(now),
                ids["user"],
                None,
                None,
            ),
        ).lastrowid
        db.executemany(
            "INSERT INTO consentorganisation (consent_id, organisation_id) VALUES (?, ?)",
            [(consent_id, ids["region"]), (consent_id, ids["kommun"])],
        )
        self._state(case_id, "consent_given", now)
        self._log(
            case_id, now, "give_consent", "requested", "consent_given", details={"consent_id": consent_id}
        )
        db.commit()

        # start_preparation
        now += timedelta(seconds=1)
        version = self._claim(case_id, version)
        self._state(case_id, "preparing", now, questions="Vem gör vad? Hur ser boendet ut?")
        self._log(case_id, now, "start_preparation", "consent_given", "preparing")
        db.commit()

        # send_kallelse: books the meeting, meets the kallelse deadline
        now += timedelta(seconds=1)
        version = self._claim(case_id, version)
        starts = now + timedelta(days=7)
        meeting_id = db.execute(
            INSERT_MEETING,
            (
                case_id,
                "first",
                "planned",
                "video",
                ts(starts),
                ts(starts + timedelta(hours=1)),
                None,
                None,
                None,
                f"{uuid.uuid4().hex}@sipflow",
                ids["user"],
                ts(now),
            ),
        ).lastrowid
        self._state(case_id, "invited", now)
        self._log(
            case_id,
            now,
            "send_kallelse",
            "preparing",
            "invited",
            details={"sent_at": now.isoformat(), "channel": "LINK", "meeting_id": meeting_id},
        )
        db.execute("UPDATE deadline SET met_at=? WHERE deadline.id = ?", (ts(now), kallelse))
        db.commit()

        decisions = [{"text": "Kontakta boendestödet", "owner": "Socialtjänsten"}]

        # hold_meeting
        now += timedelta(seconds=1)
        version = self._claim(case_id, version)
        db.execute(
            "UPDATE meeting SET status=?, mode=?, held_at=? WHERE meeting.id = ?",
            ("held", "mixed", ts(now), meeting_id),
        )
        self._meeting_attendance(meeting_id, participants)
        self._state(case_id, "meeting_held", now)
        due = (to_local(now).date() + timedelta(days=14)).isoformat()
        self._log(
            case_id,
            now,
            "hold_meeting",
            "invited",
            "meeting_held",
            details={"decisions": [d | {"due_on": due} for d in decisions], "meeting_id": meeting_id},
        )
        db.commit()

        # establish_plan: huvudansvar, follow-up date and its deadline
        now += timedelta(seconds=1)
        version = self._claim(case_id, version)
        db.execute("UPDATE participant SET role=? WHERE participant.id = ?", ("huvudansvarig", initiator))
        follow_up_on = now + timedelta(days=90)
        self._state(case_id, "plan_established", now, follow_up_on=ts(follow_up_on))
        follow_deadline = db.execute(
            insert_deadline, (case_id, "follow_up", ts(follow_up_on), None, None)
        ).lastrowid
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
        version = self._claim(case_id, version)
        follow_meeting = db.execute(
            INSERT_MEETING,
            (
                case_id,
                "follow_up",
                "held",
                "mixed",
                ts(now),
                ts(now + timedelta(hours=1)),
                None,
                None,
                ts(now),
                f"{uuid.uuid4().hex}@sipflow",
                None,
                None,
            ),
        ).lastrowid
        self._meeting_attendance(follow_meeting, participants)
        self._state(case_id, "follow_up", now)
        due = (to_local(now).date() + timedelta(days=14)).isoformat()
        self._log(
            case_id,
            now,
            "follow_up",
            "plan_established",
            "follow_up",
            details={"decisions": [d | {"due_on": due} for d in decisions], "meeting_id": follow_meeting},
        )
        db.execute("UPDATE deadline SET met_at=? WHERE deadline.id = ?", (ts(now), follow_deadline))
        db.commit()

        # revise_plan: a new follow-up date and deadline
        now += timedelta(seconds=1)
        version = self._claim(case_id, version)
        follow_up_on = now + timedelta(days=90)
        self._state(case_id, "plan_established", now, follow_up_on=ts(follow_up_on))
        next_deadline = db.execute(
            insert_deadline, (case_id, "follow_up", ts(follow_up_on), None, None)
        ).lastrowid
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
        version = self._claim(case_id, version)
        reason = "Enligt överenskommelse"
        self._state(case_id, "closed", now, closed_reason=reason)
        self._log(case_id, now, "close", "plan_established", "closed", reason=reason)
        db.execute("UPDATE deadline SET cancelled_at=? WHERE deadline.id = ?", (ts(now), next_deadline))
        db.commit()

    def close(self) -> None:
        self.db.close()


# --- running ----------------------------------------------------------------------------------------------


def count_statements(service: ServicePath, number: int) -> tuple[int, int]:
    """Statements (all, writes) one service lifecycle sends to the database."""
    seen = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(service.engine, "before_cursor_execute", record)
    try:
        service.lifecycle(number)
    finally:
        event.remove(service.engine, "before_cursor_execute", record)
    return len(seen), sum(1 for s in seen if s in ("INSERT", "UPDATE", "DELETE"))


def count_hand_written(hand: HandWrittenPath, number: int) -> int:
    seen = []
    hand.db.set_trace_callback(seen.append)
    try:
        hand.lifecycle(number)
    finally:
        hand.db.set_trace_callback(None)
    # sqlite3 traces its own BEGIN and COMMIT, and every row of an executemany
    return sum(1 for s in seen if s.split(None, 1)[0].upper() in ("INSERT", "UPDATE"))


def timed(run, numbers) -> float:
    start = time.perf_counter()
    for number in numbers:
        run(number)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="lifecycles per path (default 200)")
    parser.add_argument("--profile", action="store_true", help="profile the service path with cProfile")
    args = parser.parse_args(argv)
    n = args.cases
    warm_up = 10

    with tempfile.TemporaryDirectory(prefix="sipflow-bench-") as tmp:
        directory = Path(tmp)
        service_db, service_ids = build_database(directory, "service")
        hand_db, hand_ids = build_database(directory, "hand")
        service = ServicePath(service_db, service_ids)
        hand = HandWrittenPath(hand_db, hand_ids)
        with service.app.app_context():
            statements, writes = count_statements(service, 0)
            hand_writes = count_hand_written(hand, 0)
            timed(service.lifecycle, range(1, warm_up + 1))
            timed(hand.lifecycle, range(1, warm_up + 1))
            numbers = range(warm_up + 1, warm_up + 1 + n)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
            service_s = timed(service.lifecycle, numbers)
            if args.profile:
                profiler.disable()
            hand_s = timed(hand.lifecycle, numbers)
        service.close()
        hand.close()

    steps = len(STEPS) + 1
    print(f"{n} lifecycles of {steps} transactions each ({WORKFLOW}), file SQLite in WAL mode")
    print(
        f"statements per lifecycle: service {statements} ({writes} INSERT/UPDATE), hand-written {hand_writes}"
    )
    print(f"service      {service_s:8.3f} s   {service_s / n * 1000:7.2f} ms/lifecycle")
    print(f"hand-written {hand_s:8.3f} s   {hand_s / n * 1000:7.2f} ms/lifecycle")
    print(f"ratio service / hand-written: {service_s / hand_s:.2f}")
    if args.profile:
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(35)


if __name__ == "__main__":
    main()
