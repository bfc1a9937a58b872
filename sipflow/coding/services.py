"""The coding area's services: the catalogue (administrators), code records at a held meeting, reversals.

Records are facts: nothing here edits or deletes one; a correction writes a -1 record naming the one it
reverses. Every function runs inside the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, select

from sipflow.admin import regions
from sipflow.cases import fields
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import lock_case
from sipflow.clock import to_local
from sipflow.coding import queries
from sipflow.coding.models import CODE_KINDS, KIND_CORRECTED, CodeAssignment, CodeDefinition, CodeRecord
from sipflow.coding.rules import ABSENT, CODE_PATTERN, SIP_KIND, CodeChoice, codes_for_meeting, normalise_code
from sipflow.coding.rules import age_on as _age_on
from sipflow.csvfiles import LineError, records
from sipflow.db import add_unless_taken
from sipflow.errors import Conflict, InvalidInput, InvalidInputs, NotAllowed
from sipflow.meetings.models import ATTENDANCE_MODES, HELD, Meeting
from sipflow.meetings.outcome import correct_attendance
from sipflow.people.models import Organisation, Unit, User
from sipflow.retention.models import is_anonymised_case
from sipflow.translated import lazy_gettext as _l

LABEL_MAX = 200
REASON_MAX = 500
# A catalogue file is small (KVÅ has a few thousand codes); more than this is not a catalogue.
CSV_MAX_LINES = 5000
CSV_COLUMNS = ("code", "label", "kind")
ADMIN = "admin"


class CsvRefused(InvalidInput):
    """A catalogue file with bad lines; nothing was loaded. `lines` holds a LineError per refusal."""

    def __init__(self, lines: list[LineError]):
        super().__init__(_l("The file was not loaded: correct the lines below and load it again."), "file")
        self.lines = lines


def _require_admin(actor: User) -> None:
    if actor is None or not actor.has_role(ADMIN):
        raise NotAllowed(_l("Only administrators change the code catalogue."))


def admin_region(session: Session, actor: User | None) -> regions.Region:
    """The region actor administers (regions.admin_region): what of the codes they may change."""
    return regions.admin_region(session, actor)


def catalogue_refusal(region: regions.Region) -> NotAllowed | None:
    """Why region's administrator may not change the catalogue or the SIP code per organisation type, None
    if they may (regions.catalogue_change_refusal): asked by the pages and by every save here."""
    return regions.catalogue_change_refusal(region)


def unit_assignment_refusal(region: regions.Region, organisation: Organisation) -> NotAllowed | None:
    """Why region's administrator may not set the SIP code of a unit of organisation, None if they may: the
    rule of changing the unit itself (regions.unit_change_refusal)."""
    return regions.unit_change_refusal(region, organisation)


def _require_catalogue(session: Session, actor: User) -> None:
    """Refuse anyone but a national administrator a change of the catalogue (NotAllowed)."""
    _require_admin(actor)
    refusal = catalogue_refusal(admin_region(session, actor))
    if refusal is not None:
        raise refusal


# --- Code records ---------------------------------------------------------------------------------------


def record_meeting_codes(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    attendance: dict[int, str],
    participants: list[Participant],
    *,
    actor: User | None,
    now: datetime,
) -> list[CodeRecord]:
    """Write the codes of a meeting just recorded as held, with the person's particulars of that day.

    attendance: participant id -> mode, as the outcome recorded it; participants: the case's active ones.
    """
    units_by_participant = {
        p.id: p.unit_id for p in participants if p.kind == "organisation" and p.unit_id is not None
    }
    present = {pid: mode for pid, mode in attendance.items() if pid in units_by_participant}
    if not present:
        return []
    # The catalogue of every unit present: codes_for_meeting passes over those outside health care.
    facts, person, catalogue = queries.facts_person_and_catalogue(
        session, {units_by_participant[pid] for pid in present}, case.person_id
    )
    choices = codes_for_meeting(
        ((facts.get(units_by_participant[pid]), mode) for pid, mode in present.items()), catalogue
    )
    if not choices:
        return []
    particulars = _meeting_particulars(case, meeting, person)
    return _write_records(session, choices, particulars, actor, now)


def _meeting_particulars(case: SipCase, meeting: Meeting, person: queries.PersonFacts) -> dict:
    """What a meeting's records carry of the meeting and of the person as they are now (its coding)."""
    held_on = to_local(meeting.held_at or meeting.starts_at).date()
    return {
        "case_id": case.id,
        "meeting_id": meeting.id,
        "held_on": held_on,
        "meeting_kind": meeting.kind,
        "person_id": person.person_id,
        "municipality_code": person.municipality_code,
        "legal_sex": person.legal_sex,
        "age_years": _age_on(person.birth_date, held_on),
        "occasion": case.occasion,
    }


