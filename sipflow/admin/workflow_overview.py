"""What the workflows page shows: each loaded workflow file, its steps, deadlines, reminders and cases.

The steps are a table in the words of the file (its state and step labels) and of the code that checks them
(a guard's message); the Mermaid diagram source stays on the page, folded, for documentation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from sipflow.cases.forms import PARTY_ROLE_LABELS
from sipflow.cases.models import SipCase
from sipflow.retention.models import AnonymisedCase
from sipflow.translated import lazy_gettext as _l
from sipflow.web import transition_label
from sipflow.workflow.definition import CREATE_EVENT, Workflow
from sipflow.workflow.engine import WorkflowRegistry, mermaid_diagram
from sipflow.workflow.registry import GUARDS

# The case dates a deadline or reminder counts from (DEADLINE_SOURCES and the reminders' anchors), as the page
# names them; one the file names without a label here shows as written.
DATE_LABELS = {
    "requested_at": _l("the day the SIP was requested"),
    "utskrivningsklar_at": _l("the day the patient was ready for discharge"),
    "follow_up_on": _l("the planned follow-up date"),
    "next_meeting": _l("the next planned meeting"),
    "consent_ends": _l(
        "the last day of consent, of the organisation (or, in a child's SIP, the guardian)"
        " whose consent runs out first"
    ),
}
# The parties a reminder goes to, as the case page names them.
PARTY_LABELS = PARTY_ROLE_LABELS

# Drawing a diagram builds a state machine: once per workflow version and process is enough.
_DIAGRAMS: dict[tuple[str, int], str] = {}


# The first row of every table: a SIP is started (on the menu's New SIP page, named in the menu's words) by
# staff whose organisation becomes its initiator.
START_LABEL = _l("Start the SIP (%(page)s)", page=_l("New SIP"))
START_PARTIES = ("initiator",)


@dataclass(frozen=True)
class Step:
    """One row of a workflow's table of steps, named in the page's language."""

    # The states it may be taken from (none for the start of a SIP) and the state it leads to.
    sources: tuple[str, ...]
    dest: str
    label: str
    # The parties whose organisation may take it, as the case page names them.
    parties: tuple[object, ...]
    # What must hold before it is taken: each guard's message (its name when no area registered it).
    requirements: tuple[object, ...]
    # The deadlines it starts and those it meets, by their labels.
    starts: tuple[str, ...]
    meets: tuple[str, ...]
    closes: bool = False
    withdraws_consent: bool = False


@dataclass(frozen=True)
class WorkflowSummary:
    """One loaded workflow version, its steps, its diagram and how many cases run on it."""

    workflow: Workflow
    file_name: str
    steps: list[Step]
    diagram: str
    case_count: int
    # Per final state: (cases retention has anonymised, when it last did), from anonymised_counts.
    anonymised: dict = field(default_factory=dict)


def steps(workflow: Workflow, locale: str) -> list[Step]:
    """The start of a SIP, then each transition in file order, with the labels of locale."""

    def deadlines(trigger: str, key: str) -> tuple[str, ...]:
        return tuple(
            d.label.get(locale) or d.label.get("sv") or d.kind
            for d in workflow.deadlines
            if trigger in getattr(d, key)
        )

    def requirement(name: str):
        guard = GUARDS.get(name)
        if guard is None:
            return name
        return guard.requirement if guard.requirement is not None else guard.message

    start = Step(
        sources=(),
        dest=workflow.state_label(workflow.initial, locale),
        label=str(START_LABEL),
        parties=tuple(PARTY_LABELS.get(p, p) for p in START_PARTIES),
        requirements=(),
        starts=deadlines(CREATE_EVENT, "started_by"),
        meets=deadlines(CREATE_EVENT, "met_by"),
    )
    return [start] + [
        Step(
            sources=tuple(workflow.state_label(source, locale) for source in t.sources),
            dest=workflow.state_label(t.dest, locale),
            label=transition_label(t, locale),
            parties=tuple(PARTY_LABELS.get(p, p) for p in t.parties),
            requirements=tuple(requirement(name) for name in t.conditions),
            starts=deadlines(t.trigger, "started_by"),
            meets=deadlines(t.trigger, "met_by"),
            closes=t.closes,
            withdraws_consent=t.withdraws_consent,
        )
        for t in workflow.transitions
    ]


def case_counts(session: Session) -> dict[tuple[str, int], int]:
    """How many cases run on each (workflow, version): one GROUP BY over ix_sipcase_workflow_name_version."""
    rows = session.exec(
        select(SipCase.workflow_name, SipCase.workflow_version, func.count()).group_by(
            SipCase.workflow_name, SipCase.workflow_version
        )
    ).all()
    return {(name, version): count for name, version, count in rows}


def anonymised_counts(session: Session) -> dict[tuple[str, int, str], tuple[int, datetime]]:
    """Per (workflow, version, final state): how many cases retention has anonymised and when it last did
    (anonymised_case by its key to sipcase, one GROUP BY): what the retention job did, and when."""
    rows = session.exec(
        select(
            SipCase.workflow_name,
            SipCase.workflow_version,
            AnonymisedCase.final_state,
            func.count(),
            func.max(AnonymisedCase.anonymised_at),
        )
        .join(SipCase, SipCase.id == AnonymisedCase.case_id)
        .group_by(SipCase.workflow_name, SipCase.workflow_version, AnonymisedCase.final_state)
    ).all()
    return {(name, version, state): (count, latest) for name, version, state, count, latest in rows}


def diagram(workflow: Workflow) -> str:
    """The workflow's Mermaid diagram (cached per name and version)."""
    key = (workflow.name, workflow.version)
    if key not in _DIAGRAMS:
        _DIAGRAMS[key] = mermaid_diagram(workflow)
    return _DIAGRAMS[key]


