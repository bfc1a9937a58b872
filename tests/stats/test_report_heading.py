"""The quarterly report says what it covers: its heading, the lines under it, its metadata (title,
author, subject, language) and its file name name the area and SIP code, in the reader's language; its
pages keep a table's heading with its first rows and its total with the row before it."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from statskit import coordinator_client

from sipflow.stats import exports

VAXJO, LESSEBO, KALMAR = "0780", "0761", "0880"
QUARTER = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
def kronoberg(world, db_session):
    """Six persons with a SIP in Växjö and six in Lessebo (county 07), six in Kalmar (county 08)."""
    for municipality in (VAXJO, LESSEBO, KALMAR):
        for _ in range(6):
            case = world.case(world.person(municipality))
            world.meeting(case, date(2026, 1, 10), municipality=municipality)
    db_session.commit()
    return world


def pdf_file(response, tmp_path):
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    return path


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout


def pdf_info(path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return {
        key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())
    }


def filename(response) -> str:
    return re.fullmatch(r'attachment; filename="(.+)"', response.headers["Content-Disposition"]).group(1)


def test_the_report_names_the_municipality_and_the_sip_code_it_covers(
    client, make_user, db_session, kronoberg, tmp_path
):
    kerstin = coordinator_client(client, make_user, db_session, "kerstin-07", counties=["07"])
    params = QUARTER | {"municipality": VAXJO, "code": "XU045", "by": "", "lang": "sv"}
    response = kerstin.get("/statistik/kvartalsrapport.pdf", query_string=params)
    path = pdf_file(response, tmp_path)
    text = pdf_text(path)
    assert "SIP-statistik: Växjö, SIP-kod XU045" in text
    assert "Område: Växjö (0780)" in text
    assert "SIP-kod: XU045 SIP-möte (räknas som SIP)" in text
    assert "2026-01-01 – 2026-03-31" in text
    assert filename(response) == "sip-statistik-0780-2026-01_2026-03-XU045.pdf"
    info = pdf_info(path)
    assert info["Title"] == "SIP-statistik: Växjö, SIP-kod XU045"
    assert info["Author"] == "sipflow"
    assert "Växjö (0780)" in info["Subject"] and "2026-01-01 – 2026-03-31" in info["Subject"]
    assert b"/Lang (sv)" in response.get_data()

    lessebo = kerstin.get("/statistik/kvartalsrapport.pdf", query_string=params | {"municipality": LESSEBO})
    assert "SIP-statistik: Lessebo, SIP-kod XU045" in pdf_text(pdf_file(lessebo, tmp_path))
    assert filename(lessebo) == "sip-statistik-0761-2026-01_2026-03-XU045.pdf"
    # The table and the workbook of the same filter are named alike: Växjö's and Lessebo's are two files.
    for extension in ("csv", "xlsx"):
        download = kerstin.get(f"/statistik/indikatorer.{extension}", query_string=params)
        assert filename(download) == f"sip-statistik-0780-2026-01_2026-03-XU045.{extension}"


@pytest.mark.parametrize(
    ("lang", "period", "produced"),
    [
        ("sv", "Period: 2026-01-01 – 2026-03-31", "Framtaget: 2026-04-01 00:30 (svensk tid)"),
        ("en", "Period: 2026-01-01 – 2026-03-31", "Produced: 2026-04-01 00:30 (Swedish time)"),
    ],
)
def test_the_report_says_which_date_is_its_period_and_which_is_when_it_was_made(
    client, make_user, db_session, kronoberg, frozen_clock, tmp_path, lang, period, produced
):
    """The tester's case: under the area two bare lines, "2026-01-01 – 2026-03-31" and "2026-04-01 00:30";
    a reader who never saw sipflow could not tell the second from a date the figures count up to."""
    frozen_clock.set(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))  # 00:30 on 1 April in Sweden
    kerstin = coordinator_client(client, make_user, db_session, f"kerstin-lines-{lang}", counties=["07"])
    params = QUARTER | {"lang": lang}
    lines = [
        line.strip()
        for line in pdf_text(
            pdf_file(kerstin.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path)
        ).splitlines()
    ]
    assert period in lines and produced in lines
    workbook = load_workbook(
        io.BytesIO(kerstin.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    about = [row[0] for row in workbook.worksheets[-1].iter_rows(values_only=True)]
    assert period in about and produced in about
    assert period in workbook.properties.subject


def test_without_a_filter_the_report_names_what_the_coordinator_follows(
    client, make_user, db_session, kronoberg, tmp_path
):
    kerstin = coordinator_client(
        client, make_user, db_session, "kerstin-07-0880", counties=["07"], municipalities=[KALMAR, VAXJO]
    )
    response = kerstin.get("/statistik/kvartalsrapport.pdf", query_string=QUARTER)
    text = pdf_text(pdf_file(response, tmp_path))
    # Växjö lies in Kronoberg, followed as a whole: named once, by its county.
    assert "SIP-statistik: Kronobergs län, Kalmar" in text
    assert "Område: Kronobergs län (07), Kalmar (0880)" in text and "SIP-koder: alla" in text
    assert filename(response) == "sip-statistik-07-0880-2026-01_2026-03.pdf"


def test_a_coordinator_following_every_county_gets_a_report_of_every_county(
    client, make_user, db_session, kronoberg, tmp_path
):
    national = coordinator_client(client, make_user, db_session, "kerstin-national")
    response = national.get("/statistik/kvartalsrapport.pdf", query_string=QUARTER)
    text = pdf_text(pdf_file(response, tmp_path))
    assert "SIP-statistik: alla län" in text and "Område: alla län" in text
    assert filename(response) == "sip-statistik-alla-lan-2026-01_2026-03.pdf"
    county = national.get("/statistik/kvartalsrapport.pdf", query_string=QUARTER | {"county": "08"})
    assert "SIP-statistik: Kalmar län" in pdf_text(pdf_file(county, tmp_path))
    assert filename(county) == "sip-statistik-08-2026-01_2026-03.pdf"


def test_the_english_report_is_named_in_english(client, make_user, db_session, kronoberg, tmp_path):
    national = coordinator_client(client, make_user, db_session, "kerstin-english")
    params = {"from": "2026-01-01", "to": "2026-02-28", "lang": "en"}
    response = national.get("/statistik/kvartalsrapport.pdf", query_string=params)
    text = pdf_text(pdf_file(response, tmp_path))
    assert "SIP statistics: all counties" in text and "Area: all counties" in text
    assert filename(response) == "sip-statistics-all-counties-2026-01_2026-02.pdf"
    quarter = national.get(
        "/statistik/kvartalsrapport.pdf", query_string=QUARTER | {"municipality": VAXJO, "code": "XU045"}
    )
    assert "SIP code: XU045 SIP meeting (counts as a SIP)" in pdf_text(pdf_file(quarter, tmp_path))
    assert filename(quarter) == "sip-statistics-0780-2026-01_2026-03-XU045.pdf"
    assert b"/Lang (en)" in quarter.get_data()


def test_a_years_file_names_its_county_apart_from_its_months(client, make_user, db_session, kronoberg):
    """A year's export was "sip-statistics-2026-07.csv": 07, Kronoberg's code, read as July. Every format
    names the county, then the first and last month of the period."""
    kerstin = coordinator_client(client, make_user, db_session, "kerstin-07-year", counties=["07"])
    year = {"from": "2026-01-01", "to": "2026-12-31", "county": "07", "lang": "en"}
    for path, extension in (
        ("indikatorer.csv", "csv"),
        ("indikatorer.xlsx", "xlsx"),
        ("kvartalsrapport.pdf", "pdf"),
    ):
        download = kerstin.get(f"/statistik/{path}", query_string=year)
        assert download.status_code == 200
        assert filename(download) == f"sip-statistics-07-2026-01_2026-12.{extension}"


def test_a_file_name_names_at_most_a_few_areas(app):
    with app.test_request_context(), force_locale("sv"):
        codes = [f"07{n:02d}" for n in range(10)]
        name = exports.report_filename(date(2025, 1, 1), date(2025, 12, 31), codes)
    assert name == "sip-statistik-" + "-".join(codes[: exports.FILENAME_AREAS]) + "-m-fl-2025-01_2025-12.pdf"


# --- The report's pages: wherever a page ends ----------------------------------------------------------


def _table(key: str, title: str, rows: int) -> dict:
    columns = [{"key": "place", "label": "Kommun"}, {"key": "sips", "label": "SIP"}]
    return {
        "key": key,
        "title": title,
        "columns": columns,
        "rows": [{"place": f"Rad-{key}-{n}", "sips": n} for n in range(rows)],
        "total": {"place": "Totalt", "sips": rows},
    }


@pytest.mark.parametrize("rows", range(10, 40))
def test_no_page_holds_a_table_s_heading_or_its_total_alone(rows, tmp_path):
    """Wherever a page ends (a first table of 10 to 39 rows moves it across the second table too)."""
    answer = {"tables": [_table("a", "Tabell A", rows), _table("b", "Tabell B", 5)]}
    made = exports.to_pdf(
        answer, heading="SIP", subtitle="Kronoberg", made_at=datetime(2026, 4, 1, tzinfo=UTC)
    )
    path = tmp_path / "report.pdf"
    path.write_bytes(made)
    pages = pdf_text(path).split("\f")[:-1]
    for page in pages:
        if "Totalt" in page:
            assert "Rad-" in page, page  # the total with a row before it
        lines = [line.strip() for line in page.splitlines()]
        for key in ("a", "b"):
            if f"Tabell {key.upper()}" in lines:
                assert f"Rad-{key}-0" in page and f"Rad-{key}-1" in page, (
                    page
                )  # the heading with its first rows
            if f"Tabell {key.upper()} (cont.)" in lines:
                assert f"Rad-{key}-" in page, page  # a continued title over rows of its table


def test_an_emoji_in_a_table_prints_in_the_fallback_font(tmp_path):
    """A name in a table (an organisation's, typed by an administrator) prints every character it has:
    an emoji DejaVu Sans lacks in Symbola (sipflow.pdf_fonts.markup), not as an empty box."""
    table = _table("a", "Tabell \U0001f389", 2)
    table["rows"][0]["place"] = "Glad \U0001f389 kommun \U0001f1f8\U0001f1ea"
    made = exports.to_pdf(
        {"tables": [table]}, heading="SIP", subtitle="Kronoberg", made_at=datetime(2026, 4, 1, tzinfo=UTC)
    )
    path = tmp_path / "report.pdf"
    path.write_bytes(made)
    text = pdf_text(path)
    assert "Tabell \U0001f389" in text and "Glad \U0001f389 kommun \U0001f1f8\U0001f1ea" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "Symbola" in fonts
