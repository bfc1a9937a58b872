"""Import organisations, units and users from one CSV file: a dry run, then all of it or nothing.

The file (UTF-8, a byte-order mark tolerated, or UTF-16 with its byte-order mark as Excel's "Unicode Text";
`;`, `,` or a tab between columns, found from the header line) has
one record per line and these columns, in any order (docs/examples/county-import.csv):

    record        organisation, unit or user
    key           the organisation's or unit's key, the user's username (what a second import matches on)
    name          the organisation's or unit's name, the user's full name
    kind          organisation: region, municipality, school, friskola, other; unit: vardcentral, psykiatri,
                  ... (codes, any case; the import page lists them with their names, and a name is refused
                  naming its code: CodedValues)
    organisation  a unit's organisation (its key, in this file or already in sipflow)
    unit          a user's unit (its key, in this file or already in sipflow; a coordinator or administrator
                  only may have none, as on the user page)
    county        an organisation's county code (SCB, 2 digits); a municipality's own code gives it
    municipality  an organisation's municipality code (SCB, 4 digits): a municipality's or a school's (a
                  friskola too) only
    health_care   a unit: yes or no (health-care units record KVÅ codes)
    email         a unit's shared mailbox; a user's address (the invitation goes there)
    hsa_id        a unit's HSA-id (optional)
    roles         a user's roles: staff, coordinator, admin (separated by spaces or '|'; staff if empty)
    scope         a coordinator's counties or municipalities (their codes, separated by spaces or '|')
    active        optional (a file may leave the column out): an organisation or unit: no closes it
                  (deactivates it, as its page's button; an organisation's units with it), yes opens it
                  again, empty leaves it as it is (a new one active)

A county, municipality or scope code one digit short whose leading zero Excel dropped (7, 780) is refused
with the likely code named (07, 0780), never padded: a wrong code taken would be worse than a refusal.

Every line is checked before anything is written; one error anywhere and nothing is imported. A file of
more than MAX_LINES records is refused for that alone, before any line is checked. Existing
organisations and units (by key) are changed to what the file says; an existing user (by username) of the
administrator's region is left alone (users are changed on their own page), one of another region is a
line refused as taken, as the user form refuses it. So the same file twice changes nothing the second time,
whatever was deactivated between: a line that changes nothing passes; one that would create or change
something under a deactivated organisation or unit (a unit, a user) is refused as the pages refuse it
(`directory.check_active`), but for one the file itself activates (`active` yes). A unit (organisation)
that closed since the last file is closed by its line with `active` no, through the pages' own service
(`directory.set_units_active`, `set_organisation_active`): it joins no new SIP, and the report names the
running SIPs left with no active unit of the organisation holding huvudansvar, as the pages do.

An administrator's import changes what their pages may (`sipflow.admin.regions`): a region's administrator
creates or changes organisations and units of their county only, a line for another's is refused (a line
that changes nothing may name one, e.g. the organisation of a unit); the command line changes any.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import openpyxl
from flask_babel import force_locale
from sqlalchemy import func, update
from sqlmodel import Session, select

from sipflow.admin import directory
from sipflow.admin.changes import record_change
from sipflow.admin.regions import (
    admin_region,
    check_organisation_change,
    check_unit_change,
    organisation_in_region,
    unit_in_region,
)
from sipflow.admin.users import (
    DISPLAY_NAME_MAX,
    ROLE_LABELS,
    BatchRefused,
    NewUser,
    check_user_unit,
    checked_scope,
    clean_display_name,
    clean_username,
    invite_users,
)
from sipflow.csvfiles import LineError, records, too_long
from sipflow.db import refused_when_locked
from sipflow.errors import Conflict, InvalidInput, UserError
from sipflow.i18n import LOCALES
from sipflow.lengths import fits
from sipflow.lengths import too_long as too_long_message
from sipflow.people.labels import ORGANISATION_KIND_SHORT
from sipflow.people.models import County, Municipality, Organisation, Unit, User
from sipflow.translated import lazy_gettext as _l

logger = logging.getLogger(__name__)

COLUMNS = (
    "record",
    "key",
    "name",
    "kind",
    "organisation",
    "unit",
    "county",
    "municipality",
    "health_care",
    "email",
    "hsa_id",
    "roles",
    "scope",
    "active",
)
# The columns a file may leave out (one made before the column was added still imports as it did).
OPTIONAL_COLUMNS = frozenset({"active"})
RECORDS = ("organisation", "unit", "user")
# The columns each record reads. A value in another is refused at its column, never dropped unsaid: a unit
# has no county or municipality of its own (it is where its organisation is), and an office's county written
# beside it and left out would read as placed.
RECORD_COLUMNS = {
    "organisation": frozenset({"record", "key", "name", "kind", "county", "municipality", "active"}),
    "unit": frozenset(
        {"record", "key", "name", "kind", "organisation", "health_care", "email", "hsa_id", "active"}
    ),
    "user": frozenset({"record", "key", "name", "unit", "email", "roles", "scope"}),
}
UNUSED_COLUMN = {
    "organisation": _l("An organisation's line does not use this column: leave it empty."),
    "unit": _l("A unit's line does not use this column: leave it empty."),
    "user": _l("A user's line does not use this column: leave it empty."),
}
assert set(RECORD_COLUMNS) == set(UNUSED_COLUMN) == set(RECORDS)
assert all(columns <= set(COLUMNS) for columns in RECORD_COLUMNS.values())
MAX_BYTES = 2_000_000
MAX_LINES = 5000
# The longest value each column may hold, checked before anything else reads the line (a name: the longer of
# an organisation's or unit's, directory.NAME_MAX; a user's is checked against DISPLAY_NAME_MAX after).
COLUMN_MAX = {
    "record": 20,
    "key": 64,
    "name": directory.NAME_MAX,
    "kind": 40,
    "organisation": 64,
    "unit": 64,
    # A county's or municipality's name is read (to name its code), so these hold one.
    "county": 80,
    "municipality": 80,
    "health_care": 10,
    "email": directory.EMAIL_MAX,
    "hsa_id": 64,
    "roles": 200,
    "scope": 2000,
    "active": 10,
}
assert set(COLUMN_MAX) == set(COLUMNS)
# Which column an InvalidInput's field, or a changed field of a record, is read from: the report names a
# column by its header and label, never by a field's name in sipflow.
FIELD_COLUMNS = {
    "key": "key",
    "name": "name",
    "kind": "kind",
    "county_code": "county",
    "municipality_code": "municipality",
    "is_health_care": "health_care",
    "email": "email",
    "hsa_id": "hsa_id",
    "organisation_id": "organisation",
    "unit_id": "unit",
    "username": "key",
    "display_name": "name",
    "roles": "roles",
    "scope": "scope",
    "active": "active",
}
assert set(FIELD_COLUMNS.values()) <= set(COLUMNS)
# What the report calls each column beside its header (the pages' labels of the same values).
COLUMN_LABELS = {
    "record": _l("Kind of record"),
    "key": _l("Key or username"),
    "name": _l("Name"),
    "kind": _l("Kind"),
    "organisation": _l("Organisation"),
    "unit": _l("Unit"),
    "county": _l("County"),
    "municipality": _l("Municipality"),
    "health_care": _l("Health-care unit"),
    "email": _l("E-mail"),
    "hsa_id": _l("HSA-id"),
    "roles": _l("Roles"),
    "scope": _l("Counties and municipalities followed"),
    "active": _l("Open (active)"),
}
assert set(COLUMN_LABELS) == set(COLUMNS)
RECORD_LABELS = {"organisation": _l("Organisation"), "unit": _l("Unit"), "user": _l("User")}
assert set(RECORD_LABELS) == set(RECORDS)
ROLE_ALIASES = {"administrator": "admin", "administratör": "admin", "samordnare": "coordinator"}
YES = {"yes", "ja", "true", "1", "y", "j"}
NO = {"no", "nej", "false", "0", "n", ""}


@dataclass(frozen=True, eq=False)
class CodedValues:
    """A column whose values are codes (a kind, a role): what each code is called, and how a value that is
    none of them is refused.

    A value that is a code's name on the pages (in Swedish or English, in any case: "Vårdcentral") is
    refused naming the code, never taken for it: the codes are what a file says in every language and
    release, where a page's wording may change, and the refusal costs one edit (as a code Excel cut short).
    """

    column: str
    what: object  # what the column holds for this record, above its codes on the import page
    labels: dict  # code: its label on the pages (also matched: more labels of the same codes)
    unknown: object  # the refusal of a value that is no code, naming the codes (%(value)s, %(codes)s)
    named: object  # the refusal of a value that is a code's label (%(value)s, %(likely)s)
    more_labels: tuple[dict, ...] = ()

    @property
    def codes(self) -> str:
        """The codes, as the refusals list them."""
        return ", ".join(self.labels)

    def likely(self) -> dict[str, str]:
        """{a label in any language, case folded: its code}."""
        found: dict[str, str] = {}
        for locale in LOCALES:
            with force_locale(locale):
                for labels in (self.labels, *self.more_labels):
                    for code, label in labels.items():
                        found.setdefault(str(label).casefold(), code)
        return found


ORGANISATION_KIND_VALUES = CodedValues(
    "kind",
    _l("The kind of an organisation"),
    directory.ORGANISATION_KIND_LABELS,
    _l("Unknown kind of organisation %(value)s: write one of the codes %(codes)s."),
    _l("%(value)s is the name of a kind of organisation, not its code. Did you mean %(likely)s?"),
    (ORGANISATION_KIND_SHORT,),
)
UNIT_KIND_VALUES = CodedValues(
    "kind",
    _l("The kind of a unit (other when empty)"),
    directory.UNIT_KIND_LABELS,
    _l("Unknown kind of unit %(value)s: write one of the codes %(codes)s."),
    _l("%(value)s is the name of a kind of unit, not its code. Did you mean %(likely)s?"),
)
ROLE_VALUES = CodedValues(
    "roles",
    _l("A user's roles, separated by spaces or | (staff when empty)"),
    ROLE_LABELS,
    _l("Unknown role %(value)s: write one of the codes %(codes)s."),
    _l("%(value)s is the name of a role, not its code. Did you mean %(likely)s?"),
)
# The columns of fixed values, with what each value means: the import page lists them.
COLUMN_VALUES = (
    ("record", _l("The kind of record"), RECORD_LABELS),
    (ORGANISATION_KIND_VALUES.column, ORGANISATION_KIND_VALUES.what, ORGANISATION_KIND_VALUES.labels),
    (UNIT_KIND_VALUES.column, UNIT_KIND_VALUES.what, UNIT_KIND_VALUES.labels),
    (
        "health_care",
        _l("Whether a unit is a health-care unit (no when empty)"),
        {"yes": _l("Yes"), "no": _l("No")},
    ),
    (ROLE_VALUES.column, ROLE_VALUES.what, ROLE_VALUES.labels),
    (
        "active",
        _l("Whether an organisation or unit is open (as it is when empty)"),
        {"yes": _l("Yes"), "no": _l("No")},
    ),
)
# What each column holds, as the import page says it beside the template to download.
COLUMN_HELP = {
    "record": _l("What the line is: organisation, unit or user."),
    "key": _l(
        "The organisation's or unit's key, the user's username: what a later import finds the line's record"
        " by, so it never changes. Lower-case letters a-z, digits, '.', '_' or '-' (no å, ä or ö)."
    ),
    "name": _l(
        "The organisation's or unit's name, the user's full name. The same key with another name renames an"
        " organisation or unit."
    ),
    "kind": _l("The kind of organisation or unit: one of the codes below."),
    "organisation": _l("A unit's organisation: its key, in this file (on any line) or already in sipflow."),
    "unit": _l(
        "A user's unit: its key, in this file or already in sipflow. Empty only for a coordinator or an"
        " administrator."
    ),
    "county": _l(
        "An organisation's county: its SCB code, two digits (07). Empty for a municipality or a school."
    ),
    "municipality": _l("A municipality's or a school's municipality: its SCB code, four digits (0780)."),
    "health_care": _l("A unit: yes for a health-care unit (it records KVÅ codes), otherwise no."),
    "email": _l("A unit's shared mailbox (optional); a new user's address, where their invitation goes."),
    "hsa_id": _l("A unit's HSA-id (optional)."),
    "roles": _l("A user's roles: the codes below, separated by spaces or |."),
    "scope": _l(
        "A coordinator's counties and municipalities (their SCB codes, separated by spaces); empty: every"
        " county."
    ),
    "active": _l(
        "Optional. An organisation or unit: no when it has closed (it is deactivated and joins no new SIP),"
        " yes to open it again, empty to leave it as it is."
    ),
}
assert set(COLUMN_HELP) == set(COLUMNS)
# The template's lines after its header: a record of each kind, to overwrite (a national administrator's dry
# run of it passes).
TEMPLATE_LINES = (
    ("organisation", "exempel-region", "Region Exempel", "region", "", "", "07", "", "", "", "", "", "", ""),
    (
        "organisation",
        "exempel-kommun",
        "Exempel kommun",
        "municipality",
        "",
        "",
        "",
        "0780",
        "",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "unit",
        "exempel-vc",
        "Vårdcentralen Exempel",
        "vardcentral",
        "exempel-region",
        "",
        "",
        "",
        "yes",
        "vc@exempel.example",
        "",
        "",
        "",
        "",
    ),
    (
        "unit",
        "exempel-soc",
        "Socialtjänsten Exempel",
        "socialtjanst",
        "exempel-kommun",
        "",
        "",
        "",
        "no",
        "",
        "",
        "",
        "",
        "",
    ),
    (
        "user",
        "exempel.anna",
        "Anna Exempel",
        "",
        "",
        "exempel-vc",
        "",
        "",
        "",
        "anna@exempel.example",
        "",
        "staff",
        "",
        "",
    ),
)
assert all(len(line) == len(COLUMNS) for line in TEMPLATE_LINES)


def template_csv() -> bytes:
    """The import's template: the header and an example line of each record, as Excel in Swedish opens and
    saves it (a byte-order mark, ';' between columns, CRLF)."""
    lines = [";".join(COLUMNS), *(";".join(line) for line in TEMPLATE_LINES)]
    return "\ufeff".encode() + "\r\n".join([*lines, ""]).encode()


_SPLIT = re.compile(r"[\s|,;]+")

CREATE, CHANGE, UNCHANGED = "create", "change", "unchanged"

# Excel reads a code column as a number and drops its leading zero (07 becomes 7, 0780 becomes 780). Such a
# code is refused naming the likely one, never padded: a wrong code taken is worse than a line refused.
_DIGITS = re.compile(r"[0-9]+")
_SHORT_CODES = {
    # kind: (its digits, its table, the refusal naming the likely code, the refusal when none is likely)
    "county": (
        2,
        County,
        _l(
            "The county code %(code)s is too short: a county code has two digits. Did you mean %(likely)s?"
            " Excel removes leading zeros – format the column as text."
        ),
        _l(
            "The county code %(code)s is too short: a county code has two digits, such as 07."
            " Excel removes leading zeros – format the column as text."
        ),
    ),
    "municipality": (
        4,
        Municipality,
        _l(
            "The municipality code %(code)s is too short: a municipality code has four digits."
            " Did you mean %(likely)s? Excel removes leading zeros – format the column as text."
        ),
        _l(
            "The municipality code %(code)s is too short: a municipality code has four digits, such as 0780."
            " Excel removes leading zeros – format the column as text."
        ),
    ),
}
# A code Excel kept as a number and wrote with decimals ("780.0", or "780,0" in a Swedish Excel).
_EXCEL_DECIMAL = re.compile(r"([0-9]+)[.,]0+")
_DECIMAL_CODES = {
    # kind: (the refusal naming the likely code, the refusal when none is likely)
    "county": (
        _l(
            "The county code %(code)s is a number with decimals: a county code is two digits."
            " Did you mean %(likely)s? Excel turns codes into numbers – format the column as text."
        ),
        _l(
            "The county code %(code)s is a number with decimals: a county code is two digits, such as 07."
            " Excel turns codes into numbers – format the column as text."
        ),
    ),
    "municipality": (
        _l(
            "The municipality code %(code)s is a number with decimals: a municipality code is four digits."
            " Did you mean %(likely)s? Excel turns codes into numbers – format the column as text."
        ),
        _l(
            "The municipality code %(code)s is a number with decimals: a municipality code is four digits,"
            " such as 0780. Excel turns codes into numbers – format the column as text."
        ),
    ),
}


# A county or municipality written by its name where its code goes: refused naming the code (as a kind's name
# is), never taken for it. kind: (the refusal naming the code, the refusal of a value that is no name either).
_PLACE_NAMES = {
    "county": (
        _l("%(value)s is the name of a county, not its code. Did you mean %(likely)s?"),
        _l("%(value)s is not a county code: write the county's SCB code, two digits such as 07."),
    ),
    "municipality": (
        _l("%(value)s is the name of a municipality, not its code. Did you mean %(likely)s?"),
        _l(
            "%(value)s is not a municipality code: write the municipality's SCB code,"
            " four digits such as 0780."
        ),
    ),
}


def _place_name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def place_names(session: Session) -> dict[str, dict[str, str]]:
    """{county or municipality: {a name of one, case folded: its code}}: a county by its name, its region's
    or the name alone as people say it (Jönköpings län, Region Jönköpings län, Jönköping; Gävleborg, Skåne),
    a municipality by its name alone or as a kommun (Jönköping, Jönköpings kommun, Aneby kommun)."""
    counties: dict[str, str] = {}
    for code, name, region_name in session.exec(select(County.code, County.name, County.region_name)).all():
        # "Gävleborgs län": "Gävleborgs" and "Gävleborg" too; "Skåne län": "Skåne".
        stem = name.removesuffix(" län")
        for text in (name, region_name, stem, stem.removesuffix("s")):
            counties.setdefault(_place_name_key(text), code)
    municipalities: dict[str, str] = {}
    for code, name in session.exec(select(Municipality.code, Municipality.name)).all():
        for text in (name, f"{name} kommun", f"{name}s kommun"):
            municipalities.setdefault(_place_name_key(text), code)
    return {"county": counties, "municipality": municipalities}


@dataclass
class Planned:
    """One line's record and what importing it does: create, change (which columns) or nothing."""

    line: int
    record: str
    key: str
    name: str
    outcome: str
    changed_fields: tuple[str, ...] = ()  # the file's columns whose values differ from sipflow's
    values: dict = field(default_factory=dict, repr=False)

    @property
    def record_label(self):
        """The record's kind as the page names it (Organisation, Unit, User)."""
        return RECORD_LABELS[self.record]

    @property
    def changed_labels(self) -> list:
        """The changed columns as the page names them."""
        return [COLUMN_LABELS[column] for column in self.changed_fields]


