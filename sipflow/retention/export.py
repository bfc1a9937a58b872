"""The registerutdrag (GDPR art. 15): everything sipflow holds about one person, as JSON.

It holds the person record (with the full identifier: it is the person's own), and for each of their cases
the case itself (with `anonymised_at`, the day retention cleared its free text, or null: an anonymised case
is listed as such, with what is left of it), its participants, consents, meetings (place and room) with
their invitations (who was invited, at which address, their answer, mode and comment), attendance and
decisions, transition log and deadlines, and every access-log row about the person or one of their cases
(a read through a link with the link's number and kind, as the loggutdrag names it, and the invitations
and personal links listed with their numbers).
Areas above retention add their sections with `register_cases_section`: the plan, the KVÅ codes, the mails
sent about the case (recipient, subject, when, status: the recipients the data was disclosed to, art.
15(1)(c); not the bodies) and the personal links (to whom, at which address). Each table is read once for
all the person's cases, never once per case or meeting. Staff are named with their organisation, as they
acted in their official capacity. Of närstående and guardians the export keeps the name and relation the
person gave, and their answers to invitations, but not their e-mail address or phone number, nor the
address an invitation, mail or link went to them at, nor the comment they answered with (it says that
there was one): those are the other person's data (art. 15(4)). The person's own participant row gives
their own e-mail, phone and language. Only the person's own cases are read: sipflow does not know a
närstående as a person (a participant row has a name, no identifier), so the rows where this person is
someone else's närstående cannot be found with certainty and are not searched for by name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any

from sqlmodel import Session, select

from sipflow.cases.models import PRIVATE_KINDS, Deadline, Participant, SipCase, TransitionLog
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Attendance, Invitation, Meeting, MeetingDecision
from sipflow.people.models import Municipality, Organisation, Person, Unit, User
from sipflow.retention.models import AnonymisedCase
from sipflow.security.audit import OUTCOME_WORDS, AccessLogEntry, concerns_person, link_kind

FORMAT = "sipflow-registerutdrag/1"
# The participants who are other persons than the one the export is about: their addresses and their own
# words are their data (art. 15(4)); the export names them by name and relation only.
THIRD_PARTY_KINDS = frozenset(PRIVATE_KINDS)


@dataclass(frozen=True)
class ThirdParties:
    """Who on the person's cases is another person: their participant ids, and the addresses they had."""

    participant_ids: frozenset[int]
    # Lower-cased addresses per case: a närstående's or guardian's address now, and those invited at.
    addresses: dict[int, frozenset[str]]

    def holds(
        self, case_id: int | None, *, participant_id: int | None = None, address: str | None = None
    ) -> bool:
        """Whether a row of case_id sent to participant_id, or to address, went to another person."""
        if participant_id is not None and participant_id in self.participant_ids:
            return True
        return bool(address) and address.strip().lower() in self.addresses.get(case_id, frozenset())


CasesSection = Callable[[Session, list[SipCase], ThirdParties], dict[int, Any]]
_CASES_SECTIONS: dict[str, CasesSection] = {}


def register_cases_section(key: str, section: CasesSection) -> None:
    """Add key to every case of the export, for all the person's cases at once (a bounded read per table).

    section(session, cases, third_parties) gives {case id: the case's value}; a case it leaves out gets [].
    third_parties says which recipients are other persons, whose addresses the section leaves out.
    """
    _CASES_SECTIONS[key] = section


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    return value


def _row(obj, *fields: str, **extra) -> dict:
    return {name: _value(getattr(obj, name)) for name in fields} | {k: _value(v) for k, v in extra.items()}


# The columns of the exported rows that name a user, an organisation or a unit, by the model named.
_NAMED_BY = {
    User: (
        "user_id",
        "created_by_user_id",
        "removed_by_user_id",
        "contact_user_id",
        "recorded_by_user_id",
        "answered_by_user_id",
        "booked_by_user_id",
    ),
    Organisation: ("organisation_id", "initiating_organisation_id"),
    Unit: ("unit_id",),
}
_NAME_OF = {User: "display_name", Organisation: "name", Unit: "name"}


