"""A row of "<5" persons shows nothing else about them, and no lead time is one person's maximum.

The tester's cases: one woman aged 25-44 in Växjö whose row showed "0" by video; Tingsryd, where every
SIP person was in one row "Kvinna 0–17 <5" that showed "0 declined" and "0 follow-ups held by their
date", facts about every one of them; and maximum lead times, each one person's value.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from webkit import login

from sipflow.cases.models import Deadline, Participant
from sipflow.meetings.models import Attendance
from sipflow.stats.disclosure import Suppressed, suppress_table
from sipflow.stats.services import MEETING_RULES, indicators

VAXJO, TINGSRYD = "0780", "0763"
JULY = {"start": "2026-07-01", "end": "2026-07-31"}
REQUESTED = datetime(2026, 7, 1, 8, tzinfo=UTC)
HIDDEN = ("..", "<5")


def table(answer, key):
    return next(t for t in answer["tables"] if t["key"] == key)


def person_and_case(world, municipality, birth, sex):
    case = world.case(world.person(municipality, birth=birth, sex=sex), requested=REQUESTED)
    return case


@pytest.fixture
def vaxjo(world, db_session):
    """July 2026 in Växjö: 6 women aged 45-64 (3 by video), 6 men aged 25-44 (2 by video) and one woman
    aged 25-44, not by video: the woman the tester singled out."""
    for index in range(6):
        case = person_and_case(world, VAXJO, date(1976, 1, 1), "female")
        world.meeting(case, date(2026, 7, 2), municipality=VAXJO, sex="female", age=50, video=index < 3)
    for index in range(6):
        case = person_and_case(world, VAXJO, date(1996, 1, 1), "male")
        world.meeting(case, date(2026, 7, 3), municipality=VAXJO, sex="male", age=30, video=index < 2)
    case = person_and_case(world, VAXJO, date(1996, 1, 1), "female")
    world.meeting(case, date(2026, 7, 13), municipality=VAXJO, sex="female", age=30)
    db_session.commit()
    return world


@pytest.fixture
def tingsryd(world, db_session):
    """Two girls in Tingsryd, each with a SIP in July, neither declined, neither follow-up held in time."""
    for _ in range(2):
        case = person_and_case(world, TINGSRYD, date(2016, 1, 1), "female")
        world.meeting(case, date(2026, 7, 10), municipality=TINGSRYD, sex="female", age=10)
        db_session.add(
            Deadline(case_id=case.id, kind="follow_up", due_at=datetime(2026, 7, 20, 10, tzinfo=UTC))
        )
    db_session.commit()
    return world


def answer(world, by="sex,age_band", municipality=VAXJO):
    query = world.query(municipality=municipality, by=by, **JULY)
    return indicators(world.session, query, world.settings())


def row_of(rows, sex, band):
    return next(row for row in rows if (row.get("sex"), row.get("age_band")) == (sex, band))


def values(row, table_):
    """The row's values, its breakdown columns left out."""
    return {c["key"]: row[c["key"]] for c in table_["columns"] if c["key"] not in ("sex", "age_band")}


def test_a_row_of_few_persons_shows_nothing_else_about_them(vaxjo):
    meetings = table(answer(vaxjo), "meetings")
    woman = values(row_of(meetings["rows"], "Kvinna", "25–44"), meetings)
    assert woman.pop("persons") == "<5"
    # Her SIP was not by video: a "0" would say so of everyone in the row.
    assert set(woman.values()) == {".."}, woman


def test_a_withheld_cell_is_not_the_total_minus_the_other_rows(vaxjo):
    """Complementary suppression covers a withheld cell: in every count column either the total is hidden
    or at least two of the rows are (a lone one would be the total minus the others). Across coarser
    tables (by sex beside by age band) a withheld cell can be pinned as a "<5" one can: Left open."""
    finer = table(answer(vaxjo), "meetings")
    for column in ("sips", "first", "follow_up", "video"):
        hidden = [row for row in finer["rows"] if row[column] in HIDDEN]
        # A 0 in the total is a fact about all 13 persons, the small row's included: no small group's.
        assert finer["total"][column] in (*HIDDEN, 0) or len(hidden) != 1, column


def test_the_lead_times_of_few_persons_are_hidden_and_no_maximum_is_shown(vaxjo):
    lead = table(answer(vaxjo), "lead_times")
    assert not [column for column in lead["columns"] if column["key"].endswith("_max")]
    woman = values(row_of(lead["rows"], "Kvinna", "25–44"), lead)
    assert set(woman.values()) == {".."}, woman
    # Thirteen persons: their median is shown.
    assert table(answer(vaxjo, by=""), "lead_times")["total"]["request_to_first_median"] == 2


def test_a_municipality_whose_every_sip_person_is_in_one_small_row_shows_no_fact_about_them(tingsryd):
    result = answer(tingsryd, municipality=TINGSRYD)
    meetings = table(result, "meetings")
    girls = values(row_of(meetings["rows"], "Kvinna", "0–17"), meetings)
    assert girls.pop("persons") == "<5" and set(girls.values()) == {".."}, girls
    total = values(meetings["total"], meetings)
    assert total.pop("persons") == "<5" and set(total.values()) == {".."}, total
    outcomes = table(result, "outcomes")
    for row in (row_of(outcomes["rows"], "Kvinna", "0–17"), outcomes["total"]):
        assert row["offered"] == "<5" and row["follow_ups_due"] == "<5"
        # "0 declined", "0 held by their date": of every one of them.
        for column in (
            "accepted",
            "declined",
            "accepted_share",
            "follow_ups_on_time",
            "follow_ups_on_time_share",
        ):
            assert row[column] == "..", (column, row)
    attendance = table(result, "attendance")
    for row in [*attendance["rows"], attendance["total"]]:
        figures = values(row, attendance)
        assert figures.pop("organisation_kind") in (
            "Region",
            "Kommun",
            "Skola",
            "Fristående skola",
            "Annan myndighet",
            "Totalt",
        ), row
        assert set(figures.values()) <= {".."}, row


