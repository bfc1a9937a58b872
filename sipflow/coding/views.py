"""The coding pages: the code catalogue for administrators, the case page's codes, a correction by staff.

Staff never code by hand: they say that a meeting was recorded in error, which reverses its codes, and may
then correct how each unit took part, from which the rules record the codes again.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from sipflow.cases.forms import ATTENDANCE_LABELS
from sipflow.cases.services import actor_organisation_id, party_roles
from sipflow.clock import now_utc, to_local
from sipflow.coding import queries, services
from sipflow.coding.models import CODE_KINDS, code_label, reason_label
from sipflow.coding.rules import CODE_PATTERN, UnitFacts, normalise_code
from sipflow.db import get_session, unit_of_work
from sipflow.errors import Conflict, NotAllowed, UserError
from sipflow.meetings.models import HELD, Meeting
from sipflow.people.labels import ORGANISATION_KIND_SHORT, unit_label
from sipflow.routing import page_number, row_id
from sipflow.security import audit, login_manager
from sipflow.translated import lazy_gettext as _l
from sipflow.web import case_or_404, current_actor, list_place, nul_refusals, register_case_page_part

bp = Blueprint("coding", __name__)

KIND_LABELS = {"sip": _l("SIP meeting"), "distance": _l("Care at a distance (video)")}
ORGANISATION_KIND_LABELS = ORGANISATION_KIND_SHORT
MEETING_KIND_LABELS = {"first": _l("First meeting"), "follow_up": _l("Follow-up")}
# A catalogue file is a few hundred kilobytes at most.
CSV_MAX_BYTES = 1024 * 1024


@bp.app_context_processor
def _labels() -> dict:
    return {"code_kind_labels": KIND_LABELS, "organisation_kind_labels": ORGANISATION_KIND_LABELS}


def _administrators_only(view):
    """Administrators only; anyone else logged in gets 403, as on the other administration pages."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_role(services.ADMIN):
            current_app.logger.warning("code catalogue refused for user id %s", current_user.id)
            return render_template(
                "errors/forbidden.html", message=_l("This page is for administrators.")
            ), 403
        return view(*args, **kwargs)

    return wrapped


# --- The catalogue --------------------------------------------------------------------------------------


def _code_cursor(name: str) -> str | None:
    """A code from the query string as a page's cursor; anything else none (the first page)."""
    value = request.args.get(name) or None
    return value if value is not None and CODE_PATTERN.fullmatch(value) else None


def _codes_place() -> dict:
    """Where in the catalogue a request is (its cursors, codes, and the page's number), for a row's button
    to lead back there (web.list_place for a list by code)."""
    place = {"after": _code_cursor("after"), "before": _code_cursor("before")}
    number = page_number(request.args.get("page"))
    place["page"] = number if number > 1 else None
    return {name: value for name, value in place.items() if value is not None}


def _render_codes(*, status=200, form=None, errors=None, csv_lines=None):
    session = get_session()
    # Not a national administrator: the catalogue read-only, with the reason the save would give.
    refusal = services.catalogue_refusal(services.admin_region(session, current_actor()))
    after, before = _code_cursor("after"), _code_cursor("before")
    page = queries.codes_page(session, after, before=before, page=page_number(request.args.get("page")))
    return (
        render_template(
            "coding/codes.html",
            codes=page.rows,
            page=page,
            place=_codes_place(),
            form=form or {},
            errors=errors or {},
            csv_lines=csv_lines or [],
            kinds=CODE_KINDS,
            # A seeded label in the reader's language, as the statistics name it; an added one as typed.
            code_label=code_label,
            refusal=refusal,
            # Also when shown by a refused upload (a POST): the language switch leads to the catalogue.
            page_url=url_for(
                "coding.codes", after=after, before=before, page=page.page if page.page > 1 else None
            ),
        ),
        status,
    )


@bp.get("/admin/codes")
@_administrators_only
def codes():
    """The code catalogue by code, a page at a time, with the forms to add and load codes."""
    return _render_codes()


