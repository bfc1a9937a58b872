"""The administration pages: users and their sessions, and the tasks about one person.

Administrators see no case content here: a person is found only by their identifier (sent in a POST body,
never in a URL), and what can be done with the person found is to hand out the loggutdrag and the
registerutdrag (GDPR art. 15) and to correct their name and folkbokföringskommun, each written to the
access log with its purpose.
"""

from __future__ import annotations

import secrets
from io import BytesIO

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask import session as session_store
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from sipflow.admin import directory_views, log_labels, queries, regions, services
from sipflow.admin import users as users_service
from sipflow.admin.changes import StaleForm
from sipflow.admin.forms import (
    AdminParticularsForm,
    EditUserForm,
    InviteUserForm,
    LogExtractForm,
    PersonLookupForm,
    RegisterExtractForm,
    UserForm,
    UserSearchForm,
    merge_stale,
)
from sipflow.cases.queries import municipalities_by_county
from sipflow.clock import local_today, now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.errors import Conflict, InvalidInput, UserError, refusal_of
from sipflow.i18n import DEFAULT_LOCALE
from sipflow.people.models import Person, User
from sipflow.people.services import IDENTIFIER_KIND_LABELS, ParticularsChanged, particulars_digest
from sipflow.routing import page_number, row_id
from sipflow.security import access, login_manager
from sipflow.security.password_links import has_chosen_password
from sipflow.translated import lazy_gettext as _l
from sipflow.web import attach_error, list_place, workflow_registry

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = "admin"
# A person found stays selected this long; after that the administrator looks them up again.
PERSON_REF_MAX_AGE = 30 * 60

# Organisations, units, the CSV import and the workflows page (admin/directory_views.py).
directory_views.register(bp)

ROLE_LABELS = log_labels.ROLE_LABELS


@bp.before_request
def _administrators_only():
    """Every page here is for administrators; anyone else logged in gets 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(ADMIN):
        current_app.logger.warning(
            "administration refused for user id %s (%s)", current_user.id, request.path
        )
        return render_template("errors/forbidden.html", message=_l("This page is for administrators.")), 403
    return None


@bp.get("/")
def index():
    """The administration's start page: the users."""
    return redirect(url_for("admin.users"))


# --- Users -------------------------------------------------------------------------------------------------


def _actor() -> User:
    return current_user._get_current_object()


def _after_id(name: str) -> int | None:
    """A page's cursor (a row id) from the query string; a bad one shows the first page."""
    return row_id(request.args.get(name))


# The users page's search lives in the (signed) session, never in a URL: it may be a name or an address.
USER_SEARCH_KEY = "admin_user_search"


@bp.get("/users")
def users():
    """The users of the administrator's region with unit, roles, last login and whether they are active."""
    return _render_users(UserSearchForm(data={"search": _user_search()}))


def _user_search() -> str:
    """The search the administrator last gave the users page ("" for none)."""
    search = session_store.get(USER_SEARCH_KEY)
    return search if isinstance(search, str) else ""


def _render_users(form: UserSearchForm, *, status: int = 200):
    """The users page, a page at a time from ?after=, narrowed by the search kept in the session."""
    db = get_session()
    where = regions.region_filter(regions.admin_region(db, _actor()))
    search = _user_search()
    page = queries.users_page(
        db,
        where,
        after_id=_after_id("after"),
        before_id=_after_id("before"),
        page=page_number(request.args.get("page")),
        search=search,
    )
    rows = page.rows
    return render_template(
        "admin/users.html",
        rows=rows,
        every_county=queries.coordinators_of_every_county(db, [user for user, _unit, _org in rows]),
        undelivered=users_service.undelivered_links(db, [user.id for user, _unit, _org in rows]),
        every_county_label=users_service.EVERY_COUNTY,
        role_labels=ROLE_LABELS,
        page=page,
        place=list_place(),
        form=form,
        search=search,
    ), status


