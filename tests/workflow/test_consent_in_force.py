"""A consent in force is one rule spelt twice: `Consent.in_force` (SQL, for reads) and `is_in_force` (Python,
for the consent a step just recorded). The guards trust either, so the two must agree on every row."""

from datetime import UTC, date, datetime, timedelta
from itertools import product

from sipflow.consent.models import Consent
from sipflow.consent.services import consents_in_force

TODAY = date(2026, 3, 2)


def test_in_force_reads_the_same_in_sql_and_in_python(db_session, create_case, parties):
    case = create_case("sip")
    recorded = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    rows = [
        Consent(
            case_id=case.id,
            decision=decision,
            given_by="person",
            form="written",
            valid_until=valid_until,
            withdrawn_at=withdrawn_at,
            recorded_at=recorded,
            recorded_by_user_id=parties.region_user.id,
        )
        for decision, valid_until, withdrawn_at in product(
            ("given", "declined"),
            (None, TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)),
            (None, recorded + timedelta(hours=1)),
        )
    ]
    db_session.add_all(rows)
    db_session.commit()
    read = {c.id for c in consents_in_force(db_session, case.id, TODAY)}
    assert read == {c.id for c in rows if c.is_in_force(TODAY)}
    # Given, not withdrawn, valid without end, until today or later: three of the sixteen.
    assert len(read) == 3
