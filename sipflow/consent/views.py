"""A further consent, after the SIP's consent step: its page, and the case page's way to it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from sipflow.cases.errors import StaleCase
from sipflow.cases.forms import ConsentForm, FormContext, show_current_version
from sipflow.cases.participants import active_guardians, participating_organisations
from sipflow.cases.services import actor_organisation_id, party_roles
from sipflow.clock import now_utc
from sipflow.consent import services
from sipflow.consent.models import GIVEN
from sipflow.db import get_session, unit_of_work
from sipflow.errors import UserError
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    STALE_FORM,
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
    refusal = services.further_consent_refusal(detail.workflow, detail.case, roles, consent_given=given)
    if refusal is not None:
        return {}
    return {"further_consent_url": url_for("consent.further", uid=detail.case.uid)}


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))


def _form(session, case, workflow, *, formdata) -> ConsentForm:
    """The consent form of the step, offering the organisations and guardians taking part now."""
    ctx = FormContext(
        organisations=[(o.id, o.name) for o in participating_organisations(session, case.id)],
        guardians=[(p.id, p.name) for p in active_guardians(session, case.id)],
        child=workflow.childs_view,
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
    if posted or refusal is None:
        workflow = registry.get(case.workflow_name, case.workflow_version)
        form = _form(session, case, workflow, formdata=request.form if posted else None)
    if refusal is not None:
        return render_template(
            "consent/further.html", case=case, form=form, errors=[refusal.message]
        ), refusal.status
    errors: list = []
    status = 200
    if posted:
        if not form.validate():
            status = 400
            # What the service refuses besides, marked too (each field once): every field's refusal on the
            # first send, not one round at a time. It writes nothing.
            refused = services.consent_refusal(session, case, form.to_data(), now=now_utc())
            if refused is not None:
                attach_error(form, refused, errors, unmarked_only=True)
        else:
            try:
                with unit_of_work(session):
                    services.record_further_consent(
                        session,
                        registry,
                        case,
                        actor,
                        form.to_data(),
                        expected_version=form.version.data,
                        now=now_utc(),
                    )
            except StaleCase:
                # What was typed stays; the form now carries the version the SIP has, so sending it again
                # after a look at the SIP is a deliberate choice (the service checks every rule again).
                errors, status = [STALE_FORM], 409
                show_current_version(form, case.version)
            except UserError as error:
                attach_error(form, error, errors)
                status = error.status
            else:
                flash(_l("The consent is recorded."), "success")
                return redirect(url_for("cases.detail", uid=case.uid), code=303)
    return render_template("consent/further.html", case=case, form=form, errors=errors), status
