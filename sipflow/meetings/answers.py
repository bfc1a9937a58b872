"""Answers without an account: the personal answer link, and iTIP REPLY objects the mail server posts.

Neither page shows anything about the person: the case reference, the time and the place or link only.
Still the answer page is a read of the SIP: each showing is in the access log (`meeting.link_view`, no user,
the invitation as `link_id`), so the person's loggutdrag lists it; a refused link that still names an
invitation (withdrawn, or the meeting over) is logged as `meeting.link_denied` against its case.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded

from sipflow.cases.forms import show_current_version, typed_values
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.errors import UserError
from sipflow.meetings import services
from sipflow.meetings.forms import ANSWER_LABELS, AnswerForm
from sipflow.meetings.forwarding import NoMailbox
from sipflow.meetings.ical import ReplyError
from sipflow.meetings.messages import place_text, span_text
from sipflow.meetings.models import PLANNED, Invitation, Meeting
from sipflow.meetings.replies import MAIL_MAX_BYTES, receive
from sipflow.meetings.tokens import AnswerLinkError, read_answer_token
from sipflow.security import allow_body, audit, csrf
from sipflow.security.limits import limiter, refusal_page, wait_seconds
from sipflow.translated import lazy_gettext as _l
from sipflow.web import current_locale, json_error, register_json_address

bp = Blueprint("answers", __name__)

# The browser session's note that an answer was just saved through the link (the invitation's id): the page
# the save redirects to says so once.
ANSWER_SAVED = "answer_saved"
# Answer links and posted replies need no login; the limit keeps guessing and flooding slow.
PUBLIC_LIMIT = "60 per minute;600 per hour"
LINK_REFUSALS = {
    "tampered": (400, _l("The link is not valid. Check that you copied the whole link from the e-mail.")),
    "expired": (410, _l("The link has expired: the meeting is over.")),
    "withdrawn": (
        410,
        _l(
            "The invitation is no longer valid. If you have a newer e-mail about the meeting, use the link in"
            " it. Otherwise, to ask the one who booked the meeting, reply to the e-mail with the invitation."
        ),
    ),
}


def _refuse_link(code: str, meeting: Meeting | None = None):
    """The refusal of a link; an answer posted through it is shown back to copy (nothing saved)."""
    status, message = LINK_REFUSALS[code]
    kept = []
    if request.method == "POST":
        typed = AnswerForm(formdata=request.form)
        typed.set_modes(services.allowed_answer_modes(meeting) if meeting is not None else ())
        kept = typed_values(typed)
    return render_template("meetings/answer_refused.html", message=message, kept_input=kept), status


def _invitation_for(token: str, now):
    """The invitation and meeting a link names, and the refusal code (None: the link works).

    A refused link still returns the invitation it names, if any, so the refusal is logged against its case;
    a token that fails its signature, or names no invitation, names nothing.

    A link works until the meeting, as it is now, is over: the expiry signed into it was the meeting's end
    when it was mailed, so a meeting moved later keeps its first links, and a planned one moved earlier
    ends them. A held meeting's page still shows when it was held until the link's own expiry.
    """
    expired = False
    try:
        link = read_answer_token(current_app.config["SECRET_KEY"], token, now=now)
    except AnswerLinkError as error:
        if error.link is None:
            return None, None, error.code
        # Genuine, only past the end the meeting had when the link was mailed.
        link, expired = error.link, True
    session = get_session()
    invitation = session.get(Invitation, link.invitation_id)
    if invitation is None:
        return None, None, "withdrawn"
    meeting = session.get(Meeting, invitation.meeting_id)
    if invitation.token_nonce != link.nonce or not invitation.active:
        return invitation, meeting, "withdrawn"
    if meeting.ends_at <= now and (expired or meeting.status == PLANNED):
        return invitation, meeting, "expired"
    return invitation, meeting, None


def _log_refusal(invitation: Invitation | None, meeting: Meeting | None, now) -> None:
    """A refused link that names an invitation: logged against its case (no user; the invitation as the
    link), in a short transaction of its own, as a refused personal link is."""
    if invitation is None:
        return
    session = get_session()
    with unit_of_work(session):
        audit.record_link_access(
            session,
            action=audit.MEETING_LINK_DENIED,
            case=session.get(SipCase, meeting.case_id),
            outcome=audit.DENIED,
            link_id=invitation.id,
            now=now,
        )


@bp.route("/answer/<token>", methods=["GET", "POST"])
@limiter.limit(PUBLIC_LIMIT)
def answer(token: str):
    """The invitee's answer page: yes, maybe or no, how they will take part, and a comment."""
    now = now_utc()
    invitation, meeting, refusal = _invitation_for(token, now)
    if refusal:
        _log_refusal(invitation, meeting, now)
        return _refuse_link(refusal, meeting)
    session = get_session()
    case = session.get(SipCase, meeting.case_id)
    form = AnswerForm(formdata=request.form if request.method == "POST" else None)
    form.set_modes(services.allowed_answer_modes(meeting))
    if request.method == "GET":
        form.version.data = invitation.sequence
        if invitation.answered_at is not None:
            form.partstat.data, form.answer_mode.data = invitation.partstat, invitation.answer_mode
            form.comment.data = invitation.comment
    status, changed = 200, False
    # Said once, on the page the save redirected to (a later visit shows the answer so far instead).
    saved = request.method == "GET" and cookie_session.pop(ANSWER_SAVED, None) == invitation.id
    if request.method == "POST" and meeting.status == PLANNED:
        status = 400
        valid = form.validate()
        if form.version.errors:
            # A page without the version it was shown at (from before the field existed): answer again.
            form.version.errors, changed = [], True
            show_current_version(form, invitation.sequence)
        elif not (valid and _mode_given(form)):
            # A page opened before the meeting changed may post a way of taking part no longer offered (video
            # after a move on site): the change is what to say, as for a post the form takes.
            try:
                services.check_answer_sequence(meeting, invitation, form.version.data)
            except services.OutdatedAnswer as error:
                form.answer_mode.errors = []  # the choices are the changed meeting's now
                show_current_version(form, invitation.sequence)
                status, changed = error.status, True
            except UserError:
                pass  # a version never sent: the field errors stand
        else:
            try:
                with unit_of_work(session):
                    services.record_answer(
                        session,
                        meeting,
                        invitation,
                        partstat=form.partstat.data,
                        answer_mode=form.answer_mode.data or None,
                        comment=form.comment.data,
                        via="link",
                        now=now,
                        sequence=form.version.data,
                    )
            except services.OutdatedAnswer as error:
                # The meeting moved since the page was opened: show it as it is now, with what was typed.
                session.refresh(invitation)
                show_current_version(form, invitation.sequence)
                status, changed = error.status, True
            except UserError as error:
                session.refresh(invitation)
                field = form[error.field] if error.field and error.field in form else form.partstat
                field.errors = [*field.errors, error.message]
                status = error.status
            else:
                # Post/redirect/get: reloading the page (or a phone bringing the tab back) shows the answer
                # and never sends it again. The page the redirect leads to is the read, and logs it.
                cookie_session[ANSWER_SAVED] = invitation.id
                # Only the page's language goes along (url_for reads keys such as _external as its own).
                return redirect(url_for("answers.answer", token=token, lang=request.args.get("lang")), 303)
    # The page shows the SIP's reference, time and place: a read of the SIP through the invitation's link,
    # logged each time it is shown (no user; the invitation is the link), in a short transaction of its own.
    with unit_of_work(session):
        audit.record_link_access(
            session,
            action=services.link_view_action(session, invitation),
            case=case,
            link_id=invitation.id,
            now=now,
        )
    return (
        render_template(
            "meetings/answer.html",
            form=form,
            meeting=meeting,
            invitation=invitation,
            reference=case.reference,
            # Worded as the kallelse the invitee came from words it, the weekday spelt out.
            when=span_text(meeting, current_locale()),
            place=place_text(meeting),
            saved=saved,
            changed=changed,
            # The answer said back as the invitee chose it ("Ja, jag kommer"), not the staff's word for it.
            answer_labels=ANSWER_LABELS,
        ),
        status,
    )


