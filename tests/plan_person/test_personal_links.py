"""The personal link: sent through the outbox, opens the person's plans read-only, and ends cleanly."""

from __future__ import annotations

import email
import email.policy
import re
import string
from datetime import datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from personkit import PERSON_EMAIL, RELATIVE_EMAIL, add_effort, add_guardian, build_world, freeze, log_out
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import add_private_participant, set_participant_contact
from sipflow.clock import STOCKHOLM, to_local
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Organisation
from sipflow.plans.models import PersonalLink, PlanApproval
from sipflow.plans.personal_links import LinkRefused, make_token, read_token
from sipflow.security.audit import (
    PLAN_LINK_VIEW,
    PLAN_LINK_VIEW_NARSTAENDE,
    PLAN_LINKS,
    PLAN_LINKS_VIEW,
    AccessLogEntry,
)
from sipflow.security.extract import extract_rows

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def send_link(client, world, participant, *, user=None):
    """Staff send a link from the case's links page; returns the queued outbox row."""
    login(client, (user or world.region.user).username)
    page = client.get(f"/cases/{world.case.uid}/plan/links")
    assert page.status_code == 200
    response = client.post(
        f"/cases/{world.case.uid}/plan/links",
        data=link_form(text_of(page), world.case, participant),
    )
    assert response.status_code == 303, text_of(response)


def link_form(html: str, case, participant) -> dict:
    """The page's send form, filled in for participant (its hidden fields as the page gave them)."""
    return fill(
        forms_of(html)[f"/cases/{case.uid}/plan/links"], **{"link-participant_id": str(participant.id)}
    )


def queued(db_session) -> OutboxMessage:
    rows = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "plan_link")).all()
    assert len(rows) == 1
    return rows[0]


def link_path(row: OutboxMessage) -> str:
    body = email.message_from_string(row.message, policy=email.policy.default).get_body(("plain",))
    return re.search(r"https?://\S+(/my-plan/\S+)", body.get_content()).group(1)


@pytest.fixture
def sent(client, db_session, planned):
    """A link sent to the person; returns (world, path)."""
    send_link(client, planned, planned.person_row)
    log_out(client)
    return planned, link_path(queued(db_session))


def change_contact(db_session, registry, case, participant_id: int, *, email, phone, now) -> None:
    """Staff save a participant's address or phone on the case page's contact form (the service it calls)."""
    with unit_of_work(db_session):
        case = db_session.get(SipCase, case.id)
        set_participant_contact(db_session, registry, case, participant_id, email=email, phone=phone, now=now)


def test_the_mail_is_queued_to_the_person_with_no_personal_data_in_subject_or_address(db_session, sent):
    world, path = sent
    row = queued(db_session)
    assert row.recipient == PERSON_EMAIL and row.case_id == world.case.id
    assert row.subject == "Din SIP-plan"
    for private in (world.person.id_number, world.person.given_name, world.person.family_name):
        assert private not in row.subject and private not in path
    link = db_session.exec(select(PersonalLink)).one()
    assert link.participant_id == world.person_row.id and link.revoked_at is None
    # It works to the end of the Swedish day thirty days on, the day the mail names ("till och med").
    last_day = to_local(link.created_at).date() + timedelta(days=30)
    midnight = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=STOCKHOLM)
    assert to_local(link.expires_at) == midnight
    text = email.message_from_string(row.message, policy=email.policy.default).get_body(("plain",))
    assert f"till och med {last_day.day} " in text.get_content()


def test_the_links_page_names_the_last_day_the_link_works_as_its_mail_does(client, db_session, sent):
    world, _path = sent
    link = db_session.exec(select(PersonalLink)).one()
    last_day = to_local(link.created_at).date() + timedelta(days=30)
    login(client, world.region.user.username)
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    assert "Fungerar till och med" in page and last_day.isoformat() in page
    # Not the midnight after it, which reads as one day more than the mail promised.
    assert (last_day + timedelta(days=1)).isoformat() not in page


def test_the_valid_link_shows_the_plan_with_owners_and_huvudansvar_and_never_the_full_personnummer(
    client, db_session, sent
):
    world, path = sent
    response = client.get(path)
    page = text_of(response)
    assert response.status_code == 200
    for header, value in PRIVATE.items():
        assert response.headers[header] == value
    assert "Samtalsstöd varannan vecka" in page and "Boendestöd två dagar i veckan" in page
    assert "Det är viktigt för mig att ha ett arbete" in page
    assert world.person.id_number not in page
    assert world.person.id_number[:8] + "-" + world.person.id_number[8:] not in page
    assert world.person.masked_identifier() in page
    rows = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW)).all()
    assert [(r.user_id, r.case_id, r.person_id) for r in rows] == [(None, world.case.id, world.person.id)]


