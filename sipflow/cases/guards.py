"""The case area's guards: who takes part, the child's view and the meeting's outcome.

(Huvudansvar's guard is the plan's: plans/guards.py, by the rule in plans/responsibility.py.)
"""

from __future__ import annotations

from sipflow.cases.participants import participating_organisations
from sipflow.cases.services import STEP_ORGANISATIONS, of_age, step_participants, step_seeing
from sipflow.clock import to_local
from sipflow.people.models import SCHOOL_KINDS, Organisation, Person
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_guard


def _organisations(ctx: TransitionContext) -> list[Organisation]:
    """The organisations taking part, read once per step (or as the page that asks the guards read them)."""
    if STEP_ORGANISATIONS not in ctx.memo:
        ctx.memo[STEP_ORGANISATIONS] = participating_organisations(ctx.session, ctx.case.id)
    return ctx.memo[STEP_ORGANISATIONS]


def _seeing(ctx: TransitionContext) -> frozenset[int] | set[int]:
    """The organisations taking part that may see the SIP on the step's day: the initiator, and those a
    consent in force covers (as the step's first read found them, else read: a consent step changed them)."""
    seeing = step_seeing(ctx)
    if seeing is None:
        seeing = access.organisations_seeing_case(ctx.session, ctx.case, now=ctx.now)
    return seeing


def two_organisations(ctx: TransitionContext) -> bool:
    """At least two organisations take part and may see the SIP: a SIP is planning across huvudmän, and an
    organisation the consent leaves out can neither see it nor plan in it."""
    return len(_seeing(ctx)) >= 2


def two_organisations_missing(ctx: TransitionContext):
    """The refusal of two_organisations when two organisations take part but the consent leaves one out
    (None: fewer than two take part, the fixed message says what to do)."""
    # The step's participants name their organisations: counting them needs no organisation rows.
    taking_part = {p.organisation_id for p in step_participants(ctx) if p.organisation_id is not None}
    if len(taking_part) < 2:
        return None
    return _l(
        "Only one of the organisations taking part can see the SIP: the consent in force leaves the others "
        "out, and a SIP needs at least two that can see it. A consent that covers a second organisation is "
        "recorded with “Record a further consent” under Consent."
    )


def school_participates(ctx: TransitionContext) -> bool:
    """A school (a municipal or an independent one) is a party (child SIP): it takes part and may see the
    SIP, as two_organisations counts a party. A school the consent leaves out cannot see the SIP nor be
    invited to its meeting."""
    seeing = _seeing(ctx)
    return any(o.kind in SCHOOL_KINDS and o.id in seeing for o in _organisations(ctx))


def school_participates_missing(ctx: TransitionContext):
    """The refusal of school_participates when a school takes part but no consent in force covers it (None:
    no school takes part, the fixed message says what to do)."""
    if not any(o.kind in SCHOOL_KINDS for o in _organisations(ctx)):
        return None
    return _l(
        "The consent does not cover the school, so the school cannot see the SIP nor be invited to its "
        "meeting. Record a consent that covers the school first: “Record a further consent” under Consent."
    )


def child_view_recorded(ctx: TransitionContext) -> bool:
    """The child's own view is written down; from the 18th birthday the person is no child and none is asked
    (services.of_age: their own goals are their voice)."""
    if (ctx.case.child_view or "").strip():
        return True
    return of_age(ctx.session.get(Person, ctx.case.person_id), to_local(ctx.now).date())


def meeting_outcome_recorded(ctx: TransitionContext) -> bool:
    """The meeting produced a decision with owner and date, or an explicit 'no change' with a reason."""
    # Read what the meeting_outcome input kept after cleaning, not the raw form data.
    return bool(ctx.details.get("decisions")) or bool(ctx.details.get("no_change_reason"))


register_guard(
    "two_organisations",
    two_organisations,
    _l("At least two organisations must take part in a SIP and be able to see it under the consent."),
    explain=two_organisations_missing,
)
register_guard(
    "school_participates",
    school_participates,
    # What to do is in the message: the page of the kallelse's form shows it before the form is filled.
    _l(
        "The school must take part. Add the school's unit as a participant first: “Another unit” under "
        "“Add a participant” on the SIP's page."
    ),
    explain=school_participates_missing,
    requirement=_l("The school must take part."),
    # Who takes part is no part of the kallelse's form: known before the form is filled.
    before_form=True,
)
register_guard(
    "child_view_recorded",
    child_view_recorded,
    _l("Record the child's own view first."),
    # The preparation form's field for it (a step whose form has none shows the message at the top).
    field="child_view",
    # That field is a child's SIP's only: elsewhere the view could never be recorded.
    childs_view=True,
)
register_guard(
    "meeting_outcome_recorded",
    meeting_outcome_recorded,
    _l("Record at least one decision with owner and date, or 'no change' with a reason."),
    # It reads what the outcome's form sent: on a step of another form it could never hold.
    forms=("meeting_outcome",),
)
