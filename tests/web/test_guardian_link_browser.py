"""A guardian of a 17-year-old opens the personal link to the child's plan on a phone, approves it on the
child's behalf, and, once the child has turned 18, finds that the link no longer opens the plan."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlmodel import select
from support import new_case, new_person
from test_accessibility import site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.cases.models import Participant
from sipflow.cases.services import add_private_participant
from sipflow.clock import frozen, now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.people.models import Organisation, Unit, User
from sipflow.plans.content import plan_content
from sipflow.plans.models import PersonalLink, PlanApproval, PlanVersion
from sipflow.plans.personal_links import make_token
from sipflow.plans.services import working_plan
from sipflow.web import workflow_registry

PHONE = {"width": 390, "height": 844}


def _unit_of_kind(session, kind: str) -> Unit:
    return session.exec(
        select(Unit)
        .join(Organisation, Organisation.id == Unit.organisation_id)
        .where(Organisation.kind == kind)
    ).first()


def _guardians_link(app, now, birth: date) -> tuple[str, int]:
    """A child's SIP started by anna with a municipality and a school, a guardian with an address, the plan
    established as version 1 and a link sent to the guardian: (its token, the version's id)."""
    with app.test_request_context():
        session, registry = get_session(), workflow_registry()
        staff = session.exec(select(User).where(User.username == "anna")).one()
        with unit_of_work(session):
            key = app.config["PNR_HASH_KEY"]
            person = new_person(session, key, now=now, birth=birth, given_name="Elsa", family_name="Lind")
            units = [_unit_of_kind(session, "municipality").id, _unit_of_kind(session, "school").id]
            case = new_case(
                session, registry, staff, workflow="sip_child", person=person, unit_ids=units, now=now
            )
            guardian = add_private_participant(
                session,
                registry,
                case,
                kind="guardian",
                name="Maria Lind",
                relation="mamma",
                email="maria.lind@example.se",
                phone=None,
                now=now,
            )
            pdf = b"%PDF-test"
            version = PlanVersion(
                case_id=case.id,
                number=1,
                trigger="establish_plan",
                established_at=now,
                content=plan_content(session, case, working_plan(session, case)),
                pdf=pdf,
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            )
            link = PersonalLink(
                person_id=case.person_id,
                case_id=case.id,
                participant_id=guardian.id,
                sent_to=guardian.email,
                created_at=now,
                created_by_user_id=staff.id,
                expires_at=now + timedelta(days=100),  # still working on the day checked
            )
            session.add_all([version, link])
        return make_token(app.config["SECRET_KEY"], link), version.id


def test_a_guardian_approves_on_a_phone_and_the_link_ends_when_the_child_turns_18(
    app,
    site,  # noqa: F811
    browser,
):
    now = now_utc()
    today = to_local(now).date()
    birth = date(today.year - 18, today.month, 1) + timedelta(days=40)  # turns 18 in 9 to 40 days
    token, version_id = _guardians_link(app, now, birth)
    context = browser.new_context(
        locale="sv-SE", timezone_id="Europe/Stockholm", viewport=PHONE, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{site}/my-plan/{token}")
    assert "Som vårdnadshavare kan du godkänna version 1 av planen för barnets räkning." in page.content()
    with page.expect_navigation():
        page.get_by_role("button", name="Jag godkänner planen").click()
    assert page.get_by_text("Tack! Ditt godkännande av version 1 av planen är registrerat.").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    with app.app_context():
        session = get_session()
        approval = session.exec(select(PlanApproval).where(PlanApproval.version_id == version_id)).one()
        guardian = session.get(Participant, approval.participant_id)
        assert (guardian.kind, approval.method) == ("guardian", "digital")
    # The day after the 18th birthday: custody has ended, and the guardian's link with it.
    with frozen(now + timedelta(days=80)):
        response = page.goto(f"{site}/my-plan/{token}")
        assert response is not None and response.status == 410
        assert page.get_by_text("en vårdnadshavares länk upphör när barnet fyller 18 år").is_visible()
        assert "Elsa" not in page.content() and "Lind" not in page.content()
    context.close()
