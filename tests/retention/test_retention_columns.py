"""Every text column of every table that holds a case's rows is cleared by retention, or kept for a reason.

The tables are found, not listed: sipcase and every table with a foreign key to one of them, and so on.
Each of their String and Text columns is either in KEPT below (codes, states, ids, tokens, checksums, with
why it may stay) or must be empty after a case is anonymised. The test writes a marker into every such
column of every row of an ended case, runs retention and reads them back: a new column that holds what
someone typed, and that no scrubber clears, fails here until it is cleared or kept on purpose.
"""

from __future__ import annotations

from sqlalchemy import String, Text, and_, or_, select, update
from sqlmodel import AutoString, SQLModel
from test_anonymise import coded_meeting_fields, ended_case, policy, run  # noqa: F401  (fixtures)

from sipflow.coding.models import KIND_CORRECTED, CodeDefinition, CodeRecord
from sipflow.meetings.models import Meeting

MARKER = "Hemligt HEMLIGRUM"

# (table, column): why it may keep its value after anonymisation.
KEPT = {
    ("sipcase", "uid"): "a random id",
    ("sipcase", "reference"): "the case number sipflow gave (SIP-2026-0001), no personal data",
    ("sipcase", "workflow_name"): "a workflow file's name",
    ("sipcase", "state"): "a workflow state, counted by statistics",
    ("sipcase", "occasion"): "a code of the workflow file, counted by statistics",
    ("sipcase", "municipality_code"): "the municipality's code, counted by statistics",
    ("anonymised_case", "final_state"): "a workflow state: which retention applied",
    ("case_visibility", "state"): "a workflow state",
    ("case_visibility", "occasion"): "a code of the workflow file",
    ("deadline", "kind"): "a deadline kind of the workflow file",
    ("meeting", "uid"): "a random iCalendar UID",
    ("meeting", "kind"): "first or follow_up",
    ("meeting", "status"): "a meeting status",
    ("meeting", "mode"): "a meeting mode, counted by statistics",
    ("meeting", "classification"): "derived from the attendance, counted by statistics",
    ("participant", "kind"): "a participant kind",
    ("participant", "role"): "a participant role code",
    ("participant", "language"): "a language code",
    ("planversion", "trigger"): "the workflow trigger that froze the version",
    ("planversion", "pdf_sha256"): "a checksum (of no bytes once scrubbed)",
    ("transitionlog", "trigger"): "a workflow trigger",
    ("transitionlog", "from_state"): "a workflow state",
    ("transitionlog", "to_state"): "a workflow state",
    ("attendance", "mode"): "how someone took part, counted by statistics",
    ("attendance", "carer_support"): "a code, counted by statistics",
    ("code_record", "code"): "a KVÅ code",
    ("code_record", "kind"): "a code kind",
    ("code_record", "meeting_kind"): "first or follow_up",
    ("code_record", "municipality_code"): "the municipality's code, counted by statistics",
    ("code_record", "legal_sex"): "kept as on the person, counted by statistics",
    ("code_record", "occasion"): "a code of the workflow file",
    ("code_record", "organisation_kind"): "an organisation kind",
    ("consent", "decision"): "given, declined: counted by statistics",
    ("consent", "given_by"): "who gave it, as a code (person, guardian)",
    ("consent", "form"): "written or oral",
    ("invitation", "channel"): "email or post",
    ("invitation", "role"): "an iCalendar role code",
    ("invitation", "partstat"): "the answer, counted as attendance",
    ("invitation", "answer_mode"): "a meeting mode",
    ("invitation", "answered_via"): "a channel code",
    ("invitation", "token_nonce"): "a random nonce",
    ("personallink", "nonce"): "a random nonce (the link is revoked)",
    ("planapproval", "method"): "an approval method code",
    ("planapproval", "party"): "the party approving: an organisation id, or the person",
    ("plangoal", "uid"): "a random id",
    ("plangoal", "kind"): "a goal kind",
    ("planeffort", "uid"): "a random id",
    ("planeffort", "kind"): "an effort kind",
    ("planeffort", "status"): "an effort status",
    ("outboxmessage", "kind"): "a mail kind",
    ("outboxmessage", "subject"): "never personal (the case number)",
    ("outboxmessage", "message_id"): "a random Message-ID",
    ("outboxmessage", "status"): "a delivery status",
    ("reminder", "kind"): "a reminder kind",
    ("reminder", "dedupe_key"): "kind, ids and a time stamp only",
    ("reminder", "topic"): "a workflow reminder's or deadline's name",
    ("reminder", "template"): "a template name",
    ("reminder", "status"): "a reminder status",
    ("reminder", "claimed_by"): "a worker's name",
    ("reminder", "skip_reason"): "one of SKIP_REASONS",
    ("reminder", "last_error"): "an error class name only",
}


