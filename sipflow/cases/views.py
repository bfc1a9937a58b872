"""The case pages: Mina SIP, Ny SIP, the case page, firing a transition and adding participants."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as session_store
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import InternalServerError, MethodNotAllowed, RequestEntityTooLarge

from sipflow.cases import corrections, queries, services
from sipflow.cases.errors import (
    AdultUnconfirmed,
    OpenCaseExists,
    StaleCase,
    TransitionNotAllowed,
)
from sipflow.cases.forms import (
    ATTENDANCE_LABELS,
    CONSENT_FORM_LABELS,
    GIVER_LABELS,
    MEETING_MODE_LABELS,
    PARTY_ROLE_LABELS,
    PRIVATE_KIND_LABELS,
    AddPrivateForm,
    AddUnitForm,
    ContactForm,
    ContactPersonForm,
    CorrectUtskrivningsklarForm,
    FormContext,
    NewCaseForm,
    PersonParticularsForm,
    ReasonForm,
    RemoveParticipantForm,
    TransitionForm,
    build_transition_form,
    choices,
    parsed,
    prefill_times,
    show_current_version,
    typed_values,
)
from sipflow.cases.models import SipCase
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.errors import Conflict, InvalidInput, UserError
from sipflow.forms import field_refusal, typed_in_request
from sipflow.i18n import DEFAULT_LOCALE, LANGUAGE_LABELS, select_locale
from sipflow.people.labels import unit_label
from sipflow.people.models import Person
from sipflow.people.services import (
    ParticularsChanged,
    change_person_particulars,
    find_or_register_person,
    look_up_person,
    parse_any_identifier,
    parse_person_identifier,
    particulars_digest,
)
from sipflow.routing import row_id
from sipflow.security import NulInRequest, access, audit, csrf_failed
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    STALE_FORM,
    already_done,
    attach_error,
    case_or_404,
    case_page_parts,
    current_actor,
    current_locale,
    json_refusal,
    logged_by_service,
    nothing_saved,
    nul_refusals,
    transition_label,
    transition_page_url,
    workflow_registry,
)
from sipflow.workflow.definition import TransitionDef, WorkflowStateMissing
from sipflow.workflow.engine import WorkflowVersionMissing

logger = logging.getLogger(__name__)
bp = Blueprint("cases", __name__)

ROLE_LABELS = PARTY_ROLE_LABELS
PARTICIPANT_KIND_LABELS = {
    "organisation": _l("Organisation"),
    "person": _l("The person"),
    **PRIVATE_KIND_LABELS,
}
LEGAL_SEX_LABELS = {"female": _l("Female"), "male": _l("Male"), "unknown": _l("Not stated")}
MEETING_KIND_LABELS = {"first": _l("First meeting"), "follow_up": _l("Follow-up meeting")}
MEETING_STATUS_LABELS = {"planned": _l("Planned"), "held": _l("Held"), "cancelled": _l("Cancelled")}
DECISION_LABELS = {"given": _l("Given"), "declined": _l("Declined")}
# --- Helpers ----------------------------------------------------------------------------------------------


def _require_staff() -> None:
    """Starting a SIP is work for staff of a unit: coordinators and administrators get 403."""
    if not access.may_start_case(current_actor()):
        abort(403)


def _in_swedish_time(show, value) -> str:
    """show(value) in Swedish time; a time stored before dates were bounded, too far out for Swedish time,
    in UTC."""
    try:
        return show(value)
    except OverflowError:
        return value.strftime("%Y-%m-%d %H:%M UTC")


@bp.app_template_filter("localtime")
def _localtime_filter(value) -> str:
    return _in_swedish_time(queries.local_datetime, value)


@bp.app_template_filter("localspan")
def _localspan_filter(starts, ends) -> str:
    """starts | localspan(ends): a meeting's time, its end without the day when it is the same day."""
    try:
        return queries.local_span(starts, ends)
    except OverflowError:
        return f"{starts:%Y-%m-%d %H:%M}–{ends:%Y-%m-%d %H:%M} UTC"


@bp.app_template_filter("localdue")
def _localdue_filter(value) -> str:
    """A deadline's due time: the date alone when it is due at the end of its day (queries.local_due)."""
    return _in_swedish_time(queries.local_due, value)


@bp.app_template_filter("localdate")
def _localdate_filter(value) -> str:
    try:
        return queries.local_date(value)
    except OverflowError:
        return value.strftime("%Y-%m-%d")


_PAGE_LABELS = {
    "role_labels": ROLE_LABELS,
    "participant_kind_labels": PARTICIPANT_KIND_LABELS,
    "legal_sex_labels": LEGAL_SEX_LABELS,
    "giver_labels": GIVER_LABELS,
    "consent_form_labels": CONSENT_FORM_LABELS,
    "decision_labels": DECISION_LABELS,
    "meeting_mode_labels": MEETING_MODE_LABELS,
    "meeting_kind_labels": MEETING_KIND_LABELS,
    "meeting_status_labels": MEETING_STATUS_LABELS,
    "attendance_labels": ATTENDANCE_LABELS,
}


@bp.app_context_processor
def _page_context() -> dict:
    user_unit = None
    if current_user.is_authenticated:
        found = queries.unit_with_organisation(get_session(), current_user.unit_id)
        if found is not None:
            unit, organisation = found
            user_unit = f"{unit.name}, {organisation.name}"
    return {
        "user_unit_label": user_unit,
        "can_start_case": current_user.is_authenticated and access.may_start_case(current_user),
        **_PAGE_LABELS,
    }


@bp.app_errorhandler(404)
def _not_found(_error):
    # No trace of the address asked for: an unknown case and another organisation's look the same.
    # A registered JSON address (an unknown /statistik/*.json) is answered in JSON, as its other refusals.
    answer = json_refusal(404, "not_found", _("There is no such address."))
    if answer is None:
        answer = render_template("errors/404.html", page_url=url_for("cases.my_cases")), 404
    return answer


@bp.app_errorhandler(403)
def _forbidden(_error):
    return render_template("errors/forbidden.html", page_url=url_for("cases.my_cases")), 403


@bp.app_errorhandler(MethodNotAllowed)
def _method_not_allowed(error: MethodNotAllowed):
    """Another method than the address takes (Enter on a POST-only address): a page, or JSON for an API."""
    allowed = ", ".join(sorted(error.valid_methods or ()))
    message = _("This address answers %(methods)s requests only.", methods=allowed)
    answer = json_refusal(405, "method_not_allowed", message)
    if answer is None:
        answer = render_template("errors/method_not_allowed.html", page_url=url_for("cases.my_cases")), 405
    response = make_response(answer)
    response.headers["Allow"] = allowed
    return response


@bp.app_errorhandler(NulInRequest)
def _nul_in_request(_error):
    """A NUL in the address or a form (refused by security before any view): a page, or JSON for an API."""
    answer = json_refusal(
        400, "nul", _("The request held a NUL character, which cannot be saved. Remove it and try again.")
    )
    return answer if answer is not None else (render_template("errors/bad_request.html"), 400)


@bp.app_errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    return render_template("errors/too_large.html", page_url=url_for("cases.my_cases")), 413


# When even the error page cannot be shown (the database gone, say): words, in both languages, and no data.
SERVER_ERROR_TEXT = (
    "Något gick fel i sipflow. Felet är loggat; gå tillbaka och försök igen.\n"
    "Something went wrong in sipflow. The error has been logged; go back and try again.\n"
)


@bp.app_errorhandler(InternalServerError)
def _server_error(_error):
    # Flask has logged the error (redacted); the page tells nothing of it, in the user's language.
    try:
        get_session().rollback()
        return render_template("errors/500.html", page_url=url_for("cases.my_cases")), 500
    except Exception:  # the page itself failed: the plain words, not a second traceback to the user
        current_app.logger.exception("the error page could not be shown")
        return SERVER_ERROR_TEXT, 500, {"Content-Type": "text/plain; charset=utf-8"}


# The database errors that say it cannot be reached now (a server down or restarting, a connection dropped,
# the pool exhausted, SQLite's file locked past the busy timeout), not that a statement is wrong.
_UNREACHABLE = (
    "database is locked",
    "unable to open database file",
    "disk i/o error",
    "connection",
    "server closed",
    "could not connect",
    "terminating",
    "the database system is",
)