def _write_records(
    session: Session, choices: list[CodeChoice], particulars: dict, actor: User | None, now: datetime
) -> list[CodeRecord]:
    """Write a +1 record per code choice with the meeting's particulars; returned unsaved."""
    records = [
        CodeRecord(
            **particulars,
            unit_id=choice.unit.unit_id,
            organisation_id=choice.unit.organisation_id,
            code=choice.code,
            kind=choice.kind,
            sign=1,
            organisation_kind=choice.unit.organisation_kind,
            recorded_at=now,
            recorded_by_user_id=actor.id if actor is not None else None,
        )
        for choice in choices
    ]
    # One INSERT for all of them (the ORM would send one per row on SQLite to read each id back; nothing in
    # the step needs their ids). They are returned unsaved, for what they hold.
    session.connection().execute(
        _INSERT_RECORDS, [{c: getattr(r, c) for c in _RECORD_COLUMNS} for r in records]
    )
    return records


_RECORD_COLUMNS = [c.name for c in CodeRecord.__table__.columns if c.name != "id"]
# Core on the session's connection, built once: the ORM's execute adds nothing to a statement of a table.
_INSERT_RECORDS = insert(CodeRecord.__table__)


ANONYMISED = _l("Retention has anonymised this SIP: its codes are no longer corrected.")


def refuse_anonymised(session: Session, case_id: int) -> None:
    """Refuse a correction of the codes of a case retention has anonymised (Conflict): its typed reason would
    be text about the person that no retention clears again, and the case's statistics are settled."""
    if is_anonymised_case(session, case_id):
        raise Conflict(ANONYMISED)


def reverse_meeting_codes(
    session: Session,
    meeting: Meeting,
    actor: User | None,
    reason: str | None,
    now: datetime,
    *,
    expected_last_id: int | None,
) -> list[CodeRecord]:
    """Write a -1 record for every record of the meeting that still counts; the records stay as they are.

    Refused without a reason, when nothing of the meeting counts any more (already corrected), and when a
    record was written since the form was read (expected_last_id: a stale page, a second submit).
    """
    reason = fields.free_text(reason, "reason", limit=REASON_MAX)
    if not reason:
        raise InvalidInput(_l("Say why the codes are corrected."), field="reason")
    refuse_anonymised(session, meeting.case_id)
    # Two submits at once: the second waits here for the first's commit, then finds the codes changed.
    lock_case(session, session.get(SipCase, meeting.case_id))
    codes = queries.meeting_codes(session, meeting.id)
    standing = codes.standing
    if not standing:
        # Reversed since the page was read (another tab, another user): say so, not just "changed".
        raise Conflict(
            _l("The meeting's codes were reversed after you opened the page: nothing is left to reverse.")
            if expected_last_id != codes.last_id
            else _l("The meeting has no codes that count: nothing to correct.")
        )
    if expected_last_id != codes.last_id:
        raise Conflict(_l("The meeting's codes changed since you opened the page: check them and try again."))
    reversals = _reversals(standing, actor, reason, now)
    session.add_all(reversals)
    session.flush()
    return reversals


def _reversals(
    standing: list[CodeRecord], actor: User | None, reason: str, now: datetime
) -> list[CodeRecord]:
    """A -1 record naming each of standing, with what it reverses (its meeting kind too: the two cancel)."""
    return [
        CodeRecord(
            **record.model_dump(exclude=_NOT_COPIED),
            sign=-1,
            reverses_id=record.id,
            recorded_at=now,
            recorded_by_user_id=actor.id if actor is not None else None,
            reason=reason,
        )
        for record in standing
    ]


