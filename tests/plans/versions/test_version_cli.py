"""flask sipflow plan pdf CASE_REF: writes a version's PDF, refuses unknown cases and versions, is logged."""

from __future__ import annotations

import pytest
from sqlmodel import select

from sipflow.plans.models import PlanVersion
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry


@pytest.fixture
def runner(session_app):
    return session_app.test_cli_runner()


def stored(session, case, number: int) -> PlanVersion:
    return session.exec(
        select(PlanVersion).where(PlanVersion.case_id == case.id, PlanVersion.number == number)
    ).one()


def test_it_writes_the_newest_version_to_the_file(runner, db_session, revised, tmp_path):
    target = tmp_path / "plan.pdf"
    result = runner.invoke(args=["sipflow", "plan", "pdf", revised.case.reference, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == stored(db_session, revised.case, 2).pdf


def test_a_chosen_version_into_a_directory_is_named_by_reference_never_the_personnummer(
    runner, db_session, revised, tmp_path
):
    result = runner.invoke(
        args=["sipflow", "plan", "pdf", revised.case.reference, "--version", "1", "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [written] = list(tmp_path.iterdir())
    assert written.name == f"{revised.case.reference}-v1.pdf"
    assert revised.person.id_number not in written.name and revised.person.id_number not in result.output
    assert written.read_bytes() == stored(db_session, revised.case, 1).pdf


def test_the_large_copy(runner, revised, tmp_path):
    result = runner.invoke(
        args=["sipflow", "plan", "pdf", revised.case.reference, "--large", "--output", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{revised.case.reference}-v2-stor-text.pdf").read_bytes().startswith(b"%PDF")


def test_the_read_is_logged_as_a_print_by_the_system(runner, db_session, revised, tmp_path):
    runner.invoke(
        args=["sipflow", "plan", "pdf", revised.case.reference, "--output", str(tmp_path / "p.pdf")]
    )
    db_session.expire_all()
    last = db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert (last.action, last.user_id, last.case_id, last.person_id) == (
        audit.CASE_PRINT,
        None,
        revised.case.id,
        revised.person.id,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["SIP-1999-NOSUCH"], "no SIP case with reference"),
        (["{ref}", "--version", "7"], "has no plan version 7"),
        (["{ref}", "--version", "0"], "--version"),
        (["{ref}", "--version", "99999999999999999999"], "Invalid value for '--version'"),
        (["{ref}", "--version", "2147483648"], "Invalid value for '--version'"),
    ],
)
def test_unknown_case_or_version_is_a_clear_error_and_writes_nothing(
    runner, revised, tmp_path, extra, message
):
    target = tmp_path / "plan.pdf"
    args = [a.format(ref=revised.case.reference) for a in extra]
    result = runner.invoke(args=["sipflow", "plan", "pdf", *args, "--output", str(target)])
    assert result.exit_code != 0
    assert message in result.output
    assert not target.exists()


def test_a_case_without_an_established_plan(runner, planned, tmp_path):
    result = runner.invoke(
        args=["sipflow", "plan", "pdf", planned.case.reference, "--output", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code != 0
    assert "has no established plan yet" in result.output
