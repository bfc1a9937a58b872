"""The administrator's user pages: invite, edit, roles, reset links, the region boundary, the last admin."""

from __future__ import annotations

import pytest
from sqlmodel import select
from userkit import body_of, link_path, outbox
from webkit import csrf_token, fill, forms_of, login, seen, text_of

from sipflow.admin.models import AdminChange, CoordinatorScope
from sipflow.admin.users import coordinator_scope
from sipflow.people.models import Organisation, Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def admin(make_user, parties):
    """Region Kronoberg's administrator (county 07)."""
    return make_user(parties.region, roles="admin", username="admin-{n}", display_name="Ada Admin")


@pytest.fixture
def as_admin(client, admin):
    assert login(client, admin.username).status_code == 302
    return client


@pytest.fixture
def kalmar(db_session, make_user):
    """A unit and a staff user of another region (Kalmar, county 08)."""
    organisation = Organisation(key="org-kalmar", name="Region Kalmar län", kind="region", county_code="08")
    db_session.add(organisation)
    db_session.flush()
    unit = Unit(key="unit-kalmar", organisation_id=organisation.id, name="Vårdcentralen Kalmar")
    db_session.add(unit)
    db_session.commit()
    return unit, make_user(unit, username="kalmar-{n}", display_name="Karl Kalmar")


def _token(client) -> str:
    return csrf_token(text_of(client.get("/password")))


def _post(client, url, **data):
    return client.post(url, data={"csrf_token": _token(client), **data})


def _changes(db_session, action=None) -> list[AdminChange]:
    db_session.expire_all()
    statement = select(AdminChange).order_by(AdminChange.id)
    if action:
        statement = statement.where(AdminChange.action == action)
    return list(db_session.exec(statement).all())


def _invite_form(client, **values):
    page = client.get("/admin/users/new")
    assert page.status_code == 200
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "username" for k, _v in p)] or [None]
    data = fill(pairs, **values)
    return client.post("/admin/users/new", data=data)


def _user_named(db_session, username):
    db_session.expire_all()
    return db_session.exec(select(User).where(User.username == username)).first()


# --- Invite ------------------------------------------------------------------------------------------------


def test_inviting_from_the_page_creates_the_user_queues_the_mail_and_logs_it(
    as_admin, db_session, admin, parties
):
    response = _invite_form(
        as_admin,
        username="sara.samordnare",
        display_name="Sara Samordnare",
        email="sara@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="coordinator",
        scope="0780, 07",
    )
    assert response.status_code == 302, text_of(response)
    user = _user_named(db_session, "sara.samordnare")
    assert user.role_set == {"coordinator"} and user.unit_id == parties.municipality.id
    assert coordinator_scope(db_session, user) == (frozenset({"07"}), frozenset({"0780"}))
    (mail,) = outbox(db_session)
    assert mail.recipient == "sara@vaxjo.example.se"
    assert "Sara" not in mail.subject and "sara" not in mail.subject
    link_path(body_of(mail))
    assert [c.action for c in _changes(db_session)] == ["user.create", "user.invite_link"]
    create = _changes(db_session, "user.create")[0]
    assert create.actor_user_id == admin.id and create.after["scope"] == "07, 0780"


@pytest.mark.parametrize(
    ("values", "field_text"),
    [
        ({"username": "{existing_upper}"}, "Användarnamnet är upptaget."),
        ({"email": "{existing_email}"}, "En annan användare har redan den här e-postadressen."),
        ({"unit_id": ""}, "Välj en enhet i din region."),
        ({"unit_id": "999999"}, "Okänd enhet."),
        ({"unit_id": "99999999999999"}, "Okänd enhet."),
        ({"scope": "0880"}, "0880 ligger utanför din region."),
        ({"scope": "9999"}, "Okänd kommunkod: 9999."),
        ({"roles": "staff", "scope": "07"}, "Bara en samordnare följer län eller kommuner."),
    ],
)
def test_bad_input_on_the_invite_page_is_shown_at_the_field_and_nothing_is_written(
    as_admin, db_session, parties, values, field_text
):
    existing = parties.region_user
    typed = {
        "username": "ny.person",
        "display_name": "Ny Person",
        "email": "ny@vaxjo.example.se",
        "unit_id": str(parties.municipality.id),
        "roles": "coordinator",
        "scope": "",
    } | {
        k: v.format(existing_upper=existing.username.upper(), existing_email=existing.email.upper())
        for k, v in values.items()
    }
    before = len(_changes(db_session))
    response = _invite_form(as_admin, **typed)
    assert response.status_code in (400, 409)
    html = text_of(response)
    assert field_text in html
    assert 'value="Ny Person"' in html  # what was typed stays
    assert _user_named(db_session, "ny.person") is None
    assert len(_changes(db_session)) == before and outbox(db_session) == []