@dataclass
class ImportReport:
    """The outcome of a dry run or an import: per line, and the errors that stopped it."""

    planned: list[Planned] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    applied: bool = False
    # Units and organisations of sipflow the file renames: their present names are free for its other lines.
    released_unit_ids: frozenset[int] = frozenset()
    released_organisation_ids: frozenset[int] = frozenset()
    # Units of sipflow the file gives another HSA-id (or none): theirs are free for its other lines.
    released_hsa_unit_ids: frozenset[int] = frozenset()
    # Units the import deactivates (its own or their organisation's `active` no; a dry run's too): the pages'
    # warning of the running SIPs they leave without an active unit holding huvudansvar asks of these.
    deactivated_unit_ids: set[int] = field(default_factory=set)

    def of(self, outcome: str) -> list[Planned]:
        """The planned lines with that outcome, in file order."""
        return [p for p in self.planned if p.outcome == outcome]

    @property
    def created(self) -> list[Planned]:
        """Lines that create a record."""
        return self.of(CREATE)

    @property
    def changed(self) -> list[Planned]:
        """Lines that change an existing record."""
        return self.of(CHANGE)

    @property
    def unchanged(self) -> list[Planned]:
        """Lines whose record exists as the file says (or a user, who is never changed)."""
        return self.of(UNCHANGED)

    @staticmethod
    def column_label(column: str):
        """A column (an error's) as the page names it beside its header."""
        return COLUMN_LABELS.get(column, column)


