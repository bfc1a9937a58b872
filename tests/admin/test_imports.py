"""The CSV import of organisations, units and users: dry run, all or nothing, idempotent, errors per line."""

from __future__ import annotations

import codecs
import io
import re

import pytest
from directorykit import EXAMPLE_CSV, HEADER, changes, csv_of, token_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from support import statements
from webkit import login, text_of

from sipflow.admin import imports
from sipflow.cli import sipflow_cli
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")

ORG = "organisation;reg;Region Test;region;;;22;;;;;;"
UNIT = "unit;reg-vc;Vårdcentralen Test;vardcentral;reg;;;;yes;vc@test.example;;;"
USER = "user;test.anna;Anna Test;;;reg-vc;;;;anna@test.example;;staff;"


def run(db_session, now, data: bytes, *, apply: bool, actor=None):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=actor, now=now, apply=apply)


def counts(db_session) -> tuple[int, int, int]:
    db_session.expire_all()
    return tuple(len(db_session.exec(select(m)).all()) for m in (Organisation, Unit, User))


def test_the_example_county_dry_run_lists_everything_and_imports_nothing(db_session, app_ctx, now):
    report = run(db_session, now, EXAMPLE_CSV.read_bytes(), apply=False)
    assert report.errors == []
    assert [(p.record, p.key) for p in report.created][:3] == [
        ("organisation", "exempel-region"),
        ("unit", "exempel-vc-norr"),
        ("unit", "exempel-psykiatri"),
    ]
    assert sorted({p.record for p in report.created}) == ["organisation", "unit", "user"]
    assert len(report.created) == 11 and not report.applied
    assert counts(db_session) == (0, 0, 0)
    assert changes(db_session) == []


def test_the_example_county_imports_once_and_the_second_time_changes_nothing(db_session, app_ctx, now):
    report = run(db_session, now, EXAMPLE_CSV.read_bytes(), apply=True)
    assert report.errors == [] and report.applied
    assert counts(db_session) == (4, 5, 2)
    sara = db_session.exec(select(User).where(User.username == "exempel.sara")).one()
    assert sara.role_set == {"staff", "coordinator"} and sara.email == "sara@timra.example"
    vc = db_session.exec(select(Unit).where(Unit.key == "exempel-vc-norr")).one()
    assert (vc.kind, vc.is_health_care, vc.hsa_id) == ("vardcentral", True, "SE2321000099-VCN1")
    timra = db_session.exec(select(Organisation).where(Organisation.key == "exempel-timra")).one()
    assert timra.county_code == "22"
    logged = changes(db_session)
    assert [c.action for c in logged].count("user.create") == 2
    assert logged[-1].action == "import.apply" and logged[-1].after == {
        "created": 11,
        "changed": 0,
        "unchanged": 0,
    }

    again = run(db_session, now, EXAMPLE_CSV.read_bytes(), apply=True)
    assert again.errors == [] and again.created == [] and again.changed == []
    assert len(again.unchanged) == 11
    assert counts(db_session) == (4, 5, 2)
    assert [c.action for c in changes(db_session)][len(logged) :] == ["import.apply"]


def test_a_changed_line_changes_that_record_only(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, UNIT, USER), apply=True)
    renamed = UNIT.replace("Vårdcentralen Test", "Vårdcentralen Prov").replace(";yes;", ";no;")
    report = run(db_session, now, csv_of(ORG, renamed, USER), apply=False)
    # The file's columns, not sipflow's field names.
    assert [(p.key, p.changed_fields) for p in report.changed] == [("reg-vc", ("name", "health_care"))]
    assert [p.key for p in report.unchanged] == ["reg", "test.anna"]
    run(db_session, now, csv_of(ORG, renamed, USER), apply=True)
    db_session.expire_all()
    unit = db_session.exec(select(Unit).where(Unit.key == "reg-vc")).one()
    assert (unit.name, unit.is_health_care) == ("Vårdcentralen Prov", False)
    (edit,) = changes(db_session, "unit.edit")
    assert edit.before["name"] == "Vårdcentralen Test" and edit.after["name"] == "Vårdcentralen Prov"


