"""Time the pages at a small and a large database, interleaved, and print the ratio large/small per page.

    .venv/bin/python bench/pages.py [--small N] [--large N] [--keep DIR] [--database-url URL]
                                    [--rounds R] [--timeout S] [--deep-page P] [--filter QUERY]
                                    [--requests N] [--seconds S]

Two databases, built as `flask sipflow demo --cases N` builds them (migrations, the Kronoberg demo, N
synthetic cases, ANALYZE). By default file SQLite databases in a temporary folder or in DIR (`--keep`:
reused when already there, `cases-<N>.sqlite3`). With --database-url postgresql+psycopg://USER:PW@HOST/NAME,
PostgreSQL databases NAME_cases_<N> on that server (the user needs CREATEDB), reused when they already hold
N cases or more, else dropped and built again. Defaults: 1 000 and 1 000 000 cases.

1. In process, through the Flask test client, logged in as anna (staff of Region Kronoberg): Att göra
   (`/`), Mina SIP (`/cases`) page 1, a deep page (the keyset cursor of the "next" link when the page has
   one, walked --deep-page pages untimed, or the last full page when the list ends sooner; else
   `?page=<deep-page>`), Mina SIP with a filter (`--filter`, default `state=closed`), the case page and the
   meeting page of the demo persona SIP-DEMO-0002 (the same case at both sizes). The two sizes and the
   pages are interleaved, R rounds after one warm-up round; the median per page, the ratio large/small and
   how many SIPs each list showed are printed. A statement taking longer than --timeout seconds is
   interrupted (SQLite progress handler, PostgreSQL statement_timeout) and the page reported as "> timeout".
2. Under gunicorn (one sync worker) on 127.0.0.1, on the large database: a bare route doing one indexed
   SELECT (`sipcase` by `uid`) beside the case page, interleaved, --requests of each at most, within
   --seconds; prints each one's requests per second and the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

# This folder holds a file called transitions.py, like the state machine library sipflow uses: keep the
# folder off the import path, and put the project's root on it.
_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from sipflow import create_app  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.db import refresh_statistics  # noqa: E402

USERNAME, PASSWORD = "anna", "demo-sip-2026"  # staff of Region Kronoberg (sipflow.demo.kronoberg)
CASE_REFERENCE = "SIP-DEMO-0002"
BARE_PATH = "/bench/bare/"
MY_CASES = "/cases"  # Mina SIP; "/" is the staff's Att göra since issue 11
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CASE_ROW = re.compile(r'<td><a href="/cases/[0-9a-f]{32}">')  # one per SIP a list shows
_NEXT = re.compile(r'<a[^>]*href="([^"]*[?&](?:after|cursor)=[^"]*)"')


class Interrupted(Exception):
    """A statement ran past the deadline."""


def database_url(size: int, folder: Path, server_url: str | None) -> str:
    """Where the database of `size` cases lives: a file in folder, or NAME_cases_<size> on the server."""
    if server_url is None:
        return f"sqlite:///{folder / f'cases-{size}.sqlite3'}"
    url = make_url(server_url)
    return url.set(database=f"{url.database}_cases_{size}").render_as_string(hide_password=False)


def _postgres_ready(url: str, cases: int) -> bool:
    """Create the PostgreSQL database when absent; True when it already holds at least `cases` cases."""
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if exists:
                database = create_engine(target)
                try:
                    with database.connect() as db:
                        found = db.execute(text("SELECT to_regclass('sipcase') IS NOT NULL")).scalar()
                        count = db.execute(text("SELECT count(*) FROM sipcase")).scalar() if found else 0
                finally:
                    database.dispose()
                if count >= cases:
                    return True
                connection.execute(text(f'DROP DATABASE "{target.database}"'))
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()
    return False


def build(url: str, cases: int) -> None:
    """The database of `flask sipflow demo --cases N` at url (kept when it is already there, migrated)."""
    if url.startswith("postgresql"):
        reused = _postgres_ready(url, cases)
        if reused:
            print(f"reusing {make_url(url).database}", flush=True)
    else:
        path = Path(make_url(url).database)
        reused = path.exists()
        if reused:
            print(f"reusing {path} ({path.stat().st_size / 1e6:,.0f} MB)", flush=True)
    # A database kept from an older checkout gets this one's migrations (a reused one too: the pages read
    # the columns they add).
    command.upgrade(alembic_config(url), "head")
    if reused:
        # As `flask sipflow db upgrade` does: a migration that rebuilt a table left it without statistics.
        engine = create_engine(url)
        with engine.connect() as connection:
            refresh_statistics(connection)
        engine.dispose()
        return
    app = create_app({"DATABASE_URL": url})
    start = time.perf_counter()
    with app.app_context():
        from sipflow.demo import load_demo, load_synthetic_cases

        load_demo()
        load_synthetic_cases(cases, seed=2026)
    app.extensions["sipflow.engine"].dispose()
    print(
        f"built {make_url(url).database} with {cases:,} cases in {time.perf_counter() - start:.1f} s",
        flush=True,
    )


class Site:
    """One database behind the Flask test client, logged in, with the URLs of the timed pages."""

    def __init__(self, url: str, timeout: float, deep_page: int, filter_query: str):
        self.app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
        self.deadline = float("inf")
        self.rows: dict[str, int] = {}  # SIPs listed by each URL, as last fetched
        self.timeout = timeout
        engine = self.app.extensions["sipflow.engine"]

        @event.listens_for(engine, "connect")
        def _deadline(dbapi_connection, _record):
            if engine.dialect.name == "postgresql":
                # Per statement rather than per page: PostgreSQL cancels it on the server.
                with dbapi_connection.cursor() as cursor:
                    cursor.execute(f"SET statement_timeout = {int(timeout * 1000)}")
                dbapi_connection.commit()
                return

            def check() -> int:
                return 1 if time.monotonic() > self.deadline else 0

            dbapi_connection.set_progress_handler(check, 10_000)

        engine.dispose()  # the connections opened so far have no handler
        self.client = self.app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post(
            "/login",
            data={"csrf_token": _CSRF.search(page).group(1), "username": USERNAME, "password": PASSWORD},
        )
        assert response.status_code == 302, f"login failed at {make_url(url).database}"
        with engine.connect() as connection:
            uid, meeting_id = connection.execute(
                text(
                    "SELECT sipcase.uid, min(meeting.id) FROM sipcase"
                    " JOIN meeting ON meeting.case_id = sipcase.id"
                    " WHERE sipcase.reference = :reference GROUP BY sipcase.uid"
                ),
                {"reference": CASE_REFERENCE},
            ).one()
        self.case_uid = uid
        self.urls = {
            "Att göra": "/",
            "Mina SIP, page 1": MY_CASES,
            "Mina SIP, deep page": self._deep_page(deep_page),
            f"Mina SIP, {filter_query}": f"{MY_CASES}?{filter_query}",
            "case page": f"/cases/{uid}",
            "meeting page": f"/cases/{uid}/meetings/{meeting_id}",
        }

    def _deep_page(self, pages: int) -> str:
        """The keyset URL `pages` pages in when the list links its next page by cursor, else ?page=N."""
        self.deadline = time.monotonic() + self.timeout
        try:
            response = self.client.get(MY_CASES)
        finally:
            self.deadline = float("inf")
        if response.status_code != 200:  # interrupted: the list is too slow to walk
            return f"{MY_CASES}?page={pages}"
        html = response.get_data(as_text=True)
        url, full = None, None
        for _ in range(pages - 1):
            found = _NEXT.search(html)
            if found is None:
                break
            full = url  # a page that links a next one is a full page
            url = found.group(1).replace("&amp;", "&")
            html = self.client.get(url).get_data(as_text=True)
        if url is not None and _NEXT.search(html) is None:
            # The walk reached the last page, which may hold a few rows only: time the last full one, so
            # a small database's "deep page" is not cheaper than a large one's just for being short.
            url = full or MY_CASES
        return url or f"{MY_CASES}?page={pages}"

    def time(self, url: str) -> float | None:
        """Seconds for one GET of url, or None when a statement ran past the timeout."""
        self.deadline = time.monotonic() + self.timeout
        start = time.perf_counter()
        try:
            response = self.client.get(url)
        except Exception as error:  # noqa: BLE001
            if "interrupted" in str(error) or "statement timeout" in str(error):
                return None
            raise
        finally:
            self.deadline = float("inf")
        elapsed = time.perf_counter() - start
        if response.status_code == 500 and elapsed >= self.timeout:
            return None  # the interrupted statement, as the error page reports it
        assert response.status_code == 200, f"{url}: {response.status_code}"
        self.rows[url] = len(_CASE_ROW.findall(response.get_data(as_text=True)))
        return elapsed


def in_process(sites: dict[str, Site], rounds: int, timeout: float) -> None:
    names = list(next(iter(sites.values())).urls)
    times: dict[tuple[str, str], list[float | None]] = {(s, n): [] for s in sites for n in names}
    for round_number in range(rounds + 1):  # round 0 warms up
        for name in names:
            for size, site in sites.items():
                if round_number and times[(size, name)] and times[(size, name)][-1] is None:
                    continue  # timed out once: do not wait for it again
                elapsed = site.time(site.urls[name])
                if round_number:
                    times[(size, name)].append(elapsed)
    sizes = list(sites)
    print(f"\nmedian of {rounds} interleaved rounds, ms ({' and '.join(sizes)} cases)")
    # One size (--small equal to --large, a quick run) has no ratio to print.
    header = [*sizes, "ratio"] if len(sizes) == 2 else sizes
    print(f"| page | {' | '.join(header)} |\n|---|{'---|' * len(header)}")
    for name in names:
        cells = []
        for size in sites:
            got = times[(size, name)]
            cells.append(None if not got or None in got else statistics.median(got) * 1000)
        shown = [f"> {timeout * 1000:.0f}" if c is None else f"{c:.1f}" for c in cells]
        if len(cells) == 2:
            shown.append(f"{cells[1] / cells[0]:.2f}" if None not in cells else "-")
        print(f"| {name} | {' | '.join(shown)} |", flush=True)
    # A list page is only comparable across sizes when it shows as many SIPs at both.
    for name in names:
        rows = [site.rows.get(site.urls[name], 0) for site in sites.values()]
        if any(rows):
            print(f"  {name}: {' and '.join(map(str, rows))} SIPs listed")


def served_app():
    """The app on SIPFLOW_DATABASE_URL with one more route doing one indexed SELECT (gunicorn's factory)."""
    app = create_app({"RATELIMIT_ENABLED": False})

    @app.get(BARE_PATH + "<uid>")
    def bare(uid: str):
        with app.extensions["sipflow.engine"].connect() as connection:
            found = connection.execute(text("SELECT id FROM sipcase WHERE uid = :uid"), {"uid": uid}).scalar()
        return {"id": found}

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def under_gunicorn(url: str, case_uid: str, requests: int, seconds: float) -> None:
    port = _free_port()
    env = os.environ | {"SIPFLOW_DATABASE_URL": url}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--chdir", str(_ROOT), "--workers", "1", "--bind", f"127.0.0.1:{port}"]
        + ["--log-level", "warning", "bench.pages:served_app()"],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for _ in range(100):
            try:
                page = opener.open(base + "/login").read().decode()
                break
            except OSError:
                time.sleep(0.1)
        data = urllib.parse.urlencode(
            {"csrf_token": _CSRF.search(page).group(1), "username": USERNAME, "password": PASSWORD}
        ).encode()
        opener.open(base + "/login", data=data).read()
        urls = {"bare route": f"{base}{BARE_PATH}{case_uid}", "case page": f"{base}/cases/{case_uid}"}
        for url in urls.values():  # warm up
            assert opener.open(url).status == 200
        spent = dict.fromkeys(urls, 0.0)
        done = 0
        stop = time.monotonic() + seconds
        while done < requests and time.monotonic() < stop:
            for name, url in urls.items():
                start = time.perf_counter()
                with opener.open(url) as response:
                    response.read()
                    assert response.status == 200, url
                spent[name] += time.perf_counter() - start
            done += 1
        rates = {name: done / spent[name] for name in urls}
        print(f"\ngunicorn, 1 sync worker, 127.0.0.1, {done} requests of each, interleaved")
        for name, rate in rates.items():
            print(f"  {name}: {rate:,.0f} requests/s")
        ratio = rates["case page"] / rates["bare route"]
        print(f"  case page / bare route: {ratio:.2f} (goal: at least 0.2)")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the databases in this folder")
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL: build (or reuse) NAME_cases_<N> on its server instead"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a page may take (default 10)")
    parser.add_argument("--deep-page", type=int, default=500)
    # `closed` fills a page at 1 000 cases as at a million (Region Kronoberg sees 2 `invited` SIPs at 1 000).
    parser.add_argument("--filter", default="state=closed", help="query string of the filtered Mina SIP")
    # 600: with 200 the ratio moved by about 0.03 between runs on this machine.
    parser.add_argument("--requests", type=int, default=600, help="gunicorn requests of each route")
    parser.add_argument("--seconds", type=float, default=60.0, help="time bound of the gunicorn part")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sipflow-bench-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        urls = {size: database_url(size, folder, args.database_url) for size in (args.small, args.large)}
        for size, url in urls.items():
            build(url, size)
        sites = {
            f"{size:,}": Site(url, args.timeout, args.deep_page, args.filter) for size, url in urls.items()
        }
        for size, site in sites.items():
            print(f"{size}: " + ", ".join(site.urls.values()))
        in_process(sites, args.rounds, args.timeout)
        large = sites[f"{args.large:,}"]
        under_gunicorn(urls[args.large], large.case_uid, args.requests, args.seconds)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