@bp.post("/users/search")
def search_users():
    """Narrow the users page to those a search finds, or show every user again (clear)."""
    if request.form.get("clear"):
        session_store.pop(USER_SEARCH_KEY, None)
        return redirect(url_for("admin.users"))
    form = UserSearchForm()
    if not form.validate():
        # The page again with the refusal beside the field and what was typed in it; the list as it was.
        return _render_users(form, status=400)
    if form.search.data:
        session_store[USER_SEARCH_KEY] = form.search.data
    else:
        session_store.pop(USER_SEARCH_KEY, None)
    return redirect(url_for("admin.users"))


def _user_or_404(user_id: int) -> User:
    """The user when the administrator manages them; another region's user is answered as unknown."""
    user = users_service.manageable_user(get_session(), _actor(), user_id)
    if user is None:
        abort(404)
    return user


def _change_user(user: User, change, message) -> bool:
    """Run the service change on user in a unit of work of its own; flash message, or the refusal."""
    db = get_session()
    try:
        with unit_of_work(db):
            change(db, _actor(), user, now=now_utc())
    except UserError as error:
        flash(error.message, "error")
        return False
    flash(message, "success")
    return True


def _unit_choices(form: UserForm, user: User | None = None) -> None:
    """The active units of the administrator's region (and the user's present unit, if deactivated since),
    the roles and the help of the counties and municipalities followed, by what that region may give."""
    form.scope.description = users_service.scope_help(get_session(), _actor())
    form.roles.choices = users_service.role_choices(get_session(), _actor(), user)
    kept = user.unit_id if user is not None else None
    rows = users_service.unit_choices(get_session(), _actor(), kept_unit_id=kept)
    choices = [("", _l("No unit"))] if regions.admin_region(get_session(), _actor()).national else []
    form.unit_id.choices = choices + [(str(unit_id), label) for unit_id, label in rows]


def _unit_id(form: UserForm) -> int | None:
    """The unit chosen, None for none; what is no unit id reads as 0, a unit the service does not know."""
    value = (form.unit_id.data or "").strip()
    if not value:
        return None
    return row_id(value) or 0


def _field_error(form, error: UserError, top: list) -> None:
    """Each refusal error holds (a form's several at once) beside its field, or at the top."""
    for refusal in getattr(error, "errors", None) or [error]:
        attach_error(form, refusal, top)


@bp.route("/users/new", methods=["GET", "POST"])
def invite_user():
    """Invite a user: the account is made and a set-password link goes to their e-mail address."""
    form = InviteUserForm()
    _unit_choices(form)
    top: list = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            db = get_session()
            try:
                with unit_of_work(db):
                    user = users_service.invite_user(
                        db,
                        actor=_actor(),
                        username=form.username.data,
                        display_name=form.display_name.data,
                        email=form.email.data,
                        unit_id=_unit_id(form),
                        roles=form.roles.data or [],
                        now=now_utc(),
                        coordinator_scope=form.scope.data or "",
                        language=form.language.data or DEFAULT_LOCALE,
                    )
            except UserError as error:
                _field_error(form, error, top)
                status = error.status
            else:
                flash(
                    _l(
                        "%(name)s is invited: a link to choose a password is on its way.",
                        name=user.display_name,
                    ),
                    "success",
                )
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None, errors=top), status


def _saved_user_form(user: User) -> EditUserForm:
    """The user's form as the user is saved now, with the version it was read at."""
    form = EditUserForm(
        formdata=None,
        version=user.row_version,
        display_name=user.display_name,
        email=user.email or "",
        unit_id=str(user.unit_id or ""),
        roles=sorted(user.role_set),
        scope=", ".join(sorted(set().union(*users_service.coordinator_scope(get_session(), user)))),
        language=user.language,
    )
    form.mark_as_read()
    return form


