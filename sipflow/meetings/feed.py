"""Each staff member's private calendar feed (webcal): their SIP meetings, without personal data.

Every SIP the feed shows is a read of it, in the access log as `meeting.feed` once per user, SIP and Swedish
calendar day (calendar programs fetch it every few minutes): `audit.record_feed`. The meetings of a case
retention has anonymised are left out: the case is over and its meetings are no one's work any more.

The feed address is `/calendar/<key>.<mac>.ics`: the key is stored on the user (renewing replaces it, and
the old address stops working at once); the mac is an HMAC of the key with the app's secret, so a copy of
the database alone is not enough to read anyone's feed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import String, bindparam, exists, func, union
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc, within_date_window
from sipflow.db import get_session, unit_of_work
from sipflow.i18n import language_or_default
from sipflow.meetings.forms import EmptyForm
from sipflow.meetings.ical import CalendarEvent, feed_ics
from sipflow.meetings.messages import calendar_location, public_url
from sipflow.meetings.models import CANCELLED, Invitation, Meeting
from sipflow.people.models import User
from sipflow.retention.models import AnonymisedCase
from sipflow.security import access, audit
from sipflow.security.limits import limiter

bp = Blueprint("calendar", __name__)
# Meetings further back than this are left out: a feed is for what is coming.
FEED_PAST_DAYS = 90
# A bound on the feed's length, far above what one staff member books or is invited to in FEED_PAST_DAYS
# and the two years ahead a meeting may be booked (clock.BOOKING_YEARS_AHEAD): the oldest come first.
FEED_MAX_MEETINGS = 1000


def _mac(key: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"calendar-feed:{key}".encode(), hashlib.sha256).hexdigest()[:32]


def feed_token(user: User) -> str:
    """The secret part of the user's feed address."""
    return f"{user.calendar_feed_key}.{_mac(user.calendar_feed_key)}"


