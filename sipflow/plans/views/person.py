"""The person's own view: for staff from the case, for the person through their personal link.

Staff pages (login, the case visible to them through `security.access`, every read in the access log):
- `/cases/<uid>/plan/person`: the person's active plans the user may see, one page;
- `/cases/<uid>/plan/approvals`: each version's approvals, and the form recording one (meeting or paper);
- `/cases/<uid>/plan/links`: the personal links of the case, sending one and revoking one.
Public (no login, rate-limited; no-referrer, no-store and noindex, as every response of the app):
- `/my-plan/<token>`: the person's active plans, read-only; the person approves the newest version there;
- `/my-plan/<token>/versions/<id>/pdf` and `.../pdf/large`: the PDF of a version the page shows, and the
  person's copy in large type (logged as a read through the link, as the page is).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager, nullcontext
from io import BytesIO

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import select
from wtforms import IntegerField, RadioField, SelectChoice, SelectField
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import HiddenInput

from sipflow.cases.forms import choices
from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.errors import Conflict, UserError
from sipflow.forms import PageForm, RowIdField
from sipflow.i18n import chosen_language
from sipflow.people.models import Person
from sipflow.plans import approvals, pdf, person_view, personal_links
from sipflow.plans.blueprint import bp
from sipflow.plans.forms import APPROVAL_METHOD_LABELS, EFFORT_STATUS_LABELS, optional_int
from sipflow.plans.models import PersonalLink, PlanVersion
from sipflow.plans.versions import case_page_versions
from sipflow.security import audit
from sipflow.security.limits import limiter
from sipflow.translated import lazy_gettext as _l
from sipflow.web import (
    attach_error,
    case_or_404,
    current_actor,
    current_locale,
    register_case_page_part,
    workflow_registry,
)

# The personal link needs no login; the limit keeps guessing slow.
PUBLIC_LIMIT = "30 per minute;300 per hour"
VERSIONS_SHOWN = 20
EFFORT_KIND_LABELS = {
    "effort": _l("Effort"),
    "own": _l("Done by the person or a relative"),
    "other": _l("Measure by others"),
}
UNKNOWN_VERSION = _l("Unknown version.")
LINK_REFUSALS = {
    "tampered": _l("The link is not valid. Check that you copied the whole link from the e-mail."),
    "unknown": _l("The link is not valid. Check that you copied the whole link from the e-mail."),
    "expired": _l("The link has expired. Ask %(organisation)s, which works with your SIP, for a new one."),
    "revoked": _l(
        "The link no longer works. Ask %(organisation)s, which works with your SIP, for a new one."
    ),
    "ended": _l("The SIP has ended. The link no longer works."),
    # Only a guardian's link ends so (personal_links.guardian_of_adult).
    "of_age": _l("The link no longer works: a guardian's link ends when the child turns 18."),
}
# A närstående's or guardian's link: the SIP is the person's, not theirs.
LINK_REFUSALS_NOT_THEIRS = LINK_REFUSALS | {
    "expired": _l(
        "The link has expired. Ask %(organisation)s, which works with the SIP you take part in, "
        "for a new one."
    ),
    "revoked": _l(
        "The link no longer works. Ask %(organisation)s, which works with the SIP you take part in, "
        "for a new one."
    ),
    "ended": _l("The SIP you took part in has ended. The link no longer works."),
}
# An expired or revoked link of a SIP that has ended: no new one is sent from it (personal_links.sends_links),
# so the page names whom to ask about the plan instead of promising a link.
NO_NEW_LINK_REFUSALS = {
    "expired": _l(
        "The link has expired. The SIP it was sent from has ended, so no new link is sent from it. "
        "If you have questions about the plan, contact %(organisation)s."
    ),
    "revoked": _l(
        "The link no longer works. The SIP it was sent from has ended, so no new link is sent from it. "
        "If you have questions about the plan, contact %(organisation)s."
    ),
}


# A read through a link is logged by its recipient's kind (there is no user): a närstående's shows as theirs.
LINK_VIEW_ACTIONS = {
    "person": audit.PLAN_LINK_VIEW,
    "narstaende": audit.PLAN_LINK_VIEW_NARSTAENDE,
    "guardian": audit.PLAN_LINK_VIEW_GUARDIAN,
    "representative": audit.PLAN_LINK_VIEW_REPRESENTATIVE,
}
# A version's PDF downloaded through a link is a print, logged as one, by the recipient's kind as a read is.
LINK_PRINT_ACTIONS = {
    "person": audit.PLAN_LINK_PRINT,
    "narstaende": audit.PLAN_LINK_PRINT_NARSTAENDE,
    "guardian": audit.PLAN_LINK_PRINT_GUARDIAN,
    "representative": audit.PLAN_LINK_PRINT_REPRESENTATIVE,
}


class ApprovalForm(PageForm):
    """An approval given at the meeting or on paper, recorded by staff for the newest version."""

    version_id = RowIdField(message=UNKNOWN_VERSION)
    # No party chosen ahead: one click must not record the person's approval for the organisation's.
    participant_id = SelectField(
        _l("Who approved"),
        coerce=optional_int,
        validators=[InputRequired(message=_l("Choose who approved."))],
    )
    method = RadioField(
        _l("How"),
        choices=choices((m, APPROVAL_METHOD_LABELS[m]) for m in approvals.STAFF_METHODS),
        validators=[InputRequired(message=_l("Choose how the plan was approved."))],
    )


class LinkForm(PageForm):
    """Send a personal link to one participant."""

    # No recipient chosen ahead: Enter in the form must not send the plan's link to the first one listed.
    participant_id = SelectField(
        _l("Send to"),
        coerce=optional_int,
        validators=[InputRequired(message=personal_links.CHOOSE_RECIPIENT)],
    )
    # The newest link the page showed (0: none): one sent since makes the form stale.
    last_link = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(0, 2**31 - 1)])


class RevokeForm(PageForm):
    """Revoke one link (the link is in the address)."""


class LinkApprovalForm(PageForm):
    """The person approves the version they read."""

    version_id = RowIdField(message=UNKNOWN_VERSION)


@bp.app_context_processor
def _labels() -> dict:
    return {
        "approval_method_labels": APPROVAL_METHOD_LABELS,
        "effort_kind_labels": EFFORT_KIND_LABELS,
        "effort_status_labels": EFFORT_STATUS_LABELS,
    }


# --- The case page's part ---------------------------------------------------------------------------------


def _case_page_part(detail, actor, *, allowed: list) -> dict:
    """The case page's plan sections: the version list, and the person's view, approvals of the newest
    version and personal links.

    One statement for both: the versions with the newest one's approvals (`case_page_versions`); the
    participants come from the rows the case page already read.
    """
    case = detail.case
    listed, given = case_page_versions(get_session(), case)
    version = listed[0] if listed else None
    status = []
    if version is not None:
        rows = [(row[0], row[1]) for row in detail.participant_rows]
        # Only the organisations the consent in force covers are asked.
        given_pairs = [(approval, None) for approval in given]
        status = approvals.parties_of(
            rows, given_pairs, detail.person, detail.seeing, detail.organisation_labels, version.parties
        )
    return {
        "plan_versions": listed,
        "person_plan": {
            "view_url": url_for("plans.person_staff", uid=case.uid),
            "approvals_url": url_for("plans.approvals_page", uid=case.uid),
            "links_url": url_for("plans.links_page", uid=case.uid),
            "version": version,
            "missing": [p.label for p in status if p.approval is None and not p.former],
        },
    }


bp.record_once(lambda state: register_case_page_part(state.app, _case_page_part))


# --- Staff: the person's view -----------------------------------------------------------------------------


def _log_cases(cases: list[SipCase], *, action: str, user, person=None, now) -> None:
    """One access-log row per case shown, in a short transaction of its own (as case_or_404 does)."""
    if not cases:
        return
    session = get_session()
    with unit_of_work(session):
        for case in cases:
            audit.record_access(
                session,
                user=user,
                action=action,
                purpose=audit.PURPOSE_CARE,
                case=case,
                person=person,
                now=now,
            )


@bp.get("/cases/<uid>/plan/person")
@login_required
def person_staff(uid: str):
    """The person's active plans (those the user may see) on one page, reached from the case."""
    case = case_or_404(uid, audit.PLAN_PERSON_VIEW)
    session, registry, now, user = get_session(), workflow_registry(), now_utc(), current_actor()
    person = session.get(Person, case.person_id)
    cases = person_view.active_cases(session, registry, person.id, viewer=user, now=now)
    page = person_view.person_page(session, registry, person, cases, locale=current_locale())
    # The case reached from is logged by case_or_404; every other case shown is logged here.
    _log_cases(
        [card.case for card in page.plans if card.case.id != case.id],
        action=audit.PLAN_PERSON_VIEW,
        user=user,
        now=now,
    )
    # The plans' own text is in the PDF's language: a page in another marks it so (person_plans.html).
    return render_template("plans/person_staff.html", case=case, page=page, pdf_language=pdf.LANGUAGE)


