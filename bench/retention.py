"""The nightly retention job on a copy of one database, by this tree's code and by an older tree's, in turns.

Two trees cannot be imported into one process, so each run is a child process started in its tree: it copies
--source (a migrated file SQLite database) into a temporary folder, runs `retention.jobs.retention_job` as
the scheduler does (batches of 200, one commit each, an empty outbox folder of its own) at --now, and prints
the cases anonymised, the seconds and cases per second. R rounds, each running the older tree then this one.
In the first round the two results are compared table by table (every column but the person's random
reservnummer and its hash): what retention clears and keeps must be the same whichever code ran it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent

# Run in the tree given as the working directory, with the database and outbox folder given.
CHILD = """
import json, sys, time
from datetime import datetime
sys.path.insert(0, ".")
from sipflow import create_app
from sipflow.retention.jobs import retention_job
url, outbox, now = sys.argv[1:4]
app = create_app({"DATABASE_URL": url, "OUTBOX_DIR": outbox})
started = time.perf_counter()
count = retention_job(app, now=datetime.fromisoformat(now))
print(json.dumps({"cases": count, "seconds": time.perf_counter() - started}))
"""

# Random on every run: the anonymised person's new identifier and its lookup hash.
RANDOM_COLUMNS = {"person": {"id_number", "id_hash"}}


def digest(path: Path) -> dict[str, str]:
    """A sha256 per table of every row (in rowid order), the random columns left out."""
    found = {}
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            kept = [c for c in columns if c not in RANDOM_COLUMNS.get(table, set())]
            listed = ", ".join(f'"{c}"' for c in kept)
            hashed = hashlib.sha256()
            for row in db.execute(f'SELECT {listed} FROM "{table}" ORDER BY rowid'):
                hashed.update(repr(row).encode())
            found[table] = hashed.hexdigest()
    return found


def run(tree: Path, source: Path, now: str, work: Path, *, compare: bool) -> tuple[dict, dict | None]:
    """Retention by tree's code on a fresh copy of source; its figures and, if compare, the tables' digest."""
    copy = work / "copy.sqlite3"
    outbox = work / "outbox"
    shutil.copyfile(source, copy)
    outbox.mkdir(exist_ok=True)
    python = tree / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", CHILD, f"sqlite:///{copy}", str(outbox), now],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"retention failed in {tree}:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    tables = digest(copy) if compare else None
    copy.unlink()
    return figures, tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a migrated file SQLite database (copied)")
    parser.add_argument("--base", type=Path, required=True, help="a worktree of the older code, with .venv")
    parser.add_argument("--now", default="2040-01-01T00:00:00+00:00")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": _HERE.parent}
    digests = {}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees.items():
                figures, tables = run(tree, args.source, args.now, Path(folder), compare=round_ == 1)
                if tables is not None:
                    digests[name] = tables
                print(
                    f"round {round_} {name}: {figures['cases']} cases in {figures['seconds']:.1f} s, "
                    f"{figures['cases'] / figures['seconds']:.0f} cases/s",
                    flush=True,
                )
    differ = [t for t in digests["base"] if digests["base"][t] != digests["this"].get(t)]
    print("tables the same after both: " + ("all" if not differ else "NOT " + ", ".join(differ)))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