def test_requirement_45_five_organisations_and_one_coordinator_on_one_page(
    client, db_session, app, registry, now
):
    kinds = ("region", "municipality", "school", "other", "other")
    world = build_world(db_session, app, registry, now=now, kinds=kinds)
    for number, org in enumerate(world.orgs):
        add_effort(db_session, world, org, f"Insats nummer {number}", responsible=f"Ansvarig {number}")
    db_session.commit()
    freeze(db_session, world, now=now)
    send_link(client, world, world.person_row)
    page = text_of(client.get(link_path(queued(db_session))))
    for number, org in enumerate(world.orgs):
        assert f"Insats nummer {number}" in page and f"Ansvarig {number}" in page
        assert org.unit.name in page
    coordinator = db_session.get(Organisation, world.region.unit.organisation_id).name
    # One plan, one organisation with huvudansvar, named where the page says who coordinates.
    assert page.count("Organisationen med huvudansvar") == 1
    assert f"<dd><strong>{coordinator}</strong>" in page


def _two_sips_of_one_person(db_session, app, registry, now):
    """Two SIPs of one person, each with an established plan: the region's effort, the municipality's."""
    first = build_world(db_session, app, registry, now=now)
    add_effort(db_session, first, first.region, "Första planens insats")
    freeze(db_session, first, now=now)
    second = build_world(db_session, app, registry, now=now, person=first.person)
    add_effort(db_session, second, second.municipality, "Andra planens insats")
    freeze(db_session, second, now=now)
    return first, second


def test_all_the_persons_active_plans_are_on_the_page_and_nobody_elses(
    client, db_session, app, registry, now
):
    first, second = _two_sips_of_one_person(db_session, app, registry, now)
    stranger = build_world(db_session, app, registry, now=now)
    add_effort(db_session, stranger, stranger.region, "Någon annans insats")
    freeze(db_session, stranger, now=now)
    send_link(client, first, first.person_row)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Första planens insats" in page and "Andra planens insats" in page
    assert "Någon annans insats" not in page and stranger.case.reference not in page


def test_an_expired_link_shows_a_clear_page(client, db_session, sent, frozen_clock):
    _world, path = sent
    link = db_session.exec(select(PersonalLink)).one()
    frozen_clock.set(link.expires_at - timedelta(seconds=1))  # the last second of the last day it works
    assert client.get(path).status_code == 200
    frozen_clock.set(link.expires_at)
    response = client.get(path)
    assert response.status_code == 410
    assert "har gått ut" in text_of(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_revoked_link_shows_a_clear_page(client, db_session, sent):
    world, path = sent
    login(client, world.municipality.user.username)
    page = client.get(f"/cases/{world.case.uid}/plan/links")
    link = db_session.exec(select(PersonalLink)).one()
    response = client.post(
        f"/cases/{world.case.uid}/plan/links/{link.id}/revoke", data={"csrf_token": csrf_token(text_of(page))}
    )
    assert response.status_code == 303
    log_out(client)
    refused = client.get(path)
    assert refused.status_code == 410 and "fungerar inte längre" in text_of(refused)
    assert "Samtalsstöd" not in text_of(refused)


def test_the_extract_tells_a_read_of_the_links_page_from_sending_and_revoking(client, db_session, planned):
    """Only opening the links page is a read: the person's loggutdrag must not say a link was sent then."""

    def actions() -> list[str]:
        return [e.action for e in db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()]

    before = len(actions())
    links = f"/cases/{planned.case.uid}/plan/links"
    login(client, planned.region.user.username)
    page = client.get(links)
    assert page.status_code == 200
    assert actions()[before:] == [PLAN_LINKS_VIEW]
    client.post(links, data=link_form(text_of(page), planned.case, planned.relative))
    link = db_session.exec(select(PersonalLink)).one()
    page = client.get(links)
    client.post(f"{links}/{link.id}/revoke", data={"csrf_token": csrf_token(text_of(page))})
    assert actions()[before:] == [PLAN_LINKS_VIEW, PLAN_LINKS, PLAN_LINKS_VIEW, PLAN_LINKS]
    worded = [row.action for row in extract_rows(db_session, planned.person.id)][-4:]
    assert worded == [
        "Läste de personliga länkarna",
        "Skickade eller återkallade en personlig länk",
        "Läste de personliga länkarna",
        "Skickade eller återkallade en personlig länk",
    ]


def test_a_tampered_link_is_a_404_not_a_500(client, sent):
    _world, path = sent
    for bad in (path[:-1], path + "x", path.replace("/my-plan/", "/my-plan/x"), "/my-plan/" + "A" * 300):
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert "Samtalsstöd" not in text_of(response)


ALPHABET = string.ascii_letters + string.digits + "-_."


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mutation_of_a_valid_token_is_refused(db_session, app, planned, now, data):
    link = db_session.exec(select(PersonalLink)).first()
    if link is None:
        link = PersonalLink(
            person_id=planned.person.id,
            case_id=planned.case.id,
            participant_id=planned.person_row.id,
            created_at=now,
            expires_at=now + timedelta(days=30),
        )
        db_session.add(link)
        db_session.commit()
    secret = app.config["SECRET_KEY"]
    token = make_token(secret, link)
    assert read_token(db_session, secret, token, now=now).id == link.id
    position = data.draw(st.integers(0, len(token) - 1))
    mutation = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
    if mutation == "replace":
        char = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != token[position]))
        bad = token[:position] + char + token[position + 1 :]
    elif mutation == "delete":
        bad = token[:position] + token[position + 1 :]
    elif mutation == "insert":
        bad = token[:position] + data.draw(st.sampled_from(ALPHABET)) + token[position:]
    else:
        bad = token[:position]
    with pytest.raises(LinkRefused):
        read_token(db_session, secret, bad, now=now)