# --- Staff: approvals -------------------------------------------------------------------------------------


def _approver_choices(options: list[tuple[int, str, str]], approved: Collection[str] = ()) -> list:
    """The "who approved" choices: none chosen ahead, then the recordable parties; approved: the parties
    (approvals.party_key) whose approval of the newest version is recorded, which their choice says: the
    table below says it too, but a screen reader in the list hears only the choices."""
    return [SelectChoice("", _l("Choose"))] + choices(
        (participant_id, _("%(party)s (approved already)", party=label) if party in approved else label)
        for participant_id, label, party in options
    )


def _recordable(session, case: SipCase, user, today, version=None) -> list[tuple[int, str, str]]:
    """The parties user may record an approval for: their organisation's row first, then the person (or
    the guardians on the child's behalf), each as (participant id, label, approvals.party_key); with a
    version, only its parties (an organisation that joined after it was frozen approves the next one)."""
    rows = session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.active).order_by(Participant.id)
    ).all()
    person = session.get(Person, case.person_id)
    recorder = approvals.recording_organisation(session, case, user)
    if recorder is None:
        return []
    result, organisations = [], set()
    for participant in rows:
        if participant.kind == approvals.ORGANISATION and participant.organisation_id in organisations:
            continue
        if version is not None and not approvals.is_party_of(version, participant):
            continue
        if approvals.may_record_as(session, case, participant, recorder, today=today):
            if participant.kind == approvals.ORGANISATION:
                organisations.add(participant.organisation_id)
                label = _("Our organisation")
            elif participant.kind == approvals.PERSON:
                label = f"{person.given_name} {person.family_name}"
            else:
                label = _("%(name)s, guardian, on the child's behalf", name=participant.name or "")
            person_side = participant.kind != approvals.ORGANISATION
            result.append((person_side, participant.id, label, approvals.party_key(participant)))
    ordered = sorted(result, key=lambda r: r[0])
    return [(participant_id, label, party) for _, participant_id, label, party in ordered]


