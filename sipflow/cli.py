"""The sipflow command group: flask --app wsgi sipflow ..."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util import CommandError
from flask import current_app
from flask.cli import with_appcontext

from sipflow.admin.cli import user_group
from sipflow.admin.import_cli import import_group
from sipflow.config import PROJECT_ROOT
from sipflow.db import refresh_statistics
from sipflow.i18n import cli_count
from sipflow.meetings.cli import itip_group
from sipflow.notifications.cli import outbox_group
from sipflow.plans.cli import plan_group
from sipflow.reminders.cli import reminders_group
from sipflow.retention.cli import retention_group
from sipflow.scheduler import scheduler_command
from sipflow.security.cli import access_log_group
from sipflow.stats.cli import stats_command

sipflow_cli = click.Group("sipflow", help="sipflow administration.")
sipflow_cli.add_command(access_log_group)
sipflow_cli.add_command(retention_group)
sipflow_cli.add_command(outbox_group)
sipflow_cli.add_command(itip_group)
sipflow_cli.add_command(plan_group)
sipflow_cli.add_command(reminders_group)
sipflow_cli.add_command(scheduler_command)
sipflow_cli.add_command(user_group)
sipflow_cli.add_command(import_group)
sipflow_cli.add_command(stats_command)


def alembic_config(database_url: str) -> AlembicConfig:
    """The Alembic configuration for migrations/, pointed at database_url."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # Dated file names, as Indico does: the history reads in order in a directory listing.
    cfg.set_main_option(
        "file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s"
    )
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


@sipflow_cli.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply every migration not yet applied."""
    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), "head")
    # New indexes are only chosen well once the planner has statistics about them.
    with current_app.extensions["sipflow.engine"].connect() as connection:
        refresh_statistics(connection)
    click.echo("database is up to date")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str):
    """Undo the migrations after REVISION: the newest migration of the release you go back to.

    An earlier release's code cannot do it (its `db upgrade` does not know this release's revisions), so
    this release's own downgrades run; what a later migration added (a new column's values) is lost.
    `base`, which would drop every table, is refused.
    """
    if revision.strip().lower() == "base":
        raise click.UsageError("db downgrade does not drop the whole database: name the revision to go to")
    try:
        command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    except (
        CommandError
    ) as refused:  # a migration that cannot be undone without loss says why; nothing changed
        raise click.ClickException(str(refused)) from None
    click.echo(f"database is at {revision}")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@with_appcontext
def db_revision(message: str):
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=True)


@sipflow_cli.group("workflow")
def workflow_group():
    """Workflow definitions."""


@workflow_group.command("diagram")
@click.argument("name")
@with_appcontext
def workflow_diagram(name: str):
    """Print the workflow NAME (its newest version), or the workflow file NAME, as a Mermaid diagram."""
    from sipflow.workflow.engine import mermaid_diagram

    registry = current_app.extensions["sipflow.workflows"]
    if name in registry.names():
        click.echo(mermaid_diagram(registry.latest(name)))
        return
    path = Path(name)
    if path.suffix != ".toml" and not path.is_file():
        raise click.BadParameter(
            f"unknown workflow {name!r}; known: {', '.join(registry.names())}; or a workflow file (.toml)"
        )
    # A county's file before it is deployed: drawn as the start would read it, so a mistake is refused
    # here with the check's words rather than drawn.
    from sipflow.areas import load_areas
    from sipflow.workflow.definition import WorkflowError, load_workflow_file

    load_areas()
    if not path.is_file():
        raise click.BadParameter(f"no such file: {name}")
    try:
        workflow = load_workflow_file(path)
    except WorkflowError as error:
        click.echo(error.with_line(), err=True)
        raise SystemExit(1) from None
    click.echo(mermaid_diagram(workflow))


@workflow_group.command("check")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--cases",
    "with_cases",
    is_flag=True,
    help="Also warn of each workflow version cases in the database run on that none of FILES defines, and of "
    "each state cases are in that their version's file does not define (give every file of the folder).",
)
@with_appcontext
def workflow_check(files: tuple[Path, ...], with_cases: bool):
    """Validate workflow FILES, each and together, as the start validates the workflow folder."""
    from sipflow.areas import load_areas
    from sipflow.workflow.definition import WorkflowError, load_workflow_file
    from sipflow.workflow.engine import refuse_clash, refuse_misnamed

    load_areas()

    failed = False
    # As the app's start: each file named by its workflow and version, one file per name and version, one
    # workflow per occasion and one occasion per workflow.
    checked = []
    # A file checked alone (a county's new file, before it is copied in) is checked beside the files of the
    # workflow folder too, those no file given replaces (by file name): else the check said ok to a file
    # the start then refused beside them, and the service did not start.
    folder = current_app.config["WORKFLOWS_DIR"]
    given = {path.name for path in files}
    beside = [
        w for w in current_app.extensions["sipflow.workflows"].workflows() if Path(w.path).name not in given
    ]
    for path in files:
        if path.suffix != ".toml":
            click.echo(
                f"warning: {path.name}: only *.toml files are loaded; the start ignores this one", err=True
            )
        try:
            workflow = load_workflow_file(path)
            refuse_misnamed(workflow)
            refuse_clash(workflow, checked)
            try:
                refuse_clash(workflow, beside)
            except WorkflowError as error:
                where = f"that file is in the workflow folder {folder}, beside which the start loads this one"
                raise WorkflowError(f"{error}; {where}") from None
        except WorkflowError as error:
            click.echo(error.with_line(), err=True)
            failed = True
            continue
        checked.append(workflow)
        states = cli_count(len(workflow.states), "state")
        click.echo(f"{path.name}: ok ({workflow.name} v{workflow.version}, {states})")
    if with_cases and not _warn_of_cases_without_file(checked):
        failed = True
    if failed:
        raise SystemExit(1)


def _warn_of_cases_without_file(workflows: list) -> bool:
    """Warn on stderr of each version cases run on that none of workflows defines, and of each state cases
    are in that their version's file among workflows does not define; False when the database cannot say
    (its error named)."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from sipflow.admin.workflow_overview import missing_states, missing_versions

    try:
        with Session(current_app.extensions["sipflow.engine"]) as session:
            missing = missing_versions(session, workflows)
            states_gone = missing_states(session, workflows)
    except SQLAlchemyError as error:
        click.echo(f"cases not counted: the database did not answer ({type(error).__name__})", err=True)
        return False
    for name, version, count in missing:
        cases = "1 case runs" if count == 1 else f"{count} cases run"
        click.echo(
            f"warning: workflow {name} version {version}: {cases} on it and none of the files defines it; "
            "their pages cannot be shown without its file: keep that version's file in the workflow folder "
            "(a change is a new version, in a file beside it)",
            err=True,
        )
    for name, version, state, count in states_gone:
        cases = "1 case is" if count == 1 else f"{count} cases are"
        # What to do: the state back in place, and the change as the next version of the workflow.
        following = max((w.version for w in workflows if w.name == name), default=version) + 1
        click.echo(
            f"warning: workflow {name} version {version}: {cases} in state {state}, which none of the files "
            f"defines for that version; their pages cannot be shown without it: keep the state in the file "
            f"of version {version} and make the change a new version, {name}_v{following}.toml, beside it",
            err=True,
        )
    return True


