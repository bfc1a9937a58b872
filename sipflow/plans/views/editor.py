"""The plan editor: the working plan, what is still missing, and huvudansvar hand-over."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from wtforms import SelectChoice

from sipflow.cases import services as case_services
from sipflow.cases.days_off import DayOffUnconfirmed
from sipflow.cases.errors import GuardFailed, StaleCase
from sipflow.cases.forms import choices, show_current_version, typed_values
from sipflow.cases.queries import participant_rows
from sipflow.cases.services import StepReads
from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.errors import UserError
from sipflow.forms import SummaryItem
from sipflow.people.labels import unit_label
from sipflow.people.models import Person
from sipflow.plans import editor, responsibility
from sipflow.plans.blueprint import bp
from sipflow.plans.forms import EstablishForm, HandOverForm, PlanEditorForm, note_field
from sipflow.plans.merge import PLAN_FIELDS
from sipflow.plans.models import Plan
from sipflow.plans.services import find_plan, person_and_last_version_number
from sipflow.security import audit
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    STALE_FORM,
    already_done,
    attach_error,
    case_or_404,
    current_actor,
    current_locale,
    each_refusal,
    further_consent_url,
    register_case_page_part,
    transition_label,
    workflow_registry,
)
from sipflow.workflow.definition import HUVUDANSVARIG, INITIATOR, PARTICIPANT

SIP_ENDED = _l(
    "The SIP was closed while you were working, so the plan can no longer be changed. Nothing was saved."
)

# The plan's own fields (not rows, not the checkbox, which a browser leaves out when unticked).
KEPT_WHEN_NOT_SENT = tuple(name for name in PLAN_FIELDS if name != "no_other_measures")


def _workflow(case):
    return workflow_registry().get(case.workflow_name, case.workflow_version)


def may_edit(session, case, actor, participants=None) -> bool:
    """The actor's organisation may edit the plan: it holds a party role of the workflow's plan step.

    The parties of the step whose form is the plan's (from any state: the draft is written before the step
    is available), as the workflow file says; initiator and huvudansvarig in the shipped files.
    participants: the case's active participants when the caller read them already.
    """
    return not _workflow(case).is_final(case.state) and _writes_plan(session, case, actor, participants)


def _writes_plan(session, case, actor, participants=None) -> bool:
    """The actor's organisation holds a party role of the plan step, whatever the case's state."""
    organisation_id = case_services.actor_organisation_id(session, actor)
    roles = case_services.party_roles(session, case, organisation_id, participants)
    return editor.writes_plan(_workflow(case), roles)


def _who_writes(workflow) -> str:
    """What the page tells a reader of the plan about who writes it: the parties of the workflow's plan
    step, as its file names them (or that the workflow has no such step)."""
    parties = editor.plan_parties(workflow)
    if parties is None:
        return _("This SIP's workflow has no step that establishes a plan, so no plan is written here.")
    if PARTICIPANT in parties:
        return _("Your organisation may read the plan; the organisations taking part in the SIP write it.")
    if parties == {INITIATOR, HUVUDANSVARIG}:
        return _(
            "Your organisation may read the plan; the initiating organisation and the one with overall "
            "responsibility write it."
        )
    if parties == {INITIATOR}:
        return _("Your organisation may read the plan; the initiating organisation writes it.")
    if parties == {HUVUDANSVARIG}:
        return _(
            "Your organisation may read the plan; the organisation with overall responsibility writes it."
        )
    return _("Your organisation may read the plan; this SIP's workflow lets no organisation write it.")


def _ended_meanwhile(session, case, actor) -> bool:
    """The actor could write the plan but the SIP has ended since (closed in another tab, by a colleague)."""
    return _workflow(case).is_final(case.state) and _writes_plan(session, case, actor)


def _case_page_part(detail, actor, *, allowed: list) -> dict:
    """The case page's plan link and the huvudansvar hand-overs, merged into the timeline by time."""
    session, case = get_session(), detail.case
    # A hand-over always leaves a holder: without one there is nothing to read.
    held = any(p.role == HUVUDANSVARIG for p in detail.participants)
    transfers = responsibility.transfers(session, case) if held else []
    # Each hand-over on the timeline's page of its time.
    transfers = [t for t in transfers if detail.on_timeline_page(t.transfer.at)]
    timeline = None
    if transfers:
        timeline = sorted(
            [*detail.timeline, *transfers],
            key=lambda e: e.transfer.at if isinstance(e, responsibility.TransferView) else e.log.at,
        )
    prefill = {}
    if any(t.form == "preparation" for t in allowed):
        # The preparation form shows the person's own goals the plan holds, so sending it loses none.
        own = [g["text"] for g in editor.plan_data(session, case, find_plan(session, case))["own_goals"]]
        prefill["preparation"] = {"own_goals": "\n".join(own)}
    return {
        "plan_editor_url": url_for("plans.editor", uid=case.uid),
        "plan_timeline": timeline,
        "transition_prefill": prefill,
    }


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))


