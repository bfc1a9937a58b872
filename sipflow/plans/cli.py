"""flask --app wsgi sipflow plan pdf CASE_REF: write a version's PDF to a file (an operator's print).

The read is written to the access log as a print of the case by the system (no user: the command runs with
a shell on the server), so the person's loggutdrag shows it like a download from the case page.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlmodel import select

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.i18n import cli_count
from sipflow.plans.pdf import pdf_filename
from sipflow.plans.versions import find_version, version_pdf
from sipflow.routing import MAX_ROW_ID
from sipflow.security import audit

plan_group = click.Group("plan", help="The established plans of SIP cases.")
# Why the log says this read happened: no user and no page, an operator on the server.
CLI_PURPOSE = "utskrift från kommandoraden"


@plan_group.command("pdf")
@click.argument("case_ref")
# A version number as the pages take it (<id:number>): larger ones exist nowhere and overflow the database.
@click.option(
    "--version",
    "number",
    type=click.IntRange(1, MAX_ROW_ID),
    help="Version number (default: the newest).",
)
@click.option("--large", is_flag=True, help="The person's copy in large, plain type.")
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write, or a directory to write SIP-...-vN.pdf into.",
)
@with_appcontext
def pdf(case_ref: str, number: int | None, large: bool, output: Path):
    """Write the PDF of a version of CASE_REF's plan (the newest unless --version) to --output."""
    session = get_session()
    case = session.exec(select(SipCase).where(SipCase.reference == case_ref)).first()
    if case is None:
        raise click.ClickException(f"no SIP case with reference {case_ref!r}")
    version = find_version(session, case, number)
    if version is None:
        if number is None:
            raise click.ClickException(f"{case.reference} has no established plan yet")
        raise click.ClickException(f"{case.reference} has no plan version {number}")
    data = version_pdf(session, version, large=large)
    if data is None:
        raise click.ClickException(f"{case.reference} version {version.number} was removed by retention")
    target = output / pdf_filename(case.reference, version.number, large=large) if output.is_dir() else output
    with unit_of_work(session):
        audit.record_access(
            session, user=None, action=audit.CASE_PRINT, purpose=CLI_PURPOSE, case=case, now=now_utc()
        )
    try:
        target.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"could not write {target}: {error.strerror}") from None
    click.echo(f"wrote {target} ({case.reference}, version {version.number}, {cli_count(len(data), 'byte')})")