def database_unreachable(error: Exception) -> bool:
    """Whether a database error means the database cannot be reached now (503), not a fault in sipflow."""
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.InterfaceError)):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    if error.connection_invalidated:
        return True
    text = str(error.orig).lower()
    return any(words in text for words in _UNREACHABLE)


@bp.app_errorhandler(sa_exc.OperationalError)
@bp.app_errorhandler(sa_exc.InterfaceError)
@bp.app_errorhandler(sa_exc.TimeoutError)
def _database_unavailable(error: Exception):
    """The database cannot be reached: 503 with a page that needs no database (no user, no menu), in the
    session's language, what was typed kept to copy; any other database error is the server error it is."""
    if not database_unreachable(error):
        current_app.logger.error("request failed: a database error", exc_info=error)
        return _server_error(error)
    # One line and its traceback (redacted, as every log line): the error page needs none of its own.
    logger.error("request failed: the database could not be reached", exc_info=error)
    try:
        get_session().rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the session is thrown away with the request
        logger.debug("the session could not be rolled back")
    typed = _typed_in_post()
    message = _("sipflow could not reach its database, so nothing was read or saved. Try again in a moment.")
    answer = json_refusal(503, "unavailable", message)
    if answer is None:
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(
            locale=select_locale(),
            kept_input=[(None, typed)] if typed else [],
        )
        answer = page, 503
    response = make_response(answer)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# How long the unavailable page asks a client to wait before it tries again.
RETRY_AFTER_SECONDS = 30


@bp.app_errorhandler(WorkflowVersionMissing)
def _workflow_missing(error: WorkflowVersionMissing):
    # A file of a version in use was removed or its version changed: every case on it stops, so the log
    # says which (no case, no person) and the page tells the user whom to ask.
    logger.error(
        "a case follows workflow %s version %d, which no loaded workflow file defines",
        error.name,
        error.version,
    )
    page = render_template(
        "errors/workflow_missing.html", name=error.name, version=error.version, kept_input=_typed_in_post()
    )
    return page, 503


@bp.app_errorhandler(WorkflowStateMissing)
def _workflow_state_missing(error: WorkflowStateMissing):
    # The version's file was edited in place to take away a state cases are in: as for a missing version,
    # the log says which (no case, no person) and the page tells the user whom to ask.
    logger.error(
        "a case is in state %s, which workflow %s version %d defines no more",
        error.state,
        error.name,
        error.version,
    )
    page = render_template(
        "errors/workflow_state_missing.html",
        name=error.name,
        version=error.version,
        state=error.state,
        kept_input=_typed_in_post(),
    )
    return page, 503


def _typed_in_post() -> list:
    """What a form sent with this request held typed in it (none for a GET), to copy from a page that
    refuses it: nothing of it was saved."""
    return typed_in_request(request.form) if request.method == "POST" else []


@bp.app_errorhandler(CSRFError)
def _csrf_failed(_error):
    to_login = csrf_failed()
    if to_login is not None:
        return to_login
    # What was typed into the refused form, shown to copy (nothing a user typed is lost): a person's answer
    # page or plan page whose session cookie went (the browser closed and its tab restored), say.
    kept_input = typed_in_request(request.form)
    return render_template("errors/csrf.html", page_url=url_for("cases.my_cases"), kept_input=kept_input), 400


# --- Mina SIP ---------------------------------------------------------------------------------------------


# The person Mina SIP is narrowed to lives in the (signed) session, never in a URL: its row id and the
# masked identifier the page shows.
PERSON_FILTER_KEY = "mina_sip_person"
# The filters Mina SIP carries in its URL (and the person filter's form carries on in hidden fields).
_LIST_ARGUMENTS = ("kind", "state", "deadline")


def _list_filters() -> tuple[queries.CaseFilter, dict[str, str], dict[str, str]]:
    """The filters of the request (kind, state and deadline from the URL, or from the form's hidden fields on
    the person filter's POST; person from the session), the URL arguments that carry the first three on to
    the neighbouring pages, and by field the values refused."""
    source = request.form if request.method == "POST" else request.args
    person = session_store.get(PERSON_FILTER_KEY) or {}
    filters, errors = queries.case_filter(
        workflow_registry(),
        state=source.get("state"),
        deadline=source.get("deadline"),
        person_id=person.get("id") if isinstance(person.get("id"), int) else None,
        kind=source.get("kind"),
    )
    carried = (("kind", filters.occasion), ("state", filters.state), ("deadline", filters.deadline))
    arguments = {key: value for key, value in carried if value}
    return filters, arguments, errors


@bp.get("/cases")
@login_required
def my_cases():
    """The SIPs the user may see, newest activity first; a clear page for those who see none."""
    user = current_actor()
    if not access.may_see_cases(user):
        return render_template("cases/no_access.html", page_url=url_for("cases.my_cases"))
    return _render_my_cases(user)


def _render_my_cases(user, *, status: int = 200, person_error: str | None = None, typed: str = ""):
    """Mina SIP; person_error and typed: a refused person filter, its message beside the field with the
    identifier as it was typed (a POST's answer: never in a URL). A refused state or deadline filter is a
    400 with its message beside its field; the list is shown under the filters that were not refused."""
    filters, arguments, filter_errors = _list_filters()
    page = queries.my_cases(
        get_session(),
        workflow_registry(),
        user,
        locale=current_locale(),
        now=now_utc(),
        after=request.args.get("after"),
        before=request.args.get("before"),
        filters=filters,
    )
    person = session_store.get(PERSON_FILTER_KEY) if filters.person_id is not None else None
    # The error summary's lines, in the order the page shows the filters.
    refusals = [
        field_refusal(filter_errors[key], label, f"filter-{key}")
        for key, label in (("kind", _("Kind of SIP")), ("state", _("State")), ("deadline", _("Deadline")))
        if key in filter_errors
    ]
    if person_error:
        label = _("Person (personnummer, samordningsnummer or reservnummer)")
        refusals.append(field_refusal(person_error, label, "filter-person"))
    return render_template(
        "cases/my_cases.html",
        filter_refusals=refusals,
        page=page,
        filters=filters,
        arguments=arguments,
        filter_errors=filter_errors,
        kinds=queries.kind_choices(workflow_registry(), current_locale()),
        states=queries.state_choices(workflow_registry(), current_locale()),
        deadline_choices=[("overdue", _("Overdue")), ("week", _("Due within 7 days"))],
        person_masked=person.get("masked") if person else None,
        person_error=person_error,
        typed_identifier=typed,
        # The refused person filter's page answers a POST: its language switch leads to Mina SIP (GET).
        page_url=url_for("cases.my_cases", **arguments) if request.method == "POST" else None,
    ), 400 if filter_errors else status


@bp.post("/person-filter")
@login_required
def filter_person():
    """Narrow Mina SIP to one person typed as a personnummer (POST: never in a URL), or clear it."""
    user = current_actor()
    if not access.may_see_cases(user):
        abort(403)
    arguments = {key: request.form.get(key) for key in _LIST_ARGUMENTS if request.form.get(key)}
    if request.form.get("clear") or not (request.form.get("identifier") or "").strip():
        session_store.pop(PERSON_FILTER_KEY, None)
        return redirect(url_for("cases.my_cases", **arguments))
    typed = request.form["identifier"]
    refused = nul_refusals(lambda name: name == "identifier")
    if refused:
        message = next(iter(refused.values()))
        return _render_my_cases(user, status=400, person_error=str(message), typed=typed[:20])
    try:
        identifier = parse_any_identifier(typed, now=now_utc())
    except InvalidInput as error:
        # The page again, the message beside the field and what was typed kept (bounded as the field is).
        return _render_my_cases(user, status=400, person_error=str(error.message), typed=typed[:20])
    session = get_session()
    # The look-up is logged once, here (the person's list pages that follow are not): the row names the
    # person, whether or not the user sees any of their SIPs.
    with unit_of_work(session):
        person = look_up_person(
            session,
            user,
            current_app.config["PNR_HASH_KEY"],
            identifier,
            purpose=audit.PURPOSE_CARE,
            now=now_utc(),
        )
    # An unknown person gives an empty list (id 0 is no row): the page tells nothing more than a known one.
    session_store[PERSON_FILTER_KEY] = {"id": person.id if person else 0, "masked": identifier.masked()}
    return redirect(url_for("cases.my_cases", **arguments))


# --- The case page ----------------------------------------------------------------------------------------


