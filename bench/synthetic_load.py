"""Time load_synthetic_cases on a fresh file SQLite database and extrapolate to a million cases.

    .venv/bin/python bench/synthetic_load.py [--cases N] [--seed S] [--keep PATH]

The database is built by the migrations in a temporary folder (or at PATH with --keep) and configured as
sipflow.db configures it (WAL, foreign keys on, synchronous NORMAL). Prints the time, the rows written per
table, the file size, and the time a million cases would take at the same rate.
"""

from __future__ import annotations

import argparse
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
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import sipflow.models  # noqa: E402, F401  (every table)
from sipflow import create_app  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.demo import load_synthetic_cases  # noqa: E402


def run(path: Path, cases: int, seed: int) -> None:
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789"})
    done = 0
    start = time.perf_counter()

    def progress(size: int) -> None:
        nonlocal done
        done += size
        print(f"  {done:>9,} cases  {time.perf_counter() - start:7.1f} s", flush=True)

    with app.app_context():
        load_synthetic_cases(cases, seed=seed, progress=progress)
        elapsed = time.perf_counter() - start
        engine = app.extensions["sipflow.engine"]
        with engine.connect() as connection:
            counts = {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar()
                for table in SQLModel.metadata.sorted_tables
            }
        engine.dispose()
    rows = sum(counts[name] for name in counts if name not in ("county", "municipality", "alembic_version"))
    print(f"{cases:,} synthetic cases in {elapsed:.1f} s ({elapsed / cases * 1e6:.0f} µs per case)")
    print(
        f"rows: {rows:,} ({rows / elapsed:,.0f} per second): "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    print(f"database file: {path.stat().st_size / 1e6:,.0f} MB")
    print(f"a million cases at this rate: {elapsed / cases * 1e6 / 60:.1f} min")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="synthetic cases to load (default 10000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", type=Path, help="build the database at this path and keep it")
    args = parser.parse_args(argv)
    if args.keep:
        run(args.keep, args.cases, args.seed)
        return
    with tempfile.TemporaryDirectory(prefix="sipflow-bench-") as tmp:
        run(Path(tmp) / "synthetic.sqlite3", args.cases, args.seed)


if __name__ == "__main__":
    main()
