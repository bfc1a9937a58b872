"""flask --app wsgi sipflow user ...: create users from the command line (the first administrator)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from sipflow.admin.users import create_user_from_cli, set_password_url
from sipflow.clock import now_utc
from sipflow.db import get_engine, unit_of_work
from sipflow.errors import UserError
from sipflow.i18n import cli_count, in_cli_language
from sipflow.security.password_policy import new_password_problem
from sipflow.security.passwords import hash_password

user_group = click.Group("user", help="Users (the first administrator, scripted installs).")

ROLE_CHOICES = ("administrator", "admin", "staff", "coordinator")
# A refusal names what was typed wrong as the command's option, not as the user form's field.
OPTION_OF_FIELD = {
    "username": "USERNAME",
    "display_name": "--name",
    "email": "--email",
    "roles": "--role",
    "unit_id": "--unit",
    "scope": "--scope",
}


@user_group.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The user's name as pages show it.")
@click.option(
    "--email", default=None, help="The user's e-mail address (required for staff and coordinators)."
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLE_CHOICES, case_sensitive=False),
    help="administrator, staff or coordinator; repeat for several.",
)
@click.option("--unit", "unit_key", default=None, help="The key of the user's unit (required for staff).")
@click.option(
    "--scope",
    "scope",
    default="",
    help="A coordinator's counties and municipalities (SCB codes, e.g. 07 or 0780,0765); none: every county.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (scripted installs) instead of printing a link.",
)
@with_appcontext
@in_cli_language
def create(display_name, email, roles, unit_key, scope, password_stdin, username):
    """Create USERNAME and print a one-time link to choose the password (logged with no actor)."""
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        problem = new_password_problem(password, username=username)
        if problem is not None:
            raise click.ClickException(str(problem))
        password_hash = hash_password(password)
    now = now_utc()
    try:
        with Session(get_engine(), expire_on_commit=False) as session, unit_of_work(session):
            user, token = create_user_from_cli(
                session,
                username=username,
                display_name=display_name,
                email=email,
                unit_key=unit_key,
                roles=roles,
                coordinator_scope=scope,
                now=now,
                password_hash=password_hash,
            )
    except UserError as error:
        where = f"{OPTION_OF_FIELD.get(error.field, error.field)}: " if error.field else ""
        raise click.ClickException(f"{where}{error.message}") from None
    if token is None:
        click.echo(f"user {user.username} created with the password from standard input")
        return
    hours = cli_count(current_app.config["PASSWORD_INVITE_HOURS"], "hour")
    click.echo(f"user {user.username} created; the link to choose the password works once, for {hours}:")
    click.echo(set_password_url(token))
