"""Loggutdrag: one person's rows only, as CSV for Excel and as a PDF whose text reads right (pdftotext)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import support
from sqlmodel import select

from sipflow.db import unit_of_work
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Person
from sipflow.people.services import look_up_person
from sipflow.security import audit
from sipflow.security.audit import record_access
from sipflow.security.extract import HEADERS, access_extract_csv, access_extract_pdf

AT = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 2026-07-02 00:30 in Stockholm (summer time)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))


@pytest.fixture
def log(db_session, parties, create_case):
    """Two persons' cases and a mix of rows: views, a refusal, an extract, and rows about the other person."""
    mine = create_case()
    theirs = create_case(units=[])
    person = db_session.get(Person, mine.person_id)
    other = db_session.get(Person, theirs.person_id)
    extract = {"action": audit.PERSON_EXTRACT, "purpose": "loggutdrag"}
    rows = [  # one a minute from AT
        {"user": parties.region_user, "action": audit.CASE_VIEW, "case": mine},
        {"user": parties.region_user, "action": audit.CASE_VIEW, "case": theirs},
        {"user": parties.outsider_user, "action": audit.ACCESS_DENIED, "case": mine, "outcome": audit.DENIED},
        {"user": parties.municipality_user, "action": audit.CASE_TRANSITION, "case": mine},
        {"user": parties.region_user, "person": person, **extract},
        {"user": parties.region_user, "person": other, **extract},
    ]
    with unit_of_work(db_session):
        for minute, row in enumerate(rows):
            record_access(
                db_session, **{"purpose": audit.PURPOSE_CARE, **row}, now=AT + timedelta(minutes=minute)
            )
    return SimpleNamespace(person=person, other=other, case=mine, other_case=theirs)


def test_csv_has_the_columns_and_the_persons_rows_only(db_session, parties, log):
    rows = read_csv(access_extract_csv(db_session, log.person.id))
    assert (
        tuple(rows[0])
        == HEADERS
        == (
            "Tid",
            "Användare",
            "Organisation",
            "Åtgärd",
            "Ändamål",
            "Ärende",
            "Utfall",
        )
    )
    assert rows[1:] == [
        [
            "2026-11-02 10:00:00",  # the start of the SIP, first in the log (create_case's clock)
            parties.region_user.display_name,
            "Region Kronoberg",
            "Startade SIP-ärendet",
            "vård och behandling / samordning",
            log.case.reference,
            "tillåten",
        ],
        [
            "2026-07-02 00:30:00",
            parties.region_user.display_name,
            "Region Kronoberg",
            "Läste SIP-ärendet",
            "vård och behandling / samordning",
            log.case.reference,
            "tillåten",
        ],
        [
            "2026-07-02 00:32:00",
            parties.outsider_user.display_name,
            "Försäkringskassan",
            "Nekades åtkomst",
            "vård och behandling / samordning",
            log.case.reference,
            "nekad",
        ],
        [
            "2026-07-02 00:33:00",
            parties.municipality_user.display_name,
            "Växjö kommun",
            "Förde SIP-ärendet vidare",
            "vård och behandling / samordning",
            log.case.reference,
            "tillåten",
        ],
        [
            "2026-07-02 00:34:00",
            parties.region_user.display_name,
            "Region Kronoberg",
            "Tog fram ett loggutdrag om personen",
            "loggutdrag",
            "–",
            "tillåten",
        ],
    ]
    text = access_extract_csv(db_session, log.person.id).decode("utf-8-sig")
    assert log.other_case.reference not in text
    assert log.person.id_number not in text and log.person.id_number[2:] not in text


def test_a_search_for_the_number_before_the_person_was_registered_is_in_their_extract(
    app, db_session, parties, make_person
):
    """The person learns who searched for their number while nobody had it (logged as not found, naming
    no person); a search for another number is not theirs."""
    birth = date(1961, 3, 14)
    serial = support.next_number() % 500
    theirs, another = (support.valid_personnummer(birth, s) for s in (serial, serial + 500))
    with unit_of_work(db_session):
        for minute, number in enumerate((theirs, another)):
            found = look_up_person(
                db_session,
                parties.region_user,
                app.config["PNR_HASH_KEY"],
                parse_identifier(number, today=AT.date()),
                purpose="sökning i Mina SIP",
                now=AT + timedelta(minutes=minute),
            )
            assert found is None
    person = make_person(birth=birth, serial=serial)
    assert read_csv(access_extract_csv(db_session, person.id))[1:] == [
        [
            "2026-07-02 00:30:00",
            parties.region_user.display_name,
            "Region Kronoberg",
            "Sökte fram personen",
            "sökning i Mina SIP",
            "–",
            "ingen träff",
        ]
    ]


def test_csv_cells_cannot_become_formulas(db_session, parties, log):
    user = parties.region_user
    user.display_name = '=HYPERLINK("http://example.com")'
    db_session.add(user)
    db_session.commit()
    rows = read_csv(access_extract_csv(db_session, log.person.id))
    assert rows[1][1] == '\'=HYPERLINK("http://example.com")'


def test_csv_of_a_person_without_rows_has_the_header_only(db_session, make_person):
    person = make_person()
    assert read_csv(access_extract_csv(db_session, person.id)) == [list(HEADERS)]


