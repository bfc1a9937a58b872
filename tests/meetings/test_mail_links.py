"""A mail links only to a page its recipient can open: the case page only for staff who may see the SIP."""

from __future__ import annotations

from meetingkit import fire

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.security import access


def _texts(smtp_server, method: str) -> dict[str, str]:
    """Each recipient's plain text of the mails of that iTIP method the SMTP server received."""
    texts = {}
    for mail in smtp_server.received:
        calendar = next(p for p in mail.message.walk() if p.get_content_type() == "text/calendar")
        if calendar.get_param("method") == method:
            text = next(p for p in mail.message.walk() if p.get_content_type() == "text/plain")
            texts[mail.rcpt_tos[0]] = text.get_content()
    return texts


def test_a_cancellation_after_the_consent_is_withdrawn_links_no_case_page_that_would_404(
    smtp_app, smtp_server, db_session, registry, parties, ready, book
):
    # Withdrawing the consent cancels the meetings; the municipality no longer sees the SIP (only the
    # initiating region does), so its staff's cancellation must not send them to a page that is a 404.
    meeting = book()
    case_path = f"/cases/{ready.case.uid}"
    invitations = _texts(smtp_server, "REQUEST")
    municipality_address = parties.municipality_user.email
    assert case_path in invitations[municipality_address]
    smtp_server.clear()
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent")
    cancellations = _texts(smtp_server, "CANCEL")
    assert db_session.get(type(meeting), meeting.id).status == "cancelled"
    assert municipality_address in cancellations
    assert case_path not in cancellations[municipality_address]
    for address in ("eva.andersson@example.se", "testa.person@example.se"):
        assert case_path not in cancellations[address]


def test_a_cancellation_links_the_case_page_for_staff_who_still_see_the_sip(
    smtp_app, smtp_server, db_session, parties, ready, book
):
    meeting = book()
    smtp_server.clear()
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    cancellations = _texts(smtp_server, "CANCEL")
    case_path = f"/cases/{ready.case.uid}"
    assert case_path in cancellations[parties.municipality_user.email]
    assert case_path not in cancellations["eva.andersson@example.se"]


def test_only_staff_whose_organisation_sees_the_sip_get_the_case_page_in_a_mail(db_session, parties, ready):
    # With a consent in force, staff of an organisation outside the SIP still cannot open its page.
    addresses = [u.email for u in (parties.region_user, parties.municipality_user, parties.outsider_user)]
    seeing = access.addresses_seeing_case(db_session, ready.case, addresses, now=now_utc())
    assert seeing == {parties.region_user.email.lower(), parties.municipality_user.email.lower()}