# What a record's reversal, or its copy recorded again, does not copy from it.
_NOT_COPIED = {"id", "sign", "reverses_id", "recorded_at", "recorded_by_user_id", "reason"}


def follow_meeting_kind(
    session: Session, meeting: Meeting, *, actor: User | None, now: datetime
) -> list[CodeRecord]:
    """The meeting's kind changed after its codes were recorded (another meeting of the SIP turned out to be
    held first, meetings.services.settle_meeting_kinds): each record still counting with the old kind is
    reversed and recorded again with the meeting's kind, the rest as it was. Records are facts: the old ones
    stay, the reversal says why (KIND_CORRECTED). Returns the new +1 records; none when nothing counts with
    another kind. Runs in the step that recorded the other meeting as held, whose claim holds the case's row.
    """
    standing = [
        record
        for record in queries.meeting_codes(session, meeting.id).standing
        if record.meeting_kind != meeting.kind
    ]
    if not standing:
        return []
    recorded = [
        CodeRecord(
            **record.model_dump(exclude=_NOT_COPIED | {"meeting_kind"}),
            meeting_kind=meeting.kind,
            sign=1,
            recorded_at=now,
            recorded_by_user_id=actor.id if actor is not None else None,
        )
        for record in standing
    ]
    session.add_all(_reversals(standing, actor, KIND_CORRECTED, now))
    session.add_all(recorded)
    session.flush()
    return recorded


# What a re-recorded meeting's records copy from its reversed ones: the meeting and the person as they were
# on the meeting day (a move since then must not move the meeting in the statistics). Not its kind: that is
# the meeting's as settled now (first or follow-up, meetings.services.settle_meeting_kinds).
_PARTICULARS = (
    "case_id",
    "meeting_id",
    "held_on",
    "person_id",
    "municipality_code",
    "legal_sex",
    "age_years",
    "occasion",
)


def rerecord_meeting_codes(
    session: Session,
    case: SipCase,
    meeting: Meeting,
    attendance: Mapping[int, str],
    *,
    expected_last_id: int | None,
    actor: User | None,
    now: datetime,
) -> list[CodeRecord]:
    """Record the codes of a held meeting again after their reversal, or for the first time when it has
    none (its outcome recorded no health-care unit as taking part), from the attendance staff corrected.

    attendance: participant id -> mode for each health-care participant of the meeting
    (queries.meeting_care_attendance); the codes follow from it by the rules that code a held meeting.
    expected_last_id: the meeting's last record when the form was read (None: it had none); anything
    written since refuses (a stale form, a double submit). Reversed records stay; the new ones say who
    recorded them, when.

    Every health-care unit absent is a held meeting the region records no code for (the municipality and
    the person met): the attendance is corrected and nothing is recorded (an empty list). A unit taking
    part whose organisation has no SIP code set is refused: its codes would be missing, not absent.
    """
    if meeting.status != HELD:
        raise Conflict(_l("Only a held meeting has codes."))
    refuse_anonymised(session, case.id)
    # Two submits at once: the second waits here for the first's commit, then finds its codes in force.
    lock_case(session, case)
    codes = queries.meeting_codes(session, meeting.id)
    if codes.standing:
        raise Conflict(_l("The meeting's codes are in force: reverse them before you record them again."))
    if expected_last_id != codes.last_id:
        raise Conflict(_l("The meeting's codes changed since you opened the page: check them and try again."))
    units = {row.participant_id: row.unit_id for row in queries.meeting_care_attendance(session, meeting)}
    if not units:
        message = _l("No health-care unit takes part in the meeting: it has no codes.")
        raise InvalidInput(message, field="attendance")
    refusals = [
        InvalidInput(_l("Choose how the unit took part."), field=f"mode-{pid}")
        for pid in units
        if attendance.get(pid) not in ATTENDANCE_MODES
    ]
    if refusals:
        raise InvalidInputs(refusals)
    modes = {pid: attendance[pid] for pid in units}
    last = next((record for record in reversed(codes.records) if record.sign == 1), None)
    facts, person, catalogue = queries.facts_person_and_catalogue(
        session, set(units.values()), last.person_id if last is not None else case.person_id
    )
    choices = codes_for_meeting(((facts.get(units[pid]), mode) for pid, mode in modes.items()), catalogue)
    if not choices and any(mode != ABSENT for mode in modes.values()):
        message = (
            _l(
                "No code follows from this attendance: no SIP code is set for the units that took part (an "
                "administrator sets it), so the meeting's codes stay reversed."
            )
            if last is not None
            else _l(
                "No code follows from this attendance: no SIP code is set for the units that took part (an "
                "administrator sets it), so the meeting still has no codes."
            )
        )
        raise InvalidInput(message, field="attendance")
    # Recorded again: the day and the person as the reversed records had them (a move since then does not
    # move the meeting), the kind the meeting's; recorded for the first time: as the outcome's coding would.
    particulars = (
        {name: getattr(last, name) for name in _PARTICULARS} | {"meeting_kind": meeting.kind}
        if last is not None
        else _meeting_particulars(case, meeting, person)
    )
    # The meeting's attendance says what its codes say (the statistics count both).
    correct_attendance(session, meeting, modes)
    if not choices:
        return []
    return _write_records(session, choices, particulars, actor, now)


