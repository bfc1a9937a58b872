"""Follow-ups due count only deadlines whose (Swedish) day has come: a period reaching past today says so."""

from __future__ import annotations

from datetime import UTC, datetime

from sipflow.cases.models import Deadline
from sipflow.stats.services import indicators

# The tests' now is 2026-11-02 09:00 UTC: 10:00 that day in Sweden.
YESTERDAY = datetime(2026, 11, 1, 22, 59, tzinfo=UTC)  # 2026-11-01 23:59 in Sweden
TODAY = datetime(2026, 11, 2, 22, 59, tzinfo=UTC)  # 2026-11-02 23:59 in Sweden
TOMORROW_IN_SWEDEN = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 2026-11-03 00:30 in Sweden
NEXT_YEAR = datetime(2027, 3, 1, 22, 59, tzinfo=UTC)


def outcomes(world, **options):
    settings = world.settings()
    settings.threshold = 1  # the counts are small: disclosure control is tested apart
    answer = indicators(world.session, world.query(**options), settings)
    return answer, next(t for t in answer["tables"] if t["key"] == "outcomes")


def due(total) -> tuple:
    return total["follow_ups_due"], total["follow_ups_on_time"], total["follow_ups_on_time_share"]


def add_deadlines(world):
    for due_at, met_at in (
        (YESTERDAY, YESTERDAY),  # held by its date
        (TODAY, None),  # due today, not held yet: due, not on time
        (TOMORROW_IN_SWEDEN, None),  # not due yet, though still 2 November in UTC
        (NEXT_YEAR, None),  # not due yet
    ):
        case = world.case(world.person())
        world.session.add(Deadline(case_id=case.id, kind="follow_up", due_at=due_at, met_at=met_at))
    world.session.flush()


def test_a_follow_up_counts_as_due_only_once_its_swedish_day_has_come(world):
    add_deadlines(world)
    answer, table = outcomes(world, start="2026-01-01", end="2027-12-31")
    assert due(table["total"]) == (2, 1, 50.0)
    # A later end of the period adds nothing that is not due yet: the share does not fall.
    _, to_today = outcomes(world, start="2026-01-01", end="2026-11-30")
    assert due(to_today["total"]) == (2, 1, 50.0)


def test_a_period_in_the_future_has_no_follow_ups_due_and_says_it_is_counted_up_to_today(world):
    add_deadlines(world)
    answer, table = outcomes(world, start="2027-01-01", end="2027-12-31")
    assert due(table["total"]) == (0, 0, None)
    assert answer["follow_ups_due_through"] == "2026-11-02"
    assert "2026-11-02" in table["note"]


def test_a_period_reaching_past_today_says_so_and_one_ending_by_today_does_not(world):
    add_deadlines(world)
    answer, table = outcomes(world, start="2026-01-01", end="2026-12-31")
    assert answer["follow_ups_due_through"] == "2026-11-02"
    assert "2026-11-02" in table["note"] and "i dag" in table["note"]
    # A period is whole months: the last one ending by today ended in October.
    answer, table = outcomes(world, start="2026-01-01", end="2026-10-31")
    assert answer["follow_ups_due_through"] is None and table["note"] is None


def test_every_output_counts_follow_ups_up_to_today_and_says_so(
    client, make_user, world, db_session, frozen_clock, tmp_path
):
    """The page, JSON, XLSX and PDF (made on the clock's now, 2026-11-02) agree and carry the note."""
    import io
    import subprocess

    from openpyxl import load_workbook
    from webkit import login

    for due_at, met_at, times in ((YESTERDAY, YESTERDAY, 6), (YESTERDAY, None, 5), (NEXT_YEAR, None, 3)):
        for _ in range(times):
            case = world.case(world.person())
            db_session.add(Deadline(case_id=case.id, kind="follow_up", due_at=due_at, met_at=met_at))
    db_session.commit()
    make_user(None, "coordinator", "kerstin-due")
    login(client, "kerstin-due")
    params = {"from": "2026-01-01", "to": "2027-12-31", "county": "08", "by": ""}

    answer = client.get("/statistik/indikatorer.json", query_string=params).get_json()
    table = next(t for t in answer["tables"] if t["key"] == "outcomes")
    assert due(table["total"]) == (11, 6, 54.5)
    assert answer["follow_ups_due_through"] == "2026-11-02"
    note = table["note"]
    assert "2026-11-02" in note

    page = client.get("/statistik/", query_string=params).get_data(as_text=True)
    start = page.index('id="title-outcomes"')
    outcomes = page[start : page.index("</table>", start)]
    assert note in outcomes and "<td>11</td>" in outcomes and "<td>54,5</td>" in outcomes

    workbook = load_workbook(io.BytesIO(client.get("/statistik/indikatorer.xlsx", query_string=params).data))
    sheet = next(s for s in workbook.worksheets if s.title == table["title"][:31])
    cells = [cell for line in sheet.iter_rows(values_only=True) for cell in line]
    assert note in cells and 11 in cells

    path = tmp_path / "report.pdf"
    path.write_bytes(client.get("/statistik/kvartalsrapport.pdf", query_string=params).data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert " ".join(note.split()) in " ".join(text.split())