def _released_contacts(count: int) -> str:
    """The warning that a moved user's former unit has no contact person on count SIPs still running."""
    return ngettext(
        "They were the contact person of the unit they left on %(num)d SIP still running: the unit has none "
        "there now, and its staff name another.",
        "They were the contact person of the unit they left on %(num)d SIPs still running: the unit has none "
        "there now, and its staff name another.",
        count,
    )


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    """Change a user's name, e-mail, unit, roles and the counties and municipalities a coordinator follows."""
    user = _user_or_404(user_id)
    db = get_session()
    form = EditUserForm() if request.method == "POST" else _saved_user_form(user)
    _unit_choices(form, user)
    top: list = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                with unit_of_work(db):
                    changed = users_service.update_user(
                        db,
                        _actor(),
                        user,
                        display_name=form.display_name.data,
                        email=form.email.data,
                        unit_id=_unit_id(form),
                        roles=form.roles.data or [],
                        coordinator_scope=form.scope.data or "",
                        now=now_utc(),
                        registry=workflow_registry(),
                        language=form.language.data or None,
                        expected_version=form.version.data,
                    )
            except UserError as error:
                db.refresh(user)
                status = error.status
                if isinstance(error, StaleForm):
                    # What was typed stays, merged with what is saved now: sent again, it saves the changes.
                    saved = _saved_user_form(user)
                    _unit_choices(saved, user)
                    merge_stale(form, saved, top, user.row_version)
                else:
                    _field_error(form, error, top)
            else:
                flash(
                    _l("The user is changed.") if changed else _l("Nothing was changed."),
                    "success" if changed else "info",
                )
                if changed.contacts_released:
                    flash(_released_contacts(changed.contacts_released), "warning")
                return redirect(url_for("admin.edit_user", user_id=user.id))
    every_county = bool(queries.coordinators_of_every_county(db, [user]))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        errors=top,
        every_county=every_county,
        undelivered_at=users_service.undelivered_links(db, [user.id]).get(user.id),
        # Never chose a password (the invitation expired unused): the link sent is the invitation again.
        invited_only=not has_chosen_password(user),
    ), status