# Tables a foreign key ties to a case's table whose rows are never a case's: why.
NO_CASE_ROWS = {
    "password_link": "a staff member's set-password link; the mail it names (outbox_id) is no case's",
}


def case_tables():
    """sipcase and every table holding rows that belong to a case, through foreign keys (parents first)."""
    names = {"sipcase"}
    grown = True
    while grown:
        grown = False
        for table in SQLModel.metadata.sorted_tables:
            if table.name in NO_CASE_ROWS:
                continue
            if table.name not in names and any(fk.column.table.name in names for fk in table.foreign_keys):
                names.add(table.name)
                grown = True
    return [table for table in SQLModel.metadata.sorted_tables if table.name in names]


def text_columns(table):
    return [c for c in table.columns if isinstance(c.type, (String, AutoString, Text))]


def free_columns(table):
    """The text columns that must be empty after anonymisation."""
    return [c for c in text_columns(table) if (table.name, c.name) not in KEPT]


def case_rows(connection, case_id: int) -> dict[str, list]:
    """Per table, the rows of the case: those naming the case, or a row of the case through a foreign key."""
    tables = case_tables()
    rows: dict[str, list] = {table.name: [] for table in tables}
    for _round in range(len(tables)):  # until nothing more is found (reminder and outbox point both ways)
        before = sum(len(found) for found in rows.values())
        for table in tables:
            if table.name == "sipcase":
                rows["sipcase"] = connection.execute(select(table).where(table.c.id == case_id)).all()
                continue
            links = [
                fk.parent.in_([getattr(row, fk.column.name) for row in rows[fk.column.table.name]])
                for fk in table.foreign_keys
                if fk.column.table.name in rows and rows[fk.column.table.name]
            ]
            if links:
                rows[table.name] = connection.execute(select(table).where(or_(*links))).all()
        if sum(len(found) for found in rows.values()) == before:
            break
    return rows


def _key(table, row):
    return and_(*(column == getattr(row, column.name) for column in table.primary_key.columns))


def test_every_kept_column_exists():
    """An entry in KEPT for a column that is gone (or renamed) would hide the new one."""
    existing = {(t.name, c.name) for t in case_tables() for c in text_columns(t)}
    assert set(KEPT) - existing == set()


def test_retention_clears_every_free_text_column_of_a_case(
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    case = ended_case("closed")
    meeting = db_session.execute(select(Meeting).where(Meeting.case_id == case.id)).scalars().one()
    # A code reversal with a reason staff typed, beside one sipflow gave (which says nothing of the person).
    if db_session.get(CodeDefinition, "XU045") is None:
        db_session.add(CodeDefinition(code="XU045", label="SIP", kind="sip", created_at=now))
    record_fields = coded_meeting_fields(case, meeting, parties)
    record = CodeRecord(**record_fields)
    db_session.add(record)
    db_session.flush()
    db_session.add(CodeRecord(**record_fields, sign=-1, reverses_id=record.id, reason="Kim var inte där"))
    system = CodeRecord(**record_fields)
    db_session.add(system)
    db_session.flush()
    db_session.add(CodeRecord(**record_fields, sign=-1, reverses_id=system.id, reason=KIND_CORRECTED))
    db_session.commit()

    connection = db_session.connection()
    tables = {table.name: table for table in case_tables()}
    rows = case_rows(connection, case.id)
    missing = [n for n, t in tables.items() if free_columns(t) and not rows[n]]
    assert missing == [], f"ended_case writes no row of {missing}: add one, so their columns are checked"
    for name, table in tables.items():
        columns = free_columns(table)
        for row in rows[name] if columns else ():
            values = {}
            for column in columns:
                if name == "code_record" and row.reason == KIND_CORRECTED:
                    continue  # sipflow's own words: kept (see below)
                if name == "code_record" and row.sign == 1:
                    continue  # a record has no reason
                length = getattr(column.type, "length", None) or len(MARKER)
                values[column.name] = MARKER[:length]
            if values:
                connection.execute(update(table).where(_key(table, row)).values(**values))
    db_session.commit()
    db_session.expire_all()  # the session's objects must see the markers written past them

    assert run(db_session, policy, now) == 1
    db_session.expire_all()
    rows = case_rows(db_session.connection(), case.id)
    left = sorted(
        f"{name}.{column.name}"
        for name, table in tables.items()
        for column in free_columns(table)
        for row in rows[name]
        if getattr(row, column.name) not in (None, "") and getattr(row, column.name) != KIND_CORRECTED
    )
    assert left == [], f"retention leaves typed text in {sorted(set(left))}: clear it, or add it to KEPT"
    kept = [row.reason for row in rows["code_record"] if row.reason is not None]
    assert kept == [KIND_CORRECTED]
