"""`scheduler --once --job NAME`: only the jobs chosen run, an unknown name is a usage error naming the jobs;
retention never runs with --now ahead of the real time (tester: the documented way to run the due reminders
now, `--once --now <later>`, anonymised cases months early, which cannot be undone)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from sipflow.clock import now_utc
from sipflow.jobs import JOBS
from sipflow.retention.jobs import retention_job
from sipflow.retention.models import AnonymisedCase
from sipflow.scheduler import scheduler_command

YEAR = timedelta(days=365)


def _closed(db_session, create_case, ended):
    from sipflow.cases.models import TransitionLog

    case = create_case()
    case.state, case.updated_at = "closed", ended
    db_session.add(case)
    db_session.add(
        TransitionLog(case_id=case.id, at=ended, trigger="close", from_state="follow_up", to_state="closed")
    )
    db_session.commit()
    return case


@pytest.fixture
def due_in_a_month(db_session, create_case, frozen_clock):
    """A case closed so long ago that its retention (ten years) runs out in a month."""
    return _closed(db_session, create_case, now_utc() - 10 * YEAR + timedelta(days=30))


def anonymised(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AnonymisedCase)).one()


def _later() -> str:
    return (now_utc() + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_once_with_a_time_ahead_refuses_retention_and_runs_nothing(app, engine, due_in_a_month):
    ran = []
    result = _invoke_counting(app, ["--once", "--now", _later()], ran)
    assert result.exit_code == 2, result.output
    assert "retention runs only at the real time" in result.output
    assert "--job reminders" in result.output and "--job retention" not in result.output
    assert ran == []
    assert anonymised(engine) == 0
    # What it refused would have anonymised the case.
    assert retention_job(app, now=now_utc() + timedelta(days=90)) == 1


def test_retention_chosen_with_a_time_ahead_is_refused(app, engine, due_in_a_month):
    result = app.test_cli_runner().invoke(
        scheduler_command, ["--once", "--job", "retention", "--now", _later()]
    )
    assert result.exit_code == 2, result.output
    assert "retention runs only at the real time" in result.output
    assert anonymised(engine) == 0


def test_the_jobs_chosen_run_as_if_it_were_then_and_retention_stays_untouched(app, engine, due_in_a_month):
    ran = []
    arguments = ["--once", "--now", _later(), "--job", "reminders", "--job", "outbox"]
    result = _invoke_counting(app, arguments, ran)
    assert result.exit_code == 0, result.output
    assert ran == ["reminders", "outbox"]
    assert anonymised(engine) == 0


def test_retention_runs_at_the_real_time_and_at_a_time_before_it(
    app, engine, db_session, create_case, due_in_a_month
):
    _closed(db_session, create_case, now_utc() - 11 * YEAR)
    earlier = (now_utc() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    runner = app.test_cli_runner()
    result = runner.invoke(scheduler_command, ["--once", "--job", "retention", "--now", earlier])
    assert result.exit_code == 0, result.output
    assert anonymised(engine) == 1
    result = runner.invoke(scheduler_command, ["--once", "--job", "retention"])
    assert result.exit_code == 0, result.output
    assert anonymised(engine) == 1  # the other one is due in a month


def test_an_unknown_job_is_a_usage_error_naming_the_jobs(app):
    ran = []
    result = _invoke_counting(app, ["--once", "--job", "reminders", "--job", "remiders"], ran)
    assert result.exit_code == 2, result.output
    assert "no job remiders" in result.output
    assert "statistics, retention, consent_coverage, consent_ends, reminders, outbox" in result.output
    assert ran == []


def test_job_only_goes_with_once(app):
    result = app.test_cli_runner().invoke(scheduler_command, ["--job", "outbox"])
    assert result.exit_code == 2
    assert "--job only goes with --once" in result.output


def _invoke_counting(app, arguments, ran):
    """Invoke the command with every registered job wrapped to note its id when run."""
    saved = list(JOBS)
    try:
        for index, job in enumerate(saved):

            def counted(app, job=job):
                ran.append(job.id)
                return job.func(app)

            JOBS[index] = type(job)(
                job.id, counted, job.trigger, job.trigger_args, job.run_at_start, job.real_time_only
            )
        return app.test_cli_runner().invoke(scheduler_command, arguments)
    finally:
        JOBS[:] = saved


def test_the_readme_names_every_job_one_may_choose(app):
    from sipflow.config import PROJECT_ROOT

    line = next(
        row
        for row in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if "`scheduler " in row
    )
    named = line[line.index("named with `--job`") : line.index("an unknown name")]
    assert named.count("`") // 2 - 1 == len(JOBS)
    for job in JOBS:
        assert f"`{job.id}`" in named, job.id
