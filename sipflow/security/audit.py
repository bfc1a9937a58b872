"""The access log: who saw or did what with whose SIP, from which organisation, when and why.

In the spirit of patientdatalagen (4 kap. 3 §): every view, print or export of a person's case is logged, and
so is every refused attempt. The log is append-only and hash-chained: each row carries the hash of the row
before it, so `verify_chain` finds an edited, a removed or an appended-by-hand row.

Appends are serialised through the one-row `access_log_head` table. `record_access` first bumps its length
with `UPDATE ... SET length = length + 1`, which takes the row lock on PostgreSQL and the write lock on
SQLite; only then does it read the previous hash and insert. Two writers therefore never fork the chain.
The head is held until the caller's transaction ends: log in a short transaction of its own (as the views
do), or make the append the caller's last write, so no other lock is ever taken after it.

The chain detects tampering by anyone who does not also rewrite every later row and the head. Against a
database administrator it is evidence, not protection: for that, give the application's database role only
INSERT and SELECT on `access_log`, and ship `verify` output (or the head hash) off the host.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import CheckConstraint, Index, bindparam, event, insert, select, text, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel

from sipflow.cases.models import SipCase
from sipflow.clock import local_to_utc, to_local
from sipflow.people.models import Person, Unit, User
from sipflow.translated import lazy_gettext as _l

# Actions: namespaced codes, never translated (the extract shows them with Swedish labels).
CASE_VIEW = "case.view"
# Starting a SIP (and registering its person, when new): the person's first row is who did it.
CASE_CREATE = "case.create"
CASE_PRINT = "case.print"
CASE_EXPORT = "case.export"
CASE_TRANSITION = "case.transition"
CASE_PARTICIPANTS = "case.participants"
CASE_CONSENT = "case.consent"
# Correcting a date the SIP was started with (utskrivningsklar at discharge), which its deadline counts from.
CASE_DATES = "case.dates"
# Recording that the person withdrew their consent for one organisation (consent.views): not a consent given.
CASE_CONSENT_WITHDRAW_ORGANISATION = "case.consent.withdraw_organisation"
MEETING_VIEW = "meeting.view"
MEETING_CHANGE = "meeting.change"
# A staff member's calendar feed fetched with the SIP's meeting in it: logged once per user, case and Swedish
# calendar day (calendar programs fetch every few minutes; record_daily).
MEETING_FEED = "meeting.feed"
# The answer page an invitee reached through the answer link in their invitation (no user; link_id: the
# invitation).
MEETING_LINK_VIEW = "meeting.link_view"
# The same read by the person's own answer link, a närstående's or a guardian's (the invitee's participant
# kind, meetings.services.LINK_VIEW_ACTIONS): the extract tells the person someone else read the meeting, as a
# personal link's reads do. MEETING_LINK_VIEW stays the read of an invited organisation (and every row
# written before these were told apart).
MEETING_LINK_VIEW_PERSON = "meeting.link_view.person"
MEETING_LINK_VIEW_NARSTAENDE = "meeting.link_view.narstaende"
MEETING_LINK_VIEW_GUARDIAN = "meeting.link_view.guardian"
# ... and a legal representative's (god man, förvaltare).
MEETING_LINK_VIEW_REPRESENTATIVE = "meeting.link_view.representative"
# That link refused (the invitation withdrawn, or the meeting over): outcome DENIED, naming the case and the
# invitation as `link_id`, as a refused personal link's `access.denied` row does; an action of its own so the
# loggutdrag can say the number is an invitation's, not a personal link's.
MEETING_LINK_DENIED = "meeting.link_denied"
PERSON_EXTRACT = "person.extract"
PERSON_EXPORT = "person.export"
PERSON_LOOKUP = "person.lookup"
PERSON_CHANGE = "person.change"
ACCESS_DENIED = "access.denied"
# The person's own view of their plans: read by staff, or by the person or närstående through a personal link
# (no user); staff recording an approval or sending a link read the plan's parties too.
PLAN_PERSON_VIEW = "plan.person_view"
PLAN_LINK_VIEW = "plan.link_view"
# The same read through a link sent to a närstående or a guardian (participant kinds): the extract tells the
# person someone else read their plan.
PLAN_LINK_VIEW_NARSTAENDE = "plan.link_view.narstaende"
PLAN_LINK_VIEW_GUARDIAN = "plan.link_view.guardian"
PLAN_LINK_VIEW_REPRESENTATIVE = "plan.link_view.representative"
# A plan version's PDF downloaded through a personal link (a print, not a read), by the link's recipient kind.
PLAN_LINK_PRINT = "plan.link_print"
PLAN_LINK_PRINT_NARSTAENDE = "plan.link_print.narstaende"
PLAN_LINK_PRINT_GUARDIAN = "plan.link_print.guardian"
PLAN_LINK_PRINT_REPRESENTATIVE = "plan.link_print.representative"
PLAN_APPROVALS = "plan.approvals"
# Sending or revoking a personal link; only reading the links page is a read of its own.
PLAN_LINKS = "plan.links"
PLAN_LINKS_VIEW = "plan.links_view"
# The plan editor: reading the working plan, and changing it (or its huvudansvar).
PLAN_VIEW = "plan.view"
PLAN_CHANGE = "plan.change"
# The actions whose link_id is an invitation (its answer link); every other row's link_id is a personal link.
ANSWER_LINK_ACTIONS = frozenset(
    {
        MEETING_LINK_VIEW,
        MEETING_LINK_VIEW_PERSON,
        MEETING_LINK_VIEW_NARSTAENDE,
        MEETING_LINK_VIEW_GUARDIAN,
        MEETING_LINK_VIEW_REPRESENTATIVE,
        MEETING_LINK_DENIED,
    }
)
INVITATION_LINK = "invitation"
PERSONAL_LINK = "personal_link"
# Every action the log takes: record_access refuses any other, so a new code is added here, and the
# loggutdrag's labels (security/extract.py) are tested to name each.
ACTIONS = (
    CASE_VIEW,
    CASE_CREATE,
    CASE_PRINT,
    CASE_EXPORT,
    CASE_TRANSITION,
    CASE_PARTICIPANTS,
    CASE_CONSENT,
    CASE_DATES,
    CASE_CONSENT_WITHDRAW_ORGANISATION,
    MEETING_VIEW,
    MEETING_CHANGE,
    MEETING_FEED,
    MEETING_LINK_VIEW,
    MEETING_LINK_VIEW_PERSON,
    MEETING_LINK_VIEW_NARSTAENDE,
    MEETING_LINK_VIEW_GUARDIAN,
    MEETING_LINK_VIEW_REPRESENTATIVE,
    MEETING_LINK_DENIED,
    PERSON_EXTRACT,
    PERSON_EXPORT,
    PERSON_LOOKUP,
    PERSON_CHANGE,
    ACCESS_DENIED,
    PLAN_PERSON_VIEW,
    PLAN_LINK_VIEW,
    PLAN_LINK_VIEW_NARSTAENDE,
    PLAN_LINK_VIEW_GUARDIAN,
    PLAN_LINK_VIEW_REPRESENTATIVE,
    PLAN_LINK_PRINT,
    PLAN_LINK_PRINT_NARSTAENDE,
    PLAN_LINK_PRINT_GUARDIAN,
    PLAN_LINK_PRINT_REPRESENTATIVE,
    PLAN_APPROVALS,
    PLAN_LINKS,
    PLAN_LINKS_VIEW,
    PLAN_VIEW,
    PLAN_CHANGE,
)

# Purposes: why the access happened, in the words the law and the person use.
PURPOSE_CARE = "vård och behandling / samordning"

ALLOWED = "allowed"
DENIED = "denied"
# A look-up of an identifier nobody is registered under: the search itself is logged, naming no person.
NOT_FOUND = "not_found"
# A form sent to a page the user may see, that the page then refused (invalid, stale, against a rule): the
# SIP was shown to them, and nothing was saved (web._log_case_reads, by the response's status).
NOT_SAVED = "not_saved"
OUTCOMES = (ALLOWED, DENIED, NOT_FOUND, NOT_SAVED)
# Each outcome in words: the one mapping the loggutdrag (in Swedish) and the registerutdrag (in the language
# it is made in) word a row's outcome by, so neither shows a code (tests/security/test_outcome_words.py).
OUTCOME_WORDS = {
    ALLOWED: _l("allowed"),
    DENIED: _l("denied"),
    NOT_FOUND: _l("no match"),
    # The SIP was shown (access allowed); the form sent was refused, or found its step already taken.
    NOT_SAVED: _l("allowed, nothing saved"),
}

GENESIS_HASH = "0" * 64
# The fields a row's hash covers, besides the previous row's hash.
HASHED_FIELDS = (
    "seq",
    "at",
    "user_id",
    "organisation_id",
    "case_id",
    "person_id",
    "action",
    "purpose",
    "outcome",
)
# Fields added to the log later: hashed only when a row has a value, so the rows written before they
# existed keep their hashes and the chain verifies across the change.
OPTIONAL_HASHED_FIELDS = ("link_id", "id_hash")
HEAD_ID = 1
# The rows record_feed looks for: their own part of an index (a literal, so SQLite's planner can match it).
_FEED_ROWS = f"action = '{MEETING_FEED}'"


class AccessLogImmutable(RuntimeError):
    """Raised when anything in the application tries to change or remove an access log row."""


class AccessLogEntry(SQLModel, table=True):
    """One access to a person's data, or one refused attempt; never changed once written."""

    __tablename__ = "access_log"
    # A feed fetch finds the user's feed rows of the day (record_feed): only those rows are in this index,
    # so no other append pays for it.
    __table_args__ = (
        Index(
            "ix_access_log_feed_user_id_at",
            "user_id",
            "at",
            sqlite_where=text(_FEED_ROWS),
            postgresql_where=text(_FEED_ROWS),
        ),
    )

    # Contiguous from 1: a gap is a removed row.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    # No foreign keys: the log must outlive the records it describes (retention may anonymise or remove them).
    case_id: int | None = Field(default=None, index=True)
    person_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    purpose: str = Field(max_length=80)
    outcome: str = Field(max_length=10)
    # The personal link a read without a user went through (no foreign key, as for the case).
    link_id: int | None = None
    # The keyed hash (Person.id_hash) of the identifier a look-up found nobody under: never the number itself,
    # yet whoever holds the number and the key can tell which search it was.
    # Indexed: a person's loggutdrag finds the searches for their number by it (concerns_person).
    id_hash: str | None = Field(default=None, max_length=64, index=True)
    prev_hash: str = Field(max_length=64)
    row_hash: str = Field(max_length=64)


