"""The named building blocks a workflow file may use: guards, effects, form inputs and reminder parts.

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
    # The message naming what is missing, read from the step that failed (None: the fixed message).
    explain: Callable[[TransitionContext], object | None] | None = None
    # What the workflows page lists a step as requiring, where the message says more than the requirement
    # (to whom it applies, what to do; None: the message).
    requirement: object | None = None
    # The check reads only the case and who takes part, nothing the step's form sends: the step's page asks
    # it before the form is filled and shows its message over the form (cases.services.refusals_before_form).
    before_form: bool = False

    def message_for(self, ctx: TransitionContext) -> object:
        """The message for the step ctx that failed this guard: its explanation, else the fixed message."""
        explained = self.explain(ctx) if self.explain is not None else None
        return explained if explained is not None else self.message


GUARDS: dict[str, Guard] = {}
# Guards that check what a form's input keeps of the step's form ({guard: the forms}): on a step of another
# form they never hold, so the loader refuses them there (the step could never be taken).
GUARD_FORMS: dict[str, tuple[str, ...]] = {}
# Guards of a child's SIP (a file with childs_view = true): the child's view and the guardians' consent are
# asked for only there, so elsewhere such a guard could never hold, or would check nothing.
CHILDS_VIEW_GUARDS: set[str] = set()
EFFECTS: dict[str, Callable[[TransitionContext], None]] = {}
INPUTS: dict[str, Callable[[TransitionContext], None]] = {}
# The dates a workflow's [[reminders]] may count from, each a function (session, workflow, case) -> aware
# datetime or None, and the message templates they may name; the reminders area registers both.
REMINDER_ANCHORS: dict[str, Callable] = {}
# How a reminder's mail names its anchor's date, for the anchors that registered one.
REMINDER_ANCHOR_LABELS: dict[str, object] = {}
# The anchors whose date is gone once it has passed (the next one's, or none, is the anchor then): a reminder
# may count from them only to their day or before it (offset_days 0 or less), else it would never go.
REMINDER_ANCHORS_AHEAD_ONLY: set[str] = set()
REMINDER_TEMPLATES: set[str] = set()
# The forms whose steps alone give an anchor not of the case's columns its date ({anchor: the forms}: the
# next meeting is one the kallelse booked): a reminder counting from it goes only in a file with such a step.
REMINDER_ANCHOR_FORMS: dict[str, tuple[str, ...]] = {}


def register_guard(
    name: str,
    check: Callable[[TransitionContext], bool],
    message: object,
    *,
    field: str | None = None,
    explain: Callable[[TransitionContext], object | None] | None = None,
    requirement: object | None = None,
    before_form: bool = False,
    forms: tuple[str, ...] = (),
    childs_view: bool = False,
) -> None:
    """Let workflow files name check as a guard; message is shown when it does not hold (at field, if any).

    explain(ctx), if given, is the message for a step that failed it, naming what is missing (None: message).
    requirement, if given, is how the workflows page lists it: for a guard that asks only of some persons,
    or whose message also says what to do.
    before_form: check reads nothing the step's form sends (nor its input writes), and no statement when
    the page hands it what it read (the step's first read and the organisations taking part): the step's
    page shows its message before the form is filled.
    forms: the forms whose data check reads (GUARD_FORMS); a step of another form is refused at load.
    childs_view: a guard of a child's SIP only (CHILDS_VIEW_GUARDS); a file without childs_view is refused.
    """
    GUARDS[name] = Guard(check, message, field, explain, requirement, before_form)
    if forms:
        GUARD_FORMS[name] = tuple(forms)
    else:
        GUARD_FORMS.pop(name, None)
    if childs_view:
        CHILDS_VIEW_GUARDS.add(name)
    else:
        CHILDS_VIEW_GUARDS.discard(name)


# Effects that read what another effect of the same transition wrote: {effect: the effects it needs before}.
EFFECTS_AFTER: dict[str, tuple[str, ...]] = {}
# Effects that record what a form asks for ({effect: the forms}): the form's input only checks it and leaves
# it for the effect, so a step with such a form and without the effect would drop what was typed, unsaid.
EFFECTS_RECORDING: dict[str, tuple[str, ...]] = {}


# Effects that write what a step's form carried elsewhere than the step's log and the case (the preparation's
# own goals into the plan): repeats(session, case, step, data) -> the data without the fields the effect
# recorded as they are sent, or None when it recorded something else (cases.services.own_step_just_taken).
EFFECT_REPEATS: dict[str, Callable] = {}


def register_effect(
    name: str,
    fn: Callable[[TransitionContext], None],
    *,
    after: tuple[str, ...] = (),
    repeats: Callable | None = None,
    records: tuple[str, ...] = (),
) -> None:
    """Let workflow files name fn as an effect of a transition; after: the effects it must follow there
    (the loader refuses a transition naming it without them before it, where it would do nothing);
    repeats: whether a form sent again holds what the effect recorded of it (EFFECT_REPEATS);
    records: the forms whose data fn records (the loader refuses a step with such a form without it)."""
    EFFECTS[name] = fn
    if records:
        EFFECTS_RECORDING[name] = tuple(records)
    else:
        EFFECTS_RECORDING.pop(name, None)
    if after:
        EFFECTS_AFTER[name] = tuple(after)
    else:
        EFFECTS_AFTER.pop(name, None)
    if repeats is not None:
        EFFECT_REPEATS[name] = repeats
    else:
        EFFECT_REPEATS.pop(name, None)


# Form kinds whose input only checks the form and sets attributes (of the case, of the step's participants)
# without a statement of its own: a step runs it before claiming the case, so that the claim's one UPDATE of
# the case row writes the columns it set too. Any other input runs after the claim (the claim must be the
# transaction's first write), and a column it sets costs a second UPDATE.
ATTRIBUTES_ONLY_INPUTS: set[str] = set()
# Form kinds whose input writes rows (so runs after the claim) but has a part that only reads and sets
# columns of the case: that part runs before the claim, whose UPDATE then writes those columns too.
INPUTS_BEFORE_CLAIM: dict[str, Callable[[TransitionContext], None]] = {}
# Form kinds whose input's checks also run alone, writing nothing: a page whose own form checks refused the
# input asks them too, so it marks every field at once (cases.services.step_input_refusal).
INPUT_CHECKS: dict[str, Callable[[TransitionContext], None]] = {}
# Form kinds whose step records the person's consent: before a step with one no consent can be in force, so
# none can be withdrawn (the loader asks for a withdrawal from every active state after one, and none before).
CONSENT_INPUTS: set[str] = set()
# Form kinds that say whether a form sent again is what a step of theirs recorded: repeats(session, case,
# step, data) -> bool, comparing every typed value (lists too) with the rows the step wrote, as they hold
# them (cases.services.own_step_just_taken: a double click is told done, not refused as someone else's).
INPUT_REPEATS: dict[str, Callable] = {}
# The case dates a form's input sets, by date ({"follow_up_on": {"plan"}}): a deadline counting from such a
# date starts only at a step of one of those forms (the case has no such date before one), and a reminder
# counting from it goes only in a file with a step of one.
CASE_DATE_INPUTS: dict[str, set[str]] = {}


def register_input(
    kind: str,
    fn: Callable[[TransitionContext], None],
    *,
    attributes_only: bool = False,
    before_claim: Callable[[TransitionContext], None] | None = None,
    check: Callable[[TransitionContext], None] | None = None,
    records_consent: bool = False,
    repeats: Callable | None = None,
    sets_dates: tuple[str, ...] = (),
) -> None:
    """Let workflow files name kind as a transition's form; fn writes what the form collected.

    attributes_only: fn sends no statement (no query, no flush, no new row) and may run more than once.
    before_claim: the part of fn that sets columns of the case; it may read (SELECT) but writes nothing,
    may run more than once, and runs before the case's claim (fn after it).
    check: fn's checks alone; it refuses what fn would refuse, writes nothing and may run more than once.
    records_consent: fn records the person's consent (CONSENT_INPUTS).
    repeats: whether a form's data is what a step of this kind recorded (INPUT_REPEATS).
    sets_dates: the case dates fn (or before_claim) sets, named as a deadline's `from` names them
    (CASE_DATE_INPUTS).
    """
    INPUTS[kind] = fn
    if records_consent:
        CONSENT_INPUTS.add(kind)
    else:
        CONSENT_INPUTS.discard(kind)
    if attributes_only:
        ATTRIBUTES_ONLY_INPUTS.add(kind)
    else:
        ATTRIBUTES_ONLY_INPUTS.discard(kind)
    if before_claim is not None:
        INPUTS_BEFORE_CLAIM[kind] = before_claim
    else:
        INPUTS_BEFORE_CLAIM.pop(kind, None)
    if check is not None:
        INPUT_CHECKS[kind] = check
    else:
        INPUT_CHECKS.pop(kind, None)
    if repeats is not None:
        INPUT_REPEATS[kind] = repeats
    else:
        INPUT_REPEATS.pop(kind, None)
    for forms in CASE_DATE_INPUTS.values():
        forms.discard(kind)
    for date in sets_dates:
        CASE_DATE_INPUTS.setdefault(date, set()).add(kind)


def register_reminder_anchor(
    name: str, fn: Callable, *, label=None, ahead_only: bool = False, set_by: tuple[str, ...] = ()
) -> None:
    """Let a workflow file's reminders count from name; fn(session, workflow, case) gives the date or None;
    label (a lazy text): how the reminder's mail names that date, when it should say it; ahead_only: the date
    is gone once passed, so a reminder may only come on it or before (REMINDER_ANCHORS_AHEAD_ONLY); set_by:
    the forms whose steps alone give a case the date (REMINDER_ANCHOR_FORMS; the loader refuses a reminder
    counting from it in a file with no step of one)."""
    REMINDER_ANCHORS[name] = fn
    if set_by:
        REMINDER_ANCHOR_FORMS[name] = tuple(set_by)
    else:
        REMINDER_ANCHOR_FORMS.pop(name, None)
    if ahead_only:
        REMINDER_ANCHORS_AHEAD_ONLY.add(name)
    if label is not None:
        REMINDER_ANCHOR_LABELS[name] = label


def register_reminder_template(name: str) -> None:
    """Let a workflow file's reminders name the message template name."""
    REMINDER_TEMPLATES.add(name)
