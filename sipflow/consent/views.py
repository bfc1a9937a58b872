"""A further consent, after the SIP's consent step: its page, and the case page's way to it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from sipflow.cases.errors import StaleCase
from sipflow.cases.forms import (
    ConsentForm,
    FormContext,
    OrganisationWithdrawalForm,
    choices,
    show_current_version,
    typed_values,
)
from sipflow.cases.participants import (
    active_guardians,
    case_organisation_labels,
    participating_organisations,
)
from sipflow.cases.services import actor_organisation_id, party_roles
from sipflow.clock import now_utc, to_local
from sipflow.consent import services
from sipflow.consent.models import GIVEN
from sipflow.db import get_session, unit_of_work
from sipflow.errors import UserError
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    STALE_FORM,
    already_done,
    attach_error,
    case_or_404,
    current_actor,
    register_case_page_part,
    workflow_registry,
)

bp = Blueprint("consent", __name__)


def _case_page_part(detail, actor, *, allowed: list) -> dict:
    """The case page's way to a further consent, when the user may record one (from what the page read)."""
    if detail.workflow is None:
        return {}
    session = get_session()
    roles = party_roles(session, detail.case, actor_organisation_id(session, actor), detail.participants)
    given = any(view.consent.decision == GIVEN for view in detail.consents)
    part = {}
    if services.further_consent_refusal(detail.workflow, detail.case, roles, consent_given=given) is None:
        part["further_consent_url"] = url_for("consent.further", uid=detail.case.uid)
    # The guardians whose consent the next steps ask and none in force gives, by their names as the
    # participants' list shows them: staff see whom to ask before a step is refused for them.
    in_force = [view.consent for view in detail.consents if view.in_force]
    lacking = services.guardians_lacking_consent(
        detail.workflow,
        detail.case.state,
        detail.participants,
        in_force,
        person=detail.person,
        today=to_local(now_utc()).date(),
    )
    turn = services.custody_turn(
        detail.workflow,
        detail.case.state,
        [(view.consent, view.in_force) for view in detail.consents],
        person=detail.person,
        today=to_local(now_utc()).date(),
    )
    if turn is not None:
        part["custody_turn"] = turn
    if lacking:
        part["guardians_lacking_consent"] = [p.name for p in lacking]
        part["consent_given"] = given
    if (
        services.organisation_withdrawal_refusal(detail.workflow, detail.case, roles, consent_given=given)
        is None
    ):
        part["withdraw_organisation_url"] = url_for("consent.withdraw_organisation", uid=detail.case.uid)
    return part


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))


def _form(session, case, workflow, *, formdata, withdrawn=frozenset()) -> ConsentForm:
    """The consent form of the step, offering the organisations and guardians taking part now; those the
    consent was withdrawn for (withdrawn) start unticked."""
    labels = case_organisation_labels(session, case.id)
    ctx = FormContext(
        organisations=[(o.id, labels[o.id]) for o in participating_organisations(session, case.id)],
        guardians=[(p.id, p.name) for p in active_guardians(session, case.id)],
        child=workflow.childs_view,
        guardians_consent=services.case_guardians_consent(session, workflow, case, now=now_utc()),
        givers=services.case_consent_givers(session, workflow, case, now=now_utc()),
        withdrawn=frozenset(withdrawn),
    )
    if formdata is None:
        form = ConsentForm(formdata=None, prefix="consent", version=case.version)
    else:
        form = ConsentForm(formdata=formdata, prefix="consent")
    form.configure(ctx)
    return form