@pytest.mark.parametrize("delimiter", [";", ","])
def test_a_bom_and_either_separator_are_read(db_session, app_ctx, now, delimiter):
    data = b"\xef\xbb\xbf" + csv_of(ORG, UNIT, delimiter=delimiter)
    report = run(db_session, now, data, apply=False)
    assert report.errors == [] and [p.key for p in report.created] == ["reg", "reg-vc"]


BAD = [
    pytest.param(
        ["organisation;kommun;Test kommun;municipality;;;;9999;;;;;"],
        2,
        "municipality",
        id="unknown municipality code",
    ),
    pytest.param([ORG, UNIT, USER, USER.replace("anna@", "annan@")], 5, "key", id="duplicate username"),
    pytest.param([ORG, UNIT, USER, USER.replace("test.anna", "test.bo")], 5, "email", id="duplicate e-mail"),
    pytest.param([UNIT], 2, "organisation", id="unit of an unknown organisation"),
    pytest.param([ORG, UNIT, USER.replace(";reg-vc;", ";;")], 4, "unit", id="user without a unit"),
    pytest.param([ORG, UNIT, USER.replace(";reg-vc;", ";nowhere;")], 4, "unit", id="user of an unknown unit"),
    pytest.param([ORG, UNIT, USER.replace(";staff;", ";chef;")], 4, "roles", id="unknown role"),
    pytest.param(
        [ORG, UNIT.replace(";yes;", ";kanske;")], 3, "health_care", id="health care neither yes nor no"
    ),
    pytest.param([ORG, ORG], 3, "key", id="organisation twice"),
    pytest.param(
        [ORG, UNIT, UNIT.replace("reg-vc;Vårdcentralen Test", "reg-vc2; vårdcentralen  TEST")],
        4,
        "name",
        id="two units of one organisation named alike",
    ),
    # The user pages' rules, which inviting the user applies: refused at the line, not a server error after.
    pytest.param([ORG, UNIT, USER.replace("test.anna", "a")], 4, "key", id="one-letter username"),
    pytest.param(
        [ORG, UNIT, USER.replace("anna@", "an\x01na@")], 4, "email", id="control character in e-mail"
    ),
    pytest.param(
        [ORG, UNIT, USER.replace("Anna Test", "Anna\x01Test")], 4, "name", id="control character in name"
    ),
    pytest.param([ORG.replace("organisation;", "planet;", 1)], 2, "record", id="unknown record"),
    # A right-to-left override makes a name read as something else in every list and e-mail.
    pytest.param(
        [ORG, UNIT, USER.replace("Anna Test", "Anna \u202etseT")], 4, "name", id="direction override in name"
    ),
    pytest.param(
        [ORG, UNIT.replace("Vårdcentralen Test", "Vårdcentralen\u200f Test")],
        3,
        "name",
        id="direction mark in unit name",
    ),
    pytest.param(
        [ORG.replace("Region Test", "Region \u2066Test\u2069")], 2, "name", id="isolate in organisation name"
    ),
    pytest.param([ORG, UNIT, USER.replace("Anna Test", "Anna\x85Test")], 4, "name", id="C1 control in name"),
    # A unit's name is the From of its staff's invitations: a line break there broke every booking.
    pytest.param(
        [ORG, UNIT.replace("Vårdcentralen Test", '"Vårdcentralen\r\nTest"')],
        4,  # the line the record ends on
        "name",
        id="unit name on two lines",
    ),
    pytest.param(
        [ORG.replace("Region Test", '"Region\nTest"')], 3, "name", id="organisation name on two lines"
    ),
]


@pytest.mark.parametrize(("lines", "line", "column"), BAD)
def test_bad_input_names_the_line_and_nothing_is_imported(db_session, app_ctx, now, lines, line, column):
    good = "organisation;annan;Annan organisation;other;;;;;;;;;"
    report = run(db_session, now, csv_of(good, *lines), apply=True)
    assert not report.applied
    assert [(e.line, e.column) for e in report.errors] == [(line + 1, column)], report.errors
    assert report.errors[0].message
    assert counts(db_session) == (0, 0, 0)
    assert changes(db_session) == []