def test_the_person_approves_the_current_version_through_the_link(client, db_session, sent):
    world, path = sent
    page = client.get(path)
    version = world.extra["v1"]
    response = client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(text_of(page)), "approve-version_id": str(version.id)},
    )
    assert response.status_code == 303
    assert response.headers["Referrer-Policy"] == "no-referrer"
    approval = db_session.exec(select(PlanApproval)).one()
    assert (approval.participant_id, approval.method, approval.recorded_by_user_id) == (
        world.person_row.id,
        "digital",
        None,
    )
    assert "I approve the plan" not in text_of(client.get(path))
    assert "Jag godkänner planen" not in text_of(client.get(path))


def test_approving_through_a_page_opened_before_a_new_version_is_refused(client, db_session, sent, now):
    world, path = sent
    page = client.get(path)
    freeze(db_session, world, now=now + timedelta(hours=1), trigger="revise_plan")
    response = client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(text_of(page)), "approve-version_id": str(world.extra["v1"].id)},
    )
    assert response.status_code == 409
    assert "Planen har ändrats sedan version 1" in text_of(response)
    assert db_session.exec(select(PlanApproval)).all() == []


@pytest.mark.parametrize("version_id", ["abc", "²", "99999999999999999999", "4" * 4400, "0", "", None])
def test_a_version_id_that_names_no_version_is_refused_as_unknown(client, db_session, sent, version_id):
    """At the field, as an id of no version of theirs is: not as an expired form (the form is not)."""
    _world, path = sent
    data = {"csrf_token": csrf_token(text_of(client.get(path)))}
    if version_id is not None:
        data["approve-version_id"] = version_id
    response = client.post(path + "/approve", data=data)
    assert response.status_code == 400
    html = text_of(response)
    assert "Okänd version." in html and "Formuläret har gått ut" not in html
    assert db_session.exec(select(PlanApproval)).all() == []


def test_an_expired_form_is_still_said_to_be_one(client, db_session, sent):
    world, path = sent
    response = client.post(path + "/approve", data={"approve-version_id": str(world.extra["v1"].id)})
    assert response.status_code == 400
    assert "Formuläret har gått ut" in text_of(response) and "Okänd version" not in text_of(response)
    assert db_session.exec(select(PlanApproval)).all() == []


def test_the_mail_to_a_narstaende_does_not_call_the_plan_theirs(client, db_session, planned):
    """A närstående reads someone else's plan: 'your plan' would tell them the plan is about them."""
    send_link(client, planned, planned.relative)
    row = queued(db_session)
    body = email.message_from_string(row.message, policy=email.policy.default).get_body(("plain",))
    text = body.get_content()
    assert row.subject == "SIP-plan: din personliga länk"
    assert "din samordnade individuella plan" not in text and "arbetar med din SIP" not in text
    assert "den samordnade individuella planen (SIP) för den person du är närstående" in text
    assert planned.person.given_name not in text and planned.person.family_name not in text