def test_staff_without_a_unit_is_refused_by_the_service(db_session, now):
    from sipflow.admin import users
    from sipflow.db import unit_of_work
    from sipflow.errors import UserError

    with pytest.raises(UserError) as caught, unit_of_work(db_session):
        users.invite_user(
            db_session,
            actor=None,
            username="utan",
            display_name="Utan Enhet",
            email="utan@example.se",
            unit_id=None,
            roles="staff",
            now=now,
        )
    assert caught.value.field == "unit_id"
    assert _user_named(db_session, "utan") is None


# --- Edit, roles, reset -----------------------------------------------------------------------------------


def test_editing_a_user_changes_name_email_unit_and_roles_and_logs_before_and_after(
    as_admin, db_session, parties
):
    user = parties.region_user
    token = user.session_token
    page = as_admin.get(f"/admin/users/{user.id}")
    assert page.status_code == 200
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    data = fill(pairs, display_name="Nytt Namn", unit_id=str(parties.school.id), roles="staff", scope="07")
    data.add("roles", "coordinator")
    response = as_admin.post(f"/admin/users/{user.id}", data=data)
    assert response.status_code == 302
    db_session.expire_all()
    again = db_session.get(User, user.id)
    assert again.display_name == "Nytt Namn" and again.unit_id == parties.school.id
    assert again.role_set == {"staff", "coordinator"}
    assert again.session_token != token  # new rights: old sessions end
    (change,) = _changes(db_session, "user.update")
    assert change.before["unit_id"] == parties.region.id and change.after["unit_id"] == parties.school.id
    assert change.after["roles"] == "staff,coordinator"


def test_a_reset_link_goes_by_mail_and_the_administrator_never_sees_it(as_admin, db_session, parties):
    user = parties.municipality_user
    response = _post(as_admin, f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 302
    page = text_of(as_admin.get(response.headers["Location"]))
    assert "/set-password/" not in page
    (mail,) = outbox(db_session)
    assert mail.recipient == user.email
    assert [c.action for c in _changes(db_session)] == ["user.reset_link"]


def test_a_user_who_never_chose_a_password_is_sent_the_invitation_again_and_the_page_says_so(
    as_admin, db_session, parties
):
    # The import invited them; the link expired before they used it. The page offers the invitation again,
    # and says that is what went, not a link "to choose a new password" they never had.
    _invite_form(
        as_admin,
        username="nils.nyberg",
        display_name="Nils Nyberg",
        email="nils@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="staff",
    )
    user = _user_named(db_session, "nils.nyberg")
    page = text_of(as_admin.get(f"/admin/users/{user.id}"))
    assert "Skicka inbjudan igen" in page and "Skicka en länk för att välja nytt lösenord" not in page
    response = _post(as_admin, f"/admin/users/{user.id}/reset-password")
    page = text_of(as_admin.get(response.headers["Location"]))
    assert "En ny inbjudan är på väg till Nils Nyberg." in page
    assert outbox(db_session)[-1].subject == "Ditt konto i SIP"
    # A user with a password of their own is offered, and sent, a new password's link as before.
    known = parties.municipality_user
    page = text_of(as_admin.get(f"/admin/users/{known.id}"))
    assert "Skicka en länk för att välja nytt lösenord" in page and "Skicka inbjudan igen" not in page


# --- The region boundary -----------------------------------------------------------------------------------


def test_another_regions_users_are_not_listed_and_every_action_on_them_is_refused(
    as_admin, db_session, parties, kalmar
):
    _unit, stranger = kalmar
    listing = text_of(as_admin.get("/admin/users"))
    assert parties.municipality_user.username in listing
    assert stranger.username not in listing
    token = stranger.session_token
    assert as_admin.get(f"/admin/users/{stranger.id}").status_code == 404
    for action in ("disable", "enable", "sessions/end", "reset-password"):
        assert _post(as_admin, f"/admin/users/{stranger.id}/{action}").status_code == 404, action
    assert _post(as_admin, f"/admin/users/{stranger.id}", display_name="X").status_code == 404
    db_session.expire_all()
    again = db_session.get(User, stranger.id)
    assert again.active and again.session_token == token and again.display_name == "Karl Kalmar"
    assert _changes(db_session) == [] and outbox(db_session) == []


def test_a_unit_of_another_region_cannot_be_chosen(as_admin, db_session, kalmar):
    unit, _stranger = kalmar
    response = _invite_form(
        as_admin, username="ny", display_name="Ny", email="ny@example.se", unit_id=str(unit.id), roles="staff"
    )
    assert response.status_code == 400
    assert _user_named(db_session, "ny") is None


def _deactivate(db_session, unit, now):
    from sipflow.admin import directory
    from sipflow.db import unit_of_work

    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, db_session.get(Unit, unit.id), False, now=now)