@pytest.mark.parametrize("role", ["coordinator", "admin", "administrator"])
def test_a_coordinator_or_administrator_may_be_imported_without_a_unit(db_session, app_ctx, now, role):
    line = f"user;u.coord;Coord;;;;;;;coord@example.se;;{role};"
    report = run(db_session, now, csv_of(line), apply=True)
    assert report.errors == [] and report.applied
    db_session.expire_all()
    user = db_session.exec(select(User).where(User.username == "u.coord")).one()
    assert user.unit_id is None and "staff" not in user.role_set


def test_staff_without_a_unit_are_refused_in_the_user_pages_words(db_session, app_ctx, now):
    report = run(
        db_session, now, csv_of("user;u.staff;Staff;;;;;;;staff@example.se;;staff coordinator;"), apply=True
    )
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "unit", "Personal måste höra till en enhet.")
    ]


def test_a_regional_administrators_import_places_every_user_in_a_unit_of_the_region(
    db_session, app_ctx, now, make_user, parties
):
    regional = make_user(parties.region, roles="admin")
    run(db_session, now, csv_of(ORG, UNIT), apply=True)  # county 22, not the administrator's 07
    lines = ["user;u.coord;Coord;;;;;;;coord@example.se;;coordinator;", USER]
    report = run(db_session, now, csv_of(*lines), apply=True, actor=regional)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "unit", "Välj en enhet i din region."),
        (3, "unit", "Okänd enhet."),
    ]


def test_a_regional_administrators_import_refuses_a_new_unit_of_another_region_at_its_user(
    db_session, app_ctx, now, make_user, parties
):
    # The organisation and unit are new in the file, of county 22; the administrator's region is 07. The
    # user's line is refused when the file is read, not when it is applied (a server error before).
    regional = make_user(parties.region, roles="admin")
    before = counts(db_session)
    report = run(db_session, now, csv_of(ORG, UNIT, USER), apply=True, actor=regional)
    assert (4, "unit", "Okänd enhet.") in [(e.line, e.column, e.message) for e in report.errors]
    assert counts(db_session) == before


def test_a_regional_administrators_import_refuses_a_coordinator_scope_outside_the_region(
    db_session, app_ctx, now, make_user, parties
):
    # The user page refuses it; the import's dry run passed it and applying it was a server error.
    regional = make_user(parties.region, roles="admin")
    unit_key = parties.region.key
    before = counts(db_session)
    line = f"user;u.coord;Coord;;;{unit_key};;;;coord@example.se;;coordinator;0180"
    for apply in (False, True):
        report = run(db_session, now, csv_of(line), apply=apply, actor=regional)
        assert [(e.line, e.column, e.message) for e in report.errors] == [
            (2, "scope", "0180 ligger utanför din region.")
        ]
        assert not report.applied
    assert counts(db_session) == before
    inside = line.replace(";0180", ";0780 07")
    assert run(db_session, now, csv_of(inside), apply=True, actor=regional).applied


def test_a_scope_is_refused_in_the_user_pages_words(db_session, app_ctx, now):
    report = run(db_session, now, csv_of("user;u.c;C;;;;;;;c@example.se;;coordinator;01800"), apply=True)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "scope", "01800 är varken en länskod (2 siffror) eller en kommunkod (4 siffror).")
    ]


