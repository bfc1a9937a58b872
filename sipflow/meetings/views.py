"""The meeting pages: book a meeting (and with it send the kallelse), change, cancel, invite, uninvite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required

from sipflow.cases import services as case_services
from sipflow.cases.days_off import DayOffUnconfirmed
from sipflow.cases.errors import StaleCase
from sipflow.cases.forms import choices, show_current_version, typed_values
from sipflow.cases.models import SipCase
from sipflow.cases.queries import find_workflow, organisations_taking_part
from sipflow.clock import now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.errors import UserError
from sipflow.forms import typed_in_request
from sipflow.meetings import permissions, services
from sipflow.meetings.booking import DAY_FIELD, SameStartUnconfirmed
from sipflow.meetings.forms import (
    ANSWER_MODE_LABELS,
    ATTENDANCE_PREFIX,
    CARER_PREFIX,
    CARER_SUPPORT_LABELS,
    CLASSIFICATION_LABELS,
    PARTSTAT_LABELS,
    BookingForm,
    ChangeForm,
    InviteForm,
    MeetingActionForm,
    OutcomeForm,
    StaffAnswerForm,
    staff_answer_prefix,
)
from sipflow.meetings.models import HELD, PLANNED, Invitation, Meeting
from sipflow.meetings.outcome import (
    ATTENDANCE_FIELD,
    CARER_KIND,
    OUTCOME_FORM,
    attendance_from_answer,
    case_meetings_in_order,
    classify,
    meeting_invitations,
    meeting_labels,
    outcome_transition,
    planned_meetings,
    withdrawn_from,
)
from sipflow.meetings.queries import (
    RETRYING,
    Invitees,
    attendance_choices,
    case_meetings,
    deadlines_met_by,
    invitation_rows,
    invitee_choices,
    invitees,
    labels_of,
    meeting_outcome,
    owner_choices,
)
from sipflow.routing import row_id
from sipflow.security import access, audit
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    already_done,
    attach_error,
    case_or_404,
    current_actor,
    current_locale,
    each_refusal,
    further_consent_page,
    further_consent_url,
    register_case_page_part,
    register_transition_page,
    transition_label,
    workflow_registry,
)

bp = Blueprint("meetings", __name__)
DELIVERY_LABELS = {
    "pending": _l("Waiting to be sent"),
    RETRYING: _l("Not delivered yet: the mail server did not take it, it is tried again automatically"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Could not be delivered"),
    "uncertain": _l("Unknown whether it arrived: check with the invitee"),
}


def _case_page_part(detail, actor, *, allowed: list) -> dict:
    """The case page's meetings section: the meetings, and the booking button when the user may book."""
    session, case = get_session(), detail.case
    booking = permissions.booking_permission(
        session,
        workflow_registry(),
        case,
        actor,
        allowed=allowed,
        participants=detail.participants,
        consent_in_force=any(c.in_force for c in detail.consents),
        # The page's steps answer whether a kallelse was sent only when they are all the steps there are.
        logged_triggers={entry.log.trigger for entry in detail.timeline} if detail.timeline_whole else None,
    )
    # Every participant's label, removed ones too: a held meeting names its attendees as its page does.
    labels = labels_of(detail.person, detail.participant_rows)
    return {
        "meetings": case_meetings(session, case, labels, labels=labels),
        # The timeline names a decision's owner, stored as an id key, as the outcome page offered it.
        "owner_labels": dict(
            owner_choices(
                Invitees(labels, detail.participant_rows, organisations=detail.organisation_labels),
                removed=True,
            )
        ),
        "booking_url": url_for("meetings.book", uid=case.uid) if booking is not None else None,
    }


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))
bp.record_once(lambda state: register_transition_page(state.app, OUTCOME_FORM, "meetings.outcome"))


@bp.app_context_processor
def _labels() -> dict:
    return {
        "partstat_labels": PARTSTAT_LABELS,
        "answer_mode_labels": ANSWER_MODE_LABELS,
        "delivery_labels": DELIVERY_LABELS,
        "classification_labels": CLASSIFICATION_LABELS,
        "carer_support_labels": CARER_SUPPORT_LABELS,
    }


# The service names the data it refused; the page shows the refusal beside the field that gave it.
FORM_FIELDS = {
    "meeting_starts_at": "starts",
    "meeting_ends_at": "ends",
    "meeting_minutes": "ends",
    DAY_FIELD: "date",
}


def _attach(form, error: UserError, top: list) -> None:
    attach_error(form, error, top, fields=FORM_FIELDS)
    # The day-off warning may come with other refusals: its tick is shown with them.
    for refusal in each_refusal(error):
        if isinstance(refusal, DayOffUnconfirmed):
            form.warn_day_off(refusal.day)
        if isinstance(refusal, SameStartUnconfirmed):
            form.warn_same_start(refusal.starts_at, refusal.other)


def _attach_unmarked(form, error: UserError, top: list) -> None:
    """The service's refusals of a booking or change form its own checks refused already: each field the form
    marked keeps its own error alone (web.attach_error's unmarked_only). A start refused while the date is
    refused is the date's (the form named the day already): not shown again at the start."""
    fields = {**FORM_FIELDS, "meeting_starts_at": "date" if form.date.errors else "starts"}
    for refusal in each_refusal(error):
        name = fields.get(refusal.field, refusal.field)
        if name in form and form[name].errors:
            continue
        attach_error(form, refusal, top, fields=fields, unmarked_only=True)
        if isinstance(refusal, DayOffUnconfirmed):
            form.warn_day_off(refusal.day)
        if isinstance(refusal, SameStartUnconfirmed):
            form.warn_same_start(refusal.starts_at, refusal.other)


