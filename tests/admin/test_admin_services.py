"""The administration's rules hold in its services, whoever calls them (page, CLI, script)."""

from __future__ import annotations

import pytest

from sipflow.admin import services
from sipflow.db import unit_of_work
from sipflow.errors import UserError
from sipflow.people.models import User


def test_an_administrator_cannot_disable_themselves_through_the_service(db_session, make_user, now):
    admin = make_user(None, roles="admin")
    token = admin.session_token
    with pytest.raises(UserError), unit_of_work(db_session):
        services.disable_user(db_session, admin, admin, now=now)
    db_session.expire_all()
    again = db_session.get(User, admin.id)
    assert again.active and again.session_token == token


def test_disabling_a_user_ends_their_sessions_and_enabling_keeps_them_ended(
    db_session, make_user, parties, now
):
    admin = make_user(None, roles="admin")
    user = parties.region_user
    token = user.session_token
    with unit_of_work(db_session):
        services.disable_user(db_session, admin, user, now=now)
    db_session.expire_all()
    user = db_session.get(User, user.id)
    assert not user.active and user.session_token != token
    with unit_of_work(db_session):
        services.enable_user(db_session, admin, user, now=now)
    db_session.expire_all()
    assert db_session.get(User, user.id).active
