"""Valid input for every kind of transition form: used by the demo data, the benchmark and the tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from sqlmodel import Session, select

from sipflow.cases import services
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import participating_organisations
from sipflow.clock import to_local
from sipflow.people.identifiers import last_day_as_minor
from sipflow.people.models import Person, User
from sipflow.security import access
from sipflow.workflow.definition import Workflow
from sipflow.workflow.engine import WorkflowRegistry, loaded_workflow

# Scripted input other areas provide for the form kinds they own: (session, case, now) -> data. The plan
# area's writes a complete plan first, as a user would in the editor.
SCRIPTED_INPUTS: dict[str, Callable[[Session, SipCase, datetime], dict]] = {}


def register_scripted_input(form: str, fn: Callable[[Session, SipCase, datetime], dict]) -> None:
    """Let scripted_input answer for form with fn (the area that owns the form registers it)."""
    SCRIPTED_INPUTS[form] = fn


def _workflow_of(case: SipCase) -> Workflow:
    """The workflow the case runs on: the application's, else the one a registry of this process loaded."""
    if has_app_context():
        try:
            return current_app.extensions["sipflow.workflows"].get(case.workflow_name, case.workflow_version)
        except KeyError:
            pass
    workflow = loaded_workflow(case.workflow_name, case.workflow_version)
    if workflow is None:
        raise LookupError(f"workflow {case.workflow_name} v{case.workflow_version} is not loaded")
    return workflow


def scripted_input(
    session: Session, case: SipCase, form: str, now: datetime, *, workflow: Workflow | None = None
) -> dict:
    """A plausible, valid input for form on case at now (workflow: the case's, else the app's registry's).

    A form another area registered (SCRIPTED_INPUTS) answers for itself: the plan's writes a complete plan
    into the caller's session first, as a user would in the editor.
    """
    if form in SCRIPTED_INPUTS:
        return SCRIPTED_INPUTS[form](session, case, now)
    today: date = to_local(now).date()
    # The child's view and the guardians' consent are asked for when the workflow says so (childs_view).
    childs_view = (workflow or _workflow_of(case)).childs_view
    organisations = participating_organisations(session, case.id)
    given_by = "guardian" if childs_view else "person"
    guardian_ids = (
        session.exec(
            select(Participant.id).where(
                Participant.case_id == case.id,
                Participant.kind == "guardian",
                Participant.active,
            )
        ).all()
        if form in ("consent", "consent_declined")
        else []
    )
    if form == "consent":
        valid_until = today + timedelta(days=365)
        person = session.get(Person, case.person_id)
        if childs_view and person is not None and person.birth_date is not None:
            # A guardian's consent ends with custody (consent.services.guardians_last_day).
            valid_until = min(valid_until, last_day_as_minor(person.birth_date))
        return {
            "guardian_participant_ids": list(guardian_ids),
            "given_by": given_by,
            "form": "written",
            "valid_until": valid_until,
            "organisation_ids": [o.id for o in organisations],
            "information_scope": "Uppgifter som behövs för planeringen",
        }
    if form == "consent_declined":
        # A child's refusal is a guardian's (consent.services._givers): the guardians taking part decline.
        return {
            "given_by": given_by,
            "guardian_participant_ids": list(guardian_ids),
            "form": "oral",
            "reason": "Vill inte ha en SIP just nu",
        }
    if form == "preparation":
        return {
            "questions": "Vem gör vad? Hur ser boendet ut?",
            "own_goals": "Att få bo kvar hemma",
            "child_view": "Vill gå kvar i samma skola." if childs_view else None,
        }
    if form == "kallelse":
        return {
            "sent_at": now,
            "channel": "LINK",
            "meeting_starts_at": now + timedelta(days=7),
            "meeting_minutes": 60,
            "mode": "video",
        }
    if form == "meeting_outcome":
        taking_part = session.exec(
            select(Participant.id, Participant.organisation_id)
            .where(Participant.case_id == case.id, Participant.active)
            .order_by(Participant.id)
        ).all()
        # An organisation the consent in force leaves out cannot see the SIP, so it did not attend.
        # (A private person's organisation is None: they attend.)
        attending = {None, *access.organisations_seeing_case(session, case, now=now)}
        return {
            "held_at": now,
            # Scripted steps run at any moment, not on the booked day: say the meeting was moved.
            "moved": True,
            "mode": "mixed",
            "attendance": {
                pid: "absent" if organisation_id not in attending else "video" if i % 2 else "on_site"
                for i, (pid, organisation_id) in enumerate(taking_part)
            },
            "decisions": [
                {
                    "text": "Kontakta boendestödet",
                    "owner": f"organisation:{case.initiating_organisation_id}",
                    "due_on": today + timedelta(days=14),
                }
            ],
        }
    if form == "reason":
        return {"reason": "Enligt överenskommelse"}
    return {}


def fire_scripted(
    session: Session,
    registry: WorkflowRegistry,
    actor: User,
    case: SipCase,
    trigger: str,
    *,
    now: datetime,
    data: dict | None = None,
) -> services.LoggedStep:
    """Fire trigger at the case's current version with data, or the scripted input of the step's form.

    Runs in the caller's transaction: committing or rolling back is the caller's part.
    """
    if data is None:
        workflow = registry.get(case.workflow_name, case.workflow_version)
        transition = workflow.transition(case.state, trigger)
        data = scripted_input(
            session, case, transition.form if transition else "none", now, workflow=workflow
        )
    return services.fire_transition(
        session, registry, actor, case, trigger, expected_version=case.version, now=now, data=data
    )
