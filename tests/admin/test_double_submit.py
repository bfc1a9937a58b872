"""A double submit of a create form: the request that loses the race on a unique key gets the answer a
sequential duplicate gets (refused at the field, what was typed kept), never a server error; and no
database error's text carries the statement's parameters (names, e-mail addresses, session tokens).

The race is simulated deterministically: the service's check that the key is free is made to look before
the other request's row was committed (it answers "free"), then the INSERT meets that row.
"""

from __future__ import annotations

import io
import logging
import re

import pytest
import sqlalchemy.exc
from directorykit import changes, csv_of, post
from sqlmodel import Session, select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.admin import directory, imports, users
from sipflow.db import get_engine
from sipflow.people.models import Organisation, Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_admin(client, make_user):
    assert login(client, make_user(None, roles="admin").username).status_code == 302
    return client


@pytest.fixture
def check_sees_nothing(monkeypatch):
    """The services' checks of a free key run before the other request's row was committed."""
    monkeypatch.setattr(
        directory, "_free_key", lambda _session, _model, value, _message, *_taken: directory.clean_key(value)
    )
    monkeypatch.setattr(users, "_taken", lambda _session, _column, _values: set())


def _organisation(client, name):
    form = {"key": "fk", "name": name, "kind": "other", "county_code": "", "municipality_code": ""}
    return post(client, "/admin/organisations/new", **form)


def test_the_second_of_two_identical_organisations_is_refused_as_a_sequential_duplicate(
    as_admin, db_session, monkeypatch
):
    assert _organisation(as_admin, "Försäkringskassan").status_code == 302
    sequential = _organisation(as_admin, "Försäkringskassan igen")
    monkeypatch.setattr(
        directory, "_free_key", lambda _s, _m, value, _msg, *_taken: directory.clean_key(value)
    )
    raced = _organisation(as_admin, "Försäkringskassan igen")
    assert raced.status_code == sequential.status_code == 400
    page = text_of(raced)
    assert 'id="key-error"' in page and "Försäkringskassan igen" in page
    assert len(db_session.exec(select(Organisation).where(Organisation.key == "fk")).all()) == 1
    assert len(changes(db_session, "organisation.create")) == 1


def test_the_second_of_two_identical_units_is_refused_at_the_key(
    as_admin, db_session, make_unit, check_sees_nothing
):
    organisation_id = make_unit("region").organisation_id
    form = {"organisation_id": str(organisation_id), "key": "vc-ny", "name": "Ny vc", "kind": "vardcentral"}
    assert post(as_admin, "/admin/units/new", **form).status_code == 302
    raced = post(as_admin, "/admin/units/new", **(form | {"name": "Ny vc igen"}))
    assert raced.status_code == 400
    page = text_of(raced)
    assert 'id="key-error"' in page and "Ny vc igen" in page
    assert len(db_session.exec(select(Unit).where(Unit.key == "vc-ny")).all()) == 1


def test_a_unit_whose_hsa_id_was_taken_meanwhile_is_refused_at_the_hsa_id(
    db_session, app_ctx, now, make_unit, check_sees_nothing, monkeypatch
):
    first = make_unit("region")
    directory.edit_unit(
        db_session,
        None,
        first,
        name=first.name,
        kind=first.kind,
        is_health_care=True,
        email=None,
        hsa_id="SE2321000016-15CQ",
        now=now,
    )
    db_session.commit()
    organisation = db_session.get(Organisation, first.organisation_id)
    # The HSA-id check, too, looked before the other unit had it.
    monkeypatch.setattr(directory, "clean_unit", lambda _session, organisation_id=None, **values: values)
    with pytest.raises(directory.InvalidInput) as refused:
        directory.create_unit(
            db_session,
            None,
            organisation,
            key="annan",
            name="Annan",
            kind="other",
            is_health_care=False,
            email=None,
            hsa_id="SE2321000016-15CQ",
            now=now,
        )
    assert refused.value.field == "hsa_id"


def _invite(client, **values):
    page = text_of(client.get("/admin/users/new"))
    (pairs,) = [p for p in forms_of(page).values() if any(k == "username" for k, _v in p)]
    return client.post("/admin/users/new", data=fill(pairs, **values))


def test_the_second_of_two_identical_invitations_gets_409_at_the_username(
    as_admin, db_session, parties, check_sees_nothing
):
    values = {
        "username": "sara.s",
        "display_name": "Sara Samordnare",
        "email": "sara@vaxjo.example.se",
        "unit_id": str(parties.municipality.id),
        "roles": "staff",
    }
    assert _invite(as_admin, **values).status_code == 302
    # The e-mail check, too, looked before the first invitation was committed.
    raced = _invite(as_admin, **(values | {"email": "sara2@vaxjo.example.se"}))
    assert raced.status_code == 409
    page = text_of(raced)
    assert 'id="username-error"' in page and "sara2@vaxjo.example.se" in page
    assert len(db_session.exec(select(User).where(User.username == "sara.s")).all()) == 1


