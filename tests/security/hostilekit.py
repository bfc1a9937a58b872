"""Helpers for the hostile-form fuzzer: reading forms with their field kinds, hostile values, a database
fingerprint, a watch of the tables written, the pristine state put back row by row, and a world copied
instead of built again (import as `hostilekit`).

The form reader extends `webkit`'s: besides the name/value pairs a browser would send unchanged, it keeps
each form's method, every field's kind (date, datetime-local, number, select, ...) and its options, and
the page's links, so that the fuzzer can crawl and pick hostile values that fit (or pointedly misfit) a
field.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from support import insert_rows, rows_of, tables_with_rows
from webkit import _Forms

from sipflow.cases.services import forget_unit_organisations

T = TypeVar("T")

# --- Reading forms -----------------------------------------------------------------------------------------


@dataclass
class FieldMeta:
    """What a page says about one field name: its kind and the values it offers."""

    kind: str
    options: list[str] = field(default_factory=list)


@dataclass
class PageForm:
    """One form of a page as a browser sees it."""

    method: str
    action: str
    pairs: list[tuple[str, str]]
    fields: dict[str, FieldMeta]


class _FormsWithKinds(_Forms):
    """webkit's reader, plus the method, the kind and options of every field, and the page's links."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: dict[str, str] = {}
        self.meta: dict[str, dict[str, FieldMeta]] = {}
        self.links: list[str] = []
        self._select_name: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            # A form without action posts to the page itself (the answer page): webkit's reader would skip it.
            if a.get("action") is None:
                attrs = [*attrs, ("action", "")]
                a["action"] = ""
            self.methods[a["action"]] = (a.get("method") or "get").lower()
            self.meta[a["action"]] = {}
        super().handle_starttag(tag, attrs)
        if self._action is None or tag == "form":
            return
        meta = self.meta[self._action]
        if tag == "input" and "name" in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button"):
                return
            entry = meta.setdefault(a["name"], FieldMeta(kind))
            if kind in ("checkbox", "radio"):
                entry.options.append(a.get("value", "on"))
        elif tag == "select" and "name" in a:
            self._select_name = a["name"]
            meta.setdefault(a["name"], FieldMeta("select-multiple" if "multiple" in a else "select"))
        elif tag == "option" and self._select_name is not None:
            meta[self._select_name].options.append(a.get("value", ""))
        elif tag == "textarea" and "name" in a:
            meta.setdefault(a["name"], FieldMeta("textarea"))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select_name = None
        super().handle_endtag(tag)


@dataclass
class Page:
    """A page's forms (actions resolved against the page's address) and internal links."""

    forms: list[PageForm]
    links: list[str]


def read_page(url: str, html: str) -> Page:
    """The forms and same-site links of html, read at url."""
    parser = _FormsWithKinds()
    parser.feed(html)
    forms = []
    for action, pairs in parser.forms.items():
        target = urljoin(url, action or url)
        forms.append(
            PageForm(
                method=parser.methods.get(action, "get"),
                action=_local(target),
                pairs=list(pairs),
                fields=parser.meta.get(action, {}),
            )
        )
    links = []
    for href in parser.links:
        target = urljoin(url, href)
        parts = urlsplit(target)
        if parts.netloc in ("", "localhost") and parts.scheme in ("", "http", "https"):
            links.append(_local(target))
    return Page(forms, links)


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- Refusals --------------------------------------------------------------------------------------------

# What the templates render when they refuse input: field errors, the top alert, a hidden-field error,
# an error flash.
_ERROR_MARKS = re.compile(
    r'class="field-errors"|aria-invalid="true"|class="alert alert-error"|class="form-error"|flash-error'
)


def shows_error(html: str) -> bool:
    """True when the page shows a refusal of what was posted."""
    return bool(_ERROR_MARKS.search(html))


def offsite(location: str) -> bool:
    """True when a Location would take a browser away from sipflow (browsers drop tabs and line breaks)."""
    cleaned = re.sub(r"[\t\r\n]", "", location).strip()
    parts = urlsplit(cleaned)
    if parts.netloc and parts.netloc != "localhost":
        return True
    return cleaned.startswith("//") or cleaned.startswith("/\\") or cleaned.startswith("\\")