# --- The catalogue --------------------------------------------------------------------------------------


def _check_code(code: str, field: str = "code") -> str:
    code = normalise_code(code or "")
    if not code:
        raise InvalidInput(_l("Enter the code."), field=field)
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(_l("A KVÅ code is two or three letters and three digits, as XU045."), field=field)
    return code


def _check_label(label: str, field: str = "label") -> str:
    label = fields.line_text(label, field, limit=LABEL_MAX)
    if not label:
        raise InvalidInput(_l("Enter what the code means."), field=field)
    return fields.one_line(label, field)


def _check_kind(kind: str, field: str = "kind", *, in_file: bool = False) -> str:
    """One of CODE_KINDS; refused in the words the user sees: the form's choices, or the file's values."""
    kind = (kind or "").strip().lower()
    if kind not in CODE_KINDS:
        # The form offers the kinds by their names; a catalogue file spells them as its column documents.
        message = (
            _l("Write sip (a SIP meeting) or distance (care at a distance, by video) in the column kind.")
            if in_file
            else _l("Choose what the code counts as: a SIP meeting or care at a distance (video).")
        )
        raise InvalidInput(message, field=field)
    return kind


def add_code(
    session: Session, actor: User, *, code: str, label: str, kind: str, now: datetime
) -> CodeDefinition:
    """Add a code to the catalogue; refused when the code is there already (retired or not)."""
    _require_catalogue(session, actor)
    definition = CodeDefinition(
        code=_check_code(code), label=_check_label(label), kind=_check_kind(kind), created_at=now
    )
    if session.get(CodeDefinition, definition.code) is not None:
        raise InvalidInput(_l("The code is in the catalogue already."), field="code")
    added = add_unless_taken(session, definition)
    if added is None:  # added by a request that committed after the check (a double submit)
        raise InvalidInput(_l("The code is in the catalogue already."), field="code")
    return added


def _definition(session: Session, code: str) -> CodeDefinition:
    definition = session.get(CodeDefinition, normalise_code(code or ""))
    if definition is None:
        raise InvalidInput(_l("No such code in the catalogue."), field="code")
    return definition


def retire_code(session: Session, actor: User, code: str, *, now: datetime) -> CodeDefinition:
    """Retire a code: no meeting records it from now on; the records that carry it stay."""
    _require_catalogue(session, actor)
    definition = _definition(session, code)
    if definition.retired_at is None:
        definition.retired_at = now
        session.add(definition)
    return definition


def unretire_code(session: Session, actor: User, code: str, *, now: datetime) -> CodeDefinition:
    """Bring a retired code back into use."""
    _require_catalogue(session, actor)
    definition = _definition(session, code)
    definition.retired_at = None
    session.add(definition)
    return definition