@dataclass
class Action:
    """A step the user may take now, with its form."""

    transition: TransitionDef
    label: str
    # None for a step taken on a page of its own (page_url): the case page shows no form for it.
    form: TransitionForm | None
    open: bool = False
    # A step another area takes on a page of its own (the meeting outcome): the case page links there.
    page_url: str | None = None
    # The fresh form's fields whose HTML is fixed (_fixed_fields), by name.
    fixed: dict[str, Markup] = field(default_factory=dict)
    # What refuses the step whatever its form holds (services.refusals_before_form): said over the form.
    blocked: list = field(default_factory=list)


def _removed_choices(parties: queries.CaseParties) -> dict[str, dict[int, str]]:
    """What a step's checkbox groups may have ticked of those taken off the SIP since: guardians, by their
    participant, and organisations no longer taking part, by name (ForgetsRemovedTicks)."""
    taking_part = {o.id for o in parties.organisations}
    removed = [row for row in parties.participant_rows if not row[0].active]
    return {
        "guardian_participant_ids": {p.id: p.name or "" for p, *_ in removed if p.kind == "guardian"},
        "organisation_ids": {
            o.id: parties.organisation_labels.get(o.id, o.name)
            for _p, o, *_ in removed
            if o is not None and o.id not in taking_part
        },
    }


def _form_context(detail: queries.CaseDetail) -> FormContext:
    participants = []
    for p in detail.participants:
        if p.kind == "organisation":
            label = unit_label(p.name, p.unit_name)
        else:
            label = f"{p.name} ({PARTICIPANT_KIND_LABELS.get(p.kind, p.kind)})"
        participants.append((p.id, label))
    today = to_local(now_utc()).date()
    guardians_consent = services.guardians_consent(detail.workflow, detail.person, today)
    return FormContext(
        organisations=[(o.id, detail.organisation_labels.get(o.id, o.name)) for o in detail.organisations],
        participants=participants,
        guardians=[(p.id, p.name) for p in detail.participants if p.kind == "guardian"],
        child=services.asks_childs_view(detail.workflow, detail.person, today),
        guardians_consent=guardians_consent,
        givers=services.consent_givers(child=guardians_consent, adult=services.of_age(detail.person, today)),
        prefill={"preparation": {"questions": detail.case.questions, "child_view": detail.case.child_view}},
    )


def _render_case(
    detail: queries.CaseDetail,
    *,
    status: int = 200,
    errors: list | None = None,
    failed_trigger: str | None = None,
    failed_form: TransitionForm | None = None,
    unit_form: AddUnitForm | None = None,
    private_form: AddPrivateForm | None = None,
    contact_form: ContactForm | None = None,
):
    """Render the case page, with a refused form (and its errors) in place of the fresh one.

    A refused form the page no longer offers (the step is not possible in the SIP's new state, a participant
    form on an ended SIP) is shown back read-only instead, so nothing the user typed is lost.
    """
    session, case, locale = get_session(), detail.case, current_locale()
    # The participant forms the request posted (before the fresh ones are built): an ended SIP's page shows
    # none, so they are shown back read-only.
    unshown_participant_forms = (
        [
            (title, form)
            for title, form in zip(
                _PARTICIPANT_FORM_TITLES, (unit_form, private_form, contact_form), strict=True
            )
            if form is not None
        ]
        if detail.is_final
        else []
    )
    ctx = _form_context(detail)
    local_now = to_local(now_utc())
    actions = []
    allowed = services.allowed_transitions(
        session, workflow_registry(), case, current_actor(), detail.participants
    )
    parts = case_page_parts(detail, current_actor(), allowed=allowed)
    # What other areas store for a form of this page (the plan's own goals for the preparation form).
    for kind, values in parts.pop("transition_prefill", {}).items():
        ctx.prefill.setdefault(kind, {}).update(values)
    shown_errors = {str(error) for error in errors or ()}

    def blocked(transition: TransitionDef) -> list:
        # Not said again over the form when the refusal at the top of the page says it already.
        found = services.refusals_before_form(
            session,
            detail.workflow,
            case,
            current_actor(),
            transition,
            now=now_utc(),
            reads=detail.step_reads,
            organisations=detail.organisations,
        )
        return [message for message in found if str(message) not in shown_errors]

    for transition in allowed:
        if transition.trigger == failed_trigger and failed_form is not None:
            actions.append(
                Action(
                    transition,
                    transition_label(transition, locale),
                    failed_form,
                    open=True,
                    blocked=blocked(transition),
                )
            )
            continue
        page_url = transition_page_url(transition.form, case)
        if page_url is not None:
            # The page links to the step's own page: a form built here would never be rendered.
            actions.append(Action(transition, transition_label(transition, locale), None, page_url=page_url))
            continue
        form = build_transition_form(transition.form, ctx, prefix=transition.trigger, version=case.version)
        prefill_times(form, local_now)
        actions.append(
            Action(
                transition,
                transition_label(transition, locale),
                form,
                fixed=_fixed_fields(form, locale),
                blocked=blocked(transition),
            )
        )
    if unit_form is None:
        unit_form = _unit_form(detail, formdata=None)
    fixed: dict[str, dict[str, Markup]] = {"private": {}, "contact": {}}
    if private_form is None:
        private_form = AddPrivateForm(formdata=None, prefix="private", version=case.version)
        fixed["private"] = _fixed_fields(private_form, locale)
    if contact_form is None:
        contact_form = _contact_form(detail, formdata=None)
        fixed["contact"] = _fixed_fields(contact_form, locale)
    kept = []
    if failed_form is not None and not any(action.form is failed_form for action in actions):
        kept.append((_failed_step_label(detail, failed_trigger, locale), failed_form))
    kept.extend(unshown_participant_forms)
    shown = {**_PAGE_LABELS, "language_labels": LANGUAGE_LABELS, **parts}
    parts = {**parts, **_translated_labels(shown, locale)}
    return (
        render_template(
            "cases/detail.html",
            detail=detail,
            case=case,
            person=detail.person,
            actions=actions,
            errors=errors or [],
            unit_form=unit_form,
            private_form=private_form,
            contact_form=contact_form,
            removable=_removable(detail),
            namable=_namable(detail),
            fixed_fields=fixed,
            unit_optgroups=_unit_optgroups(unit_form),
            **parts,
            particulars_url=(
                url_for("cases.person", uid=case.uid)
                if access.may_change_person(
                    session, current_actor(), detail.person, now=now_utc(), covered_in=detail.covered
                )
                else None
            ),
            utskrivningsklar_url=_correction_url(detail),
            # The language switch: a GET keeps its query (lang_url), so the timeline's or the reminders' page
            # shown stays; a form's post shown again switches on the case page itself.
            page_url=None if request.method == "GET" else url_for("cases.detail", uid=case.uid),
            kept_input=[(title, typed_values(form)) for title, form in kept],
        ),
        status,
    )


def _correction_url(detail: queries.CaseDetail) -> str | None:
    """The link to correct the utskrivningsklar time, from what the page read: for a party leading the SIP
    while a deadline counting from the time is open (the page asks corrections.correction_refusal again)."""
    case = detail.case
    if detail.is_final or case.utskrivningsklar_at is None:
        return None
    kinds = {rule.kind for rule in corrections.rules_from(workflow_registry(), case, _CORRECTED_DATE)}
    still_open = any(
        d.deadline.kind in kinds and d.deadline.met_at is None and d.deadline.cancelled_at is None
        for d in detail.deadlines
    )
    if not still_open or not corrections.may_correct(
        get_session(), case, current_actor(), detail.participants
    ):
        return None
    return url_for("cases.correct_utskrivningsklar", uid=case.uid)


# The headings of the participant forms (as the page's own summaries name them).
_PARTICIPANT_FORM_TITLES = (
    _l("Another unit"),
    _l("A relative, a guardian or a legal representative"),
    _l("Contact details for invitations"),
)


def _removable(detail: queries.CaseDetail) -> set[int]:
    """The participants the user's organisation may remove, each linked to its removal page.

    From what the page read, with no statement: the other areas' refusal checks read, so only the removal
    page asks them (and shows their refusal instead of the form).
    """
    case = detail.case
    if detail.is_final or not services.may_remove_participants(
        get_session(), case, current_actor(), detail.participants
    ):
        return set()
    return {
        p.id for p in detail.participants if services.removal_refusal(case, p, detail.participants) is None
    }