def _versions(session, case: SipCase) -> list[PlanVersion]:
    return list(
        session.exec(
            select(PlanVersion)
            .where(PlanVersion.case_id == case.id)
            .order_by(PlanVersion.number.desc())
            .limit(VERSIONS_SHOWN)
        ).all()
    )


def _render_approvals(case: SipCase, form: ApprovalForm | None = None, *, errors=(), status: int = 200):
    session, now = get_session(), now_utc()
    versions = _versions(session, case)
    newest = versions[0] if versions else None
    options = _recordable(session, case, current_actor(), to_local(now).date(), newest)
    if form is None:
        form = ApprovalForm(formdata=None, prefix="approval")
        if newest is not None:
            form.version_id.data = newest.id
    statuses = approvals.approval_statuses(session, case, versions, now=now)
    approved = {
        approvals.status_party_key(party)
        for party in (statuses[newest.id] if newest is not None else ())
        if party.approval is not None
    }
    form.participant_id.choices = _approver_choices(options, approved)
    rows = [(version, statuses[version.id]) for version in versions]
    # An ended SIP's plan is approved no more (approvals.approve_version refuses): no form to fill in vain.
    ended = workflow_registry().has_ended(case)
    return (
        render_template(
            "plans/person_approvals.html",
            case=case,
            form=form,
            newest=newest,
            versions=rows,
            errors=list(errors),
            may_record=bool(options) and newest is not None and not ended,
            ended=ended,
        ),
        status,
    )


