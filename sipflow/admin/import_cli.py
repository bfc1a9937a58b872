"""flask --app wsgi sipflow import directory FILE [--dry-run]: the CSV import from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from sipflow.admin import imports
from sipflow.cases.services import huvudansvar_without_active_unit
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.i18n import cli_count, in_cli_language


@click.group("import")
def import_group():
    """Import reference data from files."""


@import_group.command("directory")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and list what it would do; import nothing.")
@with_appcontext
@in_cli_language
def import_directory_command(file: Path, dry_run: bool):
    """Import the organisations, units and users of FILE (CSV): all of it or, on any error, nothing."""
    data = file.read_bytes()
    with Session(current_app.extensions["sipflow.engine"]) as session:
        try:
            with unit_of_work(session):
                report = imports.import_directory(session, data, actor=None, now=now_utc(), apply=not dry_run)
        except imports.ImportBusy as error:
            click.echo(str(error.message), err=True)
            raise SystemExit(1) from None
    for error in report.errors:
        column = f" ({error.column})" if error.column else ""
        click.echo(f"{file.name}:{error.line}{column}: {error.message}", err=True)
    if report.errors:
        count = len(report.errors)
        click.echo(f"{cli_count(count, 'error')}: nothing imported", err=True)
        raise SystemExit(1)
    for outcome, items in (
        ("create", report.created),
        ("change", report.changed),
        ("unchanged", report.unchanged),
    ):
        for planned in items:
            fields = f" ({', '.join(planned.changed_fields)})" if planned.changed_fields else ""
            click.echo(f"line {planned.line}: {outcome} {planned.record} {planned.key}{fields}")
    if report.deactivated_unit_ids:
        with Session(current_app.extensions["sipflow.engine"]) as session:
            left = huvudansvar_without_active_unit(
                session, current_app.extensions["sipflow.workflows"], unit_ids=report.deactivated_unit_ids
            )
        if left:
            # The pages' warning of a deactivation: nobody of the responsible organisation can act on these.
            # A dry run says it of the import to come, while they may still act.
            once = " once the file is imported" if dry_run else ""
            click.echo(
                f"{cli_count(len(left), 'SIP')} still running with no active unit left of the organisation"
                f" with overall responsibility{once}: {', '.join(left)}. On the SIP's page, that"
                " organisation's staff add another of its active units or hand the responsibility over.",
                err=True,
            )
    created = len(report.created)
    verb = "would be" if dry_run else "was" if created == 1 else "were"
    click.echo(
        f"{created} {verb} created, {len(report.changed)} changed, "
        f"{len(report.unchanged)} left alone" + (" (dry run: nothing imported)" if dry_run else "")
    )