def _namable(detail: queries.CaseDetail) -> set[int]:
    """The units whose contact person the user may name (their organisation's staff), from what the page
    read: each links to its page, and the unit's own staff get a "Bli kontaktperson" button."""
    if detail.is_final:
        return set()
    own = services.actor_organisation_id(get_session(), current_actor())
    registry = workflow_registry()
    return {
        p.id
        for p in detail.participants
        if services.contact_person_refusal(registry, detail.case, own, p) is None
    }


def _failed_step_label(detail: queries.CaseDetail, trigger: str | None, locale: str) -> str:
    """The label of the step a refused form was for (its trigger when the workflow no longer names it)."""
    known = [t for t in detail.workflow.transitions if t.trigger == trigger] if detail.workflow else []
    return transition_label(known[0], locale) if known else str(trigger)


# The fields of a fresh form (formdata=None) whose HTML depends on the page's language only: no choice,
# value or attribute of theirs comes from the case or the user. Rendered by the same macro once per language
# and process, then reused: these folded forms were about a tenth of the case page. Never the hidden fields
# (the version is the case's, the CSRF token the session's), never a form shown again with what was typed.
# A field that takes something from the case (the contact form's participant) must not be listed here.
_FIXED_WHEN_FRESH: dict[type, tuple[str, ...]] = {
    AddPrivateForm: ("kind", "name", "relation", "email", "phone", "language"),
    ContactForm: ("email", "phone", "language"),
    # A step's reason (the prefix, the step's trigger, is part of the key); a prefilled one is not reused.
    ReasonForm: ("reason",),
}
_fixed_html: dict[tuple, Markup] = {}


def _fixed_fields(form, locale: str) -> dict[str, Markup]:
    """The HTML of the fresh form's fields listed in _FIXED_WHEN_FRESH, by field name."""
    fields = {}
    for name in _FIXED_WHEN_FRESH.get(type(form), ()):
        if form[name].data != form[name].default:
            continue  # filled in for this case (a transition's prefill): rendered as it is
        key = (type(form), form._prefix, name, locale)
        html = _fixed_html.get(key)
        if html is None:
            render_field = get_template_attribute("macros.html", "render_field")
            html = _fixed_html[key] = Markup(render_field(form[name]))
        fields[name] = html
    return fields


# The label dicts of lazy texts the case page shows (its own, and those other areas' parts give it),
# translated once per language and process: each label shown went through flask-babel's lazy string (the
# request, the locale and the catalogue looked up again), some fifty per page. Markup(str(label)) is what
# Jinja's escaping made of a lazy label. Reused only while the same dict object is passed (module
# constants); catalogues never change once loaded.
_TRANSLATED_LABELS: dict[tuple[str, str], tuple[dict, dict]] = {}


def _translated_labels(variables: dict, locale: str) -> dict:
    """Those of the variables that are dicts of lazy labels, each as a dict of translated Markup."""
    translated = {}
    for name, value in variables.items():
        if not isinstance(value, dict) or not value:
            continue
        found = _TRANSLATED_LABELS.get((locale, name))
        if found is not None and found[0] is value:
            translated[name] = found[1]
            continue
        if not all(isinstance(label, LazyString) for label in value.values()):
            continue
        # As Jinja showed the lazy label: flask-babel's LazyString.__html__ hands its text over as markup.
        resolved = {key: Markup(str(label)) for key, label in value.items()}
        _TRANSLATED_LABELS[locale, name] = (value, resolved)
        translated[name] = resolved
    return translated


def _unit_optgroups(form: AddUnitForm) -> Markup:
    """The unit picker's <optgroup>s, each organisation's from _unit_optgroup."""
    return _joined_optgroups(form.unit_groups, form.unit_id.data)


@functools.lru_cache(maxsize=512)
def _joined_optgroups(groups: tuple, selected: int | None) -> Markup:
    """Every group's <optgroup> (_unit_optgroup), joined: the same groups come on every view of a SIP."""
    return Markup("").join(_unit_optgroup(group, units, selected) for group, units in groups)


# The picker lists every unit of the directory (65 options in the demo county) on every case page; Jinja's
# loop over them was a tenth of the template. Keyed by what the HTML shows (the organisation's name, its
# units' ids and names, the unit chosen in a refused form), so a renamed or added unit is a new key, in
# every worker, with nothing to invalidate; bounded, as a county has some hundred organisations.
@functools.lru_cache(maxsize=1024)
def _unit_optgroup(group: str, units: tuple[tuple[int, str], ...], selected: int | None) -> Markup:
    """One organisation's <optgroup> of the unit picker, by the case page's own macro."""
    return Markup(get_template_attribute("cases/unit_optgroup.html", "unit_optgroup")(group, units, selected))


def _unit_form(detail: queries.CaseDetail, *, formdata) -> AddUnitForm:
    # Every active unit not taking part: another unit of an organisation on the SIP too, and one removed;
    # the user's own county's and the national organisations' first, as on Ny SIP.
    taking_part = services.units_taking_part(detail.participants)
    groups = queries.units_for_case_page(
        get_session(), current_actor().unit_id, exclude_unit_ids=taking_part, locale=current_locale()
    )
    form = AddUnitForm(formdata=formdata, prefix="unit", version=detail.case.version)
    form.set_unit_groups(groups, for_validation=formdata is not None)
    # A chosen id no row can have (a typed number past the id range) names no unit, deactivated or not.
    chosen = row_id(str(form.unit_id.data)) if formdata is not None else None
    if chosen is not None and all(chosen != unit_id for group in groups for unit_id, _name in group.units):
        form.deactivated = queries.deactivated_unit_label(get_session(), chosen)
    return form


def _contact_form(detail: queries.CaseDetail, *, formdata) -> ContactForm:
    form = ContactForm(formdata=formdata, prefix="contact", version=detail.case.version)
    form.set_participants((p.id, unit_label(p.name, p.unit_name)) for p in detail.participants)
    chosen = form.participant_id.data if formdata is not None else None
    if chosen is not None and all(p.id != chosen for p in detail.participants):
        # Taken off the SIP since the page was read: named as the page named them, and nobody chosen in
        # their place (the typed address must not go to the first participant the select would show).
        gone = queries.participant_of(detail, chosen)
        if gone is not None:
            form.forget_removed_participant(unit_label(gone.name, gone.unit_name))
    return form


def _detail(case) -> queries.CaseDetail:
    return queries.case_detail(
        get_session(),
        workflow_registry(),
        case,
        locale=current_locale(),
        now=now_utc(),
        timeline_before=queries.timeline_cursor(request.args.get("timeline_before")),
    )


@bp.get("/cases/<uid>")
@login_required
def detail(uid: str):
    """The case page: the person, the parties, consent, deadlines, meetings, timeline and the next steps."""
    return _render_case(_detail(case_or_404(uid, audit.CASE_VIEW)))


