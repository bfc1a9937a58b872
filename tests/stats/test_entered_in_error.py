"""A case cancelled as entered in error (makulerad, SIP.md) was never a SIP offered, accepted or declined."""

from __future__ import annotations

from datetime import date, timedelta

from support import fire

from sipflow.cases.models import Deadline
from sipflow.stats.services import indicators

NYBRO = "0881"


def _answer(world):
    settings = world.settings()
    settings.threshold = 1  # small known answers: disclosure control is tested apart
    return indicators(world.session, world.query(start="2026-11-01", end="2026-11-30"), settings)


def _table(answer, key):
    return next(t for t in answer["tables"] if t["key"] == key)


def _step(world, case, *, entered_in_error: bool, form: str | None = None) -> str:
    """The trigger of case's workflow from its state into a state marked entered_in_error (or of form)."""
    workflow = world.registry.get(case.workflow_name, case.workflow_version)
    for transition in workflow.transitions_from(case.state):
        if entered_in_error and workflow.states[transition.dest].entered_in_error:
            return transition.trigger
        if form is not None and transition.form == form:
            return transition.trigger
    raise AssertionError((case.state, form))


def _walk(world, case, *forms):
    for form in forms:
        fire(
            world.session,
            world.registry,
            world.user,
            case,
            _step(world, case, entered_in_error=False, form=form),
            now=world.now,
        )


def _cancel(world, case):
    trigger = _step(world, case, entered_in_error=True)
    fire(
        world.session,
        world.registry,
        world.user,
        case,
        trigger,
        now=world.now,
        reason="Registrerad på fel person",
    )


def test_the_files_mark_the_cancelled_end_of_every_workflow_as_entered_in_error(world):
    settings = world.settings()
    assert settings.entered_in_error_steps
    for workflow in world.registry.workflows():
        assert any(state.entered_in_error for state in workflow.states.values()), workflow.name


def test_a_case_cancelled_at_once_or_after_consent_and_a_booked_meeting_is_not_offered(world):
    """The tester's two cases (cancelled at once; consent, meeting booked, then cancelled) count nowhere;
    an open case and a declined one still count as offered."""
    _open = world.case(world.person(NYBRO))
    declined = world.case(world.person(NYBRO))
    _walk(world, declined, "consent_declined")
    at_once = world.case(world.person(NYBRO))
    _cancel(world, at_once)
    booked = world.case(world.person(NYBRO))
    _walk(world, booked, "consent", "preparation", "kallelse")
    _cancel(world, booked)
    assert booked.state == at_once.state
    assert (
        world.registry.get(booked.workflow_name, booked.workflow_version)
        .states[booked.state]
        .entered_in_error
    )
    total = _table(_answer(world), "outcomes")["total"]
    assert (total["offered"], total["accepted"], total["declined"]) == (2, 0, 1)
    assert total["accepted_share"] == 0.0


def test_a_follow_up_of_a_case_entered_in_error_is_not_due(world):
    case = world.case(world.person(NYBRO))
    kept = world.case(world.person(NYBRO))
    due = world.now - timedelta(days=1)
    for each in (case, kept):
        world.session.add(Deadline(case_id=each.id, kind="follow_up", due_at=due, met_at=due))
    world.session.flush()
    _cancel(world, case)
    total = _table(_answer(world), "outcomes")["total"]
    assert (total["follow_ups_due"], total["follow_ups_on_time"]) == (1, 1)


def test_a_held_meeting_of_a_case_later_cancelled_still_counts_with_its_codes(world):
    """Decided: the meeting was held and coded (KVÅ), so it stays among the SIP meetings; only the case is
    left out of the SIPs offered. A wrong code is taken back by a reversal, as for any meeting."""
    case = world.case(world.person(NYBRO))
    world.meeting(case, date(2026, 11, 2), municipality=NYBRO)
    _cancel(world, case)
    answer = _answer(world)
    assert _table(answer, "meetings")["total"]["sips"] == 1
    assert _table(answer, "outcomes")["total"]["offered"] == 0


def test_a_countys_own_workflow_keeps_its_cancelled_end_counted(world, app, tmp_path):
    """Which ending is makulerad is each workflow's own: a county's copy of sip.toml whose "cancel" ends in a
    real "Avbruten" (entered_in_error = false) counts those SIPs as offered, while the national file's
    cancel, the same step into the same state, still voids its own. Told apart by the occasion, which is
    one workflow's (the statistics read it from the covering index)."""
    from pathlib import Path

    from sipflow.cases.models import TransitionLog
    from sipflow.stats.services import settings_from
    from sipflow.workflow.definition import load_workflow_file
    from sipflow.workflow.engine import WorkflowRegistry

    shipped = (Path(app.root_path).parent / "workflows" / "sip.toml").read_text(encoding="utf-8")
    county_file = tmp_path / "sip_kalmar.toml"
    county_file.write_text(
        shipped.replace('name = "sip"', 'name = "sip_kalmar"')
        .replace('occasion = "other_need"', 'occasion = "kalmar_need"')
        .replace("entered_in_error = true", "entered_in_error = false")
        .replace('sv = "SIP"', 'sv = "SIP Kalmar"', 1),
        encoding="utf-8",
    )
    county = load_workflow_file(county_file)
    registry = WorkflowRegistry([*world.registry.workflows(), county])
    national, own = world.case(world.person(NYBRO)), world.case(world.person(NYBRO))
    own.workflow_name, own.occasion = county.name, county.occasion
    for case in (national, own):
        world.session.add(
            TransitionLog(
                case_id=case.id, at=world.now, trigger="cancel", from_state=case.state, to_state="cancelled"
            )
        )
    world.session.flush()
    settings = settings_from(app.config, registry)
    settings.threshold = 1
    answer = indicators(world.session, world.query(start="2026-11-01", end="2026-11-30"), settings)
    assert _table(answer, "outcomes")["total"]["offered"] == 1