@bp.route("/cases/<uid>/plan/approvals", methods=["GET", "POST"])
@login_required
def approvals_page(uid: str):
    """Each version's approvals (who approved, who is missing); staff record one for the newest version."""
    case = case_or_404(uid, audit.PLAN_APPROVALS)
    if request.method == "GET":
        return _render_approvals(case)
    session, now, user = get_session(), now_utc(), current_actor()
    form = ApprovalForm(prefix="approval")
    form.participant_id.choices = _approver_choices(_recordable(session, case, user, to_local(now).date()))
    if not form.validate():
        return _render_approvals(case, form, status=400)
    version = session.get(PlanVersion, form.version_id.data)
    participant = session.get(Participant, form.participant_id.data)
    if version is None or version.case_id != case.id:
        form.version_id.errors = [UNKNOWN_VERSION]
        return _render_approvals(case, form, errors=[UNKNOWN_VERSION], status=400)
    try:
        with unit_of_work(session):
            recorded = approvals.record_approval(
                session,
                case=case,
                version=version,
                participant=participant,
                method=form.method.data,
                now=now,
                recorded_by=user,
                registry=workflow_registry(),
            )
    except UserError as error:
        top: list = []
        attach_error(form, error, top)
        if error.field == "version_id":
            top.append(error.message)
            # What was chosen is kept; sending it again approves the newest version, a deliberate act.
            newest = approvals.newest_version(session, case)
            if newest is not None:
                form.version_id.data, form.version_id.raw_data = newest.id, [str(newest.id)]
        return _render_approvals(case, form, errors=top, status=error.status)
    flash(*_recorded_message(recorded, version, user))
    return redirect(url_for("plans.approvals_page", uid=uid), code=303)


def _recorded_message(recorded: approvals.Recorded, version: PlanVersion, user) -> tuple[str, str]:
    """What the user is told after recording an approval, and how (the flash category).

    Named by its version: approving a revised plan again reads as that, not as the first approval standing.
    One that stood already (recorded before, or by someone else at the same moment) says by whom and how
    when it was not this user's own."""
    number = version.number
    if recorded.new:
        return _("The approval of version %(number)d is recorded.", number=number), "success"
    approval = recorded.approval
    if approval.recorded_by_user_id == user.id:
        return _("The approval of version %(number)d was already recorded.", number=number), "success"
    how = str(APPROVAL_METHOD_LABELS.get(approval.method, approval.method))
    how = how[:1].lower() + how[1:]  # after a colon, within the sentence
    if recorded.recorded_by is None:
        message = _(
            "The approval of version %(number)d was already recorded: %(how)s. What you sent was not saved.",
            number=number,
            how=how,
        )
    else:
        message = _(
            "The approval of version %(number)d was already recorded by %(name)s: %(how)s. What you sent "
            "was not saved.",
            number=number,
            name=recorded.recorded_by,
            how=how,
        )
    return message, "info"


# --- Staff: personal links --------------------------------------------------------------------------------


def _render_links(case: SipCase, form: LinkForm | None = None, *, errors=(), status: int = 200):
    session, now = get_session(), now_utc()
    person, labels, can_receive = personal_links.recipient_choices(session, case, today=to_local(now).date())
    before = personal_links.list_cursor(request.args.get("older_than"))
    page = personal_links.case_links(session, case, now=now, known=(person, labels), before=before)
    if form is None:
        # The newest link of the SIP: the first page's list holds it, with no read of its own.
        newest = (
            max((row.link.id for row in page.rows), default=0)
            if before is None
            else personal_links.newest_link_id(session, case)
        )
        form = LinkForm(formdata=None, prefix="link", last_link=newest)
    form.participant_id.choices = _link_recipients(can_receive)
    return (
        render_template(
            "plans/person_links.html",
            case=case,
            form=form,
            revoke_form=RevokeForm(formdata=None, prefix="revoke"),
            links=page.rows,
            older_links=page.older_token,
            later_page=before is not None,
            errors=list(errors),
            valid_days=current_app.config["PERSONAL_LINK_DAYS"],
            ended=not personal_links.sends_links(workflow_registry(), case),
            may_receive=bool(can_receive),
        ),
        status,
    )