def _field_by_id(form, field_id: str):
    """The field (possibly inside a row) whose id is field_id, or None."""
    for field in form:
        if field.id == field_id:
            return field
        if field.type == "FieldList":
            for entry in field:
                if field_id.startswith(entry.id + "-"):
                    return next((sub for sub in entry.form if sub.id == field_id), None)
    return None


def _attach_all(form, error: UserError, top: list, effort_rows: list[str], *, unmarked_only=False) -> None:
    """Show each refusal error holds at its field (unmarked_only: only at a field not marked already)."""
    for refusal in each_refusal(error):
        _attach(form, refusal, top, effort_rows, unmarked_only=unmarked_only)
        if isinstance(refusal, DayOffUnconfirmed):
            # The tick that confirms the day comes with the warning; what was typed stays on the page.
            form.warn_day_off(refusal.day)


def _summary_line(error: UserError):
    """A refusal of no single input, as the error summary says it: a condition of the plan step names the
    part of the plan where it is met (the missing list's link, `editor.Missing.field`), so the summary's line
    leads there too, not only says it; any other is said as it is."""
    if isinstance(error, GuardFailed) and error.field:
        return SummaryItem(error.message, error.field)
    return error.message


def _mark_effort_gaps(form: PlanEditorForm) -> None:
    """A step refused because an effort lacks its owner: each effort the page holds says at its own field
    what it lacks, as an error the summary lists and leads to (the refusal names the rule, not the row)."""
    for entry in form.efforts:
        row = entry.form
        if row.remove.data or row.blank():
            continue
        for name in editor.effort_gaps(row.organisation_id.data, row.responsible.data, row.status.data):
            if not row[name].errors:
                row[name].errors = [*row[name].errors, editor.EFFORT_GAPS[name]]
    form.efforts.errors = [entry.errors for entry in form.efforts]


def _attach(form, error: UserError, top: list, effort_rows: list[str], *, unmarked_only=False) -> None:
    """Show a refusal of the service at the form's field: the service's efforts-N-x is a row of one list."""
    if isinstance(error, GuardFailed) and error.field == form.efforts.id:
        _mark_effort_gaps(form)
    name = error.field or ""
    if name.startswith("efforts-"):
        index, _, rest = name.removeprefix("efforts-").partition("-")
        if index.isdigit() and int(index) < len(effort_rows):
            name = f"{effort_rows[int(index)]}-{rest}"
    field = _field_by_id(form, name) if name else None
    # A refusal of a whole list (too many goals or efforts) has no input of its own to stand at.
    if field is not None and field.type != "FieldList":
        if field.errors and unmarked_only:
            return  # the form's own check marked it already (a date that is none, a text too long)
        field.errors = [*field.errors, error.message]
        # A row's list keeps the errors validate() saw: add this one, so the page's "check the fields" banner
        # (form.errors) shows for a row's field as for a plan field.
        for entries in form:
            if entries.type == "FieldList" and name.startswith(entries.id + "-"):
                entries.errors = [entry.errors for entry in entries]
    else:
        top.append(_summary_line(error))