class AccessLogHead(SQLModel, table=True):
    """The chain's one-row head: how many rows it has and the last row's hash; the appenders' lock."""

    __tablename__ = "access_log_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=HEAD_ID, primary_key=True, sa_column_kwargs={"autoincrement": False})
    length: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)


_LOG = AccessLogEntry.__table__
_HEAD = AccessLogHead.__table__


# --- Append-only: the ORM refuses every change and removal ---------------------------------------------


@event.listens_for(AccessLogEntry, "before_update")
def _refuse_update(_mapper, _connection, _target) -> None:
    raise AccessLogImmutable("access log rows cannot be changed")


@event.listens_for(AccessLogEntry, "before_delete")
def _refuse_delete(_mapper, _connection, _target) -> None:
    raise AccessLogImmutable("access log rows cannot be removed")


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    # session.execute(update(...)/delete(...)) bypasses the mapper events above.
    if (state.is_update or state.is_delete) and getattr(state.statement.table, "name", None) == _LOG.name:
        raise AccessLogImmutable("access log rows cannot be changed or removed")


# --- Hashing ---------------------------------------------------------------------------------------------


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(values: Mapping) -> str:
    """The hashed fields of a row as canonical JSON (sorted keys, no spaces, UTC time to the microsecond)."""
    document = {name: values[name] for name in HASHED_FIELDS}
    document.update({name: values[name] for name in OPTIONAL_HASHED_FIELDS if values.get(name) is not None})
    document["at"] = _utc_text(document["at"])
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_row_hash(prev_hash: str, values: Mapping) -> str:
    """sha256 hex of the previous row's hash followed by this row's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(values)).encode("utf-8")).hexdigest()


# --- Appending -------------------------------------------------------------------------------------------


# The append's three statements (two on PostgreSQL), built once: every page that shows a case runs them.
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(length=_HEAD.c.length + 1)
    .returning(_HEAD.c.length, _HEAD.c.last_hash)
)
_APPEND_ROW = insert(_LOG)
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(last_hash=bindparam("new_hash"))
# PostgreSQL: the row's INSERT rides in the head's new hash as a data-modifying WITH, one round trip fewer
# per append. Both always run together (the head is locked already, by the bump), and a failing INSERT
# fails the statement as it failed its own. Its parameters are the row's columns prefixed "row_".
_APPEND_ROW_SETTING_HEAD = _SET_HEAD_HASH.add_cte(
    insert(_LOG)
    .values({column.name: bindparam(f"row_{column.name}", type_=column.type) for column in _LOG.columns})
    .cte("appended")
)


def _bump_head(session: Session):
    """Take the next seq: (new length, last hash) of the head row it locked, None when there is no head."""
    return session.execute(_BUMP_HEAD).first()


def _create_head(session: Session) -> None:
    """Create the head row (new database, or emptied tables), continuing from the log's last row."""
    last = session.execute(select(_LOG.c.seq, _LOG.c.row_hash).order_by(_LOG.c.seq.desc()).limit(1)).first()
    try:
        # A savepoint of the connection, not the session's: a session savepoint's release runs the
        # session's before_commit hooks (the reminders' reconciliation) in the middle of the caller's work.
        with session.connection().begin_nested():
            session.execute(
                insert(_HEAD).values(
                    id=HEAD_ID,
                    length=last.seq if last else 0,
                    last_hash=last.row_hash if last else GENESIS_HASH,
                )
            )
    except IntegrityError:
        pass  # another writer created it first; its row is as good as ours


