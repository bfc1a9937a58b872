"""Personal links: a signed, expiring, revocable address through which the person reads their plans.

Staff send the link by e-mail (through the outbox) to the person, a närstående or a guardian taking part.
The token carries only the `PersonalLink` id and its nonce, signed with the app's secret key and a salt of
its own (itsdangerous); the row holds the expiry and the revocation, so a link can be ended before it runs
out. A token is accepted only in the exact form sipflow issued, so no altered spelling of one (base64
padding bits included) opens anything. The e-mail's subject and the address say nothing about the person.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage

from babel.dates import format_date
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import lock_case, register_address_change
from sipflow.clock import local_to_utc, parse_instant, stored_utc, to_local
from sipflow.errors import Conflict, InvalidInput, NotAllowed
from sipflow.i18n import DEFAULT_LOCALE, language_or_default
from sipflow.meetings.forwarding import staff_mailbox
from sipflow.notifications.models import PLAN_LINK_KIND, OutboxMessage
from sipflow.notifications.outbox import enqueue, sender
from sipflow.people.identifiers import of_age_on
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.plans.approvals import GUARDIAN
from sipflow.plans.editor import is_child
from sipflow.plans.models import PersonalLink
from sipflow.routing import cursor_text, cursor_token
from sipflow.translated import lazy_gettext as _l

SALT = "sipflow.plans.personal_link"
# Who may get a link: the person, a närstående, a guardian, a legal representative (organisations log in).
LINK_KINDS = ("person", "narstaende", "guardian", "representative")
OUTBOX_KIND = PLAN_LINK_KIND
# The links page lists a case's links newest first, this many a page (keyset on created_at and id: the
# link to older ones carries the last one's moment and id, no personal data).
LIST_LIMIT = 50
LIST_CURSOR_VERSION = "1"
LIST_CURSOR_LENGTH = 120
# How a refused link is answered: 404 when it names nothing, 410 when it did but no longer works.
REFUSAL_STATUS = {
    "tampered": 404,
    "unknown": 404,
    "expired": 410,
    "revoked": 410,
    "ended": 410,
    "of_age": 410,
}
# How the links page names each kind of recipient.
KIND_LABELS = {
    "person": _l("the person"),
    "narstaende": _l("relative"),
    "guardian": _l("guardian"),
    "representative": _l("legal representative"),
}

# Whom a link goes to, asked when none (or no one it may go to) was chosen.
CHOOSE_RECIPIENT = _l("Choose the person, a relative, a guardian or a legal representative.")


class LinkRefused(Exception):
    """The link cannot be used: code is tampered, unknown, expired, revoked, ended (its SIP ended and
    the link shows nothing any more: person_view.link_has_ended) or of_age (a guardian's, the child of age:
    guardian_of_adult)."""

    def __init__(self, code: str, link: PersonalLink | None = None):
        super().__init__(code)
        self.code = code
        # The link, when the token named a real one that no longer works (its refusal is logged).
        self.link = link


@dataclass
class LinkRow:
    """A link as the case's links page lists it."""

    link: PersonalLink
    recipient: str
    kind: str
    # Whom it went to (recipient_labels): the address alone may be a family's, shared by several.
    name: str
    created_by: str | None
    active: bool
    # The last day it works, as its e-mail names it ("till och med").
    last_day: date
    # A guardian's link ended by the person's 18th birthday (guardian_of_adult): not active.
    of_age: bool = False
    # The mail server refused its e-mail for good (a mistyped address): the recipient never got it.
    undelivered: bool = False


@dataclass
class LinksPage:
    """A page of the links page's list, and the token of the page of older links (None: no more)."""

    rows: list[LinkRow]
    older_token: str | None


def list_cursor(token: str | None) -> tuple[datetime, int] | None:
    """The (created_at, id) a links page token carries; None when missing or malformed (the newest page)."""
    raw = cursor_text(token, LIST_CURSOR_LENGTH) if token else None
    if raw is None:
        return None
    try:
        version, moment, link_id = raw.split("|")
        before = (parse_instant(moment), int(link_id))
    except ValueError:
        return None
    return before if version == LIST_CURSOR_VERSION and 0 < before[1] < 2**63 else None


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def make_token(secret_key: str, link: PersonalLink) -> str:
    """The token of link's address: its id and nonce, signed."""
    return _serializer(secret_key).dumps({"l": link.id, "n": link.nonce})