@bp.post("/admin/codes")
@_administrators_only
def add_code():
    """Add one code; a refusal is shown at its field with what was typed."""
    session = get_session()
    form = {name: request.form.get(name, "") for name in ("code", "label", "kind")}
    refused = nul_refusals(form.__contains__)
    if refused:
        return _render_codes(status=400, form=form, errors=refused)
    try:
        with unit_of_work(session):
            definition = services.add_code(session, current_actor(), now=now_utc(), **form)
    except NotAllowed as error:
        # Said at the top of the page (the refusal), the form shown again with what was typed.
        return _render_codes(status=error.status, form=form)
    except UserError as error:
        return _render_codes(status=error.status, form=form, errors={error.field or "code": error.message})
    flash(_l("%(code)s is added to the catalogue.", code=definition.code), "success")
    return redirect(url_for("coding.codes"), code=303)


@bp.post("/admin/codes/upload")
@_administrators_only
def upload_codes():
    """Load codes from a CSV file (code,label,kind): all of them, or none with every bad line named."""
    session = get_session()
    upload = request.files.get("file")
    raw = upload.read(CSV_MAX_BYTES + 1) if upload else b""
    if not raw:
        return _render_codes(status=400, errors={"file": _l("Choose a CSV file.")})
    if len(raw) > CSV_MAX_BYTES:
        return _render_codes(status=400, errors={"file": _l("The file is too large.")})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _render_codes(status=400, errors={"file": _l("The file must be UTF-8 text.")})
    try:
        with unit_of_work(session):
            loaded = services.load_codes_csv(session, current_actor(), text, now=now_utc())
    except services.CsvRefused as error:
        return _render_codes(status=400, errors={"file": error.message}, csv_lines=error.lines)
    except NotAllowed as error:
        return _render_codes(status=error.status)
    except UserError as error:
        return _render_codes(status=error.status, errors={"file": error.message})
    flash(
        ngettext(
            "%(num)d code is added to the catalogue.",
            "%(num)d codes are added to the catalogue.",
            len(loaded),
        ),
        "success",
    )
    return redirect(url_for("coding.codes"), code=303)


def _change_code(change, code: str, message):
    session = get_session()
    if not CODE_PATTERN.fullmatch(normalise_code(code)):
        abort(404)
    try:
        with unit_of_work(session):
            change(session, current_actor(), code, now=now_utc())
    except NotAllowed as error:
        return _render_codes(status=error.status)
    except UserError as error:
        flash(error.message, "error")
    else:
        flash(message, "success")
    return redirect(url_for("coding.codes", **_codes_place()), code=303)


@bp.post("/admin/codes/<code>/retire")
@_administrators_only
def retire_code(code: str):
    """Retire a code: meetings record it no more; the records that carry it stay."""
    return _change_code(services.retire_code, code, _l("%(code)s is retired.", code=code))


@bp.post("/admin/codes/<code>/unretire")
@_administrators_only
def unretire_code(code: str):
    """Bring a retired code back into use."""
    return _change_code(services.unretire_code, code, _l("%(code)s is in use again.", code=code))


# --- Which SIP code a unit records -------------------------------------------------------------------------


def _render_assignments(*, status=200, refused=None):
    """The assignments page: forms where the administrator may change, read-only values elsewhere."""
    session = get_session()
    page = queries.units_page(
        session,
        row_id(request.args.get("after")),
        before=row_id(request.args.get("before")),
        page=page_number(request.args.get("page")),
    )
    region = services.admin_region(session, current_actor())
    return (
        render_template(
            "coding/assignments.html",
            kinds=queries.organisation_kinds(session),
            by_kind=queries.organisation_kind_assignments(session),
            sip_codes=queries.sip_codes_in_force(session),
            units=[
                (unit, organisation, code, services.unit_assignment_refusal(region, organisation) is None)
                for unit, organisation, code in page.rows
            ],
            page=page,
            place=list_place(),
            kind_refusal=services.catalogue_refusal(region),
            refused=refused,
        ),
        status,
    )


@bp.get("/admin/codes/assignments")
@_administrators_only
def assignments():
    """The SIP code of each organisation type, and each unit's own (units a page at a time)."""
    return _render_assignments()