def _contacts(form: PlanEditorForm, parts, stored: list[dict], seeing: frozenset[int]) -> None:
    """One contact row per organisation taking part: as stored, else pre-filled from its participant.

    An organisation the consent in force does not cover (seeing: those it does) gets no new row: the plan
    names no contact of it (editor.check_plan_data refuses one); a stored one stays.
    """
    by_organisation = {c["organisation_id"]: c for c in stored}
    for part in parts:
        if part.organisation_id not in by_organisation and part.organisation_id not in seeing:
            continue
        item = by_organisation.get(part.organisation_id) or {
            "organisation_id": part.organisation_id,
            "name": part.contact_name or "",
            "phone": part.contact_phone or "",
            "email": part.contact_email or "",
        }
        form.contacts.append_entry(item)


@dataclass(frozen=True)
class PageReads:
    """What the editor page shows or asks in several places, read once per request.

    The organisations taking part, the case's active participants with the consents in force (who may edit,
    establish and hand over; the guards' own first read), the working plan and the person. Held here, the
    person is also what session.get finds again (the identity map holds objects only weakly).
    """

    parts: list[editor.OrganisationPart]
    step_reads: StepReads
    plan: Plan | None
    person: Person
    # The number of the plan's version in force (0: none established yet).
    last_version: int


def _page_reads(session, case) -> PageReads:
    rows, step_reads = participant_rows(session, case, step_now=now_utc())
    # The person with the newest version's number: one statement.
    person, last_version = person_and_last_version_number(session, case)
    return PageReads(
        editor.organisation_parts(session, rows),
        step_reads,
        find_plan(session, case),
        person,
        last_version,
    )


def _version_note(workflow, case, last_version: int) -> str | None:
    """While a version is in force: that what the editor saves becomes the next version only when the plan
    is established again, by the step the workflow file names for it (and the step before it, if any)."""
    if not last_version:
        return None
    found = editor.next_plan_step(workflow, case.state)
    if found is None:
        return _(
            "Version %(number)d is in force. The workflow has no step that establishes the plan again, so "
            "what you save here becomes no new version.",
            number=last_version,
        )
    step, before = found
    locale = current_locale()
    if not before:
        return _(
            "Version %(number)d is in force. What you save here becomes version %(next)d when the plan is "
            "established again with “%(step)s”.",
            number=last_version,
            next=last_version + 1,
            step=transition_label(step, locale),
        )
    return _(
        "Version %(number)d is in force. What you save here becomes version %(next)d when the plan is "
        "established again with “%(step)s” (after “%(before)s”).",
        number=last_version,
        next=last_version + 1,
        step=transition_label(step, locale),
        before=transition_label(before[-1], locale),
    )


def _build_form(session, case, reads: PageReads, *, formdata=None) -> PlanEditorForm:
    if formdata is not None:
        form = PlanEditorForm(formdata=formdata)
    else:
        data = editor.plan_data(session, case, reads.plan)
        form = PlanEditorForm(
            formdata=None,
            row_version=reads.plan.row_version if reads.plan else 0,
            as_read=editor.page_digest(data),
            versions_seen=reads.last_version,
        )
        configure(form, reads)
        form.fill(data)
        _contacts(form, reads.parts, data["contacts"], reads.step_reads.seeing)
        form.add_blank_rows()
        configure(form, reads)
        return form
    configure(form, reads)
    return form


def configure(form: PlanEditorForm, reads: PageReads) -> None:
    """The organisation and unit choices of the case: an effort is offered the organisations the consent
    in force covers (editor.check_plan_data refuses another as a new owner); one it names already stays."""
    parts = reads.parts
    organisations = [(p.organisation_id, p.name) for p in parts]
    units = [
        (unit_id, unit_label(p.name, name), p.organisation_id) for p in parts for unit_id, name in p.units
    ]
    # A unit an effort names that no longer takes part (read only when one does): kept as that row's choice.
    taking_part = {unit_id for p in parts for unit_id, _ in p.units}
    named = {entry.form.unit_id.data for entry in form.efforts} - taking_part - {None}
    kept = [
        (unit_id, _("%(unit)s (no longer taking part)", unit=unit_label(organisation, name)), organisation_id)
        for unit_id, name, organisation, organisation_id in editor.stored_units_left(
            get_session(), reads.plan, {u for u in named if isinstance(u, int)}
        )
    ]
    form.configure(
        organisations, units, child=_child(reads), offered=reads.step_reads.seeing, kept_units=kept
    )


