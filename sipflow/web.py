"""View helpers every area's pages share: the acting user, the page's language, a case or 404, errors.

Only views import this module; it sits above the services and models of every area and below every
area's views, so no area's views need another area's views.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Flask,
    abort,
    after_this_request,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import Integer, bindparam
from sqlmodel import select

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.errors import InvalidInputs, UserError
from sipflow.people.models import Organisation, Unit
from sipflow.routing import page_number, row_id
from sipflow.security import ACTOR_UNIT, NUL_MESSAGE, access, audit, nul_fields
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import TransitionDef


def workflow_registry():
    """The workflows the app loaded."""
    return current_app.extensions["sipflow.workflows"]


def current_actor():
    """The logged-in user as the model (not flask-login's proxy), for services."""
    return current_user._get_current_object()


def current_locale() -> str:
    """The page's language code: sv or en."""
    return str(get_locale() or "sv")


def case_or_404(uid: str, action: str):
    """The case if the user may see it (security.access), its access logged once the page is answered; 404
    otherwise.

    An unknown uid and a case the user may not see get the same 404; both refusals are logged at once. The
    allowed access is logged after the view (`_log_case_reads`), by what it answered: a page that goes on
    to refuse, a 404 (a version, meeting or participant not of this case) or a 403 (a step or page the
    user's part in the SIP does not allow), showed nothing, so no "allowed" row says it did; a 403 is a
    refused attempt, logged as one naming the case; a form the view refused otherwise (400, 409 ...) is
    logged with the outcome NOT_SAVED: the SIP was shown, nothing was saved. The row is committed before the
    response leaves, so no access goes unlogged.
    """
    session, user, now = get_session(), current_actor(), now_utc()
    hold_actor_unit(session, user)
    case = access.case_for_user(session, user, uid, now=now)
    if case is None:
        with unit_of_work(session):
            refused = access.record_refusal(session, user, uid, purpose=audit.PURPOSE_CARE, now=now)
        if request.method == "POST" and refused is not None:
            lost = access.lost_access(session, user, refused)
            if lost is not None:
                # A form sent from before the user's organisation lost the SIP: why, and what was typed.
                abort(_access_lost_page(lost))
        abort(404)
    reads = g.get(_CASE_READS)
    if reads is None:
        reads = g.setdefault(_CASE_READS, [])
        after_this_request(_log_case_reads)
    reads.append((case, action, user, now))
    return case


ACCESS_LOST = {
    access.REMOVED: _l(
        "Your organisation no longer takes part in this SIP, so you can no longer see or change it. Nothing "
        "was saved."
    ),
    access.UNCOVERED: _l(
        "The consent no longer covers your organisation, so you can no longer see or change this SIP. "
        "Nothing was saved."
    ),
}
# The fields the pages' forms carry that nobody types: left out of what a refused post is shown back as.
_NOT_TYPED = frozenset(
    {"csrf_token", "version", "row_version", "plan_row_version", "as_read", "uid", "action"}
    | {"warned_day", "shown"}
)


def posted_texts(formdata) -> list[str]:
    """What a person typed into a form posted, as far as the post alone tells (no form of the case is built
    for one who may not see it): each value but the CSRF token, the pages' hidden fields, a bare number (a
    choice or a row) and a tick; once each, in the order sent."""
    texts: list[str] = []
    for name, value in formdata.items(multi=True):
        text = value.strip() if isinstance(value, str) else ""
        if name.rsplit("-", 1)[-1] in _NOT_TYPED or not text or text.isdigit() or text == "y":
            continue
        if text not in texts:
            texts.append(text)
    return texts


def _access_lost_page(why: str):
    """The refusal of a form sent for a SIP the user's organisation took part in and sees no more: why, and
    what they typed (theirs), nothing of the SIP. A refusal (403), logged as one (access.record_refusal)."""
    page = render_template(
        "errors/access_lost.html", message=ACCESS_LOST[why], texts=posted_texts(request.form)
    )
    return current_app.response_class(page, status=403)


# The accesses case_or_404 allowed in this request, logged by _log_case_reads once the view has answered.
_CASE_READS = "sipflow.case_reads"
# Set by already_done: the request's form changed nothing (its step was taken already), logged NOT_SAVED.
_NOTHING_SAVED = "sipflow.nothing_saved"


def _log_case_reads(response):
    """Log the request's allowed case accesses by the view's answer: allowed, a refusal (403) or nothing
    (404, or a failure: nothing was shown); in a short transaction of its own."""
    reads = g.pop(_CASE_READS, ())
    status = response.status_code
    if not reads or status == 404 or status >= 500:
        return response
    session = get_session()
    if session.new or session.dirty or session.deleted:
        session.rollback()  # what a view changed outside a unit of work is never written (as at teardown)
    refused = status == 403
    # A form the page then refused (400, 409, 422 ...) showed the SIP back and saved nothing: its row says
    # so, and the loggutdrag calls it an attempt rather than what the form would have done.
    # So does a step already taken, answered "already done" (already_done): nothing was saved either.
    outcome = audit.ALLOWED
    if refused:
        outcome = audit.DENIED
    elif g.pop(_NOTHING_SAVED, False) or (status >= 400 and request.method not in ("GET", "HEAD")):
        outcome = audit.NOT_SAVED
    with unit_of_work(session):
        for case, action, user, now in reads:
            audit.record_access(
                session,
                user=user,
                action=audit.ACCESS_DENIED if refused else action,
                purpose=audit.PURPOSE_CARE,
                case=case,
                outcome=outcome,
                now=now,
            )
    return response


# Built once: every case page reads it.
_UNIT_WITH_ORGANISATION = (
    select(Unit, Organisation)
    .join(Organisation, Organisation.id == Unit.organisation_id)
    .where(Unit.id == bindparam("unit_id", type_=Integer))
)


def hold_actor_unit(session, user) -> None:
    """Read the user's unit and organisation in one statement and keep them for the request.

    The access log, the authorisation, Att göra's sections and the page header each ask the session for
    them; its identity map holds objects only weakly, so without a reference here each would read the unit
    again.
    """
    if user is None or user.unit_id is None or ACTOR_UNIT in g:
        return  # the sign-in's user read brings them (security._load_user)
    g.setdefault(ACTOR_UNIT, session.exec(_UNIT_WITH_ORGANISATION, params={"unit_id": user.unit_id}).first())


def each_refusal(error: UserError) -> list[UserError]:
    """Each refusal error holds (InvalidInputs: several, each at its field)."""
    return list(error.errors) if isinstance(error, InvalidInputs) else [error]


def attach_error(
    form, error: UserError, top: list, *, fields: dict[str, str] | None = None, unmarked_only: bool = False
) -> None:
    """Show each refusal beside the field it names (fields maps a data name to a form field) or at the top.

    unmarked_only: the service's refusals of a form its own checks refused already; a field those marked
    keeps its own error alone (the service read the field as empty), and none goes to the top.
    """
    for refusal in each_refusal(error):
        name = (fields or {}).get(refusal.field, refusal.field)
        if form is not None and name and name in form:
            if unmarked_only and form[name].errors:
                continue
            form[name].errors = [*form[name].errors, refusal.message]
        elif unmarked_only:
            continue
        else:
            top.append(refusal.message)


def further_consent_url(case, error: UserError | None) -> str | None:
    """The further-consent page of case when error refuses an organisation the consent does not cover.

    The page shows it as a link beside the refused field, so the way out is one click away.
    """
    if any(isinstance(refusal, access.NotCoveredByConsent) for refusal in each_refusal(error)):
        return further_consent_page(case)
    return None


def further_consent_page(case) -> str:
    """The page where a further consent of case is recorded (one that covers an organisation left out)."""
    return url_for("consent.further", uid=case.uid)


def transition_label(transition: TransitionDef, locale: str) -> str:
    """The step's name in locale, as the workflow file gives it."""
    return transition.label.get(locale) or transition.label.get("sv") or transition.trigger


def logged_by_service() -> None:
    """The request's change was logged by the service that made it, in the change's own transaction (as
    `people.services.change_person_particulars` does for every caller): the access case_or_404 let in writes
    no second row, which would say the post showed the SIP."""
    g.pop(_CASE_READS, None)


def nothing_saved() -> None:
    """The request's form changed nothing (it held what is stored already): its access is logged as an
    attempt that saved nothing (audit.NOT_SAVED), not as the change its action names."""
    g.setdefault(_NOTHING_SAVED, True)


def already_done(done: TransitionDef | str, case_uid: str, *, to: str | None = None):
    """The one answer to a form refused as stale (StaleCase) that repeats its sender's own change of a moment
    ago, a double click or a network's resend (the services' checks: cases.services.own_step_just_taken,
    own_private_participant_just_added, own_removal_just_made, own_contact_person_just_named, consent's
    own_further_consent_just_recorded and own_organisation_withdrawal_just_recorded, meetings'; each built
    on cases.services.just_done_by): the case page (or to, the page of what the change made), told it is
    done. done: the step taken, or the name of the change (as a step is named, "Lägg till närstående").
    The request's access is logged as one that saved nothing (audit.NOT_SAVED), not as the change made."""
    nothing_saved()
    label = transition_label(done, current_locale()) if isinstance(done, TransitionDef) else str(done)
    flash(_l("%(step)s: already done a moment ago, probably a double click.", step=label), "success")
    return redirect(to or url_for("cases.detail", uid=case_uid), code=303)


# --- Parts of the case page other areas add ------------------------------------------------------------


def register_case_page_part(app: Flask, part: Callable[..., dict]) -> None:
    """Add part(detail, actor, *, allowed) -> template variables to the case page of app.

    The area that builds on cases (meetings: its list and booking button) adds what it shows this way,
    so cases imports no area above it.
    """
    parts = app.extensions.setdefault("sipflow.case_page_parts", [])
    if part not in parts:
        parts.append(part)


def case_page_parts(detail, actor, *, allowed: list) -> dict:
    """The template variables every registered part gives the case page of detail."""
    variables: dict = {}
    for part in current_app.extensions.get("sipflow.case_page_parts", ()):
        variables.update(part(detail, actor, allowed=allowed))
    return variables


# A form read before someone else changed the SIP: refused as a conflict, what was typed shown again.
STALE_FORM = _l(
    "Someone else changed this SIP while you were working. What you entered is kept below: check the SIP "
    "as it is now, and send it again if it still applies."
)


# --- Addresses that answer in JSON, refusals included -----------------------------------------------------


def register_json_address(app: Flask, matches: Callable[[], bool], refuse: Callable[..., tuple]) -> None:
    """Requests for which matches() is true are refused as JSON by refuse(status, error, message).

    Routing refuses an unknown address, or a method an address does not take, before any view or blueprint
    runs, so the app's 404 and 405 pages ask these (the statistics' JSON addresses, the calendar reply
    address): each answers with json_error.
    """
    app.extensions.setdefault("sipflow.json_addresses", []).append((matches, refuse))


def json_error(status: int, error: str, reason, **fields) -> tuple:
    """The app's one shape of a JSON refusal: {"error": a code, "reason": a sentence, ...} with the status."""
    return jsonify(error=error, **fields, reason=str(reason)), status


def nul_refusals(shown: Callable[[str], bool]) -> dict:
    """For a page whose form is no PageForm: the refusal of each field of this request that held a NUL
    (taken out before the view ran, security.nul_fields) by field name, for the fields shown(name) names;
    held by others only (hidden fields), one for the form ("form"). Empty when none held one."""
    held = nul_fields()
    refusals = {name: NUL_MESSAGE for name in held if shown(name)}
    if held and not refusals:
        refusals["form"] = NUL_MESSAGE
    return refusals


def json_refusal(status: int, error: str, message: str) -> tuple | None:
    """The JSON refusal of a registered JSON address for this request; None for a page."""
    for matches, refuse in current_app.extensions.get("sipflow.json_addresses", ()):
        if matches():
            return refuse(status, error, message)
    return None


# --- Transition forms with a page of their own --------------------------------------------------------


def register_transition_page(app: Flask, form: str, endpoint: str) -> None:
    """Steps whose form is form are taken on the page endpoint(uid=...) of the area that owns it.

    The case page links there instead of showing the step's form (meetings: the meeting outcome).
    """
    app.extensions.setdefault("sipflow.transition_pages", {})[form] = endpoint


def transition_page_url(form: str, case) -> str | None:
    """The address of the page for a step with form on case, when an area registered one."""
    endpoint = current_app.extensions.get("sipflow.transition_pages", {}).get(form)
    return url_for(endpoint, uid=case.uid) if endpoint else None


def list_place(*filters: str) -> dict:
    """Where in a keyset list a request is: its page's cursors (row ids) and number, and the list's filters
    named (row ids, as the units' organisation), each read as the list reads it (the first page's none).
    A row's buttons on the list carry it in their action, so their redirect leads back to the page and
    filter they were pressed on, built by url_for (no address taken from the request)."""
    place: dict = {name: row_id(request.args.get(name)) for name in ("after", "before", *filters)}
    number = page_number(request.args.get("page"))
    place["page"] = number if number > 1 else None
    return {name: value for name, value in place.items() if value is not None}