def _link_recipients(can_receive: list[tuple[int, str]]) -> list:
    """The "send to" choices: none chosen ahead, then each participant a link may be sent to."""
    return [SelectChoice("", _l("Choose"))] + choices(can_receive)


def _recipient_choices(session, case: SipCase) -> list[tuple[int, str]]:
    """Who a link may be sent to, each named as the list of links sent names them, with the address."""
    return personal_links.recipient_choices(session, case, today=to_local(now_utc()).date())[2]


@bp.route("/cases/<uid>/plan/links", methods=["GET", "POST"])
@login_required
def links_page(uid: str):
    """The case's personal links; sending one by e-mail to the person, a närstående or a guardian."""
    case = case_or_404(uid, audit.PLAN_LINKS_VIEW if request.method == "GET" else audit.PLAN_LINKS)
    if request.method == "GET":
        return _render_links(case)
    session = get_session()
    form = LinkForm(prefix="link")
    form.participant_id.choices = _link_recipients(_recipient_choices(session, case))
    if not form.validate():
        return _render_links(case, form, status=400)
    try:
        with unit_of_work(session):
            personal_links.send_personal_link(
                session,
                case=case,
                participant_id=form.participant_id.data,
                actor=current_actor(),
                now=now_utc(),
                valid_days=current_app.config["PERSONAL_LINK_DAYS"],
                seen_last_link_id=form.last_link.data,
                registry=workflow_registry(),
            )
    except UserError as error:
        top: list = []
        attach_error(form, error, top)
        if isinstance(error, Conflict):
            # Sent again from the page that shows the new list, it is meant: the form speaks for that list.
            newest = personal_links.newest_link_id(session, case)
            form.last_link.data, form.last_link.raw_data = newest, [str(newest)]
        return _render_links(case, form, errors=top, status=error.status)
    flash(_("The personal link is sent."), "success")
    return redirect(url_for("plans.links_page", uid=uid), code=303)


@bp.post("/cases/<uid>/plan/links/<id:link_id>/revoke")
@login_required
def revoke_link(uid: str, link_id: int):
    """Revoke one personal link of the case at once."""
    case = case_or_404(uid, audit.PLAN_LINKS)
    form = RevokeForm(prefix="revoke")
    if not form.validate():
        return _render_links(case, errors=[_("The form has expired. Try again.")], status=400)
    session = get_session()
    try:
        with unit_of_work(session):
            personal_links.revoke_link(
                session, case=case, link_id=link_id, actor=current_actor(), now=now_utc()
            )
    except UserError as error:
        return _render_links(case, errors=[error.message], status=error.status)
    flash(_("The link is revoked: it no longer works."), "success")
    return redirect(url_for("plans.links_page", uid=uid), code=303)


# --- The person, through their personal link --------------------------------------------------------------


def _in_recipient_language(link: PersonalLink | None) -> AbstractContextManager:
    """A link's pages speak the language chosen in this session, else the link's recipient's: the person
    never logs in, and a link sent before their language was set (or copied without ?lang=) names none."""
    if link is None or chosen_language() is not None:
        return nullcontext()
    participant = get_session().get(Participant, link.participant_id)
    return force_locale(personal_links.recipient_language(participant))