@bp.route("/cases/<uid>/consent/further", methods=["GET", "POST"])
@login_required
def further(uid: str):
    """Record a further consent: for an organisation that joined after the first one, or one running out."""
    posted = request.method == "POST"
    case = case_or_404(uid, audit.CASE_CONSENT if posted else audit.CASE_VIEW)
    session, registry, actor = get_session(), workflow_registry(), current_actor()
    # Refused before the form is read: a SIP that takes no further consent, or a party that may not (the
    # service asks again when it records).
    refusal = services.refusal_of_further_consent(session, registry, case, actor)
    # A posted form is shown back as it was typed, refused or not; a refused page offers no fresh one.
    form = None
    # The organisations the consent was withdrawn for start unticked, marked so beside their boxes.
    withdrawn = services.withdrawn_organisations(session, case)
    if posted or refusal is None:
        workflow = registry.get(case.workflow_name, case.workflow_version)
        form = _form(session, case, workflow, formdata=request.form if posted else None, withdrawn=withdrawn)
    option_notes = {
        organisation_id: (_l("Consent withdrawn %(day)s", day=day.isoformat()), None)
        for organisation_id, day in withdrawn.items()
    }
    if refusal is not None:
        return render_template(
            "consent/further.html", case=case, form=form, errors=[refusal.message], option_notes=option_notes
        ), refusal.status
    errors: list = []
    status = 200
    # What earlier consents in force cover, and until when: a new consent adds to it and takes nothing away.
    covered = services.covered_organisations(session, case, today=to_local(now_utc()).date())
    if posted:
        recorded, errors, status = _send(
            form,
            case,
            lambda: services.consent_refusal(
                session,
                case,
                form.to_data(),
                now=now_utc(),
                child=services.case_guardians_consent(session, workflow, case, now=now_utc()),
            ),
            lambda: services.record_further_consent(
                session,
                registry,
                case,
                actor,
                form.to_data(),
                expected_version=form.version.data,
                now=now_utc(),
            ),
            repeated=lambda: (
                services.own_further_consent_just_recorded(
                    session, case, actor, form.to_data(), expected_version=form.version.data, now=now_utc()
                )
                and _l("Record a further consent")
            ),
        )
        if isinstance(recorded, _Repeated):
            return already_done(recorded.what, case.uid)
        if recorded is not None:
            flash(_l("The consent is recorded."), "success")
            if recorded.still_covered:
                flash(_still_covered_message(recorded.still_covered), "warning")
            return redirect(url_for("cases.detail", uid=case.uid), code=303)
    # The same parties record a withdrawal for one organisation, on the same SIPs (its rule in its words).
    withdraw_url = url_for("consent.withdraw_organisation", uid=case.uid)
    return render_template(
        "consent/further.html",
        case=case,
        form=form,
        errors=errors,
        covered=covered,
        withdraw_organisation_url=withdraw_url,
        option_notes=option_notes,
    ), status


@dataclass(frozen=True)
class _Repeated:
    """A stale form that repeats its sender's own change of a moment ago: what web.already_done names."""

    what: object


def _send(form, case, refusal_in, act, *, repeated=None) -> tuple[object | None, list, int]:
    """A consent page's POST: (what act() returned, or None; the page's errors; its status).

    A form its own checks refuse also shows what the service would refuse besides (refusal_in(), writing
    nothing), each field once: every refusal on the first send, not one round at a time. A valid one acts in
    a unit of work; a stale one keeps what was typed and now carries the SIP's version, so sending it again
    after a look at the SIP is a deliberate choice (the service checks every rule again). A stale one that
    repeats its sender's own change of a moment ago (repeated(): the change's name, else falsy) comes back
    as _Repeated, for web.already_done.
    """
    errors: list = []
    if not form.validate():
        refused = refusal_in()
        if refused is not None:
            attach_error(form, refused, errors, unmarked_only=True)
        return None, errors, 400
    try:
        with unit_of_work(get_session()):
            return act(), errors, 200
    except StaleCase:
        if repeated is not None and form.version.data is not None and (what := repeated()):
            return _Repeated(what), [], 303
        show_current_version(form, case.version)
        return None, [STALE_FORM], 409
    except UserError as error:
        attach_error(form, error, errors)
        return None, errors, error.status


def _covered_label(covered: services.CoveredOrganisation) -> str:
    """An organisation covered and until when, as the pages name it."""
    if covered.until is None:
        return str(_l("%(organisation)s (until withdrawn)", organisation=covered.name))
    return str(
        _l("%(organisation)s (until %(day)s)", organisation=covered.name, day=covered.until.isoformat())
    )


def _still_covered_message(still_covered: list[services.CoveredOrganisation]):
    """After a further consent that leaves out organisations an earlier consent still covers."""
    return _l(
        "The new consent leaves out %(organisations)s, but an earlier consent still covers them, so they "
        "keep seeing the SIP. If the person has withdrawn their consent for one of them, record that with "
        "“Withdraw consent for one organisation” under Consent on the SIP's page.",
        organisations=", ".join(_covered_label(c) for c in still_covered),
    )


