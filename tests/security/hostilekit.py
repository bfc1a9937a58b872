"""Helpers for the hostile-form fuzzer: reading forms with their field kinds, hostile values, a database
fingerprint and restore (import as `hostilekit`).

The form reader extends `webkit`'s: besides the name/value pairs a browser would send unchanged, it keeps
each form's method, every field's kind (date, datetime-local, number, select, ...) and its options, and
the page's links, so that the fuzzer can crawl and pick hostile values that fit (or pointedly misfit) a
field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlmodel import SQLModel
from webkit import _Forms

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

# Reference data: no form may change it, and no test empties it.
KEPT_TABLES = {"county", "municipality", "alembic_version"}
# A refusal writes its trace here by design (the access log; the failed-login counts of any shared store).
REFUSAL_TRACE = re.compile(r"access_log|login|throttl|attempt|failure|limit")


def _tables():
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in KEPT_TABLES]


def fingerprint(engine, *, trace: bool = False) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the rows of every table a refusal must leave alone.

    trace=True: of the tables a refusal may write instead, the access log aside (a failed-login store, whose
    counts the fuzzer puts back so that they neither throttle nor slow the examples after).
    """
    result = {}
    with engine.connect() as connection:
        for table in _tables():
            traced = bool(REFUSAL_TRACE.search(table.name))
            if traced != trace or table.name.startswith("access_log"):
                continue
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


class WriteWatch:
    """The tables that committed INSERTs, UPDATEs and DELETEs touched since the last reset (engine events).

    Hashing every table after every request is what a fuzzer's time goes on; a request that committed no
    write to a table changed nothing in it, so only a request that did needs the fingerprint.
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
        match = _WRITE.match(statement)
        if match:
            self._pending.setdefault(id(connection.connection), set()).add(match.group(1).lower())

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


# --- References across cases --------------------------------------------------------------------------------


def crossed_references(engine) -> list[str]:
    """The rows that tie one case to another case's parties (an id of another case accepted in a form)."""
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
    with engine.connect() as connection:
        return [rule for rule, query in checks.items() if connection.execute(query).scalar_one()]