def set_assignment(
    session: Session,
    actor: User,
    *,
    code: str | None,
    unit_id: int | None = None,
    organisation_kind: str | None = None,
) -> CodeAssignment | None:
    """Set (or, with code None or empty, remove) the SIP code a unit or an organisation kind records: a
    unit's by whoever may change the unit, an organisation kind's by a national administrator only."""
    _require_admin(actor)
    if (unit_id is None) == (organisation_kind is None):
        raise InvalidInput(_l("Choose a unit or an organisation type."), field="target")
    region = admin_region(session, actor)
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise InvalidInput(_l("No such unit."), field="target")
        refusal = unit_assignment_refusal(region, session.get(Organisation, unit.organisation_id))
    else:
        refusal = catalogue_refusal(region)
    if refusal is not None:
        raise refusal
    if organisation_kind is not None and organisation_kind not in queries.organisation_kinds(session):
        raise InvalidInput(_l("No such organisation type."), field="target")
    where = (
        CodeAssignment.unit_id == unit_id
        if unit_id is not None
        else CodeAssignment.organisation_kind == organisation_kind
    )
    current = session.exec(select(CodeAssignment).where(where)).first()
    if not code:
        if current is not None:
            session.delete(current)
            session.flush()
        return None
    definition = _definition(session, code)
    if definition.kind != SIP_KIND or definition.retired_at is not None:
        raise InvalidInput(_l("Choose a SIP code in use."), field="code")
    if current is None:
        current = CodeAssignment(unit_id=unit_id, organisation_kind=organisation_kind, code=definition.code)
    else:
        current.code = definition.code
    session.add(current)
    session.flush()
    return current


def parse_codes_csv(text: str) -> tuple[list[tuple[int, CodeDefinition]], list[LineError]]:
    """The codes of a catalogue file (columns code,label,kind; ';' or ',' between them, as the directory
    import) with their line numbers, and the refusals by line and column."""
    rows: list[tuple[int, CodeDefinition]] = []
    errors: list[LineError] = []
    lines = records(text)
    _, header = next(lines, (1, None))
    if header is None or tuple(h.strip().lower() for h in header) != CSV_COLUMNS:
        return [], [LineError(1, str(_l("The first line must be the columns code,label,kind.")))]
    seen: set[str] = set()
    for line, row in lines:
        if row is None:
            errors.append(LineError(line, str(_l("The line cannot be read as CSV."))))
            break
        if len(rows) + len(errors) >= CSV_MAX_LINES:
            errors.append(LineError(line, str(_l("At most %(max)d codes in one file.", max=CSV_MAX_LINES))))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_COLUMNS):
            errors.append(LineError(line, str(_l("Three columns: code, label, kind."))))
            continue
        try:
            code = _check_code(row[0])
            definition = CodeDefinition(
                code=code,
                label=_check_label(row[1]),
                kind=_check_kind(row[2], in_file=True),
                created_at=None,
            )
        except InvalidInput as error:
            errors.append(LineError(line, str(error.message), error.field))
            continue
        if code in seen:
            errors.append(LineError(line, str(_l("%(code)s comes twice in the file.", code=code)), "code"))
            continue
        seen.add(code)
        rows.append((line, definition))
    if not rows and not errors:
        errors.append(LineError(1, str(_l("The file holds no codes."))))
    return rows, errors


def load_codes_csv(session: Session, actor: User, text: str, *, now: datetime) -> list[CodeDefinition]:
    """Add every code of a catalogue file, or none: any bad line refuses the whole file (CsvRefused)."""
    _require_catalogue(session, actor)
    rows, errors = parse_codes_csv(text)
    if rows:
        existing = set(
            session.exec(
                select(CodeDefinition.code).where(CodeDefinition.code.in_([d.code for _, d in rows]))
            ).all()
        )
        errors += [
            LineError(line, str(_l("The code is in the catalogue already.")), "code")
            for line, definition in rows
            if definition.code in existing
        ]
    if errors:
        raise CsvRefused(sorted(errors, key=lambda e: e.line))
    added = []
    for line, definition in rows:
        definition.created_at = now
        added.append(add_unless_taken(session, definition))
        if added[-1] is None:  # added since the check above: nothing of the file is (the caller rolls back)
            errors.append(LineError(line, str(_l("The code is in the catalogue already.")), "code"))
    if errors:
        raise CsvRefused(errors)
    return added