class _LineRefused(Exception):
    def __init__(self, message, column: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.column = column


def _refuse(error: UserError, default_column: str | None = None) -> _LineRefused:
    return _LineRefused(error.message, FIELD_COLUMNS.get(error.field or "", default_column))


# The first bytes of an xlsx (a zip file) and of an xls or other OLE2 file.
_XLSX_SIGNATURE = b"PK\x03\x04"
_OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLD_WORKBOOK = _l(
    "This is an Excel 97-2003 workbook (.xls), which sipflow does not read. In Excel, choose Save as and the"
    " file type Excel Workbook (.xlsx) or CSV UTF-8, and import that file."
)
_UNREADABLE_WORKBOOK = _l(
    "This file cannot be read as an Excel workbook (.xlsx). Save it again as an Excel Workbook (.xlsx) or as"
    " CSV UTF-8, and import that file."
)
# What a workbook of MAX_LINES records may unpack to (its sheet's XML, shared strings and styles); a file
# that unpacks to more is refused before it is read, whatever its size packed.
MAX_WORKBOOK_UNPACKED = 64 * 1024 * 1024

# --- Reading the file --------------------------------------------------------------------------------------


def _csv_records(data: bytes) -> tuple[Iterator[tuple[int, list[str] | None]], LineError | None]:
    """The records of a CSV file, or why it cannot be read as UTF-8 text (or as UTF-16 with its byte-order
    mark)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" (a county's HR export saved as text, tab-separated) is UTF-16 with a
        # byte-order mark, which says the encoding and byte order: read as such, never guessed.
        try:
            return _text_records(data.decode("utf-16"))
        except UnicodeDecodeError as error:
            line = data[: error.start].decode("utf-16", "replace").count("\n") + 1
            message = _l(
                "This line is not UTF-16 text, though the file begins as UTF-16 does. Save the file as"
                " CSV UTF-8, and import that file."
            )
            return iter(()), LineError(line, str(message))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Excel in Swedish saves "CSV (semikolonavgränsad)" in Windows-1252: åäö are the first bytes refused.
        # Never guessed at: a wrong guess would import every name with other letters.
        line = data.count(b"\n", 0, error.start) + 1
        # The line is the error's own (shown before it, "Rad 2: ..."), not said again in its words.
        message = _l(
            "This line is not UTF-8 text: the file was saved in another encoding, as Excel's CSV"
            " (semicolon delimited) is. In Excel, choose Save as and the file type CSV UTF-8, and import that"
            " file."
        )
        return iter(()), LineError(line, str(message))
    return _text_records(text)


def _text_records(text: str) -> tuple[Iterator[tuple[int, list[str] | None]], LineError | None]:
    """The records of a CSV file's decoded text, or why it is not the CSV it claims to be."""
    if "\x00" in text:
        # No directory value holds one, and PostgreSQL stores none: the file is not the CSV it claims to be.
        line = text.count("\n", 0, text.index("\x00")) + 1
        return iter(()), LineError(
            line, str(_l("This line holds a NUL character. Save the file as CSV UTF-8."))
        )
    return records(text), None


def workbook_records(data: bytes) -> tuple[Iterator[tuple[int, list[str] | None]], LineError | None]:
    """The rows of an Excel workbook's first sheet as CSV records (the row number as the line), or why the
    workbook cannot be read.

    A cell is the text it shows unformatted: a number typed as one (a code Excel took for a number) as its
    digits, so a code that lost its leading zero is refused as in a CSV file, saying so; a formula its value
    as last saved. At most MAX_LINES records are read, and no more than MAX_WORKBOOK_UNPACKED unpacked.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except Exception as error:  # noqa: BLE001 (a damaged zip directory: anything, as below)
        logger.info("directory import: a workbook that could not be read (%s)", type(error).__name__)
        return iter(()), LineError(1, str(_UNREADABLE_WORKBOOK))
    if unpacked > MAX_WORKBOOK_UNPACKED:
        message = _l(
            "The workbook is too large unpacked. Save it as CSV UTF-8, or split it into several files."
        )
        return iter(()), LineError(1, str(message))
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = _sheet_rows(book)
        finally:
            book.close()
    except _TooManyRows:
        message = _l(
            "The workbook's first sheet has more than %(max)d rows. Delete the empty rows below the table, or"
            " split the file into several files.",
            max=MAX_SHEET_ROWS,
        )
        return iter(()), LineError(1, str(message))
    except Exception as error:  # noqa: BLE001
        # A damaged upload can make zipfile, zlib, openpyxl or the XML parser raise almost anything (a
        # flipped byte in the zip's directory names a compression method zipfile lacks), and the rows are
        # read lazily, so their reading too: each is a workbook that cannot be read, said so at line 1, never
        # a 500. The kind alone is logged (a message may quote the file's cells).
        logger.info("directory import: a workbook that could not be read (%s)", type(error).__name__)
        return iter(()), LineError(1, str(_UNREADABLE_WORKBOOK))
    return iter(rows), None


# Bounds of a sheet read: rows (empty ones too, which Excel may keep below a table) and columns (a value
# right of the widest table a header could name is left unread).
MAX_SHEET_ROWS = 4 * MAX_LINES
MAX_SHEET_COLUMNS = 256


class _TooManyRows(Exception):
    pass


def _sheet_rows(book) -> list[tuple[int, list[str]]]:
    """The first sheet's rows, until one past MAX_LINES records (read_rows refuses so many; the rest is never
    unpacked); _TooManyRows past MAX_SHEET_ROWS rows."""
    rows = []
    kept = 0
    width = None
    sheet = book.worksheets[0]
    for number, cells in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_SHEET_COLUMNS), start=1):
        if number > MAX_SHEET_ROWS:
            raise _TooManyRows
        values = [_cell_text(cell) for cell in cells]
        while values and not values[-1]:
            values.pop()  # the empty cells right of the row's last value
        # Every row as wide as the header (up to its last named column), as a CSV file's lines are; a value
        # right of it makes the row longer, refused as a CSV line with more columns than the header.
        width = len(values) if width is None else width
        values += [""] * (width - len(values))
        rows.append((number, values))
        kept += any(values)
        if kept > MAX_LINES + 1:
            break
    return rows


def _cell_text(value) -> str:
    """A cell's value as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def read_rows(data: bytes) -> tuple[list[tuple[int, dict]], list[LineError]]:
    """The file's lines as (line number, {column: text}), or the errors that make it unreadable."""
    if len(data) > MAX_BYTES:
        return [], [LineError(1, str(_l("The file is larger than 2 MB.")))]
    if data.startswith(_OLE2_SIGNATURE):
        # The report says how to save it, rather than that it is not UTF-8.
        return [], [LineError(1, str(_OLD_WORKBOOK))]
    if data.startswith(_XLSX_SIGNATURE):
        reader, refused = workbook_records(data)
    else:
        reader, refused = _csv_records(data)
    if refused is not None:
        return [], [refused]
    _line, header = next(reader, (1, None))
    if not header or not any(h.strip() for h in header):
        return [], [LineError(1, str(_l("The file is empty: the first line must name the columns.")))]
    names = [h.strip().lower() for h in header]
    # Excel writes every column right of the table that a cell was ever typed in, unnamed, with a separator
    # on every line ("...;scope;;"): those columns are left out, and a value under one is refused at its line.
    width = len(names)
    while width and not names[width - 1]:
        width -= 1
    names, spare = names[:width], len(names) - width
    missing = [c for c in COLUMNS if c not in names and c not in OPTIONAL_COLUMNS]
    unknown = [n for n in names if n and n not in COLUMNS]
    unnamed = [str(number) for number, n in enumerate(names, start=1) if not n]
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if missing or unknown or unnamed or duplicated:
        problems = []
        if missing:
            problems.append(str(_l("missing columns: %(names)s", names=", ".join(missing))))
        if unknown:
            problems.append(str(_l("unknown columns: %(names)s", names=", ".join(n[:40] for n in unknown))))
        if unnamed:
            problems.append(
                str(
                    _l(
                        "columns without a name (counted from the left): %(numbers)s",
                        numbers=", ".join(unnamed),
                    )
                )
            )
        if duplicated:
            problems.append(str(_l("columns named twice: %(names)s", names=", ".join(duplicated))))
        message = _l(
            "Wrong header (%(problems)s). The columns are: %(columns)s.",
            problems="; ".join(problems),
            columns=", ".join(COLUMNS),
        )
        return [], [LineError(1, str(message))]
    rows: list[tuple[int, dict]] = []
    errors: list[LineError] = []
    for line, values in reader:
        if values is None:
            errors.append(LineError(line, str(_l("This line cannot be read as CSV."))))
            break
        if not any(v.strip() for v in values):
            continue
        if len(rows) + len(errors) >= MAX_LINES:
            # Alone: the errors of the lines before it would bury it, and the file is to be split anyway.
            message = _l(
                "A file holds at most %(max)d records, and this one holds more: split it into several files"
                " and import each.",
                max=MAX_LINES,
            )
            return [], [LineError(1, str(message))]
        if spare and len(values) in (len(names), len(names) + spare):
            extra = [number for number, v in enumerate(values[len(names) :], len(names) + 1) if v.strip()]
            if extra:
                errors.append(
                    LineError(
                        line,
                        str(
                            _l(
                                "A value in column %(number)d, which has no name in the header:"
                                " move it to its column, or name the column.",
                                number=extra[0],
                            )
                        ),
                    )
                )
                continue
            values = values[: len(names)]
        if len(values) != len(names):
            errors.append(
                LineError(
                    line,
                    str(
                        _l(
                            "%(found)d columns where the header has %(expected)d.",
                            found=len(values),
                            expected=len(names),
                        )
                    ),
                )
            )
            continue
        row = dict.fromkeys(OPTIONAL_COLUMNS, "")
        row.update({name: value.strip() for name, value in zip(names, values, strict=True)})
        error = too_long(line, row, COLUMN_MAX)
        if error is not None:
            errors.append(error)
            continue
        rows.append((line, row))
    return rows, errors