# --- Hostile values ----------------------------------------------------------------------------------------

CONTROL_CHARACTERS = ["\r", "\n", "\r\n", "\t", "\x7f", "\u202e", "\x1b", "\x0b", "\x0c", "\x85", "\u2028"]
BAD_DATES = [
    "0001-01-01",
    "9999-12-31",
    "2026-02-31",
    "2026-13-40",
    "0000-00-00",
    "1899-12-31",
    "2200-01-01",
    "-2026-01-01",
    "20261301",
    "2026-1-1",
]
BAD_DATETIMES = [
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "9999-12-31T23:59:59",
    "2026-02-31T10:00",
    "2026-13-40T10:00",
    "2026-03-29T02:30",  # skipped by the spring change
    "2026-10-25T02:30",  # repeated by the autumn change
    "1899-12-31T23:59",
    "2026-01-01T24:00",
    "0001-01-01 00:00:00",
]
BAD_TIMES = ["24:00", "99:99", "-01:00", "23:59:60", "00:00", "23:59", "12", "1200", "12:00:00.999999"]
BAD_NUMBERS = [
    "-1",
    "0",
    str(2**63),
    str(2**64),
    "99999999999999999999",
    str(-(2**63) - 1),
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "1.5",
    "0x10",
    " 7 ",
    "١٢",
]
WRONG_CHOICES = [
    "not-a-choice",
    "admin",
    "NEEDS-ACTION",
    "__class__",
    "on_site; DROP TABLE sipcase",
    "personnummer ",
    "PERSONNUMMER",
]
MARKUP = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{ 7*7 }}",
    "%(x)s %s %n",
    "../../../etc/passwd",
    "\\x00",
    "=cmd|'/c calc'!A1",
]
UNICODE = ["😀", "Å̊ström", "\u200b", "ﷺ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ǅ", "İ"]
HEADER_INJECTION = [
    "eva@example.se\r\nBcc: evil@example.com",
    "eva@example.se\nSubject: x",
    "a@b.c",
    "@example.se",
    '"a b"@example.se',
    "eva@exa mple.se",
]
REDIRECTS = [
    "/\t/evil.example",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/\r\nSet-Cookie: x=1",
    "/\n",
    "\x00",
    "javascript:alert(1)",
]


def _huge() -> st.SearchStrategy[str]:
    return st.sampled_from(["A", "å", "9", "\u202e", "<b>", "\x00", "1990-05-17 "]).map(
        lambda piece: (piece * 100_000)[:100_000]
    )


def _controlled() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(CONTROL_CHARACTERS), st.sampled_from(["", "Eva", "2026-11-10"])).map(
        lambda t: f"{t[1]}{t[0]}{t[1]}x"
    )


def _kinds(pairs: list[tuple[str, st.SearchStrategy]]) -> st.SearchStrategy[tuple[str, str]]:
    return st.one_of(*(strategy.map(lambda v, k=kind: (k, v)) for kind, strategy in pairs))


@dataclass
class Ids:
    """Ids of the world the fuzzer may plant in a field or a URL: other cases', other meetings', ..."""

    numbers: list[int]
    uids: list[str]
    triggers: list[str]
    personnummer: list[str]
    tokens: list[str]


def general_values(ids: Ids) -> st.SearchStrategy[tuple[str, str]]:
    """(kind, value): the values every field gets."""
    return _kinds(
        [
            ("empty", st.just("")),
            ("blank", st.sampled_from([" ", "\t", "  \n "])),
            ("huge", _huge()),
            ("NUL", st.sampled_from(["\x00", "a\x00b", "2026-11-10\x00", "1\x00"])),
            ("control character", _controlled()),
            ("unicode", st.sampled_from(UNICODE) | st.text(max_size=12)),
            ("markup", st.sampled_from(MARKUP)),
            ("personnummer", st.sampled_from(ids.personnummer)),
        ]
    )


