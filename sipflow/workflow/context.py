"""What guards and effects see of the transition being fired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

    from sipflow.cases.models import SipCase
    from sipflow.people.models import User
    from sipflow.workflow.definition import Workflow


@dataclass
class TransitionContext:
    """The unit of work a transition runs in: case, actor, clock and the form's data."""

    session: Session
    case: SipCase
    actor: User | None
    now: datetime
    data: dict = field(default_factory=dict)
    # The trigger being fired, as the workflow file names it (an effect records which step froze a plan).
    trigger: str = ""
    details: dict = field(default_factory=dict)
    # Answers several guards need, looked up once per transition (after the form input is written).
    memo: dict = field(default_factory=dict)
    # The workflow the case runs on (its keys: childs_view says a child's SIP); None where a caller has none.
    workflow: Workflow | None = None
    # When the step's act took place, when its form says it was done before now (a kallelse recorded from
    # another system): the deadlines the step meets are met then, not when it was recorded.
    done_at: datetime | None = None