def _claim_next(session: Session) -> tuple[int, str]:
    """Lock the head, take the next seq and return it with the previous row's hash (one statement)."""
    claimed = _bump_head(session)
    if claimed is None:
        _create_head(session)
        claimed = _bump_head(session)
        if claimed is None:
            raise RuntimeError("the access log head row could not be created")
    length, last_hash = claimed
    return length, last_hash


def _organisation_id(session: Session, user: User | None) -> int | None:
    if user is None or user.unit_id is None:
        return None
    unit = session.get(Unit, user.unit_id)  # the session's identity map answers a second ask
    return unit.organisation_id if unit is not None else None


def record_access(
    session: Session,
    *,
    user: User | None,
    action: str,
    purpose: str,
    case=None,
    person: Person | None = None,
    outcome: str = ALLOWED,
    link_id: int | None = None,
    id_hash: str | None = None,
    organisation_id: int | None = None,
    now: datetime,
) -> None:
    """Append one row to the access log in the caller's transaction (the caller commits).

    The person is taken from the case when not given, except on a refusal: a denied row names the case
    it was refused (when there is one) and nothing else about it. link_id: the personal link the access
    went through, if any; id_hash: the keyed hash of an identifier a look-up found nobody under;
    organisation_id: the user's organisation when the caller holds it already (else read from their unit).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown access-log action {action!r}: add it to audit.ACTIONS")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("record_access() needs an aware datetime")
    if person is not None:
        person_id = person.id
    elif case is not None and outcome == ALLOWED:
        person_id = case.person_id
    else:
        person_id = None
    if organisation_id is None:
        organisation_id = _organisation_id(session, user)
    seq, prev_hash = _claim_next(session)
    values = {
        "seq": seq,
        "at": now.astimezone(UTC),
        "user_id": user.id if user is not None else None,
        "organisation_id": organisation_id,
        "case_id": case.id if case is not None else None,
        "person_id": person_id,
        "action": action,
        "purpose": purpose,
        "outcome": outcome,
        "link_id": link_id,
        "id_hash": id_hash,
    }
    row_hash = compute_row_hash(prev_hash, values)
    # A Core INSERT: every page that shows a case appends a row, and nothing reads it back as an object.
    row = {**values, "prev_hash": prev_hash, "row_hash": row_hash}
    if session.get_bind().dialect.name == "postgresql":
        params = {f"row_{name}": value for name, value in row.items()}
        session.connection().execute(_APPEND_ROW_SETTING_HEAD, {**params, "new_hash": row_hash})
        return
    session.execute(_APPEND_ROW, row)
    session.execute(_SET_HEAD_HASH, {"new_hash": row_hash})


def _swedish_day(now: datetime) -> tuple[datetime, datetime]:
    """The UTC instants the Swedish calendar day of now starts and ends at (a DST day is 23 or 25 hours)."""
    day = to_local(now).date()
    start = local_to_utc(datetime.combine(day, time()))
    return start, local_to_utc(datetime.combine(day + timedelta(days=1), time()))


def feed_cases_logged_today(user_id: int, *, now: datetime):
    """The statement: the ids of the cases with a MEETING_FEED row of the user on now's Swedish day."""
    start, end = _swedish_day(now)
    return (
        select(_LOG.c.case_id)
        .where(
            _LOG.c.user_id == user_id,
            text(_FEED_ROWS),
            _LOG.c.at >= start,
            _LOG.c.at < end,
        )
        .distinct()
    )


