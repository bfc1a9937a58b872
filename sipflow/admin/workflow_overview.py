"""What the workflows page shows: each loaded workflow file, its diagram, deadlines, reminders and cases."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from sipflow.cases.forms import PARTY_ROLE_LABELS
from sipflow.cases.models import SipCase
from sipflow.workflow.definition import Workflow
from sipflow.workflow.engine import WorkflowRegistry, mermaid_diagram

# The case dates a deadline or reminder counts from (DEADLINE_SOURCES and the reminders' anchors), as the page
# names them; one the file names without a label here shows as written.
DATE_LABELS = {
    "requested_at": _l("the day the SIP was requested"),
    "utskrivningsklar_at": _l("the day the patient was ready for discharge"),
    "follow_up_on": _l("the planned follow-up date"),
    "next_meeting": _l("the next planned meeting"),
}
# The parties a reminder goes to, as the case page names them.
PARTY_LABELS = PARTY_ROLE_LABELS

# Drawing a diagram builds a state machine: once per workflow version and process is enough.
_DIAGRAMS: dict[tuple[str, int], str] = {}


@dataclass(frozen=True)
class WorkflowSummary:
    """One loaded workflow version, its diagram and how many cases run on it."""

    workflow: Workflow
    file_name: str
    diagram: str
    case_count: int


def case_counts(session: Session) -> dict[tuple[str, int], int]:
    """How many cases run on each (workflow, version): one GROUP BY over ix_sipcase_workflow_name_version."""
    rows = session.exec(
        select(SipCase.workflow_name, SipCase.workflow_version, func.count()).group_by(
            SipCase.workflow_name, SipCase.workflow_version
        )
    ).all()
    return {(name, version): count for name, version, count in rows}


def diagram(workflow: Workflow) -> str:
    """The workflow's Mermaid diagram (cached per name and version)."""
    key = (workflow.name, workflow.version)
    if key not in _DIAGRAMS:
        _DIAGRAMS[key] = mermaid_diagram(workflow)
    return _DIAGRAMS[key]


def workflow_summaries(session: Session, registry: WorkflowRegistry) -> list[WorkflowSummary]:
    """Every loaded workflow version by name and version, newest version first within a name."""
    counts = case_counts(session)
    workflows = sorted(registry.workflows(), key=lambda w: (w.name, -w.version))
    return [
        WorkflowSummary(
            workflow=w,
            file_name=w.path.rsplit("/", 1)[-1] if w.path else "",
            diagram=diagram(w),
            case_count=counts.get((w.name, w.version), 0),
        )
        for w in workflows
    ]


def missing_versions(session: Session, registry: WorkflowRegistry) -> list[tuple[str, int, int]]:
    """(workflow, version, cases) for each version cases run on that no loaded file defines: their pages
    cannot be shown until the file is back."""
    loaded = {(w.name, w.version) for w in registry.workflows()}
    return sorted(
        (name, version, count)
        for (name, version), count in case_counts(session).items()
        if (name, version) not in loaded
    )