def _meeting_or_404(case, meeting_id: int) -> Meeting:
    meeting = get_session().get(Meeting, meeting_id)
    if meeting is None or meeting.case_id != case.id:
        abort(404)
    return meeting


# A SIP ended (closed, cancelled) while its meeting or booking page was open: no part of anyone's allows that.
ENDED = _l("The SIP has ended: its meetings can no longer be booked or changed.")
ENDED_NOT_SAVED = _l("The SIP has ended: its meetings can no longer be booked or changed. Nothing was saved.")


def _refuse_ended(case) -> None:
    """409 when the SIP has ended and the user's party is one that manages its meetings, saying so, with
    what the form sent held typed in it, to copy: not the 403 of a part with no say over meetings, nor what
    they typed lost. Anyone else is left to the 403 of their part."""
    registry = workflow_registry()
    if not permissions.has_ended(registry, case):
        return
    if not permissions.party_manages_meetings(get_session(), registry, case, current_actor()):
        return
    posted = request.method == "POST"
    page = render_template(
        "errors/case_ended.html",
        message=ENDED_NOT_SAVED if posted else ENDED,
        case_url=url_for("cases.detail", uid=case.uid),
        kept_input=typed_in_request(request.form) if posted else [],
    )
    abort(make_response(page, 409))


def _managed_meeting(uid: str, meeting_id: int):
    """The case and meeting of a change: logged, 404 unless visible, 409 once the SIP has ended, 403 unless
    the user may manage it."""
    case = case_or_404(uid, audit.MEETING_CHANGE)
    _refuse_ended(case)
    if not permissions.may_manage_meetings(get_session(), workflow_registry(), case, current_actor()):
        abort(403)
    return case, _meeting_or_404(case, meeting_id)


# --- Booking ----------------------------------------------------------------------------------------------


def _booking_form(session, case, read: Invitees, *, formdata=None) -> BookingForm:
    """The booking form; read: the page's participants read with the consents in force (step_now)."""
    form = BookingForm(formdata=formdata)
    # Offered: those the meeting may be shared with (invitee_choices(seeing=), the rule the booking's
    # refusal asks), as "Invite more" offers them. A unit whose organisation the consent leaves out is said
    # apart (_left_out); one a posted form chose (a page read before the consent stopped covering it) stays
    # chosen, so the service refuses it beside the field, with the way to a further consent.
    posted = (form.invitee_ids.data or ()) if formdata is not None else ()
    form.invitee_ids.choices = choices(
        invitee_choices(session, case, read=read, seeing=read.step_reads.seeing, chosen=posted)
    )
    if formdata is None:
        # Ticked from the start: everyone offered.
        form.invitee_ids.data = [choice.value for choice in form.invitee_ids.choices]
        form.version.data = case.version
    return form


def _removed_invitees(read: Invitees) -> dict[str, dict[int, str]]:
    """The participants an invitee group may have ticked who were taken off the SIP since, by their label
    (ForgetsRemovedTicks)."""
    return {"invitee_ids": {row[0].id: read.labels[row[0].id] for row in read.rows if not row[0].active}}


def _left_out(case, read: Invitees) -> tuple[str, str] | None:
    """What the booking form says below its invitees when it leaves out units since the consent does not
    cover their organisation: which, why in the words of the refusal inviting one gets
    (security.access.uncovered_message), and the further-consent page, so the way to invite them is there
    before anyone looks for them; None when it leaves out none."""
    seeing = read.step_reads.seeing
    units, names = [], []
    for participant, organisation, _unit, _contact in read.rows:
        if participant.active and organisation is not None and organisation.id not in seeing:
            units.append(read.labels[participant.id])
            name = read.organisations.get(organisation.id, organisation.name)
            if name not in names:
                names.append(name)
    if not units:
        return None
    text = _("Cannot be invited: %(units)s.", units=", ".join(units))
    return f"{text} {access.uncovered_message(names)}", further_consent_page(case)


STALE_BOOKING = _l(
    "Someone else changed this SIP while you were working: a meeting may already be booked. What you "
    "entered is kept below; check the SIP, and send it again if this meeting is still needed."
)


def _stale_booking(form: BookingForm, case) -> StaleCase | None:
    """A conflict when the booking form was read at another version of the case than it has now."""
    if form.version.validate(form) and form.version.data is not None and form.version.data != case.version:
        return StaleCase(STALE_BOOKING)
    return None


def _booking_refused(session, registry, case, user, *, participants=None):
    """The booking page refused: 409 when the SIP's workflow books no meetings in sipflow (no kallelse step),
    or naming the step to take first when it is the SIP's state (the kallelse is still steps ahead), 409 too
    once the SIP has ended (`_refuse_ended`), else 403 (the user's part in the SIP)."""
    _refuse_ended(case)
    page = url_for("cases.detail", uid=case.uid)
    if not permissions.books_meetings(registry, case):
        message = _("This SIP's workflow books no meetings in sipflow.")
        return render_template("errors/not_in_workflow.html", message=message, case_url=page), 409
    step = permissions.step_before_booking(session, registry, case, user, participants=participants)
    if step is None:
        abort(403)
    message = _(
        "The meeting can be booked once the step “%(step)s” is done.",
        step=transition_label(step, current_locale()),
    )
    return render_template("errors/not_yet.html", message=message, case_url=page), 409