def record_feed(session: Session, *, user: User, cases, now: datetime) -> int:
    """Log the user's calendar feed: one MEETING_FEED row per case, user and Swedish day; return how many.

    A calendar program fetches a feed every few minutes, so a row per case and fetch would fill the log
    and queue every fetch on the head's lock. One statement finds the cases already logged today
    (ix_access_log_feed_user_id_at); only the others are appended, in the caller's transaction (make it
    short: the caller commits). Two fetches at the same instant may both append a case: a row too many,
    never one missing.
    """
    logged = set(session.execute(feed_cases_logged_today(user.id, now=now)).scalars())
    appended = 0
    for case in cases:
        if case.id in logged:
            continue
        logged.add(case.id)
        record_access(session, user=user, action=MEETING_FEED, purpose=PURPOSE_CARE, case=case, now=now)
        appended += 1
    return appended


def record_link_access(
    session: Session, *, action: str, case, link_id: int, now: datetime, outcome: str = ALLOWED
) -> None:
    """record_access for an access through a link sent by e-mail (a personal link, an invitation's answer
    link): no user, the link as link_id, for care; the caller commits."""
    record_access(
        session,
        user=None,
        action=action,
        purpose=PURPOSE_CARE,
        case=case,
        outcome=outcome,
        link_id=link_id,
        now=now,
    )