def _id_values(ids: Ids) -> st.SearchStrategy[tuple[str, str]]:
    return _kinds(
        [
            ("bad number", st.sampled_from(BAD_NUMBERS)),
            ("other object's id", st.sampled_from(ids.numbers).map(str)),
        ]
    )


def values_for(meta: FieldMeta | None, name: str, ids: Ids) -> st.SearchStrategy[tuple[str, str]]:
    """(kind, value): hostile values for a field, those that fit its kind first."""
    kind = meta.kind if meta else "text"
    specific: list[st.SearchStrategy] = []
    if kind == "date":
        specific.append(_kinds([("bad date", st.sampled_from(BAD_DATES))]))
    elif kind == "datetime-local":
        specific.append(
            _kinds(
                [("bad date-time", st.sampled_from(BAD_DATETIMES)), ("bad date", st.sampled_from(BAD_DATES))]
            )
        )
    elif kind == "time":
        specific.append(_kinds([("bad time", st.sampled_from(BAD_TIMES))]))
    elif kind in ("number", "hidden"):
        specific.append(_id_values(ids))
    elif kind in ("select", "select-multiple", "radio", "checkbox"):
        specific.append(_kinds([("wrong choice", st.sampled_from(WRONG_CHOICES))]))
        specific.append(_id_values(ids))
    if "email" in name:
        specific.append(_kinds([("malformed e-mail", st.sampled_from(HEADER_INJECTION))]))
    if any(word in name for word in ("date", "_at", "_on", "held", "sent", "starts", "ends")):
        specific.append(_kinds([("bad date-time", st.sampled_from(BAD_DATETIMES))]))
    return st.one_of(*specific, general_values(ids))


def notorious(meta: FieldMeta | None, ids: Ids, *, postgres: bool = False) -> list[tuple[str, str]]:
    """(kind, value): the values of a field's kind that broke sipflow before, tried on every run.

    A choice gets a personnummer too: a refusal that quotes the value it refused carries it into the log.
    On PostgreSQL (postgres=True), whose run generates fewer examples, a text field also always gets a
    huge value: PostgreSQL enforces a column's length, SQLite does not.
    """
    kind = meta.kind if meta else "text"
    if kind == "datetime-local":
        return [("bad date-time", "0001-01-01T00:00"), ("bad date-time", "9999-12-31T23:59")]
    if kind == "date":
        return [("bad date", "0001-01-01"), ("bad date", "9999-12-31")]
    if kind == "time":
        return [("bad time", "23:59")]
    if kind in ("number", "hidden"):
        return [("bad number", str(2**64))]
    if kind in ("select", "select-multiple", "radio", "checkbox"):
        return [("wrong choice", "not-a-choice"), ("personnummer", ids.personnummer[0])]
    if kind in ("text", "textarea", "email", "password", "tel"):
        # PostgreSQL refuses a NUL in a text value outright; SQLite stores it.
        return [("NUL", "a\x00b")] + ([("huge", "A" * 100_000)] if postgres else [])
    return []


def path_values(converter: str, ids: Ids) -> st.SearchStrategy[tuple[str, str]]:
    """(kind, value): hostile values for a URL segment of the given kind (int, uid, trigger, token)."""
    odd = _kinds(
        [
            ("NUL", st.sampled_from(["\x00", "a\x00"])),
            ("control character", st.sampled_from(["\r\n", "\t", "\u202e"])),
            ("huge", st.sampled_from(["A", "9"]).map(lambda c: c * 5000)),
            ("markup", st.sampled_from(["..", "%00", "'", "<x>"])),
        ]
    )
    if converter == "int":
        return st.one_of(_id_values(ids), odd)
    if converter == "uid":
        return st.one_of(_kinds([("other case's uid", st.sampled_from(ids.uids))]), odd)
    if converter == "trigger":
        return st.one_of(_kinds([("other step", st.sampled_from(ids.triggers))]), odd)
    if converter == "token":
        return st.one_of(_kinds([("other invitation's token", st.sampled_from(ids.tokens))]), odd)
    return odd


