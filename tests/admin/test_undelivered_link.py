"""An invitation or reset whose e-mail the mail server refused for good is told to the administrator: on the
user's page and in the users list, until a new link goes out."""

from __future__ import annotations

import pytest
from webkit import login, text_of

from sipflow.admin import users as admin_users
from sipflow.clock import now_utc
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

NOT_DELIVERED = "kunde inte levereras: e-postservern tog inte emot adressen"
MARK = "Länken kom inte fram"


@pytest.fixture
def as_admin(client, make_user):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client, admin


def _invite(db_session, parties):
    with unit_of_work(db_session):
        return admin_users.invite_user(
            db_session,
            actor=None,
            now=now_utc(),
            username="ny.kurator",
            display_name="Ny Kurator",
            email="ny.kurator@skola.example.se",
            unit_id=parties.municipality.id,
            roles="staff",
        )


def test_a_refused_invitation_is_told_until_a_new_link_is_delivered(
    smtp_app, smtp_server, db_session, parties, as_admin
):
    client, admin = as_admin
    smtp_server.refuse_next(1, "550 5.1.1 Recipient address rejected", at="RCPT")
    user = _invite(db_session, parties)
    assert smtp_server.received == []

    page = text_of(client.get(f"/admin/users/{user.id}"))
    assert NOT_DELIVERED in page
    assert MARK in text_of(client.get("/admin/users"))

    # A new link, delivered this time: nothing is told any more.
    with unit_of_work(db_session):
        admin_users.send_reset_link(db_session, admin, user, now=now_utc())
    assert len(smtp_server.received) == 1
    assert NOT_DELIVERED not in text_of(client.get(f"/admin/users/{user.id}"))
    assert MARK not in text_of(client.get("/admin/users"))


def test_a_delivered_invitation_is_told_nothing(smtp_app, smtp_server, db_session, parties, as_admin):
    client, _admin = as_admin
    user = _invite(db_session, parties)
    assert len(smtp_server.received) == 1
    assert NOT_DELIVERED not in text_of(client.get(f"/admin/users/{user.id}"))
    assert MARK not in text_of(client.get("/admin/users"))