def _render(
    case,
    form: PlanEditorForm,
    *,
    status: int = 200,
    errors=None,
    hand_over: HandOverForm | None = None,
    reads: PageReads | None = None,
    consent_url: str | None = None,
    kept_input=(),
    editable: bool | None = None,
):
    """The editor page; reads: what the request read already, unless it wrote since (then read afresh);
    editable: whether the user may edit the plan, when the request asked already."""
    session, actor, now = get_session(), current_actor(), now_utc()
    workflow = _workflow(case)
    reads = reads or _page_reads(session, case)
    parts, plan, participants = reads.parts, reads.plan, reads.step_reads.participants
    transition, missing = editor.missing_items(
        session, workflow, case, actor, now=now, plan=plan, reads=reads.step_reads
    )
    may_establish = False
    if transition is not None:
        try:
            case_services.check_may_fire(
                session, workflow_registry(), actor, case, transition.trigger, participants=participants
            )
            may_establish = True
        except UserError:
            pass
    if editable is None:
        editable = may_edit(session, case, actor, participants)
    may_hand_over = editable and responsibility.may_give_huvudansvar(session, case, actor, participants)
    establish = EstablishForm(
        formdata=None,
        prefix="establish",
        version=case.version,
        plan_row_version=plan.row_version if plan else 0,
    )
    if hand_over is None and may_hand_over:
        hand_over = _hand_over_form(case, reads)
    return (
        render_template(
            "plans/editor_page.html",
            case=case,
            person=reads.person,
            form=form,
            errors=errors or [],
            parts={p.organisation_id: p for p in parts},
            part_list=parts,
            holder=next((p for p in parts if p.huvudansvarig), None),
            transition=transition,
            transition_label=transition_label(transition, current_locale()) if transition else None,
            missing=missing,
            may_establish=may_establish,
            may_edit=editable,
            version_note=_version_note(workflow, case, reads.last_version) if editable else None,
            may_hand_over=may_hand_over,
            # An ended SIP's plan is read-only for everyone: the page says so instead of who writes it.
            ended=workflow.is_final(case.state),
            who_writes=_who_writes(workflow),
            establish_form=establish,
            hand_over_form=hand_over,
            transfers=responsibility.transfers(session, case),
            decision_uids=editor.decision_effort_uids(session, plan),
            further_consent_url=consent_url,
            kept_input=list(kept_input),
        ),
        status,
    )


def _child(reads: PageReads) -> bool:
    return editor.is_child(reads.person, editor.local_today(now_utc()))


@bp.get("/cases/<uid>/plan", endpoint="editor")
@login_required
def editor_page(uid: str):
    """The working plan: its editor (for the parties who may edit it) and what is missing to establish it."""
    case = case_or_404(uid, audit.PLAN_VIEW)
    session = get_session()
    reads = _page_reads(session, case)
    form = _build_form(session, case, reads)
    editable = may_edit(session, case, current_actor(), reads.step_reads.participants)
    if editable:
        # What an effort lacks is for whoever can fill it in: a reader sees the plan, not the editor's hints.
        _note_effort_gaps(form)
    return _render(case, form, reads=reads, editable=editable)


def _note_effort_gaps(form: PlanEditorForm) -> None:
    """On the plan as saved: say at each effort's own fields what it lacks to be owned.

    A hint under the field's label (its description, which the field's aria-describedby names), not an
    error: nobody has sent anything yet, so no field is marked invalid and the page has no error summary.
    The missing list above the plan says the same rule for the whole plan."""
    for entry in form.efforts:
        row = entry.form
        if not row.uid.data:  # a blank row: nothing saved to mark
            continue
        for field in editor.effort_gaps(row.organisation_id.data, row.responsible.data, row.status.data):
            note_field(row[field], editor.EFFORT_GAPS[field])