def test_a_deactivated_unit_is_not_offered_and_a_new_user_is_refused_there(
    as_admin, db_session, parties, now
):
    _deactivate(db_session, parties.school, now)
    page = text_of(as_admin.get("/admin/users/new"))
    assert f'value="{parties.school.id}"' not in page
    assert f'value="{parties.municipality.id}"' in page
    before = len(_changes(db_session))
    response = _invite_form(
        as_admin,
        username="t.inactive",
        display_name="Ny Person",
        email="ny@vaxjo.example.se",
        unit_id=str(parties.school.id),
        roles="staff",
    )
    assert response.status_code == 400
    assert f"Enheten {parties.school.key} är inaktiverad: aktivera den först." in text_of(response)
    assert _user_named(db_session, "t.inactive") is None
    assert len(_changes(db_session)) == before and outbox(db_session) == []


def test_a_user_cannot_be_moved_to_a_deactivated_unit_but_may_stay_in_one(as_admin, db_session, parties, now):
    _deactivate(db_session, parties.school, now)
    user = parties.region_user
    page = as_admin.get(f"/admin/users/{user.id}")
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    response = as_admin.post(f"/admin/users/{user.id}", data=fill(pairs, unit_id=str(parties.school.id)))
    assert response.status_code == 400
    assert f"Enheten {parties.school.key} är inaktiverad: aktivera den först." in text_of(response)
    db_session.expire_all()
    assert db_session.get(User, user.id).unit_id == parties.region.id
    assert _changes(db_session, "user.update") == []

    # A user of a unit deactivated since keeps it: their page offers it and saves other changes.
    stays = parties.school_user
    page = as_admin.get(f"/admin/users/{stays.id}")
    assert page.status_code == 200
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    response = as_admin.post(f"/admin/users/{stays.id}", data=fill(pairs, display_name="Nytt Namn"))
    assert response.status_code == 302, text_of(response)
    db_session.expire_all()
    again = db_session.get(User, stays.id)
    assert again.display_name == "Nytt Namn" and again.unit_id == parties.school.id


def test_a_national_administrator_manages_every_region(client, db_session, make_user, parties, kalmar):
    national = make_user(None, roles="admin", username="riks-{n}")
    _unit, stranger = kalmar
    assert login(client, national.username).status_code == 302
    assert stranger.username in text_of(client.get("/admin/users"))
    assert _post(client, f"/admin/users/{stranger.id}/disable").status_code == 302
    db_session.expire_all()
    assert not db_session.get(User, stranger.id).active


def test_the_log_of_another_region_is_not_shown(as_admin, db_session, make_user, kalmar, now):
    _unit, stranger = kalmar
    kalmar_admin = make_user(_unit, roles="admin", username="kalmar-admin-{n}")
    from sipflow.admin import users
    from sipflow.db import unit_of_work

    with unit_of_work(db_session):
        users.disable_user(db_session, kalmar_admin, db_session.get(User, stranger.id), now=now)
    page = text_of(as_admin.get("/admin/log"))
    assert "Användare avstängd" not in page