@bp.post("/cases/<uid>/transitions/<trigger>")
@login_required
def fire(uid: str, trigger: str):
    """Take one step of the workflow with the form of its kind."""
    session, registry, user = get_session(), workflow_registry(), current_actor()
    case = case_or_404(uid, audit.CASE_TRANSITION)
    # The form's choices need the parties only; the rest of the page is read if it is shown again. The
    # same read is the step's own (its participants and consents in force), so the step reads neither.
    parties = queries.case_parties(session, registry, case, step_now=now_utc())
    reads = parties.step_reads
    # A version no loaded file defines (found None): the 503 asking for the file back, what was typed kept.
    workflow = parties.workflow or registry.get(case.workflow_name, case.workflow_version)
    known = [t for t in workflow.transitions if t.trigger == trigger]
    if not known:
        abort(404)
    transition = workflow.transition(case.state, trigger) or known[0]
    page_url = transition_page_url(transition.form, case)
    if page_url is not None:
        # This step is taken on its own page; a post here (an old page, a bookmark) is sent there.
        return redirect(page_url, code=303)
    form = build_transition_form(
        transition.form, _form_context(parties), prefix=trigger, version=case.version, formdata=request.form
    )
    form.forget_removed_ticks(_removed_choices(parties))
    refusal: UserError | None = None
    # A form from before someone else's change is stale, whatever else is wrong with it.
    if form.version.validate(form) and form.version.data is not None:
        try:
            services.check_version(case, form.version.data)
        except StaleCase as error:
            refusal = error
    if refusal is None:
        # Refused before the form is read: a step the SIP or the user's party cannot take.
        try:
            services.check_may_fire(session, registry, user, case, trigger, participants=reads.participants)
        except UserError as error:
            refusal = error
    top: list = []
    if refusal is None:
        if not form.validate():
            # What the step's input refuses besides, marked too (each field once): every field's refusal on
            # the first send, not one round at a time. It writes nothing.
            refused = services.step_input_refusal(
                session, registry, user, case, trigger, form.to_data, now=now_utc(), reads=reads
            )
            if refused is not None:
                attach_error(form, refused, top, unmarked_only=True)
            return _render_case(_detail(case), status=400, failed_trigger=trigger, failed_form=form)
        try:
            with unit_of_work(session):
                services.fire_transition(
                    session,
                    registry,
                    user,
                    case,
                    trigger,
                    expected_version=form.version.data,
                    now=now_utc(),
                    data=form.to_data(),
                    reads=reads,
                )
        except UserError as error:
            refusal = error
        else:
            flash(
                _(
                    "%(step)s: saved. The SIP is now: %(state)s.",
                    step=transition_label(transition, current_locale()),
                    state=queries.state_label(workflow, case.state, current_locale()),
                ),
                "success",
            )
            if workflow.is_final(case.state) and not access.can_view_case(session, user, case, now=now_utc()):
                # The step ended what let the user's organisation see the SIP (a withdrawn consent): its
                # page would answer "not found" right after "saved".
                flash(_("Your organisation no longer sees the SIP."), "info")
                return redirect(url_for("cases.my_cases"), code=303)
            return redirect(url_for("cases.detail", uid=case.uid), code=303)
    # A form its own checks refuse is no second send of a step just taken (and a value they refuse may not
    # even convert: a time in year 1 has no UTC time); it keeps its refusals beside the conflict.
    if (
        isinstance(refusal, StaleCase)
        and form.validate()
        and services.own_step_just_taken(
            session,
            case,
            user,
            [trigger],
            now=now_utc(),
            data=form.to_data(),
            form=transition.form,
            effects=transition.effects,
        )
    ):
        # The user's own second click on the step just taken: it is done, not refused.
        return already_done(transition, case.uid)
    # Gathered after the attempt, which was rolled back if there was one: the page as the SIP now is.
    info = _detail(case)
    if isinstance(refusal, TransitionNotAllowed):
        # The page names the state as the workflow file labels it, not by its technical name.
        refusal = TransitionNotAllowed(
            _l("That step is not possible in the SIP's current state (%(state)s).", state=info.state_label)
        )
    if isinstance(refusal, StaleCase):
        # Keep what was typed and let the form carry the version the page now shows: after a look at the
        # SIP as it is, sending it again is a deliberate choice (the service still checks every rule).
        refusal = StaleCase(STALE_FORM)
        show_current_version(form, case.version)
    attach_error(form, refusal, top)
    return _render_case(info, status=refusal.status, errors=top, failed_trigger=trigger, failed_form=form)


def _stale(form, case) -> bool:
    """True when the form was read at another version of the case; it then carries the current one.

    What was typed stays in the form, so sending it again after a look at the SIP is a deliberate choice.
    """
    if not form.version.validate(form) or form.version.data is None or form.version.data == case.version:
        return False
    show_current_version(form, case.version)
    return True


def _participant_change(uid: str, *, form_name: str, build_form, act, done, already=None, repeated=None):
    """One participant form posted: refuse on an ended SIP, validate, act in one unit of work, redirect.

    A refusal is shown beside its field, or at the top of the case page, with the form as the user filled it.
    already(info, form): the message when what the form asks is so already (a second send of an add, or
    someone else's add meanwhile), or None; then nothing is done and the case page says so, stale or not.
    repeated(case, form): the name of the change (web.already_done) when a stale form repeats its sender's
    own change of a moment ago, else None: it is then told done, not someone else's change.
    """
    session, registry = get_session(), workflow_registry()
    info = _detail(case_or_404(uid, audit.CASE_PARTICIPANTS))
    try:
        # An ended SIP is refused whatever the form holds (the service refuses it again when it acts).
        services.check_participants_open(registry, info.case)
    except UserError as error:
        # The ended SIP's page has no participant forms: what was typed is shown back read-only.
        kept = {form_name: build_form(info)}
        return _render_case(info, status=error.status, errors=[error.message], **kept)
    form = build_form(info)
    if already is not None and (message := already(info, form)) is not None:
        flash(message, "info")
        return redirect(url_for("cases.detail", uid=uid), code=303)
    if (own := _own_repeat(form, info.case, repeated)) is not None:
        return already_done(own, uid)
    if _stale(form, info.case):
        return _render_case(info, status=409, errors=[STALE_FORM], **{form_name: form})
    if not form.validate():
        return _render_case(info, status=400, **{form_name: form})
    try:
        with unit_of_work(session):
            act(session, registry, info.case, form)
    except UserError as error:
        top: list = []
        info = _detail(info.case)
        if already is not None and (message := already(info, form)) is not None:
            # Someone's add of the same unit came first (the claim refused this one): it is done.
            flash(message, "info")
            return redirect(url_for("cases.detail", uid=uid), code=303)
        if isinstance(error, StaleCase) and (own := _own_repeat(form, info.case, repeated)) is not None:
            # The user's own send of the same form came first (the claim refused this one): it is done.
            return already_done(own, uid)
        attach_error(form, error, top)
        if _stale(form, info.case):  # a step taken meanwhile made the form stale
            top = [STALE_FORM]
        return _render_case(info, status=error.status, errors=top, **{form_name: form})
    flash(done(form), "success")
    return redirect(url_for("cases.detail", uid=uid), code=303)


def _own_repeat(form, case, repeated):
    """What repeated(case, form) names when form, valid and read at an earlier version of case, repeats its
    sender's own change of a moment ago; else None."""
    if repeated is None or not form.version.validate(form) or form.version.data in (None, case.version):
        return None
    return repeated(case, form) if form.validate() else None


@bp.post("/cases/<uid>/participants/unit")
@login_required
def add_unit(uid: str):
    """Let another unit, and so its organisation, take part."""

    def act(session, registry, case, form):
        try:
            services.add_unit_participant(
                session,
                registry,
                case,
                form.unit_id.data,
                now=now_utc(),
                expected_version=form.version.data,
            )
        except InvalidInput as error:
            raise InvalidInput(error.message, field="unit_id") from None

    return _participant_change(
        uid,
        form_name="unit_form",
        build_form=lambda info: _unit_form(info, formdata=request.form),
        act=act,
        done=lambda form: _("The unit takes part in the SIP."),
        already=_unit_already_taking_part,
    )


def _unit_already_taking_part(info: queries.CaseDetail, form: AddUnitForm) -> str | None:
    """The message when the unit the form names takes part in the SIP already (services.units_taking_part),
    else None: a double click on "Lägg till" is answered as done, not refused as a unit no longer offered."""
    if form.unit_id.data not in services.units_taking_part(info.participants):
        return None
    return _("Nothing was changed: the unit already takes part in the SIP.")


@bp.post("/cases/<uid>/participants/private")
@login_required
def add_private(uid: str):
    """Add a närstående or a guardian."""

    def act(session, registry, case, form):
        services.add_private_participant(
            session,
            registry,
            case,
            kind=form.kind.data,
            name=form.name.data,
            relation=form.relation.data,
            email=form.email.data,
            phone=form.phone.data,
            now=now_utc(),
            expected_version=form.version.data,
            language=form.language.data or DEFAULT_LOCALE,
            added_by=current_actor(),
        )

    def repeated(case, form):
        added = services.own_private_participant_just_added(
            get_session(),
            case,
            current_actor(),
            expected_version=form.version.data,
            kind=form.kind.data,
            name=form.name.data,
            relation=form.relation.data,
            email=form.email.data,
            phone=form.phone.data,
            language=form.language.data or DEFAULT_LOCALE,
            now=now_utc(),
        )
        return None if added is None else ADD_PRIVATE_LABELS.get(added.kind)

    return _participant_change(
        uid,
        form_name="private_form",
        build_form=lambda info: AddPrivateForm(formdata=request.form, prefix="private"),
        act=act,
        done=lambda form: _("%(name)s takes part in the SIP.", name=form.name.data.strip()),
        repeated=repeated,
    )


# A närstående's or guardian's add named as a step is (web.already_done: "Lägg till närstående: redan gjort").
ADD_PRIVATE_LABELS = {
    "narstaende": _l("Add a relative"),
    "guardian": _l("Add a guardian"),
    "representative": _l("Add a legal representative"),
}


