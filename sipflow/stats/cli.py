"""flask --app wsgi sipflow stats: the indicators as CSV, XLSX or JSON, through disclosure control."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlmodel import Session

from sipflow.errors import InvalidInput
from sipflow.i18n import in_cli_language
from sipflow.stats import exports
from sipflow.stats.services import PROGRESS_STEPS, indicators, parse_query, settings_from, single_values

# Above this many days of the whole country the pull is large enough to show a progress bar per table.
LARGE_PULL_DAYS = 366


# Each filter is taken as often as it is given (multiple), so that one given twice is refused by
# services.single_values, as the dashboard refuses it, instead of click keeping the last silently.
@click.command("stats")
@click.option("--from", "start", multiple=True, required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", multiple=True, required=True, help="Last day, YYYY-MM-DD.")
@click.option(
    "--by",
    multiple=True,
    default=["municipality,quarter"],
    show_default=True,
    help="Breakdowns, comma-separated.",
)
@click.option("--county", multiple=True, help="County code (e.g. 08).")
@click.option("--municipality", multiple=True, help="Municipality code (e.g. 0880).")
# Read by parse_query, as the dashboard's field is: the same checks and messages.
@click.option(
    "--compare-years", multiple=True, default=["0"], help="Also the same period in this many earlier years."
)
@click.option("--code", multiple=True, help="Only SIPs with this SIP code (e.g. XU045).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default stdout)."
)
@with_appcontext
@in_cli_language
def stats_command(start, end, by, county, municipality, compare_years, code, fmt, output):
    """Print or write the SIP indicators; any count of 1-4 is shown as "<5", as on the dashboard."""
    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs --output FILE", ctx=click.get_current_context())
    engine = current_app.extensions["sipflow.engine"]
    given = {"from": start, "to": end, "county": county, "municipality": municipality, "by": by}
    given |= {"compare_years": compare_years, "code": code}
    with Session(engine) as session:
        try:
            values, repeated = single_values(given)
            if repeated:
                raise next(iter(repeated.values()))
            query = parse_query(
                session,
                start=values["from"],
                end=values["to"],
                county=values["county"],
                municipality=values["municipality"],
                by=values["by"],
                compare_years=values["compare_years"],
                code=values["code"],
            )
        except InvalidInput as error:
            option = error.field.replace("_", "-")
            raise click.UsageError(f"--{option}: {error.message}") from None
        # The figures' labels and headings in Swedish, as the dashboard's exports give them.
        with force_locale("sv"):
            settings = settings_from(current_app.config, current_app.extensions["sipflow.workflows"])
            large = (query.end - query.start).days * (query.compare_years + 1) > LARGE_PULL_DAYS
            with click.progressbar(
                length=PROGRESS_STEPS, label="Counting", file=sys.stderr if large else _Null()
            ) as bar:
                answer = indicators(session, query, settings, progress=bar.update)
            if fmt == "json":
                data = (json.dumps(answer, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            elif fmt == "csv":
                data = exports.to_csv(answer)
            else:
                data = exports.to_xlsx(answer)
    if output:
        try:
            with open(output, "wb") as handle:
                handle.write(data)
        except OSError as error:
            raise click.ClickException(f"could not write {output}: {error.strerror}") from None
        click.echo(f"written to {output}", err=True)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # bytes as they are (click.get_binary_stream goes in Click 9)
        sys.stdout.buffer.flush()


class _Null:
    """A file that swallows the progress bar of a small pull."""

    def write(self, _text):
        return 0

    def flush(self):
        return None

    def isatty(self):
        return False