@bp.post("/admin/codes/assignments")
@_administrators_only
def set_assignment():
    """Set or remove the SIP code of one organisation type or one unit."""
    session = get_session()
    raw_unit = request.form.get("unit_id")
    # No unit_id: an organisation type's code; one naming no row is refused by the service (no such unit).
    unit_id = (row_id(raw_unit) or -1) if raw_unit else None
    kind = request.form.get("organisation_kind") or None
    try:
        with unit_of_work(session):
            services.set_assignment(
                session,
                current_actor(),
                code=request.form.get("code") or None,
                unit_id=unit_id,
                organisation_kind=kind,
            )
    except NotAllowed as error:
        return _render_assignments(status=error.status, refused=error)
    except UserError as error:
        flash(error.message, "error")
    else:
        flash(_l("The SIP code is saved."), "success")
    return redirect(url_for("coding.assignments", **list_place()), code=303)


# --- The case page and the correction ----------------------------------------------------------------------


def _meeting_groups(rows) -> list[dict]:
    """The case's held meetings with their records, reversals marked, each with whether codes count; a
    meeting without records has none (its outcome recorded no code)."""
    reversed_ids = {row.reverses_id for row in rows if row.reverses_id is not None}
    groups: dict[int, dict] = {}
    for row in rows:
        group = groups.setdefault(
            row.held_meeting_id,
            {
                "meeting_id": row.held_meeting_id,
                "held_on": to_local(row.held_at or row.held_starts_at).date(),
                "kind": row.held_kind,
                "rows": [],
            },
        )
        if row.id is not None:
            group["held_on"] = row.held_on  # the day its records count on
            group["rows"].append(
                {
                    "record": row,
                    # Named with its organisation: unit names repeat across organisations.
                    "unit": unit_label(row.organisation_name or "?", row.unit_name),
                    "reversed": row.id in reversed_ids,
                    "reason": reason_label(row.reason),
                }
            )
    for group in groups.values():
        group["standing"] = any(r["record"].sign == 1 and not r["reversed"] for r in group["rows"])
    return list(groups.values())


def _may_correct(session, case, actor, participants=None) -> bool:
    return bool(party_roles(session, case, actor_organisation_id(session, actor), participants))


def _case_page_part(detail, actor, *, allowed: list) -> dict:
    """The case page's codes: per meeting the codes recorded and reversed, and who records no SIP code.

    The health-care units come from the participant rows the case page read already.
    """
    session = get_session()
    case = detail.case
    meetings = _meeting_groups(queries.case_records(session, case.id))
    health, active = {}, []
    for participant, organisation, unit, *_ in detail.participant_rows:
        if participant.removed_at is None:
            active.append(participant)
        if (
            participant.removed_at is None
            and unit is not None
            and organisation is not None
            and unit.is_health_care
        ):
            health[unit.id] = (
                UnitFacts(unit.id, organisation.id, organisation.kind, True),
                unit_label(organisation.name, unit.name),
            )
    without = []
    if health:
        catalogue = queries.load_catalogue(session, list(health))
        without = [name for facts, name in health.values() if catalogue.sip_code(facts) is None]
    return {
        "case_codes": {
            "meetings": meetings,
            "without_sip_code": without,
            # Not once retention anonymised the SIP (services.refuse_anonymised refuses it; the page's read).
            "may_correct": bool(meetings)
            and detail.anonymised_at is None
            and _may_correct(session, case, actor, active),
            # A meeting without codes is offered its recording only when a health-care unit takes part.
            "may_record_uncoded": bool(health),
            "meeting_kind_labels": MEETING_KIND_LABELS,
        }
    }


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))


def _meeting_of(case, meeting_id: int) -> Meeting:
    meeting = get_session().get(Meeting, meeting_id)
    if meeting is None or meeting.case_id != case.id:
        abort(404)
    return meeting