# --- The last administrator ---------------------------------------------------------------------------------


def test_the_last_active_administrator_is_never_disabled_nor_demoted(as_admin, db_session, admin):
    # Disabling oneself is refused outright; so is taking the admin role from the last administrator.
    assert _post(as_admin, f"/admin/users/{admin.id}/disable").status_code == 302
    page = as_admin.get(f"/admin/users/{admin.id}")
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    data = fill(pairs, roles="staff")
    response = as_admin.post(f"/admin/users/{admin.id}", data=data)
    assert response.status_code == 409
    assert "sista aktiva administratören" in text_of(response)
    db_session.expire_all()
    again = db_session.get(User, admin.id)
    assert again.active and "admin" in again.role_set
    assert _changes(db_session) == []


def _edit_form(client, user, **values) -> dict:
    page = client.get(f"/admin/users/{user.id}")
    (pairs,) = [p for p in forms_of(text_of(page)).values() if any(k == "display_name" for k, _v in p)]
    return fill(pairs, **values)


def test_the_last_national_administrator_keeps_no_unit_until_another_is_made(
    client, db_session, make_user, parties, admin
):
    # Set up as the README says, the first (national) administrator gave themselves a unit of the region:
    # region administrators remained, but none could administer the coordinators without a unit any more.
    national = make_user(None, roles="admin", username="riks-{n}")
    assert login(client, national.username).status_code == 302
    response = client.post(
        f"/admin/users/{national.id}", data=_edit_form(client, national, unit_id=parties.region.id)
    )
    assert response.status_code == 409
    assert "sista nationella administratören" in text_of(response)
    response = client.post(
        f"/admin/users/{national.id}", data=_edit_form(client, national, roles="coordinator")
    )
    assert response.status_code == 409 and "sista nationella administratören" in text_of(response)
    db_session.expire_all()
    kept = db_session.get(User, national.id)
    assert kept.unit_id is None and "admin" in kept.role_set
    assert _changes(db_session) == []
    # With another national administrator, it may be given a unit.
    make_user(None, roles="admin", username="riks-2-{n}")
    response = client.post(
        f"/admin/users/{national.id}", data=_edit_form(client, national, unit_id=parties.region.id)
    )
    assert response.status_code == 302


def test_a_second_administrator_can_be_disabled_while_another_remains(
    as_admin, db_session, make_user, parties
):
    other = make_user(parties.region, roles="admin")
    assert _post(as_admin, f"/admin/users/{other.id}/disable").status_code == 302
    db_session.expire_all()
    assert not db_session.get(User, other.id).active


def test_an_administrator_left_alone_cannot_take_their_own_admin_role_away(
    db_session, make_user, parties, now, registry
):
    from sipflow.admin import users
    from sipflow.db import unit_of_work
    from sipflow.errors import UserError

    last = make_user(parties.region, roles="admin")
    regional = make_user(parties.region, roles="staff,admin")
    with unit_of_work(db_session):
        users.disable_user(db_session, last, regional, now=now)
    with pytest.raises(UserError), unit_of_work(db_session):
        users.update_user(
            db_session,
            last,
            last,
            display_name=last.display_name,
            email="last@example.se",
            unit_id=last.unit_id,
            roles="staff",
            coordinator_scope="",
            now=now,
            registry=registry,
        )


# --- The administration log ------------------------------------------------------------------------------