def _booking_blocked(session, registry, case, user, how, read: Invitees, *, now, shown: list) -> list:
    """What refuses the kallelse step whatever the booking form holds (cases.services.refusals_before_form),
    from the page's own read, said over the form; not again when a refusal at the top says it already."""
    if how.transition is None:
        return []
    found = case_services.refusals_before_form(
        session,
        registry.get(case.workflow_name, case.workflow_version),
        case,
        user,
        how.transition,
        now=now,
        reads=read.step_reads,
        organisations=organisations_taking_part(read.rows),
    )
    said = {str(message) for message in shown}
    return [message for message in found if str(message) not in said]


@bp.route("/cases/<uid>/meetings/new", methods=["GET", "POST"])
@login_required
def book(uid: str):
    """Book a meeting and send the invitations; the first one is the case's kallelse."""
    session, registry, user = get_session(), workflow_registry(), current_actor()
    posted = request.method == "POST"
    case = case_or_404(uid, audit.MEETING_CHANGE if posted else audit.MEETING_VIEW)
    # The participants, read once with the consents in force: the invitee choices, who sees the SIP (ticked
    # first), who may book, and (posted) the kallelse step's own first read.
    now = now_utc()
    read = invitees(session, case, step_now=now)
    active = [row[0] for row in read.rows if row[0].active]
    how = permissions.booking_permission(session, registry, case, user, participants=active)
    if how is None:
        return _booking_refused(session, registry, case, user, participants=active)
    form = _booking_form(session, case, read, formdata=request.form if posted else None)
    if posted:
        form.forget_removed_ticks(_removed_invitees(read))
    top: list = []
    status = 200
    consent_url = None
    if posted:
        status = 400
        # A form from before someone else's change (the kallelse booked meanwhile) is stale, whatever else.
        refusal = _stale_booking(form, case)
        if refusal is None and not form.validate():
            # What the booking rules refuse besides, marked too (each field once): every field's refusal on
            # the first send. Asked with the fields that parsed; writes nothing.
            refused = services.booking_refusal(session, case, form.to_data(), now=now, reads=read.step_reads)
            if refused is not None:
                _attach_unmarked(form, refused, top)
                consent_url = further_consent_url(case, refused)
        elif refusal is None:
            try:
                with unit_of_work(session):
                    meeting_id = services.book(
                        session,
                        registry,
                        user,
                        case,
                        form.to_data(),
                        expected_version=form.version.data,
                        now=now,
                        reads=read.step_reads,
                    )
            except StaleCase:
                refusal = StaleCase(STALE_BOOKING)
            except UserError as error:
                _attach(form, error, top)
                status = error.status
                consent_url = further_consent_url(case, error)
            else:
                flash(_("The meeting is booked and the invitations are on their way."), "success")
                return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=meeting_id), code=303)
        if refusal is not None:
            session.refresh(case)
            # The user's own kallelse booked a moment ago from this same form (a double click): it is done,
            # and sending it again would book the meeting twice.
            done = form.validate() and services.kallelse_just_taken(
                session, registry, case, user, form.to_data(), now=now
            )
            if done:
                transition, meeting_id = done
                page = url_for("meetings.detail", uid=case.uid, meeting_id=meeting_id) if meeting_id else None
                return already_done(transition, case.uid, to=page)
            _attach(form, refusal, top)
            status = refusal.status
            how = permissions.booking_permission(session, registry, case, user)
            if how is None:
                return _booking_refused(session, registry, case, user)
            show_current_version(form, case.version)
    return (
        render_template(
            "meetings/book.html",
            case=case,
            form=form,
            errors=top,
            blocked=_booking_blocked(session, registry, case, user, how, read, now=now, shown=top),
            kallelse_label=transition_label(how.transition, current_locale()) if how.transition else None,
            # The deadline the kallelse meets, said where it is sent from (the nurse booking needs the day).
            kallelse_deadlines=(
                deadlines_met_by(
                    session,
                    find_workflow(registry, case.workflow_name, case.workflow_version),
                    case,
                    how.transition.trigger,
                    locale=current_locale(),
                    now=now,
                )
                if how.transition
                else []
            ),
            page_url=url_for("meetings.book", uid=case.uid),
            further_consent_url=consent_url,
            # Once refused for it, the field's own error says it (with the link): not twice.
            left_out=_left_out(case, read) if consent_url is None else None,
        ),
        status,
    )


# --- One meeting ------------------------------------------------------------------------------------------