def query_values(ids: Ids) -> st.SearchStrategy[tuple[str, str]]:
    """(kind, value): hostile values for a query parameter (`next` above all)."""
    return st.one_of(_kinds([("off-site redirect", st.sampled_from(REDIRECTS))]), general_values(ids))


# --- The database: a fingerprint, and a copy to restore ---------------------------------------------------

# Reference data: no form may change it, and no test empties it (nor the directory's token row, which the
# database's triggers replace).
KEPT_TABLES = {"county", "municipality", "alembic_version", "directory_version"}
# A refusal writes its trace here by design (the access log; the failed-login counts of any shared store).
REFUSAL_TRACE = re.compile(r"access_log|login|throttl|attempt|failure|limit")
# Every table (the reference data aside), when a statement's tables cannot be told from its text.
EVERY_TABLE = "*"


@cache
def _tables() -> tuple:
    # Sorted once: the metadata sorts its tables again on every access.
    return tuple(t for t in SQLModel.metadata.sorted_tables if t.name not in KEPT_TABLES)


def _prints(connection, tables) -> dict[str, tuple[int, str]]:
    result = {}
    for table in tables:
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
        result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


def fingerprint(engine, *, trace: bool = False, only: set[str] | None = None) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the rows of every table a refusal must leave alone (of only, when given).

    trace=True: of the tables a refusal may write instead, the access log aside (a failed-login store, whose
    counts the fuzzer puts back so that they neither throttle nor slow the examples after).
    """
    chosen = [
        table
        for table in _tables()
        if bool(REFUSAL_TRACE.search(table.name)) == trace
        and not table.name.startswith("access_log")
        and (only is None or table.name in only)
    ]
    with engine.connect() as connection:
        return _prints(connection, chosen)


@cache
def _cascades() -> dict[str, frozenset[str]]:
    """Per table, the tables whose rows the database itself changes when a row of it goes (ON DELETE)."""
    found: dict[str, set[str]] = {}
    for table in _tables():
        for key in table.foreign_keys:
            if (key.ondelete or "").upper() not in ("", "RESTRICT", "NO ACTION"):
                found.setdefault(key.column.table.name, set()).add(table.name)
    return {name: frozenset(dependents) for name, dependents in found.items()}


def could_have_changed(written: set[str]) -> set[str]:
    """The tables whose rows committed writes to written could have changed: those and their cascades."""
    if EVERY_TABLE in written:
        return {table.name for table in _tables()}
    cascades, found, todo = _cascades(), set(), list(written)
    if not cascades:
        return set(written)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(cascades.get(name, ()))
    return found


# The statements that change no row; any other statement is a write, of the table it names or else of any.
_READ = re.compile(r"^\s*(?:SELECT|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SET|SHOW)\b", re.IGNORECASE)
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


class WriteWatch:
    """The tables that committed INSERTs, UPDATEs and DELETEs touched since the last reset (engine events).

    Hashing every table after every request is what a fuzzer's time goes on; a request that committed no
    write to a table changed nothing in it, so only the tables a request wrote need the fingerprint. A
    statement that is neither a read nor one of these three (an upsert spelt otherwise, a CTE, DDL) counts as
    a write to every table.
    """

    def __init__(self, engine) -> None:
        self._engine = engine
        self._pending: dict[int, set[str]] = {}
        self.committed: set[str] = set()
        self._listeners = (
            ("before_cursor_execute", self._statement),
            ("commit", self._commit),
            ("rollback", self._rollback),
        )
        for name, listener in self._listeners:
            event.listen(engine, name, listener)

    def close(self) -> None:
        """Stop watching (the engine outlives the test)."""
        for name, listener in self._listeners:
            event.remove(self._engine, name, listener)

    def reset(self) -> None:
        """Forget what was written so far."""
        self.committed = set()

    def _statement(self, connection, _cursor, statement, _parameters, _context, _executemany) -> None:
        if _READ.match(statement):
            return
        match = _WRITE.match(statement)
        table = match.group(1).lower() if match else EVERY_TABLE
        self._pending.setdefault(id(connection.connection), set()).add(table)

    def _commit(self, connection) -> None:
        self.committed |= self._pending.pop(id(connection.connection), set())

    def _rollback(self, connection) -> None:
        self._pending.pop(id(connection.connection), None)

    def wrote_beyond(self, exempt) -> bool:
        """Whether a committed write touched a table that exempt(name) does not excuse."""
        return any(not exempt(name) for name in self.committed)


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose count or rows differ."""
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def copy_rows(engine) -> dict[str, list[dict]]:
    """Every row of every table but the reference data."""
    with engine.connect() as connection:
        return {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in _tables()
        }