def _lost_meanwhile(session, case, actor):
    """Why the actor's organisation no longer writes the plan it wrote when the page was read, or None: the
    SIP ended meanwhile, or the organisation handed over the huvudansvar that let it write (the message
    names the organisation holding it now)."""
    if _ended_meanwhile(session, case, actor):
        return SIP_ENDED
    if HUVUDANSVARIG not in (editor.plan_parties(_workflow(case)) or ()):
        return None
    organisation_id = case_services.actor_organisation_id(session, actor)
    holder = responsibility.holder_since_given_up(session, case, organisation_id)
    if holder is None:
        return None
    return _l(
        "Overall responsibility moved to %(organisation)s while you were working, so your organisation can "
        "no longer change the plan. Nothing was saved.",
        organisation=holder,
    )


def _refuse_ended(session, case, actor, *, typed=None, hand_over=None):
    """The refusal of a change to the plan by one who may not make it: 403, but for an organisation that
    wrote the plan when the page was read (_lost_meanwhile: the SIP ended, huvudansvar moved), the page as
    it is now with the reason, what was typed shown to copy (409)."""
    lost = _lost_meanwhile(session, case, actor)
    if lost is None:
        abort(403)
    reads = _page_reads(session, case)
    kept = []
    if typed is not None:
        configure(typed, reads)
        kept = typed.kept_input()
    if hand_over is not None:
        kept += [(_("Hand over overall responsibility"), typed_values(hand_over))]
    return _render(
        case,
        _build_form(session, case, reads),
        status=409,
        errors=[lost],
        reads=reads,
        kept_input=[(title, values) for title, values in kept if values],
    )


def _typed_plan(session, case, reads: PageReads) -> tuple[PlanEditorForm, bool, dict, list[str]]:
    """The editor's form as the request sent it: the form, whether its own checks pass, the service's data
    and each effort's form row. A field the request did not carry at all keeps what is stored (an empty one
    is a wish to clear it)."""
    form = _build_form(session, case, reads, formdata=request.form)
    valid = form.validate()
    stored = editor.plan_fields(case, reads.plan)
    for name in KEPT_WHEN_NOT_SENT:
        if name in form and name not in request.form:
            form[name].data = stored[name]
    data, effort_rows = form.to_data()
    return form, valid, data, effort_rows


def _refuse_typed(
    session,
    case,
    form: PlanEditorForm,
    reads: PageReads,
    data: dict,
    effort_rows: list[str],
    *,
    hand_over=None,
):
    """The page again for a plan its form's own checks refuse (400), with what the service refuses besides
    marked too (each field once): every field's refusal on the first send, not one round at a time. It writes
    nothing."""
    top: list = []
    refused = editor.plan_refusals(
        session, case, reads.plan, data, now=now_utc(), seeing=reads.step_reads.seeing
    )
    if refused is not None:
        _attach_all(form, refused, top, effort_rows, unmarked_only=True)
    consent_url = further_consent_url(case, refused) if refused is not None else None
    return _render(
        case, form, status=400, errors=top, reads=reads, consent_url=consent_url, hand_over=hand_over
    )


def _refuse_written(
    session, case, form: PlanEditorForm, error: UserError, effort_rows: list[str], *, top=None, hand_over=None
):
    """The page again for a save (or a save and establish) the service refused, the typed text kept and each
    refusal at its field; a conflict's form carries the plan's row version saved meanwhile, so sending it
    again is a deliberate choice."""
    top = list(top or [])
    if isinstance(error, editor.PlanConflict):
        plan = find_plan(session, case)
        form.row_version.data = plan.row_version if plan else 0
        form.row_version.raw_data = [str(form.row_version.data)]
    _attach_all(form, error, top, effort_rows)
    consent_url = further_consent_url(case, error)
    return _render(case, form, status=error.status, errors=top, consent_url=consent_url, hand_over=hand_over)