def _render_meeting(
    case,
    meeting,
    *,
    status=200,
    errors=None,
    change_form=None,
    invite_form=None,
    answer_form=None,
    consent_url=None,
):
    """The meeting page; a form posted and refused (answer_form: (invitation id, form)) shown as typed."""
    session = get_session()
    # The case's participants, read once for the roles, the invitee choices and the invitation labels, with
    # the consents in force: who sees the SIP (only they are offered an invitation).
    read = invitees(session, case, step_now=now_utc())
    active = [row[0] for row in read.rows if row[0].active]
    manage = (
        permissions.may_manage_meetings(session, workflow_registry(), case, current_actor(), active)
        and meeting.status == PLANNED
    )
    # A change form posted and refused stays open, whether its refusal is at a field or at the top.
    change_open = change_form is not None
    if change_form is None:
        change_form = _change_form(meeting)
    invite_posted = invite_form is not None
    if invite_form is None:
        invite_form = InviteForm(formdata=None, prefix="invite", version=meeting.sequence)
        invite_form.invitee_ids.choices = choices(
            invitee_choices(session, case, exclude_meeting=meeting, read=read, seeing=read.step_reads.seeing)
        )
    meetings = case_meetings_in_order(session, case)
    held = (
        meeting_outcome(session, meeting, read.labels, read.organisations) if meeting.status == HELD else None
    )
    record_url = None
    if meeting.status == PLANNED:
        transition = outcome_transition(
            workflow_registry().get(case.workflow_name, case.workflow_version), case.state
        )
        if transition is not None and _may_record(session, case, transition, active):
            record_url = url_for("meetings.outcome", uid=case.uid, meeting=meeting.id)
    rows = invitation_rows(session, case, [meeting], labels=read.labels)[meeting.id]
    answer_forms = _answer_forms(rows, meeting, answer_form) if manage else {}
    return (
        render_template(
            "meetings/detail.html",
            case=case,
            meeting=meeting,
            meeting_label=meeting_labels(meetings)[meeting.id],
            held=held,
            record_url=record_url,
            rows=rows,
            unanswered=sum(1 for row in rows if row.invitation.awaiting_answer),
            invited=sum(1 for row in rows if row.invitation.active),
            answer_forms=answer_forms,
            # The form posted and refused stays open, whether its refusal is at a field or at the top.
            answer_open=answer_form[0] if answer_form is not None else None,
            manage=manage,
            change_form=change_form,
            change_open=change_open,
            invite_form=invite_form,
            button_form=MeetingActionForm(formdata=None, version=meeting.sequence),
            errors=errors or [],
            page_url=url_for("meetings.detail", uid=case.uid, meeting_id=meeting.id),
            further_consent_url=consent_url,
            kept_input=_kept_input(
                rows,
                change_form=change_form if change_open and not manage else None,
                invite_form=invite_form if invite_posted and not manage else None,
                answer_form=answer_form
                if answer_form is not None and answer_form[0] not in answer_forms
                else None,
            ),
        ),
        status,
    )


def _kept_input(rows, *, change_form, invite_form, answer_form) -> list[tuple[str | None, list]]:
    """The posted forms the page no longer offers (the meeting was cancelled or held meanwhile, the invitee
    now answers for themselves), as the "What you entered" card shows them: nothing typed is lost."""
    kept = []
    if change_form is not None:
        kept.append((_("Move or change the meeting"), typed_values(change_form)))
    if invite_form is not None:
        kept.append((_("Invite more"), typed_values(invite_form)))
    if answer_form is not None:
        invitation_id, form = answer_form
        label = next((row.label for row in rows if row.invitation.id == invitation_id), None)
        title = _("The answer of %(name)s", name=label) if label else _("Record the answer")
        kept.append((title, typed_values(form)))
    return [(title, values) for title, values in kept if values]


def _change_form(meeting: Meeting) -> ChangeForm:
    """The change form as the meeting page shows it: the meeting's time, form and place as they are."""
    form = ChangeForm(formdata=None, prefix="change", version=meeting.sequence)
    form.fill_from(meeting.starts_at, meeting.ends_at, meeting.mode, meeting.location, meeting.room)
    return form


def _answer_forms(rows, meeting, posted) -> dict[int, StaffAnswerForm]:
    """A form per invitee called some other way, to record the answer they gave; a refused one as typed."""
    forms = {}
    modes = services.allowed_answer_modes(meeting)
    for row in rows:
        invitation = row.invitation
        if not invitation.answers_through_staff:
            continue
        if posted is not None and posted[0] == invitation.id:
            forms[invitation.id] = posted[1]
            # The page has an answer form per invitee: its error summary says whose answer was refused.
            posted[1].summary_heading = row.label
            continue
        form = StaffAnswerForm(
            formdata=None,
            prefix=staff_answer_prefix(invitation.id),
            version=meeting.sequence,
            shown=services.answer_digest(invitation),
        )
        form.set_modes(modes)
        if invitation.answered_at is not None:
            form.partstat.data, form.comment.data = invitation.partstat, invitation.comment
            form.answer_mode.data = invitation.answer_mode
        forms[invitation.id] = form
    return forms


@bp.get("/cases/<uid>/meetings/<id:meeting_id>")
@login_required
def detail(uid: str, meeting_id: int):
    """A meeting: time, place or link, the invitees, their answers and each e-mail's delivery."""
    case = case_or_404(uid, audit.MEETING_VIEW)
    return _render_meeting(case, _meeting_or_404(case, meeting_id))


STALE_CHANGE = _l(
    "Someone else changed the meeting while you were working. The form below shows it as it is now, with "
    "your own changes kept; where you both changed the same thing, both are named at the field. Sending "
    "the form again applies your changes."
)


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/change")
@login_required
def change(uid: str, meeting_id: int):
    """Move the meeting or change its form or place; every invitee gets an update."""
    session = get_session()
    case, meeting = _managed_meeting(uid, meeting_id)
    form = ChangeForm(formdata=request.form, prefix="change")
    if not form.validate():
        return _render_meeting(case, meeting, status=400, change_form=form)
    top: list = []
    try:
        with unit_of_work(session):
            changed = services.change(
                session,
                case,
                meeting,
                form.to_data(),
                now=now_utc(),
                expected_sequence=form.version.data,
            )
    except UserError as error:
        session.refresh(meeting)
        if isinstance(error, services.StaleMeeting):
            show_current_version(form, meeting.sequence)
            # What this user left as it was becomes the meeting as it is now: sent again, the form
            # applies their own changes, not the time or place they were shown before.
            if form.merge_current(_change_form(meeting)):
                error = services.StaleMeeting(STALE_CHANGE)
        _attach(form, error, top)
        return _render_meeting(case, meeting, status=error.status, errors=top, change_form=form)
    if changed:
        flash(_changed_message(services.told_some_other_way(session, meeting)), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=meeting.id), code=303)