def read_token(session: Session, secret_key: str, token: str, *, now: datetime) -> PersonalLink:
    """The link a token names, if it still works; LinkRefused otherwise."""
    try:
        payload = _serializer(secret_key).loads(token)
    except (BadSignature, UnicodeError, ValueError):
        raise LinkRefused("tampered") from None
    if (
        not isinstance(payload, dict)
        or set(payload) != {"l", "n"}
        or not isinstance(payload["l"], int)
        or isinstance(payload["l"], bool)
        or not isinstance(payload["n"], str)
        or not 0 < payload["l"] < 2**31
    ):
        raise LinkRefused("tampered")
    link = session.get(PersonalLink, payload["l"])
    if link is None or link.nonce != payload["n"]:
        raise LinkRefused("unknown")
    if make_token(secret_key, link) != token:
        raise LinkRefused("tampered")  # signed, but not spelt as issued
    if link.revoked_at is not None:
        raise LinkRefused("revoked", link)
    participant = session.get(Participant, link.participant_id)
    taking_part = participant is not None and participant.active
    # Said before its expiry: a guardian's link runs out at the child's 18th birthday (guardian_expiry).
    if taking_part and guardian_of_adult(
        participant, session.get(Person, link.person_id), to_local(now).date()
    ):
        raise LinkRefused("of_age", link)
    if stored_utc(link.expires_at) <= now:
        raise LinkRefused("expired", link)
    if not taking_part:
        raise LinkRefused("revoked", link)  # the recipient no longer takes part
    if participant.kind not in LINK_KINDS:
        raise LinkRefused("revoked", link)  # only ever sent to these: a row naming another is not honoured
    return link


def guardian_of_adult(participant: Participant, person: Person | None, today: date) -> bool:
    """Whether participant is a guardian of a person who is 18 or older on today (the Swedish day): custody
    (vårdnad) has ended (föräldrabalken 6 kap. 2 §), so the young adult decides who reads their plan, and a
    guardian's personal link neither opens it nor is sent any more. The one rule of both; a person whose
    birth date is unknown is not taken to be of age."""
    return (
        participant.kind == GUARDIAN
        and person is not None
        and person.birth_date is not None
        and not is_child(person, today)
    )


def recipient_language(participant: Participant | None) -> str:
    """The language a link's mail and pages speak: its recipient's (the person never logs in to choose)."""
    return language_or_default(participant.language if participant is not None else None)


def expiry(now: datetime, valid_days: int) -> datetime:
    """When a link sent now stops working: at the end of the Swedish day valid_days ahead.

    The e-mail promises the link "till och med" (up to and including) that day, so it works the whole day.
    """
    last_day = to_local(now).date() + timedelta(days=valid_days)
    return local_to_utc(datetime.combine(last_day + timedelta(days=1), time()))


def guardian_expiry(expires_at: datetime, participant: Participant, person: Person | None) -> datetime:
    """When a link to participant that would run to expires_at stops working: for a guardian of a child, at
    the latest when the child's 18th birthday begins (guardian_of_adult), so its e-mail names the last day
    it truly works."""
    if participant.kind != GUARDIAN or person is None or person.birth_date is None:
        return expires_at
    return min(expires_at, _majority_begins(person.birth_date))


def _majority_begins(born: date) -> datetime:
    """The instant (UTC) the Swedish day begins on which a person born on born turns 18."""
    return local_to_utc(datetime.combine(of_age_on(born), time()))


def last_valid_day(link: PersonalLink) -> date:
    """The last Swedish day link works on (its expiry is the midnight that ends it)."""
    return (to_local(stored_utc(link.expires_at)) - timedelta(microseconds=1)).date()


def link_url(link: PersonalLink) -> str:
    """The absolute address of link, under SIPFLOW_PUBLIC_URL."""
    return current_app.config["PUBLIC_URL"] + f"/my-plan/{make_token(current_app.config['SECRET_KEY'], link)}"


def recipient_labels(session: Session, case: SipCase) -> dict[int, str]:
    """The name of each of the case's people a link goes to (removed ones too), by participant id, so that
    no two are alike: name, part and relation; one added more than once also says which time it was."""
    return _labels(session.get(Person, case.person_id), _link_participants(session, case))