def test_the_page_a_narstaende_opens_does_not_call_the_plans_theirs(client, db_session, planned):
    send_link(client, planned, planned.relative)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Samtalsstöd varannan vecka" in page
    assert "Mina SIP-planer" not in page and "alla planer du har nu" not in page
    assert "SIP-planer" in page and "planen för den SIP du deltar i" in page


def test_a_narstaendes_link_shows_only_the_sip_it_was_sent_from_and_the_extract_says_who_read_it(
    client, db_session, app, registry, now
):
    # The person's other SIP, which the närstående takes no part in.
    first, second = _two_sips_of_one_person(db_session, app, registry, now)
    send_link(client, first, first.relative)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Första planens insats" in page
    assert "Andra planens insats" not in page and second.case.reference not in page
    rows = db_session.exec(
        select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW_NARSTAENDE)
    ).all()
    link = db_session.exec(select(PersonalLink)).one()
    assert [(r.case_id, r.user_id, r.link_id) for r in rows] == [(first.case.id, None, link.id)]
    # The person's extract says which link: the number the links page shows staff.
    assert ("En närstående läste planen genom sin personliga länk", f"Personlig länk nr {link.id}") in {
        (row.action, row.user) for row in extract_rows(db_session, first.person.id)
    }
    login(client, first.region.user.username)
    sent = re.search(
        r"<tbody>(.*?)</tbody>", text_of(client.get(f"/cases/{first.case.uid}/plan/links")), re.S
    )
    assert f'<th scope="row">{link.id}</th>' in sent.group(1)


def test_the_page_the_person_opens_calls_the_plans_theirs(client, db_session, planned):
    send_link(client, planned, planned.person_row)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Mina SIP-planer" in page and "alla planer du har nu" in page


def test_a_narstaende_reads_the_plan_but_cannot_approve(client, db_session, planned):
    send_link(client, planned, planned.relative)
    log_out(client)
    row = queued(db_session)
    assert row.recipient == RELATIVE_EMAIL
    path = link_path(row)
    page = client.get(path)
    assert page.status_code == 200 and "Samtalsstöd varannan vecka" in text_of(page)
    assert "Jag godkänner planen" not in text_of(page)
    # A forged post (the page has no form for them): the session's token from another page.
    token = csrf_token(text_of(client.get("/login")))
    response = client.post(
        path + "/approve", data={"csrf_token": token, "approve-version_id": str(planned.extra["v1"].id)}
    )
    assert response.status_code == 403
    assert db_session.exec(select(PlanApproval)).all() == []


def test_a_link_cannot_be_sent_to_someone_without_an_address_or_by_an_outsider(client, db_session, planned):
    planned.relative.email = None
    db_session.add(planned.relative)
    db_session.commit()
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/links"))
    response = client.post(
        f"/cases/{planned.case.uid}/plan/links",
        data={
            "csrf_token": csrf_token(page),
            "link-participant_id": str(planned.relative.id),
            "link-last_link": "0",
        },
    )
    assert response.status_code == 400
    assert db_session.exec(select(OutboxMessage)).all() == []
    log_out(client)
    login(client, planned.outsider.user.username)
    assert client.get(f"/cases/{planned.case.uid}/plan/links").status_code == 404


def test_no_personnummer_in_the_mail(db_session, sent):
    world, _path = sent
    row = queued(db_session)
    assert world.person.id_number not in row.message
    assert world.person.family_name not in row.message


def test_the_public_link_route_is_rate_limited(client):
    # 30 a minute from one address: guessing tokens stays slow; the 31st is refused before any lookup.
    statuses = [client.get("/my-plan/not-a-token").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


def test_a_guardian_approves_a_childs_plan_through_their_link(client, db_session, app, registry, now):
    from datetime import date

    world = build_world(db_session, app, registry, now=now, birth=date(2014, 3, 1))
    guardian = add_guardian(db_session, registry, world, now=now)
    version = freeze(db_session, world, now=now)
    send_link(client, world, guardian)
    log_out(client)
    path = link_path(queued(db_session))
    page = client.get(path)
    assert "för barnets räkning" in text_of(page)
    response = client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(text_of(page)), "approve-version_id": str(version.id)},
    )
    assert response.status_code == 303
    approval = db_session.exec(select(PlanApproval)).one()
    assert approval.participant_id == guardian.id and approval.method == "digital"


