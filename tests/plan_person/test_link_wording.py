"""What a närstående's link says is worded for them (the SIP is the person's), and the link's mail names who
to contact and where a reply goes, as a meeting's invitation does."""

from __future__ import annotations

import email
import email.policy

import pytest
from personkit import log_out
from sqlmodel import select
from test_personal_links import link_path, queued, send_link
from webkit import text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation
from sipflow.plans.models import PersonalLink
from sipflow.plans.personal_links import revoke_link


def _revoke(db_session, world) -> None:
    link = db_session.exec(select(PersonalLink)).one()
    with unit_of_work(db_session):
        revoke_link(db_session, case=world.case, link_id=link.id, actor=world.region.user, now=now_utc())


def test_a_revoked_link_of_a_narstaende_does_not_call_the_sip_theirs(client, db_session, planned):
    send_link(client, planned, planned.relative)
    log_out(client)
    path = link_path(queued(db_session))
    _revoke(db_session, planned)
    refused = client.get(path)
    assert refused.status_code == 410
    page = text_of(refused)
    region = db_session.get(Organisation, planned.case.initiating_organisation_id).name
    assert f"Be {region}, som arbetar med SIP:en som du deltar i, om en ny länk." in page
    assert "din SIP" not in page and "Mina SIP-planer" not in page


def test_a_revoked_link_of_the_person_still_says_their_sip(client, db_session, planned):
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    _revoke(db_session, planned)
    page = text_of(client.get(path))
    region = db_session.get(Organisation, planned.case.initiating_organisation_id).name
    assert f"Be {region}, som arbetar med din SIP, om en ny länk." in page and "Mina SIP-planer" in page


@pytest.mark.parametrize("who", ["person_row", "relative"])
def test_an_expired_link_names_the_organisation_to_ask_for_a_new_one_as_its_mail_did(
    client, db_session, planned, frozen_clock, who
):
    """A person with no care background, holding a link that has run out, is told whom to ask by name: the
    organisation the mail named as the one to contact, not "the one who works with your SIP"."""
    send_link(client, planned, getattr(planned, who))
    log_out(client)
    row = queued(db_session)
    body = email.message_from_string(row.message, policy=email.policy.default).get_body(("plain",))
    region = db_session.get(Organisation, planned.case.initiating_organisation_id).name
    assert f"kontakta {region}" in body.get_content()
    link = db_session.exec(select(PersonalLink)).one()
    frozen_clock.set(link.expires_at)
    refused = client.get(link_path(row))
    assert refused.status_code == 410
    page = text_of(refused)
    assert f"Länken har gått ut. Be {region}, som arbetar med" in page
    # In English too, and never the unit, which may say what care the person gets.
    english = text_of(client.get(link_path(row) + "?lang=en"))
    assert f"The link has expired. Ask {region}, which works with" in english
    assert planned.region.unit.name not in page and planned.region.unit.name not in english


def test_a_narstaende_reads_the_persons_own_goals_under_a_heading_about_the_person(
    client, db_session, planned
):
    send_link(client, planned, planned.relative)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Det är viktigt för mig att ha ett arbete" in page
    assert "Det här är viktigt för personen" in page and "Det här är viktigt för mig" not in page


def test_the_person_reads_their_own_goals_in_the_first_person(client, db_session, planned):
    send_link(client, planned, planned.person_row)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Det här är viktigt för mig" in page and "viktigt för personen" not in page


def _mail(db_session):
    row = queued(db_session)
    return email.message_from_string(row.message, policy=email.policy.default)


def _initiating(db_session, world) -> str:
    return db_session.get(Organisation, world.case.initiating_organisation_id).name


@pytest.mark.parametrize(
    ("recipient", "ending"),
    [
        ("person_row", "kontakta {organisation}, som arbetar med din SIP."),
        ("relative", "kontakta {organisation}, som arbetar med SIP:en."),
    ],
)
def test_the_links_mail_names_the_initiating_organisation_and_replies_reach_who_sent_it(
    client, db_session, planned, recipient, ending
):
    send_link(client, planned, getattr(planned, recipient))
    mail = _mail(db_session)
    organisation = _initiating(db_session, planned)
    text = mail.get_body(("plain",)).get_content()
    assert ending.format(organisation=organisation) in " ".join(text.split())
    assert "kontakta den som arbetar med" not in text
    assert organisation in mail["From"] and planned.region.unit.name not in mail["From"]
    # No shared mailbox is configured: a reply reaches the staff member who sent the link, as a reply to
    # an invitation reaches its booker.
    assert mail["Reply-To"] == planned.region.user.email


def test_with_a_shared_reply_mailbox_the_links_mail_is_answered_there(client, app, db_session, planned):
    saved = app.config["REPLY_TO"]
    app.config["REPLY_TO"] = "sip-samordning@example.se"
    try:
        send_link(client, planned, planned.person_row)
    finally:
        app.config["REPLY_TO"] = saved
    assert _mail(db_session)["Reply-To"] == "sip-samordning@example.se"


def test_the_approval_form_says_what_approving_means_and_whom_to_contact_instead(client, db_session, planned):
    """A person with no care background is asked to approve: the page says what approving means and, if they
    do not agree, that they need not approve but contact the organisation with huvudansvar, by name."""
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    holder = db_session.get(Organisation, planned.region.unit.organisation_id).name
    page = " ".join(text_of(client.get(path)).split())
    assert "Att godkänna betyder att du håller med om planen som den står här." in page
    assert f"godkänn inte: kontakta {holder}, som har huvudansvaret för SIP:en." in page
    english = " ".join(text_of(client.get(path + "?lang=en")).split())
    assert f"do not approve: contact {holder}, which has overall responsibility for the SIP." in english


def test_a_narstaende_who_approves_nothing_is_not_told_what_approving_means(client, db_session, planned):
    send_link(client, planned, planned.relative)
    log_out(client)
    page = text_of(client.get(link_path(queued(db_session))))
    assert "Att godkänna betyder" not in page and "Jag godkänner planen" not in page


@pytest.mark.parametrize(("who", "asked"), [("person_row", True), ("relative", False)])
def test_the_persons_mail_says_the_plan_can_be_approved_through_the_link(
    client, db_session, planned, who, asked
):
    """Staff send the person a link to approve a plan (a revised one, often): the mail said only that the
    plan can be read there. A närstående approves nothing, and their mail says nothing of approving."""
    send_link(client, planned, getattr(planned, who))
    log_out(client)
    body = email.message_from_string(queued(db_session).message, policy=email.policy.default)
    text = " ".join(body.get_body(("plain",)).get_content().split())
    assert ("Om du håller med om planen kan du också godkänna den där." in text) is asked
    assert "godkänna" not in text or asked