# --- Checking every line -----------------------------------------------------------------------------------


class _Planner:
    """Checks the lines against sipflow and against each other, and works out what each one does."""

    def __init__(self, session: Session, rows: list[tuple[int, dict]], actor: User | None = None):
        self.session = session
        # What the import may change and whose users it makes: the region of the administrator running it
        # (national from the command line).
        self.region = admin_region(session, actor)
        self.rows = rows
        self.report = ImportReport()
        by_record = {record: [r for r in rows if r[1]["record"].lower() == record] for record in RECORDS}
        self.by_record = by_record
        self.orgs = self._existing(Organisation, Organisation.key, by_record["organisation"], "key")
        # A clinic split in two, two names swapped: the file's end state counts, so a unit (organisation)
        # the file renames gives up its present name to the file's other lines (one that keeps its name
        # still holds it).
        self.report.released_organisation_ids = _renamed(self.orgs, by_record["organisation"])
        self.orgs.update(self._existing(Organisation, Organisation.key, by_record["unit"], "organisation"))
        self.units = self._existing(Unit, Unit.key, by_record["unit"], "key")
        # A unit the file closes gives up its name too, as a deactivated unit's is free on the pages: a clinic
        # closed and its successor of the same name, in one file.
        self.report.released_unit_ids = _renamed(self.units, by_record["unit"]) | _closed(
            self.units, by_record["unit"]
        )
        self.report.released_hsa_unit_ids = _hsa_moved(self.units, by_record["unit"])
        self.units.update(self._existing(Unit, Unit.key, by_record["user"], "unit"))
        # What every line's checks ask of the directory, read for the whole file at once: the HSA-ids'
        # holders, the names of the units of the organisations the file's units join, the organisations'
        # names and places (asked line by line, a national directory's first file took minutes).
        self.read = directory.read_directory(
            session,
            hsa_ids=[r["hsa_id"] for _, r in by_record["unit"]],
            organisation_ids={organisation.id for organisation in self.orgs.values()},
            organisations=bool(by_record["organisation"]),
            place_codes=[r[c] for _, r in by_record["organisation"] for c in ("county", "municipality")],
        )
        usernames = {r["key"].lower() for _, r in by_record["user"] if r["key"]}
        # The existing users of the file's usernames and their units: one of the region is left alone, one
        # outside it refused as taken (a regional administrator places every user of theirs in a unit).
        self.users = (
            dict(session.exec(select(User.username, User.unit_id).where(User.username.in_(usernames))).all())
            if usernames
            else {}
        )
        emails = {r["email"].lower() for _, r in by_record["user"] if r["email"]}
        # One read for every address of the file; sipflow's users number in the thousands at most.
        self.taken_emails = (
            set(session.exec(select(func.lower(User.email)).where(func.lower(User.email).in_(emails))).all())
            if emails
            else set()
        )
        # Keys first seen on a line of this file: {key: line}.
        self.file_orgs: dict[str, int] = {}
        self.file_units: dict[str, int] = {}
        self.file_unit_orgs: dict[str, str] = {}
        self.file_org_counties: dict[str, str | None] = {}
        self.file_users: dict[str, int] = {}
        self.file_emails: dict[str, int] = {}
        self.file_hsa: dict[str, int] = {}
        self.file_unit_names: dict[tuple[str, str], int] = {}
        self.file_org_names: dict[str, int] = {}
        # What the file's `active` column says of its organisations and units: {key: True, False or None}.
        self.file_org_active: dict[str, bool | None] = {}
        self.file_unit_active: dict[str, bool | None] = {}
        # The ids of the organisations the file closes (`_closed_by_file`), once asked.
        self.closed_org_ids: set[int] | None = None
        # What checked_scope said of each (roles, codes): None when they pass.
        self.scopes_checked: dict[tuple, InvalidInput | None] = {}
        # Each coded column's labels in every language ({label: code}), read when a value is no code.
        self.likely_codes: dict[CodedValues, dict[str, str]] = {}
        # The counties' and municipalities' names (place_names), read when a code column holds a name.
        self.place_names: dict[str, dict[str, str]] | None = None

    def _existing(self, model, key_column, rows, column: str) -> dict:
        keys = {r[column].lower() for _, r in rows if r[column]}
        if not keys:
            return {}
        return {row.key: row for row in self.session.exec(select(model).where(key_column.in_(keys))).all()}

    def plan(self) -> ImportReport:
        for line, row in self.rows:
            if row["record"].lower() not in RECORDS:
                self._error(
                    LineError(line, str(_l("The record must be organisation, unit or user.")), "record")
                )
        steps = (("organisation", self._organisation), ("unit", self._unit), ("user", self._user))
        for record, check in steps:
            for line, row in self.by_record[record]:
                unused = next((c for c in COLUMNS if row[c] and c not in RECORD_COLUMNS[record]), None)
                if unused is not None:
                    self._error(LineError(line, str(UNUSED_COLUMN[record]), unused))
                    continue
                try:
                    self.report.planned.append(check(line, row))
                except _LineRefused as refused:
                    self._error(LineError(line, str(refused.message), refused.column))
        self.report.planned.sort(key=lambda p: p.line)
        self.report.errors.sort(key=lambda e: e.line)
        if not self.report.errors:
            self.report.deactivated_unit_ids = self._closing()
        return self.report

    def _closing(self) -> set[int]:
        """The ids of sipflow's open units the file closes: by their own line's `active` no, or their open
        organisation's (the dry run names the running SIPs it would leave without huvudansvar, as the import
        does)."""
        closing = {
            unit.id
            for key, unit in self.units.items()
            if unit.active and self.file_unit_active.get(key) is False
        }
        org_ids = [
            org.id for key, org in self.orgs.items() if org.active and self.file_org_active.get(key) is False
        ]
        if org_ids:
            closing.update(
                self.session.exec(select(Unit.id).where(Unit.organisation_id.in_(org_ids), Unit.active)).all()
            )
        return closing

    def _error(self, error: LineError) -> None:
        self.report.errors.append(error)

    def _key(self, row: dict, seen: dict[str, int], what) -> str:
        try:
            key = directory.clean_key(row["key"])
        except InvalidInput as error:
            raise _refuse(error) from None
        if key in seen:
            raise _LineRefused(
                _l("%(what)s %(key)s is also on line %(line)d.", what=what, key=key, line=seen[key]), "key"
            )
        return key

    def _code(self, value: str, values: CodedValues) -> str:
        """value as one of values' codes (any case), else refused: naming the code when value is the name of
        one, else listing them."""
        code = value.lower()
        if code in values.labels:
            return code
        if values not in self.likely_codes:
            self.likely_codes[values] = values.likely()
        likely = self.likely_codes[values].get(value.casefold())
        if likely is not None:
            raise _LineRefused(values.named % {"value": value, "likely": likely}, values.column)
        raise _LineRefused(values.unknown % {"value": value, "codes": values.codes}, values.column)

    def _short_code(self, code: str, kind: str, column: str) -> None:
        """Refuse code at column when it is a kind's code with its leading zeros dropped, or written with
        decimals (by Excel); never converted, the likely code named when there is one."""
        digits, table, likely_message, message = _SHORT_CODES[kind]
        decimal = _EXCEL_DECIMAL.fullmatch(code)
        if decimal is not None:
            likely = decimal.group(1).rjust(digits, "0")
            likely_message, message = _DECIMAL_CODES[kind]
            if len(likely) == digits and self.session.get(table, likely) is not None:
                raise _LineRefused(likely_message % {"code": code, "likely": likely}, column)
            raise _LineRefused(message % {"code": code}, column)
        if not _DIGITS.fullmatch(code) or len(code) >= digits:
            return
        likely = code.rjust(digits, "0")
        if len(code) == digits - 1 and self.session.get(table, likely) is not None:
            raise _LineRefused(likely_message % {"code": code, "likely": likely}, column)
        raise _LineRefused(message % {"code": code}, column)

    def _names(self) -> dict[str, dict[str, str]]:
        """place_names, read once per file and only when a code column holds letters."""
        if self.place_names is None:
            self.place_names = place_names(self.session)
        return self.place_names

    def _place_name(self, value: str, kind: str, column: str) -> None:
        """Refuse value at column when it is no code but letters: naming the code when it is a county's or
        municipality's name (kind's), else saying what the code looks like. Digits pass to the code checks."""
        if not value or any(c.isdigit() for c in value):
            return
        named, unknown = _PLACE_NAMES[kind]
        likely = self._names()[kind].get(_place_name_key(value))
        if likely is not None:
            raise _LineRefused(named % {"value": value, "likely": likely}, column)
        raise _LineRefused(unknown % {"value": value}, column)

    def _organisation(self, line: int, row: dict) -> Planned:
        key = self._key(row, self.file_orgs, _l("Organisation"))
        self.file_orgs[key] = line
        self._place_name(row["county"], "county", "county")
        self._place_name(row["municipality"], "municipality", "municipality")
        self._short_code(row["county"], "county", "county")
        self._short_code(row["municipality"], "municipality", "municipality")
        if not row["kind"]:
            raise _LineRefused(
                _l(
                    "Fill in the kind of organisation: one of the codes %(codes)s.",
                    codes=ORGANISATION_KIND_VALUES.codes,
                ),
                "kind",
            )
        kind = self._code(row["kind"], ORGANISATION_KIND_VALUES)
        active = self._active(row)
        self.file_org_active[key] = active
        existing = self.orgs.get(key)
        try:
            values = directory.clean_organisation(
                self.session,
                name=row["name"],
                kind=kind,
                county_code=row["county"],
                municipality_code=row["municipality"],
                organisation=existing,
                released=self.report.released_organisation_ids,
                read=self.read,
            )
        except InvalidInput as error:
            raise _refuse(error) from None
        # Two lines naming organisations alike: the directory refuses the second, so does this.
        same = directory.unit_name_key(values["name"])
        if same in self.file_org_names:
            raise _LineRefused(
                _l("An organisation of this name is also on line %(line)d.", line=self.file_org_names[same]),
                "name",
            )
        self.file_org_names[same] = line
        self.file_org_counties[key] = values["county_code"]
        planned = self._compare(line, "organisation", key, _with_active(values, active), existing)
        if planned.outcome != UNCHANGED:
            # The pages' rule; a line that changes nothing may name another region's organisation.
            try:
                check_organisation_change(
                    self.region,
                    existing,
                    county_code=values["county_code"],
                    municipality_code=values["municipality_code"],
                )
            except UserError as error:
                raise _refuse(error, "key") from None
        return planned

    def _unit(self, line: int, row: dict) -> Planned:
        key = self._key(row, self.file_units, _l("Unit"))
        self.file_units[key] = line
        org_key = row["organisation"].lower()
        if not org_key:
            raise _LineRefused(_l("A unit needs its organisation's key."), "organisation")
        organisation = self.orgs.get(org_key)
        if organisation is None and org_key not in self.file_orgs:
            raise _LineRefused(
                _l("Unknown organisation %(key)s: not in sipflow and not in this file.", key=org_key),
                "organisation",
            )
        self.file_unit_orgs[key] = org_key
        unit = self.units.get(key)
        if unit is not None and (organisation is None or unit.organisation_id != organisation.id):
            # Said with how a move is written: the unit's key and organisation never change (they are what
            # later files and the SIPs it took part in name it by).
            raise _LineRefused(
                _l(
                    "Unit %(key)s belongs to the organisation %(organisation)s; a unit cannot move. Close it"
                    " (no in the column active) and add the unit to the other organisation on a line of its"
                    " own, with a new key; an HSA-id goes on the new line only.",
                    key=key,
                    organisation=self.session.get(Organisation, unit.organisation_id).key,
                ),
                "organisation",
            )
        health_care = row["health_care"].lower()
        if health_care not in YES | NO:
            raise _LineRefused(_l("Write yes or no."), "health_care")
        active = self._active(row)
        self.file_unit_active[key] = active
        if active is not False and not self._organisation_open(org_key, organisation):
            if unit is None or active:
                # An open unit under an organisation closed (by this file, or before it with none to open it).
                raise _LineRefused(
                    _l("The organisation %(key)s is deactivated: activate it first.", key=org_key),
                    "organisation",
                )
        # A unit closed once the file is imported (its line's no, or closed and left so) holds no name an open
        # unit may not have, as on the pages: its line claims none unless it changes more than that.
        ends_closed = unit is not None and (active is False or (active is None and not unit.active))

        def cleaned(*, name_checked: bool) -> dict:
            try:
                return directory.clean_unit(
                    self.session,
                    name=row["name"],
                    kind=self._code(row["kind"], UNIT_KIND_VALUES) if row["kind"] else "other",
                    is_health_care=health_care in YES,
                    email=row["email"],
                    hsa_id=row["hsa_id"],
                    unit_id=unit.id if unit is not None else None,
                    organisation_id=organisation.id if organisation is not None and name_checked else None,
                    released=self.report.released_unit_ids,
                    hsa_released=self.report.released_hsa_unit_ids,
                    read=self.read,
                )
            except InvalidInput as error:
                raise _refuse(error) from None

        values = cleaned(name_checked=not ends_closed)
        # Two lines naming one organisation's units alike: the directory refuses the second, so does this (a
        # unit the file leaves closed keeps its name beside an open one).
        same = (org_key, directory.unit_name_key(values["name"]))
        if same in self.file_unit_names and not ends_closed:
            raise _LineRefused(
                _l(
                    "A unit of this name and organisation is also on line %(line)d.",
                    line=self.file_unit_names[same],
                ),
                "name",
            )
        if not ends_closed:
            self.file_unit_names[same] = line
        if values["hsa_id"] is not None:
            if values["hsa_id"] in self.file_hsa:
                raise _LineRefused(
                    _l("This HSA-id is also on line %(line)d.", line=self.file_hsa[values["hsa_id"]]),
                    "hsa_id",
                )
            self.file_hsa[values["hsa_id"]] = line
        planned = self._compare(line, "unit", key, _with_active(values, active), unit)
        if ends_closed and set(planned.changed_fields) - {"active"}:
            cleaned(name_checked=True)  # its other values are saved as the unit's page saves them
        if planned.outcome != UNCHANGED and organisation is not None:
            # The pages' rules (an organisation new in this file is checked on its own line, and is active):
            # a line that changes nothing may name another region's or a deactivated organisation, and one
            # may close a unit of a closed organisation or change one of an organisation this file opens.
            try:
                check_unit_change(self.region, organisation)
                if active is not False and not self.file_org_active.get(org_key):
                    directory.check_active(organisation, "organisation_id")
            except UserError as error:
                raise _refuse(error, "organisation") from None
        planned.values["organisation_key"] = org_key
        return planned

    def _user(self, line: int, row: dict) -> Planned:
        username = row["key"].lower()
        if not username:
            raise _LineRefused(_l("Fill in the username."), "key")
        if not directory.KEY_RE.fullmatch(username):
            raise _LineRefused(
                _l("A username is at most 64 lower-case letters a-z, digits, '.', '_' or '-'."), "key"
            )
        if username in self.file_users:
            raise _LineRefused(
                _l(
                    "Username %(key)s is also on line %(line)d.", key=username, line=self.file_users[username]
                ),
                "key",
            )
        self.file_users[username] = line
        name = row["name"]
        if not name:
            raise _LineRefused(_l("Fill in the user's name."), "name")
        if not fits(name, DISPLAY_NAME_MAX):
            raise _LineRefused(too_long_message(DISPLAY_NAME_MAX), "name")
        try:
            # The user pages' rules, which inviting the user applies again.
            clean_username(username)
            clean_display_name(name, "display_name")
        except InvalidInput as error:
            raise _refuse(error) from None
        roles = self._roles(row["roles"])
        unit_key = row["unit"].lower()
        unit = self.units.get(unit_key) if unit_key else None
        if unit_key and unit is None and unit_key not in self.file_units:
            raise _LineRefused(
                _l("Unknown unit %(key)s: not in sipflow and not in this file.", key=unit_key), "unit"
            )
        existing = username in self.users
        if not existing and unit_key and self._closed_by_file(unit_key, unit):
            # A new user of a unit this file closes (or whose organisation it closes, which closes its units):
            # the pages' rule of a deactivated unit, said by the dry run as the import would.
            raise _LineRefused(
                _l("The unit %(key)s is deactivated: activate it first.", key=unit_key), "unit"
            )
        if unit is not None or not unit_key:
            # The user pages' rule (a unit of this file is new, so active). An existing user's line changes
            # nothing (users are changed on their page), so it places no one and may name a deactivated unit.
            try:
                # A unit this file opens takes the user as an open one does.
                opened = unit is not None and self.file_unit_active.get(unit_key) is True
                kept = unit.id if (existing or opened) and unit is not None else None
                check_user_unit(self.session, self.region, unit, roles, kept_unit_id=kept)
            except InvalidInput as error:
                raise _refuse(error) from None
        elif unit_key in self.file_unit_orgs:
            # A unit new in this file is in the region when its organisation is (one of the file, maybe).
            org_key = self.file_unit_orgs[unit_key]
            organisation = self.orgs.get(org_key)
            in_region = organisation_in_region(
                self.region,
                organisation_id=organisation.id if organisation is not None else None,
                county_code=(
                    organisation.county_code
                    if organisation is not None
                    else self.file_org_counties.get(org_key)
                ),
            )
            if not in_region:
                raise _LineRefused(_l("Unknown unit."), "unit")
        if existing:
            if not self._user_in_region(self.users[username]):
                # Someone else's: refused as the user form refuses it, not reported as left alone.
                raise _LineRefused(_l("This username is taken."), "key")
            # An existing user is never changed by an import: their page is where that is done.
            return Planned(line, "user", username, name, UNCHANGED)
        try:
            # The pages' one rule of an address, a unit's mailbox's and a user's.
            email = directory.clean_email(row["email"])
        except InvalidInput as error:
            raise _refuse(error) from None
        if email is None:
            raise _LineRefused(_l("A new user needs an e-mail address for the invitation."), "email")
        lowered = email.lower()
        if lowered in self.file_emails:
            raise _LineRefused(
                _l("This e-mail address is also on line %(line)d.", line=self.file_emails[lowered]), "email"
            )
        self.file_emails[lowered] = line
        if lowered in self.taken_emails:
            raise _LineRefused(_l("Another user has this e-mail address."), "email")
        scope = self._scope(row["scope"], roles)
        values = {
            "display_name": name,
            "email": email,
            "unit_key": unit_key or None,
            "roles": roles,
            "coordinator_scope": scope,
        }
        return Planned(line, "user", username, name, CREATE, values=values)

    def _user_in_region(self, unit_id: int | None) -> bool:
        """Whether an existing user of that unit is of the importing administrator's region."""
        if self.region.national:
            return True
        unit = self.session.get(Unit, unit_id) if unit_id is not None else None
        return unit is not None and unit_in_region(self.session, self.region, unit)

    def _roles(self, text: str) -> tuple[str, ...]:
        roles = []
        for word in _SPLIT.split(text):
            if not word:
                continue
            role = self._code(ROLE_ALIASES.get(word.lower(), word), ROLE_VALUES)
            if role not in roles:
                roles.append(role)
        return tuple(roles) or ("staff",)

    def _scope(self, text: str, roles: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(c for c in _SPLIT.split(text) if c))
        for code in codes:
            if not any(c.isdigit() for c in code):
                # A municipality's or county's name (of one word: the column splits at spaces).
                for kind in ("municipality", "county"):
                    if _place_name_key(code) in self._names()[kind]:
                        self._place_name(code, kind, "scope")
            # One digit short of a county's code (2) or a municipality's (4): a code Excel took a zero from.
            if len(code) in (1, 3):
                self._short_code(code, "county" if len(code) == 1 else "municipality", "scope")
            decimal = _EXCEL_DECIMAL.fullmatch(code)
            if decimal is not None:
                self._short_code(code, "county" if len(decimal.group(1)) <= 2 else "municipality", "scope")
        # The user pages' rule (known codes, a coordinator's only, in the administrator's region), asked
        # once per distinct scope: a file's thousands of users have a handful.
        if (roles, codes) not in self.scopes_checked:
            try:
                checked_scope(self.session, self.region, roles, " ".join(codes))
            except InvalidInput as error:
                self.scopes_checked[roles, codes] = error
            else:
                self.scopes_checked[roles, codes] = None
        if self.scopes_checked[roles, codes] is not None:
            raise _refuse(self.scopes_checked[roles, codes], "scope")
        return codes

    def _active(self, row: dict) -> bool | None:
        """The line's `active`: True (yes), False (no) or None (empty: as it is, a new record open)."""
        value = row["active"].lower()
        if not value:
            return None
        if value not in YES | NO:
            raise _LineRefused(_l("Write yes or no, or leave it empty to keep it as it is."), "active")
        return value in YES

    def _closed_by_file(self, unit_key: str, unit: Unit | None) -> bool:
        """Whether the file closes the unit: its own line's `active` no, or its organisation's."""
        if self.file_unit_active.get(unit_key) is False:
            return True
        if self.closed_org_ids is None:
            # Read once the organisations' lines are planned (the users' lines come after them).
            self.closed_org_ids = {
                self.orgs[key].id
                for key, said in self.file_org_active.items()
                if said is False and key in self.orgs
            }
        return unit is not None and unit.organisation_id in self.closed_org_ids

    def _organisation_open(self, org_key: str, organisation: Organisation | None) -> bool:
        """Whether the unit's organisation is active once the file is imported (its line's `active`, else as
        it is; one new in the file is)."""
        said = self.file_org_active.get(org_key)
        if said is not None:
            return said
        return organisation is None or organisation.active

    def _compare(self, line: int, record: str, key: str, values: dict, existing) -> Planned:
        if existing is None:
            return Planned(line, record, key, values["name"], CREATE, values=values)
        changed = tuple(
            FIELD_COLUMNS[name] for name, value in values.items() if getattr(existing, name) != value
        )
        return Planned(line, record, key, values["name"], CHANGE if changed else UNCHANGED, changed, values)


