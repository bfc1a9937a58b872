"""The directory import of many users: the whole file in one batch against the same users invited one by one.

    .venv/bin/python bench/directory_import.py [--users N] [--rounds R] [--profile]

Each round builds two fresh file SQLite databases with the migrations and, in turn, imports a file of one
organisation, one unit and N users (`imports.import_directory`, as /admin/import and `flask sipflow import
directory` do), and invites the same N users with `users.invite_user` one at a time in one unit of work,
which is what the import did per line before it invited them in one batch. Prints each side's seconds per
round, their medians and the ratio one-by-one / batch; --profile prints the batch side's cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This folder holds a file called transitions.py, like the state machine library sipflow uses: keep the
# folder off the import path, and put the project's root on it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

import sipflow.models  # noqa: E402, F401  (every table)
from sipflow import create_app  # noqa: E402
from sipflow.admin import imports, users  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.clock import now_utc  # noqa: E402
from sipflow.db import unit_of_work  # noqa: E402
from sipflow.people.models import Unit  # noqa: E402

HEADER = "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;scope"
DIRECTORY = [
    "organisation;reg;Region Test;region;;;22;;;;;;",
    "unit;reg-vc;Vårdcentralen Test;vardcentral;reg;;;;yes;vc@test.example;;;",
]


def _file(count: int) -> bytes:
    lines = [f"user;u{i};User {i};;;reg-vc;;;;u{i}@test.example;;staff;" for i in range(count)]
    return "\n".join([HEADER, *DIRECTORY, *lines]).encode()


def _app(folder: Path, name: str):
    url = f"sqlite:///{folder / name}.db"
    command.upgrade(alembic_config(url), "head")
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789"})


def batch(app, count: int, profile: cProfile.Profile | None) -> float:
    """Seconds to import the file of count users."""
    data = _file(count)
    with app.app_context(), Session(app.extensions["sipflow.engine"]) as session:
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        with unit_of_work(session):
            report = imports.import_directory(session, data, actor=None, now=now_utc(), apply=True)
        if profile is not None:
            profile.disable()
        seconds = time.perf_counter() - started
    assert report.applied and len(report.created) == count + 2, report.errors[:3]
    return seconds


def one_by_one(app, count: int) -> float:
    """Seconds to invite the same users one invite_user call at a time (the directory imported first)."""
    with app.app_context(), Session(app.extensions["sipflow.engine"]) as session:
        with unit_of_work(session):
            imports.import_directory(
                session, "\n".join([HEADER, *DIRECTORY]).encode(), actor=None, now=now_utc(), apply=True
            )
        unit_id = session.exec(select(Unit.id).where(Unit.key == "reg-vc")).one()
        started = time.perf_counter()
        with unit_of_work(session):
            for i in range(count):
                users.invite_user(
                    session,
                    actor=None,
                    username=f"u{i}",
                    display_name=f"User {i}",
                    email=f"u{i}@test.example",
                    unit_id=unit_id,
                    roles="staff",
                    now=now_utc(),
                )
        return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the outbox logs a line per queued message
    profile = cProfile.Profile() if args.profile else None
    times: dict[str, list[float]] = {"batch": [], "one_by_one": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            # Alternate which side goes first, so neither always meets a warmer or a busier machine.
            sides = ("batch", "one_by_one") if round_ % 2 == 0 else ("one_by_one", "batch")
            for side in sides:
                app = _app(Path(folder), f"{side}-{round_}")
                if side == "batch":
                    seconds = batch(app, args.users, profile)
                else:
                    seconds = one_by_one(app, args.users)
                times[side].append(seconds)
                print(f"round {round_ + 1}: {side} {args.users} users {seconds:.2f} s", flush=True)
    medians = {side: statistics.median(values) for side, values in times.items()}
    print(
        f"median: batch {medians['batch']:.2f} s, one by one {medians['one_by_one']:.2f} s, "
        f"ratio one-by-one/batch {medians['one_by_one'] / medians['batch']:.1f}"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