EXCEL = "Excel tar bort inledande nollor – formatera kolumnen som text."
EXCEL_NUMBER = "Excel gör om koder till tal – formatera kolumnen som text."


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (
            "organisation;k;Kronoberg;region;;;7;;;;;;",
            "county",
            f"Länskoden 7 är för kort: en länskod har två siffror. Menade du 07? {EXCEL}",
        ),
        (
            "organisation;k;Växjö;municipality;;;;780;;;;;",
            "municipality",
            f"Kommunkoden 780 är för kort: en kommunkod har fyra siffror. Menade du 0780? {EXCEL}",
        ),
        (
            "organisation;k;Växjö;municipality;;;07;780;;;;;",
            "municipality",
            f"Kommunkoden 780 är för kort: en kommunkod har fyra siffror. Menade du 0780? {EXCEL}",
        ),
        (
            "organisation;k;Växjö;municipality;;;7;0780;;;;;",
            "county",
            f"Länskoden 7 är för kort: en länskod har två siffror. Menade du 07? {EXCEL}",
        ),
        # No county 02 and no municipality 0999 or 0078: nothing likely to suggest, the rule and the cause.
        (
            "organisation;k;K;region;;;2;;;;;;",
            "county",
            f"Länskoden 2 är för kort: en länskod har två siffror, till exempel 07. {EXCEL}",
        ),
        (
            "organisation;k;K;municipality;;;;999;;;;;",
            "municipality",
            f"Kommunkoden 999 är för kort: en kommunkod har fyra siffror, till exempel 0780. {EXCEL}",
        ),
        (
            "organisation;k;K;municipality;;;;78;;;;;",
            "municipality",
            f"Kommunkoden 78 är för kort: en kommunkod har fyra siffror, till exempel 0780. {EXCEL}",
        ),
        (
            "user;u.c;C;;;;;;;c@example.se;;coordinator;07 180",
            "scope",
            f"Kommunkoden 180 är för kort: en kommunkod har fyra siffror. Menade du 0180? {EXCEL}",
        ),
        (
            "user;u.c;C;;;;;;;c@example.se;;coordinator;1|0180",
            "scope",
            f"Länskoden 1 är för kort: en länskod har två siffror. Menade du 01? {EXCEL}",
        ),
        # A code Excel kept as a number and wrote with decimals: the same help, never converted.
        (
            "organisation;k;Växjö;municipality;;;07;780.0;;;;;",
            "municipality",
            f"Kommunkoden 780.0 är ett tal med decimaler: en kommunkod är fyra siffror."
            f" Menade du 0780? {EXCEL_NUMBER}",
        ),
        (
            "organisation;k;Karlstad;municipality;;;;1780,0;;;;;",
            "municipality",
            f"Kommunkoden 1780,0 är ett tal med decimaler: en kommunkod är fyra siffror."
            f" Menade du 1780? {EXCEL_NUMBER}",
        ),
        (
            "organisation;k;Växjö;municipality;;;7.0;0780;;;;;",
            "county",
            f"Länskoden 7.0 är ett tal med decimaler: en länskod är två siffror."
            f" Menade du 07? {EXCEL_NUMBER}",
        ),
        (
            "organisation;k;K;municipality;;;;999.0;;;;;",
            "municipality",
            "Kommunkoden 999.0 är ett tal med decimaler: en kommunkod är fyra siffror, till exempel 0780."
            f" {EXCEL_NUMBER}",
        ),
        (
            "user;u.c;C;;;;;;;c@example.se;;coordinator;07 180.0",
            "scope",
            f"Kommunkoden 180.0 är ett tal med decimaler: en kommunkod är fyra siffror."
            f" Menade du 0180? {EXCEL_NUMBER}",
        ),
    ],
)
def test_a_code_excel_took_its_leading_zero_from_is_refused_naming_the_likely_one(
    db_session, app_ctx, now, line, column, message
):
    # Never padded: a line taken with a wrong code is worse than one refused.
    for apply in (False, True):
        report = run(db_session, now, csv_of(line), apply=apply)
        assert [(e.line, e.column, e.message) for e in report.errors] == [(2, column, message)]
    assert counts(db_session) == (0, 0, 0)


def test_a_user_of_a_deactivated_unit_is_refused_at_the_unit_column(db_session, app_ctx, now):
    from sipflow.admin import directory

    run(db_session, now, csv_of(ORG, UNIT), apply=True)
    with unit_of_work(db_session):
        unit = db_session.exec(select(Unit).where(Unit.key == "reg-vc")).one()
        directory.set_unit_active(db_session, None, unit, False, now=now)
    report = run(db_session, now, csv_of(USER), apply=True)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "unit", "Enheten reg-vc är inaktiverad: aktivera den först.")
    ]