def _mode_given(form: AnswerForm) -> bool:
    """Saying yes or maybe also says how: on site, by video or by phone."""
    if form.partstat.data != "DECLINED" and not form.answer_mode.data:
        form.answer_mode.errors = [*form.answer_mode.errors, _("Choose how you will take part.")]
        return False
    return True


@bp.post("/itip/reply")
@allow_body(MAIL_MAX_BYTES)
@csrf.exempt
@limiter.limit(PUBLIC_LIMIT)
def itip_reply():
    """Take a calendar REPLY (the .ics, or the whole mail) from the mail server, proven by a secret."""
    secret = current_app.config["ITIP_REPLY_SECRET"]
    if not secret:
        abort(404)  # off unless configured: the mail server may use `sipflow itip reply` instead
    if not _bearer_matches(request.headers.get("Authorization", ""), secret):
        response, status = json_error(401, "unauthorised", _("The mail server's secret is missing or wrong."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="sipflow itip"'
        return response, status
    if request.is_json:
        # Else read as a mail ('{"a"' is a header to the e-mail parser): forwarded to a person, or a 503 the
        # mail server retries. A mail or a calendar object comes with any other type (a pipe's curl labels
        # it a form), so only JSON is refused.
        return json_error(
            415,
            "unsupported_media_type",
            _(
                "A calendar reply is an e-mail or an iCalendar object, not JSON: post the mail's bytes as "
                "they are (Content-Type message/rfc822 or text/calendar)."
            ),
        )
    if (request.content_length or 0) > MAIL_MAX_BYTES:
        return json_error(413, "too_large", _("The calendar object is too large."))
    data = request.stream.read(MAIL_MAX_BYTES + 1)
    if len(data) > MAIL_MAX_BYTES:
        return json_error(413, "too_large", _("The calendar object is too large."))
    session = get_session()
    try:
        with unit_of_work(session):
            outcome = receive(session, data, now=now_utc())
    except ReplyError as error:
        return json_error(400, error.code, str(error))
    except NoMailbox:
        return json_error(503, "no_mailbox", _("No mailbox to forward the mail to: set SIPFLOW_REPLY_TO."))
    if outcome.action == "forwarded":
        return jsonify(status="forwarded"), 202
    # Recorded or ignored (unknown meeting or invitee, out of date): one answer, built from the input only,
    # so the answer never tells who is invited to what.
    return jsonify(status="received", uid=outcome.uid, sequence=outcome.sequence), 202


# A mail server posting another way than POST gets its refusal as JSON from the app's 405 page.
bp.record_once(
    lambda state: register_json_address(
        state.app,
        lambda: request.path == "/itip/reply",
        json_error,
    )
)


@bp.errorhandler(RateLimitExceeded)
def _too_many_requests(error: RateLimitExceeded):
    """Over PUBLIC_LIMIT: the mail server gets JSON it can act on, a person the page saying how to wait."""
    if request.endpoint != "answers.itip_reply":
        return refusal_page(error)
    wait = wait_seconds()
    response, status = json_error(429, "too_many_requests", _("Too many requests: try again later."))
    response.headers["Retry-After"] = str(wait)
    return response, status


def _bearer_matches(header: str, secret: str) -> bool:
    """True when header is "Bearer <secret>"; compared in constant time."""
    scheme, _space, token = header.strip().partition(" ")
    given = token.strip().encode("utf-8", "surrogateescape")
    return scheme.lower() == "bearer" and hmac.compare_digest(given, secret.encode("utf-8"))