def test_a_zero_of_a_small_group_is_protected_as_any_hidden_cell():
    """Row A (2 persons, none by video) is withheld; 11 by video in all minus B's 5 and C's 6 would give its
    0 back: one more video cell is hidden, and the total's SIPs minus B's and C's would give its 3."""
    rows = [
        {"persons": 2, "sips": 3, "first": 3, "follow_up": 0, "video": 0},
        {"persons": 10, "sips": 20, "first": 10, "follow_up": 10, "video": 5},
        {"persons": 8, "sips": 12, "first": 8, "follow_up": 4, "video": 6},
    ]
    total = {"persons": 20, "sips": 35, "first": 21, "follow_up": 14, "video": 11}
    suppress_table(
        rows,
        total,
        threshold=5,
        counts=("persons", "sips", "first", "follow_up", "video"),
        shares={},
        sums=MEETING_RULES["sums"],
        populations={"persons": ("sips", "first", "follow_up", "video")},
    )
    assert rows[0]["persons"] == Suppressed(5)
    assert all(
        rows[0][column] == Suppressed(5, withheld=True) for column in ("sips", "first", "follow_up", "video")
    )
    for column in ("persons", "sips", "first", "follow_up", "video"):
        hidden = [row for row in rows if isinstance(row[column], Suppressed)]
        assert isinstance(total[column], Suppressed) or len(hidden) >= 2, column
    assert str(rows[0]["video"]) == ".."


def test_the_csv_shows_the_small_row_as_persons_under_five_and_nothing_else(client, make_user, vaxjo):
    make_user(None, "coordinator", "kerstin-small")
    login(client, "kerstin-small")
    params = {"municipality": VAXJO, "by": "sex,age_band", "from": "2026-07-01", "to": "2026-07-31"}
    response = client.get("/statistik/indikatorer.csv", query_string=params)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    woman = next(row for row in rows if row[:2] == ["Kvinna", "25–44"])
    assert woman[2] == "<5" and set(woman[3:]) == {".."}, woman
    lead = table(client.get("/statistik/indikatorer.json", query_string=params).get_json(), "lead_times")
    assert not [column for column in lead["columns"] if "max" in column["key"]]


def test_the_discharge_sips_of_few_persons_are_withheld_not_shown_as_under_five(vaxjo):
    """The tester's case: the lead-time row of a "<5" persons row showed "<5" discharge SIPs with a
    kallelse where the others showed "..": "<5" (1 to 4) beside ".." (0 too) told that one of those few
    persons had been discharged from hospital. Every value of such a row is "..", whatever it counts."""
    klar = datetime(2026, 7, 1, 8, tzinfo=UTC)
    case = person_and_case(vaxjo, VAXJO, date(1996, 1, 1), "male")
    case.utskrivningsklar_at = klar
    vaxjo.session.add(Deadline(case_id=case.id, kind="kallelse", due_at=klar, met_at=klar))
    vaxjo.meeting(case, date(2026, 7, 20), municipality=VAXJO, sex="male", age=80)
    vaxjo.session.commit()
    lead = table(answer(vaxjo, by="age_band"), "lead_times")
    oldest = values(next(row for row in lead["rows"] if row["age_band"] == "80+"), lead)
    assert set(oldest.values()) == {".."}, oldest


def _attended_by(world, meeting, unit, mode="on_site"):
    participant = Participant(
        case_id=meeting.case_id, kind="organisation", organisation_id=unit.organisation_id, added_at=world.now
    )
    world.session.add(participant)
    world.session.flush()
    world.session.add(Attendance(meeting_id=meeting.id, participant_id=participant.id, mode=mode))


def test_a_year_of_few_persons_shows_no_organisation_type_as_absent_from_their_sips(world, db_session):
    """The tester's case: compared with 2024 K1 (one "<5" person), the attendance table showed that year's
    Kommun, Annan and Region rows as ".." and its Skola row as "0 0 0": no school at the SIPs of those few
    persons, a fact about every one of them. Such a period lists every organisation type, each "..": which
    rows it has would say which types took part."""
    january = date(2025, 1, 15)
    meeting = world.meeting(world.case(world.person(VAXJO)), january, municipality=VAXJO)
    _attended_by(world, meeting, world.region)
    for _ in range(5):
        meeting = world.meeting(world.case(world.person(VAXJO)), date(2026, 1, 15), municipality=VAXJO)
        _attended_by(world, meeting, world.region)
        _attended_by(world, meeting, world.municipality, "video")
    db_session.commit()
    query = world.query(start="2026-01-01", end="2026-01-31", municipality=VAXJO, by="", compare_years=1)
    attendance = table(indicators(world.session, query, world.settings()), "attendance")
    earlier = [row for row in attendance["rows"] if row["period"].startswith("2025")]
    alone = table(
        indicators(
            world.session,
            replace(query, compare_years=0, start=january.replace(day=1), end=date(2025, 1, 31)),
            world.settings(),
        ),
        "attendance",
    )
    for rows in (earlier, [*alone["rows"], alone["total"]]):
        assert {row["organisation_kind"] for row in rows} >= {
            "Region",
            "Kommun",
            "Skola",
            "Fristående skola",
            "Annan myndighet",
        }, rows
        for row in rows:
            figures = {key: value for key, value in row.items() if key not in ("period", "organisation_kind")}
            assert set(figures.values()) == {".."}, row
