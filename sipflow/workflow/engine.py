"""Workflow registry, one transitions Machine per workflow version (a model per step), Mermaid diagrams."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from transitions import Machine
from transitions.extensions.diagrams import GraphMachine

from sipflow.workflow.definition import Workflow, WorkflowError, load_workflow_file
from sipflow.workflow.registry import EFFECTS, GUARDS

if TYPE_CHECKING:
    from sipflow.workflow.context import TransitionContext


log = logging.getLogger(__name__)

# Every workflow loaded in this process, by name and version (the last one loaded wins).
_LOADED: dict[tuple[str, int], Workflow] = {}


def loaded_workflow(name: str, version: int) -> Workflow | None:
    """A workflow some registry of this process loaded: for scripts and tests that hold no registry."""
    return _LOADED.get((name, version))


class WorkflowVersionMissing(KeyError):
    """A case's workflow version that no loaded file defines (its file was removed or its version changed)."""

    def __init__(self, name: str, version: int):
        super().__init__((name, version))
        self.name = name
        self.version = version


def refuse_clash(workflow: Workflow, others: list[Workflow]) -> None:
    """Refuse workflow beside the others loaded with it, naming both files and the key: a name and version
    another file defines too, an occasion another workflow (another name) declares, an occasion other
    than another version's of the same workflow, or a label (in any language, letter case and spacing
    aside) another workflow has.

    The versions of one workflow share its occasion. Two workflows may not: the cases store only the
    occasion, so statistics by occasion would count both workflows' cases in one row, named by whichever
    workflow's label came first; and one workflow's versions with two occasions would be two rows of the
    statistics under one label. Nor may two workflows share a label: staff choose the kind of SIP by it in
    Ny SIP, and the statistics by occasion name each workflow's row by it (a copy of sip.toml keeping
    `label = { sv = "SIP", ... }` was offered as a second "SIP").
    """
    file = Path(workflow.path).name
    for other in others:
        if Path(other.path).resolve() == Path(workflow.path).resolve():
            continue  # the same file named twice (the check's command line)
        other_file = Path(other.path).name
        if (other.name, other.version) == (workflow.name, workflow.version):
            after = workflow.version + 1
            raise WorkflowError(
                f"{file}: version: workflow {workflow.name!r} version {workflow.version} is also defined in "
                f"{other_file}: a version is one file, and a change of its rules a new version "
                f"(version = {after}, in {workflow.name}_v{after}.toml)"
            )
        if other.occasion == workflow.occasion and other.name != workflow.name:
            raise WorkflowError(
                f"{file}: occasion: {workflow.occasion!r} is already the occasion of workflow {other.name!r} "
                f"({other_file}): each workflow needs an occasion of its own (statistics by occasion "
                "would count both in one row)"
            )
        if other.name == workflow.name and other.occasion != workflow.occasion:
            raise WorkflowError(
                f"{file}: occasion: {workflow.occasion!r} differs from {other.occasion!r}, the occasion of "
                f"{workflow.name} version {other.version} ({other_file}): the versions of a workflow share "
                "its occasion (statistics by occasion would show two rows with its label)"
            )
        if other.name != workflow.name:
            for locale, text in workflow.label.items():
                if _label_key(text) == _label_key(other.label.get(locale, "")):
                    raise WorkflowError(
                        f"{file}: label.{locale}: {text!r} is already the label of workflow {other.name!r} "
                        f"({other_file}): each workflow needs a label of its own in every language (staff "
                        "choose the kind of SIP by it, and the statistics name its row by it)"
                    )


def _label_key(text: str) -> str:
    """A workflow's label as people read it: letter case and spacing aside."""
    return " ".join(text.split()).casefold()


def file_names(workflow: Workflow) -> tuple[str, ...]:
    """The names workflow's file may have: <name>_v<version>.toml, and <name>.toml for version 1 (the
    first one listed is the one to give)."""
    numbered = f"{workflow.name}_v{workflow.version}.toml"
    return (f"{workflow.name}.toml", numbered) if workflow.version == 1 else (numbered,)


def refuse_misnamed(workflow: Workflow) -> None:
    """Refuse a file whose name is not its workflow's and version's (file_names), saying the name to give:
    the folder then shows which file holds which version, and a new version cannot overwrite another."""
    file = Path(workflow.path).name
    names = file_names(workflow)
    if file not in names:
        raise WorkflowError(
            f"{file}: name: workflow {workflow.name!r} version {workflow.version} must be in a file named "
            + " or ".join(names)
        )


def ignored_files(folder: str | Path) -> list[str]:
    """The names of the files in folder that are not loaded, since only *.toml files are (hidden ones
    such as .gitkeep left out)."""
    return sorted(
        path.name
        for path in Path(folder).iterdir()
        if path.is_file() and path.suffix != ".toml" and not path.name.startswith(".")
    )