def renew_feed_key(session: Session, user: User) -> None:
    """Give the user a new feed address; the old one stops working."""
    user.calendar_feed_key = secrets.token_hex(16)
    session.add(user)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user whose feed token this is, or None."""
    key, _sep, mac = token.partition(".")
    if not key or len(key) != 32 or not hmac.compare_digest(mac, _mac(key)):
        return None
    user = session.exec(select(User).where(User.calendar_feed_key == key)).first()
    return user if user is not None and user.active else None


def _invited_or_booked(user: User):
    """The ids of the meetings the user booked or is invited to (an active invitation): one index each.

    Invited is either as the contact person of a unit taking part (ix_participant_contact_user_id), or at
    the user's own address, whatever its case (ix_invitation_email_lower, as a mail's recipients who see the
    case are found by address: security.access.addresses_seeing_case): a unit invited at an address typed
    on the case page (Kontaktuppgifter) that is a staff member's.
    """
    parts = [
        select(Meeting.id).where(Meeting.booked_by_user_id == user.id),
        select(Invitation.meeting_id)
        .join(Participant, Participant.id == Invitation.participant_id)
        .where(Participant.contact_user_id == user.id, Invitation.active),
    ]
    if user.email:
        address = bindparam("feed_address", user.email, type_=String)
        parts.append(
            select(Invitation.meeting_id).where(
                func.lower(Invitation.email) == func.lower(address), Invitation.active
            )
        )
    return union(*parts)


def feed_meetings_query(user: User, *, now: datetime):
    """feed_meetings' statement: at most FEED_MAX_MEETINGS, from FEED_PAST_DAYS back, soonest first.

    The user's meetings are found first and each read by its id (a planner that walked every meeting in
    start order instead, to spare the sort of a few, would read them all).
    """
    mine = _invited_or_booked(user).subquery("mine")
    return (
        select(Meeting, SipCase)
        .select_from(mine)
        .join(Meeting, Meeting.id == mine.c.id)
        .join(SipCase, SipCase.id == Meeting.case_id)
        .where(
            Meeting.ends_at >= now - timedelta(days=FEED_PAST_DAYS),
            access.visible_cases_clause(user, now=now),
            ~exists().where(AnonymisedCase.case_id == SipCase.id),
        )
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(FEED_MAX_MEETINGS)
    )


def feed_meetings(session: Session, user: User, *, now: datetime) -> list[tuple[Meeting, SipCase]]:
    """The meetings the user is invited to or booked, on cases the user may see at now and not anonymised.

    Cancelled meetings stay (marked cancelled, so the calendar drops them); a withdrawn invitation does not.
    """
    return list(session.exec(feed_meetings_query(user, now=now)).all())


def _event(meeting: Meeting, case: SipCase) -> CalendarEvent:
    return CalendarEvent(
        uid=meeting.uid,
        sequence=meeting.sequence,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        summary=_("SIP meeting %(reference)s", reference=case.reference),
        description=_(
            "SIP meeting (coordinated individual plan), case %(reference)s.", reference=case.reference
        )
        + "\n"
        + public_url(f"/cases/{case.uid}"),
        location=calendar_location(meeting, meeting.offered_video_url),
        url=meeting.offered_video_url,
        organizer_email=current_app.config["MAIL_FROM"],
        organizer_name=current_app.config["MAIL_FROM_NAME"],
        attendees=(),
        status="CANCELLED" if meeting.status == CANCELLED else "CONFIRMED",
        last_modified=meeting.updated_at,
    )


# Calendar programs fetch a feed every hour or so, and a whole office (or a calendar service's servers)
# fetches its users' feeds from one address: so per address only unknown feeds count (guessing), and each
# feed has a budget of its own (a program gone wild).
FEED_LIMIT = "120 per hour"


def _feed_refused(response) -> bool:
    return response.status_code == 404


def _feed_key() -> str:
    return "calendar-feed:" + hashlib.sha256(request.view_args["token"].encode()).hexdigest()


@bp.get("/calendar/<token>.ics")
@limiter.limit(FEED_LIMIT, deduct_when=_feed_refused)
@limiter.limit(FEED_LIMIT, key_func=_feed_key)
def feed(token: str):
    """The feed a calendar program subscribes to; no login, the address itself is the key."""
    session, now = get_session(), now_utc()
    user = user_for_token(session, token)
    if user is None:
        abort(404)
    shown = [
        (meeting, case)
        for meeting, case in feed_meetings(session, user, now=now)
        # A meeting outside the date window (booked before dates were bounded) cannot be written in
        # Swedish time; leaving it out keeps the feed, and every other meeting in it, readable.
        if within_date_window(meeting.starts_at, now=now) and within_date_window(meeting.ends_at, now=now)
    ]
    # Each SIP the feed shows is a read of it: logged once a day per SIP (audit.record_feed), in a short
    # transaction before anything is answered.
    cases = {case.id: case for _meeting, case in shown}
    with unit_of_work(session):
        audit.record_feed(session, user=user, cases=list(cases.values()), now=now)
    # The feed is the user's own: in their language, as their mail is (a calendar program sends no cookie).
    with force_locale(language_or_default(user.language)):
        events = [_event(meeting, case) for meeting, case in shown]
        body = feed_ics(events, name=_("SIP meetings"), now=now)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="sip.ics"'
    # The one response but static files that is not no-store (docs/architecture.md, security/): calendar
    # programs poll every few minutes; a private five-minute copy, the subscriber's own, spares the reads.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _addresses(user: User) -> dict:
    https = public_url(url_for("calendar.feed", token=feed_token(user)))
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def _feed_owner():
    """The session and the logged-in user, who must be staff of a unit (only staff have SIP meetings)."""
    user = current_user._get_current_object()
    if not access.may_see_cases(user):
        abort(403)
    return get_session(), user


@bp.get("/account/calendar")
@login_required
def settings():
    """The user's feed address (made on first visit) and a button to renew it."""
    session, user = _feed_owner()
    if not user.calendar_feed_key:
        with unit_of_work(session):
            renew_feed_key(session, user)
    return render_template(
        "meetings/calendar_feed.html",
        addresses=_addresses(user),
        form=EmptyForm(),
        page_url=url_for("calendar.settings"),
    )


@bp.post("/account/calendar/renew")
@login_required
def renew():
    """Replace the feed address, for instance after it was shared by mistake."""
    session, user = _feed_owner()
    if not EmptyForm().validate():
        abort(400)
    with unit_of_work(session):
        renew_feed_key(session, user)
    flash(
        _(
            "Your calendar address is renewed. Subscribe again with the new address; "
            "the old one no longer works."
        ),
        "success",
    )
    return redirect(url_for("calendar.settings"), code=303)
