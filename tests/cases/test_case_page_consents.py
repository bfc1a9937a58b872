"""The case page's consents: each once, in the order recorded, with the names of the organisations covered."""

from __future__ import annotations

from datetime import timedelta

from sipflow.cases import queries
from sipflow.consent.models import Consent, ConsentOrganisation


def _consent(db_session, case, user, at, *, decision="given", organisation_ids=()) -> Consent:
    consent = Consent(
        case_id=case.id,
        decision=decision,
        given_by="person",
        form="written",
        recorded_at=at,
        recorded_by_user_id=user.id,
    )
    db_session.add(consent)
    db_session.flush()
    db_session.add_all(
        ConsentOrganisation(consent_id=consent.id, organisation_id=o) for o in organisation_ids
    )
    return consent


def test_each_consent_shows_once_with_its_organisations_by_name(
    db_session, registry, parties, create_case, now
):
    case = create_case()
    user = parties.region_user
    # Recorded out of id order: the page lists them by when they were recorded.
    later = _consent(
        db_session,
        case,
        user,
        now + timedelta(hours=2),
        organisation_ids=[parties.region.organisation_id, parties.municipality.organisation_id],
    )
    declined = _consent(db_session, case, user, now + timedelta(hours=1), decision="declined")
    first = _consent(db_session, case, user, now, organisation_ids=[parties.school.organisation_id])
    db_session.commit()

    detail = queries.case_detail(db_session, registry, case, locale="sv", now=now + timedelta(hours=3))

    assert [(v.consent.id, v.organisations) for v in detail.consents] == [
        (first.id, ["Katedralskolan"]),
        (declined.id, []),
        (later.id, ["Region Kronoberg", "Växjö kommun"]),
    ]
    assert [v.recorded_by for v in detail.consents] == [user.display_name] * 3
    assert [v.in_force for v in detail.consents] == [True, False, True]