def test_pdf_reads_right_and_never_shows_the_personnummer(db_session, parties, log):
    pdf = access_extract_pdf(db_session, log.person.id, now=NOW)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Loggutdrag" in text
    assert f"{log.person.id_number[:8]}-****" in text
    assert "Framtaget: 2026-11-02 10:00" in text
    for word in ("Läste SIP-ärendet", "Växjö kommun", "Försäkringskassan", "vård och behandling", "även"):
        assert word in text, word
    assert all(letter in text for letter in "åäö")
    assert log.case.reference in text and log.other_case.reference not in text
    number = log.person.id_number
    for shown in (
        number,
        number[2:],
        f"{number[:8]}-{number[8:]}",
        f"{number[2:8]}-{number[8:]}",
        number[8:],
    ):
        assert shown not in text, "the full personnummer (or its last four) is in the PDF"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Title: +Loggutdrag$", info, re.MULTILINE)
    assert log.person.given_name not in info and number[:8] not in info, "document properties"


def test_pdf_embeds_its_fonts(db_session, log):
    pdf = access_extract_pdf(db_session, log.person.id, now=NOW)
    listing = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    fonts = listing.splitlines()[2:]
    assert fonts, listing
    # Columns: name, type, encoding, emb, sub, uni, object ID; every font embedded.
    assert all(line.split()[-5] == "yes" for line in fonts), listing


def test_an_emoji_in_a_name_prints_in_the_fallback_font(db_session, log):
    """A name typed with an emoji family (sipflow takes it) prints every emoji DejaVu Sans lacks in Symbola,
    the zero-width joiners left out of the drawn text (sipflow.pdf_fonts.markup), not as empty boxes."""
    log.person.given_name = "Familjen \U0001f468\u200d\U0001f469\u200d\U0001f467"
    db_session.commit()
    pdf = access_extract_pdf(db_session, log.person.id, now=NOW)
    assert "Person: Familjen \U0001f468\U0001f469\U0001f467" in pdf_text(pdf)
    listing = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Symbola" in listing


def test_a_long_pdf_repeats_the_header_and_an_empty_one_says_so(
    db_session, parties, create_case, make_person
):
    case = create_case()
    with unit_of_work(db_session):
        for i in range(120):
            record_access(
                db_session,
                user=parties.region_user,
                action=audit.CASE_VIEW,
                purpose=audit.PURPOSE_CARE,
                case=case,
                now=AT + timedelta(minutes=i),
            )
    text = pdf_text(access_extract_pdf(db_session, case.person_id, now=NOW))
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) >= 3
    assert all("Användare" in page for page in pages if page.strip())
    assert "Antal poster: 121" in text and "Sida 3" in text  # and the start of the SIP
    lonely = make_person(birth=date(1950, 1, 2))
    empty = pdf_text(access_extract_pdf(db_session, lonely.id, now=NOW))
    assert "Inga loggade åtkomster." in empty and "Antal poster: 0" in empty


def test_pdf_of_an_unknown_person_is_refused(db_session):
    unknown = (db_session.exec(select(Person.id).order_by(Person.id.desc())).first() or 0) + 1
    with pytest.raises(LookupError):
        access_extract_pdf(db_session, unknown, now=NOW)


def test_every_action_the_log_takes_is_worded_in_swedish():
    """A code the extract cannot word reaches the person as 'meeting.view': every code needs a label."""
    from sipflow.security.extract import ACTION_LABELS

    assert [code for code in audit.ACTIONS if code not in ACTION_LABELS] == []
    # Every code constant of the log is one it takes (record_access refuses the others).
    codes = {
        value
        for name, value in vars(audit).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", value)
    }
    assert codes - set(audit.ACTIONS) == set()


def test_the_log_refuses_an_action_it_has_no_code_for(db_session, parties, create_case):
    with pytest.raises(ValueError, match="audit.ACTIONS"), unit_of_work(db_session):
        record_access(
            db_session,
            user=parties.region_user,
            action="meeting.peek",
            purpose=audit.PURPOSE_CARE,
            case=create_case(),
            now=AT,
        )


def test_meeting_reads_and_changes_are_worded_in_swedish(db_session, parties, create_case):
    case = create_case()
    with unit_of_work(db_session):
        for minute, action in enumerate((audit.MEETING_VIEW, audit.MEETING_CHANGE)):
            record_access(
                db_session,
                user=parties.region_user,
                action=action,
                purpose=audit.PURPOSE_CARE,
                case=case,
                now=AT + timedelta(minutes=minute),
            )
    rows = read_csv(access_extract_csv(db_session, case.person_id))
    assert [row[3] for row in rows[1:]] == [
        "Startade SIP-ärendet",
        "Läste ett SIP-möte",
        "Bokade eller ändrade ett SIP-möte",
    ]
    text = pdf_text(access_extract_pdf(db_session, case.person_id, now=NOW))
    # The table wraps a long label within its cell: the change's label ends on the next line.
    assert "Läste ett SIP-möte" in text and "Bokade eller ändrade ett" in text
    assert "meeting." not in text


def test_rows_in_the_hour_shown_twice_when_summer_time_ends_say_which_showing(
    db_session, parties, create_case
):
    """25 October 2026: the clocks go back from 03:00 to 02:00. A read at 02:50 summer time and one 20 minutes
    later, at 02:10 standard time, were both shown by wall clock alone: the extract seemed to go back in time
    (or hide a row between them), and neither time named its moment."""
    case = create_case()
    person = db_session.get(Person, case.person_id)
    with unit_of_work(db_session):
        # The last an hour later, when the wall clock names one moment again.
        for hour, minute in ((0, 50), (1, 10), (2, 10)):
            record_access(
                db_session,
                user=parties.region_user,
                action=audit.CASE_VIEW,
                case=case,
                purpose=audit.PURPOSE_CARE,
                now=datetime(2026, 10, 25, hour, minute, tzinfo=UTC),
            )
    times = [row[0] for row in read_csv(access_extract_csv(db_session, person.id))[1:]]
    assert times[-3:] == [
        "2026-10-25 02:50:00 (sommartid)",
        "2026-10-25 02:10:00 (normaltid)",
        "2026-10-25 03:10:00",
    ]