def restore_rows(engine, rows: dict[str, list[dict]]) -> None:
    """Put the database back to a copy: empty the tables (children first) and insert the rows."""
    tables = _tables()
    with engine.begin() as connection:
        for table in reversed(tables):
            connection.execute(table.delete())
        for table in tables:
            if rows.get(table.name):
                connection.execute(table.insert(), rows[table.name])
    # The services cache each unit's organisation; these statements bypass the ORM event that forgets it.
    forget_unit_organisations()


class Pristine:
    """The database as a fuzzer found it: its rows, and their fingerprint, to compare with and put back.

    After a request only the tables it wrote are compared (`changed`), and putting back (`restore`) touches
    only the rows that differ, in the tables written since the last restore (`wrote`): a request changes a
    row or two, where a whole copy is every table's every row.
    """

    def __init__(self, engine) -> None:
        self.engine = engine
        self.rows = copy_rows(engine)
        self.prints = fingerprint(engine) | fingerprint(engine, trace=True)
        self._by_key = {
            table.name: {_key(table, row): row for row in self.rows[table.name]} for table in _tables()
        }
        self.dirty: set[str] = set()

    def wrote(self, written: set[str]) -> None:
        """Committed writes to these tables (the access log included) happened since the last restore."""
        self.dirty |= could_have_changed(written)

    def changed(self, written: set[str]) -> tuple[list[str], list[str]]:
        """Of the tables writes to written could have changed, those whose rows differ now: those a refusal
        must leave alone, and those a refusal may write its trace to (the access log is neither)."""
        suspects = could_have_changed(written)
        now = fingerprint(self.engine, only=suspects) | fingerprint(self.engine, trace=True, only=suspects)
        differ = changed_tables({name: self.prints[name] for name in now}, now)
        return (
            [name for name in differ if not REFUSAL_TRACE.search(name)],
            [name for name in differ if REFUSAL_TRACE.search(name)],
        )

    def restore(self) -> None:
        """Put back every row written since the last restore (the whole copy, should that fail)."""
        tables = [table for table in _tables() if table.name in self.dirty]
        try:
            with self.engine.begin() as connection:
                _put_back(connection, tables, self._by_key)
        except IntegrityError:
            # A unique value a deleted row held, taken by a new row: start from empty tables instead.
            restore_rows(self.engine, self.rows)
        if "unit" in self.dirty:
            forget_unit_organisations()
        self.dirty = set()


def _key(table, row: dict) -> tuple:
    return tuple(row[column.name] for column in table.primary_key.columns)


def _put_back(connection, tables, pristine: dict[str, dict[tuple, dict]]) -> None:
    """Rows gone come back and rows changed are set back (parents first), rows added go (children first)."""
    added: list[tuple] = []
    for table in tables:
        rows = (dict(row._mapping) for row in connection.execute(select(table)))
        now = {_key(table, row): row for row in rows}
        kept = pristine[table.name]
        gone = [row for key, row in kept.items() if key not in now]
        if gone:
            connection.execute(table.insert(), gone)
        key_columns = table.primary_key.columns
        for key, row in kept.items():
            if key in now and now[key] != row:
                match = [column == value for column, value in zip(key_columns, key, strict=True)]
                connection.execute(table.update().where(*match).values(row))
        added.extend((table, key) for key in now if key not in kept)
    for table, key in reversed(added):
        match = [column == value for column, value in zip(table.primary_key.columns, key, strict=True)]
        connection.execute(table.delete().where(*match))


