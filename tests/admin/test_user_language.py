"""An administrator chooses a user's language: their pages after login and their mail follow it."""

from __future__ import annotations

import pytest
from sqlmodel import select
from userkit import body_of, link_path, outbox
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.admin.models import AdminChange
from sipflow.people.models import User

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_admin(client, make_user, parties):
    """Logged in as Region Kronoberg's administrator."""
    admin = make_user(parties.region, roles="admin", username="admin-{n}", display_name="Ada Admin")
    assert login(client, admin.username).status_code == 302
    return client


def _user_form(client, url: str):
    page = client.get(url)
    assert page.status_code == 200
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    return pairs


def _reload(db_session, user_id: int) -> User:
    db_session.expire_all()
    return db_session.get(User, user_id)


def test_an_administrator_sets_a_users_language_and_the_user_logs_in_to_english_pages(
    app, as_admin, db_session, parties
):
    user = parties.municipality_user
    url = f"/admin/users/{user.id}"
    pairs = _user_form(as_admin, url)
    assert ("language", "sv") in pairs  # the form shows the language the user has
    response = as_admin.post(url, data=fill(pairs, language="en"))
    assert response.status_code == 302
    assert _reload(db_session, user.id).language == "en"
    (change,) = db_session.exec(select(AdminChange).where(AdminChange.action == "user.update")).all()
    assert (change.before, change.after) == ({"language": "sv"}, {"language": "en"})
    assert ("language", "en") in _user_form(as_admin, url)
    # The user's next login opens in English, and a reset link reaches them in English.
    browser = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(browser, user.username).status_code == 302
    assert '<html lang="en">' in text_of(browser.get("/"))
    reset = as_admin.post(
        f"{url}/reset-password", data=fill(forms_of(text_of(as_admin.get(url)))[f"{url}/reset-password"])
    )
    assert reset.status_code == 302
    (mail,) = outbox(db_session)
    assert mail.subject == "Choose a new password for SIP"
    assert "Your administrator has sent you a link" in body_of(mail)


def _invite_pairs(client) -> list[tuple[str, str]]:
    """The invite form's fields as the page fills them."""
    page = client.get("/admin/users/new")
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "username" for k, _v in p)]
    return pairs


def test_a_user_invited_in_english_gets_the_set_password_mail_in_english(as_admin, db_session, parties):
    pairs = _invite_pairs(as_admin)
    assert ("language", "sv") in pairs  # Swedish unless chosen
    data = fill(
        pairs,
        username="john.smith",
        display_name="John Smith",
        email="john@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="staff",
        language="en",
    )
    assert as_admin.post("/admin/users/new", data=data).status_code == 302
    user = db_session.exec(select(User).where(User.username == "john.smith")).one()
    assert user.language == "en"
    (mail,) = outbox(db_session)
    assert mail.subject == "Your account in SIP"
    body = body_of(mail)
    assert "An account in SIP has been created for you" in body and "Hej" not in body
    link_path(body)


@pytest.mark.parametrize("value", ["fi", "EN", "svenska", "<script>"])
def test_an_unknown_language_is_refused_at_the_field_and_what_was_typed_stays(
    as_admin, db_session, parties, value
):
    data = fill(
        _invite_pairs(as_admin),
        username="ny.person",
        display_name="Ny Person",
        email="ny@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="staff",
        language=value,
    )
    response = as_admin.post("/admin/users/new", data=data)
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="language-error"' in html and "Välj svenska eller engelska." in html
    assert (
        'value="Ny Person"' in html and 'value="ny@vaxjo.example.se"' in html and 'value="ny.person"' in html
    )
    assert db_session.exec(select(User).where(User.username == "ny.person")).first() is None
    assert outbox(db_session) == []
    # The same on the edit page: refused at the field, nothing changed.
    user = parties.region_user
    url = f"/admin/users/{user.id}"
    refused = as_admin.post(
        url, data=fill(_user_form(as_admin, url), display_name="Nytt Namn", language=value)
    )
    assert refused.status_code == 400 and 'id="language-error"' in text_of(refused)
    assert 'value="Nytt Namn"' in text_of(refused)
    again = _reload(db_session, user.id)
    assert (again.display_name, again.language) == (user.display_name, "sv")


def test_the_service_refuses_an_unknown_language_whoever_calls_it(db_session, parties, now):
    from sipflow.admin import users
    from sipflow.db import unit_of_work
    from sipflow.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        users.invite_user(
            db_session,
            actor=None,
            username="utan.sprak",
            display_name="Utan Språk",
            email="utan@example.se",
            unit_id=parties.region.id,
            roles="staff",
            now=now,
            language="de",
        )
    assert refused.value.field == "language"
    assert db_session.exec(select(User).where(User.username == "utan.sprak")).first() is None