def _render_correct(case, meeting, *, reason="", modes=None, after=None, errors=None, status=200):
    """The correction page: the reversal while codes count, else the form to record them (again)."""
    session = get_session()
    codes = queries.meeting_codes(session, meeting.id)
    # Reversed codes, or none at all for a held meeting: the codes follow from the corrected attendance.
    recordable = meeting.status == HELD and not codes.standing
    # A record form refused after the codes were recorded meanwhile still shows the choices it sent.
    care = queries.meeting_care_attendance(session, meeting) if recordable or modes is not None else []
    return (
        render_template(
            "coding/correct.html",
            case=case,
            meeting=meeting,
            standing=codes.standing,
            recordable=recordable,
            care=care,
            first_recording=not codes.records,
            # As typed on a refusal, else as the meeting's outcome recorded them.
            modes=modes if modes is not None else {row.participant_id: row.mode for row in care},
            after=after if after is not None else codes.last_id,
            attendance_labels=ATTENDANCE_LABELS,
            reason=reason,
            errors=errors or {},
            meeting_kind_labels=MEETING_KIND_LABELS,
        ),
        status,
    )


def _correctable(uid: str, meeting_id: int, action: str):
    """The case (access logged) and its meeting, for a user of an organisation in the SIP; 404/403 else."""
    case = case_or_404(uid, action)
    if not _may_correct(get_session(), case, current_actor()):
        abort(403)
    return case, _meeting_of(case, meeting_id)


@bp.route("/cases/<uid>/meetings/<id:meeting_id>/codes/correct", methods=["GET", "POST"])
@login_required
def correct(uid: str, meeting_id: int):
    """A meeting recorded in error: its codes are reversed with a reason (never edited or deleted)."""
    action = audit.MEETING_VIEW if request.method == "GET" else audit.MEETING_CHANGE
    case, meeting = _correctable(uid, meeting_id, action)
    if request.method == "GET":
        return _render_correct(case, meeting)
    session, reason = get_session(), request.form.get("reason", "")
    after = request.form.get("after", "")
    refused = nul_refusals(lambda name: name == "reason")
    if refused:
        return _render_correct(case, meeting, reason=reason, after=after, errors=refused, status=400)
    try:
        with unit_of_work(session):
            services.reverse_meeting_codes(
                session, meeting, current_actor(), reason, now_utc(), expected_last_id=row_id(after)
            )
    except UserError as error:
        # A conflict shows the meeting's codes as they are now, the reason kept: a second submit is then a
        # deliberate one.
        conflict = isinstance(error, Conflict)
        return _render_correct(
            case,
            meeting,
            reason=reason,
            after=None if conflict else after,
            errors={"form" if conflict else error.field or "reason": error.message},
            status=error.status,
        )
    flash(_l("The meeting's codes are reversed."), "success")
    return redirect(url_for("cases.detail", uid=case.uid), code=303)


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/codes/record")
@login_required
def rerecord(uid: str, meeting_id: int):
    """Record a held meeting's codes again after a reversal (or for the first time when it has none), from
    the attendance as staff corrected it."""
    case, meeting = _correctable(uid, meeting_id, audit.MEETING_CHANGE)
    session = get_session()
    # mode-<participant id> fields; the service asks for each health-care unit of the meeting.
    modes = {}
    for name, value in request.form.items():
        key = name.removeprefix("mode-")
        participant_id = row_id(key) if key != name else None
        if participant_id is not None:
            modes[participant_id] = value
    after = request.form.get("after", "")
    refused = nul_refusals(lambda name: name.startswith("mode-"))
    if refused:
        return _render_correct(case, meeting, modes=modes, after=after, errors=refused, status=400)
    try:
        with unit_of_work(session):
            recorded = services.rerecord_meeting_codes(
                session,
                case,
                meeting,
                modes,
                expected_last_id=row_id(after),
                actor=current_actor(),
                now=now_utc(),
            )
    except UserError as error:
        refusals = getattr(error, "errors", None) or [error]
        # A refusal that names no unit is the form's: shown at its top (attendance, a conflict).
        return _render_correct(
            case,
            meeting,
            modes=modes,
            # A conflict shows the meeting as it is now: a second submit then is a deliberate one.
            after=None if isinstance(error, Conflict) else after,
            errors={refusal.field or "form": refusal.message for refusal in refusals},
            status=error.status,
        )
    if not recorded:
        message = _l(
            "The attendance is saved. No health-care unit took part in the meeting, so no KVÅ code is "
            "recorded for it."
        )
    elif after:
        message = _l("The meeting's codes are recorded again.")
    else:
        message = _l("The meeting's codes are recorded.")
    flash(message, "success")
    return redirect(url_for("cases.detail", uid=case.uid), code=303)
