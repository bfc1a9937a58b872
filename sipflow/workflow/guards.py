"""Guards: pure predicates over a transition context, named in the workflow files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlmodel import func, select

from sipflow.cases.models import Participant
from sipflow.clock import to_local
from sipflow.consent.models import Consent
from sipflow.people.models import Organisation
from sipflow.workflow.context import TransitionContext


@dataclass(frozen=True)
class Guard:
    """A named predicate and the message shown when it does not hold."""

    check: Callable[[TransitionContext], bool]
    message: object


def active_consents(ctx: TransitionContext) -> list[Consent]:
    """Given, unwithdrawn consents of the case that are still valid today."""
    today = to_local(ctx.now).date()
    rows = ctx.session.exec(
        select(Consent).where(
            Consent.case_id == ctx.case.id,
            Consent.decision == "given",
            Consent.withdrawn_at.is_(None),
        )
    ).all()
    return [c for c in rows if c.valid_until is None or c.valid_until >= today]


def _active_consents(ctx: TransitionContext) -> list[Consent]:
    if "consents" not in ctx.memo:
        ctx.memo["consents"] = active_consents(ctx)
    return ctx.memo["consents"]


def _organisations(ctx: TransitionContext) -> list[Organisation]:
    if "organisations" not in ctx.memo:
        ctx.memo["organisations"] = participating_organisations(ctx.session, ctx.case.id)
    return ctx.memo["organisations"]


def consent_valid(ctx: TransitionContext) -> bool:
    """A valid consent exists: nothing is sent or shared without one."""
    return bool(_active_consents(ctx))


def guardians_consented(ctx: TransitionContext) -> bool:
    """Every guardian taking part has consented (or, with none registered, at least one guardian has)."""
    guardian_consents = [c for c in _active_consents(ctx) if c.given_by == "guardian"]
    guardian_ids = set(
        ctx.session.exec(
            select(Participant.id).where(
                Participant.case_id == ctx.case.id,
                Participant.kind == "guardian",
                Participant.active,
            )
        ).all()
    )
    if not guardian_ids:
        return bool(guardian_consents)
    return guardian_ids <= {c.given_by_participant_id for c in guardian_consents}


def participating_organisations(session, case_id: int) -> list[Organisation]:
    """The organisations currently taking part in the case, by name."""
    return list(
        session.exec(
            select(Organisation)
            .where(
                Organisation.id.in_(
                    select(Participant.organisation_id).where(
                        Participant.case_id == case_id, Participant.active
                    )
                )
            )
            .order_by(Organisation.name)
        ).all()
    )


def two_organisations(ctx: TransitionContext) -> bool:
    """At least two organisations take part: a SIP is planning across huvudmän."""
    return len(_organisations(ctx)) >= 2


def school_participates(ctx: TransitionContext) -> bool:
    """A school is a party (child SIP)."""
    return any(o.kind == "school" for o in _organisations(ctx))


def child_view_recorded(ctx: TransitionContext) -> bool:
    """The child's own view is written down."""
    return bool((ctx.case.child_view or "").strip())


def meeting_outcome_recorded(ctx: TransitionContext) -> bool:
    """The meeting produced a decision with owner and date, or an explicit 'no change' with a reason."""
    # Read what the meeting_outcome input kept after cleaning, not the raw form data.
    return bool(ctx.details.get("decisions")) or bool(ctx.details.get("no_change_reason"))


def huvudansvar_assigned(ctx: TransitionContext) -> bool:
    """One organisation has overall responsibility (huvudansvar)."""
    return (
        ctx.session.exec(
            select(func.count()).where(
                Participant.case_id == ctx.case.id,
                Participant.role == "huvudansvarig",
                Participant.active,
            )
        ).one()
        >= 1
    )


def follow_up_date_set(ctx: TransitionContext) -> bool:
    """The plan says when it is followed up, and that day is still ahead."""
    return ctx.case.follow_up_on is not None and ctx.case.follow_up_on > ctx.now


GUARDS: dict[str, Guard] = {
    "consent_valid": Guard(consent_valid, _l("A valid consent is required.")),
    "guardians_consented": Guard(guardians_consented, _l("Every guardian taking part must consent.")),
    "two_organisations": Guard(two_organisations, _l("At least two organisations must take part in a SIP.")),
    "school_participates": Guard(school_participates, _l("The school must take part.")),
    "child_view_recorded": Guard(child_view_recorded, _l("Record the child's own view first.")),
    "meeting_outcome_recorded": Guard(
        meeting_outcome_recorded,
        _l("Record at least one decision with owner and date, or 'no change' with a reason."),
    ),
    "huvudansvar_assigned": Guard(
        huvudansvar_assigned, _l("One organisation must have overall responsibility.")
    ),
    "follow_up_date_set": Guard(follow_up_date_set, _l("Set a follow-up date in the future.")),
}