class WorkflowRegistry:
    """Every workflow version found in a folder, validated once at start."""

    def __init__(self, workflows: list[Workflow]):
        self._by_key = {(w.name, w.version): w for w in workflows}
        _LOADED.update(self._by_key)
        self._latest: dict[str, Workflow] = {}
        for w in sorted(workflows, key=lambda w: w.version):
            self._latest[w.name] = w

    @classmethod
    def from_folder(cls, folder: str | Path) -> WorkflowRegistry:
        """Load and validate every *.toml file in folder against the registered blocks; refuse a file named
        otherwise than its workflow and version (refuse_misnamed) or that clashes with another
        (refuse_clash). The folder's other files are named in the log (ignored_files)."""
        workflows: list[Workflow] = []
        for path in sorted(Path(folder).glob("*.toml")):
            workflow = load_workflow_file(path)
            refuse_misnamed(workflow)
            refuse_clash(workflow, workflows)
            workflows.append(workflow)
        ignored = ignored_files(folder) if Path(folder).is_dir() else []
        if ignored:
            log.warning("workflow folder: only *.toml files are loaded; ignored: %s", ", ".join(ignored))
        if not workflows:
            raise WorkflowError(f"{folder}: no workflow files found")
        return cls(workflows)

    def get(self, name: str, version: int) -> Workflow:
        """The exact version a case was started on; WorkflowVersionMissing when no loaded file defines it."""
        try:
            return self._by_key[(name, version)]
        except KeyError:
            raise WorkflowVersionMissing(name, version) from None

    def has_ended(self, case) -> bool:
        """Whether case (anything with workflow_name, workflow_version and state) is in a final state."""
        return self.get(case.workflow_name, case.workflow_version).is_final(case.state)

    def latest(self, name: str) -> Workflow:
        """The newest version, used for new cases."""
        return self._latest[name]

    def names(self) -> list[str]:
        """The workflow names, sorted."""
        return sorted(self._latest)

    def workflows(self) -> list[Workflow]:
        """Every loaded version of every workflow."""
        return list(self._by_key.values())


class CaseFlow:
    """The object a Machine drives: it proxies the case's state and carries the context to guards."""

    def __init__(
        self, ctx: TransitionContext, machine: Machine, set_state: Callable[[str], None] | None = None
    ):
        self.ctx = ctx
        self.failed_guard: str | None = None
        self._set_state = set_state
        self._machine = machine

    @property
    def state(self) -> str:
        """The case's current state."""
        return self.ctx.case.state

    @state.setter
    def state(self, value: str) -> None:
        if self._set_state is not None:
            self._set_state(value)
        else:
            self.ctx.case.state = value

    def trigger(self, name: str) -> bool:
        """Fire the workflow's event name on this case: True when a transition was taken, False when a guard
        refused it; MachineError when the case's state has no such transition, AttributeError for no event
        of that name (as a model's trigger does)."""
        event = self._machine.events.get(name)
        if event is None:
            raise AttributeError(f"Do not know event named '{name}'.")
        return event.trigger(self)


def _guard_callback(name: str):
    guard = GUARDS[name]

    def check(event) -> bool:
        flow: CaseFlow = event.model
        held = guard.check(flow.ctx)
        if not held and flow.failed_guard is None:
            flow.failed_guard = name
        return held

    check.__name__ = name
    return check


def _effect_callback(name: str):
    effect = EFFECTS[name]

    def run(event) -> None:
        effect(event.model.ctx)

    run.__name__ = name
    return run


_MACHINE_CONFIGS: dict[tuple[str, int, str], dict] = {}


def machine_config(workflow: Workflow) -> dict:
    """The keyword arguments for a transitions Machine built from workflow (built once per workflow)."""
    key = (workflow.name, workflow.version, workflow.path)
    if key not in _MACHINE_CONFIGS:
        _MACHINE_CONFIGS[key] = _build_machine_config(workflow)
    return _MACHINE_CONFIGS[key]


def _build_machine_config(workflow: Workflow) -> dict:
    return {
        "states": list(workflow.states),
        "transitions": [
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": [_guard_callback(name) for name in t.conditions],
                "after": [_effect_callback(name) for name in t.effects],
            }
            for t in workflow.transitions
        ],
        "auto_transitions": False,
        "send_event": True,
        "model_attribute": "state",
        "ignore_invalid_triggers": False,
    }


_MACHINES: dict[tuple[str, int, str], Machine] = {}
_MACHINES_LOCK = threading.Lock()


def _machine(workflow: Workflow) -> Machine:
    """The one Machine of workflow in this process, built on first use (models come and go per step)."""
    key = (workflow.name, workflow.version, workflow.path)
    machine = _MACHINES.get(key)
    if machine is None:
        with _MACHINES_LOCK:
            machine = _MACHINES.get(key)
            if machine is None:
                machine = Machine(model=None, initial=workflow.initial, **machine_config(workflow))
                _MACHINES[key] = machine
    return machine


def case_flow(
    workflow: Workflow, ctx: TransitionContext, set_state: Callable[[str], None] | None = None
) -> CaseFlow:
    """A CaseFlow for this step, driven by the workflow's shared Machine from the stored state.

    Building a Machine costs more than the step's own work, so there is one per workflow version. A step's
    flow is not added to the Machine as a model: its event is fired with the flow (Event.trigger, what a
    model's trigger method calls), which reads and sets the state through the flow alone. Adding and
    removing a model at every step set up a method per event and state on it, under a lock, for nothing.
    The states, events and callbacks are read-only, so request threads share the Machine. set_state, if
    given, is how the case takes a new state (the caller may have written it to the database already).
    """
    return CaseFlow(ctx, _machine(workflow), set_state)


def mermaid_diagram(workflow: Workflow) -> str:
    """Return the workflow as a Mermaid stateDiagram-v2, guards shown on the edges."""
    config = {
        "states": list(workflow.states),
        "transitions": [
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "conditions": list(t.conditions),
            }
            for t in workflow.transitions
        ],
        "auto_transitions": False,
    }
    # Drawing only: the machine is its own model and the condition names are never called.
    machine = GraphMachine(
        initial=workflow.initial,
        graph_engine="mermaid",
        show_conditions=True,
        title=f"{workflow.name} v{workflow.version}",
        **config,
    )
    # The highlighting of a "current" state means nothing for a definition; keep the diagram plain.
    lines = machine.get_graph().draw(None).splitlines()
    lines = [line for line in lines if not line.strip().startswith(("classDef ", "Class "))]
    lines += [f"  {state.name} --> [*]" for state in workflow.states.values() if state.final]
    return "\n".join(lines)