def _changed_message(others: int) -> str:
    """The flash of a change: every invitee gets an update, but those called some other way (others)."""
    if not others:
        return _("The meeting is changed and every invitee gets an update.")
    return ngettext(
        "The meeting is changed and every invitee with an e-mail address gets an update. One invitee is "
        "called some other way: tell them yourself.",
        "The meeting is changed and every invitee with an e-mail address gets an update. %(num)d invitees "
        "are called some other way: tell them yourself.",
        others,
    )


def _cancelled_message(others: int) -> str:
    """The flash of a cancellation: every invitee is told, but those called some other way (others)."""
    if not others:
        return _("The meeting is cancelled and every invitee is told.")
    return ngettext(
        "The meeting is cancelled and every invitee with an e-mail address is told. One invitee is called "
        "some other way: tell them yourself.",
        "The meeting is cancelled and every invitee with an e-mail address is told. %(num)d invitees are "
        "called some other way: tell them yourself.",
        others,
    )


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/cancel")
@login_required
def cancel(uid: str, meeting_id: int):
    """Cancel the meeting; every invitee's calendar entry is cancelled."""

    def act(session, case, meeting, now, seen) -> int:
        services.cancel_meeting(session, case, meeting, now=now, expected_sequence=seen)
        return services.told_some_other_way(session, meeting)

    return _simple_action(uid, meeting_id, act, _cancelled_message)


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/invitations/<id:invitation_id>/withdraw")
@login_required
def withdraw(uid: str, meeting_id: int, invitation_id: int):
    """Withdraw one invitation: that invitee alone gets a cancellation."""

    def act(session, case, meeting, now, seen):
        invitation = session.get(Invitation, invitation_id)
        if invitation is None or invitation.meeting_id != meeting.id:
            abort(404)
        # Called some other way: sipflow mails them nothing, so only the staff can tell them.
        other_way = invitation.answers_through_staff
        told = services.uninvite(session, case, meeting, invitation, now=now, expected_sequence=seen)
        return told, other_way

    def done(result: tuple[bool, bool]) -> str:
        told, other_way = result
        if other_way:
            return _("The invitation is withdrawn. The invitee is called some other way: tell them yourself.")
        if told:
            return _("The invitation is withdrawn and the invitee is told.")
        return _(
            "The invitation is withdrawn. No cancellation is e-mailed: another invitee shares the address, "
            "and the meeting stays in that calendar for them. Tell the invitee some other way."
        )

    return _simple_action(uid, meeting_id, act, done)


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/invitations/<id:invitation_id>/answer")
@login_required
def record_answer(uid: str, meeting_id: int, invitation_id: int):
    """Record the answer an invitee called some other way gave by phone or letter."""
    session = get_session()
    case, meeting = _managed_meeting(uid, meeting_id)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.meeting_id != meeting.id:
        abort(404)
    form = StaffAnswerForm(formdata=request.form, prefix=staff_answer_prefix(invitation.id))
    form.set_modes(services.allowed_answer_modes(meeting))
    top: list = []
    status = 400
    if form.validate():
        try:
            with unit_of_work(session):
                services.record_staff_answer(
                    session,
                    case,
                    meeting,
                    invitation,
                    current_actor(),
                    partstat=form.partstat.data,
                    answer_mode=form.answer_mode.data or None,
                    comment=form.comment.data,
                    now=now_utc(),
                    expected_sequence=form.version.data,
                    shown=form.shown.data or "",
                )
        except UserError as error:
            session.refresh(meeting)
            session.refresh(invitation)
            if isinstance(error, (services.StaleMeeting, services.StaleAnswer)):
                # Sent again from the page that shows the conflict, it is a deliberate overwrite.
                show_current_version(form, meeting.sequence)
                form.shown.data = services.answer_digest(invitation)
                form.shown.raw_data = [form.shown.data]
            _attach(form, error, top)
            status = error.status
        else:
            flash(_("The answer is recorded."), "success")
            return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=meeting.id), code=303)
    return _render_meeting(case, meeting, status=status, errors=top, answer_form=(invitation.id, form))


def _simple_action(uid: str, meeting_id: int, act, done_message):
    """done_message: the flash, or a function of what act returned that gives it."""
    session = get_session()
    case, meeting = _managed_meeting(uid, meeting_id)
    form = MeetingActionForm()
    if not form.validate():
        abort(400)
    try:
        with unit_of_work(session):
            result = act(session, case, meeting, now_utc(), form.version.data)
    except UserError as error:
        session.refresh(meeting)
        return _render_meeting(case, meeting, status=error.status, errors=[error.message])
    flash(done_message(result) if callable(done_message) else done_message, "success")
    return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=meeting.id), code=303)