@contextmanager
def _load_progress(total: int, show: bool | None):
    """A progress callback on stderr: a bar on a terminal, one line per batch when asked, else none."""
    stderr = sys.stderr
    terminal = stderr.isatty()
    if not (terminal if show is None else show):
        yield None
        return
    if terminal:
        with click.progressbar(length=total, label="synthetic cases", file=stderr, show_pos=True) as bar:
            yield bar.update
        return
    # Not a terminal (a log file, CI): one line per batch instead of a bar redrawn in place.
    started, done = time.monotonic(), 0

    def line(size: int) -> None:
        nonlocal done
        done += size
        rate = done / max(time.monotonic() - started, 1e-9)
        left = (total - done) / rate if rate else 0.0
        click.echo(
            f"synthetic cases: {done}/{total} ({100 * done // total} %), {rate:,.0f} cases/s, "
            f"about {left:,.0f} s left",
            err=True,
        )

    yield line


# The most synthetic cases one demo run adds: ten times the million the statistics are measured at.
DEMO_CASES_MAX = 10_000_000


@sipflow_cli.command("demo")
@click.option(
    "--cases",
    "extra_cases",
    type=click.IntRange(0, DEMO_CASES_MAX),
    default=0,
    show_default=True,
    help=f"Synthetic cases to add (0 to {DEMO_CASES_MAX:,}).",
)
@click.option("--seed", default=2026, show_default=True, help="Random seed for the synthetic cases.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show the synthetic load's progress on stderr (default: when stderr is a terminal).",
)
@with_appcontext
def demo(extra_cases: int, seed: int, progress: bool | None):
    """Load reference data, the Kronoberg demo organisations, users and personas (idempotent)."""
    from sipflow.demo import load_demo, load_synthetic_cases

    summary = load_demo()
    click.echo(summary)
    if extra_cases:
        started = time.monotonic()
        with _load_progress(extra_cases, progress) as update:
            added = load_synthetic_cases(extra_cases, seed=seed, progress=update)
        elapsed = time.monotonic() - started
        rate = added / max(elapsed, 1e-9)
        click.echo(f"added {cli_count(added, 'synthetic case')} in {elapsed:.1f} s ({rate:,.0f} cases/s)")
