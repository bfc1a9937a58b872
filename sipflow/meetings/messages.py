"""The invitation e-mails: one per invitee, with the iTIP calendar object inline and attached.

What each message may say is kept narrow on purpose. Subject, SUMMARY and DESCRIPTION carry "SIP-möte",
the case reference, the time and the place or link: never the person's name or personnummer. Each
invitee's calendar object lists the staff invitees and the recipient, never the other private invitees
(the person, närstående), whose e-mail addresses often are their names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from babel.dates import format_datetime
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import STOCKHOLM
from sipflow.i18n import DEFAULT_LOCALE, MAIL_MOMENT_PATTERNS, language_or_default
from sipflow.meetings.forwarding import booker_of, human_mailbox
from sipflow.meetings.ical import CalendarAttendee, CalendarEvent, cancel_ics, request_ics, withdraw_ics
from sipflow.meetings.mime import calendar_message
from sipflow.meetings.models import Invitation, Meeting
from sipflow.meetings.tokens import make_answer_token
from sipflow.notifications.outbox import Outgoing, enqueue_all, sender, sender_name
from sipflow.people.models import Organisation, Unit, User
from sipflow.security import access

# The language of a text with no recipient of its own (bench/outbox.py's one-off texts).
MAIL_LOCALE = DEFAULT_LOCALE


def public_url(path: str) -> str:
    """An absolute address under SIPFLOW_PUBLIC_URL, for links that leave sipflow."""
    return current_app.config["PUBLIC_URL"] + path


def answer_url(meeting: Meeting, invitation: Invitation, locale: str = MAIL_LOCALE) -> str:
    """The invitee's personal answer link, opening in their language; it expires when the meeting ends."""
    token = make_answer_token(
        current_app.config["SECRET_KEY"], invitation.id, invitation.token_nonce, meeting.ends_at
    )
    # Only another language than the default is spelt out: the page would pick Swedish anyway.
    return public_url(f"/answer/{token}" + (f"?lang={locale}" if locale != DEFAULT_LOCALE else ""))


def moment_text(moment: datetime, locale: str = MAIL_LOCALE) -> str:
    """'tisdag 8 december 2026 kl. 10:00' in Swedish time, written in locale; when_text says the zone."""
    pattern = MAIL_MOMENT_PATTERNS.get(locale, MAIL_MOMENT_PATTERNS[DEFAULT_LOCALE])
    return format_datetime(moment.astimezone(STOCKHOLM), pattern, locale=locale)


def swedish_time(text: str, locale: str) -> str:
    """text, a time in Swedish time, saying so in locale: a mail is read abroad too (a relative in Finland,
    an English-speaking one in London), where the same clock time is another moment."""
    if str(get_locale()) == locale:
        return _("%(time)s (Swedish time)", time=text)
    with force_locale(locale):
        return _("%(time)s (Swedish time)", time=text)


def when_text(moment: datetime, locale: str = MAIL_LOCALE) -> str:
    """'tisdag 8 december 2026 kl. 10:00 (svensk tid)': a moment in Swedish time, written in locale."""
    return swedish_time(moment_text(moment, locale), locale)


def span_text(meeting: Meeting, locale: str) -> str | None:
    """'onsdag 18 november 2026 kl. 13:00–14:30 (svensk tid)': the meeting's time as its kallelse words it
    (None for a time too far out for Swedish time, stored before dates were bounded)."""
    try:
        ends = format_datetime(meeting.ends_at.astimezone(STOCKHOLM), "HH:mm", locale=locale)
        return swedish_time(f"{moment_text(meeting.starts_at, locale)}–{ends}", locale)
    except OverflowError:
        return None


def place_text(meeting: Meeting) -> str | None:
    """Address and room, as one line."""
    parts = [p for p in (meeting.location, meeting.room) if p]
    return ", ".join(parts) or None


# The messages that offer no video link whatever the meeting object's status says: a cancelled meeting's or
# a withdrawn invitee's (the room must not be handed on to anyone who is not to meet there), and the one that
# the meeting was held at another time (it is over; the object takes its held status only after the message
# is queued: services.move_to_held_time).
NO_LINK_KINDS = ("cancel", "withdraw", "held")


def message_video_url(meeting: Meeting, kind: str) -> str | None:
    """The video link a message of kind offers: the meeting's offered one (Meeting.offered_video_url)."""
    return None if kind in NO_LINK_KINDS else meeting.offered_video_url


def calendar_location(meeting: Meeting, video_url: str | None) -> str | None:
    """LOCATION: the place, the video link offered (video_url), or both for a mixed meeting."""
    parts = [p for p in (place_text(meeting), video_url) if p]
    return " / ".join(parts) or None