class _Names:
    """Names of organisations, units and staff, each read once (the identity map holds its objects weakly,
    so a name asked of an object no longer referenced was read again: one statement per row). `read` takes
    the names the export's rows give in one statement per model, so a SIP of many units, contact persons and
    readers of the person's data is exported in as many statements as a small one."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[tuple[type, int], str | None] = {}

    def read(self, rows: Iterable[Any], organisation_ids: Iterable[int] = ()) -> None:
        """Read at once the names rows give (by the columns of _NAMED_BY), and those of organisation_ids."""
        wanted: dict[type, set[int]] = {model: set() for model in _NAMED_BY}
        wanted[Organisation].update(organisation_ids)
        for row in rows:
            for model, columns in _NAMED_BY.items():
                wanted[model].update(getattr(row, column, None) for column in columns)
        for model, ids in wanted.items():
            keys = sorted(key for key in ids if key is not None and (model, key) not in self._known)
            if not keys:
                continue
            found = self.session.exec(
                select(model.id, getattr(model, _NAME_OF[model])).where(model.id.in_(keys))
            ).all()
            self._known.update({(model, key): None for key in keys})
            self._known.update({(model, key): name for key, name in found})

    def _name(self, model, key, attribute: str) -> str | None:
        if key is None:
            return None
        if (model, key) not in self._known:
            found = self.session.get(model, key)
            self._known[model, key] = getattr(found, attribute) if found else None
        return self._known[model, key]

    def organisation(self, organisation_id: int | None) -> str | None:
        return self._name(Organisation, organisation_id, "name")

    def unit(self, unit_id: int | None) -> str | None:
        return self._name(Unit, unit_id, "name")

    def user(self, user_id: int | None) -> str | None:
        return self._name(User, user_id, "display_name")


def _participant(p: Participant, names: _Names) -> dict:
    row = _row(p, "id", "kind", "role", "added_at", "removed_at", "removed_reason")
    # Who took the participant off the SIP, by name as every other actor here.
    row["removed_by"] = names.user(p.removed_by_user_id)
    if p.kind == "organisation":
        row |= {
            "organisation": names.organisation(p.organisation_id),
            "unit": names.unit(p.unit_id),
            "contact_person": names.user(p.contact_user_id),
        }
    elif p.kind == "person":
        # The person's own ways of being reached are their data (art. 15).
        row |= {"email": p.email, "phone": p.phone, "language": p.language}
    else:
        row |= {"name": p.name, "relation": p.relation}
    return row


def _by_case(session: Session, model, case_ids: list[int], order) -> dict[int, list]:
    """The model's rows of all the cases in one statement, per case id in order."""
    grouped: dict[int, list] = defaultdict(list)
    if case_ids:
        for row in session.exec(select(model).where(model.case_id.in_(case_ids)).order_by(order)).all():
            grouped[row.case_id].append(row)
    return grouped


def _by_meeting(session: Session, model, meeting_ids: list[int], *order) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    if meeting_ids:
        for row in session.exec(
            select(model).where(model.meeting_id.in_(meeting_ids)).order_by(*order)
        ).all():
            grouped[row.meeting_id].append(row)
    return grouped


def _consent(consent: Consent, covered: list[int], names: _Names) -> dict:
    return _row(
        consent,
        "id",
        "decision",
        "given_by",
        "given_by_name",
        "form",
        "information_scope",
        "valid_until",
        "declined_reason",
        "recorded_at",
        "withdrawn_at",
        "withdrawn_reason",
        recorded_by=names.user(consent.recorded_by_user_id),
        organisations=sorted(filter(None, (names.organisation(o) for o in covered))),
    )