# --- The import --------------------------------------------------------------------------------------------


def import_directory(
    session: Session, data: bytes, *, actor: User | None, now: datetime, apply: bool
) -> ImportReport:
    """Check the file and say what it would do; with apply and no error, do all of it in the caller's UoW."""
    rows, errors = read_rows(data)
    if errors and not rows:
        return ImportReport(errors=errors)
    report = _Planner(session, rows, actor).plan()
    report.errors = sorted([*errors, *report.errors], key=lambda e: e.line)
    if report.errors or not apply:
        return report
    # A record made by another request since the check (a second "Import" of the same file) refuses the
    # line as the check would have: everything written so far is undone, and the report says so. Another
    # request writing at the same moment (SQLite refuses a write from a snapshot its commit outdated) is a
    # conflict: nothing is imported, and the file is sent again.
    with refused_when_locked(ImportBusy(IMPORT_BUSY)):
        try:
            with session.begin_nested():
                _apply(session, report, actor=actor, now=now)
        except _ApplyRefused as refused:
            report.errors = [refused.error]
            return report
        record_change(
            session,
            actor_user_id=actor.id if actor is not None else None,
            action="import.apply",
            target_kind="import",
            target_id=None,
            now=now,
            after={
                "created": len(report.created),
                "changed": len(report.changed),
                "unchanged": len(report.unchanged),
            },
        )
        session.flush()
    report.applied = True
    return report


