"""The administrator's directory pages (organisations, units), the CSV import and the workflows page.

These routes sit on the administration blueprint (`register(bp)`, called by admin/views.py), so its
administrators-only check covers them.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from sqlmodel import select
from wtforms import SelectChoice

from sipflow.admin import directory, imports, regions, workflow_overview
from sipflow.admin.changes import StaleForm
from sipflow.admin.directory_forms import (
    EditOrganisationForm,
    EditUnitForm,
    ImportForm,
    OrganisationForm,
    UnitForm,
)
from sipflow.admin.forms import merge_stale
from sipflow.cases.forms import typed_values
from sipflow.cases.services import huvudansvar_without_active_unit
from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.errors import InvalidInput, UserError
from sipflow.people.models import County, Municipality, Organisation, Unit
from sipflow.retention.anonymise import RetentionPolicy
from sipflow.routing import page_number, row_id
from sipflow.translated import lazy_gettext as _l
from sipflow.web import attach_error, current_actor, current_locale, list_place, workflow_registry


def _page_key(name: str) -> int | None:
    """An id from the query string as the <id:...> converter takes it, else None (the first page)."""
    return row_id(request.args.get(name))


def _page_cursors() -> dict:
    """A list's cursors from the query string: after (the next page's), before (the previous page's) and
    the page's number the link carried."""
    return {
        "after_id": _page_key("after"),
        "before_id": _page_key("before"),
        "page": page_number(request.args.get("page")),
    }


def _list_place() -> dict:
    """The directory list's place (web.list_place), with the units' organisation filter."""
    return list_place("organisation")


def _place_choices(form: OrganisationForm) -> OrganisationForm:
    """Form with the counties and municipalities to choose from."""
    db = get_session()
    # 21 counties and 290 municipalities: reference data, bounded by Sweden.
    form.county_code.choices = [SelectChoice("", _l("None"))] + [
        SelectChoice(c.code, f"{c.name} ({c.code})")
        for c in db.exec(select(County).order_by(County.code)).all()
    ]
    form.municipality_code.choices = [SelectChoice("", _l("None"))] + [
        SelectChoice(m.code, f"{m.name} ({m.code})")
        for m in db.exec(select(Municipality).order_by(Municipality.name)).all()
    ]
    return form


def _may_change():
    """For the lists: whether the administrator may change an organisation (and its units), else read only."""
    region = regions.admin_region(get_session(), current_actor())
    return lambda organisation: regions.may_change(region, organisation)


def _read_only_label():
    """For the lists: what a row the administrator may not change says instead of its buttons."""
    region = regions.admin_region(get_session(), current_actor())
    return lambda organisation: regions.read_only_label(region, organisation)


def _organisation_or_404(organisation_id: int) -> Organisation:
    organisation = get_session().get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return organisation


def _unit_or_404(unit_id: int) -> Unit:
    unit = get_session().get(Unit, unit_id)
    if unit is None:
        abort(404)
    return unit


# The form fields each service takes by the same name, creating or editing (the key is set once, at creation).
ORGANISATION_FIELDS = ("name", "kind", "county_code", "municipality_code")
UNIT_FIELDS = ("name", "kind", "is_health_care", "email", "hsa_id")


def _values(form, names: tuple[str, ...]) -> dict:
    """The data of form's fields names, by name."""
    return {name: form[name].data for name in names}


# --- Organisations -----------------------------------------------------------------------------------------


def organisations():
    """The organisations by name, a page at a time."""
    page = directory.organisations_page(get_session(), **_page_cursors())
    return render_template(
        "admin/organisations.html",
        rows=page.rows,
        page=page,
        place=_list_place(),
        kind_labels=directory.ORGANISATION_KIND_LABELS,
        may_change=_may_change(),
        read_only_label=_read_only_label(),
    )


def _organisation_form_page(form, organisation, errors, status=200, refusal=None):
    """The organisation's form; with refusal (another region's organisation), its saved values read-only."""
    return (
        render_template(
            "admin/organisation_form.html",
            form=form,
            organisation=organisation,
            errors=errors,
            refusal=refusal,
            saved=typed_values(form) if refusal is not None else [],
        ),
        status,
    )


def _refusal(rule, organisation: Organisation):
    """What the save of a change to organisation (or its unit) would refuse the administrator, by the
    service's own rule (regions.*_change_refusal); None if they may change it."""
    return rule(regions.admin_region(get_session(), current_actor()), organisation)


def _submit(form, errors: list, change, row=None, saved_form=None) -> tuple[int, object]:
    """(200, what change(db, actor, now) gave) when the form validates and the service takes it, in one unit
    of work; (the refusal's status, None) otherwise, the refusal beside its field so the page shows what was
    typed again. row: the one an edit form was read from, saved_form() its form as saved now; refused as
    stale, the page names what is saved now and the form takes the row's version."""
    if not form.validate():
        return 400, None
    db = get_session()
    try:
        with unit_of_work(db):
            return 200, change(db, current_actor(), now_utc())
    except UserError as error:
        if isinstance(error, StaleForm) and row is not None:
            # What was typed stays, merged with what is saved now; sent again, it saves the sender's changes.
            merge_stale(form, saved_form(), errors, row.row_version)
            return error.status, None
        for refusal in getattr(error, "errors", None) or [error]:
            attach_error(form, refusal, errors)
        return error.status, None


def organisation_new():
    """Create an organisation."""
    form = OrganisationForm()
    _place_choices(form)
    errors: list = []
    if request.method != "POST":
        return _organisation_form_page(form, None, errors)
    status, organisation = _submit(
        form,
        errors,
        lambda db, actor, now: directory.create_organisation(
            db, actor, key=form.key.data, **_values(form, ORGANISATION_FIELDS), now=now
        ),
    )
    if status != 200:
        return _organisation_form_page(form, None, errors, status)
    flash(_l("%(name)s is created.", name=organisation.name), "success")
    return redirect(url_for("admin.organisations"))


def _saved_organisation_form(organisation: Organisation) -> EditOrganisationForm:
    """The organisation's form as it is saved now, with the version it was read at."""
    form = EditOrganisationForm(formdata=None, obj=organisation, version=organisation.row_version)
    form.mark_as_read()
    return form


def organisation_edit(organisation_id: int):
    """Change an organisation's name, kind, county and municipality."""
    organisation = _organisation_or_404(organisation_id)
    form = _saved_organisation_form(organisation) if request.method == "GET" else EditOrganisationForm()
    _place_choices(form)
    errors: list = []
    if request.method != "POST":
        refusal = _refusal(regions.organisation_change_refusal, organisation)
        return _organisation_form_page(form, organisation, errors, refusal=refusal)
    status, changed = _submit(
        form,
        errors,
        lambda db, actor, now: directory.edit_organisation(
            db,
            actor,
            organisation,
            **_values(form, ORGANISATION_FIELDS),
            now=now,
            expected_version=form.version.data,
        ),
        organisation,
        lambda: _place_choices(_saved_organisation_form(organisation)),
    )
    if status != 200:
        return _organisation_form_page(form, organisation, errors, status)
    flash(_l("The changes are saved.") if changed else _l("Nothing was changed."), "success")
    return redirect(url_for("admin.organisations"))


def _set_active(change, row, active: bool, message, unit_ids=lambda db: []):
    db = get_session()
    try:
        with unit_of_work(db):
            change(db, current_actor(), row, active, now=now_utc())
    except UserError as error:
        flash(error.message, "error")
        return
    flash(message, "success")
    if not active:
        left = huvudansvar_without_active_unit(db, workflow_registry(), unit_ids=unit_ids(db))
        _warn_of_huvudansvar_left(left)


# How many SIPs a deactivation's warning names by reference; the rest are counted.
REFERENCES_NAMED = 20


def _warn_of_huvudansvar_left(
    references: list[str], *, named: int | None = REFERENCES_NAMED, dry_run: bool = False
) -> None:
    """Tell the administrator which running SIPs the deactivation left with no active unit of the
    organisation that has overall responsibility, and what to do about them: the first named of them (None:
    all) and how many more; dry_run: which an import's file would leave so."""
    if not references:
        return
    shown = ", ".join(references if named is None else references[:named])
    if named is not None and len(references) > named:
        shown = _l("%(references)s and %(num)d more", references=shown, num=len(references) - named)
    if dry_run:
        message = ngettext(
            "%(num)d SIP still running would have no active unit left of the organisation with overall "
            "responsibility once the file is imported: %(references)s. Before it is, that organisation's "
            "staff may add another of its active units on the SIP's page or hand the responsibility over to "
            "another organisation.",
            "%(num)d SIPs still running would have no active unit left of the organisation with overall "
            "responsibility once the file is imported: %(references)s. Before it is, that organisation's "
            "staff may add another of its active units on each SIP's page or hand the responsibility over to "
            "another organisation.",
            len(references),
            references=shown,
        )
        flash(message, "warning")
        return
    flash(
        ngettext(
            "%(num)d SIP still running has no active unit left of the organisation with overall "
            "responsibility: %(references)s. On the SIP's page, that organisation's staff add another of "
            "its active units or hand the responsibility over to another organisation: keep their accounts "
            "until they have, as no other organisation may hand it over.",
            "%(num)d SIPs still running have no active unit left of the organisation with overall "
            "responsibility: %(references)s. On each SIP's page, that organisation's staff add another of "
            "its active units or hand the responsibility over to another organisation: keep their accounts "
            "until they have, as no other organisation may hand it over.",
            len(references),
            references=shown,
        ),
        "warning",
    )


def organisation_deactivate(organisation_id: int):
    """Deactivate an organisation and its units: they join no new SIP and stay on those they are on."""
    organisation = _organisation_or_404(organisation_id)
    _set_active(
        directory.set_organisation_active,
        organisation,
        False,
        _l("%(name)s and its units are deactivated.", name=organisation.name),
        lambda db: db.exec(select(Unit.id).where(Unit.organisation_id == organisation.id)).all(),
    )
    return redirect(url_for("admin.organisations", **_list_place()))


def organisation_activate(organisation_id: int):
    """Activate an organisation again (its units are activated one by one)."""
    organisation = _organisation_or_404(organisation_id)
    _set_active(
        directory.set_organisation_active,
        organisation,
        True,
        _l("%(name)s is active.", name=organisation.name),
    )
    return redirect(url_for("admin.organisations", **_list_place()))


# --- Units -------------------------------------------------------------------------------------------------


def units():
    """The units by name (of one organisation when asked), a page at a time."""
    db = get_session()
    organisation_id = _page_key("organisation")
    organisation = db.get(Organisation, organisation_id) if organisation_id is not None else None
    page = directory.units_page(
        db, organisation_id=organisation.id if organisation else None, **_page_cursors()
    )
    return render_template(
        "admin/units.html",
        rows=page.rows,
        page=page,
        place=_list_place(),
        organisation=organisation,
        kind_labels=directory.UNIT_KIND_LABELS,
        may_change=_may_change(),
        read_only_label=_read_only_label(),
    )


def _unit_form_page(form, unit, errors, status=200, refusal=None):
    """The unit's form; with refusal (a unit of another region's organisation), its saved values read-only."""
    return render_template(
        "admin/unit_form.html",
        form=form,
        unit=unit,
        errors=errors,
        refusal=refusal,
        saved=typed_values(form) if refusal is not None else [],
    ), status


def _chosen_organisation(db, value: str | None) -> Organisation:
    """The organisation the unit form names, or a refusal at its field."""
    organisation_id = row_id(value)
    organisation = db.get(Organisation, organisation_id) if organisation_id is not None else None
    if organisation is None:
        raise InvalidInput(_l("Choose an organisation."), field="organisation_id")
    return organisation


def unit_new():
    """Create a unit of an active organisation."""
    db = get_session()
    form = UnitForm()
    form.organisation_id.choices = [SelectChoice("", _l("Choose an organisation"))] + [
        SelectChoice(str(org_id), name)
        for org_id, name in directory.organisation_choices(db, current_actor())
    ]
    if request.method == "GET" and _page_key("organisation") is not None:
        form.organisation_id.data = str(_page_key("organisation"))
    errors: list = []
    if request.method != "POST":
        return _unit_form_page(form, None, errors)
    status, unit = _submit(
        form,
        errors,
        lambda db, actor, now: directory.create_unit(
            db,
            actor,
            _chosen_organisation(db, form.organisation_id.data),
            key=form.key.data,
            **_values(form, UNIT_FIELDS),
            now=now,
        ),
    )
    if status != 200:
        return _unit_form_page(form, None, errors, status)
    flash(_l("%(name)s is created.", name=unit.name), "success")
    return redirect(url_for("admin.units", organisation=unit.organisation_id))


def _saved_unit_form(unit: Unit) -> EditUnitForm:
    """The unit's form as it is saved now, with the version it was read at."""
    form = EditUnitForm(formdata=None, obj=unit, version=unit.row_version)
    form.mark_as_read()
    return form


def unit_edit(unit_id: int):
    """Change a unit's name, kind, health care, shared mailbox and HSA-id."""
    unit = _unit_or_404(unit_id)
    form = _saved_unit_form(unit) if request.method == "GET" else EditUnitForm()
    errors: list = []
    if request.method != "POST":
        refusal = _refusal(regions.unit_change_refusal, get_session().get(Organisation, unit.organisation_id))
        return _unit_form_page(form, unit, errors, refusal=refusal)
    status, changed = _submit(
        form,
        errors,
        lambda db, actor, now: directory.edit_unit(
            db, actor, unit, **_values(form, UNIT_FIELDS), now=now, expected_version=form.version.data
        ),
        unit,
        lambda: _saved_unit_form(unit),
    )
    if status != 200:
        return _unit_form_page(form, unit, errors, status)
    flash(_l("The changes are saved.") if changed else _l("Nothing was changed."), "success")
    return redirect(url_for("admin.units", organisation=unit.organisation_id))


def unit_deactivate(unit_id: int):
    """Deactivate a unit: it joins no new SIP and stays on those it is on."""
    unit = _unit_or_404(unit_id)
    _set_active(
        directory.set_unit_active,
        unit,
        False,
        _l("%(name)s is deactivated.", name=unit.name),
        lambda db: [unit.id],
    )
    return redirect(url_for("admin.units", **_list_place()))


def unit_activate(unit_id: int):
    """Activate a unit again."""
    unit = _unit_or_404(unit_id)
    _set_active(directory.set_unit_active, unit, True, _l("%(name)s is active.", name=unit.name))
    return redirect(url_for("admin.units", **_list_place()))


# --- Import ------------------------------------------------------------------------------------------------


def directory_import():
    """Upload a CSV of organisations, units and users: check it (dry run), or import all of it or nothing."""
    form = ImportForm()
    report = None
    status = 200
    if request.method == "POST":
        if not form.validate():
            return _import_page(form, None, 400)
        data = form.file.data.read(imports.MAX_BYTES + 1)
        apply = bool(form.apply.data)
        db = get_session()
        try:
            with unit_of_work(db):
                report = imports.import_directory(db, data, actor=current_actor(), now=now_utc(), apply=apply)
        except UserError as error:
            # A browser never keeps a chosen file: the page asks for it again (it is on the user's disk).
            return _import_page(form, None, error.status, refusal=error.message)
        if report.errors:
            status = 400
        else:
            if report.applied:
                flash(_l("The file is imported."), "success")
            # A unit the file closes may leave a running SIP with no active unit holding huvudansvar: each
            # one named (a file closing hundreds leaves more than a deactivation's page names), and by the
            # dry run before it is imported, while that organisation's staff can still act.
            if report.deactivated_unit_ids:
                _warn_of_huvudansvar_left(
                    huvudansvar_without_active_unit(
                        db, workflow_registry(), unit_ids=report.deactivated_unit_ids
                    ),
                    named=None,
                    dry_run=not report.applied,
                )
    return _import_page(form, report, status)


def directory_import_template():
    """The import's template, a CSV file Excel opens as it is."""
    response = current_app.response_class(imports.template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="sipflow-import.csv"'
    return response


def _import_page(form, report, status: int, refusal=None):
    """The import page: the form, the report of the file sent (if any) and what each coded column takes."""
    return render_template(
        "admin/import.html",
        form=form,
        report=report,
        refusal=refusal,
        column_values=imports.COLUMN_VALUES,
        column_help=imports.COLUMN_HELP,
    ), status


# --- Workflows ---------------------------------------------------------------------------------------------


def workflows():
    """The loaded workflow files: versions, steps, deadlines, reminders and how many cases run on each."""
    summaries = workflow_overview.workflow_summaries(get_session(), workflow_registry(), current_locale())
    return render_template(
        "admin/workflows.html",
        summaries=summaries,
        missing=workflow_overview.missing_versions(get_session(), workflow_registry().workflows()),
        # As the nightly anonymisation counts them: the newest file's years, SIPFLOW_RETENTION_YEARS_* first.
        retention_years=RetentionPolicy.from_app(current_app).years,
        date_labels=workflow_overview.DATE_LABELS,
        party_labels=workflow_overview.PARTY_LABELS,
    )


def register(bp) -> None:
    """Add these pages to the administration blueprint."""
    bp.add_url_rule("/organisations", view_func=organisations, methods=["GET"])
    bp.add_url_rule("/organisations/new", view_func=organisation_new, methods=["GET", "POST"])
    bp.add_url_rule(
        "/organisations/<id:organisation_id>/edit", view_func=organisation_edit, methods=["GET", "POST"]
    )
    bp.add_url_rule(
        "/organisations/<id:organisation_id>/deactivate", view_func=organisation_deactivate, methods=["POST"]
    )
    bp.add_url_rule(
        "/organisations/<id:organisation_id>/activate", view_func=organisation_activate, methods=["POST"]
    )
    bp.add_url_rule("/units", view_func=units, methods=["GET"])
    bp.add_url_rule("/units/new", view_func=unit_new, methods=["GET", "POST"])
    bp.add_url_rule("/units/<id:unit_id>/edit", view_func=unit_edit, methods=["GET", "POST"])
    bp.add_url_rule("/units/<id:unit_id>/deactivate", view_func=unit_deactivate, methods=["POST"])
    bp.add_url_rule("/units/<id:unit_id>/activate", view_func=unit_activate, methods=["POST"])
    bp.add_url_rule("/import", view_func=directory_import, methods=["GET", "POST"])
    bp.add_url_rule("/import/template.csv", view_func=directory_import_template, methods=["GET"])
    bp.add_url_rule("/workflows", view_func=workflows, methods=["GET"])
