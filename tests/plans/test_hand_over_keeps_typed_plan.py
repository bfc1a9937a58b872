"""A hand-over from the plan page sends what is typed in the plan with it: saved with the hand-over, or
shown again as typed when the hand-over is refused (another user's hand-over first, a stale page). The page's
hand-over was a form of its own: what the user had typed in the plan and not saved was gone, and once their
organisation gave huvudansvar up it could no longer write it at all."""

from __future__ import annotations

import pytest
from plankit import give_huvudansvar
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.plans.services import find_plan

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]

TYPED = "Behoven som Anna skrev medan hon gav huvudansvaret vidare, inte sparade än"


def _hand_over_form(client, case) -> list[tuple[str, str]]:
    """The hand-over as the plan page's button sends it."""
    plan_url = f"/cases/{case.uid}/plan"
    return forms_of(text_of(client.get(plan_url)))[f"{plan_url}/huvudansvar"]


def _roles(db_session, case) -> dict[int, str]:
    from sqlmodel import select

    from sipflow.cases.models import Participant

    db_session.expire_all()
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    return {p.organisation_id: p.role for p in rows if p.kind == "organisation"}


def test_the_text_typed_in_the_plan_is_saved_with_the_hand_over(client, db_session, parties, held):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    municipality = parties.municipality.organisation_id
    typed = fill(
        _hand_over_form(client, held),
        needs=TYPED,
        **{"handover-organisation_id": municipality, "handover-reason": "Boendet är det viktigaste nu"},
    )

    response = client.post(f"/cases/{held.uid}/plan/huvudansvar", data=typed, follow_redirects=True)

    assert response.status_code == 200
    page = text_of(response)
    assert "Planen är sparad." in page and "Huvudansvaret är givet." in page
    assert _roles(db_session, held)[municipality] == "huvudansvarig"
    assert find_plan(db_session, held).needs == TYPED


def test_a_hand_over_lost_to_someone_elses_keeps_the_plan_text_and_hands_nothing_over(
    client, db_session, parties, held
):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    municipality, school = parties.municipality.organisation_id, parties.school.organisation_id
    typed = fill(
        _hand_over_form(client, held),
        needs=TYPED,
        **{"handover-organisation_id": municipality, "handover-reason": "Boendet är det viktigaste nu"},
    )
    # Meanwhile a colleague of the region hands it over to the municipality first.
    give_huvudansvar(
        db_session, held, parties.region_user, municipality, now_utc(), reason="Kommunen samordnar"
    )
    before = find_plan(db_session, held)
    before_needs = before.needs if before else None

    response = client.post(f"/cases/{held.uid}/plan/huvudansvar", data=typed)

    page = text_of(response)
    assert response.status_code == 409
    assert "Någon annan har ändrat denna SIP medan du arbetade" in page
    # Nothing typed is lost: the plan's text and the hand-over's reason are on the form again.
    assert TYPED in page and "Boendet är det viktigaste nu" in page
    plan = find_plan(db_session, held)
    assert (plan.needs if plan else None) == before_needs
    assert school not in {o for o, r in _roles(db_session, held).items() if r == "huvudansvarig"}


def test_a_refused_hand_over_shows_the_plan_as_typed(client, db_session, parties, held):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    typed = fill(
        _hand_over_form(client, held),
        needs=TYPED,
        **{"handover-organisation_id": parties.municipality.organisation_id},
    )

    response = client.post(f"/cases/{held.uid}/plan/huvudansvar", data=typed)

    assert response.status_code == 400
    page = text_of(response)
    assert 'id="handover-reason-error"' in page
    assert TYPED in page
    plan = find_plan(db_session, held)
    assert plan is None or plan.needs != TYPED
    assert _roles(db_session, held)[parties.region.organisation_id] == "huvudansvarig"


def test_a_hand_over_with_nothing_typed_in_the_plan_saves_nothing(client, db_session, parties, held):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    plan = find_plan(db_session, held)
    before = plan.row_version if plan else None
    untouched = fill(
        _hand_over_form(client, held),
        **{"handover-organisation_id": parties.municipality.organisation_id, "handover-reason": "Boendet"},
    )

    response = client.post(f"/cases/{held.uid}/plan/huvudansvar", data=untouched, follow_redirects=True)

    page = text_of(response)
    assert "Huvudansvaret är givet." in page and "Planen är sparad." not in page
    db_session.expire_all()
    plan = find_plan(db_session, held)
    assert (plan.row_version if plan else None) == before


def test_a_hand_over_sent_after_a_logout_elsewhere_shows_the_plan_and_the_reason_typed(
    app, db_session, parties, held
):
    from webkit import FreshContextClient, csrf_token

    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    here, elsewhere = (FreshContextClient(app, app.response_class, use_cookies=True) for _ in range(2))
    for client in (here, elsewhere):
        assert login(client, parties.region_user.username).status_code == 302
    typed = fill(
        _hand_over_form(here, held),
        needs=TYPED,
        **{
            "handover-organisation_id": parties.municipality.organisation_id,
            "handover-reason": "Boendet är det viktigaste nu",
        },
    )
    elsewhere.post("/logout", data={"csrf_token": csrf_token(text_of(elsewhere.get("/")))})

    sent = here.post(f"/cases/{held.uid}/plan/huvudansvar", data=typed)

    page = text_of(sent)
    assert sent.status_code == 200 and "Formuläret skickades inte." in page
    card = page[page.index('id="h-kept-input"') :]
    # The plan's text and the hand-over's reason, each named as the plan page names it.
    assert TYPED in card
    assert "Varför (krävs vid överlämning)" in card and "Boendet är det viktigaste nu" in card
    assert _roles(db_session, held)[parties.region.organisation_id] == "huvudansvarig"
