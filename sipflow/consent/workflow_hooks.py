"""The consent area's guards, effect and form inputs, registered with the workflow core."""

from __future__ import annotations

from sipflow.cases.models import Participant
from sipflow.cases.services import forget_step_seeing, step_consents_in_force, step_participants
from sipflow.clock import to_local
from sipflow.consent import services
from sipflow.consent.models import Consent
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.engine import loaded_workflow
from sipflow.workflow.registry import register_effect, register_guard, register_input

# ctx.memo key of the consents the step's own consent form recorded.
RECORDED_CONSENTS = "recorded_consents"


def _consents_in_force(ctx: TransitionContext) -> list[Consent]:
    """The case's consents in force now: those the step's first read found, and those the step recorded.

    A step changes consents only by recording new ones (its consent input, before the guards); a
    withdrawal is an effect, after them. Without that first read (a case with no participant) they are read.
    """
    if "consents" not in ctx.memo:
        found = step_consents_in_force(ctx)
        if found is None:
            found = services.consents_in_force(ctx.session, ctx.case.id, to_local(ctx.now).date())
        recorded = [c for c in _recorded_in_force(ctx) if all(c is not f for f in found)]
        ctx.memo["consents"] = [*found, *recorded]
    return ctx.memo["consents"]


def _recorded_in_force(ctx: TransitionContext) -> list[Consent]:
    """The consents this step recorded that are in force: a subset of the case's, known without a read."""
    today = to_local(ctx.now).date()
    return [c for c in ctx.memo.get(RECORDED_CONSENTS, ()) if c.is_in_force(today)]


def consent_valid(ctx: TransitionContext) -> bool:
    """A valid consent exists: nothing is sent or shared without one."""
    # A consent just recorded and in force answers yes: the older ones can only add to it.
    return bool(_recorded_in_force(ctx)) or bool(_consents_in_force(ctx))


def _guardians(ctx: TransitionContext) -> list[Participant]:
    """The guardians taking part in the step's case, in the order they were added."""
    return [p for p in step_participants(ctx) if p.kind == services.GUARDIAN]


def _guardians_satisfied(consents: list[Consent], guardians: list[Participant]) -> bool:
    if not guardians:
        return any(c.given_by == services.CHILD_GIVER for c in consents)
    return not services.guardians_without_consent(guardians, consents)


def guardians_consented(ctx: TransitionContext) -> bool:
    """Every guardian taking part has consented (or, with none registered, at least one guardian has);
    once the person has turned 18 the guardians consent no more (services.guardians_consent): holds."""
    if not _child(ctx):
        return True
    guardians = _guardians(ctx)
    # What this step recorded may cover every guardian on its own (more consents cannot undo that); only
    # when it does not are the case's consents in force read.
    return _guardians_satisfied(_recorded_in_force(ctx), guardians) or _guardians_satisfied(
        _consents_in_force(ctx), guardians
    )


def _first_consent(ctx: TransitionContext, in_force: list[Consent]) -> bool:
    """No consent was in force before the step: the step records the SIP's first (the consent form), so no
    further consent can be recorded yet."""
    if RECORDED_CONSENTS not in ctx.memo:
        return False  # not the consent form's step
    recorded = ctx.memo[RECORDED_CONSENTS]
    return all(any(c is r for r in recorded) for c in in_force)


def guardians_not_consented(ctx: TransitionContext):
    """The refusal of guardians_consented naming the guardians taking part without a consent in force, by
    their names on the case page (a message for the page only: never logged), and the way on: before a
    first consent, the consent form itself; after it, a further consent. None: the registered message.
    """
    in_force = _consents_in_force(ctx)
    missing = services.guardians_without_consent(step_participants(ctx), in_force)
    first = _first_consent(ctx, in_force)
    if not missing:
        return None
    names = ", ".join(g.name or "" for g in missing)
    if first:
        return _l(
            "Every guardian taking part must consent. Not consented: %(names)s. Tick each guardian who has "
            "consented under “Guardians consenting”; if a guardian does not consent, record that the consent "
            "was declined instead.",
            names=names,
        )
    return _l(
        "Every guardian taking part must consent. Not consented: %(names)s. The consent of a guardian who "
        "joined later is recorded with “Record a further consent” under Consent.",
        names=names,
    )


def _child(ctx: TransitionContext) -> bool:
    """A guardian gives or declines the step's case's consent: a child's workflow (its childs_view) and a
    person under 18 on the step's day (services.guardians_consent, the one rule)."""
    workflow = ctx.workflow or loaded_workflow(ctx.case.workflow_name, ctx.case.workflow_version)
    return services.case_guardians_consent(ctx.session, workflow, ctx.case, now=ctx.now)


def apply_consent(ctx: TransitionContext) -> None:
    """The consent form: record the consent given."""
    consents = services.give_consent(
        ctx.session,
        ctx.case,
        ctx.actor,
        ctx.data,
        now=ctx.now,
        participants=step_participants(ctx),
        child=_child(ctx),
    )
    ctx.details["consent_id"] = consents[-1].id
    ctx.memo[RECORDED_CONSENTS] = consents
    forget_step_seeing(ctx)


def check_consent_input(ctx: TransitionContext) -> None:
    """The consent form's checks alone (apply_consent's), writing nothing."""
    services.check_consent(
        ctx.session, ctx.case, ctx.data, now=ctx.now, participants=step_participants(ctx), child=_child(ctx)
    )


def consent_repeated(session, case, step, data: dict) -> bool:
    """The consent form sent again is what step (a consent form's step) recorded."""
    return services.repeats_consent(session, step.details.get("consent_id"), data)


def apply_consent_declined(ctx: TransitionContext) -> None:
    """The declined-consent form: record the refusal (a child's by the guardians who declined)."""
    services.decline_consent(
        ctx.session,
        ctx.case,
        ctx.actor,
        ctx.data,
        now=ctx.now,
        participants=step_participants(ctx),
        child=_child(ctx),
    )


def check_consent_declined_input(ctx: TransitionContext) -> None:
    """The declined-consent form's checks alone (apply_consent_declined's), writing nothing."""
    services.check_decline(
        ctx.session, ctx.case, ctx.data, participants=step_participants(ctx), child=_child(ctx), now=ctx.now
    )


def withdraw_consents(ctx: TransitionContext) -> None:
    """Withdraw every consent of the case, keeping the transition's reason."""
    reason = ctx.data.get("reason")
    services.withdraw_consents(
        ctx.session, ctx.case, now=ctx.now, reason=reason if isinstance(reason, str) else None
    )
    forget_step_seeing(ctx)


register_guard("consent_valid", consent_valid, _l("A valid consent is required."))
register_guard(
    "guardians_consented",
    guardians_consented,
    # Where the way out is: a guardian who joined after the consent consents on the further-consent page.
    _l(
        "Every guardian taking part must consent. The consent of a guardian who joined later is recorded "
        "with “Record a further consent” under Consent."
    ),
    # The consent form's boxes of the guardians consenting, where the missing tick is.
    field="guardian_participant_ids",
    explain=guardians_not_consented,
    # Guardians consent in a child's SIP only: elsewhere it would hold for everyone, asking no guardian.
    childs_view=True,
)
register_effect("withdraw_consents", withdraw_consents)
register_input(
    "consent", apply_consent, check=check_consent_input, records_consent=True, repeats=consent_repeated
)
register_input("consent_declined", apply_consent_declined, check=check_consent_declined_input)