# --- A world built once per worker -------------------------------------------------------------------------

# Per (database URL, key): what the build returned, every row it left, and the files of its outbox folder.
_COPIES: dict[tuple, tuple[object, dict[str, list[dict]], dict[str, bytes]]] = {}


def reused_copy(engine, key: str, outbox: Path, build: Callable[[], T], *, resets=frozenset()) -> T:
    """What build() returns (plain values, no ORM objects): built once per key and worker, then copied.

    Like `support.reused_world`, but the copy is of every row the build left (it may change rows it did not
    add: a crawl's logins stamp the users) and of the .eml files it left in the outbox folder, which pages
    list. Later calls on an empty database insert the rows and write the files again and return a copy of
    the value; on a database that holds rows already it just builds. The tables in resets are ones the
    build empties and fills itself: rows there do not count, and a copy replaces them.
    """
    with engine.connect() as connection:
        if any(table.name not in resets for table in tables_with_rows(connection)):
            return build()
    full_key = (engine.url.render_as_string(), key)
    found = _COPIES.get(full_key)
    if found is not None:
        value, rows, files = found
        with engine.begin() as connection:
            for table in _tables():
                if table.name in resets:
                    connection.execute(table.delete())
        insert_rows(engine, rows)
        for name, content in files.items():
            (outbox / name).write_bytes(content)
        return copy.deepcopy(value)
    value = build()
    files = {path.name: path.read_bytes() for path in outbox.iterdir() if path.is_file()}
    _COPIES[full_key] = (copy.deepcopy(value), rows_of(engine), files)
    return value


# --- References across cases --------------------------------------------------------------------------------


def crossed_references(engine) -> list[str]:
    """The rows that tie one case to another case's parties (an id of another case accepted in a form)."""
    with engine.connect() as connection:
        return [rule for rule, query in _crossing_queries().items() if connection.execute(query).scalar_one()]


@cache
def _crossing_queries() -> dict:
    """One counting query per way a row can tie a case to another case's parties (built once)."""
    from sqlalchemy import and_, exists, func
    from sqlalchemy.orm import aliased

    from sipflow.cases.models import Participant, SipCase
    from sipflow.consent.models import Consent, ConsentOrganisation
    from sipflow.meetings.models import Attendance, Invitation, Meeting
    from sipflow.people.models import Unit

    party = aliased(Participant)
    checks = {
        "an invitation to another case's participant": select(func.count())
        .select_from(Invitation)
        .join(Meeting, Meeting.id == Invitation.meeting_id)
        .join(party, party.id == Invitation.participant_id)
        .where(party.case_id != Meeting.case_id),
        "an attendance of another case's participant": select(func.count())
        .select_from(Attendance)
        .join(Meeting, Meeting.id == Attendance.meeting_id)
        .join(party, party.id == Attendance.participant_id)
        .where(party.case_id != Meeting.case_id),
        "a consent given by another case's participant": select(func.count())
        .select_from(Consent)
        .join(party, party.id == Consent.given_by_participant_id)
        .where(party.case_id != Consent.case_id),
        "a consent covering an organisation that takes no part in the case": select(func.count())
        .select_from(ConsentOrganisation)
        .join(Consent, Consent.id == ConsentOrganisation.consent_id)
        .where(
            ~exists().where(
                and_(
                    Participant.case_id == Consent.case_id,
                    Participant.organisation_id == ConsentOrganisation.organisation_id,
                )
            )
        ),
        "a participating unit of another organisation": select(func.count())
        .select_from(Participant)
        .join(Unit, Unit.id == Participant.unit_id)
        .where(Unit.organisation_id != Participant.organisation_id),
        "a case whose initiating organisation takes no part in it": select(func.count())
        .select_from(SipCase)
        .where(
            ~exists().where(
                and_(
                    Participant.case_id == SipCase.id,
                    Participant.organisation_id == SipCase.initiating_organisation_id,
                )
            )
        ),
    }
    return checks