def test_an_ended_sip_offers_no_link_and_no_approval_to_record(client, db_session, planned):
    # Both would be refused (the services' rule); the pages say so instead of offering forms in vain.
    with unit_of_work(db_session):
        db_session.get(SipCase, planned.case.id).state = "closed"
    login(client, planned.region.user.username)
    links = text_of(client.get(f"/cases/{planned.case.uid}/plan/links"))
    assert "inga personliga länkar skickas längre" in links and "Skicka länken" not in links
    approvals = text_of(client.get(f"/cases/{planned.case.uid}/plan/approvals"))
    assert "kan inte längre godkännas" in approvals and "Registrera godkännandet" not in approvals


def test_sending_the_same_link_twice_sends_one_and_keeps_the_choice(client, db_session, planned):
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/links"))
    form = link_form(page, planned.case, planned.relative)
    assert client.post(f"/cases/{planned.case.uid}/plan/links", data=form).status_code == 303
    # The same page sent again (a double click): refused, one link and one e-mail.
    again = client.post(f"/cases/{planned.case.uid}/plan/links", data=form)
    assert again.status_code == 409
    assert "En personlig länk skickades i denna SIP medan du arbetade" in text_of(again)
    assert len(db_session.exec(select(PersonalLink)).all()) == 1
    assert len(db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "plan_link")).all()) == 1
    # Sent from the page that showed the conflict, it is meant: a second link goes out.
    resent = link_form(text_of(again), planned.case, planned.relative)
    assert client.post(f"/cases/{planned.case.uid}/plan/links", data=resent).status_code == 303
    assert len(db_session.exec(select(PersonalLink)).all()) == 2


def test_a_link_sent_before_the_address_was_corrected_stops_working(
    client, db_session, registry, planned, now
):
    """A link mailed to a mistyped address opens the plan to whoever holds that mailbox: correcting (or
    clearing) the address ends it; staff send a new one to the address as it is now."""
    send_link(client, planned, planned.relative)
    log_out(client)
    path = link_path(queued(db_session))
    assert client.get(path).status_code == 200
    change_contact(
        db_session,
        registry,
        planned.case,
        planned.relative.id,
        email="ratt.adress@example.se",
        phone=None,
        now=now,
    )
    refused = client.get(path)
    assert refused.status_code == 410 and "Samtalsstöd" not in text_of(refused)
    link = db_session.exec(select(PersonalLink)).one()
    db_session.refresh(link)
    assert link.revoked_at is not None


def test_saving_only_a_phone_number_keeps_the_address_and_the_link_sent_to_it(
    client, db_session, registry, planned, now
):
    """The contact form is blank for every participant: its empty address field keeps the stored address, so
    a phone number saved alone neither clears it nor ends the link mailed to it."""
    send_link(client, planned, planned.relative)
    log_out(client)
    path = link_path(queued(db_session))
    change_contact(
        db_session, registry, planned.case, planned.relative.id, email=None, phone="070-765 43 21", now=now
    )
    assert client.get(path).status_code == 200
    link = db_session.exec(select(PersonalLink)).one()
    db_session.refresh(link)
    assert link.revoked_at is None


def test_the_links_page_shows_the_address_a_link_went_to_after_a_correction(
    client, db_session, registry, planned, now
):
    """Staff must see where a revoked link was mailed (the mistyped address), not the corrected one."""
    send_link(client, planned, planned.relative)
    change_contact(
        db_session,
        registry,
        planned.case,
        planned.relative.id,
        email="ratt.adress@example.se",
        phone=None,
        now=now,
    )
    page = client.get(f"/cases/{planned.case.uid}/plan/links")
    sent = re.search(r"<tbody>(.*?)</tbody>", text_of(page), re.S).group(1)
    assert RELATIVE_EMAIL in sent and "ratt.adress@example.se" not in sent


