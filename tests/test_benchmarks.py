"""The benchmarks still run against today's schema, and the statistics agree with SQL written by hand.

Not timed: a benchmark's figures are read by people (bench/README.md). What a test can hold is that each
still runs (a new NOT NULL column once broke the hand-written side unseen) and that `bench/stats.py`'s
hand-written SQL, an independent count of the same indicators, finds the same numbers as sipflow.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path, script: str, *args: str) -> str:
    # TMPDIR: the scripts' databases go under the test's folder, not /tmp.
    env = os.environ | {"TMPDIR": str(tmp_path)}
    env.pop("SIPFLOW_TEST_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize(
    ("script", "args", "printed"),
    [
        # Two lifecycles each way: the hand-written side writes every NOT NULL column sipflow writes.
        ("transitions.py", ("--cases", "2", "--block", "1"), "statements per lifecycle: service"),
        # Its check that sipflow's dashboard equals the hand-written SQL runs before anything is printed.
        ("stats.py", ("--cases", "300", "--rounds", "1"), "hand-written whole dashboard"),
    ],
)
def test_a_benchmark_runs_on_todays_schema_and_its_two_sides_agree(tmp_path, script, args, printed):
    assert printed in _run(tmp_path, script, *args)
