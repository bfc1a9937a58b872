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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlalchemy import bindparam, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import sipflow.models  # noqa: E402, F401  (every table)
from sipflow import create_app  # noqa: E402
from sipflow.cases.models import SipCase  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.clock import local_to_utc, local_today  # noqa: E402
from sipflow.db import refresh_statistics  # noqa: E402
from sipflow.demo import load_synthetic_cases  # noqa: E402
from sipflow.people.reference import load_municipalities  # noqa: E402
from sipflow.stats.services import (  # noqa: E402
    attendance_by_organisation_kind,
    case_outcomes,
    indicators,
    lead_time_histograms,
    meeting_indicators,
    parse_query,
    settings_from,
)

CODE_RECORDS = """
INSERT INTO code_record (case_id, meeting_id, unit_id, organisation_id, code, kind, sign, held_on,
    meeting_kind, person_id, municipality_code, legal_sex, age_years, occasion, organisation_kind,
    recorded_at)
SELECT m.case_id, m.id, p.unit_id, p.organisation_id, c.code, c.kind, 1, {held_on}, m.kind, s.person_id,
    sc.municipality_code, pe.legal_sex, 40, s.occasion, o.kind, m.held_at
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
        held = _swedish_day(dialect, "m.held_at")
        return held, year, f"{year} * 10 + (CAST(strftime('%m', held_on) AS INTEGER) + 2) / 3"
    year = "CAST(EXTRACT(YEAR FROM held_on) AS INTEGER)"
    return (
        _swedish_day(dialect, "m.held_at"),
        year,
        f"{year} * 10 + CAST(EXTRACT(QUARTER FROM held_on) AS INTEGER)",
    )


# --- The whole dashboard by hand: the same seven tables' numbers, one statement each ---------------------

# The code records of the period's SIP meetings in the county, one row per meeting (the sipflow side's
# "sip_meeting" subquery, written out); {columns} adds what a query needs, {kind} limits first/follow-up.
SIP_MEETINGS = """
    SELECT meeting_id, case_id, person_id, meeting_kind, held_on, municipality_code, {quarter} AS q,
        SUM(CASE WHEN kind = 'distance' THEN sign ELSE 0 END) AS distance
    FROM code_record
    WHERE held_on BETWEEN :start AND :end
      AND municipality_code IN (SELECT code FROM municipality WHERE county_code = :county) {kind}
    GROUP BY meeting_id, case_id, person_id, meeting_kind, held_on, municipality_code, {quarter}
    HAVING SUM(CASE WHEN kind = 'sip' THEN sign ELSE 0 END) > 0
"""

HAND_TOTAL = """
SELECT COUNT(DISTINCT s.person_id), COUNT(*),
    SUM(CASE WHEN s.distance > 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN m.classification IN ('fully_digital', 'partly_digital') THEN 1 ELSE 0 END),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM attendance a JOIN participant p ON p.id = a.participant_id
        WHERE a.meeting_id = s.meeting_id AND p.kind = 'narstaende' AND a.mode <> 'absent')
        THEN 1 ELSE 0 END),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM attendance a JOIN participant p ON p.id = a.participant_id
        WHERE a.meeting_id = s.meeting_id AND p.kind = 'person' AND a.mode <> 'absent') THEN 1 ELSE 0 END)
FROM ({sip_meetings}) s JOIN meeting m ON m.id = s.meeting_id
WHERE m.status = 'held'
"""

HAND_REQUEST_TO_FIRST = """
SELECT s.municipality_code, s.q, {days_request} AS days, COUNT(*)
FROM ({sip_meetings}) s JOIN sipcase sc ON sc.id = s.case_id
GROUP BY s.municipality_code, s.q, {days_request}
"""

HAND_UTSKRIVNINGSKLAR_TO_KALLELSE = """
SELECT s.municipality_code, s.q, {days_kallelse} AS days,
    CASE WHEN dl.met_at <= dl.due_at THEN 1 ELSE 0 END AS within, COUNT(*)
FROM ({sip_meetings}) s
JOIN sipcase sc ON sc.id = s.case_id
-- A deadline counts only as its own case's workflow and version declare it (workflow:version:kind).
JOIN deadline dl ON dl.case_id = sc.id AND dl.met_at IS NOT NULL
    AND (sc.workflow_name || ':' || CAST(sc.workflow_version AS VARCHAR(10)) || ':' || dl.kind) IN :kallelse
