"""The county-year SIP indicators through sipflow beside the same GROUP BY written by hand, interleaved.

Builds a fresh database (file SQLite, or --database-url), loads N synthetic cases with the demo loader and,
where the loader wrote no code records yet, writes one SIP code record per held meeting and region unit
taking part (ZV051 too for video meetings) with one INSERT ... SELECT. Then, in R interleaved rounds, times
`sipflow.stats.services.meeting_indicators` (the dashboard's main table: persons, SIPs, video, digital,
närstående, person present; one county, one year, by municipality and quarter) and the hand-written SQL,
checks they agree, and prints both medians and the ratio; the whole dashboard answer (`indicators`, all
four tables and disclosure control) is timed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import sipflow.models  # noqa: E402, F401  (every table)
from sipflow import create_app  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.db import refresh_statistics  # noqa: E402
from sipflow.demo import load_synthetic_cases  # noqa: E402
from sipflow.people.reference import load_municipalities  # noqa: E402
from sipflow.stats.services import indicators, meeting_indicators, parse_query, settings_from  # noqa: E402

CODE_RECORDS = """
INSERT INTO code_record (case_id, meeting_id, unit_id, organisation_id, code, kind, sign, held_on,
    meeting_kind, person_id, municipality_code, legal_sex, age_years, occasion, organisation_kind,
    recorded_at)
SELECT m.case_id, m.id, p.unit_id, p.organisation_id, c.code, c.kind, 1, {held_on}, m.kind, s.person_id,
    pe.home_municipality_code, pe.legal_sex, 40, s.occasion, o.kind, m.held_at
FROM meeting m
JOIN sipcase s ON s.id = m.case_id
JOIN person pe ON pe.id = s.person_id
JOIN participant p ON p.case_id = m.case_id AND p.kind = 'organisation' AND p.unit_id IS NOT NULL
JOIN organisation o ON o.id = p.organisation_id AND o.kind = 'region'
JOIN (SELECT 'XU045' AS code, 'sip' AS kind UNION ALL SELECT 'ZV051', 'distance') c
  ON c.kind = 'sip' OR m.mode = 'video'
WHERE m.status = 'held' AND m.held_at IS NOT NULL
"""

HAND_WRITTEN = """
SELECT s.municipality_code, s.q,
    COUNT(DISTINCT s.person_id) AS persons, COUNT(*) AS sips,
    SUM(CASE WHEN s.meeting_kind = 'first' THEN 1 ELSE 0 END) AS first,
    SUM(CASE WHEN s.meeting_kind <> 'first' THEN 1 ELSE 0 END) AS follow_up,
    SUM(CASE WHEN s.distance > 0 THEN 1 ELSE 0 END) AS video,
    SUM(CASE WHEN m.classification IN ('fully_digital', 'partly_digital') THEN 1 ELSE 0 END) AS digital,
    SUM(CASE WHEN m.classification IS NOT NULL THEN 1 ELSE 0 END) AS classified,
    SUM(CASE WHEN EXISTS (SELECT 1 FROM attendance a JOIN participant p ON p.id = a.participant_id
        WHERE a.meeting_id = s.meeting_id AND p.kind = 'narstaende' AND a.mode <> 'absent')
        THEN 1 ELSE 0 END),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM attendance a JOIN participant p ON p.id = a.participant_id
        WHERE a.meeting_id = s.meeting_id AND p.kind = 'person' AND a.mode <> 'absent') THEN 1 ELSE 0 END)