def _staff_attendees(session: Session, meeting: Meeting) -> dict[int, CalendarAttendee]:
    """The staff invitees by invitation id, named by their organisation.

    Not by their unit: a calendar entry is copied, shared and shown on phones, and a unit's name can say what
    the person is treated for ("Psykiatriska kliniken, psykos"); the organisation says no more than that the
    region or the municipality takes part. The e-mail's own text is the invitee's alone.
    """
    rows = session.exec(
        select(Invitation, Participant, Unit, Organisation)
        .join(Participant, Participant.id == Invitation.participant_id)
        .outerjoin(Unit, Unit.id == Participant.unit_id)
        .outerjoin(Organisation, Organisation.id == Participant.organisation_id)
        .where(
            Invitation.meeting_id == meeting.id,
            Invitation.active,
            Invitation.channel == "email",
            Participant.kind == "organisation",
        )
        .order_by(Invitation.id)
    ).all()
    return {
        invitation.id: CalendarAttendee(
            email=invitation.email,
            role=invitation.role,
            partstat=invitation.partstat,
            cn=(organisation.name if organisation else unit.name if unit else None),
        )
        for invitation, _participant, unit, organisation in rows
    }


def booking_organisation(session: Session, meeting: Meeting) -> str | None:
    """The name of the organisation that booked meeting (not its unit's: see _staff_attendees), which its
    mail speaks for (notifications.outbox.sender)."""
    user = booker_of(session, meeting)
    unit = session.get(Unit, user.unit_id) if user is not None else None
    organisation = session.get(Organisation, unit.organisation_id) if unit is not None else None
    return organisation.name if organisation is not None else None


def _event(
    case: SipCase,
    meeting: Meeting,
    invitation: Invitation,
    *,
    staff: dict[int, CalendarAttendee],
    organizer_name: str,
    description: str,
    status: str,
    video_url: str | None,
    asks_answer: bool = True,
) -> CalendarEvent:
    """The calendar object one invitee gets: the staff invitees and the invitee, nobody else."""
    others = [attendee for invitation_id, attendee in staff.items() if invitation_id != invitation.id]
    own = staff.get(invitation.id) or CalendarAttendee(
        email=invitation.email, role=invitation.role, partstat=invitation.partstat
    )
    if not asks_answer:
        # Nothing to answer (the meeting was held): no Accept/Decline buttons whose REPLY would be ignored.
        others, own = [replace(a, rsvp=False) for a in others], replace(own, rsvp=False)
    return CalendarEvent(
        uid=meeting.uid,
        sequence=meeting.sequence,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        summary=_("SIP meeting %(reference)s", reference=case.reference),
        description=description,
        location=calendar_location(meeting, video_url),
        url=video_url,
        organizer_email=current_app.config["MAIL_FROM"],
        organizer_name=organizer_name,
        attendees=(*others, own),
        status=status,
        last_modified=meeting.updated_at,
    )


def _render(
    case: SipCase,
    meeting: Meeting,
    invitation: Invitation,
    *,
    kind: str,
    links_case: bool,
    locale: str,
    answers_kept: bool = False,
    recipient_kind: str = "organisation",
    organisation: str | None = None,
    replies: bool = False,
    way_gone: str | None = None,
) -> dict:
    """Subject, plain text, HTML and the calendar DESCRIPTION of one message, in the invitee's language.

    The caller renders it under force_locale(locale); the dates need the locale spelt out. answers_kept: an
    update that kept the answers (the time stands), so it asks nobody to answer again. recipient_kind: the
    invitee's participant kind; the person, a närstående or a guardian has no login, so their mail names
    whom to ask (organisation: the booking one; replies: a plain reply reaches a person), not sipflow.
    way_gone: the way of taking part (on site, video) the invitee answered that this update no longer offers.
    """
    context = {
        "recipient_kind": recipient_kind,
        "organisation": organisation,
        "replies": replies,
        "kind": kind,
        # An update whose time stands asks nobody to answer again; one who has answered is told it stands.
        "answers_kept": answers_kept,
        "answered": invitation.partstat != "NEEDS-ACTION",
        # The way of taking part the invitee answered (on site, video) that this update no longer offers.
        "way_gone": way_gone,
        "lang": locale,  # the HTML part's <html lang>, for screen readers
        "reference": case.reference,
        "when": when_text(meeting.starts_at, locale),
        "span": span_text(meeting, locale),
        "mode": meeting.mode,
        "place": place_text(meeting),
        "video_url": message_video_url(meeting, kind),
        "answer_url": answer_url(meeting, invitation, locale) if kind in ("request", "update") else None,
        # Only for a recipient who can open the page (security.access.addresses_seeing_case).
        "case_url": public_url(f"/cases/{case.uid}") if links_case else None,
    }
    subjects = {
        "request": _("SIP meeting %(reference)s, %(when)s"),
        "update": _("Changed: SIP meeting %(reference)s, %(when)s"),
        "cancel": _("Cancelled: SIP meeting %(reference)s, %(when)s"),
        "withdraw": _("Invitation withdrawn: SIP meeting %(reference)s, %(when)s"),
        "held": _("Held at another time: SIP meeting %(reference)s, %(when)s"),
    }
    return {
        "subject": subjects[kind] % {"reference": case.reference, "when": context["when"]},
        "text": _render_mail("emails/invitation.txt", context),
        "html": _render_mail("emails/invitation.html", context),
        "description": _render_mail("emails/description.txt", context).strip(),
    }