# The withdrawal page's words for who gave the consent (services.consent_giver): its lead, the reason's
# label and the note on the initiator. A child's SIP is consented to by the guardians, not the person.
_WITHDRAWAL_WORDS = {
    "person": {
        "lead": _l(
            "When the person withdraws their consent for one organisation and keeps it for the others, "
            "record it here. The organisation no longer sees the SIP, its invitations to meetings ahead are "
            "withdrawn, and its units stay in the list of participants. The consents keep covering the other "
            "organisations."
        ),
        "reason": _l("Reason given, if any"),
        "initiator": _l(
            "The organisation that started the SIP leads it and is not listed: if the person withdraws their "
            "consent for it, or all of their consent, record that with “Withdraw consent” under Next steps, "
            "which ends the SIP."
        ),
    },
    "guardian": {
        "lead": _l(
            "When the guardians withdraw their consent for one organisation and keep it for the others, "
            "record it here. The organisation no longer sees the SIP, its invitations to meetings ahead are "
            "withdrawn, and its units stay in the list of participants. The consents keep covering the other "
            "organisations."
        ),
        "reason": _l("Reason the guardians gave, if any"),
        "initiator": _l(
            "The organisation that started the SIP leads it and is not listed: if the guardians withdraw "
            "their consent for it, or all of their consent, record that with “Withdraw consent” under Next "
            "steps, which ends the SIP."
        ),
    },
    "legal_representative": {
        "lead": _l(
            "When the legal representative withdraws the consent for one organisation and keeps it for the "
            "others, record it here. The organisation no longer sees the SIP, its invitations to meetings "
            "ahead are withdrawn, and its units stay in the list of participants. The consents keep covering "
            "the other organisations."
        ),
        "reason": _l("Reason the legal representative gave, if any"),
        "initiator": _l(
            "The organisation that started the SIP leads it and is not listed: if the legal representative "
            "withdraws the consent for it, or all of it, record that with “Withdraw consent” under Next "
            "steps, which ends the SIP."
        ),
    },
}


@bp.route("/cases/<uid>/consent/withdraw-organisation", methods=["GET", "POST"])
@login_required
def withdraw_organisation(uid: str):
    """Record that the person withdrew their consent for one organisation, keeping it for the others."""
    posted = request.method == "POST"
    case = case_or_404(uid, audit.CASE_CONSENT_WITHDRAW_ORGANISATION if posted else audit.CASE_VIEW)
    session, registry, actor = get_session(), workflow_registry(), current_actor()
    refusal = services.refusal_of_organisation_withdrawal(session, registry, case, actor)
    covered = services.covered_organisations(session, case, today=to_local(now_utc()).date())
    withdrawable = services.withdrawable_organisations(case, covered)
    if posted:
        form = OrganisationWithdrawalForm(formdata=request.form)
    else:
        form = OrganisationWithdrawalForm(formdata=None, version=case.version)
    form.organisation_id.choices = choices((c.organisation_id, _covered_label(c)) for c in withdrawable)
    words = _WITHDRAWAL_WORDS.get(
        services.consent_giver(session, case) or "person", _WITHDRAWAL_WORDS["person"]
    )
    form.reason.label.text = words["reason"]
    # A sent form the page cannot take (refused, or no organisation left to choose) is shown back read-only.
    kept = typed_values(form) if posted else []
    page = {"case": case, "form": form, "withdrawable": withdrawable, "words": words, "kept_input": kept}
    # The user's own withdrawal of a moment ago, sent again (a double click): done, not refused as someone
    # else's change (nor as an organisation the consent no longer covers).
    if posted and _repeats_withdrawal(session, case, actor, form):
        return already_done(_WITHDRAWAL, case.uid)
    if refusal is not None:
        return render_template(
            "consent/withdraw_organisation.html", **page, shown=False, errors=[refusal.message]
        ), refusal.status
    errors: list = []
    status = 200
    if posted:
        withdrawn, errors, status = _send(
            form,
            case,
            lambda: services.organisation_withdrawal_refusal_in(session, case, form.to_data(), now=now_utc()),
            lambda: services.withdraw_for_organisation(
                session,
                registry,
                case,
                actor,
                form.to_data(),
                expected_version=form.version.data,
                now=now_utc(),
            ),
            repeated=lambda: _repeats_withdrawal(session, case, actor, form) and _WITHDRAWAL,
        )
        if isinstance(withdrawn, _Repeated):
            return already_done(withdrawn.what, case.uid)
        if withdrawn is not None:
            flash(
                _l(
                    "The consent is withdrawn for %(organisation)s: it no longer sees the SIP, and its "
                    "invitations to meetings ahead are withdrawn.",
                    organisation=withdrawn.organisation.name,
                ),
                "success",
            )
            return redirect(url_for("cases.detail", uid=case.uid), code=303)
    return render_template("consent/withdraw_organisation.html", **page, shown=True, errors=errors), status


# The withdrawal for one organisation named as a step is (web.already_done), as its page is titled.
_WITHDRAWAL = _l("Withdraw consent for one organisation")


def _repeats_withdrawal(session, case, actor, form: OrganisationWithdrawalForm) -> bool:
    """The form, valid and read at an earlier version of case, records the user's own withdrawal of a moment
    ago (services.own_organisation_withdrawal_just_recorded)."""
    if not form.version.validate(form) or form.version.data in (None, case.version) or not form.validate():
        return False
    return services.own_organisation_withdrawal_just_recorded(
        session, case, actor, form.to_data(), expected_version=form.version.data, now=now_utc()
    )