def recipient_choices(session: Session, case: SipCase, *, today: date) -> tuple[Person, dict[int, str], list]:
    """The person, every link participant's label (recipient_labels) and who a link can be sent to on today
    (the person, närstående and guardians taking part, with an address; a guardian only while the person is
    a child: guardian_of_adult), each as (participant id, label and address): the links page's choices and
    the names its list shows, from one read of the person and one of the participants, however many links
    were sent."""
    person = session.get(Person, case.person_id)
    rows = _link_participants(session, case)
    labels = _labels(person, rows)
    can_receive = [
        (p.id, f"{labels[p.id]}, {p.email}")
        for p in rows
        if p.active and p.email and not guardian_of_adult(p, person, today)
    ]
    return person, labels, can_receive


def _link_participants(session: Session, case: SipCase) -> list[Participant]:
    """The case's people a link may go to (removed ones too), in the order they were added."""
    return list(
        session.exec(
            select(Participant)
            .where(Participant.case_id == case.id, Participant.kind.in_(LINK_KINDS))
            .order_by(Participant.id)
        ).all()
    )


def _labels(person: Person, rows: list[Participant]) -> dict[int, str]:
    labels: dict[int, str] = {}
    for participant in rows:
        if participant.kind == "person":
            name = f"{person.given_name} {person.family_name}"
        else:
            name = participant.name or ""
        part = KIND_LABELS[participant.kind]
        labels[participant.id] = (
            f"{name} ({part}, {participant.relation})" if participant.relation else f"{name} ({part})"
        )
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    for participant_id, label in labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[participant_id] = _("%(name)s, added as no. %(number)d", name=label, number=seen[label])
    return labels


def _check_sender(session: Session, case: SipCase, actor: User) -> None:
    """Staff of an organisation taking part (or the initiating one) send and revoke links."""
    unit = session.get(Unit, actor.unit_id) if actor is not None and actor.unit_id else None
    if unit is None:
        raise NotAllowed(_l("Only staff of an organisation in this SIP can send or revoke personal links."))
    if unit.organisation_id == case.initiating_organisation_id:
        return
    takes_part = session.exec(
        select(Participant.id).where(
            Participant.case_id == case.id,
            Participant.organisation_id == unit.organisation_id,
            Participant.active,
        )
    ).first()
    if takes_part is None:
        raise NotAllowed(_l("Only staff of an organisation in this SIP can send or revoke personal links."))


def sends_links(registry, case: SipCase) -> bool:
    """Whether case still sends personal links: not once it has ended (closed, withdrawn, anonymised).

    The one rule of send_personal_link's refusal and of the page refusing an expired or revoked link, which
    then tells the person no new link comes from that SIP rather than sending them to ask for one."""
    return not registry.has_ended(case)


def send_personal_link(
    session: Session,
    *,
    case: SipCase,
    participant_id: int,
    actor: User,
    now: datetime,
    valid_days: int,
    seen_last_link_id: int,
    registry=None,
) -> PersonalLink:
    """Issue a link to participant (person, närstående or guardian) and queue the e-mail carrying it; the
    links sent to them before from this SIP that still work end now, replaced by it.

    seen_last_link_id: the newest link of the case the sender's page showed (0: none). A link sent since
    (a double submit, a colleague) is a conflict: two live links and two e-mails for one click otherwise.
    """
    _check_sender(session, case, actor)
    if registry is not None and not sends_links(registry, case):
        raise Conflict(_l("The SIP has ended: no personal link is sent any more."))
    # Held to the commit: a second submit waits here, then sees the first one's link.
    lock_case(session, case)
    if newest_link_id(session, case) != seen_last_link_id:
        raise Conflict(
            _l(
                "A personal link was sent in this SIP while you were working: check the list below, then "
                "send again if another is needed."
            )
        )
    participant = session.get(Participant, participant_id)
    if participant is None or participant.case_id != case.id or participant.kind not in LINK_KINDS:
        raise InvalidInput(CHOOSE_RECIPIENT, field="participant_id")
    if not participant.active:
        raise InvalidInput(_l("They no longer take part in this SIP."), field="participant_id")
    if not participant.email:
        raise InvalidInput(
            _l("They have no e-mail address: add one under contact details first."), field="participant_id"
        )
    person = session.get(Person, case.person_id)
    if guardian_of_adult(participant, person, to_local(now).date()):
        raise InvalidInput(
            _l("No link is sent to a guardian once the person has turned 18: custody has ended."),
            field="participant_id",
        )
    link = PersonalLink(
        person_id=case.person_id,
        case_id=case.id,
        participant_id=participant.id,
        sent_to=participant.email,
        created_at=now,
        created_by_user_id=actor.id,
        expires_at=guardian_expiry(expiry(now, valid_days), participant, person),
    )
    session.add(link)
    session.flush()
    _replace_older_links(session, link, now=now)
    # Who the mail speaks for and where a reply goes, as a meeting's invitation: the organisation (never
    # its unit, which may say what care the person gets) and a person's mailbox.
    organisation = contact_organisation(session, case)
    language = recipient_language(participant)
    mail = enqueue(
        session,
        _message(
            link,
            participant.email,
            language,
            recipient_kind=participant.kind,
            organisation=organisation,
            reply_to=staff_mailbox(session, actor.id),
        ),
        kind=OUTBOX_KIND,
        case_id=case.id,
        invitation_id=None,
        now=now,
        language=language,
    )
    link.outbox_id = mail.id
    return link


