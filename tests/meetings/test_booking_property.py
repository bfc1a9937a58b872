"""Reading a booking never fails in any other way than a refusal naming a field (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sipflow.clock import is_working_day, now_utc, to_local
from sipflow.errors import InvalidInput
from sipflow.meetings.booking import MAX_MINUTES, MIN_MINUTES, Booking, read_booking

FIELDS = {
    "meeting_starts_at",
    "meeting_ends_at",
    "meeting_minutes",
    "mode",
    "location",
    "room",
    "invitee_ids",
    "meeting_day",
    "confirmed_day",
}
_moments = st.one_of(
    st.none(),
    st.integers(-10_000, 100_000).map(lambda m: ("minutes", m)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),  # naive: refused
    st.text(max_size=20),
)
_values = {
    "meeting_starts_at": _moments,
    "meeting_ends_at": _moments,
    "meeting_minutes": st.one_of(st.none(), st.integers(-100, 1000), st.booleans(), st.text(max_size=5)),
    "mode": st.sampled_from(["on_site", "video", "mixed", "", "telepathy", None]),
    "location": st.one_of(st.none(), st.text(max_size=250), st.integers()),
    "room": st.one_of(st.none(), st.text(max_size=150)),
    "invitee_ids": st.one_of(
        st.none(), st.lists(st.sampled_from(["mine", "stranger", True, "x"]), max_size=4), st.text(max_size=3)
    ),
    "confirmed_day": st.one_of(st.none(), st.dates(), st.datetimes(), st.text(max_size=10)),
}


def _resolve(value, now, mine):
    if isinstance(value, tuple) and value[0] == "minutes":
        return now + timedelta(minutes=value[1])
    if isinstance(value, list):
        return [mine if v == "mine" else 999_999 if v == "stranger" else v for v in value]
    return value


# A valid booking to start from; the test then spoils none, one or two of its fields.
_valid = st.fixed_dictionaries(
    {
        "meeting_starts_at": st.integers(30, 60 * 24 * 400).map(lambda m: ("minutes", m)),
        "meeting_minutes": st.integers(MIN_MINUTES, MAX_MINUTES),
        "mode": st.sampled_from(["on_site", "video", "mixed"]),
        "location": st.text(min_size=1, max_size=60).filter(str.strip),
        "room": st.one_of(st.none(), st.text(max_size=20)),
        "invitee_ids": st.just(["mine"]),
    }
)
_spoilers = st.lists(st.sampled_from(sorted(_values)), max_size=2, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({key: _values[key] for key in keys})
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=_valid, spoiled=_spoilers)
def test_a_booking_is_read_whole_or_refused_with_a_field(db_session, ready, base, spoiled):
    now = now_utc()
    data = base | spoiled
    resolved = {key: _resolve(value, now, ready.person.id) for key, value in data.items()}
    try:
        booking = read_booking(db_session, ready.case, resolved, now=now)
    except InvalidInput as refusal:
        event(f"refused: {refusal.field}")
        assert refusal.field in FIELDS
        return
    event("read whole")
    assert isinstance(booking, Booking)
    assert booking.starts_at > now and booking.starts_at.tzinfo is not None
    assert (
        timedelta(minutes=MIN_MINUTES)
        <= booking.ends_at - booking.starts_at
        <= timedelta(minutes=MAX_MINUTES)
    )
    assert booking.invitee_ids and set(booking.invitee_ids) <= {ready.person.id}
    assert (booking.location is None) == (booking.mode == "video")
    assert booking.starts_at.astimezone(UTC) == resolved["meeting_starts_at"].astimezone(UTC)
    # A weekend day or a holiday only when the user confirmed that very day.
    day = to_local(booking.starts_at).date()
    assert is_working_day(day) or resolved.get("confirmed_day") == day
    if not spoiled:
        assert booking.mode == base["mode"]
