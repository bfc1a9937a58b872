"""A period is whole calendar months: two periods a day apart cannot give that day's SIPs back.

The tester's case: to=2026-07-12, then to=2026-07-13, and the difference was one woman aged 25-44 with a
first SIP on 13 July. A day that begins or ends no month is refused at its field, on every output.
"""

from __future__ import annotations

from datetime import date

import pytest
from webkit import login

from sipflow.errors import InvalidInput
from sipflow.stats.services import month_of, parse_query

VAXJO = "0780"
SEX_AND_AGE = {"municipality": VAXJO, "by": "sex,age_band", "from": "2026-01-01"}


@pytest.fixture
def coordinator(client, make_user):
    make_user(None, "coordinator", "kerstin-months")
    login(client, "kerstin-months")
    return client


@pytest.mark.parametrize(
    ("start", "end", "field", "hint"),
    [
        ("2026-01-01", "2026-07-12", "to", "2026-07-31"),
        ("2026-01-01", "2026-07-13", "to", "2026-07-31"),
        ("2026-01-02", "2026-07-31", "from", "2026-01-01"),
        ("2026-07-13", "2026-07-13", "from", "2026-07-01"),
        ("2026-01-01", "2026-02-28", None, None),
        ("2028-02-01", "2028-02-28", "to", "2028-02-29"),  # a leap year's February ends on the 29th
        ("2028-02-01", "2028-02-29", None, None),
    ],
)
def test_the_service_takes_only_whole_months(db_session, start, end, field, hint):
    if field is None:
        query = parse_query(db_session, start=start, end=end)
        assert (query.start.day, month_of(query.end)[1]) == (1, query.end)
        return
    with pytest.raises(InvalidInput) as refused:
        parse_query(db_session, start=start, end=end)
    assert refused.value.field == field
    # The refusal says what to enter instead: the month's first or last day.
    assert hint in str(refused.value.message)


def test_the_same_period_a_year_earlier_is_whole_months_too(db_session):
    """Compared, February 2029 is set beside the whole of February 2028 (29 days), not 28 of them."""
    query = parse_query(db_session, start="2029-02-01", end="2029-02-28", compare_years=1)
    assert query.periods() == [(date(2028, 2, 1), date(2028, 2, 29)), (date(2029, 2, 1), date(2029, 2, 28))]


@pytest.mark.parametrize(
    "address", ["indikatorer.csv", "indikatorer.json", "indikatorer.xlsx", "kvartalsrapport.pdf"]
)
def test_every_export_refuses_a_period_ending_mid_month(coordinator, address):
    response = coordinator.get(f"/statistik/{address}", query_string=SEX_AND_AGE | {"to": "2026-07-12"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "to"
    assert "sista dagen i en månad" in response.get_json()["reason"]


def test_the_page_refuses_at_the_field_in_swedish_and_keeps_what_was_typed(coordinator):
    response = coordinator.get("/statistik/", query_string=SEX_AND_AGE | {"to": "2026-07-13"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="to-error"' in page and 'id="from-error"' not in page
    assert (
        "Statistiken räknas i hela månader: ange den sista dagen i en månad, till exempel 2026-07-31." in page
    )
    assert 'value="2026-07-13"' in page


def test_the_page_starts_at_whole_months(coordinator):
    """Unfiltered, the page shows this year up to the end of this month, a period it accepts."""
    response = coordinator.get("/statistik/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "field-errors" not in page


@pytest.mark.parametrize(
    ("period", "name"),
    [
        ({"from": "2026-07-01", "to": "2026-09-30"}, "sip-statistik-0780-2026-07_2026-09.pdf"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "sip-statistik-0780-2026-01_2026-12.pdf"),
        ({"from": "2026-07-01", "to": "2026-07-31"}, "sip-statistik-0780-2026-07_2026-07.pdf"),
    ],
)
def test_a_quarter_a_year_and_a_month_are_still_periods(coordinator, period, name):
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=SEX_AND_AGE | period)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