def _replace_older_links(session: Session, link: PersonalLink, *, now: datetime) -> None:
    """End the participant's links of the case that still work: one live link per recipient, so an old
    mail (a mailbox since shared, a forwarded message) no longer opens the plan. Each names its successor."""
    session.execute(
        update(PersonalLink)
        .where(
            PersonalLink.case_id == link.case_id,
            PersonalLink.participant_id == link.participant_id,
            PersonalLink.id != link.id,
            PersonalLink.revoked_at.is_(None),
            PersonalLink.expires_at > now,
        )
        .values(revoked_at=now, replaced_by_id=link.id)
        .execution_options(synchronize_session=False)
    )


def _message(
    link: PersonalLink,
    to: str,
    locale: str,
    *,
    organisation: str,
    recipient_kind: str = "person",
    reply_to: str | None = None,
) -> EmailMessage:
    """The e-mail carrying the link: in the recipient's language, nothing about the person in the subject.

    recipient_kind: the recipient's participant kind: the person (it is their plan), else a närstående or
    guardian, or a legal representative (god man, förvaltare), told as one (it is not their plan).
    organisation: the SIP's initiating organisation, named as the one to contact and in From (as an
    invitation names its booking organisation); reply_to: the mailbox a plain reply reaches, if any.
    """
    # The page opens in the same language (only another language than the default is spelt out).
    url = link_url(link) + (f"?lang={locale}" if locale != DEFAULT_LOCALE else "")
    for_person = recipient_kind == "person"
    with force_locale(locale):
        context = {
            "url": url,
            "until": format_date(last_valid_day(link), "d MMMM y", locale=locale),
            "for_person": for_person,
            "for_representative": recipient_kind == "representative",
            "organisation": organisation,
        }
        subject = _("Your SIP plan") if for_person else _("SIP plan: your personal link")
        text = current_app.jinja_env.get_template("emails/personal_link.txt").render(**context)
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender(organisation)
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message


def contact_organisation(session: Session, case: SipCase) -> str:
    """The organisation a personal link names as the one to contact: the SIP's initiating organisation.

    The one rule, read by the link's mail and by the page refusing an expired or revoked link, which says
    whom to ask for a new one. An organisation, never its unit, which may say what care the person gets.
    """
    return session.get(Organisation, case.initiating_organisation_id).name


def revoke_link(session: Session, *, case: SipCase, link_id: int, actor: User, now: datetime) -> PersonalLink:
    """End link_id of case now; a link already revoked stays as it was."""
    _check_sender(session, case, actor)
    link = session.get(PersonalLink, link_id)
    if link is None or link.case_id != case.id:
        raise InvalidInput(_l("Unknown link."), field="link_id")
    if link.revoked_at is None:
        link.revoked_at = now
        session.add(link)
        session.flush()
    return link


