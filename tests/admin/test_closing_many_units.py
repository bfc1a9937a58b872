"""A national directory's monthly file closes two thousand units, many of them reached at their mailbox on
running SIPs. Each closed unit's reminders and invitations follow (nobody gets mail at a closed unit's
mailbox), as when one unit is closed on its page; but each unit asked its cases one by one (held, read,
their reminders read and written), so the statements grew with the units times their cases and the import
ran for minutes. The units are closed together: the statements do not grow with how many."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import select
from support import statements

from sipflow.admin import directory, imports
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit
from sipflow.reminders.models import EFFORT_OVERDUE, PENDING, Reminder

CASES_PER_UNIT = 2
HEADER = (
    "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;scope;active"
)


def _units_on_running_sips(db_session, create_case, now, key: str, count: int) -> list[int]:
    """An organisation of count units, each with a mailbox and on CASES_PER_UNIT running SIPs, where a
    reminder to it waits to go to that mailbox; the units' ids."""
    organisation = Organisation(key=key, name=f"Kommun {key}", kind="municipality", municipality_code="0780")
    db_session.add(organisation)
    db_session.flush()
    units = [
        Unit(key=f"{key}-{n}", organisation_id=organisation.id, name=f"Enhet {n}", email=f"{key}{n}@x.se")
        for n in range(count)
    ]
    db_session.add_all(units)
    db_session.commit()
    ids = [unit.id for unit in units]
    for unit_id in ids:
        for _ in range(CASES_PER_UNIT):
            case = create_case(units=[unit_id])
            with unit_of_work(db_session):
                address = db_session.get(Unit, unit_id).email
                db_session.add(
                    Reminder(
                        kind=EFFORT_OVERDUE,
                        dedupe_key=f"effort_overdue:{case.id}-{unit_id}@20261208",
                        case_id=case.id,
                        template=EFFORT_OVERDUE,
                        recipient_unit_id=unit_id,
                        recipient_address=address,
                        due_at=now,
                        created_at=now,
                    )
                )
    return ids


def _addresses(db_session, unit_ids: list[int]) -> list[str | None]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(Reminder.recipient_address).where(
                Reminder.recipient_unit_id.in_(unit_ids), Reminder.status == PENDING
            )
        ).all()
    )


def _close_organisation(db_session, engine, now, key: str) -> list[str]:
    with unit_of_work(db_session):
        organisation = db_session.exec(select(Organisation).where(Organisation.key == key)).one()
        units = db_session.exec(select(Unit).where(Unit.organisation_id == organisation.id)).all()
        assert all(unit.active for unit in units)
        with statements(engine) as seen:
            directory.set_organisation_active(db_session, None, organisation, False, now=now)
            db_session.flush()
    return seen


def test_closing_an_organisation_of_twenty_units_costs_the_statements_of_two(
    db_session, engine, create_case, now
):
    few = _units_on_running_sips(db_session, create_case, now, "few", 2)
    many = _units_on_running_sips(db_session, create_case, now, "many", 20)
    assert set(_addresses(db_session, few + many)) - {None}

    closing_few = _close_organisation(db_session, engine, now, "few")
    closing_many = _close_organisation(db_session, engine, now, "many")

    # Nobody is mailed at a closed unit's mailbox, as before.
    assert _addresses(db_session, few + many) == [None] * CASES_PER_UNIT * 22
    assert not any(db_session.get(Unit, unit_id).active for unit_id in few + many)
    assert len(closing_many) - len(closing_few) <= 2, (len(closing_few), len(closing_many))


def _file(key: str, unit_count: int, active: str) -> bytes:
    lines = [HEADER, f"organisation;{key};Kommun {key};municipality;;;;0780;;;;;;"]
    lines += [
        f"unit;{key}-{n};Enhet {n};other;{key};;;;no;{key}{n}@x.se;;;;{active}" for n in range(unit_count)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_an_import_closing_twenty_units_asks_the_sips_as_often_as_one_closing_two(
    db_session, engine, create_case, now
):
    few = _units_on_running_sips(db_session, create_case, now, "few", 2)
    many = _units_on_running_sips(db_session, create_case, now, "many", 20)
    seen = {}
    for key, count in (("few", 2), ("many", 20)):
        with unit_of_work(db_session):
            with statements(engine) as seen[key]:
                report = imports.import_directory(
                    db_session, _file(key, count, "no"), actor=None, now=now, apply=True
                )
        assert report.applied and report.errors == []
        assert len(report.deactivated_unit_ids) == count

    assert _addresses(db_session, few + many) == [None] * CASES_PER_UNIT * 22

    def case_side(seen_statements: list[str]) -> list[str]:
        tables = (" reminder", " sipcase", " participant", " invitation", " meeting")
        return [s for s in seen_statements if any(table in s.lower() for table in tables)]

    assert len(case_side(seen["many"])) - len(case_side(seen["few"])) <= 2, (
        len(case_side(seen["few"])),
        len(case_side(seen["many"])),
    )


def _values_sent(engine, db_session, now, data: bytes) -> int:
    """How many values the dry run of data binds in all its statements."""
    sent = []

    def count(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
        sent.append(len(parameters or ()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(db_session):
            report = imports.import_directory(db_session, data, actor=None, now=now, apply=False)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert report.errors == [] and len(report.changed) == data.count(b";no\n")
    return sum(sent)


def test_the_dry_run_of_a_file_closing_three_times_the_units_sends_three_times_the_values(
    db_session, engine, now
):
    # Each unit line's name check sent the ids of every unit the file closes or renames (their names are
    # free for its other lines), so a file closing 900 of a county's units sent 900 ids with each of its
    # other 1 600 lines, and its dry run outlasted a request on PostgreSQL.
    files = {}
    for key, count in (("few", 30), ("many", 90)):
        with unit_of_work(db_session):
            imports.import_directory(db_session, _file(key, 2 * count, ""), actor=None, now=now, apply=True)
        lines = _file(key, 2 * count, "").decode().splitlines()
        closing = [line + "no" if n < count else line for n, line in enumerate(lines[2:])]
        files[key] = ("\n".join([*lines[:2], *closing]) + "\n").encode()
    few = _values_sent(engine, db_session, now, files["few"])
    many = _values_sent(engine, db_session, now, files["many"])
    assert many <= 3.5 * few, (few, many)
