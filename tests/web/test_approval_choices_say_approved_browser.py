"""The approvals page in Chromium, as a screen reader's list box reads it: each party the user may record an
approval for says, in its own choice, when its approval of the newest version is recorded already. The table
below says it too, but a screen reader in the list hears the choices alone; it was "Vår organisation" and
the person's name whether they had approved or not."""

from __future__ import annotations

from sqlmodel import delete, select
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.cases.models import SipCase
from sipflow.db import get_session, unit_of_work
from sipflow.plans.models import PlanApproval, PlanVersion

# Mikael's SIP: version 1 approved at the meeting by every party.
REFERENCE = "SIP-DEMO-0002"


def test_a_party_that_approved_says_so_in_its_choice(app, live_server, browser):  # noqa: F811
    with app.app_context():
        session = get_session()
        with unit_of_work(session):  # the demo's person approved at the meeting: not yet, here
            case_id = session.exec(select(SipCase.id).where(SipCase.reference == REFERENCE)).one()
            versions = select(PlanVersion.id).where(PlanVersion.case_id == case_id)
            of_the_person = PlanApproval.party == "person"
            session.exec(delete(PlanApproval).where(of_the_person, PlanApproval.version_id.in_(versions)))
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan/approvals")
    who = page.get_by_role("combobox", name="Vem godkände")
    options = who.get_by_role("option").all_text_contents()
    assert options == ["Välj", "Vår organisation (har redan godkänt)", "Mikael Johansson"]
    context.close()