def workflow_summaries(session: Session, registry: WorkflowRegistry, locale: str) -> list[WorkflowSummary]:
    """Every loaded workflow version by name and version, newest version first within a name."""
    counts = case_counts(session)
    anonymised = anonymised_counts(session)
    workflows = sorted(registry.workflows(), key=lambda w: (w.name, -w.version))
    return [
        WorkflowSummary(
            workflow=w,
            file_name=w.path.rsplit("/", 1)[-1] if w.path else "",
            steps=steps(w, locale),
            diagram=diagram(w),
            case_count=counts.get((w.name, w.version), 0),
            anonymised={
                state: done
                for (name, version, state), done in anonymised.items()
                if (name, version) == (w.name, w.version)
            },
        )
        for w in workflows
    ]


def missing_versions(session: Session, workflows: Iterable[Workflow]) -> list[tuple[str, int, int]]:
    """(workflow, version, cases) for each version cases run on that none of workflows (the loaded files,
    the files checked) defines: their pages cannot be shown until the file is back."""
    loaded = {(w.name, w.version) for w in workflows}
    return sorted(
        (name, version, count)
        for (name, version), count in case_counts(session).items()
        if (name, version) not in loaded
    )


def missing_states(session: Session, workflows: Iterable[Workflow]) -> list[tuple[str, int, str, int]]:
    """(workflow, version, state, cases) for each state cases are in that their version's file (among
    workflows) no longer defines (it was edited in place): their pages cannot be shown until it is back.

    The states cases are in come from ix_sipcase_state; only those some version lacks are counted.
    """
    loaded = {(w.name, w.version): w for w in workflows}
    stored = session.exec(select(SipCase.state).distinct()).all()
    lacking = [state for state in stored if any(state not in w.states for w in loaded.values())]
    if not lacking:
        return []
    rows = session.exec(
        select(SipCase.workflow_name, SipCase.workflow_version, SipCase.state, func.count())
        .where(SipCase.state.in_(lacking))
        .group_by(SipCase.workflow_name, SipCase.workflow_version, SipCase.state)
    ).all()
    return sorted(
        (name, version, state, count)
        for name, version, state, count in rows
        if (name, version) in loaded and state not in loaded[(name, version)].states
    )


def warn_of_missing_versions(engine: Engine, registry: WorkflowRegistry, log: logging.Logger) -> None:
    """Log a warning for each version cases run on that no loaded file defines (missing_versions), and for
    each state cases are in that their version's file no longer defines (missing_states), at start.

    Else a removed file is first noticed when someone opens such a case. A database that cannot answer yet
    (not migrated, not reachable) is no reason to stop the start: the check is then left out.
    """
    try:
        with Session(engine) as session:
            missing = missing_versions(session, registry.workflows())
            states_gone = missing_states(session, registry.workflows())
    except SQLAlchemyError as error:
        log.debug("cases per workflow version not counted at start: %s", type(error).__name__)
        return
    finally:
        # No connection of the start is left in the pool for a forked worker to share.
        engine.dispose()
    for name, version, count in missing:
        log.warning(
            "workflow %s version %d: %d %s on it and no workflow file defines it; their pages cannot be "
            "shown until its file is back in the workflow folder",
            name,
            version,
            count,
            "case runs" if count == 1 else "cases run",
        )
    for name, version, state, count in states_gone:
        log.warning(
            "workflow %s version %d: %d %s in state %s, which its workflow file no longer defines; their "
            "pages cannot be shown until the state is back in the file",
            name,
            version,
            count,
            "case is" if count == 1 else "cases are",
            state,
        )
