"""Set-password links: an invitation by e-mail, a reset, and links that are expired, used or tampered."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from userkit import NEW_PASSWORD, body_of, link_path, outbox, set_password
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, login, text_of

from sipflow.admin import users
from sipflow.db import unit_of_work
from sipflow.people.models import User
from sipflow.security.limits import limiter
from sipflow.security.password_links import PasswordLink

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def admin(make_user, parties):
    return make_user(parties.region, roles="admin", username="admin-{n}")


def _invite(db_session, admin, unit, now, **overrides):
    values = {
        "username": "nils.nyberg",
        "display_name": "Nils Nyberg",
        "email": "nils@vaxjo.example.se",
        "unit_id": unit.id,
        "roles": ["staff"],
    } | overrides
    with unit_of_work(db_session):
        return users.invite_user(db_session, actor=admin, now=now, **values)


def _fresh(app):
    return FreshContextClient(app, app.response_class, use_cookies=True)


def test_an_invited_user_gets_a_mail_sets_a_password_and_logs_in(
    app, client, db_session, admin, parties, now
):
    user = _invite(db_session, admin, parties.municipality, now)
    (mail,) = outbox(db_session)
    assert mail.kind == "password" and mail.recipient == "nils@vaxjo.example.se"
    # The subject names no one; the body is Swedish and carries the link and the username.
    assert mail.subject == "Ditt konto i SIP"
    body = body_of(mail)
    assert "nils.nyberg" in body and "72 timmar" in body
    path = link_path(body)
    assert login(client, "nils.nyberg", NEW_PASSWORD).status_code == 200  # no password before the link

    response = set_password(client, path)
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200
    db_session.expire_all()
    assert db_session.get(User, user.id).last_login_at is not None
    assert login(_fresh(app), "nils.nyberg", NEW_PASSWORD).status_code == 302


def test_the_link_page_keeps_the_token_out_of_referers_and_caches(client, db_session, admin, parties, now):
    _invite(db_session, admin, parties.municipality, now)
    response = client.get(link_path(body_of(outbox(db_session)[0])))
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_weak_or_mistyped_password_is_refused_and_the_link_still_works(
    client, db_session, admin, parties, now
):
    _invite(db_session, admin, parties.municipality, now)
    path = link_path(body_of(outbox(db_session)[0]))
    weak = set_password(client, path, "kort")
    assert weak.status_code == 400 and "minst 12 tecken" in text_of(weak)
    mistyped = set_password(client, path, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert mistyped.status_code == 400 and "inte lika" in text_of(mistyped)
    assert set_password(client, path).status_code == 302


def test_an_expired_link_gets_a_clear_page_and_sets_nothing(client, db_session, admin, parties, now):
    user = _invite(db_session, admin, parties.municipality, now)
    path = link_path(body_of(outbox(db_session)[0]))
    link = db_session.exec(select(PasswordLink).where(PasswordLink.user_id == user.id)).one()
    link.expires_at = now - timedelta(minutes=1)
    db_session.add(link)
    db_session.commit()
    token = csrf_token(text_of(client.get("/login")))
    for response in (
        client.get(path),
        client.post(
            path, data={"csrf_token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
        ),
    ):
        assert response.status_code == 410
        assert "Länken har gått ut." in text_of(response)
    assert login(client, "nils.nyberg", NEW_PASSWORD).status_code == 200


def test_a_used_link_and_a_replaced_link_no_longer_work(app, client, db_session, admin, parties, now):
    user = _invite(db_session, admin, parties.municipality, now)
    first = link_path(body_of(outbox(db_session)[0]))
    with unit_of_work(db_session):
        users.send_reset_link(db_session, admin, db_session.get(User, user.id), now=now)
    second = link_path(body_of(outbox(db_session)[1]))
    # The newer link replaced the invitation.
    assert client.get(first).status_code == 410
    assert set_password(client, second).status_code == 302
    again = _fresh(app).get(second)
    assert again.status_code == 410 and "redan använts" in text_of(again)


def test_a_new_link_for_a_user_whose_invitation_expired_unused_is_the_invitation_again(
    client, db_session, admin, parties, now
):
    # Go-live week: an imported user back from leave finds the 72-hour invitation expired and asks for a new
    # one. They never had a password: the administrator's link is the invitation again (their username,
    # 72 hours), not a 2-hour reset "to choose a new password" that expires again before they open it.
    user = _invite(db_session, admin, parties.municipality, now)
    later = now + timedelta(days=4)
    with unit_of_work(db_session):
        users.send_reset_link(db_session, admin, db_session.get(User, user.id), now=later)
    mail = outbox(db_session)[1]
    body = body_of(mail)
    assert mail.subject == "Ditt konto i SIP"
    assert "nils.nyberg" in body and "72 timmar" in body and "nytt lösenord" not in body
    assert set_password(client, link_path(body)).status_code == 302
    # Once they have a password, the administrator's link is a reset again.
    with unit_of_work(db_session):
        users.send_reset_link(db_session, admin, db_session.get(User, user.id), now=later)
    assert outbox(db_session)[2].subject == "Välj ett nytt lösenord för SIP"


def test_a_reset_link_sets_a_new_password_and_ends_every_other_session(
    app, client, db_session, admin, parties, now
):
    user = parties.municipality_user
    assert login(client, user.username).status_code == 302
    with unit_of_work(db_session):
        users.send_reset_link(db_session, admin, db_session.get(User, user.id), now=now)
    mail = outbox(db_session)[0]
    assert mail.subject == "Välj ett nytt lösenord för SIP" and "2 timmar" in body_of(mail)
    other = _fresh(app)
    assert set_password(other, link_path(body_of(mail))).status_code == 302
    # The session opened before the reset has ended.
    assert client.get("/").status_code == 302
    assert login(_fresh(app), user.username, NEW_PASSWORD).status_code == 302


def test_changing_the_password_ends_a_reset_link_sent_before(app, client, db_session, admin, parties, now):
    # The user remembered the password after asking for a reset: the link must not set another one later.
    user = parties.municipality_user
    with unit_of_work(db_session):
        users.send_reset_link(db_session, admin, db_session.get(User, user.id), now=now)
    path = link_path(body_of(outbox(db_session)[0]))
    assert login(client, user.username).status_code == 302
    page = client.get("/password")
    changed = client.post(
        "/password",
        data={
            "csrf_token": csrf_token(text_of(page)),
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert _fresh(app).get(path).status_code == 410


def test_a_link_of_a_disabled_account_sets_nothing(client, db_session, admin, parties, now):
    user = _invite(db_session, admin, parties.municipality, now)
    path = link_path(body_of(outbox(db_session)[0]))
    with unit_of_work(db_session):
        users.disable_user(db_session, admin, db_session.get(User, user.id), now=now)
    response = client.get(path)
    assert response.status_code == 410 and "avstängt" in text_of(response)
    # Enabled again, the account does not get the link back: it was sent before someone disabled it.
    with unit_of_work(db_session):
        users.enable_user(db_session, admin, db_session.get(User, user.id), now=now)
    assert client.get(path).status_code == 410


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    position=st.integers(min_value=0, max_value=42),
    replacement=st.sampled_from(list("AZaz09_-")),
    tail=st.text(min_size=0, max_size=20),
)
def test_a_tampered_link_is_a_clear_refusal_never_an_error(
    client, db_session, admin, parties, now, position, replacement, tail
):
    if not outbox(db_session):
        _invite(db_session, admin, parties.municipality, now)
    token = link_path(body_of(outbox(db_session)[0])).rpartition("/")[2]
    tampered = token[:position] + replacement + token[position + 1 :] + tail
    if tampered == token:
        return
    limiter.reset()  # the page's rate limit is not under test here
    response = client.get(
        "/set-password/" + tampered.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
    )
    # A NUL anywhere in an address is refused before any route (400 with a reason, as on every page).
    assert response.status_code == (400 if "\x00" in tampered else 404)
    if not tail:
        assert "Länken är inte giltig." in text_of(response)
    # Nothing was spent: the real link still works.
    assert client.get("/set-password/" + token).status_code == 200


def test_an_office_behind_one_address_sets_its_passwords_and_guessing_is_still_refused(
    app, db_session, admin, parties, now
):
    # Forty colleagues invited at once, all behind their office's one address: every link works.
    office = _fresh(app)
    for number in range(40):
        _invite(
            db_session,
            admin,
            parties.municipality,
            now,
            username=f"kollega{number}",
            email=f"kollega{number}@vaxjo.example.se",
        )
    links = [link_path(body_of(mail)) for mail in outbox(db_session)]
    assert len(links) == 40
    for path in links:
        assert set_password(office, path).status_code == 302
        office.post("/logout", data={"csrf_token": csrf_token(text_of(office.get("/")))})
    # Guessing from one address: the 31st refused link within the hour is refused outright.
    guesser = _fresh(app)
    statuses = [guesser.get(f"/set-password/{'a' * 43}").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429


def test_a_set_password_mail_says_it_is_automatic(db_session, admin, parties, now):
    # Its text says it was sent automatically; RFC 3834's header tells the recipient's absence responder.
    user = _invite(db_session, admin, parties.municipality, now)
    with unit_of_work(db_session):
        users.send_reset_link(db_session, actor=admin, user=user, now=now)
    invitation, reset = outbox(db_session)
    for row in (invitation, reset):
        message = email.message_from_string(row.message, policy=email.policy.default)
        assert message["Auto-Submitted"] == "auto-generated"


def test_a_set_password_mail_names_its_language(db_session, admin, parties, now):
    _invite(db_session, admin, parties.municipality, now)
    jane = {"username": "jane", "email": "jane@vaxjo.example.se", "language": "en"}
    _invite(db_session, admin, parties.municipality, now, **jane)
    rows = outbox(db_session)
    languages = {row.recipient: email.message_from_string(row.message)["Content-Language"] for row in rows}
    assert languages == {"nils@vaxjo.example.se": "sv", "jane@vaxjo.example.se": "en"}