@bp.post("/cases/<uid>/plan")
@login_required
def save(uid: str):
    """Save the working plan; "more rows" shows the form again with empty rows, saving nothing."""
    case = case_or_404(uid, audit.PLAN_CHANGE)
    session, actor = get_session(), current_actor()
    if not may_edit(session, case, actor):
        return _refuse_ended(session, case, actor, typed=PlanEditorForm(formdata=request.form))
    reads = _page_reads(session, case)
    if request.form.get("action") == "add_rows":
        form = _build_form(session, case, reads, formdata=request.form)
        form.add_blank_rows(asked=True)
        configure(form, reads)
        return _render(case, form, reads=reads)
    form, valid, data, effort_rows = _typed_plan(session, case, reads)
    if not valid:
        return _refuse_typed(session, case, form, reads, data, effort_rows)
    try:
        with unit_of_work(session):
            editor.save_plan(
                session,
                case,
                actor,
                data,
                expected_row_version=form.row_version.data,
                now=now_utc(),
                seeing=reads.step_reads.seeing,
                as_read=form.as_read.data,
            )
    except editor.PlanMerged as merged:
        # Someone else saved meanwhile: their changes taken in, this user's kept, each clash at its field.
        return _render(case, _merged_form(reads, form, merged), status=merged.status, errors=[merged.message])
    except UserError as error:
        return _refuse_written(session, case, form, error, effort_rows)
    # The rows removed are gone from the page: the message says so, as it says the save (a screen reader reads
    # it, focused; no goal's or effort's words in it, the message travels in the session cookie).
    removed = form.removed_rows()
    if removed == 1:
        flash(_("The plan is saved. One row was removed."), "success")
    elif removed:
        flash(_("The plan is saved. %(count)d rows were removed.", count=removed), "success")
    else:
        flash(_("The plan is saved."), "success")
    established = editor.established_meanwhile(form.versions_seen.data, reads.last_version)
    if established is not None:
        # Someone established the plan while this user worked: saved, but not in that version.
        flash(
            _(
                "Version %(number)d of the plan was established while you were working, without what you "
                "saved now: it comes into the next version.",
                number=established,
            ),
            "warning",
        )
    return redirect(url_for("plans.editor", uid=case.uid), code=303)


def _merged_form(reads: PageReads, sent: PlanEditorForm, merged: editor.PlanMerged) -> PlanEditorForm:
    """The editor's form filled with the merge of what was sent and what someone else saved meanwhile,
    carrying the version and digest saved since, so saving it again is the user's choice."""
    form = PlanEditorForm(
        formdata=None,
        row_version=merged.row_version,
        as_read=merged.as_read,
        versions_seen=sent.versions_seen.data,
    )
    configure(form, reads)
    form.fill(merged.merge.data)
    _contacts(form, reads.parts, merged.merge.data["contacts"], reads.step_reads.seeing)
    form.add_blank_rows()
    configure(form, reads)
    # A follow-up day off the user confirmed stays confirmed (the tick says for which day).
    form.confirm_day.data, form.warned_day.data = sent.confirm_day.data, sent.warned_day.data
    form.show_merge(merged.merge)
    return form


# The editor's own field that tells an establishing request sent with the editor's content (its button is
# the editor form's) from one sent without it (nothing typed to save first).
EDITOR_SENT = "row_version"


