"""The consent area's guards, effect and form inputs, registered with the workflow core."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from sipflow.cases.services import step_participants
from sipflow.clock import to_local
from sipflow.consent import services
from sipflow.consent.models import Consent
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect, register_guard, register_input


def _consents_in_force(ctx: TransitionContext) -> list[Consent]:
    if "consents" not in ctx.memo:
        ctx.memo["consents"] = services.consents_in_force(ctx.session, ctx.case.id, to_local(ctx.now).date())
    return ctx.memo["consents"]


def consent_valid(ctx: TransitionContext) -> bool:
    """A valid consent exists: nothing is sent or shared without one."""
    return bool(_consents_in_force(ctx))


def guardians_consented(ctx: TransitionContext) -> bool:
    """Every guardian taking part has consented (or, with none registered, at least one guardian has)."""
    guardian_consents = [c for c in _consents_in_force(ctx) if c.given_by == "guardian"]
    guardian_ids = {p.id for p in step_participants(ctx) if p.kind == "guardian"}
    if not guardian_ids:
        return bool(guardian_consents)
    return guardian_ids <= {c.given_by_participant_id for c in guardian_consents}


def apply_consent(ctx: TransitionContext) -> None:
    """The consent form: record the consent given."""
    consents = services.give_consent(
        ctx.session, ctx.case, ctx.actor, ctx.data, now=ctx.now, participants=step_participants(ctx)
    )
    ctx.details["consent_id"] = consents[-1].id


def apply_consent_declined(ctx: TransitionContext) -> None:
    """The declined-consent form: record the refusal."""
    services.decline_consent(ctx.session, ctx.case, ctx.actor, ctx.data, now=ctx.now)


def withdraw_consents(ctx: TransitionContext) -> None:
    """Withdraw every consent of the case, keeping the transition's reason."""
    reason = ctx.data.get("reason")
    services.withdraw_consents(
        ctx.session, ctx.case, now=ctx.now, reason=reason if isinstance(reason, str) else None
    )


register_guard("consent_valid", consent_valid, _l("A valid consent is required."))
register_guard("guardians_consented", guardians_consented, _l("Every guardian taking part must consent."))
register_effect("withdraw_consents", withdraw_consents)
register_input("consent", apply_consent)
register_input("consent_declined", apply_consent_declined)