FROM (
    SELECT meeting_id, person_id, meeting_kind, municipality_code, {quarter} AS q,
        SUM(CASE WHEN kind = 'distance' THEN sign ELSE 0 END) AS distance
    FROM code_record
    WHERE held_on BETWEEN :start AND :end
      AND municipality_code IN (SELECT code FROM municipality WHERE county_code = :county)
    GROUP BY meeting_id, person_id, meeting_kind, municipality_code, {quarter}
    HAVING SUM(CASE WHEN kind = 'sip' THEN sign ELSE 0 END) > 0
) s JOIN meeting m ON m.id = s.meeting_id
WHERE m.status = 'held'
GROUP BY s.municipality_code, s.q
"""


def _dialect_sql(dialect: str) -> tuple[str, str, str]:
    """The held day of a meeting, the year and year * 10 + quarter of a code record, in the dialect."""
    if dialect == "sqlite":
        year = "CAST(strftime('%Y', held_on) AS INTEGER)"
        return "date(m.held_at)", year, f"{year} * 10 + (CAST(strftime('%m', held_on) AS INTEGER) + 2) / 3"
    year = "CAST(EXTRACT(YEAR FROM held_on) AS INTEGER)"
    return "CAST(m.held_at AS DATE)", year, f"{year} * 10 + CAST(EXTRACT(QUARTER FROM held_on) AS INTEGER)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default=None, help="an empty PostgreSQL database (default: SQLite file)"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time on --database-url as it is (a database an earlier run loaded)",
    )
    parser.add_argument("--county", default="07")
    parser.add_argument("--year", type=int, default=None, help="default: the year with most code records")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="sipflow-bench-stats-")
    print(f"database folder: {folder}", flush=True)
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    if not args.reuse:
        command.upgrade(alembic_config(url), "head")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789"})
    engine = app.extensions["sipflow.engine"]
    held_on, year_sql, quarter = _dialect_sql(engine.dialect.name)
    with app.app_context():
        if not args.reuse:
            with Session(engine) as session:
                load_municipalities(session)
                session.commit()
            started = time.perf_counter()
            load_synthetic_cases(args.cases, seed=12, now=datetime(2026, 11, 2, 9, tzinfo=UTC))
            print(f"loaded {args.cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
        with engine.begin() as connection:
            if not connection.execute(text("SELECT COUNT(*) FROM code_record")).scalar():
                connection.execute(text(CODE_RECORDS.format(held_on=held_on)))
        with engine.connect() as connection:
            refresh_statistics(connection, full=True)
        with engine.connect() as connection:
            records = connection.execute(text("SELECT COUNT(*) FROM code_record")).scalar()
            year = (
                args.year
                or connection.execute(
                    text(
                        "SELECT y FROM (SELECT "
                        + quarter.replace("* 10 +", "+ 0 *")
                        + " AS y FROM code_record) t "
                        "GROUP BY y ORDER BY COUNT(*) DESC LIMIT 1"
                    )
                ).scalar()
            )
        print(f"{records:,} code records; county {args.county}, year {year}", flush=True)
        registry = app.extensions["sipflow.workflows"]
        settings = settings_from(app.config, registry)
        hand_sql = text(HAND_WRITTEN.format(quarter=quarter))
        times = {"sipflow": [], "hand": [], "dashboard": []}
        for _ in range(args.rounds):
            with Session(engine) as session:
                query = parse_query(
                    session,
                    start=date(year, 1, 1),
                    end=date(year, 12, 31),
                    county=args.county,
                    by="municipality,quarter",
                )
                t = time.perf_counter()
                ours, _ = meeting_indicators(session, query, settings)
                times["sipflow"].append(time.perf_counter() - t)
                t = time.perf_counter()
                theirs = session.execute(
                    hand_sql, {"start": date(year, 1, 1), "end": date(year, 12, 31), "county": args.county}
                ).all()
                times["hand"].append(time.perf_counter() - t)
                t = time.perf_counter()
                indicators(session, query, settings)
                times["dashboard"].append(time.perf_counter() - t)
        mine = sorted((r["municipality"], r["quarter"], r["persons"], r["sips"], r["video"]) for r in ours)
        hand = sorted((r[0], int(r[1]), int(r[2]), int(r[3]), int(r[6])) for r in theirs)
        assert mine == hand, "sipflow and the hand-written SQL disagree"
    a, b, c = (statistics.median(times[k]) for k in ("sipflow", "hand", "dashboard"))
    print(f"{engine.dialect.name}: {len(ours)} groups, rounds {args.rounds} (medians)")
    print(f"  sipflow meeting_indicators  {a * 1000:8.1f} ms")
    print(f"  hand-written GROUP BY       {b * 1000:8.1f} ms")
    print(f"  ratio                       {a / b:8.2f}")
    print(f"  whole dashboard answer      {c * 1000:8.1f} ms (four tables, two meeting queries)")
    engine.dispose()


if __name__ == "__main__":
    main()