def test_a_narstaende_added_twice_and_two_sharing_an_address_are_told_apart_on_the_links_page(
    client, db_session, planned, registry, now
):
    world = planned
    with unit_of_work(db_session):
        sister = add_private_participant(
            db_session,
            registry,
            world.case,
            kind="narstaende",
            name="Karin Andersson",
            relation="syster",
            email=RELATIVE_EMAIL,
            phone=None,
            now=now,
        )
        # Added twice before the service refused the same närstående again: the page still tells them apart.
        twice = Participant(
            case_id=world.case.id,
            kind="narstaende",
            name="Eva Andersson",
            relation="syster",
            email=RELATIVE_EMAIL,
            added_at=now,
        )
        db_session.add(twice)
    db_session.commit()
    login(client, world.region.user.username)
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    select_html = re.search(r'<select[^>]*name="link-participant_id".*?</select>', page, re.S).group(0)
    labels = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select_html))
    assert {str(p.id) for p in (world.relative, twice, sister)} <= set(labels)
    assert len(set(labels.values())) == len(labels)
    log_out(client)
    for participant in (world.relative, twice, sister):
        send_link(client, world, participant)
        log_out(client)
    login(client, world.region.user.username)
    rows = re.findall(
        r"<tr>(.*?)</tr>",
        re.search(
            r"<tbody>(.*?)</tbody>", text_of(client.get(f"/cases/{world.case.uid}/plan/links")), re.S
        ).group(1),
        re.S,
    )
    # Each link sent names whom it went to, not only the family address all three share.
    named = [re.sub(r'<th scope="row">\d+</th>', "", row, count=1).split("</td>")[0] for row in rows]
    assert len(set(named)) == 3 and all("Andersson" in name for name in named), named


def test_a_new_link_to_the_same_recipient_ends_the_older_one_and_the_links_page_says_so(
    client, db_session, planned
):
    """Old mails must not keep opening the plan: one live link per recipient of a SIP, the newest."""
    world = planned

    def paths() -> list[str]:
        rows = db_session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "plan_link").order_by(OutboxMessage.id)
        ).all()
        return [link_path(row) for row in rows]

    send_link(client, world, world.relative)
    log_out(client)
    send_link(client, world, world.person_row)
    log_out(client)
    old_relative, person = paths()
    assert client.get(old_relative).status_code == 200
    send_link(client, world, world.relative)
    new_relative = paths()[-1]
    links = {link.id: link for link in db_session.exec(select(PersonalLink).order_by(PersonalLink.id)).all()}
    for link in links.values():
        db_session.refresh(link)
    first, to_person, second = links.values()
    assert first.revoked_at is not None and first.replaced_by_id == second.id
    # Only the same recipient's link ends: the person's and the new one work.
    assert to_person.revoked_at is None and second.revoked_at is None
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    assert f"ersatt av länk nr {second.id}" in page
    log_out(client)
    refused = client.get(old_relative)
    assert refused.status_code == 410 and "fungerar inte längre" in text_of(refused)
    assert "Samtalsstöd" not in text_of(refused)
    # In the log's order: PostgreSQL reads an unordered query in heap order, not the order written.
    denied = db_session.exec(
        select(AccessLogEntry).where(AccessLogEntry.link_id == first.id).order_by(AccessLogEntry.seq)
    ).all()
    assert [row.action for row in denied][-1] == "access.denied"
    assert client.get(new_relative).status_code == 200
    assert client.get(person).status_code == 200


def test_the_links_page_gives_a_last_day_only_to_the_links_that_still_work(client, db_session, planned):
    world = planned
    send_link(client, world, world.relative)
    log_out(client)
    send_link(client, world, world.relative)  # replaces the first
    replaced, live = db_session.exec(select(PersonalLink).order_by(PersonalLink.id)).all()
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    csrf = csrf_token(page)
    last_day = (to_local(live.created_at).date() + timedelta(days=30)).isoformat()

    def works_through(link_id: int) -> str:
        row = re.search(rf'<tr>\s*<th scope="row">{link_id}</th>(.*?)</tr>', page, re.S).group(1)
        return re.findall(r"<td>(.*?)</td>", row, re.S)[2].strip()

    assert works_through(live.id) == last_day
    assert works_through(replaced.id) == "–"
    assert (
        client.post(
            f"/cases/{world.case.uid}/plan/links/{live.id}/revoke", data={"csrf_token": csrf}
        ).status_code
        == 303
    )
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    assert works_through(live.id) == "–"


@pytest.mark.parametrize("recipient", ["person_row", "relative"])
def test_a_link_sent_before_any_plan_shows_its_sip_with_no_plan_yet(client, db_session, world, recipient):
    """A link sent while the SIP is still being prepared (no plan begun): the page shows that SIP, saying no
    plan is established yet, never "Det finns ingen aktiv plan", which read as if there were no SIP at all."""
    send_link(client, world, getattr(world, recipient))
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert world.case.reference in page
    assert "Ingen plan är fastställd ännu i denna SIP." in page
    assert "Det finns ingen aktiv plan." not in page