WHERE sc.utskrivningsklar_at IS NOT NULL
GROUP BY s.municipality_code, s.q, {days_kallelse}, CASE WHEN dl.met_at <= dl.due_at THEN 1 ELSE 0 END
"""

HAND_PLAN_TO_FOLLOW_UP = """
SELECT municipality_code, q, days, COUNT(*) FROM (
    SELECT s.municipality_code, s.q, {days_follow_up} AS days
    FROM ({sip_meetings}) s JOIN meeting m ON m.id = s.meeting_id
) t
GROUP BY municipality_code, q, days
"""

HAND_OFFERED = """
SELECT sc.municipality_code, {requested_quarter}, COUNT(*),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM transitionlog t WHERE t.case_id = sc.id
        AND (sc.occasion || ':' || t."trigger") IN :accept)
        THEN 1 ELSE 0 END),
    SUM(CASE WHEN EXISTS (SELECT 1 FROM transitionlog t WHERE t.case_id = sc.id
        AND (sc.occasion || ':' || t."trigger") IN :decline)
        THEN 1 ELSE 0 END)
FROM sipcase sc
WHERE sc.requested_at >= :start_at AND sc.requested_at < :end_at
  AND sc.municipality_code IN (SELECT code FROM municipality WHERE county_code = :county)
  AND NOT EXISTS (SELECT 1 FROM transitionlog t WHERE t.case_id = sc.id
                  AND (sc.occasion || ':' || t."trigger" || ':' || t.to_state) IN :voiding)
GROUP BY sc.municipality_code, {requested_quarter}
"""

HAND_FOLLOW_UPS_DUE = """
SELECT sc.municipality_code, {due_quarter}, COUNT(*),
    SUM(CASE WHEN dl.met_at IS NOT NULL AND dl.met_at <= dl.due_at THEN 1 ELSE 0 END)
FROM deadline dl JOIN sipcase sc ON sc.id = dl.case_id
WHERE (sc.workflow_name || ':' || CAST(sc.workflow_version AS VARCHAR(10)) || ':' || dl.kind) IN :follow_up
  AND dl.cancelled_at IS NULL AND dl.due_at >= :start_at AND dl.due_at < :due_through
  AND sc.municipality_code IN (SELECT code FROM municipality WHERE county_code = :county)
  AND NOT EXISTS (SELECT 1 FROM transitionlog t WHERE t.case_id = sc.id
                  AND (sc.occasion || ':' || t."trigger" || ':' || t.to_state) IN :voiding)
GROUP BY sc.municipality_code, {due_quarter}
"""

HAND_ATTENDANCE = """
SELECT o.kind, a.mode, COUNT(*)
FROM attendance a
JOIN meeting m ON m.id = a.meeting_id
JOIN participant p ON p.id = a.participant_id
JOIN organisation o ON o.id = p.organisation_id
WHERE p.kind = 'organisation' AND m.status = 'held' AND a.meeting_id IN (
    SELECT meeting_id FROM code_record
    WHERE held_on BETWEEN :start AND :end
      AND municipality_code IN (SELECT code FROM municipality WHERE county_code = :county)
    GROUP BY meeting_id HAVING SUM(CASE WHEN kind = 'sip' THEN sign ELSE 0 END) > 0)
