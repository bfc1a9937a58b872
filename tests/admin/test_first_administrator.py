"""Go live from the command line: on an empty database, db upgrade and user create the first administrator."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from userkit import NEW_PASSWORD, link_path, set_password
from webkit import FreshContextClient, login, text_of

from sipflow import create_app
from sipflow.admin.models import AdminChange, CoordinatorScope
from sipflow.people.models import User


@pytest.fixture
def empty_app(tmp_path):
    """sipflow on a database of its own that holds nothing until `sipflow db upgrade`."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
            "SECRET_KEY": "test-secret-key-0123456789",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "PUBLIC_URL": "https://sip.example.se",
        }
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sipflow", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["sipflow.engine"].dispose()


def _rows(app, model):
    with Session(app.extensions["sipflow.engine"]) as session:
        return list(session.exec(select(model)).all())


def test_the_first_administrator_gets_a_link_that_works_once(empty_app):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "sipflow",
            "user",
            "create",
            "anna.admin",
            "--name",
            "Anna Admin",
            "--email",
            "anna@region.example.se",
            "--role",
            "administrator",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "https://sip.example.se/set-password/" in result.output
    path = link_path(result.output)
    (user,) = _rows(empty_app, User)
    assert user.role_set == {"admin"} and user.unit_id is None
    (change,) = _rows(empty_app, AdminChange)
    assert change.action == "user.create" and change.actor_user_id is None and change.target_id == user.id
    assert "password_hash" not in change.after

    client = FreshContextClient(empty_app, empty_app.response_class, use_cookies=True)
    assert login(client, "anna.admin", "anything at all 123").status_code == 200  # no password yet
    response = set_password(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/users").status_code == 200
    # Once: the same link now says so, and sets nothing.
    second = FreshContextClient(empty_app, empty_app.response_class, use_cookies=True)
    refused = second.get(path)
    assert refused.status_code == 410
    assert "redan använts" in text_of(refused)
    assert login(second, "anna.admin", NEW_PASSWORD).status_code == 302


def test_password_stdin_sets_the_password_for_a_scripted_install(empty_app):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(
        args=["sipflow", "user", "create", "drift", "--name", "Drift", "--role", "admin", "--password-stdin"],
        input=NEW_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "set-password" not in result.output
    client = FreshContextClient(empty_app, empty_app.response_class, use_cookies=True)
    assert login(client, "drift", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "admin", "--password-stdin"], "kort\n", "at least 12 characters"),
        # Each refusal names the option to correct (it said "unit_id:", the user form's field).
        (["--role", "staff", "--email", "s@example.se"], None, "--unit: Staff must belong to a unit"),
        (
            ["--role", "staff", "--unit", "no-such-unit", "--email", "s@example.se"],
            None,
            "--unit: Unknown unit",
        ),
        (["--role", "admin", "--email", "not an address"], None, "--email: "),
        (
            ["--role", "coordinator", "--email", "c@example.se", "--scope", "99"],
            None,
            "--scope: Unknown county code: 99",
        ),
        (["--role", "admin", "--scope", "07"], None, "--scope: Only a coordinator follows"),
    ],
)
def test_bad_input_on_the_command_line_is_said_and_nothing_is_written(empty_app, args, stdin, message):
    runner = empty_app.test_cli_runner()
    command = ["sipflow", "user", "create", "someone", "--name", "Någon", *args]
    result = runner.invoke(args=command, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert _rows(empty_app, User) == [] and _rows(empty_app, AdminChange) == []


def test_a_username_taken_in_another_letter_case_is_refused(empty_app):
    runner = empty_app.test_cli_runner()
    first = ["sipflow", "user", "create", "Anna", "--name", "Anna", "--role", "admin"]
    assert runner.invoke(args=first).exit_code == 0
    result = runner.invoke(args=["sipflow", "user", "create", "anna", "--name", "Anna 2", "--role", "admin"])
    assert result.exit_code != 0 and "This username is taken" in result.output
    assert len(_rows(empty_app, User)) == 1


def test_a_coordinator_made_on_the_command_line_follows_the_counties_it_is_given(empty_app):
    runner = empty_app.test_cli_runner()
    command = ["sipflow", "user", "create", "kerstin", "--name", "Kerstin", "--role", "coordinator"]
    result = runner.invoke(args=[*command, "--email", "k@example.se", "--scope", "07, 0880"])
    assert result.exit_code == 0, result.output
    scopes = {(row.county_code, row.municipality_code) for row in _rows(empty_app, CoordinatorScope)}
    assert scopes == {("07", None), (None, "0880")}