@bp.post("/cases/<uid>/participants/contact")
@login_required
def set_contact(uid: str):
    """Set the e-mail address (for invitations) and phone of a participant."""

    saved = []

    def act(session, registry, case, form):
        saved.append(
            services.set_participant_contact(
                session,
                registry,
                case,
                form.participant_id.data,
                email=form.email.data or None,
                phone=form.phone.data or None,
                now=now_utc(),
                expected_version=form.version.data,
                language=form.language.data or None,
                remove_email=form.remove_email.data,
                remove_phone=form.remove_phone.data,
            )
        )

    return _participant_change(
        uid,
        form_name="contact_form",
        build_form=lambda info: _contact_form(info, formdata=request.form),
        act=act,
        done=lambda form: _contact_saved(saved[0]),
    )


def _contact_saved(change: services.ContactChange) -> str:
    """The message saying what a save of contact details changed (an empty field keeps the stored value)."""
    if not change.changed:
        return _("Nothing was changed: the contact details are as before.")
    said = [_("The contact details are saved.")]
    if change.email == "set":
        said.append(_("The e-mail address is now %(email)s.", email=change.participant.email))
    elif change.email == "removed":
        said.append(_("The e-mail address is removed."))
    if change.phone == "set":
        said.append(_("The phone number is now %(phone)s.", phone=change.participant.phone))
    elif change.phone == "removed":
        said.append(_("The phone number is removed."))
    if change.language:
        said.append(_("The language is changed."))
    return " ".join(said)


@bp.route("/cases/<uid>/participants/<id:participant_id>/remove", methods=["GET", "POST"])
@login_required
def remove_participant(uid: str, participant_id: int):
    """Take a participant off the SIP, with the reason (the initiator or the huvudansvarig party)."""
    posted = request.method == "POST"
    case = case_or_404(uid, audit.CASE_PARTICIPANTS if posted else audit.CASE_VIEW)
    session, registry, actor = get_session(), workflow_registry(), current_actor()
    parties = queries.case_parties(session, registry, case)
    participant = queries.participant_of(parties, participant_id)
    if participant is None:
        abort(404)
    # Refused before the form is read: the page offers no form then (the service asks again when it acts).
    refusal = services.refusal_of_removal(
        session, registry, case, actor, participant_id, parties.participants
    )
    form = RemoveParticipantForm(formdata=request.form) if posted else None

    def repeated(case, form):
        removed = services.own_removal_just_made(
            session,
            case,
            actor,
            participant_id,
            reason=form.reason.data,
            expected_version=form.version.data,
            now=now_utc(),
        )
        return None if removed is None else _l("Remove a participant")

    # The user's own removal of a moment ago, sent again (a double click): done, not someone else's change
    # (nor refused as a participant no longer on the SIP).
    if posted and (own := _own_repeat(form, case, repeated)) is not None:
        return already_done(own, case.uid)
    if refusal is not None:
        status = _refusal_status(refusal, posted)
        # A posted reason is shown back read-only: the page offers no form to put it in.
        return _render_removal(case, participant, None, errors=[refusal.message], status=status, kept=form)
    if form is None:
        form = RemoveParticipantForm(formdata=None, version=case.version)
    if not posted:
        return _render_removal(case, participant, form, errors=[], status=200)
    sent = _send_participant_form(
        case,
        form,
        "reason",
        lambda: services.remove_participant(
            session,
            registry,
            case,
            actor,
            participant_id,
            reason=form.reason.data,
            now=now_utc(),
            expected_version=form.version.data,
        ),
        repeated=repeated,
    )
    if sent.repeated is not None:
        return already_done(sent.repeated, case.uid)
    if sent.refused is not None:
        return _render_removal(
            case, participant, None, errors=[sent.refused.message], status=sent.refused.status, kept=form
        )
    if sent.done:
        flash(_("The participant is removed from the SIP."), "success")
        return redirect(url_for("cases.detail", uid=case.uid), code=303)
    return _render_removal(case, participant, form, errors=sent.errors, status=sent.status)


def _refusal_status(refusal: UserError, posted: bool) -> int:
    """The status of a participant page refused before its form is read.

    A GET sent no input to be invalid: what the SIP's state refuses (a 400 to a POST: an effort owner, a
    participant removed already) is a conflict there, 409, as an ended SIP's is here and on the other pages
    that explain a refusal instead of a form (further consent); who may not act gets 403.
    """
    return Conflict.status if not posted and refusal.status == InvalidInput.status else refusal.status


@dataclass
class _Sent:
    """What a participant page's form came to: done (result: the service's answer), its sender's own change
    of a moment ago (repeated: the change's name, for web.already_done), refused by the SIP as it now is (no
    form offered then), or errors to show with the form at status."""

    done: bool = False
    result: object = None
    repeated: object = None
    refused: UserError | None = None
    errors: list = field(default_factory=list)
    status: int = 200


def _send_participant_form(case: SipCase, form, own_field: str, act, *, repeated=None) -> _Sent:
    """A participant page's POST (removal, contact person): the stale and the form's own checks, then act()
    in a unit of work. A refusal at own_field goes beside it; any other is the SIP as it now is (someone
    acted meanwhile), shown without a form, what was typed read-only. repeated(case, form): as for
    _participant_change, asked when the claim finds the form stale (the user's own send of it came first)."""
    if _stale(form, case):
        return _Sent(errors=[STALE_FORM], status=409)
    if not form.validate():
        return _Sent(status=400)
    try:
        with unit_of_work(get_session()):
            result = act()
    except StaleCase:
        if (own := _own_repeat(form, case, repeated)) is not None:
            return _Sent(repeated=own)
        show_current_version(form, case.version)
        return _Sent(errors=[STALE_FORM], status=409)
    except UserError as error:
        if error.field != own_field:
            return _Sent(refused=error)
        errors: list = []
        attach_error(form, error, errors)
        return _Sent(errors=errors, status=error.status)
    return _Sent(done=True, result=result)


@bp.route("/cases/<uid>/participants/<id:participant_id>/contact-person", methods=["GET", "POST"])
@login_required
def contact_person(uid: str, participant_id: int):
    """Name the contact person of a unit taking part (its organisation's staff): one of its active staff, the
    user themselves (the case page's "Bli kontaktperson" posts here), or none."""
    posted = request.method == "POST"
    case = case_or_404(uid, audit.CASE_PARTICIPANTS if posted else audit.CASE_VIEW)
    session, registry, actor = get_session(), workflow_registry(), current_actor()
    parties = queries.case_parties(session, registry, case)
    shown = queries.participant_of(parties, participant_id)
    if shown is None:
        abort(404)
    participant = next((p for p in parties.participants if p.id == participant_id), None)
    form = ContactPersonForm(formdata=request.form) if posted else None
    # Refused before the form is read: the page offers no form then (the service asks again when it acts).
    refusal = services.contact_person_refusal(
        registry, case, services.actor_organisation_id(session, actor), participant
    )
    if refusal is not None:
        status = _refusal_status(refusal, posted)
        return _render_contact_person(case, shown, None, errors=[refusal.message], status=status, kept=form)
    if form is None:
        form = ContactPersonForm(formdata=None, version=case.version, contact_user_id=shown.contact_user_id)
    if not posted:
        return _render_contact_person(case, shown, form, errors=[], status=200)

    def repeated(case, form):
        named = services.own_contact_person_just_named(
            session,
            case,
            actor,
            participant_id,
            form.contact_user_id.data,
            expected_version=form.version.data,
            now=now_utc(),
        )
        if named is None:
            return None
        # Named as the button the user pressed: "Bli kontaktperson" names themselves.
        return (
            _l("Become contact person")
            if named.contact_user_id == actor.id
            else _l("Save the contact person")
        )

    # The user's own choice of a moment ago, sent again (a double click): done, not someone else's change.
    if (own := _own_repeat(form, case, repeated)) is not None:
        return already_done(own, case.uid)
    sent = _send_participant_form(
        case,
        form,
        "contact_user_id",
        lambda: services.set_contact_person(
            session,
            registry,
            case,
            actor,
            participant_id,
            form.contact_user_id.data,
            now=now_utc(),
            expected_version=form.version.data,
        ),
        repeated=repeated,
    )
    if sent.repeated is not None:
        return already_done(sent.repeated, case.uid)
    if sent.refused is not None:
        # Refused by the SIP as it now is (someone acted meanwhile): the choice is shown back.
        return _render_contact_person(
            case, shown, None, errors=[sent.refused.message], status=sent.refused.status, kept=form
        )
    if sent.done:
        flash(_contact_person_saved(sent.result, actor), "success")
        return redirect(url_for("cases.detail", uid=case.uid), code=303)
    return _render_contact_person(case, shown, form, errors=sent.errors, status=sent.status)