@bp.post("/cases/<uid>/meetings/<id:meeting_id>/invite")
@login_required
def invite(uid: str, meeting_id: int):
    """Invite more participants (for instance a närstående added after the booking)."""
    session = get_session()
    case, meeting = _managed_meeting(uid, meeting_id)
    form = InviteForm(formdata=request.form, prefix="invite")
    # Offered again as the page offered them; an organisation chosen that the consent leaves out stays
    # chosen, so the service refuses it beside the field, with the way to a further consent.
    read = invitees(session, case, step_now=now_utc())
    form.invitee_ids.choices = choices(
        invitee_choices(
            session,
            case,
            exclude_meeting=meeting,
            read=read,
            seeing=read.step_reads.seeing,
            chosen=form.invitee_ids.data or (),
        )
    )
    form.forget_removed_ticks(_removed_invitees(read))
    top: list = []
    status = 400
    consent_url = None
    if form.validate():
        try:
            with unit_of_work(session):
                services.invite(
                    session,
                    case,
                    meeting,
                    form.invitee_ids.data or [],
                    now=now_utc(),
                    expected_sequence=form.version.data,
                )
        except UserError as error:
            session.refresh(meeting)
            if isinstance(error, services.StaleMeeting):
                show_current_version(form, meeting.sequence)
            _attach(form, error, top)
            status = error.status
            consent_url = further_consent_url(case, error)
        else:
            flash(_("The invitations are on their way."), "success")
            return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=meeting.id), code=303)
    return _render_meeting(
        case, meeting, status=status, errors=top, invite_form=form, consent_url=consent_url
    )


# --- The outcome of a held meeting ------------------------------------------------------------------------

STALE_OUTCOME = _l(
    "Someone else changed this SIP while you were working: the meeting may already be recorded. What you "
    "entered is kept below; check the SIP, and send it again if this outcome is still to be recorded."
)
# Said after why the meeting chosen can no longer be recorded (services.closed_refusal).
KEPT_OUTCOME = _l("What you entered is kept below.")
# Refusals the service names by data key that the page shows beside a group of fields, not one field.
OUTCOME_GROUPS = ("attendance", "carer_support", "decisions")


@dataclass
class OutcomePage:
    """What the outcome page is built from, read once per request."""

    case: SipCase
    meetings: list[Meeting]
    labels: dict[int, str]
    planned: list[Meeting]
    read: Invitees
    chosen: Meeting | None


def _outcome_page(case, *, chosen_id: int | None, step_now: datetime) -> OutcomePage:
    """The page's reads; the participants' read holds who sees the SIP at step_now (the rows offered), and on
    a post it is the step's own first read too."""
    session = get_session()
    meetings = case_meetings_in_order(session, case)
    planned = planned_meetings(meetings)
    chosen = next((m for m in planned if m.id == chosen_id), planned[0] if planned else None)
    read = invitees(session, case, step_now=step_now)
    return OutcomePage(case, meetings, meeting_labels(meetings), planned, read, chosen)


def _posted_ids(formdata, prefix: str) -> set[int]:
    """The participant ids of the per-participant fields (prefix and id) a posted form carries."""
    ids = set()
    for name in formdata:
        if name.startswith(prefix) and (number := row_id(name.removeprefix(prefix))) is not None:
            ids.add(number)
    return ids


def _posted_owners(formdata) -> set[str]:
    """The owners the posted form's decision rows chose."""
    return {
        value
        for name, value in formdata.items()
        if name.startswith("decisions-") and name.endswith("-owner") and value
    }


def _outcome_form(page: OutcomePage, *, formdata=None) -> OutcomeForm:
    # The page and its post offer the same rows (attendance_choices): the chosen meeting's invitations say
    # who was withdrawn, and they prefill the page's attendance from the answers. A post reads them only
    # when the meeting's SEQUENCE says one may have been withdrawn (every withdrawal raises it), and keeps
    # a row the form carries (a page read before the withdrawal), so the step's refusal stands beside it.
    invitations = []
    if formdata is None or (page.chosen is not None and page.chosen.sequence):
        invitations = meeting_invitations(get_session(), page.chosen)
    posted = _posted_ids(formdata, ATTENDANCE_PREFIX) if formdata is not None else set()
    attendees = attendance_choices(page.read, withdrawn_from(invitations), posted=posted)
    labels = page.read.labels
    form_class = OutcomeForm.for_case(
        [(p.id, labels[p.id]) for p in attendees],
        [(p.id, labels[p.id]) for p in attendees if p.kind == CARER_KIND],
    )
    if formdata is None:
        form = form_class(formdata=None, version=page.case.version)
    else:
        # The version is the one the page was read at, never filled in from the case.
        form = form_class(formdata=formdata)
    form.meeting_id.choices = choices(
        (m.id, f"{page.labels[m.id]}, {_local(m.starts_at)}") for m in page.planned
    )
    if not page.planned:
        form.meeting_id.choices = choices([(0, _("A meeting not booked in sipflow"))])
    owners = owner_choices(page.read, chosen=_posted_owners(formdata) if formdata is not None else ())
    form.set_owners(owners)
    if formdata is None:
        _prefill(form, page, invitations)
    else:
        # Taken off the SIP since the page was read: what was chosen for them is named, not dropped silently.
        removed = {row[0].id: labels[row[0].id] for row in page.read.rows if not row[0].active}
        if removed:
            form.forget_removed(
                formdata,
                removed,
                {key for key, _label in owners},
                dict(owner_choices(page.read, removed=True)),
            )
    return form


