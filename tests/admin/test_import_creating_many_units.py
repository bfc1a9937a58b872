"""A national directory's first file creates some 2 500 units. Each new unit cost about five statements (its
key, its name within the organisation and its HSA-id asked, its INSERT, its log row), in the dry run and
again in the import: on PostgreSQL the file took 46-66 s through the admin page, past the server's 30 s, and
the page's import failed. The file's checks are asked for all its lines at once and its units written in one
statement per table: the statements do not grow with how many units the file creates."""

from __future__ import annotations

from sqlmodel import select
from support import statements

from sipflow.admin import imports
from sipflow.admin.models import AdminChange
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

HEADER = (
    "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;scope;active"
)


def _file(prefix: str, count: int) -> bytes:
    """Two new organisations (one an existing one's unit joins) and count new units split between them."""
    lines = [
        HEADER,
        f"organisation;{prefix}-kommun;Kommun {prefix};municipality;;;;0780;;;;;;",
        f"organisation;{prefix}-region;Region {prefix};region;;;07;;;;;;;",
    ]
    for n in range(count):
        org = f"{prefix}-kommun" if n % 2 else f"{prefix}-region"
        hsa = f"SE2321000016-{prefix.upper()}{n}"
        lines.append(f"unit;{prefix}-{n};Enhet {n};vardcentral;{org};;;;yes;{prefix}{n}@x.se;{hsa};;;")
    return ("\n".join(lines) + "\n").encode()


def _import(db_session, engine, now, data: bytes, *, apply: bool) -> tuple[imports.ImportReport, int]:
    with unit_of_work(db_session):
        with statements(engine) as seen:
            report = imports.import_directory(db_session, data, actor=None, now=now, apply=apply)
    return report, len(seen)


def test_a_file_of_twenty_new_units_costs_the_statements_of_two(db_session, engine, now):
    counted = {}
    for prefix, count in (("few", 2), ("many", 20)):
        dry, dry_count = _import(db_session, engine, now, _file(prefix, count), apply=False)
        report, count_applied = _import(db_session, engine, now, _file(prefix, count), apply=True)
        assert dry.errors == [] and report.errors == [] and report.applied
        assert [(p.line, p.outcome) for p in dry.planned] == [(p.line, p.outcome) for p in report.planned]
        assert len(report.created) == count + 2
        counted[prefix] = (dry_count, count_applied)

    assert counted["many"][0] - counted["few"][0] <= 2, counted
    assert counted["many"][1] - counted["few"][1] <= 4, counted

    db_session.expire_all()
    units = db_session.exec(select(Unit).where(Unit.key.like("many-%")).order_by(Unit.id)).all()
    assert len(units) == 20 and all(unit.active and unit.is_health_care for unit in units)
    assert units[3].hsa_id == "SE2321000016-MANY3" and units[3].email == "many3@x.se"
    kommun = db_session.exec(select(Organisation).where(Organisation.key == "many-kommun")).one()
    assert units[3].organisation_id == kommun.id
    logged = db_session.exec(
        select(AdminChange).where(
            AdminChange.action == "unit.create", AdminChange.target_id.in_([u.id for u in units])
        )
    ).all()
    assert sorted(change.target_id for change in logged) == [unit.id for unit in units]
    assert logged[0].after["key"].startswith("many-")


def test_a_file_changing_twenty_units_costs_the_statements_of_two(db_session, engine, now):
    """A month's file renames units and moves their mailboxes: each unit's change was checked, saved, logged
    and its SIPs' invitations and reminders followed one unit at a time (38 s for 2 500 units on SQLite)."""
    counted = {}
    for prefix, count in (("fewer", 2), ("more", 20)):
        report, _ = _import(db_session, engine, now, _file(prefix, count), apply=True)
        assert report.errors == []
        changed = _file(prefix, count).replace(b"@x.se", b"@y.se").replace(b";Enhet ", b";Enheten ")
        report, counted[prefix] = _import(db_session, engine, now, changed, apply=True)
        assert report.errors == [] and len(report.changed) == count

    assert counted["more"] - counted["fewer"] <= 4, counted
    db_session.expire_all()
    unit = db_session.exec(select(Unit).where(Unit.key == "more-7")).one()
    assert (unit.name, unit.email, unit.row_version) == ("Enheten 7", "more7@y.se", 2)
    edits = db_session.exec(
        select(AdminChange).where(AdminChange.action == "unit.edit", AdminChange.target_id == unit.id)
    ).all()
    assert [(e.before["name"], e.after["name"], e.after["email"]) for e in edits] == [
        ("Enhet 7", "Enheten 7", "more7@y.se")
    ]