def _contact_person_saved(change: services.ContactPersonChange, actor) -> str:
    """The message saying who the unit's contact person now is."""
    contact = change.participant.contact_user_id
    if not change.changed:
        return _("Nothing was changed: the unit's contact person is as before.")
    if contact is None:
        return _("The unit has no contact person on the SIP now.")
    if contact == actor.id:
        return _("You are now the unit's contact person on the SIP.")
    return _("The unit's contact person on the SIP is changed.")


def _render_contact_person(
    case: SipCase,
    participant: queries.ParticipantView,
    form: ContactPersonForm | None,
    *,
    errors: list,
    status: int,
    kept: ContactPersonForm | None = None,
):
    """The contact person page: the unit, what its contact person does, and the form (the unit's active staff
    to choose from), or the refusal and no form.

    kept: a posted form the page no longer offers, shown back read-only so nothing chosen is lost.
    """
    session = get_session()
    candidates = services.contact_person_candidates(session, participant.unit_id)
    labels = [("", _("No contact person")), *candidates]
    for shown in (form, kept):
        if shown is not None:
            shown.contact_user_id.choices = choices(labels)
    return render_template(
        "cases/contact_person.html",
        case=case,
        participant=participant,
        form=form,
        errors=errors,
        kept_input=typed_values(kept) if kept is not None else [],
    ), status


def _render_removal(
    case: SipCase,
    participant: queries.ParticipantView,
    form: RemoveParticipantForm | None,
    *,
    errors: list,
    status: int,
    kept: RemoveParticipantForm | None = None,
):
    """The removal page: the participant, what a removal does, and the form, or the refusal and no form.

    kept: a posted form the page no longer offers, shown back read-only so nothing typed is lost.
    """
    return render_template(
        "cases/remove_participant.html",
        case=case,
        participant=participant,
        form=form,
        errors=errors,
        kept_input=typed_values(kept) if kept is not None else [],
    ), status


# --- Correcting the utskrivningsklar time -----------------------------------------------------------------

# The case date the page corrects: one of the start dates a workflow's Ny SIP form may ask for (START_DATES);
# which SIPs have it, and which deadline counts from it, the workflow files say (cases.corrections).
_CORRECTED_DATE = "utskrivningsklar_at"


@bp.route("/cases/<uid>/utskrivningsklar", methods=["GET", "POST"])
@login_required
def correct_utskrivningsklar(uid: str):
    """Correct when the patient was reported ready for discharge while the deadline counting from it is open,
    with the reason (the initiating organisation or the one with huvudansvar; 403 for others who see it)."""
    posted = request.method == "POST"
    case = case_or_404(uid, audit.CASE_DATES if posted else audit.CASE_VIEW)
    session, registry, actor = get_session(), workflow_registry(), current_actor()
    form = CorrectUtskrivningsklarForm(formdata=request.form) if posted else None
    refusal = corrections.correction_refusal(session, registry, case, actor, _CORRECTED_DATE)
    if refusal is not None:
        if not corrections.rules_from(registry, case, _CORRECTED_DATE):
            abort(404)  # no such date on this kind of SIP: no such page
        status = _refusal_status(refusal, posted)
        return _render_correction(case, None, errors=[refusal.message], status=status, kept=form)
    if form is None:
        form = CorrectUtskrivningsklarForm(formdata=None, version=case.version)
        form.utskrivningsklar_at.data = to_local(case.utskrivningsklar_at).replace(tzinfo=None)
        return _render_correction(case, form, errors=[], status=200)
    if _stale(form, case):
        return _render_correction(case, form, errors=[STALE_FORM], status=409)
    if not form.validate():
        return _render_correction(case, form, errors=[], status=400)
    try:
        with unit_of_work(session):
            corrections.correct_start_date(
                session,
                registry,
                case,
                actor,
                name=_CORRECTED_DATE,
                value=local_to_utc(form.utskrivningsklar_at.data),
                reason=form.reason.data,
                expected_version=form.version.data,
                now=now_utc(),
            )
    except StaleCase:
        show_current_version(form, case.version)
        return _render_correction(case, form, errors=[STALE_FORM], status=409)
    except UserError as error:
        if error.field is None:
            # The SIP as it now is refuses (someone met the deadline or ended it): what was typed shown back.
            return _render_correction(case, None, errors=[error.message], status=error.status, kept=form)
        errors: list = []
        attach_error(form, error, errors)
        return _render_correction(case, form, errors=errors, status=error.status)
    flash(_("The time the patient was reported ready for discharge is corrected."), "success")
    return redirect(url_for("cases.detail", uid=case.uid), code=303)


def _render_correction(
    case: SipCase,
    form: CorrectUtskrivningsklarForm | None,
    *,
    errors: list,
    status: int,
    kept: CorrectUtskrivningsklarForm | None = None,
):
    """The correction page: the date as it is, the deadline it moves, and the form (or the refusal, no form).

    kept: a posted form the page no longer offers, shown back read-only so nothing typed is lost.
    """
    session, registry = get_session(), workflow_registry()
    moving = corrections.open_deadlines_from(
        session, case, corrections.rules_from(registry, case, _CORRECTED_DATE)
    )
    workflow = queries.find_workflow(registry, case.workflow_name, case.workflow_version)
    locale = current_locale()
    return render_template(
        "cases/correct_utskrivningsklar.html",
        case=case,
        form=form,
        deadlines=[(queries.deadline_label(workflow, d.kind, locale), d.due_at) for d in moving],
        errors=errors,
        kept_input=typed_values(kept) if kept is not None else [],
    ), status


# --- Ny SIP -----------------------------------------------------------------------------------------------


def _new_case_form() -> NewCaseForm:
    session, registry, user, locale = get_session(), workflow_registry(), current_actor(), current_locale()
    form = NewCaseForm()
    form.workflow_name.choices = choices(queries.workflow_choices(registry, locale))
    form.utskrivningsklar_at.description = _required_for(
        queries.kinds_asking_for(registry, "utskrivningsklar_at", locale)
    )
    own = services.actor_organisation_id(session, user)
    # Every active unit but the user's own, which takes part anyway: the own organisation's other units
    # too (BUP beside the vårdcentral); the own county's come first, other counties' apart
    # (queries.units_for_new_case).
    taking_part = services.units_taking_part(initiator_unit_id=user.unit_id)
    form.set_units(queries.units_for_new_case(session, own, exclude_unit_ids=taking_part))
    return form


def _required_for(kinds: list[str]) -> str:
    """The help of a start date: the kinds of SIP (labels) whose workflow file asks for it, named."""
    if not kinds:
        return _("No kind of SIP asks for it.")
    if len(kinds) == 1:
        return _("Required for the kind “%(kind)s”.", kind=kinds[0])
    quoted = [_("“%(kind)s”", kind=kind) for kind in kinds]
    return _("Required for the kinds %(kinds)s and %(last)s.", kinds=", ".join(quoted[:-1]), last=quoted[-1])


def _check_identifier(form: NewCaseForm):
    """Parse the identifier; return it, or None after putting the refusal beside the field."""
    try:
        return parse_person_identifier(form.identifier.data or "", kind=form.id_kind.data, now=now_utc())
    except InvalidInput as error:
        form.identifier.errors = [*form.identifier.errors, error.message]
        return None


def _start_refusal(form: NewCaseForm, identifier, *, adult_confirmed: bool):
    """services.start_refusal asked with what the form let through (cases.forms.parsed: None for a field
    it refused); identifier: the parsed one, or None."""
    utskrivningsklar = parsed(form.utskrivningsklar_at)
    return services.start_refusal(
        get_session(),
        workflow_registry(),
        workflow_name=parsed(form.workflow_name),
        given_name=parsed(form.given_name),
        family_name=parsed(form.family_name),
        home_municipality_code=parsed(form.home_municipality_code),
        utskrivningsklar_at=local_to_utc(utskrivningsklar) if utskrivningsklar else None,
        birth_date=identifier.birth_date if identifier is not None else None,
        now=now_utc(),
        adult_confirmed=adult_confirmed,
    )