def _render_mail(name: str, context: dict) -> str:
    # Straight from the Jinja environment: no page context processors (no user, no request) in an e-mail.
    return current_app.jinja_env.get_template(name).render(**context)


def queue_messages(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    invitations: list[Invitation],
    *,
    kind: str,
    now: datetime,
    answers_kept: bool = False,
    ways_gone: Mapping[int, str] | None = None,
) -> None:
    """Queue one e-mail of kind (request, update, cancel, withdraw, or held: the calendar entry moved to
    when the meeting was held) to each invitation with an address.

    answers_kept: an update that kept every answer (the form or place changed, not the time): its e-mail
    says an answer given stands, rather than asking to answer again. ways_gone: by invitation id, the way
    of taking part its answer gave that the meeting no longer offers (video, on site): that e-mail says the
    meeting is no longer held that way and asks how they take part now, not that the answer stands.
    """
    ways_gone = ways_gone or {}
    invitations = [i for i in invitations if i.channel == "email"]
    if not invitations:
        return
    session.flush()  # the staff list below must see this change's invitations
    # What every message of this change shares, read once.
    staff = _staff_attendees(session, meeting)
    organisation = booking_organisation(session, meeting)
    organizer_name = sender_name(organisation)
    # A person's plain "Reply" should reach a person; calendar answers still go to the ORGANIZER.
    reply_to = human_mailbox(session, meeting)
    # Who can open the case page: staff whose organisation sees the SIP now (not one the consent no longer
    # covers, a withdrawn one's, an external contact, the person): nobody else gets a link that 404s.
    linkable = access.addresses_seeing_case(session, case, [i.email for i in invitations], now=now)
    # Each invitee's kind and language (a unit reached at its contact person's address: theirs), one read.
    invitees = {
        participant.id: (participant.kind, participant.mail_language(contact))
        for participant, contact in session.exec(
            select(Participant, User)
            .outerjoin(User, User.id == Participant.contact_user_id)
            .where(Participant.id.in_([i.participant_id for i in invitations]))
        ).all()
    }
    cancel = kind in ("cancel", "withdraw")
    outgoing: list[Outgoing] = []
    for invitation in invitations:
        participant_kind, language = invitees[invitation.participant_id]
        locale = language_or_default(language)
        with force_locale(locale):
            content = _render(
                case,
                meeting,
                invitation,
                kind=kind,
                links_case=participant_kind == "organisation" and invitation.email.lower() in linkable,
                locale=locale,
                answers_kept=answers_kept,
                recipient_kind=participant_kind,
                organisation=organisation,
                replies=reply_to is not None,
                way_gone=ways_gone.get(invitation.id),
            )
            event = _event(
                case,
                meeting,
                invitation,
                staff=staff,
                organizer_name=organizer_name,
                description=content["description"],
                status="CANCELLED" if cancel else "CONFIRMED",
                video_url=message_video_url(meeting, kind),
                asks_answer=kind != "held",
            )
            if kind == "withdraw":
                comment = _("Your invitation to this meeting is withdrawn.")
                ics = withdraw_ics(event, event.attendees[-1], now=now, comment=comment)
            else:
                ics = (cancel_ics if cancel else request_ics)(event, now=now)
        message = calendar_message(
            sender=sender(organisation),
            to=invitation.email,
            subject=content["subject"],
            text=content["text"],
            html=content["html"],
            ics=ics,
            method="CANCEL" if cancel else "REQUEST",
            reply_to=reply_to,
        )
        # A withdrawal is a cancellation for its one recipient (RFC 5546 3.2.5).
        # A meeting held at another time is an update of the calendar entry.
        outbox_kind = "cancel" if cancel else "update" if kind == "held" else kind
        outgoing.append(Outgoing(message, outbox_kind, case.id, invitation.id, language=locale))
    enqueue_all(session, outgoing, now=now)
