"""Reading the statistics filters never fails in any other way than a refusal naming a field (hypothesis)."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipflow.errors import InvalidInput
from sipflow.stats.services import BREAKDOWNS, MAX_YEARS, parse_query

FIELDS = {"from", "to", "county", "municipality", "by", "compare_years", "code"}
dates = st.one_of(st.dates(date(1800, 1, 1), date(2200, 12, 31)).map(date.isoformat), st.text(max_size=12))
breakdowns = st.one_of(
    st.lists(st.sampled_from(BREAKDOWNS + ("shoe_size", "", " quarter")), max_size=4).map(",".join),
    st.text(max_size=30),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=dates,
    end=dates,
    county=st.one_of(st.sampled_from(["", "07", "08", "19", "99", "\x00\x00"]), st.text(max_size=4)),
    municipality=st.one_of(st.sampled_from(["", "0780", "0880", "9999", "08\x0080"]), st.text(max_size=5)),
    by=breakdowns,
    compare=st.one_of(st.integers(-5, 40), st.text(max_size=3)),
    code=st.one_of(st.sampled_from(["", "XU045", "au124", "ZV051", "X\x00"]), st.text(max_size=12)),
)
def test_any_filter_is_a_query_or_a_refusal_naming_its_field(
    db_session, start, end, county, municipality, by, compare, code
):
    try:
        query = parse_query(
            db_session,
            start=start,
            end=end,
            county=county,
            municipality=municipality,
            by=by,
            compare_years=compare,
            code=code,
        )
    except InvalidInput as error:
        assert error.field in FIELDS and str(error.message)
        return
    assert query.start <= query.end
    assert query.end.replace(year=query.end.year - MAX_YEARS, day=min(query.end.day, 28)) <= query.start
    assert set(query.by) <= set(BREAKDOWNS)
    assert 0 <= query.compare_years <= 20
    # Each day is in one compared period at most: the periods, oldest first, do not overlap.
    periods = query.periods()
    assert all(earlier[1] < later[0] for earlier, later in zip(periods, periods[1:], strict=False))