def test_a_link_naming_an_organisation_is_refused_not_an_error(client, db_session, sent):
    """A link can only be sent to the person, a närstående or a guardian; a row naming an organisation's
    participant (written by hand into the database) ends like a revoked link, never in a 500."""
    world, path = sent
    link = db_session.exec(select(PersonalLink)).one()
    link.participant_id = world.region.participant.id
    db_session.add(link)
    db_session.commit()
    refused = client.get(path)
    assert refused.status_code == 410 and "fungerar inte längre" in text_of(refused)
    assert "Samtalsstöd" not in text_of(refused)


NOT_DELIVERED = "kom inte fram: e-postservern tog inte emot adressen"


def test_a_link_whose_mail_was_refused_says_so_on_the_links_page(
    smtp_app, smtp_server, client, db_session, world
):
    """A mistyped address the mail server refused for good: the staff believed the person had their plan."""
    smtp_server.refuse_next(1, "550 5.1.1 Recipient address rejected", at="RCPT")
    send_link(client, world, world.person_row)
    assert smtp_server.received == []
    table = text_of(client.get(f"/cases/{world.case.uid}/plan/links")).split('id="h-links"')[1]
    assert NOT_DELIVERED in table

    # Sent again and delivered: the new link says nothing of the kind (the old one is replaced).
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/links"))
    response = client.post(
        f"/cases/{world.case.uid}/plan/links", data=link_form(page, world.case, world.person_row)
    )
    assert response.status_code == 303
    assert len(smtp_server.received) == 1
    rows = text_of(client.get(f"/cases/{world.case.uid}/plan/links")).split('id="h-links"')[1].split("<tr>")
    newest = rows[2]  # the header's row, then the newest link's
    assert NOT_DELIVERED not in newest


def test_a_corrected_address_ends_the_persons_links_to_it_from_their_other_sips(
    client, db_session, app, registry, now
):
    """The person's link shows every SIP of theirs: one SIP correcting a mistyped address the person's link
    from another SIP went to ends that link too, or the stranger holding it still reads both plans."""
    first, second = _two_sips_of_one_person(db_session, app, registry, now)
    send_link(client, first, first.person_row)
    log_out(client)
    first_path = link_path(queued(db_session))
    send_link(client, second, second.person_row)
    log_out(client)
    change_contact(
        db_session,
        registry,
        second.case,
        second.person_row.id,
        email="ratt.adress@example.se",
        phone=None,
        now=now,
    )
    refused = client.get(first_path)
    assert refused.status_code == 410
    assert "Första planens insats" not in text_of(refused) and "Andra planens insats" not in text_of(refused)


def test_the_link_mail_says_it_is_automatic_so_no_out_of_office_note_answers_it(db_session, sent):
    # "Meddelandet skickades automatiskt": RFC 3834's header says so to the recipient's responder too, or its
    # absence note comes back to the sender address and is forwarded to the region's mailbox.
    message = email.message_from_string(queued(db_session).message, policy=email.policy.default)
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_link_mail_names_its_language(db_session, sent):
    message = email.message_from_string(queued(db_session).message, policy=email.policy.default)
    assert message["Content-Language"] == "sv"


def test_no_recipient_is_chosen_ahead_and_a_form_sent_without_one_sends_nothing(client, db_session, planned):
    """Enter in the form (or a click on "Send") must not send the plan's link to whoever is listed first."""
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/links"))
    select_html = re.search(r'<select[^>]*name="link-participant_id".*?</select>', page, re.S).group(0)
    first = re.search(r"<option([^>]*)>([^<]*)</option>", select_html)
    assert 'value=""' in first.group(1) and first.group(2) == "Välj"
    assert re.findall(r"<option selected[^>]*>", select_html) in ([], ['<option selected value="">'])
    refused = client.post(
        f"/cases/{planned.case.uid}/plan/links",
        data=fill(forms_of(page)[f"/cases/{planned.case.uid}/plan/links"]),
    )
    assert refused.status_code == 400
    assert "Välj personen, en närstående, en vårdnadshavare eller en ställföreträdare." in text_of(refused)
    assert db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "plan_link")).all() == []