@pytest.mark.parametrize(
    ("line", "column", "limit"),
    [
        (USER.replace("Anna Test", "x" * 1_000_000), "name", 160),
        (USER.replace(";staff;", ";" + "staff " * 200_000 + ";"), "roles", 200),
        (ORG.replace(";22;", ";" + "2" * 500_000 + ";"), "county", 80),
    ],
    ids=["name", "roles", "county"],
)
def test_an_over_long_value_names_its_column_and_the_limit(db_session, app_ctx, now, line, column, limit):
    report = run(db_session, now, csv_of(ORG.replace("reg;", "other;", 1), UNIT, line), apply=True)
    assert (4, column, f"Högst {limit} tecken.") in [(e.line, e.column, e.message) for e in report.errors]
    assert all("CSV" not in e.message for e in report.errors)
    assert counts(db_session) == (0, 0, 0)


def test_a_user_name_over_the_users_limit_is_refused_at_the_name(db_session, app_ctx, now):
    report = run(db_session, now, csv_of(ORG, UNIT, USER.replace("Anna Test", "x" * 150)), apply=True)
    assert [(e.line, e.column) for e in report.errors] == [(4, "name")]


def test_an_existing_users_e_mail_is_refused(db_session, app_ctx, now, make_user):
    make_user(None, username="someone", email="anna@test.example")
    report = run(db_session, now, csv_of(ORG, UNIT, USER), apply=True)
    assert [(e.line, e.column) for e in report.errors] == [(4, "email")]
    assert counts(db_session)[0] == 0


@pytest.mark.parametrize(
    "header",
    [
        "record;key;name",
        HEADER.replace("scope", "omfattning"),
        HEADER + ";key",
        "",
    ],
)
def test_a_wrong_header_is_an_error_on_line_1(db_session, app_ctx, now, header):
    report = run(db_session, now, csv_of(ORG, header=header), apply=True)
    assert [e.line for e in report.errors] == [1]
    assert counts(db_session) == (0, 0, 0)


def test_a_file_that_is_not_utf8_is_refused(db_session, app_ctx, now):
    report = run(db_session, now, csv_of(ORG).replace(b"Region", "Regiön".encode("latin-1")), apply=True)
    # The line of the first letter that is not UTF-8 (line 2, the organisation's), and what to do in Excel.
    assert [e.line for e in report.errors] == [2]
    assert report.errors[0].message == (
        "Raden är inte UTF-8-text: filen är sparad med en annan teckenkodning, som Excels"
        " ”CSV (semikolonavgränsad)”. Välj Spara som i Excel och filformatet CSV UTF-8,"
        " och importera den filen."
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excels_unicode_text_utf16_with_its_byte_order_mark_imports_as_utf8_does(
    db_session, app_ctx, now, encoding
):
    # Excel's "Unicode Text" (Spara som > Unicode-text): UTF-16 with a byte-order mark, tab-separated. The
    # mark says the encoding, so the file is read as it is, åäö and all, not refused as "not UTF-8".
    text = csv_of(ORG, UNIT, USER, delimiter="\t").decode()
    mark = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}[encoding]
    report = run(db_session, now, mark + text.encode(encoding), apply=True)
    assert report.errors == [] and report.applied
    assert counts(db_session) == (1, 1, 1)
    unit = db_session.exec(select(Unit).where(Unit.key == "reg-vc")).one()
    assert unit.name == "Vårdcentralen Test"
    # Cut in the middle of a character: refused at its line, saying what to do.
    cut = run(db_session, now, (mark + text.encode(encoding))[:-1], apply=False)
    assert [e.line for e in cut.errors] == [4]
    assert "Spara filen som CSV UTF-8" in cut.errors[0].message


def test_a_nul_in_the_file_is_refused_at_its_line(db_session, app_ctx, now):
    # PostgreSQL stores no NUL: the import refuses it by line instead of failing on the database's error.
    report = run(db_session, now, csv_of(ORG, UNIT, USER).replace(b"Anna Test", b"Anna\x00Test"), apply=True)
    assert [e.line for e in report.errors] == [4] and "NUL" in report.errors[0].message
    assert counts(db_session) == (0, 0, 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | st.text(alphabet=';,\n"ab0123 -é', max_size=300).map(str.encode))
