"""Two organisations of one name on one SIP (Kronoberg's own registration of Försäkringskassan, deactivated
when the national one took the name, beside the national one's Kalmar office): a meeting's decision names its
owner, and the outcome page offers each as an owner by where it is, not "Försäkringskassan" twice
(people.labels.organisation_labels, as the consent pages)."""

from __future__ import annotations

import pytest
import support
from webkit import login, text_of

from sipflow.areas import load_areas
from sipflow.cases.services import add_unit_participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import UserError

load_areas()

KRONOBERG_FK = "Försäkringskassan (Kronobergs län)"
NATIONAL_FK = "Försäkringskassan (hela landet)"


def test_decision_owners_tell_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    kalmar = support.national_namesake_of_the_outsider(db_session, parties, make_unit)
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    now = now_utc()
    for trigger in ("give_consent", "start_preparation", "send_kallelse"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    support.deactivate_with_organisation(db_session, parties.outsider)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/meetings/outcome"))
    owners = support.option_labels(page, "decisions-0-owner")
    assert KRONOBERG_FK in owners and NATIONAL_FK in owners
    assert "Försäkringskassan" not in owners
    # A decision the national one owns is named so in the case page's history.
    support.fire(
        db_session, registry, parties.region_user, case, "hold_meeting", now=now,
        decisions=[{"text": "Utred aktivitetsersättning", "owner": f"organisation:{kalmar.organisation_id}",
                    "due_on": now.date()}],
    )  # fmt: skip
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "Utred aktivitetsersättning" in page and NATIONAL_FK in page


def test_the_booking_names_the_one_the_consent_does_not_cover(
    client, db_session, registry, parties, make_unit, create_case
):
    """Kronoberg's Försäkringskassan is covered; the national one's Kalmar office joined after the consent:
    the booking page leaves it out and says which Försäkringskassan, and so does a kallelse inviting it."""
    kalmar = support.national_namesake_of_the_outsider(db_session, parties, make_unit)
    case = create_case(units=[parties.municipality.id, parties.outsider.id])
    now = now_utc()
    for trigger in ("give_consent", "start_preparation"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    with unit_of_work(db_session):
        office = add_unit_participant(db_session, registry, case, kalmar.id, now=now)
    support.deactivate_with_organisation(db_session, parties.outsider)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/meetings/new"))
    assert f"Samtycket omfattar inte {NATIONAL_FK}" in page
    with pytest.raises(UserError) as refused:
        support.fire(
            db_session, registry, parties.region_user, case, "send_kallelse", now=now,
            send_invitations=True, invitee_ids=[office.id],
        )  # fmt: skip
    assert f"Samtycket omfattar inte {NATIONAL_FK}" in str(refused.value)