def _invitation(invitation: Invitation, third_parties: ThirdParties, names: _Names) -> dict:
    """Who was invited, where, and their answer (a närstående's address and own words kept back)."""
    other = third_parties.holds(None, participant_id=invitation.participant_id)
    row = _row(
        invitation,
        # The number the loggutdrag names a read through its answer link by ("Svarslänk i inbjudan nr N").
        "id",
        "participant_id",
        "channel",
        "role",
        "invited_at",
        "partstat",
        "answer_mode",
        "answered_at",
        "answered_via",
        "removed_at",
        email=None if other else invitation.email,
        comment=None if other else invitation.comment,
        answered_by=names.user(invitation.answered_by_user_id),
    )
    if other:
        # That they wrote something is the person's to know; what they wrote is the närstående's own.
        row["comment_withheld"] = bool(invitation.comment)
    return row


def _meeting(meeting: Meeting, related: dict[str, dict[int, list]], third_parties, names) -> dict:
    return _row(
        meeting,
        "id",
        "kind",
        "status",
        "mode",
        "starts_at",
        "ends_at",
        "location",
        "room",
        "video_url",
        "held_at",
        "moved",
        "classification",
        "no_change_reason",
        "cancelled_at",
        booked_by=names.user(meeting.booked_by_user_id),
        invitations=[_invitation(i, third_parties, names) for i in related["invitations"][meeting.id]],
        attendance=[
            {"participant_id": a.participant_id, "mode": a.mode, "carer_support": a.carer_support}
            for a in related["attendance"][meeting.id]
        ],
        decisions=[
            _row(d, "text", "organisation_id", "unit_id", "participant_id", "due_on")
            for d in related["decisions"][meeting.id]
        ],
    )


def _case(
    case: SipCase, rows: dict[str, dict[int, list]], extra: dict[str, Any], names, third_parties
) -> dict:
    anonymised = rows["anonymised"].get(case.id)
    return _row(
        case,
        "reference",
        "workflow_name",
        "workflow_version",
        "state",
        "occasion",
        "requested_at",
        "utskrivningsklar_at",
        "questions",
        "child_view",
        "follow_up_on",
        "closed_reason",
        "created_at",
        "updated_at",
        # When retention cleared the case's free text (None: never): what was cleared is gone, not withheld.
        anonymised_at=anonymised[0].anonymised_at if anonymised else None,
        initiating_organisation=names.organisation(case.initiating_organisation_id),
        created_by=names.user(case.created_by_user_id),
        participants=[_participant(p, names) for p in rows["participants"][case.id]],
        consents=[_consent(c, rows["covered"][c.id], names) for c in rows["consents"][case.id]],
        meetings=[_meeting(m, rows, third_parties, names) for m in rows["meetings"][case.id]],
        transitions=[
            _row(
                t,
                "at",
                "trigger",
                "from_state",
                "to_state",
                "reason",
                "details",
                user=names.user(t.user_id),
                organisation=names.organisation(t.organisation_id),
            )
            for t in rows["transitions"][case.id]
        ],
        deadlines=[_row(d, "kind", "due_at", "met_at", "cancelled_at") for d in rows["deadlines"][case.id]],
        **extra,
    )


def _third_parties(participants: dict[int, list], invitations: dict[int, list], meetings) -> ThirdParties:
    ids = {p.id for rows in participants.values() for p in rows if p.kind in THIRD_PARTY_KINDS}
    addresses: dict[int, set[str]] = defaultdict(set)
    for case_id, rows in participants.items():
        addresses[case_id] |= {p.email.strip().lower() for p in rows if p.id in ids and p.email}
    case_of_meeting = {m.id: m.case_id for rows in meetings.values() for m in rows}
    for meeting_id, rows in invitations.items():
        addresses[case_of_meeting[meeting_id]] |= {
            i.email.strip().lower() for i in rows if i.participant_id in ids and i.email
        }
    return ThirdParties(frozenset(ids), {case_id: frozenset(found) for case_id, found in addresses.items()})