def _link_or_refusal(token: str, now):
    """The link a token names, or a refusal page (a known link's refusal is logged against its case)."""
    session = get_session()
    try:
        link = personal_links.read_token(session, current_app.config["SECRET_KEY"], token, now=now)
        recipient = session.get(Participant, link.participant_id)
        if person_view.link_has_ended(session, workflow_registry(), link, recipient, now=now):
            raise personal_links.LinkRefused("ended", link)
        return link, None
    except personal_links.LinkRefused as refused:
        code, link = refused.code, refused.link
    if link is not None:
        with unit_of_work(session):
            audit.record_link_access(
                session,
                action=audit.ACCESS_DENIED,
                case=session.get(SipCase, link.case_id),
                outcome=audit.DENIED,
                link_id=link.id,
                now=now,
            )
    # Worded for whom the link was sent to, where it is known: a närstående's SIP is not "your SIP".
    participant = session.get(Participant, link.participant_id) if link is not None else None
    for_person = participant is None or participant.kind == approvals.PERSON
    messages = LINK_REFUSALS if for_person else LINK_REFUSALS_NOT_THEIRS
    case = session.get(SipCase, link.case_id) if link is not None else None
    ended = case is not None and not personal_links.sends_links(workflow_registry(), case)
    if ended and code in NO_NEW_LINK_REFUSALS:
        messages = NO_NEW_LINK_REFUSALS
    # A known link's refusal names whom to ask for a new one, as its mail did (an unknown one names none).
    organisation = personal_links.contact_organisation(session, case) if case is not None else ""
    with _in_recipient_language(link):
        page = render_template(
            "plans/person_link_refused.html",
            message=str(messages[code]) % {"organisation": organisation},
            for_person=for_person,
        )
    return None, (page, personal_links.REFUSAL_STATUS[code])


def _log_link_reads(
    link: PersonalLink, participant: Participant, cases: list[SipCase], *, person, now, printed: bool = False
) -> None:
    """A read (printed: a PDF downloaded) through the link: each case in the access log (no user, the action
    saying whose link it is), and the link's last use; in a short transaction of its own."""
    actions = LINK_PRINT_ACTIONS if printed else LINK_VIEW_ACTIONS
    session = get_session()
    with unit_of_work(session):
        personal_links.touch(session, link, now)
        for case in cases:
            audit.record_access(
                session,
                user=None,
                action=actions[participant.kind],
                purpose=audit.PURPOSE_CARE,
                case=case,
                person=person,
                link_id=link.id,
                now=now,
            )


def _render_link_page(link: PersonalLink, token: str, *, now, errors=(), status: int = 200):
    """The plans the link shows (personal_view.link_cases); every case shown is logged (no user, the action
    saying whose link it is), each time."""
    session, registry = get_session(), workflow_registry()
    person = session.get(Person, link.person_id)
    participant = session.get(Participant, link.participant_id)
    cases = person_view.link_cases(session, registry, link, participant, now=now)
    page = person_view.person_page(session, registry, person, cases, locale=current_locale(), every_case=True)
    _log_link_reads(link, participant, [card.case for card in page.plans], person=person, now=now)
    # The person approves each of their plans; a guardian (of a child) the plan of the SIP they take part in.
    # A closed SIP's plan is approved no more (approvals.approve_version refuses): no form for it.
    if participant.kind == approvals.PERSON:
        approvable = {card.case.id for card in page.plans}
    elif participant.kind == approvals.GUARDIAN and approvals.is_child(person, to_local(now).date()):
        approvable = {link.case_id}
    else:
        approvable = set()
    approvable -= {card.case.id for card in page.plans if card.closed_at is not None}
    html = render_template(
        "plans/person_link.html",
        page=page,
        token=token,
        form=LinkApprovalForm(formdata=None, prefix="approve"),
        approvable=approvable,
        on_behalf=participant.kind == approvals.GUARDIAN,
        # A närstående or guardian reads someone else's plans: the page must not call them theirs.
        for_person=participant.kind == approvals.PERSON,
        errors=list(errors),
        # The PDFs are in this language only: a page in another says so beside their links.
        pdf_language=pdf.LANGUAGE,
        # Also when shown by a refused approval (a POST): the language switch leads to the page itself.
        page_url=url_for("plans.my_plan", token=token),
    )
    return html, status


@bp.get("/my-plan/<token>")
@limiter.limit(PUBLIC_LIMIT)
def my_plan(token: str):
    """The person's plans, read-only, through their personal link."""
    now = now_utc()
    link, refusal = _link_or_refusal(token, now)
    if refusal is not None:
        return refusal
    with _in_recipient_language(link):
        return _render_link_page(link, token, now=now)


@bp.get("/my-plan/<token>/versions/<id:version_id>/pdf")
@limiter.limit(PUBLIC_LIMIT)
def my_plan_pdf(token: str, version_id: int):
    """The PDF of a version the link's page shows, as staff print it (the approvals recorded so far)."""
    return _link_pdf(token, version_id, large=False)