IMPORT_BUSY = _l(
    "Another import or change of the directory was being saved at the same moment: nothing was imported."
    " Choose the file again and import it."
)


class ImportBusy(Conflict):
    """Another request wrote at the same moment as the import: nothing is imported; the file is sent again."""

    code = "import_busy"


class _ApplyRefused(Exception):
    def __init__(self, error: LineError):
        super().__init__(error.message)
        self.error = error


def _with_active(values: dict, active: bool | None) -> dict:
    """A line's values with its `active` when it says one (compared with the record's, and set by the pages'
    own (de)activation, after the other values are saved)."""
    return values if active is None else {**values, "active": active}


def _without(values: dict, *names: str) -> dict:
    """A planned line's values but names (what the services are not given)."""
    return {name: value for name, value in values.items() if name not in names}


def _renamed(existing: dict, lines) -> frozenset[int]:
    """The ids of the rows of existing (by lower-case key) that the file's lines give another name."""
    return frozenset(
        row.id
        for _, line in lines
        if (row := existing.get(line["key"].lower())) is not None
        and line["name"].strip()
        and directory.unit_name_key(line["name"]) != directory.unit_name_key(row.name)
    )


def _closed(existing: dict, lines) -> frozenset[int]:
    """The ids of the rows of existing (by lower-case key) that the file's lines close (`active` no)."""
    return frozenset(
        row.id
        for _, line in lines
        if (row := existing.get(line["key"].lower())) is not None
        and line["active"].strip()
        and line["active"].strip().lower() in NO
    )