def test_every_user_action_is_logged_and_shown_on_the_log_page(as_admin, db_session, admin, parties):
    user = parties.municipality_user
    for action in ("disable", "enable", "sessions/end", "reset-password"):
        assert _post(as_admin, f"/admin/users/{user.id}/{action}").status_code == 302, action
    actions = [c.action for c in _changes(db_session)]
    assert actions == ["user.disable", "user.enable", "user.end_sessions", "user.reset_link"]
    assert all(c.actor_user_id == admin.id and c.target_id == user.id for c in _changes(db_session))
    page = as_admin.get("/admin/log")
    html = text_of(page)
    assert page.status_code == 200
    # Each action, target and field in Swedish words, never the stored codes.
    labels = ["Användare avstängd", "Användare aktiverad", "Användare utloggad överallt"]
    labels.append("Länk för att välja nytt lösenord skickad")
    for label in labels:
        assert label in html
    for action in actions:
        assert action not in html
    assert "Ada Admin" in html
    assert f'/admin/users/{user.id}">Användare: {user.display_name}</a>' in html  # a link to the target
    assert "Aktivt: <del>Ja</del> → <ins>Nej</ins>" in seen(html)  # the readable diff of disable
    assert "True" not in html and "False" not in html
    # Newest first.
    assert html.index("Länk för att välja nytt lösenord skickad") < html.index("Användare avstängd")


def test_the_log_page_names_actions_targets_and_fields_in_swedish(as_admin, db_session, admin, now):
    from sipflow.admin.changes import record_change

    logged = [
        (
            "unit.edit",
            "unit",
            {"is_health_care": False, "kind": "other"},
            {"is_health_care": True, "kind": "bup"},
        ),
        ("organisation.edit", "organisation", {"name": "Gamla"}, {"name": "Nya"}),
        (
            "user.update",
            "user",
            # Units no longer known (a restored log, say): their ids, as stored.
            {"display_name": "A", "unit_id": 999991, "roles": "staff"},
            {"display_name": "B", "unit_id": 999992, "roles": "staff,admin"},
        ),
        ("import.apply", "import", None, {"created": 3, "changed": 0, "unchanged": 1}),
    ]
    for action, kind, before, after in logged:
        record_change(
            db_session,
            actor_user_id=admin.id,
            action=action,
            target_kind=kind,
            target_id=None,
            now=now,
            before=before,
            after=after,
        )
    db_session.commit()
    html = text_of(as_admin.get("/admin/log"))
    for code in (
        "unit.edit",
        "organisation.edit",
        "user.update",
        "import.apply",
        "display_name",
        "unit_id",
        "is_health_care",
        "True",
        "False",
    ):
        assert code not in html, code
    for words in (
        "Enhet ändrad",
        "Organisation ändrad",
        "Användare ändrad",
        "Katalogen importerad",
        "Hälso- och sjukvård (registrerar KVÅ-koder): <del>Nej</del> → <ins>Ja</ins>",
        "Slag: <del>Annan enhet</del>",
        "Namn: <del>A</del> → <ins>B</ins>",
        "Enhet: <del>999991</del> → <ins>999992</ins>",
        "Roller: <del>Personal</del> → <ins>Personal, Administratör</ins>",
        "<li>3 poster skapade</li>",
        "<li>0 poster ändrade</li>",
        "<li>1 post lämnad orörd</li>",
        "Katalogimport",
    ):
        assert words in seen(html), words


def test_the_log_page_names_the_users_units_and_organisations_it_shows_in_one_read(
    as_admin, db_session, admin, parties, now
):
    from support import statements

    from sipflow.admin.changes import record_change

    school = db_session.get(Unit, parties.school.id)
    region = db_session.get(Unit, parties.region.id)
    school_org = db_session.get(Organisation, school.organisation_id)
    user = db_session.get(User, parties.school_user.id)

    def log(action, kind, target_id, before=None, after=None):
        record_change(
            db_session,
            actor_user_id=admin.id,
            action=action,
            target_kind=kind,
            target_id=target_id,
            now=now,
            before=before,
            after=after,
        )

    log("unit.create", "unit", school.id, after={"organisation_id": school_org.id, "name": school.name})
    log("organisation.edit", "organisation", school_org.id, {"name": "Gamla"}, {"name": school_org.name})
    log("user.update", "user", user.id, {"unit_id": region.id}, {"unit_id": school.id})
    db_session.commit()
    with statements(db_session.get_bind()) as few:
        html = text_of(as_admin.get("/admin/log"))
    for words in (
        f"Organisation: – → <ins>{school_org.name}</ins>",
        f"Enhet: <del>Region Kronoberg, {region.name}</del> → <ins>Katedralskolan, {school.name}</ins>",
        f"Användare: {user.display_name}</a>",
        f"<td>Enhet: Katedralskolan, {school.name}</td>",
        f"<td>Organisation: {school_org.name}</td>",
    ):
        assert words in seen(html), words
    # More rows naming more rows: the same number of statements (the names are read once for the page).
    for n in range(5):
        log("user.update", "user", parties.region_user.id, {"unit_id": region.id}, {"unit_id": school.id})
        log("unit.edit", "unit", parties.municipality.id, {"name": f"A{n}"}, {"name": f"B{n}"})
    db_session.commit()
    with statements(db_session.get_bind()) as more:
        as_admin.get("/admin/log")
    assert len(more) == len(few)