@bp.get("/my-plan/<token>/versions/<id:version_id>/pdf/large")
@limiter.limit(PUBLIC_LIMIT)
def my_plan_pdf_large(token: str, version_id: int):
    """The person's copy of a version the link's page shows, in large, plain type."""
    return _link_pdf(token, version_id, large=True)


def _link_pdf(token: str, version_id: int, *, large: bool):
    """A version's PDF through the link, authorised by it as the page is: only a version the page shows now.

    The file is named by the case reference and version, never the person (person_view.link_pdf); the
    download is logged as a print (LINK_PRINT_ACTIONS), as the page's showings are logged as reads. A
    version the page no longer shows (a newer one was established since the page was opened) leads back to
    the page, which shows the one there is now; an id of no version of the link's SIPs is not found (404),
    as an id the address cannot hold is.
    """
    now = now_utc()
    link, refusal = _link_or_refusal(token, now)
    if refusal is not None:
        return refusal
    session = get_session()
    participant = session.get(Participant, link.participant_id)
    try:
        found = person_view.link_pdf(
            session, workflow_registry(), link, participant, version_id, large=large, now=now
        )
    except person_view.VersionNotShown:
        with _in_recipient_language(link):
            flash(
                _("That version of the plan is no longer the one shown: here is the plan as it is now."),
                "info",
            )
        return redirect(url_for("plans.my_plan", token=token), code=303)
    if found is None:
        abort(404)  # as an id the address cannot hold (0, twenty digits) is
    person = session.get(Person, link.person_id)
    _log_link_reads(link, participant, [found.case], person=person, now=now, printed=True)
    response = send_file(
        BytesIO(found.data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=found.filename,
        etag=False,
    )
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a browser or proxy
    return response


@bp.post("/my-plan/<token>/approve")
@limiter.limit(PUBLIC_LIMIT)
def my_plan_approve(token: str):
    """The person (or a guardian, for a child) approves the newest version of one of their plans."""
    now = now_utc()
    link, refusal = _link_or_refusal(token, now)
    if refusal is not None:
        return refusal
    with _in_recipient_language(link):
        return _approve_through_link(link, token, now)


def _approve_through_link(link: PersonalLink, token: str, now):
    """my_plan_approve's work once the link is known to work: record the approval, or show why not."""
    session = get_session()
    form = LinkApprovalForm(prefix="approve")
    if not form.validate():
        # A version id that names no row is refused as the one of no version of theirs is; else the form
        # itself is the refusal (its CSRF token expired).
        only_version = not set(form.errors) - {form.version_id.short_name}
        errors = form.version_id.errors if only_version else [_("The form has expired. Try again.")]
        return _render_link_page(link, token, now=now, errors=list(errors), status=400)
    version = session.get(PlanVersion, form.version_id.data)
    case = session.get(SipCase, version.case_id) if version is not None else None
    if case is None or case.person_id != link.person_id:
        return _render_link_page(link, token, now=now, errors=[UNKNOWN_VERSION], status=400)
    participant = session.get(Participant, link.participant_id)
    if participant.case_id != case.id:
        # A link is sent from one case; on the person's other SIPs they approve as that case's person.
        participant = (
            session.exec(
                select(Participant).where(
                    Participant.case_id == case.id, Participant.kind == approvals.PERSON, Participant.active
                )
            ).first()
            if participant.kind == approvals.PERSON
            else None
        )
    if participant is None:
        return _render_link_page(
            link,
            token,
            now=now,
            errors=[_("Approve this plan through a link sent from its own SIP.")],
            status=403,
        )
    try:
        with unit_of_work(session):
            approvals.approve_version(
                session,
                case=case,
                version=version,
                participant=participant,
                method=approvals.DIGITAL,
                now=now,
                registry=workflow_registry(),
            )
    except UserError as error:
        return _render_link_page(link, token, now=now, errors=[error.message], status=error.status)
    flash(
        _("Thank you: your approval of version %(number)d of the plan is recorded.", number=version.number),
        "success",
    )
    return redirect(url_for("plans.my_plan", token=token), code=303)
