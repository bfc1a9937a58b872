"""The named building blocks a workflow file may use: guards, effects and form inputs.

The workflow core knows no area: each area registers its own blocks (see sipflow/areas.py), and the loader
refuses a file naming one that nobody registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sipflow.workflow.context import TransitionContext


@dataclass(frozen=True)
class Guard:
    """A named predicate and the message shown when it does not hold."""

    check: Callable[[TransitionContext], bool]
    message: object
    # The id of the form field (on the page where the missing thing is entered) the message links to.
    field: str | None = None


GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, Callable[[TransitionContext], None]] = {}
INPUTS: dict[str, Callable[[TransitionContext], None]] = {}


def register_guard(
    name: str, check: Callable[[TransitionContext], bool], message: object, *, field: str | None = None
) -> None:
    """Let workflow files name check as a guard; message is shown when it does not hold (at field, if any)."""
    GUARDS[name] = Guard(check, message, field)


def register_effect(name: str, fn: Callable[[TransitionContext], None]) -> None:
    """Let workflow files name fn as an effect of a transition."""
    EFFECTS[name] = fn


def register_input(kind: str, fn: Callable[[TransitionContext], None]) -> None:
    """Let workflow files name kind as a transition's form; fn writes what the form collected."""
    INPUTS[kind] = fn