def test_the_log_page_filters_by_kind_and_pages_newest_first(as_admin, db_session, admin, now):
    from datetime import timedelta

    from sipflow.admin.changes import record_change
    from sipflow.admin.queries import LOG_PAGE

    for n in range(LOG_PAGE + 3):
        record_change(
            db_session,
            actor_user_id=admin.id,
            action=f"unit.test{n:03d}",
            target_kind="unit",
            target_id=n + 1,
            now=now - timedelta(minutes=n),
        )
    record_change(
        db_session, actor_user_id=None, action="user.create", target_kind="user", target_id=admin.id, now=now
    )
    db_session.commit()
    users_only = text_of(as_admin.get("/admin/log?kind=user"))
    assert "Användare skapad" in users_only and "unit.test000" not in users_only
    first = text_of(as_admin.get("/admin/log?kind=unit"))
    assert "unit.test000" in first and f"unit.test{LOG_PAGE:03d}" not in first
    next_url = first.split('href="/admin/log?')[-1].split('"')[0].replace("&amp;", "&")
    second = text_of(as_admin.get("/admin/log?" + next_url))
    assert f"unit.test{LOG_PAGE:03d}" in second and f"unit.test{LOG_PAGE + 2:03d}" in second
    assert "unit.test000" not in second


def test_the_last_login_is_shown(client, as_admin, db_session, parties):
    user = parties.school_user
    assert "Aldrig" in text_of(as_admin.get(f"/admin/users/{user.id}"))
    from webkit import FreshContextClient

    other = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert login(other, user.username).status_code == 302
    db_session.expire_all()
    assert db_session.get(User, user.id).last_login_at is not None
    page = text_of(as_admin.get(f"/admin/users/{user.id}"))
    assert "Aldrig" not in page.split("Senaste inloggning")[1][:80]


def test_coordinator_scopes_are_stored_one_row_per_code(db_session, make_user, parties, now):
    from sipflow.admin import users
    from sipflow.db import unit_of_work

    admin = make_user(parties.region, roles="admin")
    with unit_of_work(db_session):
        users.invite_user(
            db_session,
            actor=admin,
            username="koll",
            display_name="Koll",
            email="koll@example.se",
            unit_id=parties.region.id,
            roles=["coordinator"],
            now=now,
            coordinator_scope=("07", "0780"),
        )
    rows = db_session.exec(select(CoordinatorScope)).all()
    assert {(r.county_code, r.municipality_code) for r in rows} == {("07", None), (None, "0780")}


@pytest.mark.parametrize(
    "name", ["Anna \u202eevil", "Anna\u200e Berg", "Anna\u2067Berg", "Anna\nBcc: x@x.example"]
)
def test_a_users_name_with_an_invisible_or_control_character_is_refused_at_the_field(
    as_admin, db_session, parties, name
):
    response = _invite_form(
        as_admin,
        username="ny.person",
        display_name=name,
        email="ny@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="staff",
        scope="",
    )
    assert response.status_code == 400
    assert 'id="display_name-error"' in text_of(response)
    assert _user_named(db_session, "ny.person") is None


def test_a_users_name_in_sami_or_arabic_letters_is_kept(as_admin, db_session, parties):
    response = _invite_form(
        as_admin,
        username="ny.person",
        display_name="Áile Ŋuorra-محمد",
        email="ny@vaxjo.example.se",
        unit_id=str(parties.municipality.id),
        roles="staff",
        scope="",
    )
    assert response.status_code == 302
    assert _user_named(db_session, "ny.person").display_name == "Áile Ŋuorra-محمد"
