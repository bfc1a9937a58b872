"""The registerutdrag (GDPR art. 15): everything sipflow holds about one person, as JSON.

It holds the person record (with the full identifier: it is the person's own), and for each of their cases
the case itself, its participants, consents, meetings and attendance, transition log and deadlines, and
every access-log row about the person or one of their cases. Staff are named with their organisation, as
they acted in their official capacity. Of närstående and guardians the export keeps the name and relation
the person gave, but not their e-mail address or phone number: those are the other person's data
(art. 15(4)), and the person does not need sipflow to know them. The person's own participant row gives
their own e-mail, phone and language. Areas above retention add their sections (the plan, the KVÅ codes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Attendance, Meeting, MeetingDecision
from sipflow.people.models import Municipality, Organisation, Person, Unit, User
from sipflow.security.audit import OUTCOME_WORDS, AccessLogEntry, concerns_person

FORMAT = "sipflow-registerutdrag/1"

CaseSection = Callable[[Session, SipCase], Any]
_CASE_SECTIONS: dict[str, CaseSection] = {}


def register_case_section(key: str, section: CaseSection) -> None:
    """Add key to every case of the export, as section(session, case) gives it (the plan, say).

    Areas above retention register their own data this way, so the export reaches it without importing them.
    """
    _CASE_SECTIONS[key] = section


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


class _Names:
    """Names of organisations, units and staff (the session's identity map loads each once)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _get(self, model, key):
        return None if key is None else self.session.get(model, key)

    def organisation(self, organisation_id: int | None) -> str | None:
        found = self._get(Organisation, organisation_id)
        return found.name if found else None

    def unit(self, unit_id: int | None) -> str | None:
        found = self._get(Unit, unit_id)
        return found.name if found else None

    def user(self, user_id: int | None) -> str | None:
        found = self._get(User, user_id)
        return found.display_name if found else None


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


def _consent(session: Session, consent: Consent, names: _Names) -> dict:
    covered = session.exec(
        select(ConsentOrganisation.organisation_id).where(ConsentOrganisation.consent_id == consent.id)
    ).all()
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


def _meeting(session: Session, meeting: Meeting) -> dict:
    attendance = session.exec(
        select(Attendance).where(Attendance.meeting_id == meeting.id).order_by(Attendance.participant_id)
    ).all()
    decisions = session.exec(
        select(MeetingDecision)
        .where(MeetingDecision.meeting_id == meeting.id)
        .order_by(MeetingDecision.position, MeetingDecision.id)
    ).all()
    return _row(
        meeting,
        "id",
        "kind",
        "status",
        "mode",
        "starts_at",
        "ends_at",
        "location",
        "video_url",
        "held_at",
        "moved",
        "classification",
        "no_change_reason",
        attendance=[
            {"participant_id": a.participant_id, "mode": a.mode, "carer_support": a.carer_support}
            for a in attendance
        ],
        decisions=[
            _row(d, "text", "organisation_id", "unit_id", "participant_id", "due_on") for d in decisions
        ],
    )


def _case(session: Session, case: SipCase, names: _Names) -> dict:
    def rows(model, order):
        return session.exec(select(model).where(model.case_id == case.id).order_by(order)).all()

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
        initiating_organisation=names.organisation(case.initiating_organisation_id),
        created_by=names.user(case.created_by_user_id),
        participants=[_participant(p, names) for p in rows(Participant, Participant.id)],
        consents=[_consent(session, c, names) for c in rows(Consent, Consent.id)],
        meetings=[_meeting(session, m) for m in rows(Meeting, Meeting.starts_at)],
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
            for t in rows(TransitionLog, TransitionLog.at)
        ],
        deadlines=[
            _row(d, "kind", "due_at", "met_at", "cancelled_at") for d in rows(Deadline, Deadline.due_at)
        ],
        **{key: section(session, case) for key, section in _CASE_SECTIONS.items()},
    )


def person_export(session: Session, person_id: int, *, now: datetime) -> dict:
    """Everything held about the person, as a JSON-ready dict (KeyError when there is no such person)."""
    person = session.get(Person, person_id)
    if person is None:
        raise KeyError(person_id)
    names = _Names(session)
    municipality = session.get(Municipality, person.home_municipality_code)
    cases = session.exec(select(SipCase).where(SipCase.person_id == person_id).order_by(SipCase.id)).all()
    case_refs = {case.id: case.reference for case in cases}
    log = session.exec(
        select(AccessLogEntry).where(concerns_person(person_id)).order_by(AccessLogEntry.seq)
    ).all()
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
        "cases": [_case(session, case, names) for case in cases],
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
            )
            for entry in log
        ],
    }


def person_export_json(session: Session, person_id: int, *, now: datetime) -> bytes:
    """The registerutdrag as UTF-8 JSON, indented for a human reader."""
    document = person_export(session, person_id, now=now)
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")