GROUP BY o.kind, a.mode
"""


def _swedish_day(dialect: str, instant: str) -> str:
    """The Swedish calendar day of a stored instant, as sipflow counts days (SQLite: the function sipflow.db
    registers on every connection)."""
    if dialect == "sqlite":
        return f"sipflow_swedish_day({instant})"
    return f"CAST(({instant}) AT TIME ZONE 'Europe/Stockholm' AS DATE)"


def _days(dialect: str, start: str, end: str) -> str:
    """Whole days from start to end, each a date expression."""
    if dialect == "sqlite":
        return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


def _quarter_of(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        year, month = f"strftime('%Y', {column})", f"strftime('%m', {column})"
        return f"CAST({year} AS INTEGER) * 10 + (CAST({month} AS INTEGER) + 2) / 3"
    return (
        f"CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) * 10 + CAST(EXTRACT(QUARTER FROM {column}) AS INTEGER)"
    )


def hand_dashboard_statements(dialect: str) -> dict:
    """The seven hand-written statements behind the whole dashboard, for one dialect."""
    quarter = _quarter_of(dialect, "held_on")
    first = SIP_MEETINGS.format(quarter=quarter, kind="AND meeting_kind = 'first'")
    follow_up = SIP_MEETINGS.format(quarter=quarter, kind="AND meeting_kind <> 'first'")
    every = SIP_MEETINGS.format(quarter=quarter, kind="")
    previous = (
        "(SELECT MAX(e.held_at) FROM meeting e WHERE e.case_id = m.case_id AND e.status = 'held' "
        "AND e.held_at < m.held_at)"
    )
    voiding = bindparam("voiding", expanding=True)
    expanding = (bindparam("accept", expanding=True), bindparam("decline", expanding=True), voiding)
    kinds = (bindparam("kallelse", expanding=True), bindparam("follow_up", expanding=True))
    moment = SipCase.__table__.c.requested_at.type
    moments = (bindparam("start_at", type_=moment), bindparam("end_at", type_=moment))
    return {
        "total": text(HAND_TOTAL.format(sip_meetings=every)),
        "request_to_first": text(
            HAND_REQUEST_TO_FIRST.format(
                sip_meetings=first,
                days_request=_days(dialect, _swedish_day(dialect, "sc.requested_at"), "s.held_on"),
            )
        ),
        "utskrivningsklar_to_kallelse": text(
            HAND_UTSKRIVNINGSKLAR_TO_KALLELSE.format(
                sip_meetings=first,
                days_kallelse=_days(
                    dialect,
                    _swedish_day(dialect, "sc.utskrivningsklar_at"),
                    _swedish_day(dialect, "dl.met_at"),
                ),
            )
        ).bindparams(kinds[0]),
        "plan_to_follow_up": text(
            HAND_PLAN_TO_FOLLOW_UP.format(
                sip_meetings=follow_up,
                days_follow_up=_days(dialect, _swedish_day(dialect, previous), "s.held_on"),
            )
        ),
        "offered": text(
            HAND_OFFERED.format(
                requested_quarter=_quarter_of(dialect, _swedish_day(dialect, "sc.requested_at"))
            )
        ).bindparams(*expanding, *moments),
        "follow_ups_due": text(
            HAND_FOLLOW_UPS_DUE.format(due_quarter=_quarter_of(dialect, _swedish_day(dialect, "dl.due_at")))
        ).bindparams(kinds[1], voiding, moments[0], bindparam("due_through", type_=moment)),
        "attendance": text(HAND_ATTENDANCE),
    }


def _median_max(histogram: dict) -> dict:
    """Per group, the n, median and maximum of a (group, days) -> count histogram."""
    out = {}
    for group, counts in histogram.items():
        days = [d for d, n in sorted(counts.items()) for _ in range(n)]
        out[group] = (len(days), statistics.median(days), days[-1])
    return out


def hand_dashboard(session, meeting_sql, statements: dict, params: dict) -> dict:
    """The dashboard's numbers by hand: the meeting table and its total, lead times, outcomes, attendance."""
    answer = {"meetings": session.execute(meeting_sql, params).all()}
    answer["total"] = session.execute(statements["total"], params).one()
    for measure in ("request_to_first", "utskrivningsklar_to_kallelse", "plan_to_follow_up"):
        histogram: dict = {}
        for row in session.execute(statements[measure], params):
            if row[2] is None:
                continue
            counts = histogram.setdefault((row[0], int(row[1])), {})
            counts[int(row[2])] = counts.get(int(row[2]), 0) + int(row[-1])
        answer[measure] = _median_max(histogram)
    answer["offered"] = session.execute(statements["offered"], params).all()
    answer["follow_ups_due"] = session.execute(statements["follow_ups_due"], params).all()
    answer["attendance"] = session.execute(statements["attendance"], params).all()
    return answer