def test_any_bytes_give_a_report_and_never_an_exception(db_session, app_ctx, now, data):
    report = run(db_session, now, data, apply=False)
    assert report.errors or report.planned == [] or all(p.line >= 2 for p in report.planned)


def test_the_page_dry_runs_then_imports(client, db_session, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    assert "record;key;name" in text_of(client.get("/admin/import"))
    data = EXAMPLE_CSV.read_bytes()

    def upload(button: str):
        return client.post(
            "/admin/import",
            data={
                "csrf_token": token_of(client, "/admin/import"),
                "file": (io.BytesIO(data), "county.csv"),
                button: "1",
            },
            content_type="multipart/form-data",
        )

    page = text_of(upload("dry_run"))
    assert "exempel-region" in page and counts(db_session) == (0, 0, 1)
    response = upload("apply")
    assert response.status_code == 200 and counts(db_session) == (4, 5, 3)
    assert changes(db_session, "import.apply")[0].actor_user_id == admin.id


def test_the_page_shows_each_error_with_its_line(client, db_session, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    response = client.post(
        "/admin/import",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (io.BytesIO(csv_of(UNIT)), "bad.csv"),
            "apply": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Rad 2" in page and "reg" in page
    assert counts(db_session) == (0, 0, 1)


# Names of sipflow's fields a report must never show: the administrator knows the file's columns.
FIELD_NAMES = ("is_health_care", "county_code", "municipality_code", "display_name", "unit_id", "unit_key")


def _upload(client, data: bytes, lang: str, button: str = "dry_run") -> str:
    """The page's text (tags dropped, spaces collapsed) after uploading data."""
    response = client.post(
        f"/admin/import?lang={lang}",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (io.BytesIO(data), "county.csv"),
            button: "1",
        },
        content_type="multipart/form-data",
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text_of(response)))


@pytest.mark.parametrize(
    ("lang", "changed", "refused"),
    [
        (
            "sv",
            "Rad 2: Organisation reg Region Prov (Namn, Kommun)",
            ["Rad 2 (Län, county): Okänd länskod.", "Rad 3 (Hälso- och sjukvårdsenhet, health_care): "],
        ),
        (
            "en",
            "Line 2: Organisation reg Region Prov (Name, Municipality)",
            ["Line 2 (County): Unknown county code.", "Line 3 (Health-care unit, health_care): "],
        ),
    ],
)
def test_the_report_names_records_and_columns_as_the_pages_do(
    client, db_session, make_user, lang, changed, refused
):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    # A school: a region has no municipality to move to.
    school = ORG.replace(";region;", ";school;")
    _upload(client, csv_of(school, UNIT), lang, "apply")
    moved = school.replace("Region Test", "Region Prov").replace(";22;", ";;2281")
    renamed = UNIT.replace("Vårdcentralen Test", "Vårdcentralen Prov").replace(";yes;", ";no;")
    page = _upload(client, csv_of(moved, renamed, USER), lang)
    assert changed in page, page
    unit = {"sv": "Enhet", "en": "Unit"}[lang]
    health_care = {"sv": "Hälso- och sjukvårdsenhet", "en": "Health-care unit"}[lang]
    line = {"sv": "Rad", "en": "Line"}[lang]
    name = {"sv": "Namn", "en": "Name"}[lang]
    assert f"{line} 3: {unit} reg-vc Vårdcentralen Prov ({name}, {health_care})" in page
    user = {"sv": "Användare", "en": "User"}[lang]
    assert f": {user} test.anna Anna Test" in page
    errors = _upload(client, csv_of(ORG.replace(";22;", ";99;"), UNIT.replace(";yes;", ";kanske;")), lang)
    for text in refused:
        assert text in errors, errors
    for name in FIELD_NAMES:
        assert name not in page and name not in errors
    assert ": unit " not in page and ": user " not in page


def test_the_command_line_dry_run_and_import(app, db_session):
    runner = app.test_cli_runner()
    dry = runner.invoke(sipflow_cli, ["import", "directory", str(EXAMPLE_CSV), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "11 would be created" in dry.output and counts(db_session) == (0, 0, 0)
    done = runner.invoke(sipflow_cli, ["import", "directory", str(EXAMPLE_CSV)])
    assert done.exit_code == 0 and counts(db_session) == (4, 5, 2)
    again = runner.invoke(sipflow_cli, ["import", "directory", str(EXAMPLE_CSV)])
    assert "0 were created, 0 changed, 11 left alone" in again.output


def test_the_command_line_counts_one_record_in_the_singular(app, db_session, tmp_path):
    one = tmp_path / "one.csv"
    one.write_bytes(csv_of(ORG))
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(one)])
    assert result.exit_code == 0, result.output
    assert "1 was created, 0 changed, 0 left alone" in result.output


def test_the_command_line_reports_errors_with_file_and_line(app, db_session, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of(ORG, UNIT, USER.replace(";reg-vc;", ";;")))
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv:4 (unit)" in result.output and counts(db_session) == (0, 0, 0)
    # In English, as the command's own summary line ("1 error: nothing imported").
    assert "Staff must belong to a unit" in result.output and "enhet" not in result.output


def _users_file(prefix: str, count: int) -> bytes:
    users = [
        f"user;{prefix}{i};User {i};;;{prefix}-vc;;;;{prefix}{i}@test.example;;staff;" for i in range(count)
    ]
    return csv_of(
        f"organisation;{prefix};Region {prefix};region;;;22;;;;;;",
        f"unit;{prefix}-vc;Vårdcentralen {prefix};vardcentral;{prefix};;;;yes;;;;",
        *users,
    )


def test_an_import_of_many_users_reads_as_often_as_one_of_a_few(db_session, app_ctx, now):
    # A file of 5000 users must finish inside the worker's 30 s: nothing is read or checked per user.
    # (Rows are INSERTed in one statement per table on PostgreSQL; SQLite, which cannot say in which order
    # a multi-row INSERT returned its ids, gets one per row from SQLAlchemy, in one call.)
    counted = []
    for prefix, count in (("few", 3), ("many", 60)):
        data = _users_file(prefix, count)
        # The import's statements; the outbox delivers the invitations after the commit, one by one.
        with unit_of_work(db_session), statements(db_session.get_bind(), _not_insert) as seen:
            report = imports.import_directory(db_session, data, actor=None, now=now, apply=True)
        assert report.applied and len(report.created) == count + 2
        counted.append(len(seen))
    assert counted[1] == counted[0], counted


def _not_insert(statement: str) -> bool:
    return not statement.lstrip().upper().startswith("INSERT")


@pytest.mark.parametrize(
    ("lang", "bad_lines", "heading"),
    [
        ("en", 1, "Nothing was imported: 1 error"),
        ("en", 2, "Nothing was imported: 2 errors"),
        ("sv", 1, "Ingenting importerades: 1 fel"),
        ("sv", 2, "Ingenting importerades: 2 fel"),
    ],
)
def test_the_page_counts_its_errors_in_singular_or_plural(client, make_user, lang, bad_lines, heading):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    response = client.post(
        f"/admin/import?lang={lang}",
        data={
            "csrf_token": token_of(client, "/admin/import"),
            "file": (
                io.BytesIO(csv_of(*[UNIT.replace("reg-vc", f"reg-vc{n}") for n in range(bad_lines)])),
                "bad.csv",
            ),
            "dry_run": "1",
        },
        content_type="multipart/form-data",
    )
    # "1 error" is no match in "1 errors": the heading must end where the word does.
    assert re.search(re.escape(heading) + r"\b", text_of(response)), text_of(response)[:300]


def test_a_unit_named_as_an_active_unit_of_its_organisation_is_refused_at_the_name(db_session, app_ctx, now):
    run(db_session, now, csv_of(ORG, UNIT), apply=True)
    report = run(
        db_session, now, csv_of(UNIT.replace("reg-vc;Vårdcentralen", "reg-vc2;VÅRDCENTRALEN")), apply=True
    )
    assert [(e.line, e.column) for e in report.errors] == [(2, "name")]
    assert counts(db_session) == (1, 1, 0)