ORG = "organisation;reg;Region Test;region;;;22;;;;;;"


def test_an_import_that_meets_a_record_made_meanwhile_imports_nothing_and_names_the_line(
    as_admin, db_session, now, monkeypatch
):
    directory.create_organisation(db_session, None, key="reg", name="Region", kind="other", now=now)
    db_session.commit()
    # The import's check looked before the organisation was committed, so it plans to create it.
    monkeypatch.setattr(imports._Planner, "_existing", lambda *_args: {})
    monkeypatch.setattr(
        directory, "_free_key", lambda _s, _m, value, _msg, *_taken: directory.clean_key(value)
    )
    unit = "unit;reg-vc;Vårdcentralen;vardcentral;reg;;;;yes;;;;"
    data = csv_of("organisation;ny;Ny;other;;;;;;;;;", unit, ORG)
    response = as_admin.post(
        "/admin/import",
        data={"csrf_token": _token(as_admin), "file": (io.BytesIO(data), "k.csv"), "apply": "Importera"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400, text_of(response)
    page = re.sub(r"<[^>]+>", "", text_of(response))
    assert "Rad 4 (Nyckel eller användarnamn, key): En annan organisation har denna nyckel." in page
    db_session.expire_all()
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny")).first() is None
    assert db_session.exec(select(Unit).where(Unit.key == "reg-vc")).first() is None
    assert [c.action for c in changes(db_session)] == ["organisation.create"]


def _token(client):
    return csrf_token(text_of(client.get("/admin/import")))


def test_a_database_error_logs_no_parameter_values(db_session, app_ctx, make_user, caplog):
    taken = make_user(None, username="anna.secret", display_name="Anna Hemlig")
    duplicate = User(
        username="anna.secret", display_name="Anna Hemlig", email="anna.hemlig@example.se", password_hash="x"
    )
    db_session.add(duplicate)
    with pytest.raises(sqlalchemy.exc.IntegrityError) as error:
        db_session.flush()
    db_session.rollback()
    logging.getLogger("test").exception("as a request's error is logged", exc_info=error.value)
    for text in (str(error.value), caplog.text):
        assert "Anna Hemlig" not in text and "anna.hemlig@example.se" not in text
        assert duplicate.session_token not in text and taken.session_token not in text
    assert "hidden due to hide_parameters" in str(error.value)
    assert get_engine().hide_parameters


def test_an_import_that_meets_another_writer_at_the_same_moment_is_a_conflict_and_imports_nothing(
    as_admin, db_session, now, monkeypatch
):
    """Two Importera at once: on SQLite the import whose snapshot another request's commit outdated cannot
    write ("database is locked"); it is refused as a conflict to send again, never a server error. On
    PostgreSQL both are written."""
    create = directory.create_organisations

    def after_another_commit(session, *args, **kwargs):
        # The import's transaction has read (its snapshot is taken) when another request commits a write.
        session.exec(select(Organisation)).first()
        with Session(get_engine()) as other:
            annan = directory.NewOrganisation(key="annan", name="Annan organisation", kind="other")
            create(other, None, [annan], now=now)
            other.commit()
        return create(session, *args, **kwargs)

    monkeypatch.setattr(directory, "create_organisations", after_another_commit)
    data = csv_of("organisation;ny;Ny organisation;other;;;;;;;;;")
    response = as_admin.post(
        "/admin/import",
        data={"csrf_token": _token(as_admin), "file": (io.BytesIO(data), "k.csv"), "apply": "Importera"},
        content_type="multipart/form-data",
    )
    if db_session.get_bind().dialect.name != "sqlite":
        # PostgreSQL takes row locks, not the database's: both writers' organisations are kept, nothing lost.
        assert response.status_code == 200 and "Filen är importerad" in text_of(response)
        db_session.expire_all()
        keys = set(db_session.exec(select(Organisation.key).where(Organisation.key.in_(["ny", "annan"]))))
        assert keys == {"ny", "annan"}
        return
    assert response.status_code == 409, text_of(response)
    page = text_of(response)
    assert "inget importerades" in page and "Välj filen igen och importera den." in page
    db_session.expire_all()
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny")).first() is None
    assert changes(db_session, "import.apply") == []
    # Sent again, the file is imported.
    monkeypatch.setattr(directory, "create_organisations", create)
    again = as_admin.post(
        "/admin/import",
        data={"csrf_token": _token(as_admin), "file": (io.BytesIO(data), "k.csv"), "apply": "Importera"},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200 and "Filen är importerad" in text_of(again)