def person_export(session: Session, person_id: int, *, now: datetime) -> dict:
    """Everything held about the person, as a JSON-ready dict (KeyError when there is no such person).

    Each table is read once for all the person's cases (and meetings), never once per case or meeting.
    """
    person = session.get(Person, person_id)
    if person is None:
        raise KeyError(person_id)
    names = _Names(session)
    municipality = session.get(Municipality, person.home_municipality_code)
    cases = session.exec(select(SipCase).where(SipCase.person_id == person_id).order_by(SipCase.id)).all()
    case_refs = {case.id: case.reference for case in cases}
    case_ids = list(case_refs)
    rows: dict[str, dict[int, list]] = {
        "participants": _by_case(session, Participant, case_ids, Participant.id),
        "consents": _by_case(session, Consent, case_ids, Consent.id),
        "meetings": _by_case(session, Meeting, case_ids, Meeting.starts_at),
        "transitions": _by_case(session, TransitionLog, case_ids, TransitionLog.at),
        "deadlines": _by_case(session, Deadline, case_ids, Deadline.due_at),
        "anonymised": _by_case(session, AnonymisedCase, case_ids, AnonymisedCase.case_id),
    }
    consent_ids = [c.id for found in rows["consents"].values() for c in found]
    covered: dict[int, list] = defaultdict(list)
    if consent_ids:
        for consent_id, organisation_id in session.exec(
            select(ConsentOrganisation.consent_id, ConsentOrganisation.organisation_id).where(
                ConsentOrganisation.consent_id.in_(consent_ids)
            )
        ).all():
            covered[consent_id].append(organisation_id)
    rows["covered"] = covered
    meeting_ids = [m.id for found in rows["meetings"].values() for m in found]
    rows["invitations"] = _by_meeting(session, Invitation, meeting_ids, Invitation.invited_at, Invitation.id)
    rows["attendance"] = _by_meeting(session, Attendance, meeting_ids, Attendance.participant_id)
    rows["decisions"] = _by_meeting(
        session, MeetingDecision, meeting_ids, MeetingDecision.position, MeetingDecision.id
    )
    third_parties = _third_parties(rows["participants"], rows["invitations"], rows["meetings"])
    batched = {key: section(session, list(cases), third_parties) for key, section in _CASES_SECTIONS.items()}
    log = session.exec(
        select(AccessLogEntry).where(concerns_person(person_id)).order_by(AccessLogEntry.seq)
    ).all()
    names.read(
        chain(
            cases,
            *(
                found
                for key in ("participants", "consents", "meetings", "transitions")
                for found in rows[key].values()
            ),
            *rows["invitations"].values(),
            log,
        ),
        organisation_ids=(o for found in covered.values() for o in found),
    )
    return {
        "format": FORMAT,
        "generated_at": _value(now),
        "person": _row(
            person,
            "id_kind",
            "id_number",
            "given_name",
            "family_name",
            "birth_date",
            "legal_sex",
            "home_municipality_code",
            "created_at",
            home_municipality=municipality.name if municipality else None,
        ),
        "cases": [
            _case(
                case,
                rows,
                {key: found.get(case.id, []) for key, found in batched.items()},
                names,
                third_parties,
            )
            for case in cases
        ],
        "access_log": [
            _row(
                entry,
                "at",
                "action",
                "purpose",
                # In words (in the language the export is made in), never the log's code.
                outcome=str(OUTCOME_WORDS.get(entry.outcome, entry.outcome)),
                user=names.user(entry.user_id),
                organisation=names.organisation(entry.organisation_id),
                case_reference=case_refs.get(entry.case_id),
                # A read without a user went through a link: which (an invitation's id, a personal link's).
                link_id=entry.link_id,
                link_kind=link_kind(entry.action, entry.link_id),
            )
            for entry in log
        ],
    }


def person_export_json(session: Session, person_id: int, *, now: datetime) -> bytes:
    """The registerutdrag as UTF-8 JSON, indented for a human reader."""
    document = person_export(session, person_id, now=now)
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