def touch(session: Session, link: PersonalLink, now: datetime) -> None:
    """Remember when the link was last used (shown to staff on the links page)."""
    link.last_used_at = now
    session.add(link)
    session.flush()


def newest_link_id(session: Session, case: SipCase) -> int:
    """The id of the case's newest personal link, 0 if it has none (the index on case_id finds them)."""
    return session.exec(select(func.max(PersonalLink.id)).where(PersonalLink.case_id == case.id)).one() or 0


def case_links(
    session: Session,
    case: SipCase,
    *,
    now: datetime,
    known: tuple[Person, dict[int, str]] | None = None,
    before: tuple[datetime, int] | None = None,
) -> LinksPage:
    """A page of the case's links, newest first (LIST_LIMIT; before: those older than that cursor), with whom
    each went to, and the older page's token when more follow; known: the person and the labels
    (recipient_choices) when the caller has read them, so they are not read again."""
    query = (
        select(PersonalLink, Participant, User, OutboxMessage.status)
        .join(Participant, Participant.id == PersonalLink.participant_id)
        .outerjoin(User, User.id == PersonalLink.created_by_user_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == PersonalLink.outbox_id)
        .where(PersonalLink.case_id == case.id)
    )
    if before is not None:
        query = query.where(
            or_(
                PersonalLink.created_at < before[0],
                and_(PersonalLink.created_at == before[0], PersonalLink.id < before[1]),
            )
        )
    rows = session.exec(
        query.order_by(PersonalLink.created_at.desc(), PersonalLink.id.desc()).limit(LIST_LIMIT + 1)
    ).all()
    older = None
    if len(rows) > LIST_LIMIT:
        rows, last = rows[:LIST_LIMIT], rows[LIST_LIMIT - 1][0]
        raw = f"{LIST_CURSOR_VERSION}|{stored_utc(last.created_at).isoformat()}|{last.id}"
        older = cursor_token(raw)
    if known is not None:
        person, labels = known
    else:
        person = session.get(Person, case.person_id)
        labels = recipient_labels(session, case) if rows else {}
    today = to_local(now).date()
    result = []
    for link, participant, user, mail_status in rows:
        works = link.revoked_at is None and stored_utc(link.expires_at) > now
        # Ended by the 18th birthday, not run out before it (a link sent since runs out at its start).
        of_age = (
            link.revoked_at is None
            and guardian_of_adult(participant, person, today)
            and stored_utc(link.expires_at) >= _majority_begins(person.birth_date)
        )
        result.append(
            LinkRow(
                link=link,
                recipient=link.sent_to or participant.email or "",
                kind=participant.kind,
                name=labels.get(participant.id, ""),
                created_by=user.display_name if user else None,
                active=works and not of_age,
                last_day=last_valid_day(link),
                of_age=of_age,
                undelivered=mail_status == "failed",
            )
        )
    return LinksPage(result, older)


def revoke_links_of_changed_address(
    session: Session, case: SipCase, participant: Participant, *, now
) -> None:
    """A participant's e-mail address was corrected or cleared: the links mailed to them end now.

    The old address may be a stranger's (a mistyped one), and a link opens the plan to whoever holds it.
    Staff send a new link to the address as it is now; the links page shows the old one as revoked. The
    person's link shows every SIP of theirs, so the person's links from their other SIPs mailed to an
    address this SIP's links to them went to (and no longer goes to) end too.
    """
    if participant.kind == "person":
        old = {
            address.lower()
            for address in session.exec(
                select(PersonalLink.sent_to).where(
                    PersonalLink.case_id == case.id,
                    PersonalLink.participant_id == participant.id,
                    PersonalLink.sent_to.is_not(None),
                )
            ).all()
        } - {(participant.email or "").lower()}
        if old:
            session.execute(
                update(PersonalLink)
                .where(
                    PersonalLink.person_id == case.person_id,
                    PersonalLink.participant_id.in_(
                        select(Participant.id).where(Participant.kind == "person")
                    ),
                    func.lower(PersonalLink.sent_to).in_(sorted(old)),
                    PersonalLink.revoked_at.is_(None),
                )
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
    session.execute(
        update(PersonalLink)
        .where(
            PersonalLink.case_id == case.id,
            PersonalLink.participant_id == participant.id,
            PersonalLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


register_address_change(revoke_links_of_changed_address)