def _check_agreement(session, query, settings, by_hand: dict) -> None:
    """The hand-written dashboard's numbers equal sipflow's (lead times, outcomes, attendance, total)."""
    total, _ = meeting_indicators(session, query, settings, by=())
    ours = total[0] if total else {"persons": 0, "sips": 0}
    assert (ours["persons"], ours["sips"]) == tuple(int(v or 0) for v in by_hand["total"][:2]), "total"
    for measure, groups in lead_time_histograms(session, query, settings).items():
        mine = {
            k: (len(g["days"]), statistics.median(g["days"]), max(g["days"]))
            for k, g in groups.items()
            if g["days"]
        }
        assert mine == by_hand[measure], f"lead time {measure}"
    outcomes = case_outcomes(session, query, settings)
    offered = {(r[0], int(r[1])): (int(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in by_hand["offered"]}
    mine = {k: (v["offered"], v["accepted"], v["declined"]) for k, v in outcomes.items() if v["offered"]}
    assert mine == offered, "offered, accepted, declined"
    due = {(r[0], int(r[1])): (int(r[2]), int(r[3] or 0)) for r in by_hand["follow_ups_due"]}
    mine = {
        k: (v["follow_ups_due"], v["follow_ups_on_time"]) for k, v in outcomes.items() if v["follow_ups_due"]
    }
    assert mine == due, "follow-ups due"
    attendance = {(kind, mode): int(n) for kind, mode, n in by_hand["attendance"]}
    mine = {
        (row["organisation_kind"], mode): row[mode]
        for row in attendance_by_organisation_kind(session, query, settings)
        for mode in ("on_site", "video", "phone", "absent")
        if row[mode]
    }
    assert mine == attendance, "attendance"


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
        statements = hand_dashboard_statements(engine.dialect.name)
        start, end = date(year, 1, 1), date(year, 12, 31)
        params = {
            "start": start,
            "end": end,
            "county": args.county,
            "start_at": datetime(year, 1, 1, tzinfo=UTC),
            "end_at": datetime(year + 1, 1, 1, tzinfo=UTC),
            # A follow-up is due only once its Swedish day has come (sipflow.stats counts up to today).
            "due_through": min(
                datetime(year + 1, 1, 1, tzinfo=UTC),
                local_to_utc(datetime.combine(local_today() + timedelta(days=1), datetime.min.time())),
            ),
            # Each workflow's own steps, by its occasion (as sipflow.stats matches them).
            "accept": [f"{o}:{t}" for o, t in settings.accept_steps] or [""],
            # A case ended as entered in error (makulerad) is no SIP offered, nor due a follow-up.
            "voiding": [f"{o}:{t}:{s}" for o, t, s in settings.entered_in_error_steps] or [""],
            "decline": [f"{o}:{t}" for o, t in settings.decline_steps] or [""],
            "kallelse": [f"{n}:{v}:{k}" for n, v, k in settings.kallelse_deadlines] or [""],
            "follow_up": [f"{n}:{v}:{k}" for n, v, k in settings.follow_up_deadlines] or [""],
        }
        times = {"sipflow": [], "hand": [], "dashboard": [], "hand_dashboard": []}
        for _ in range(args.rounds):
            with Session(engine) as session:
                query = parse_query(
                    session, start=start, end=end, county=args.county, by="municipality,quarter"
                )
                t = time.perf_counter()
                ours, _ = meeting_indicators(session, query, settings)
                times["sipflow"].append(time.perf_counter() - t)
                t = time.perf_counter()
                theirs = session.execute(hand_sql, params).all()
                times["hand"].append(time.perf_counter() - t)
                t = time.perf_counter()
                indicators(session, query, settings)
                times["dashboard"].append(time.perf_counter() - t)
                t = time.perf_counter()
                by_hand = hand_dashboard(session, hand_sql, statements, params)
                times["hand_dashboard"].append(time.perf_counter() - t)
        mine = sorted((r["municipality"], r["quarter"], r["persons"], r["sips"], r["video"]) for r in ours)
        hand = sorted((r[0], int(r[1]), int(r[2]), int(r[3]), int(r[6])) for r in theirs)
        assert mine == hand, "sipflow and the hand-written SQL disagree"
        with Session(engine) as session:
            _check_agreement(session, query, settings, by_hand)
    a, b, c, d = (statistics.median(times[k]) for k in ("sipflow", "hand", "dashboard", "hand_dashboard"))
    print(f"{engine.dialect.name}: {len(ours)} groups, rounds {args.rounds} (medians)")
    print(f"  sipflow meeting_indicators  {a * 1000:8.1f} ms")
    print(f"  hand-written GROUP BY       {b * 1000:8.1f} ms")
    print(f"  ratio                       {a / b:8.2f}")
    print(f"  sipflow whole dashboard     {c * 1000:8.1f} ms (indicators(): every table, disclosure control)")
    print(f"  hand-written whole dashboard{d * 1000:8.1f} ms (the same numbers, medians in Python)")
    print(f"  ratio                       {c / d:8.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