def _hsa_moved(existing: dict, lines) -> frozenset[int]:
    """The ids of the rows of existing (by lower-case key) that the file's lines give another HSA-id or none
    (a line whose HSA-id is not one is refused on its own, and releases nothing)."""
    moved = set()
    for _, line in lines:
        row = existing.get(line["key"].lower())
        if row is None or row.hsa_id is None:
            continue
        try:
            if directory.clean_hsa_id(line["hsa_id"]) != row.hsa_id:
                moved.add(row.id)
        except InvalidInput:
            continue
    return frozenset(moved)


def _give_up_hsa_ids(session: Session, unit_ids: frozenset[int]) -> dict[str, Unit]:
    """Clear in the database the HSA-ids the file moves away from their units, before any unit is written:
    the unique index then holds whatever order the lines come in, two units swapping theirs too.

    The units stay loaded with their present HSA-ids (the UPDATE leaves the session's objects alone), so each
    one's own edit logs what it had before: the caller edits the returned units, by key.
    """
    if not unit_ids:
        return {}
    holders = {unit.key: unit for unit in session.exec(select(Unit).where(Unit.id.in_(unit_ids))).all()}
    session.execute(
        update(Unit).where(Unit.id.in_(unit_ids)).values(hsa_id=None),
        execution_options={"synchronize_session": False},
    )
    return holders