@bp.post("/cases/<uid>/plan/establish")
@login_required
def establish(uid: str):
    """Establish (or revise) the plan as the page showed it: the workflow's step whose form is the plan's.

    The page's button sends the editor's content with it: what it holds that is not stored is saved first,
    in the same unit of work (editor.save_and_establish), so the version established is what the user saw;
    a refusal of the save establishes nothing and shows each refusal at its field, the typed text kept.
    """
    case = case_or_404(uid, audit.CASE_TRANSITION)
    session, actor = get_session(), current_actor()
    with_content = EDITOR_SENT in request.form
    if not may_edit(session, case, actor):
        typed = PlanEditorForm(formdata=request.form) if with_content else None
        return _refuse_ended(session, case, actor, typed=typed)
    workflow = _workflow(case)
    transition = editor.establishing_transition(workflow, case.state)
    form = EstablishForm(formdata=request.form, prefix="establish")

    def page_form() -> PlanEditorForm:
        # The editor's own form is read only when the page is shown again (a refusal), not for a step taken;
        # sent with the request, it comes back as typed.
        reads = _page_reads(session, case)
        if with_content:
            typed = _build_form(session, case, reads, formdata=request.form)
            typed.validate()
            return typed
        return _build_form(session, case, reads)

    if transition is None:
        # The page offered the step, so it was sent from before a step taken since: the user's own a moment
        # ago (a double click) is done, not refused.
        done = editor.plan_step_just_taken(session, workflow, case, actor, now=now_utc())
        if done is not None:
            return already_done(done, case.uid)
        return _render(
            case,
            page_form(),
            status=409,
            errors=[_l("The plan cannot be established in the SIP's current state.")],
        )
    if not form.validate():
        return _render(
            case,
            page_form(),
            status=400,
            errors=[_l("The form is incomplete. Reload the page and try again.")],
        )
    if with_content:
        return _save_and_establish(session, case, actor, workflow, transition, form)
    try:
        with unit_of_work(session):
            case_services.fire_transition(
                session,
                workflow_registry(),
                actor,
                case,
                transition.trigger,
                expected_version=form.version.data,
                now=now_utc(),
                data={"plan_row_version": form.plan_row_version.data},
            )
    except UserError as error:
        done = (
            editor.plan_step_just_taken(session, workflow, case, actor, now=now_utc())
            if isinstance(error, StaleCase)
            else None
        )
        if done is not None:
            # The user's own second click: the step is done, not refused.
            return already_done(done, case.uid)
        if isinstance(error, StaleCase):
            return _render(case, page_form(), status=error.status, errors=[STALE_FORM])
        form = page_form()
        top: list = []
        _attach(form, error, top, [])
        return _render(case, form, status=error.status, errors=top)
    return _established(case, transition)


def _save_and_establish(session, case, actor, workflow, transition, establish: EstablishForm):
    """Save what the editor sent unless the plan holds it already, then establish it: one unit of work."""
    reads = _page_reads(session, case)
    form, valid, data, effort_rows = _typed_plan(session, case, reads)
    if not valid:
        return _refuse_typed(session, case, form, reads, data, effort_rows)
    try:
        with unit_of_work(session):
            editor.save_and_establish(
                session,
                workflow_registry(),
                case,
                actor,
                transition.trigger,
                data,
                expected_row_version=form.row_version.data,
                expected_version=establish.version.data,
                now=now_utc(),
                reads=reads.step_reads,
                plan=reads.plan,
                as_read=form.as_read.data,
            )
    except editor.PlanMerged as merged:
        # Someone else saved meanwhile: nothing established; their changes taken in, this user's kept.
        return _render(case, _merged_form(reads, form, merged), status=merged.status, errors=[merged.message])
    except UserError as error:
        if isinstance(error, StaleCase):
            done = editor.plan_step_just_taken(session, workflow, case, actor, now=now_utc())
            if done is not None:
                # The user's own second click: the step is done, not refused.
                return already_done(done, case.uid)
            return _refuse_written(session, case, form, StaleCase(STALE_FORM), effort_rows)
        return _refuse_written(session, case, form, error, effort_rows)
    return _established(case, transition)


def _established(case, transition):
    flash(_("%(step)s: done.", step=transition_label(transition, current_locale())), "success")
    return redirect(url_for("cases.detail", uid=case.uid), code=303)


def _hand_over_form(case, reads: PageReads, *, formdata=None) -> HandOverForm:
    # Prefixed: the page holds three forms, and ids must not repeat.
    if formdata is None:
        form = HandOverForm(formdata=None, prefix="handover", version=case.version)
    else:
        form = HandOverForm(formdata=formdata, prefix="handover")
    # Offered: the huvudmän that can see the SIP (responsibility.give_huvudansvar refuses the others).
    seeing = reads.step_reads.seeing
    form.organisation_id.choices = [SelectChoice("", _l("Choose"))] + choices(
        (p.organisation_id, p.name)
        for p in reads.parts
        if not p.huvudansvarig and p.organisation_id in seeing and responsibility.is_huvudman(p.kind)
    )
    return form


