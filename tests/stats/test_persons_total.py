"""The persons' total counts each person once in the whole period, so the report says why it is less than
the sum of the rows (a person with SIPs in two quarters is in two rows)."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from statskit import coordinator_client

NYBRO = "0881"
HALF_YEAR = {"from": "2026-01-01", "to": "2026-06-30", "county": "08", "by": "quarter"}
NOTES = {
    "sv": "Totalen räknar varje person en gång under hela perioden, en rad en gång i den raden: en person "
    "med SIP i två kvartal, eller i två kommuner efter en flytt, finns i två rader, så totalen av personer "
    "kan vara mindre än summan av raderna.",
    "en": "The total counts each person once in the whole period, a row once in that row: a person with "
    "SIPs in two quarters, or in two municipalities after a move, is in two rows, so the total of persons "
    "can be less than the sum of the rows.",
}


@pytest.fixture
def two_quarters(world, db_session, client, make_user):
    """Six persons in Nybro with a first SIP in the first quarter and a follow-up in the second."""
    for _ in range(6):
        case = world.case(world.person(NYBRO))
        world.meeting(case, date(2026, 2, 10), municipality=NYBRO)
        world.meeting(case, date(2026, 5, 10), kind="follow_up", municipality=NYBRO)
    db_session.commit()
    return coordinator_client(client, make_user, db_session, "kerstin-persons", counties=["08"])


def _pdf_text(response, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    return " ".join(text.split())


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_output_says_why_the_persons_total_is_less_than_its_rows(two_quarters, lang, tmp_path):
    """The tester's case: by quarter, 6 persons in each quarter and "Total 6" under "Number of persons who
    received a SIP per quarter", which reads as a sum gone wrong; it counts each person once."""
    params = HALF_YEAR | {"lang": lang}
    answer = two_quarters.get("/statistik/indikatorer.json", query_string=params).get_json()
    meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
    assert [row["persons"] for row in meetings["rows"]] == [6, 6] and meetings["total"]["persons"] == 6
    note = NOTES[lang]
    assert note in meetings["note"]
    page = two_quarters.get("/statistik/", query_string=params).get_data(as_text=True)
    assert note in " ".join(page.split())
    assert note in _pdf_text(
        two_quarters.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path
    )
    workbook = load_workbook(
        io.BytesIO(two_quarters.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    sheet = workbook[workbook.sheetnames[0]]
    assert any(note in str(line[0]) for line in sheet.iter_rows(values_only=True))


def test_a_table_without_a_breakdown_has_nothing_to_explain(two_quarters):
    answer = two_quarters.get("/statistik/indikatorer.json", query_string=HALF_YEAR | {"by": ""}).get_json()
    meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
    assert not meetings["note"]
