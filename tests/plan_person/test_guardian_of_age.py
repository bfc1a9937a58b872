"""A child's SIP whose child turns 18 while it runs: custody ends, and with it a guardian's personal link.

Custody (vårdnad) ends at 18 (föräldrabalken 6 kap. 2 §): from that day the young adult decides who reads
their plan, so the link sent to a guardian while they were a child no longer opens it, and no new one is
sent to a guardian. The person's own link and a närstående's keep working.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta

import pytest
from personkit import add_guardian, build_world, freeze, log_out
from sqlmodel import select
from test_personal_links import link_path, send_link
from webkit import login, text_of

from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.security.audit import ACCESS_DENIED, AccessLogEntry

# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November.
BIRTH = date(2008, 11, 10)


@pytest.fixture
def child(db_session, app, registry, now):
    """A child's SIP (12 to 17: here 17) with a frozen plan and a guardian who has an e-mail address."""
    world = build_world(db_session, app, registry, now=now, birth=BIRTH, workflow="sip_child")
    guardian = add_guardian(
        db_session, registry, world, now=now, name="Maria Lindqvist", email="maria.lindqvist@example.se"
    )
    world.extra["guardian"] = guardian
    world.extra["v1"] = freeze(db_session, world, now=now)
    return world


def _paths(db_session) -> list[str]:
    rows = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "plan_link")).all()
    return [link_path(row) for row in sorted(rows, key=lambda r: r.id)]


def test_a_guardians_link_ends_when_the_child_turns_18(client, db_session, child, frozen_clock):
    send_link(client, child, child.extra["guardian"])
    log_out(client)
    send_link(client, child, child.relative)
    log_out(client)
    guardian_path, relative_path = _paths(db_session)
    assert client.get(guardian_path).status_code == 200
    frozen_clock.advance(timedelta(days=8))  # 10 November, 09:00: the 18th birthday
    refused = client.get(guardian_path)
    assert refused.status_code == 410
    page = text_of(refused)
    assert "Samtycke" not in page and child.person.family_name not in page
    assert "fyller 18" in page
    assert client.get(guardian_path + f"/versions/{child.extra['v1'].id}/pdf").status_code == 410
    # The refusal is in the access log against the SIP, as every refused known link's is.
    denied = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == ACCESS_DENIED)).all()
    assert [row.case_id for row in denied] == [child.case.id, child.case.id]
    # A närstående's link is no guardian's: it keeps working.
    assert client.get(relative_path).status_code == 200


def test_the_day_before_the_18th_birthday_the_guardian_still_reads_and_approves(
    client, db_session, child, frozen_clock
):
    send_link(client, child, child.extra["guardian"])
    log_out(client)
    (path,) = _paths(db_session)
    frozen_clock.advance(timedelta(days=7, hours=13))  # 9 November, 23:00 Swedish time: still 17
    page = client.get(path)
    assert page.status_code == 200 and "för barnets räkning" in text_of(page)


def test_no_link_is_sent_to_a_guardian_once_the_child_is_18(client, db_session, child, frozen_clock):
    frozen_clock.advance(timedelta(days=8))
    login(client, child.region.user.username)
    page = text_of(client.get(f"/cases/{child.case.uid}/plan/links"))
    assert "maria.lindqvist@example.se" not in page.split("<table")[0]
    from sipflow.errors import InvalidInput
    from sipflow.plans.personal_links import send_personal_link

    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        send_personal_link(
            db_session,
            case=child.case,
            participant_id=child.extra["guardian"].id,
            actor=child.region.user,
            now=frozen_clock.advance(timedelta(0)),
            valid_days=30,
            seen_last_link_id=0,
        )
    assert "18" in refused.value.message
    assert _paths(db_session) == []


def test_the_links_page_shows_the_guardians_link_as_ended_at_18(client, db_session, child, frozen_clock):
    send_link(client, child, child.extra["guardian"])
    log_out(client)
    frozen_clock.advance(timedelta(days=8))
    # The session of a week ago has timed out: staff log in again.
    login(client, child.region.user.username)
    page = text_of(client.get(f"/cases/{child.case.uid}/plan/links"))
    table = page[page.index('id="h-links"') :]
    assert "upphört: barnet har fyllt 18 år" in table
    # Nothing left to revoke, and no last day that reads as still working.
    assert "Återkalla" not in table


def test_a_guardians_link_sent_days_before_the_birthday_names_the_day_before_it_as_its_last(
    client, db_session, child, frozen_clock
):
    send_link(client, child, child.extra["guardian"])
    (row,) = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "plan_link")).all()
    body = email.message_from_string(row.message, policy=email.policy.default).get_body(("plain",))
    # Thirty days on would be 2 December: the link ends when the child turns 18, on 10 November.
    assert "till och med 9 november 2026" in body.get_content()
    page = text_of(client.get(f"/cases/{child.case.uid}/plan/links"))
    assert "2026-11-09" in page[page.index('id="h-links"') :]
    log_out(client)
    frozen_clock.advance(timedelta(days=7, hours=13))  # 9 November, 23:00 Swedish time: it still works
    assert client.get(link_path(row)).status_code == 200
    frozen_clock.advance(timedelta(hours=1))  # midnight: 18, and refused as a guardian's of an adult
    refused = client.get(link_path(row))
    assert refused.status_code == 410 and "fyller 18" in text_of(refused)