# The hand-over form's own fields: a refusal at one of them (or of no field: not allowed, a stale page) is the
# hand-over's; any other of a hand-over that sent the editor's content is a refusal of what was typed in it.
HAND_OVER_FIELDS = ("organisation_id", "reason")


def _refuses_hand_over(error: UserError) -> bool:
    return error.field in HAND_OVER_FIELDS or (
        error.field is None and not isinstance(error, editor.PlanConflict)
    )


@bp.post("/cases/<uid>/plan/huvudansvar")
@login_required
def hand_over(uid: str):
    """Give overall responsibility to an organisation taking part; a hand-over says why.

    The page's button is the editor form's, so what is typed in the plan comes with it: saved first, in the
    same unit of work (editor.save_and_hand_over), and shown again as typed when anything is refused."""
    case = case_or_404(uid, audit.PLAN_CHANGE)
    session, actor = get_session(), current_actor()
    reads = _page_reads(session, case)
    participants = reads.step_reads.participants
    with_content = EDITOR_SENT in request.form
    if not may_edit(session, case, actor, participants):
        typed = HandOverForm(formdata=request.form, prefix="handover")
        typed.organisation_id.choices = choices((p.organisation_id, p.name) for p in reads.parts)
        plan_typed = PlanEditorForm(formdata=request.form) if with_content else None
        return _refuse_ended(session, case, actor, typed=plan_typed, hand_over=typed)
    if not responsibility.may_give_huvudansvar(session, case, actor, participants):
        abort(403)
    form = _hand_over_form(case, reads, formdata=request.form)
    page_form, valid, data, effort_rows = None, True, None, []
    if with_content:
        page_form, valid, data, effort_rows = _typed_plan(session, case, reads)
    shown = _build_form(session, case, reads)
    page_form = page_form or shown
    if not form.validate():
        return _render(case, page_form, status=400, hand_over=form, reads=reads)
    if not valid:
        return _refuse_typed(session, case, page_form, reads, data, effort_rows, hand_over=form)
    saved = False
    try:
        with unit_of_work(session):
            if with_content:
                saved, transfer = editor.save_and_hand_over(
                    session,
                    case,
                    actor,
                    data,
                    organisation_id=form.organisation_id.data,
                    reason=form.reason.data,
                    expected_row_version=page_form.row_version.data,
                    expected_version=form.version.data,
                    now=now_utc(),
                    seeing=reads.step_reads.seeing,
                    plan=reads.plan,
                    as_read=page_form.as_read.data,
                    shown=shown.to_data()[0],
                )
            else:
                transfer = responsibility.give_huvudansvar(
                    session,
                    case,
                    actor,
                    organisation_id=form.organisation_id.data,
                    reason=form.reason.data,
                    expected_version=form.version.data,
                    now=now_utc(),
                )
    except editor.PlanMerged as merged:
        # Someone else saved the plan meanwhile: nothing handed over; their changes in, this user's kept.
        return _render(
            case,
            _merged_form(reads, page_form, merged),
            status=merged.status,
            errors=[merged.message],
            hand_over=form,
        )
    except UserError as error:
        if with_content and not _refuses_hand_over(error):
            # A refusal of what was typed in the plan: at its field there, nothing handed over.
            return _refuse_written(session, case, page_form, error, effort_rows, hand_over=form)
        top: list = []
        if isinstance(error, StaleCase):
            show_current_version(form, case.version)
            error = StaleCase(STALE_FORM)
        attach_error(form, error, top)
        return _render(case, page_form, status=error.status, errors=top, hand_over=form)
    if saved:
        flash(_("The plan is saved."), "success")
    flash(_("Overall responsibility is given."), "success")
    if transfer.cleared_contact:
        # No name in the message: it travels in the session cookie.
        flash(
            _(
                "The plan's contact for overall responsibility was a person at the organisation that gave it "
                "up, so it is cleared (the hand-over keeps it): name the new contact in the plan."
            ),
            "warning",
        )
    # No fragment: the section would take the focus from the messages (it takes it from a link leading
    # there), and a screen reader would skip the warning; the messages come first in the page anyway.
    return redirect(url_for("plans.editor", uid=case.uid), code=303)