def _local(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _prefill(form: OutcomeForm, page: OutcomePage, invitations: list[Invitation]) -> None:
    """The booked meeting chosen, its start as the held time, attendance from the invitation answers
    (invitations: the chosen meeting's)."""
    now = now_utc()
    meeting = page.chosen
    form.meeting_id.data = meeting.id if meeting is not None else 0
    held = meeting.starts_at if meeting is not None and meeting.starts_at <= now else now
    form.held_at.data = to_local(held).replace(second=0, microsecond=0, tzinfo=None)
    for invitation in invitations:
        if not invitation.active:
            continue
        mode = attendance_from_answer(invitation.partstat, invitation.answer_mode)
        name = f"{ATTENDANCE_PREFIX}{invitation.participant_id}"
        if mode is not None and name in form:
            form[name].data = mode


def _attach_outcome(
    form: OutcomeForm, error: UserError, top: list, groups: dict, *, unmarked_only: bool = False
) -> None:
    """Each refusal beside its field: a decision row's field, a group (attendance ...), a field or the top.

    unmarked_only: the service's refusals of a form its own checks refused already (web.attach_error's): a
    field, or a group with a field, those marked keeps its own error alone, and none goes to the top.
    """
    for refusal in each_refusal(error):
        _attach_one_outcome(form, refusal, top, groups, unmarked_only=unmarked_only)


def _group_marked(form: OutcomeForm, group: str) -> bool:
    """A field of the group (attendance, carer_support, decisions) shows a refusal of the form's own."""
    if group == "decisions":
        return any(sub.errors for entry in form.decisions for sub in entry.form)
    prefix = ATTENDANCE_PREFIX if group == "attendance" else CARER_PREFIX
    return any(f.errors for f in form.by_prefix(prefix))


def _attach_one_outcome(
    form: OutcomeForm, error: UserError, top: list, groups: dict, *, unmarked_only: bool = False
) -> None:
    name = error.field or ""
    if name.startswith("decisions-"):
        number, _, sub = name.removeprefix("decisions-").partition("-")
        entries = form.decisions.entries
        if number.isdigit() and int(number) < len(entries) and sub in entries[int(number)].form:
            subfield = entries[int(number)].form[sub]
            if not (unmarked_only and subfield.errors):
                subfield.errors = [*subfield.errors, error.message]
            return
    if name in OUTCOME_GROUPS:
        if not (unmarked_only and _group_marked(form, name)):
            groups.setdefault(name, []).append(error.message)
        return
    if name.startswith(ATTENDANCE_FIELD):
        # One participant's attendance: its own choice on the page.
        name = ATTENDANCE_PREFIX + name.removeprefix(ATTENDANCE_FIELD)
        if name in form:
            if not (unmarked_only and form[name].errors):
                form[name].errors = [*form[name].errors, error.message]
            return
    attach_error(form, error, top, unmarked_only=unmarked_only)


def _render_outcome(
    page: OutcomePage, form: OutcomeForm, *, status=200, errors=None, groups=None, consent_url=None
):
    registry = workflow_registry()
    workflow = registry.get(page.case.workflow_name, page.case.workflow_version)
    transition = outcome_transition(workflow, page.case.state)
    modes = [f.data for f in form.by_prefix(ATTENDANCE_PREFIX) if f.data]
    form.mark_removed_owners()
    return (
        render_template(
            "meetings/outcome.html",
            case=page.case,
            form=form,
            page=page,
            step_label=transition_label(transition, current_locale()) if transition else None,
            classification=classify(modes),
            marked=bool(groups) or _marked(form),
            attendance_fields=form.by_prefix(ATTENDANCE_PREFIX),
            carer_fields=form.by_prefix(CARER_PREFIX),
            errors=errors or [],
            groups=groups or {},
            # The language switch's address: the meeting chosen from several planned stays chosen (the form
            # posts to the page itself, its choice in meeting_id).
            page_url=url_for(
                "meetings.outcome",
                uid=page.case.uid,
                meeting=page.chosen.id if page.chosen is not None and len(page.planned) > 1 else None,
            ),
            further_consent_url=consent_url,
        ),
        status,
    )


def _marked(form: OutcomeForm) -> bool:
    """True when a field or a decision row's field shows a refusal (the page then says so at the top)."""
    for f in form:
        if f.name == "decisions":
            if any(sub.errors for entry in f for sub in entry.form):
                return True
        elif f.errors:
            return True
    return False


def _chosen_id() -> int | None:
    """The meeting the query string names; a bad id chooses none (the first still planned is shown)."""
    return row_id(request.args.get("meeting"))


@bp.route("/cases/<uid>/meetings/outcome", methods=["GET", "POST"])
@login_required
def outcome(uid: str):
    """Record a held meeting: which meeting, attendance, classification, decisions or no change."""
    session, registry, user = get_session(), workflow_registry(), current_actor()
    case = case_or_404(uid, audit.MEETING_VIEW if request.method == "GET" else audit.CASE_TRANSITION)
    transition = outcome_transition(registry.get(case.workflow_name, case.workflow_version), case.state)
    if request.method == "GET":
        if transition is None:
            return _outcome_not_now(case)
        page = _outcome_page(case, chosen_id=_chosen_id(), step_now=now_utc())
        _may_record_or_403(session, registry, user, case, transition, _active(page))
        return _render_outcome(page, _outcome_form(page))
    # The meeting the form chose: its rows are the ones the page offered.
    page = _outcome_page(case, chosen_id=row_id(request.form.get("meeting_id")), step_now=now_utc())
    form = _outcome_form(page, formdata=request.form)
    if "add_rows" in request.form:
        # "Add more rows" without JavaScript: the same page with what was typed and more empty rows.
        form.add_rows()
        return _render_outcome(page, form)
    top: list = []
    groups: dict = {}
    # The meeting the form chose, cancelled or recorded by someone else since the page was read: the page
    # says which, rather than that the SIP changed or that the meeting is no choice.
    closed = _closed_choice(page)
    # A form from before someone else's change is stale whatever else it holds; what was typed stays.
    if form.version.validate(form) and form.version.data is not None and form.version.data != case.version:
        done = _outcome_just_taken(page, user)
        if done is not None:
            # The user's own second click on the outcome just recorded: it is done, not refused.
            return already_done(done, case.uid)
        show_current_version(form, case.version)
        errors = [closed.message, KEPT_OUTCOME] if closed is not None else [STALE_OUTCOME]
        return _render_outcome(page, form, status=409, errors=errors)
    if transition is None:
        workflow = registry.get(case.workflow_name, case.workflow_version)
        state = workflow.state_label(case.state, current_locale())
        return _render_outcome(
            page,
            form,
            status=409,
            errors=[
                _("A held meeting cannot be recorded in the SIP's current state (%(state)s).", state=state)
            ],
        )
    _may_record_or_403(session, registry, user, case, transition, _active(page))
    if closed is not None:
        return _render_outcome(page, form, status=409, errors=[closed.message, KEPT_OUTCOME])
    if not form.validate():
        # What the step's input refuses besides, marked too (each field once): every field's refusal on the
        # first send, not one round at a time. It is asked with the fields that parsed and writes nothing.
        refused = case_services.step_input_refusal(
            session,
            registry,
            user,
            case,
            transition.trigger,
            form.to_data,
            now=now_utc(),
            reads=page.read.step_reads,
        )
        if refused is not None:
            _attach_outcome(form, refused, top, groups, unmarked_only=True)
        return _render_outcome(
            page,
            form,
            status=400,
            groups=groups,
            consent_url=further_consent_url(case, refused),
        )
    data = form.to_data()
    try:
        with unit_of_work(session):
            case_services.fire_transition(
                session,
                registry,
                user,
                case,
                transition.trigger,
                expected_version=form.version.data,
                now=now_utc(),
                data=data,
                reads=page.read.step_reads,
            )
    except StaleCase:
        session.refresh(case)
        page = _outcome_page(case, chosen_id=page.chosen.id if page.chosen else None, step_now=now_utc())
        done = _outcome_just_taken(page, user)
        if done is not None:
            # The same form sent twice at once (a double click): the first click recorded it.
            return already_done(done, case.uid)
        show_current_version(form, case.version)
        return _render_outcome(page, form, status=409, errors=[STALE_OUTCOME])
    except (services.StaleMeeting, services.MeetingClosed) as error:
        # The meeting moved, cancelled or recorded by someone else meanwhile: the page as it is now, what was
        # typed kept (a stale meeting's message says so already).
        page = _outcome_page(case, chosen_id=None, step_now=now_utc())
        errors = (
            [error.message] if isinstance(error, services.StaleMeeting) else [error.message, KEPT_OUTCOME]
        )
        return _render_outcome(page, form, status=409, errors=errors)
    except UserError as error:
        _attach_outcome(form, error, top, groups)
        return _render_outcome(
            page,
            form,
            status=error.status,
            errors=top,
            groups=groups,
            consent_url=further_consent_url(case, error),
        )
    step = transition_label(transition, current_locale())
    # "No change" (never beside decisions) carries nothing into the plan: saying its decisions did misleads.
    if data["no_change_reason"]:
        flash(_("%(step)s: saved.", step=step), "success")
    else:
        flash(_("%(step)s: saved. The decisions are in the plan as efforts.", step=step), "success")
    return redirect(url_for("cases.detail", uid=case.uid), code=303)


def _closed_choice(page: OutcomePage):
    """Why the meeting the posted form chose can no longer be recorded (services.MeetingClosed: cancelled
    or held since the page was read), from the page's read of the case's meetings; None if it can be."""
    chosen = row_id(request.form.get("meeting_id"))
    meeting = next((m for m in page.meetings if m.id == chosen), None)
    return services.closed_refusal(meeting) if meeting is not None else None


def _outcome_not_now(case):
    """The outcome page when no held meeting can be recorded: once one is (the SIP went on from it), the
    last meeting held, told so; before any, not found."""
    held = [m for m in case_meetings_in_order(get_session(), case) if m.status == HELD]
    if not held:
        abort(404)
    flash(_("The meeting's outcome is already recorded."), "info")
    return redirect(url_for("meetings.detail", uid=case.uid, meeting_id=held[-1].id), code=303)


def _outcome_just_taken(page: OutcomePage, user):
    """The outcome step the user took a moment ago, when the form posted (stale by it) is what it recorded.

    Read from a form of its own, its meeting chosen among the held ones too (the one it recorded is no
    longer planned); one its checks refuse is no second send.
    """
    form = _outcome_form(page, formdata=request.form)
    held = [(m.id, page.labels[m.id]) for m in page.meetings if m.status == HELD]
    form.meeting_id.choices = [*form.meeting_id.choices, *choices(held)]
    if not form.validate():
        return None
    return services.outcome_just_taken(
        get_session(), workflow_registry(), page.case, user, form.to_data(), now=now_utc()
    )


def _may_record(session, case, transition, participants) -> bool:
    try:
        case_services.check_may_fire(
            session, workflow_registry(), current_actor(), case, transition.trigger, participants=participants
        )
    except UserError:
        return False
    return True


def _may_record_or_403(session, registry, user, case, transition, participants) -> None:
    """403 unless the user's party may take the step (the case page offers it only to them).

    participants: the case's active participants, as the page read them.
    """
    try:
        case_services.check_may_fire(
            session, registry, user, case, transition.trigger, participants=participants
        )
    except UserError:
        abort(403)


def _active(page: OutcomePage) -> list:
    """The case's active participants among the rows the page read."""
    return [row[0] for row in page.read.rows if row[0].active]