def _adult_ack(form: NewCaseForm, identifier) -> str:
    """What ties a ticked "start it for the adult anyway" to the kind of SIP and the birth date it was shown
    for (and the user): another kind or another person's age asks again."""
    birth_date = identifier.birth_date if identifier is not None else None
    message = f"sipflow.adult:{form.workflow_name.data}:{birth_date}:{current_actor().id}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _warns_of_adult(refused) -> bool:
    """The refusal (InvalidInputs: several) says a child's SIP is for an adult (services.AdultUnconfirmed)."""
    return any(isinstance(error, AdultUnconfirmed) for error in getattr(refused, "errors", [refused]))


def _open_ack(person_id: int, open_case_ids: list[int]) -> str:
    """What ties a ticked "start another SIP anyway" to the person, the user and the open SIPs it was shown
    for: a form sent again after it started one (back, a double click) meets one SIP more and asks again."""
    cases = ",".join(str(case_id) for case_id in sorted(open_case_ids))
    message = f"sipflow.open-sip:{person_id}:{current_actor().id}:{cases}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


@dataclass
class OpenCaseWarning:
    """The person's open SIPs: those the user may see (linked), and whether there are others."""

    visible: list[tuple[str, str, str, str]]  # uid, reference, kind of SIP, state
    hidden: bool


def _open_case_warning(session, registry, user, person_id: int, case_ids: list[int]) -> OpenCaseWarning:
    """Only the SIPs security.access lets the user see are named; of the others, only that they exist.
    The warning is a logged look-up of the person, committed with it."""
    locale = current_locale()
    with unit_of_work(session):
        visible = services.disclose_open_cases(session, user, person_id, case_ids, now=now_utc())
    rows = []
    for case in visible:
        workflow = queries.find_workflow(registry, case.workflow_name, case.workflow_version)
        rows.append(
            (
                case.uid,
                case.reference,
                queries.workflow_label(workflow, case.workflow_name, locale),
                queries.state_label(workflow, case.state, locale),
            )
        )
    return OpenCaseWarning(visible=rows, hidden=len(rows) < len(case_ids))


PARTICULARS_NOT_USED = _l(
    "The person is already registered in sipflow. The name and folkbokföringskommun you entered were not "
    "used: the SIP shows the registered particulars. If they are wrong, ask an administrator or someone who "
    "works with the person's SIP to change them."
)


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    """Start a SIP. The identifier travels in the POST body only, never in a URL.

    A person already registered is never changed from here (only told when what was typed differs); a
    person with an open SIP the user sees, of their organisation or county (services.open_cases_to_warn_of),
    gets a warning naming what the user may see, and the user must confirm to start another one.
    """
    _require_staff()
    session, registry, user = get_session(), workflow_registry(), current_actor()
    form = _new_case_form()
    groups = queries.municipalities_by_county(session)
    top: list = []
    status = 200
    identifier = None
    warning = None
    adult_warned = False
    if request.method == "GET":
        try:
            services.check_may_start_cases(session, user)
        except UserError as error:
            attach_error(form, error, top)
    if request.method == "POST":
        status = 400
        valid = form.validate()
        # The identifier is parsed only with a kind from the list (an unknown kind is the field's error).
        if not form.identifier.errors and not form.id_kind.errors and form.identifier.data:
            identifier = _check_identifier(form)
            valid = valid and identifier is not None
        # Only a tick given under the warning for this kind and this age confirms a child's SIP for an adult.
        adult_confirmed = bool(form.confirm_adult.data) and hmac.compare_digest(
            form.adult_ack.data or "", _adult_ack(form, identifier)
        )
        # What starting the SIP refuses besides (the particulars, the start dates, a child's SIP for an
        # adult), asked with the fields the form let through and marked too: every field's refusal at once.
        refused = _start_refusal(form, identifier, adult_confirmed=adult_confirmed)
        # The tick stays offered, as the user left it, while it confirms what the form now asks.
        adult_warned = adult_confirmed
        if refused is not None and _warns_of_adult(refused):
            adult_warned = True
            form.confirm_adult.data = False
            form.adult_ack.data = _adult_ack(form, identifier)
        if refused is not None:
            attach_error(form, refused, top, unmarked_only=not valid)
            valid = False
        if valid:
            person_id = None
            try:
                with unit_of_work(session):
                    now = now_utc()
                    registration = find_or_register_person(
                        session,
                        current_app.config["PNR_HASH_KEY"],
                        identifier,
                        given_name=form.given_name.data,
                        family_name=form.family_name.data,
                        home_municipality_code=form.home_municipality_code.data,
                        now=now,
                    )
                    person_id = registration.person.id
                    # Only a tick given under a warning of the SIPs warned of now confirms (read only then).
                    confirmed = bool(form.confirm_open.data) and hmac.compare_digest(
                        form.open_ack.data or "",
                        _open_ack(
                            person_id,
                            services.open_case_ids_warned_of(
                                session, registry, user, registration.person, now=now
                            ),
                        ),
                    )
                    utskrivningsklar = form.utskrivningsklar_at.data
                    case = services.create_case(
                        session,
                        registry,
                        user,
                        workflow_name=form.workflow_name.data,
                        person=registration.person,
                        unit_ids=list(form.unit_ids.data or []),
                        now=now,
                        utskrivningsklar_at=local_to_utc(utskrivningsklar) if utskrivningsklar else None,
                        another_open_confirmed=confirmed,
                    )
            except OpenCaseExists as error:
                warning = _open_case_warning(session, registry, user, person_id, error.case_ids)
                # Asked afresh for this person: the box is never ticked for the user.
                form.confirm_open.data = False
                form.open_ack.data = _open_ack(person_id, error.case_ids)
                status = error.status
            except UserError as error:
                attach_error(form, error, top)
                status = error.status
            else:
                flash(_("The SIP %(reference)s is started.", reference=case.reference), "success")
                if registration.particulars_differ:
                    # Neutral on purpose: it names neither the registered name nor the municipality.
                    flash(PARTICULARS_NOT_USED, "warning")
                return redirect(url_for("cases.detail", uid=case.uid), code=303)
    return (
        render_template(
            "cases/new.html",
            form=form,
            municipality_groups=groups,
            errors=top,
            open_warning=warning,
            adult_warned=adult_warned,
            page_url=url_for("cases.new"),
        ),
        status,
    )


# --- The person's particulars -----------------------------------------------------------------------------


@bp.route("/cases/<uid>/person", methods=["GET", "POST"])
@login_required
def person(uid: str):
    """Change the name and folkbokföringskommun of the SIP's person: its own action, in the access log.

    Only for those `access.may_change_person` allows (403 for others who see the case); the change is for
    every SIP of the person, which is why starting a SIP never makes it.
    """
    session, user = get_session(), current_actor()
    # A post is an attempt of the change (logged by the service once made: logged_by_service).
    case = case_or_404(uid, audit.PERSON_CHANGE if request.method == "POST" else audit.CASE_VIEW)
    registered = session.get(Person, case.person_id)
    if not access.may_change_person(session, user, registered, now=now_utc()):
        abort(403)
    form = PersonParticularsForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.given_name.data = registered.given_name
        form.family_name.data = registered.family_name
        form.home_municipality_code.data = registered.home_municipality_code
        form.shown.data = particulars_digest(registered)
    top: list = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                with unit_of_work(session):
                    changed = change_person_particulars(
                        session,
                        user,
                        registered,
                        given_name=form.given_name.data,
                        family_name=form.family_name.data,
                        home_municipality_code=form.home_municipality_code.data,
                        purpose=audit.PURPOSE_CARE,
                        case=case,
                        now=now_utc(),
                        shown=form.shown.data,
                    )
            except UserError as error:
                attach_error(form, error, top)
                status = error.status
                if isinstance(error, Conflict):
                    # Merged with the change made meanwhile (or, from an unknown digest, as typed): sent
                    # again after a look at the particulars, it is a choice.
                    registered = session.get(Person, case.person_id)
                    form.shown.data = particulars_digest(registered)
                if isinstance(error, ParticularsChanged):
                    form.show_merge(error, particulars_digest(registered))
            else:
                if changed:
                    logged_by_service()
                    flash(_("The person's particulars are changed, in every SIP of the person."), "success")
                else:
                    nothing_saved()
                    flash(_("Nothing was changed."), "info")
                return redirect(url_for("cases.detail", uid=uid), code=303)
    return (
        render_template(
            "cases/person.html",
            case=case,
            form=form,
            municipality_groups=queries.municipalities_by_county(session),
            errors=top,
            page_url=url_for("cases.person", uid=uid),
        ),
        status,
    )