@bp.post("/users/<id:user_id>/reset-password")
def reset_password(user_id: int):
    """Send the user a link to choose a new password (the administrator never sets or sees one)."""
    user = _user_or_404(user_id)
    _change_user(
        user,
        users_service.send_reset_link,
        _l("A link to choose a new password is on its way to %(name)s.", name=user.display_name)
        if has_chosen_password(user)
        else _l("A new invitation is on its way to %(name)s.", name=user.display_name),
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<id:user_id>/disable")
def disable_user(user_id: int):
    """Disable an account; every session of it ends at once."""
    user = _user_or_404(user_id)
    _change_user(
        user,
        users_service.disable_user,
        _l("%(name)s is disabled and logged out everywhere.", name=user.display_name),
    )
    return redirect(url_for("admin.users", **list_place()))


@bp.post("/users/<id:user_id>/enable")
def enable_user(user_id: int):
    """Let a disabled account log in again."""
    user = _user_or_404(user_id)
    _change_user(user, users_service.enable_user, _l("%(name)s can log in again.", name=user.display_name))
    return redirect(url_for("admin.users", **list_place()))


@bp.post("/users/<id:user_id>/sessions/end")
def end_sessions(user_id: int):
    """End every session of a user (ASVS 7.4.5); the account stays active."""
    user = _user_or_404(user_id)
    _change_user(
        user,
        users_service.end_user_sessions,
        _l("Every session of %(name)s has ended.", name=user.display_name),
    )
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.users", **list_place()))


# --- The administration log --------------------------------------------------------------------------------

KIND_LABELS = {
    "user": _l("Changes to users"),
    "organisation": _l("Changes to organisations"),
    "unit": _l("Changes to units"),
    "import": _l("Imports"),
}
# Where a log row's target is shown, by target kind (kinds without a page get no link).
TARGET_PAGES = {"user": ("admin.edit_user", "user_id")}


def _target_url(kind: str, target_id: int | None) -> str | None:
    page = TARGET_PAGES.get(kind)
    if page is None or target_id is None or page[0] not in current_app.view_functions:
        return None
    return url_for(page[0], **{page[1]: target_id})


@bp.get("/log")
def log():
    """Every administrative change, newest first: who, what, when, and the values before and after."""
    db = get_session()
    kind = request.args.get("kind", "")
    kind = kind if kind in queries.LOG_TARGET_KINDS else ""
    where = regions.region_filter(regions.admin_region(db, _actor()))
    page = queries.log_page(
        db,
        where,
        target_kind=kind or None,
        before_id=_after_id("before"),
        after_id=_after_id("after"),
        page=page_number(request.args.get("page")),
    )
    rows = page.rows
    names = queries.log_names(db, [change for change, _actor in rows])
    entries = [
        {
            "change": change,
            "actor": actor,
            "action": log_labels.action_label(change.action),
            "target": log_labels.target_label(change.target_kind),
            "target_name": names.get((change.target_kind, change.target_id)),
            **log_labels.describe(change, names),
            "target_url": _target_url(change.target_kind, change.target_id),
        }
        for change, actor in rows
    ]
    return render_template(
        "admin/log.html",
        entries=entries,
        kind=kind,
        kinds=queries.LOG_TARGET_KINDS,
        kind_labels=KIND_LABELS,
        page=page,
    )


# --- One person: loggutdrag and registerutdrag -------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sipflow.admin.person")


def _person_ref(person: Person) -> str:
    """An opaque, signed and short-lived reference to the person found, for this administrator only."""
    return _serializer().dumps({"p": person.id, "u": current_user.id})


def _person_from_ref(ref: str | None) -> Person | None:
    try:
        data = _serializer().loads(ref or "", max_age=PERSON_REF_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != current_user.id:
        return None
    # A person who has left the administrator's region since (moved, or their SIPs) is lost like any.
    return services.administered_person(get_session(), current_user._get_current_object(), data.get("p"))


def _render_person(
    person: Person,
    purpose: str,
    *,
    extract_form=None,
    register_form=None,
    particulars_form=None,
    errors=None,
    status=200,
):
    ref = _person_ref(person)
    extract_form = extract_form or LogExtractForm(formdata=None, person_ref=ref, purpose=purpose)
    register_form = register_form or RegisterExtractForm(formdata=None, person_ref=ref, purpose=purpose)
    particulars_form = particulars_form or AdminParticularsForm(
        formdata=None,
        person_ref=ref,
        given_name=person.given_name,
        family_name=person.family_name,
        home_municipality_code=person.home_municipality_code,
        shown=particulars_digest(person),
    )
    extract_form.person_ref.data = register_form.person_ref.data = particulars_form.person_ref.data = ref
    return (
        render_template(
            "admin/person.html",
            person=person,
            masked_identifier=person.masked_identifier(),
            kind_label=IDENTIFIER_KIND_LABELS.get(person.id_kind, person.id_kind),
            extract_form=extract_form,
            register_form=register_form,
            particulars_form=particulars_form,
            municipality_groups=municipalities_by_county(get_session()),
            # An anonymised person's particulars are changed by nobody (security.access.may_change_person).
            may_change=access.may_change_person(
                get_session(), current_user._get_current_object(), person, now=now_utc()
            ),
            errors=errors or [],
        ),
        status,
    )


@bp.route("/persons", methods=["GET", "POST"])
def persons():
    """Find a person by identifier (POST only: the identifier never appears in a URL)."""
    form = PersonLookupForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            with unit_of_work(db):
                person = services.look_up_person(
                    db,
                    current_user._get_current_object(),
                    current_app.config["PNR_HASH_KEY"],
                    form.identifier.data,
                    kind=form.id_kind.data,
                    purpose=form.purpose.data,
                    now=now_utc(),
                )
        except InvalidInput as error:
            attach_error(form, error, [])
            return render_template("admin/persons.html", form=form), 400
        if person is not None:
            return _render_person(person, form.purpose.data)
        form.identifier.errors.append(services.NO_SUCH_PERSON)
        status = 404
    elif request.method == "POST":
        _purpose_refusal(form)
        status = 400
    return render_template("admin/persons.html", form=form), status


def _purpose_refusal(form, person: Person | None = None, also=()) -> None:
    """Mark the purpose of a form its own checks refused when the service would refuse it too (at once)."""
    refused = refusal_of(services.check_purpose, form.purpose.data, person=person, also=also, now=now_utc())
    if refused is not None:
        attach_error(form, refused, [], unmarked_only=True)


def _lost_person():
    flash(_l("The person is no longer selected. Find the person again."), "error")
    return redirect(url_for("admin.persons"))


def _download_name(prefix: str, extension: str) -> str:
    # Random, never the person's name or identifier: file names end up in download folders and mail. The
    # date is the Swedish one, as the rows inside say it.
    return f"{prefix}-{local_today():%Y%m%d}-{secrets.token_hex(4)}.{extension}"


def _send(data: bytes, *, mimetype: str, name: str):
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, etag=False)
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a browser or proxy
    return response


@bp.post("/persons/loggutdrag")
def person_extract():
    """The loggutdrag (every access to the person's data) as PDF or CSV; logged itself."""
    form = LogExtractForm()
    person = _person_from_ref(form.person_ref.data)
    if person is None:
        return _lost_person()
    if not form.validate():
        _purpose_refusal(form, person)
        return _render_person(person, form.purpose.data or "", extract_form=form, status=400)
    db = get_session()
    try:
        with unit_of_work(db):
            data, mimetype, extension = services.person_log_extract(
                db,
                current_user._get_current_object(),
                person,
                file_format=form.file_format.data,
                purpose=form.purpose.data,
                now=now_utc(),
            )
    except InvalidInput as error:
        attach_error(form, error, [])
        return _render_person(person, form.purpose.data or "", extract_form=form, status=400)
    return _send(data, mimetype=mimetype, name=_download_name("loggutdrag", extension))


@bp.post("/persons/registerutdrag")
def person_export():
    """Everything sipflow holds about the person (GDPR art. 15) as JSON; logged itself."""
    form = RegisterExtractForm()
    person = _person_from_ref(form.person_ref.data)
    if person is None:
        return _lost_person()
    if not form.validate():
        _purpose_refusal(form, person)
        return _render_person(person, form.purpose.data or "", register_form=form, status=400)
    db = get_session()
    try:
        with unit_of_work(db):
            data = services.person_register_extract(
                db, current_user._get_current_object(), person, purpose=form.purpose.data, now=now_utc()
            )
    except InvalidInput as error:
        attach_error(form, error, [])
        return _render_person(person, form.purpose.data or "", register_form=form, status=400)
    return _send(data, mimetype="application/json", name=_download_name("registerutdrag", "json"))


@bp.post("/persons/particulars")
def person_particulars():
    """Correct the found person's name and folkbokföringskommun; the change is logged with its purpose."""
    form = AdminParticularsForm()
    person = _person_from_ref(form.person_ref.data)
    if person is None:
        return _lost_person()
    if not form.validate():
        _purpose_refusal(form, person, also=(form.given_name.data, form.family_name.data))
        return _render_person(person, "", particulars_form=form, status=400)
    db = get_session()
    top: list = []
    try:
        with unit_of_work(db):
            changed = services.change_person_particulars(
                db,
                current_user._get_current_object(),
                person,
                given_name=form.given_name.data,
                family_name=form.family_name.data,
                home_municipality_code=form.home_municipality_code.data,
                purpose=form.purpose.data,
                now=now_utc(),
                shown=form.shown.data,
            )
    except UserError as error:
        attach_error(form, error, top)
        if isinstance(error, Conflict):
            # Merged with the change made meanwhile, or as typed: sent again, it is a choice.
            person = get_session().get(Person, person.id)
            form.shown.data = particulars_digest(person)
        if isinstance(error, ParticularsChanged):
            form.show_merge(error, particulars_digest(person))
        return _render_person(person, "", particulars_form=form, errors=top, status=error.status)
    if changed:
        flash(_l("The person's particulars are changed, in every SIP of the person."), "success")
    else:
        flash(_l("Nothing was changed."), "info")
    return _render_person(get_session().get(Person, person.id), form.purpose.data)
