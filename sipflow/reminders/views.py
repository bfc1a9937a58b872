"""Reminders on the pages: the administration's list (a retry for failed ones), the case page's part."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from sipflow.cases.models import SipCase
from sipflow.cases.queries import deadline_label, find_workflow
from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.people.labels import unit_label
from sipflow.reminders import models, services
from sipflow.routing import page_number, row_id
from sipflow.security import login_manager
from sipflow.translated import lazy_gettext as _l
from sipflow.web import current_actor, current_locale, list_place, register_case_page_part, workflow_registry

bp = Blueprint("reminders", __name__, url_prefix="/admin/reminders")

ADMIN = "admin"

KIND_LABELS = {
    models.INVITATION_UNANSWERED: _l("Unanswered invitations"),
    models.MEETING_TOMORROW: _l("Meeting tomorrow"),
    models.DEADLINE_SOON: _l("Deadline approaching"),
    models.DEADLINE_DUE: _l("Deadline today"),
    models.DEADLINE_MISSED: _l("Deadline passed"),
    models.DEADLINE_ESCALATED: _l("Deadline passed, escalated"),
    models.EFFORT_OVERDUE: _l("Effort past its end date"),
    models.WORKFLOW: _l("Reminder of the workflow"),
}
STATUS_LABELS = {
    models.PENDING: _l("Upcoming"),
    models.CLAIMED: _l("Being sent"),
    models.SENT: _l("Sent"),
    models.SKIPPED: _l("Skipped"),
    models.FAILED: _l("Failed"),
    models.CANCELLED: _l("Cancelled"),
    models.UNDELIVERABLE: _l("Undeliverable"),
}
# A pending reminder whose moment has passed, on the case page: what the next dispatch does with it.
OVERDUE_LABELS = {
    services.OVERDUE_PASSED: _l("Passed, will not be sent"),
    services.OVERDUE_SKIPPED: _l("Will not be sent"),
    services.OVERDUE_LATE: _l("Overdue, will be sent late"),
}
# Why a skipped reminder did not go out (Reminder.skip_reason), beside its status on the list.
SKIP_REASON_LABELS = {
    models.SKIP_CASE_ENDED: _l("the SIP has ended"),
    models.SKIP_MEETING_OFF: _l("the meeting is no longer planned"),
    models.SKIP_PASSED: _l("out of date: what it tells of had already come when it was to be sent"),
    models.SKIP_WRITTEN_LATE: _l("written within the day before the meeting: the invitation says it"),
    models.SKIP_ANSWERED: _l("every invitation is answered"),
    models.SKIP_DEADLINE_SETTLED: _l("the deadline is met or no longer applies"),
    models.SKIP_EFFORT_SETTLED: _l("the effort is no longer planned or ongoing"),
    models.SKIP_EFFORT_MOVED: _l("the effort's end date was moved: it is no longer past it"),
    models.SKIP_BY_NAME: _l("everyone it would go to gets the same reminder by name"),
    models.SKIP_ALREADY_SENT: _l(
        "everyone it would go to has already had the same reminder, by name or through their unit"
    ),
    models.SKIP_NO_CONTACT: _l("the unit has neither a contact person nor an e-mail address on the SIP"),
    models.SKIP_NOT_COVERED: _l(
        "the recipient's organisation no longer sees the SIP: the consent does not cover it (any more)"
    ),
    models.SKIP_WORKFLOW_MISSING: _l(
        "the SIP's workflow file is missing or no longer defines its state: put it back in the workflow "
        "folder, restart sipflow, then send the reminder again"
    ),
}
assert set(SKIP_REASON_LABELS) == set(models.SKIP_REASONS)


def invitee_label(invitee: services.Invitee | None) -> str | None:
    """A meeting's invitee as the reminder lists name them (None: not an invitee, or unknown).

    No more than the case page says of its participants to anyone who sees it, and less: an organisation by
    its name and unit (as the meeting's invitations name their sender's), the person as "the person", a
    närstående or guardian by that and their relation, never a private person's name or an address (the
    administration's list names the SIPs of many people).
    """
    if invitee is None or invitee.kind is None:
        return None
    if invitee.kind == "organisation":
        return unit_label(invitee.organisation or "?", invitee.unit)
    if invitee.kind == "person":
        return _("the person")
    kinds = {"guardian": _("guardian"), "representative": _("legal representative")}
    kind = kinds.get(invitee.kind) or _("relative")
    return _("%(kind)s (%(relation)s)", kind=kind, relation=invitee.relation) if invitee.relation else kind


def unit_address_units(rows, unit_names: dict[int, tuple[str | None, str | None]]) -> dict[int, str]:
    """{reminder id: its unit named with its organisation} for the rows of a workflow file's reminder to a
    unit that names no contact person (services.for_unit_address); unit_names: {unit id: (name,
    organisation's name)}."""
    labelled = staff_unit_labels(unit_names)
    return {
        r.id: labelled[r.recipient_unit_id]
        for r in rows
        if services.for_unit_address(r) and r.recipient_unit_id in labelled
    }


def staff_unit_labels(unit_names: dict[int, tuple[str | None, str | None]]) -> dict[int, str]:
    """{unit id: the unit named with its organisation}, the one way a reminder names a unit it goes to (its
    staff, "The staff of ...", or its address on the SIP): unit names repeat across organisations (two
    municipalities' "Socialtjänsten (IFO)" on one SIP after a move); unit_names: {unit id: (name,
    organisation's name)}."""
    return {
        unit_id: unit_label(organisation or "?", unit)
        for unit_id, (unit, organisation) in unit_names.items()
        if unit_id is not None
    }


def no_contact_units(rows, unit_names: dict[int, tuple[str | None, str | None]]) -> dict[int, str]:
    """unit_address_units of the rows whose unit has no address on the case either
    (services.no_contact_person): they go to no one."""
    named = unit_address_units(rows, unit_names)
    return {r.id: named[r.id] for r in rows if r.id in named and services.no_contact_person(r)}


def at_unit_address(rows, unit_names: dict[int, tuple[str | None, str | None]]) -> dict[int, str]:
    """unit_address_units of the rows that go to the unit's address on the case."""
    named = unit_address_units(rows, unit_names)
    return {r.id: named[r.id] for r in rows if r.id in named and not services.no_contact_person(r)}


@bp.before_request
def _administrators_only():
    """Every page here is for administrators; anyone else logged in gets 403."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(ADMIN):
        current_app.logger.warning("reminder administration refused for user id %s", current_user.id)
        return render_template("errors/forbidden.html", message=_l("This page is for administrators.")), 403
    return None


def topic_label(workflow, row, locale: str) -> str | None:
    """What a reminder is about, as its case's workflow file names it (None: it has no topic).

    A deadline's reminder names the deadline kind (the file's label, as on the case page), a workflow
    reminder its declared name (the file's label of it); a topic the file does not know shows as stored.
    """
    if not row.topic:
        return None
    if row.kind == models.WORKFLOW:
        declared = workflow.declared_reminder(row.topic) if workflow else None
        label = declared.label if declared is not None else {}
        return label.get(locale) or label.get("sv") or row.topic
    return deadline_label(workflow, row.topic, locale)


def _topic_labels(session, rows) -> dict[int, str]:
    """{reminder id: topic_label} for the rows with a topic, each by its own case's workflow."""
    case_ids = {r.case_id for r in rows if r.topic and r.case_id is not None}
    if not case_ids:
        return {}
    versions = {
        case_id: (name, version)
        for case_id, name, version in session.exec(
            select(SipCase.id, SipCase.workflow_name, SipCase.workflow_version).where(
                SipCase.id.in_(case_ids)
            )
        ).all()
    }
    registry, locale = workflow_registry(), current_locale()
    return {
        r.id: topic_label(find_workflow(registry, *versions[r.case_id]), r, locale)
        for r in rows
        if r.topic and r.case_id in versions
    }


@bp.get("/")
def admin_list():
    """The reminders of one status (upcoming by default), a page at a time."""
    status, status_error = services.status_filter(request.args.get("status"))
    if status is None:
        # Said beside the status links; no list is shown under a status nobody chose.
        return render_template(
            "reminders/admin.html",
            rows=[],
            status=None,
            status_error=status_error,
            status_labels=STATUS_LABELS,
        ), 400
    session = get_session()
    # An administrator of a county or an organisation sees the reminders of their region's SIPs only.
    region = services.admin_region(session, current_actor())
    page = services.reminders_page(
        session,
        status=status,
        after=row_id(request.args.get("after")),
        before=row_id(request.args.get("before")),
        page=page_number(request.args.get("page")),
        region=region,
    )
    rows = [reminder for reminder, _reference in page.rows]
    references = {reminder.id: reference for reminder, reference in page.rows}
    names, units, invitees = services.recipient_names(session, rows)
    no_contact = no_contact_units(rows, units)
    # A pending one without an address to go to (its unit's lack of one is said as no_contact).
    unreachable = services.unreachable(session, rows) - set(no_contact)
    return render_template(
        "reminders/admin.html",
        rows=rows,
        status=status,
        names=names,
        unit_names=staff_unit_labels(units),
        no_contact=no_contact,
        unreachable=unreachable,
        unit_address=at_unit_address(rows, units),
        # Which unit has neither, beside the reason a reminder to it was skipped, and what makes it go.
        skip_labels={
            r.id: _(
                "%(organisation)s has neither a contact person nor an e-mail address on the SIP: its staff"
                " can name a contact person for the unit on the SIP's page",
                organisation=no_contact[r.id],
            )
            for r in rows
            if r.skip_reason == models.SKIP_NO_CONTACT and r.id in no_contact
        },
        invitee_names={invitation_id: invitee_label(i) for invitation_id, i in invitees.items()},
        references=references,
        topics=_topic_labels(session, rows),
        page=page,
        place=list_place(),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        skip_reason_labels=SKIP_REASON_LABELS,
        sendable_again=services.sendable_again(session, rows),
    )


@bp.post("/<id:reminder_id>/retry")
def retry(reminder_id: int):
    """Send a failed or undeliverable reminder again at the next tick."""
    session = get_session()
    with unit_of_work(session):
        done = services.retry_reminder(
            session, reminder_id, now=now_utc(), region=services.admin_region(session, current_actor())
        )
    if done:
        flash(_l("The reminder is sent again at the scheduler's next run."), "success")
    else:
        flash(
            _l(
                "Only a failed reminder, or an undeliverable one whose recipient now has an e-mail address, "
                "can be sent again."
            ),
            "error",
        )
    status = request.form.get("status", models.FAILED)
    status = status if status in models.STATUSES else None
    return redirect(url_for("reminders.admin_list", status=status, **list_place()))


def _case_page_part(detail, _actor, *, allowed: list) -> dict:
    """The case page's reminders: those still to come and those that could not be delivered or went to no
    one, each with what it is about and who hears of it."""
    session = get_session()
    after = services.case_page_cursor(request.args.get("reminders_after"))
    page = services.case_reminders_page(session, detail.case.id, after)
    rows = page.rows
    locale = current_locale()
    outlook = services.overdue_outlook(session, detail.workflow, detail.case, rows, now_utc())
    units = {r.recipient_unit_id: (r.recipient_unit_name, r.recipient_organisation_name) for r in rows}
    no_contact = no_contact_units(rows, units)
    return {
        "reminder_no_contact": no_contact,
        # Pending ones no address reaches (a unit's lack of one is said as reminder_no_contact): they will not
        # go out, whatever their moment, so that is their status.
        "reminder_unreachable": {
            r.id: OVERDUE_LABELS[services.OVERDUE_SKIPPED]
            for r in rows
            if r.status == models.PENDING and not r.reachable and r.id not in no_contact
        },
        "reminder_unit_address": at_unit_address(rows, units),
        "reminder_unit_names": staff_unit_labels(units),
        "reminders": rows,
        "reminders_next": page.next_token,
        "reminders_later_page": after is not None,
        "reminder_topics": {r.id: topic_label(detail.workflow, r, locale) for r in rows if r.topic},
        "reminder_invitees": {r.id: invitee_label(services.invitee_of(r)) for r in rows if r.invitation_id},
        "reminder_kind_labels": KIND_LABELS,
        "reminder_status_labels": STATUS_LABELS,
        "reminder_overdue": {r_id: OVERDUE_LABELS[kind] for r_id, kind in outlook.items()},
    }


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))