def link_kind(action: str, link_id: int | None) -> str | None:
    """What a row's link_id numbers: an invitation (its answer link), a personal link, or None (no link)."""
    if link_id is None:
        return None
    return INVITATION_LINK if action in ANSWER_LINK_ACTIONS else PERSONAL_LINK


def concerns_person(person_id: int):
    """A WHERE clause over AccessLogEntry: the rows that name the person, one of their cases, or their number.

    Refusals name the case only, so the case is what ties them to the person; a search that found nobody
    (made before they were registered) carries only the keyed hash of the number, so that hash ties it.
    """
    their_cases = select(SipCase.id).where(SipCase.person_id == person_id)
    their_hash = select(Person.id_hash).where(Person.id == person_id).scalar_subquery()
    # One branch per index (person, case, hash): PostgreSQL reads an OR of them, with a subquery in it,
    # as a walk of the whole log.
    rows = union_all(
        select(_LOG.c.seq).where(_LOG.c.person_id == person_id),
        select(_LOG.c.seq).where(_LOG.c.case_id.in_(their_cases)),
        select(_LOG.c.seq).where(_LOG.c.id_hash == their_hash),
    )
    return AccessLogEntry.seq.in_(rows)


# --- Verifying -------------------------------------------------------------------------------------------


def _head(session: Session):
    return session.execute(select(_HEAD.c.length, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID)).first()


def verify_chain(session: Session, *, batch: int = 1000) -> list[str]:
    """Check every row's hash and link, the numbering and the head; return the problems (none: intact).

    The head is read before and after the rows, so appends made while the check runs are no problem.
    The messages name row numbers only, never anything about a person.
    """
    problems: list[str] = []
    head_before = _head(session)
    expected_seq, previous_hash = 1, GENESIS_HASH
    hash_at_head = None
    rows = session.execute(select(_LOG).order_by(_LOG.c.seq).execution_options(yield_per=batch))
    for row in rows:
        values = row._mapping
        seq = values["seq"]
        if seq != expected_seq:
            problems.append(f"entries {expected_seq} to {seq - 1} are missing (removed)")
        if values["prev_hash"] != previous_hash:
            problems.append(f"entry {seq} does not link to the entry before it")
        if compute_row_hash(values["prev_hash"], values) != values["row_hash"]:
            problems.append(f"entry {seq} does not match its hash (changed)")
        if head_before is not None and seq == head_before.length:
            hash_at_head = values["row_hash"]
        previous_hash, expected_seq = values["row_hash"], seq + 1
    last_seq = expected_seq - 1
    head_after = _head(session)
    if head_after is None:
        if last_seq:
            problems.append("the head row is missing")
        return problems
    if head_before is not None:
        if head_before.length > last_seq:
            problems.append(
                f"entries {last_seq + 1} to {head_before.length} are missing from the end (removed)"
            )
        elif head_before.length and hash_at_head != head_before.last_hash:
            problems.append(f"entry {head_before.length} is not the one the head recorded")
    if last_seq > head_after.length:
        problems.append(f"entries {head_after.length + 1} to {last_seq} were added outside the application")
    return problems
