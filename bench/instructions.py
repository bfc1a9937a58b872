"""The case page's cost in CPU instructions (callgrind), by this tree's code and by an older tree's.

Timings on a shared 2-core machine move by a fifth between minutes; instructions do not. Each tree's child
process, under `valgrind --tool=callgrind` with instrumentation off, builds the app on its own copy of
--database (a file SQLite database `pages.py` built), logs in as `pages.py`'s user, warms up the case page
`pages.py` times, and then, with instrumentation switched on from outside (`callgrind_control -i on`),
requests that case page N times. Printed: instructions per request of each tree and the ratio. The fsync of
the access log's commit is the kernel's, not counted; everything Python and SQLite do is. The two children
run side by side (each takes a few minutes: valgrind runs Python some fifty times slower).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

from pages import CASE_REFERENCE, PASSWORD, USERNAME  # noqa: E402  (the page pages.py times, as its user)

# Run in the tree given as the working directory: database, requests, marker folder, user, password, case.
CHILD = """
import re, sys, time
from pathlib import Path
sys.path.insert(0, ".")
from sqlalchemy import text
from sipflow import create_app
database, requests, markers, user, password, reference = sys.argv[1:7]
requests, markers = int(requests), Path(markers)
app = create_app({"DATABASE_URL": f"sqlite:///{database}", "RATELIMIT_ENABLED": False})
client = app.test_client()
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
data = {"csrf_token": token.group(1), "username": user, "password": password}
assert client.post("/login", data=data).status_code == 302
with app.extensions["sipflow.engine"].connect() as connection:
    uid = connection.execute(text("SELECT uid FROM sipcase WHERE reference = :r"), {"r": reference}).scalar()
for _ in range(30):
    assert client.get(f"/cases/{uid}").status_code == 200
(markers / "ready").touch()
while not (markers / "go").exists():
    time.sleep(0.05)
for _ in range(requests):
    client.get(f"/cases/{uid}")
(markers / "done").touch()
while not (markers / "end").exists():
    time.sleep(0.05)
"""


def _wait_for(path: Path, child: subprocess.Popen) -> None:
    while not path.exists():
        if child.poll() is not None:
            raise SystemExit(f"the child ended before {path.name} (exit {child.returncode})")
        time.sleep(0.5)


def start(tree: Path, database: Path, requests: int, work: Path) -> tuple[subprocess.Popen, Path, Path]:
    """A child of tree under callgrind, instrumentation off; its process, marker folder and output file."""
    markers = work / "markers"
    markers.mkdir()
    copy = work / "case.sqlite3"
    shutil.copy(database, copy)
    output = work / "callgrind.out"
    child = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={output}"]
        + [sys.executable, "-c", CHILD, str(copy), str(requests), str(markers), USERNAME, PASSWORD]
        + [CASE_REFERENCE],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return child, markers, output


def measure(children: list[tuple[subprocess.Popen, Path, Path]], requests: int) -> list[float]:
    """Switch each child's instrumentation on for its requests; the instructions per request of each."""
    for child, markers, _ in children:
        _wait_for(markers / "ready", child)
    for child, markers, _ in children:
        subprocess.run(["callgrind_control", "-i", "on", str(child.pid)], check=True, capture_output=True)
        (markers / "go").touch()
    for child, markers, _ in children:
        _wait_for(markers / "done", child)
        subprocess.run(["callgrind_control", "-i", "off", str(child.pid)], check=True, capture_output=True)
        (markers / "end").touch()
    counts = []
    for child, _, output in children:
        child.wait()
        # The totals line of the profile file callgrind wrote at the end ("totals: N").
        text = "".join(path.read_text() for path in output.parent.glob(output.name + "*"))
        counts.append(sum(int(n) for n in re.findall(r"^totals: (\d+)", text, re.M)) / requests)
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="a checkout of the older code")
    parser.add_argument("--database", type=Path, required=True, help="a file SQLite database pages.py built")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    trees = {"older": args.base.resolve(), "this": _HERE.parent}
    with tempfile.TemporaryDirectory() as folder:
        children = []
        for name in trees:
            work = Path(folder) / name
            work.mkdir()
            children.append(start(trees[name], args.database, args.requests, work))
        older, this = measure(children, args.requests)
    print(f"case page, {args.requests} requests each, instructions per request (callgrind)")
    print(f"  older tree ({trees['older']}): {older:,.0f}")
    print(f"  this tree: {this:,.0f}")
    print(f"  this / older: {this / older:.3f}")


if __name__ == "__main__":
    main()