def _apply(session: Session, report: ImportReport, *, actor: User | None, now: datetime) -> None:
    """Write what the report plans; _ApplyRefused names the line a service refused (taken since the check)."""
    planned = None
    try:
        # The file's new organisations and units are checked and written together, a statement or two each
        # however many (a national directory's first file creates thousands), as if one after another.
        new_organisations = [p for p in report.planned if p.record == "organisation" and p.outcome == CREATE]
        try:
            created = directory.create_organisations(
                session,
                actor,
                [
                    directory.NewOrganisation(key=p.key, **_without(p.values, "active"))
                    for p in new_organisations
                ],
                now=now,
                released=report.released_organisation_ids,
            )
        except directory.Refused as refused:
            planned = new_organisations[refused.position]
            raise refused.error from None
        organisations: dict[str, Organisation] = {
            p.key: organisation for p, organisation in zip(new_organisations, created, strict=True)
        }
        # The file's other organisations, read together.
        keys = {p.key for p in report.planned if p.record == "organisation"} - set(organisations)
        if keys:
            organisations.update(
                (organisation.key, organisation)
                for organisation in session.exec(select(Organisation).where(Organisation.key.in_(keys))).all()
            )
        for planned in report.planned:
            if planned.record != "organisation":
                continue
            values = dict(planned.values)
            active = values.pop("active", None)
            organisation = organisations[planned.key]
            if planned.outcome == CHANGE:
                directory.edit_organisation(
                    session, actor, organisation, now=now, released=report.released_organisation_ids, **values
                )
            if active is not None and active != organisation.active:
                if not active:
                    report.deactivated_unit_ids.update(
                        session.exec(
                            select(Unit.id).where(Unit.organisation_id == organisation.id, Unit.active)
                        ).all()
                    )
                directory.set_organisation_active(session, actor, organisation, active, now=now)
        units: dict[str, Unit] = {}
        giving_up = _give_up_hsa_ids(session, report.released_hsa_unit_ids)
        # The units the file closes (False) and opens (True), and the line of each.
        toggled: dict[bool, list[Unit]] = {False: [], True: []}
        lines: dict[int, Planned] = {}
        new_units: list[Planned] = []
        changed_units = [p for p in report.planned if p.record == "unit" and p.outcome == CHANGE]
        # The units the file changes, read together (those giving up their HSA-ids are read already).
        keys = {p.key for p in changed_units} - set(giving_up)
        existing = dict(giving_up)
        if keys:
            existing.update(
                (unit.key, unit) for unit in session.exec(select(Unit).where(Unit.key.in_(keys))).all()
            )
        # A line only closing (opening) its unit edits nothing; the others are edited together.
        edited = [p for p in changed_units if p.changed_fields != ("active",)]
        try:
            directory.edit_units(
                session,
                actor,
                [(existing[p.key], _without(p.values, "active", "organisation_key")) for p in edited],
                now=now,
                released=report.released_unit_ids,
            )
        except directory.Refused as refused:
            planned = edited[refused.position]
            raise refused.error from None
        for planned in report.planned:
            if planned.record != "unit":
                continue
            if planned.outcome == CREATE:
                new_units.append(planned)
                continue
            active = planned.values.get("active")
            unit = existing[planned.key] if planned.outcome == CHANGE else None
            if unit is not None and active is not None and active != unit.active:
                toggled[active].append(unit)
                lines[unit.id] = planned
        # The organisations of the new units the file does not create, read together.
        keys = {p.values["organisation_key"] for p in new_units} - set(organisations)
        if keys:
            organisations.update(
                (organisation.key, organisation)
                for organisation in session.exec(select(Organisation).where(Organisation.key.in_(keys))).all()
            )
        try:
            created_units = directory.create_units(
                session,
                actor,
                [
                    directory.NewUnit(
                        organisation=organisations[p.values["organisation_key"]],
                        key=p.key,
                        **_without(p.values, "active", "organisation_key"),
                    )
                    for p in new_units
                ],
                now=now,
                released=report.released_unit_ids,
            )
        except directory.Refused as refused:
            planned = new_units[refused.position]
            raise refused.error from None
        for planned, unit in zip(new_units, created_units, strict=True):
            units[planned.key] = unit
            active = planned.values.get("active")
            if active is not None and active != unit.active:
                toggled[active].append(unit)
                lines[unit.id] = planned
        for active in (False, True):
            # The pages' own (de)activation, of the file's units together: their mailboxes' invitations and
            # reminders follow in a few statements, however many units the file closes.
            try:
                directory.set_units_active(session, actor, toggled[active], active, now=now)
            except directory.UnitRefused as refused:
                planned = lines[refused.unit.id]
                raise refused.error from None
        report.deactivated_unit_ids.update(unit.id for unit in toggled[False])
        invited = [p for p in report.created if p.record == "user"]
        new = []
        for planned in invited:
            values = planned.values
            unit, key = None, values["unit_key"]
            if key is not None:
                # Read once per unit: a file's users are mostly of a few units.
                if key not in units:
                    units[key] = session.exec(select(Unit).where(Unit.key == key)).one()
                unit = units[key]
            new.append(
                NewUser(
                    username=planned.key,
                    display_name=values["display_name"],
                    email=values["email"],
                    unit_id=unit.id if unit is not None else None,
                    roles=values["roles"],
                    coordinator_scope=values["coordinator_scope"],
                )
            )
        try:
            # In one batch: a file of thousands of users must finish well inside a request's time.
            invite_users(session, actor=actor, new=new, now=now)
        except BatchRefused as refused:
            planned = invited[refused.position]
            raise refused.error from None
    except (InvalidInput, Conflict) as error:
        column = FIELD_COLUMNS.get(error.field or "")
        raise _ApplyRefused(LineError(planned.line, str(error.message), column)) from None
