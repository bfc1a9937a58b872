"""Every output (page, chart, CSV, XLSX, JSON, PDF, CLI) shows the same numbers, with small counts hidden."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import subprocess
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask_babel import force_locale
from openpyxl import load_workbook
from webkit import login

from sipflow.cli import sipflow_cli
from sipflow.stats import exports

KALMAR, NYBRO = "0880", "0881"
PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "county": "08", "by": "municipality"}


@pytest.fixture
def kalmar(world, db_session):
    """Kalmar: 6 persons with a SIP (one of them twice), 2 by video; Nybro: 2 persons (a small count)."""
    for index in range(6):
        case = world.case(world.person(KALMAR))
        world.meeting(case, date(2026, 1, 10), municipality=KALMAR, video=index < 2)
        if index == 0:
            world.meeting(case, date(2026, 3, 10), kind="follow_up", municipality=KALMAR)
    for _ in range(2):
        world.meeting(world.case(world.person(NYBRO)), date(2026, 2, 10), municipality=NYBRO)
    db_session.commit()
    return world


@pytest.fixture
def coordinator(client, make_user):
    """A client logged in as a coordinator (no unit)."""
    make_user(None, "coordinator", "kerstin-test")
    login(client, "kerstin-test")
    return client


def cell_value(cell):
    """A cell as a reader compares it: numbers by value (a spreadsheet keeps 50.0 as 50), empty as ""."""
    if cell is None:
        return ""
    return float(cell) if isinstance(cell, int | float) else cell


def csv_cell(value) -> str:
    """A JSON cell as the Swedish CSV writes it: a share with a decimal comma, as the page shows it."""
    if value is None:
        return ""
    return f"{value:.1f}".replace(".", ",") if isinstance(value, float) else str(value)


def json_answer(client, **params):
    return client.get("/statistik/indikatorer.json", query_string=PERIOD | params).get_json()


def test_the_coordinator_lands_on_the_dashboard_and_sees_tables_and_charts(client, make_user, kalmar):
    make_user(None, "coordinator", "kerstin-lands")
    response = login(client, "kerstin-lands")
    assert response.status_code == 302 and response.location.endswith("/statistik/")
    page = client.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    assert "Antal personer som erhållit SIP under perioden" in page
    assert "Antal SIP genomförda via video" in page
    assert "<svg" in page and "<title" in page and "<desc" in page
    assert 'id="download-xlsx"' in page
    for name in ("county", "municipality", "from", "to", "by"):
        assert f'id="{name}"' in page


def test_small_counts_are_hidden_in_the_table_and_the_chart(coordinator, kalmar):
    page = coordinator.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    nybro = page.index('<th scope="row">Nybro</th>', page.index('id="table-meetings"'))
    nybro_row = page[nybro : page.index("</tr>", nybro)]
    assert "&lt;5" in nybro_row and "<td>2</td>" not in nybro_row
    chart = page[page.index("<svg") : page.index("</svg>")]
    # Kalmar's 7 would be the total minus Nybro's: hidden as well (complementary suppression).
    # Nybro's 2 SIPs are 2 persons': withheld as ".." (a row of "<5" persons shows nothing else).
    assert "Nybro: .." in chart and "Kalmar: .." in chart and ">7<" not in chart


def test_json_hides_small_counts_and_the_total_that_would_give_them_away(coordinator, kalmar):
    answer = json_answer(coordinator)
    meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
    rows = {row["municipality"]: row for row in meetings["rows"]}
    # A row of "<5" persons shows nothing else: its SIPs are withheld as "..".
    assert rows["Nybro"]["persons"] == "<5" and rows["Nybro"]["sips"] == ".."
    # Total 8 persons minus Kalmar's 6 would give Nybro's 2: complementary suppression hides Kalmar's too.
    assert (rows["Kalmar"]["persons"], rows["Kalmar"]["sips"]) == ("..", "..")
    assert (meetings["total"]["persons"], meetings["total"]["sips"]) == (8, 9)
    # Kalmar's video count (2) is small and so is the total of 2.
    assert rows["Kalmar"]["video"] == "<5" and meetings["total"]["video"] == "<5"


def test_csv_and_xlsx_read_back_equal_to_the_json(coordinator, kalmar):
    answer = json_answer(coordinator)
    meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
    keys = [column["key"] for column in meetings["columns"]]
    expected = [[column["label"] for column in meetings["columns"]]]
    expected += [[csv_cell(row[k]) for k in keys] for row in meetings["rows"]]
    expected.append([csv_cell(meetings["total"][k]) for k in keys])

    body = coordinator.get("/statistik/indikatorer.csv", query_string=PERIOD).get_data()
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert lines == expected

    workbook = load_workbook(
        io.BytesIO(coordinator.get("/statistik/indikatorer.xlsx", query_string=PERIOD).get_data())
    )
    # One sheet per table, one per chart, then the one saying what it covers
    # (test_the_workbook_says_what_it_covers).
    tables = answer["tables"]
    assert len(workbook.worksheets) == len(tables) + len(answer["charts"]) + 1
    for table, worksheet in zip(tables, workbook.worksheets[: len(tables)], strict=True):
        sheet = [[cell_value(cell) for cell in line] for line in worksheet.iter_rows(values_only=True)]
        table_keys = [column["key"] for column in table["columns"]]
        want = [[column["label"] for column in table["columns"]]]
        want += [[cell_value(row[k]) for k in table_keys] for row in table["rows"]]
        if table["total"] is not None:
            want.append([cell_value(table["total"][k]) for k in table_keys])
        if table["note"]:  # under the table, after an empty row
            want += [[""] * len(table_keys), [table["note"]] + [""] * (len(table_keys) - 1)]
        assert sheet == want


def test_the_quarterly_pdf_hides_small_counts(coordinator, kalmar, tmp_path):
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD)
    assert response.mimetype == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "Kalmar län" in text
    meetings = text[text.index("SIP-möten") :]  # the charts' tables come first
    nybro = next(line for line in meetings.splitlines() if "Nybro" in line)
    assert "<5" in nybro and " 2 " not in f" {nybro} "


def test_the_cli_writes_the_same_numbers(app, kalmar, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "stats.json"
    result = runner.invoke(
        sipflow_cli,
        [
            "stats",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--county",
            "08",
            "--by",
            "municipality",
            "--format",
            "json",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    meetings = json.loads(out.read_text())["tables"][0]
    rows = {row["municipality"]: row for row in meetings["rows"]}
    assert rows["Nybro"]["persons"] == "<5" and meetings["total"]["sips"] == 9
    xlsx = tmp_path / "stats.xlsx"
    result = runner.invoke(
        sipflow_cli,
        [
            "stats",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--by",
            "municipality,quarter",
            "--format",
            "xlsx",
            "--output",
            str(xlsx),
        ],
    )
    assert result.exit_code == 0 and load_workbook(xlsx)["SIP-möten"].max_row > 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-01", "to": "2026-01-31"}, "to"),
        ({"municipality": "9999"}, "municipality"),
        ({"by": "shoe_size"}, "by"),
        ({"from": "2000-01-01", "to": "2026-01-31"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"county": "99"}, "county"),
        ({"code": "ZV051"}, "code"),
        ({"compare_years": "21"}, "compare_years"),
        ({"from": "20260101"}, "from"),
        ({"from": "2026-W01-1"}, "from"),
        ({"to": "2026-03"}, "to"),
        ({"compare_years": "\u0663"}, "compare_years"),  # ARABIC-INDIC DIGIT THREE
        ({"from": "2025-01-01", "to": "2026-06-30", "compare_years": "1"}, "compare_years"),
    ],
)
def test_bad_input_is_a_clear_refusal_never_a_500(coordinator, params, field):
    response = coordinator.get("/statistik/indikatorer.json", query_string=PERIOD | params)
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["reason"]
    page = coordinator.get("/statistik/", query_string=PERIOD | params)
    assert page.status_code == 400 and f'id="{field}-error"' in page.get_data(as_text=True)


class _BlockInParagraph(HTMLParser):
    """The block elements a page opens inside a <p> (a browser closes the <p> there: invalid markup)."""

    BLOCKS = {"p", "div", "ul", "ol", "table", "section", "form", "fieldset", "h1", "h2", "h3"}

    def __init__(self) -> None:
        super().__init__()
        self.open_p = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS and self.open_p:
            self.found.append(f"<{tag} {dict(attrs)}>")
        if tag == "p":
            self.open_p += 1

    def handle_endtag(self, tag):
        if tag == "p" and self.open_p:
            self.open_p -= 1


@pytest.mark.parametrize("field", ["from", "to", "county", "municipality", "by", "compare_years", "code"])
def test_a_refused_filter_says_so_beside_its_field_in_valid_html(coordinator, field):
    """The error stands inside the field's paragraph as phrasing content, the field described by it."""
    bad = {"from": "yesterday", "to": "2026-13-01", "county": "99", "municipality": "9999"}
    bad |= {"by": "shoe_size", "compare_years": "21", "code": "ZV051"}
    page = coordinator.get("/statistik/", query_string=PERIOD | {field: bad[field]})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and f'aria-describedby="{field}-error"' in html
    assert f'id="{field}-error"' in html
    parser = _BlockInParagraph()
    parser.feed(html)
    assert parser.found == []


def test_bad_input_in_the_cli_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-03-01", "--to", "2026-01-31", "--format", "json"]
    )
    assert result.exit_code == 2 and "--to:" in result.output


def test_staff_get_no_statistics(client, make_unit, make_user):
    make_user(make_unit("region"), "staff", "staff-stats")
    login(client, "staff-stats")
    assert client.get("/statistik/indikatorer.json", query_string=PERIOD).status_code == 403
    assert client.get("/statistik/", query_string=PERIOD).status_code == 403


def test_the_quarterly_csv_has_one_row_per_municipality_with_persons_sips_and_video(coordinator, kalmar):
    """Seeds §8 item 40: the export is by quarter and municipality, headed with the Swedish wording."""
    body = coordinator.get(
        "/statistik/indikatorer.csv", query_string=PERIOD | {"by": "quarter,municipality"}
    ).get_data()
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert header[:5] == [
        "Kvartal",
        "Kommun",
        "Antal personer som erhållit SIP per kvartal",
        "Antal SIP",
        "Första SIP-möten",
    ]
    assert "Antal SIP genomförda via video" in header
    # Every municipality of the county is a row (12 in Kalmar län), with 0 where no SIP was held.
    assert len(rows[:-1]) == 12
    assert [row[:2] for row in rows[:-1] if row[3] != "0"] == [["2026 K1", "Kalmar"], ["2026 K1", "Nybro"]]
    assert rows[-1][0] == "Totalt"


def test_the_cli_shows_a_progress_bar_on_a_large_pull(app, kalmar, tmp_path):
    result = app.test_cli_runner().invoke(
        sipflow_cli,
        [
            "stats",
            "--from",
            "2020-01-01",
            "--to",
            "2026-12-31",
            "--format",
            "csv",
            "--output",
            str(tmp_path / "all.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Counting" in result.stderr


@pytest.mark.parametrize(
    "by",
    ["", "county", "year", "sex", "age_band", "occasion", "organisation_kind", "county,sex,age_band,quarter"],
)
def test_every_breakdown_answers_on_every_output(coordinator, kalmar, by):
    params = PERIOD | {"by": by, "compare_years": "1"}
    for path in ("/statistik/", "/statistik/indikatorer.json", "/statistik/indikatorer.csv"):
        assert coordinator.get(path, query_string=params).status_code == 200, path
    answer = json_answer(coordinator, by=by)
    sips = [row["sips"] for row in answer["tables"][0]["rows"]]
    # Without a breakdown the one row is the total.
    assert answer["tables"][0]["total"]["sips"] == 9 and (sips or by == "")


@pytest.fixture
def three_quarters(world, db_session):
    """Kalmar: 5 SIPs in Q3. Nybro: 2 in Q1, 3 in Q2 (both small), 6 in Q3. One person per SIP."""
    for municipality, held_on, count in (
        (KALMAR, date(2026, 8, 10), 5),
        (NYBRO, date(2026, 2, 10), 2),
        (NYBRO, date(2026, 5, 10), 3),
        (NYBRO, date(2026, 8, 10), 6),
    ):
        for _ in range(count):
            world.meeting(world.case(world.person(municipality)), held_on, municipality=municipality)
    db_session.commit()
    return world


def chart_descriptions(page: str) -> dict[str, str]:
    """Each chart's text alternative (<desc>), by the id of its element."""
    return dict(re.findall(r'<desc id="([a-z]+)-desc">(.*?)</desc>', page))


def test_a_chart_shows_the_true_sum_of_a_label_and_quarters_in_date_order(coordinator, three_quarters):
    params = PERIOD | {"from": "2026-01-01", "to": "2026-09-30", "by": "municipality,quarter"}
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    charts = chart_descriptions(page)
    # Nybro's two small quarters are hidden in the table, so its 11 does not give either of them away.
    assert "; Kalmar: 5; Nybro: 11; " in charts["chart"] and "Högsby: 0" in charts["chart"]
    assert charts["trend"] == "2026 K1: &lt;5; 2026 K2: &lt;5; 2026 K3: 11"


def test_a_bar_that_would_give_a_single_hidden_cell_away_is_hidden(coordinator, three_quarters):
    # By quarter alone Q2 (3) is hidden and, lest the total 14 give it back, Q3 (11) too; by municipality
    # alone Kalmar 5 and Nybro 9 are shown. The charts show exactly those tables, and the table by both
    # hides a second cell under Nybro's shown 9: its Q3 (6), so 9 is <5 + .. .
    params = PERIOD | {"from": "2026-04-01", "to": "2026-09-30", "by": "quarter,municipality"}
    answer = coordinator.get("/statistik/indikatorer.json", query_string=params).get_json()
    rows = answer["tables"][0]["rows"]
    cells = {(row["quarter"], row["municipality"]): row["sips"] for row in rows if row["sips"] != 0}
    # Nybro's Q2 is 3 persons': withheld as ".." (a row of "<5" persons shows nothing else). The total's 14
    # persons over Kalmar's 5, Nybro's 6 and Nybro's "<5" would give those 3 back: Kalmar's persons are
    # hidden, and with them its 5 SIPs (persons are at most the SIPs: 5 SIPs beside ".." persons, 5 or
    # more, are 5 persons). The chart by municipality shows Kalmar's 5 all the same, so Nybro's Q3
    # persons are hidden too: 14 - 5 = <5 + .. leaves the 3 unknown.
    persons = {(row["quarter"], row["municipality"]): row["persons"] for row in rows if row["sips"] != 0}
    assert cells == {("2026 K2", "Nybro"): "..", ("2026 K3", "Kalmar"): "..", ("2026 K3", "Nybro"): ".."}
    assert persons[("2026 K2", "Nybro")] == "<5" and persons[("2026 K3", "Nybro")] == ".."
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    charts = chart_descriptions(page)
    assert charts["trend"] == "2026 K2: &lt;5; 2026 K3: .."
    assert "; Kalmar: 5; Nybro: 9; " in charts["chart"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "0001-01-01", "to": "0001-12-31"}, "from"),
        ({"from": "0019-06-01", "to": "0019-06-30"}, "from"),
        ({"from": "9999-01-01", "to": "9999-12-31"}, "from"),
        ({"from": "2026-01-01", "to": "9999-12-31"}, "to"),
    ],
)
def test_a_date_at_the_edge_of_the_calendar_is_refused_on_every_output(coordinator, params, field):
    for path in ("indikatorer.json", "indikatorer.csv", "indikatorer.xlsx", "kvartalsrapport.pdf"):
        response = coordinator.get(f"/statistik/{path}", query_string=PERIOD | params)
        assert response.status_code == 400, path
        assert response.get_json()["field"] == field and "1900-01-01" in response.get_json()["reason"]
    page = coordinator.get("/statistik/", query_string=PERIOD | params)
    assert page.status_code == 400 and f'id="{field}-error"' in page.get_data(as_text=True)


WITHIN_A_YEAR = "Ett kvartal ligger inom ett år: välj kvartal eller år som uppdelning, inte båda."


@pytest.mark.parametrize(
    ("by", "swedish"),
    [
        ("municipality,municipality", "Uppdelningen per kommun är vald två gånger."),
        ("quarter,quarter", "Uppdelningen per kvartal är vald två gånger."),
        ("quarter,year", WITHIN_A_YEAR),
        ("year,sex,quarter", WITHIN_A_YEAR),
    ],
)
def test_a_breakdown_asked_for_twice_or_within_another_is_refused_on_every_output(coordinator, by, swedish):
    """A breakdown named twice, or a quarter beside its year, is no table anyone meant: said, not guessed."""
    params = PERIOD | {"by": by, "lang": "sv"}
    for path in ("indikatorer.json", "indikatorer.csv", "indikatorer.xlsx", "kvartalsrapport.pdf"):
        response = coordinator.get(f"/statistik/{path}", query_string=params)
        assert response.status_code == 400, path
        assert response.get_json()["field"] == "by" and response.get_json()["reason"] == swedish
    page = coordinator.get("/statistik/", query_string=params)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and 'id="by-error"' in html
    error = html[html.index('id="by-error"') :]
    assert swedish in error[: error.index("</")]


def test_a_date_at_the_edge_of_the_calendar_in_the_cli_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "0001-01-01", "--to", "0001-12-31", "--format", "json"]
    )
    assert result.exit_code == 2 and "--from:" in result.output


def test_the_json_address_answers_json_when_not_logged_in_or_asked_with_post(client, make_user):
    anonymous = client.get("/statistik/indikatorer.json", query_string=PERIOD)
    assert anonymous.status_code == 401 and anonymous.is_json
    assert anonymous.get_json()["error"] == "unauthorised" and anonymous.get_json()["reason"]
    assert client.get("/statistik/", query_string=PERIOD).status_code == 302  # the page leads to login
    make_user(None, "coordinator", "kerstin-post")
    login(client, "kerstin-post")
    posted = client.post("/statistik/indikatorer.json", query_string=PERIOD)
    assert posted.status_code == 405 and posted.is_json
    assert posted.get_json()["error"] == "method_not_allowed" and posted.get_json()["reason"]
    assert "GET" in posted.headers["Allow"]
    page = client.post("/statistik/")
    assert page.status_code == 405 and not page.is_json
    assert "Sidan kan inte skickas på det sättet" in page.get_data(as_text=True)


def pdf_text(response, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout


def test_the_quarterly_pdf_follows_the_breakdown_asked_for(coordinator, kalmar, tmp_path):
    refused = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | {"by": "bogus"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "by"
    by_quarter = pdf_text(
        coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | {"by": "quarter"}), tmp_path
    )
    assert "2026 K1" in by_quarter and "Nybro" not in by_quarter
    by_sex = pdf_text(
        coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | {"by": "sex"}), tmp_path
    )
    assert "Kvinna" in by_sex and "Nybro" not in by_sex


def test_the_csv_names_its_charset_once(coordinator, kalmar):
    response = coordinator.get("/statistik/indikatorer.csv", query_string=PERIOD)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_quarters_read_q_in_english_and_k_in_swedish(coordinator, kalmar):
    params = PERIOD | {"by": "quarter"}
    english = json_answer(coordinator, by="quarter", lang="en")
    assert [row["quarter"] for row in english["tables"][0]["rows"]] == ["2026 Q1"]
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    assert "2026 Q1" in page and "2026 K1" not in page
    body = coordinator.get("/statistik/indikatorer.csv", query_string=params).get_data().decode("utf-8-sig")
    assert "2026 Q1" in body
    swedish = json_answer(coordinator, by="quarter", lang="sv")
    assert [row["quarter"] for row in swedish["tables"][0]["rows"]] == ["2026 K1"]


def test_without_a_breakdown_a_table_is_one_row_labelled_total(app, coordinator, kalmar):
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-01-01", "--to", "2026-03-31", "--county", "08", "--by", ""]
    )
    assert result.exit_code == 0, result.output
    header, *lines = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    assert [line[:3] for line in lines] == [["Totalt", "8", "9"]]
    body = coordinator.get("/statistik/indikatorer.csv", query_string=PERIOD | {"by": ""}).get_data()
    header, *lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [line[:3] for line in lines] == [["Totalt", "8", "9"]]


def test_outcomes_not_broken_down_by_organisation_type_show_one_total_row(coordinator, kalmar, tmp_path):
    params = PERIOD | {"by": "organisation_kind"}
    answer = json_answer(coordinator, by="organisation_kind")
    outcomes = next(t for t in answer["tables"] if t["key"] == "outcomes")
    assert outcomes["rows"] == [] and outcomes["total"]["breakdown"] == "Totalt"
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    start = page.index('id="table-outcomes"')
    table = page[start : page.index("</table>", start)]
    assert table.count("<tr>") == 2 and '<th scope="row">Totalt</th>' in table
    assert "Inga SIP under perioden" not in table
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params)
    text = pdf_text(response, tmp_path)
    offered = text[text.index("Erbjudna SIP och uppföljningar") :]
    offered = offered[: offered.index("Närvaro")]
    assert len([line for line in offered.splitlines() if line.strip().startswith("Totalt")]) == 1


def test_an_output_file_that_cannot_be_written_is_a_clean_error(app, kalmar, tmp_path):
    target = tmp_path / "missing" / "x.csv"
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-01-01", "--to", "2026-03-31", "--output", str(target)]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert f"Error: could not write {target}" in result.output


@pytest.mark.parametrize("years", ["-1", "21"])
def test_compare_years_out_of_range_names_the_option_and_the_range(app, years):
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-01-01", "--to", "2026-03-31", "--compare-years", years]
    )
    assert result.exit_code == 2
    assert "--compare-years:" in result.output and "--compare_years" not in result.output
    # The command line speaks English, as its own lines do; the figures themselves stay Swedish.
    assert "Enter a number of earlier years" in result.output
    assert "0" in result.output and "20" in result.output


def test_every_page_of_the_quarterly_pdf_is_numbered_of_the_whole(coordinator, world, db_session, tmp_path):
    for month in (1, 4, 7):
        for age in (10, 20, 30, 50, 70, 90):
            for sex in ("female", "male"):
                case = world.case(world.person(KALMAR))
                world.meeting(case, date(2026, month, 10), municipality=KALMAR, age=age, sex=sex)
    db_session.commit()
    params = PERIOD | {"to": "2026-09-30", "by": "quarter,sex,age_band"}
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params)
    pages = pdf_text(response, tmp_path).split("\f")[:-1]
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert f"Sida {number} av {len(pages)}" in page


def test_shares_on_the_page_have_the_decimal_sign_of_the_page_language(coordinator, kalmar):
    # The shares (percent, one decimal) as the JSON carries them: numbers, e.g. 100.0.
    meetings = next(t for t in json_answer(coordinator)["tables"] if t["key"] == "meetings")
    shares = [v for v in meetings["total"].values() if isinstance(v, float)]
    shares += [v for row in meetings["rows"] for v in row.values() if isinstance(v, float)]
    assert shares
    swedish = coordinator.get("/statistik/", query_string=PERIOD | {"lang": "sv"}).get_data(as_text=True)
    for share in shares:
        assert f"<td>{share:.1f}</td>".replace(".", ",") in swedish
        assert f"<td>{share:.1f}</td>" not in swedish
    english = coordinator.get("/statistik/", query_string=PERIOD | {"lang": "en"}).get_data(as_text=True)
    for share in shares:
        assert f"<td>{share:.1f}</td>" in english


def test_the_swedish_dashboard_quotes_the_hidden_count_with_swedish_quotation_marks(coordinator, kalmar):
    swedish = coordinator.get("/statistik/", query_string=PERIOD | {"lang": "sv"}).get_data(as_text=True)
    # The mark is text, escaped: a bare "<" in HTML is not valid.
    assert "visas som ”&lt;5” i varje tabell" in swedish and "”<5”" not in swedish
    english = coordinator.get("/statistik/", query_string=PERIOD | {"lang": "en"}).get_data(as_text=True)
    # The legend's text is escaped whole, its straight quotes too (&#34;): read as the browser shows it.
    assert "&lt;5" in english and 'is shown as "<5" in every table' in html.unescape(english)
    # What ".." means is said too: a share hidden is "..", not "<5" (which reads as under 5 %).
    assert "”..” är dolt: allt annat om en grupp på färre än 5 personer (även en nolla)" in swedish
    assert '".." is hidden: anything else about a group of fewer than 5 persons' in html.unescape(english)


def test_the_swedish_dashboard_calls_the_kallelse_deadline_a_tidsfrist_as_everywhere_else(
    coordinator, kalmar
):
    swedish = coordinator.get("/statistik/", query_string=PERIOD | {"lang": "sv"}).get_data(as_text=True)
    assert "Kallelse inom tidsfristen" in swedish and "Andel kallelser inom tidsfristen (%)" in swedish
    assert "tidsgräns" not in swedish


def test_comparing_a_period_longer_than_a_year_is_refused_on_every_output(coordinator, kalmar):
    """Compared periods would overlap, and a day counts in one of them only: the numbers would be wrong."""
    params = PERIOD | {"from": "2025-01-01", "to": "2026-06-30", "by": "", "compare_years": "1"}
    for path in ("indikatorer.json", "indikatorer.csv", "indikatorer.xlsx", "kvartalsrapport.pdf"):
        response = coordinator.get(f"/statistik/{path}", query_string=params)
        assert response.status_code == 400, path
        assert response.get_json() == {
            "error": "invalid",
            "field": "compare_years",
            "reason": "Jämförelse med tidigare år går bara för en period på högst ett år.",
        }
    page = coordinator.get("/statistik/", query_string=params)
    assert page.status_code == 400
    assert "Jämförelse med tidigare år går bara för en period på högst ett år." in page.get_data(as_text=True)
    # A whole year compares with the year before it, each day in its own period.
    year = PERIOD | {"from": "2025-07-01", "to": "2026-06-30", "by": "", "compare_years": "1"}
    rows = json_answer(coordinator, **year)["tables"][0]["rows"]
    # Named by their days, as they are no calendar years.
    assert [(row["period"], row["sips"]) for row in rows] == [
        ("2024-07-01 – 2025-06-30", 0),
        ("2025-07-01 – 2026-06-30", 9),
    ]


def test_comparing_a_period_longer_than_a_year_in_the_cli_is_a_usage_error(app):
    result = app.test_cli_runner().invoke(
        sipflow_cli,
        ["stats", "--from", "2025-01-01", "--to", "2026-06-30", "--by", "", "--compare-years", "1"],
    )
    assert result.exit_code == 2
    assert "--compare-years: Earlier years can be compared only for a period of at most one year." in (
        result.output
    )


def test_a_comparison_reaching_before_1900_says_so(app, coordinator):
    params = PERIOD | {"from": "1900-06-01", "to": "1900-12-31", "compare_years": "1"}
    response = coordinator.get("/statistik/indikatorer.json", query_string=params)
    assert response.status_code == 400 and response.get_json()["field"] == "compare_years"
    reason = response.get_json()["reason"]
    assert "1900-01-01" in reason and "20" not in reason.replace("1900-01-01", "")
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "1900-06-01", "--to", "1900-12-31", "--compare-years", "1"]
    )
    assert result.exit_code == 2
    assert "--compare-years: The earliest period compared would start before 1900-01-01" in result.output


def test_compare_years_in_the_cli_takes_ascii_digits_only(app, kalmar):
    runner = app.test_cli_runner()
    base = ["stats", "--from", "2026-01-01", "--to", "2026-03-31", "--format", "json", "--compare-years"]
    refused = runner.invoke(sipflow_cli, [*base, "\u0663"])
    assert refused.exit_code == 2 and "--compare-years: Enter a whole number of years." in refused.output
    answered = runner.invoke(sipflow_cli, [*base, "1"])
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["query"]["compare_years"] == 1


def test_the_csv_writes_shares_with_the_decimal_sign_of_its_language(app, coordinator, kalmar):
    swedish = coordinator.get("/statistik/indikatorer.csv", query_string=PERIOD | {"lang": "sv"})
    total = list(csv.reader(io.StringIO(swedish.get_data().decode("utf-8-sig")), delimiter=";"))[-1]
    assert total[-3:] == ["0,0", "0,0", "0,0"]
    english = coordinator.get("/statistik/indikatorer.csv", query_string=PERIOD | {"lang": "en"})
    total = list(csv.reader(io.StringIO(english.get_data().decode("utf-8-sig")), delimiter=";"))[-1]
    assert total[-3:] == ["0.0", "0.0", "0.0"]
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-01-01", "--to", "2026-03-31", "--county", "08", "--by", ""]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(";0,0;0,0;0,0")


def test_attendance_compared_year_on_year_has_a_period_column_on_every_output(coordinator, kalmar, tmp_path):
    params = PERIOD | {"compare_years": "1"}
    answer = json_answer(coordinator, compare_years="1")
    attendance = next(t for t in answer["tables"] if t["key"] == "attendance")
    assert [c["key"] for c in attendance["columns"]][:2] == ["period", "organisation_kind"]
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    start = page.index('id="table-attendance"')
    assert '<th scope="col">Period</th>' in page[start : page.index("</tr>", start)]
    workbook = load_workbook(
        io.BytesIO(coordinator.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    assert [cell.value for cell in workbook["Närvaro per organisationstyp"][1]][:2] == [
        "Period",
        "Organisationstyp",
    ]
    text = pdf_text(coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path)
    heading = text[text.index("Närvaro per organisationstyp") :].splitlines()[1]
    assert heading.split()[:2] == ["Period", "Organisationstyp"]


@pytest.mark.parametrize(
    ("lang", "names"),
    [
        (
            "sv",
            [
                "SIP-möten",
                "Ledtider",
                "Erbjudna SIP och uppföljningar",
                "Närvaro per organisationstyp",
                "Antal SIP per kommun",
                "Om rapporten",
            ],
        ),
        (
            "en",
            [
                "SIP meetings",
                "Lead times",
                "Offered SIPs and follow-ups",
                "Attendance per organisation…",
                "Number of SIPs per municipality",
                "About the report",
            ],
        ),
    ],
)
def test_the_workbooks_sheets_are_named_by_the_tables_titles(coordinator, kalmar, lang, names):
    """Not by internal keys ("lead_times"); a title longer than Excel's 31 characters is cut at a word."""
    params = PERIOD | {"lang": lang}
    titles = [
        t["title"]
        for t in coordinator.get("/statistik/indikatorer.json", query_string=params).get_json()["tables"]
    ]
    workbook = load_workbook(
        io.BytesIO(coordinator.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    assert workbook.sheetnames == names
    assert all(
        title.startswith(name.rstrip("…")) for name, title in zip(names[: len(titles)], titles, strict=True)
    )


def test_the_workbook_says_what_it_covers(coordinator, kalmar):
    """A workbook passed on (or renamed) still says its area, SIP code, period and what "<5" and ".." mean,
    as the quarterly report's first lines do: its last sheet, and its title and subject."""
    workbook = load_workbook(
        io.BytesIO(coordinator.get("/statistik/indikatorer.xlsx", query_string=PERIOD).get_data())
    )
    about = [line[0] for line in workbook["Om rapporten"].iter_rows(values_only=True)]
    period = f"Period: {PERIOD['from']} – {PERIOD['to']}"
    assert about[0] == "SIP-statistik: Kalmar län"
    assert about[1:4] == ["Område: Kalmar län (08)", "SIP-koder: alla", period]
    assert (
        "Ett antal på 1 till 4 visas som ”<5” i varje tabell, vad den än räknar: personer, SIP, "
        "SIP via video, erbjudna SIP eller annat." in about
    )
    assert any(str(line).startswith("”..” är dolt:") for line in about)
    assert workbook.properties.title == "SIP-statistik: Kalmar län"
    assert period in workbook.properties.subject


def test_a_sheet_name_is_one_excel_accepts_and_unlike_the_others():
    from openpyxl import Workbook

    from sipflow.stats.exports import SHEET_NAME_LENGTH, sheet_name

    taken: list[str] = []
    titles = ["Kvot [%]: a/b \\ c*d?", "'Citerad'", "History", "x" * 40, "SIP meetings", "sip MEETINGS", ""]
    workbook = Workbook()
    for title in titles:
        name = sheet_name(title, taken)
        workbook.create_sheet(name)  # openpyxl refuses the characters Excel does
        taken.append(name)
    assert taken[:3] == ["Kvot -%-- a-b - c-d-", "Citerad", "History -"]
    assert all(len(name) <= SHEET_NAME_LENGTH for name in taken)
    assert taken[4:6] == ["SIP meetings", "sip MEETINGS (2)"]
    assert len({name.casefold() for name in taken}) == len(taken)


def test_a_share_at_a_half_is_rounded_up_as_official_statistics_are():
    """5 of 16 is 31.25 %: shown as 31.3, not 31.2 (Python's round() goes to the even digit)."""
    from sipflow.stats.services import percent

    assert percent(5, 16) == 31.3
    assert percent(1, 16) == 6.3
    assert percent(1, 8) == 12.5
    assert percent(2, 3) == 66.7 and percent(1, 3) == 33.3
    assert percent(0, 7) == 0.0 and percent(3, 0) is None


@pytest.fixture
def quarter_of_sixteen(world, db_session):
    """Kalmar: 16 SIPs, one person each, a närstående present at 5 of them (31.25 %)."""
    for index in range(16):
        world.meeting(
            world.case(world.person(KALMAR)), date(2026, 1, 10), municipality=KALMAR, narstaende=index < 5
        )
    db_session.commit()
    return world


def test_a_share_at_a_half_reads_rounded_up_on_every_output(coordinator, quarter_of_sixteen, tmp_path):
    params = PERIOD | {"by": "", "lang": "sv"}
    meetings = next(t for t in json_answer(coordinator, **params)["tables"] if t["key"] == "meetings")
    assert meetings["total"]["narstaende_share"] == 31.3
    assert "<td>31,3</td>" in coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    body = coordinator.get("/statistik/indikatorer.csv", query_string=params).get_data().decode("utf-8-sig")
    assert "31,3" in body and "31,2" not in body
    xlsx = coordinator.get("/statistik/indikatorer.xlsx", query_string=params).get_data()
    workbook = load_workbook(io.BytesIO(xlsx))
    assert 31.3 in [cell for line in workbook.worksheets[0].iter_rows(values_only=True) for cell in line]
    text = pdf_text(coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path)
    assert "31,3" in text and "31,2" not in text


@pytest.mark.parametrize(
    ("by", "swedish", "english"),
    [
        ("quarter,municipality", "per kvartal", "per quarter"),
        ("year", "per år", "per year"),
        ("municipality", "under perioden", "in the period"),
        ("", "under perioden", "in the period"),
    ],
)
def test_the_persons_column_names_the_period_the_rows_are_counted_by(
    coordinator, kalmar, by, swedish, english
):
    """Persons are distinct per row: by year a row is a year's persons, so the column says per year."""
    for lang, words, wrong in (("sv", swedish, "per kvartal"), ("en", english, "per quarter")):
        answer = json_answer(coordinator, by=by, lang=lang)
        meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
        label = next(c["label"] for c in meetings["columns"] if c["key"] == "persons")
        assert label.endswith(words), label
        assert words == wrong or wrong not in label


@pytest.mark.parametrize(
    ("period", "filename"),
    [
        ({"from": "2026-07-01", "to": "2026-09-30"}, "sip-statistik-08-2026-07_2026-09.pdf"),
        ({"from": "2026-01-01", "to": "2026-03-31"}, "sip-statistik-08-2026-01_2026-03.pdf"),
        ({"from": "2025-01-01", "to": "2025-12-31"}, "sip-statistik-08-2025-01_2025-12.pdf"),
        ({"from": "2026-01-01", "to": "2026-02-28"}, "sip-statistik-08-2026-01_2026-02.pdf"),
        ({"from": "2026-04-01", "to": "2026-09-30"}, "sip-statistik-08-2026-04_2026-09.pdf"),
        (
            {"county": "", "municipality": NYBRO, "code": "XU045"},
            "sip-statistik-0881-2026-01_2026-03-XU045.pdf",
        ),
    ],
)
def test_the_quarterly_pdf_is_named_by_its_period_and_area_in_swedish(coordinator, kalmar, period, filename):
    """The download says which period (2026 K3, as Swedish quarters are written), area and SIP code it
    holds, nothing about a person."""
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | period)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2007-01-01", "to": "2026-12-31", "by": "year"},
        {"from": "2026-01-01", "to": "2026-03-31", "by": "quarter", "compare_years": "20"},
        {"by": "municipality,county,quarter,sex,age_band,occasion,organisation_kind"},
        {"by": "municipality,county,year,sex,age_band,occasion,organisation_kind"},
        {"county": "", "municipality": "", "by": "county,quarter"},
    ],
)
def test_the_quarterly_pdf_answers_any_period_the_page_allows(coordinator, kalmar, params):
    """The PDF takes the page's filter and bounds: whatever the page shows, the report holds."""
    assert coordinator.get("/statistik/", query_string=PERIOD | params).status_code == 200
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | params)
    assert response.status_code == 200 and response.mimetype == "application/pdf"


@pytest.mark.parametrize(
    ("typed", "swedish"),
    [
        ("2026-02-30", "Datumet 2026-02-30 finns inte: den månaden har 28 dagar."),
        ("2028-02-30", "Datumet 2028-02-30 finns inte: den månaden har 29 dagar."),
        ("2026-04-31", "Datumet 2026-04-31 finns inte: den månaden har 30 dagar."),
        ("2026-13-01", "Datumet 2026-13-01 finns inte: månaderna är 01 till 12."),
        ("2026-01-00", "Datumet 2026-01-00 finns inte: den månaden har 31 dagar."),
    ],
)
def test_a_date_that_does_not_exist_says_so_beside_the_field_with_what_was_typed(
    coordinator, kalmar, typed, swedish
):
    response = coordinator.get("/statistik/", query_string=PERIOD | {"from": typed, "lang": "sv"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = page[page.index('id="from-error"') : page.index("</p>", page.index('id="from-error"'))]
    assert swedish in error
    # Kept as typed and shown: a date input would show a day that does not exist as empty.
    field = re.search(r'<input [^>]*id="from"[^>]*>', page).group(0)
    assert f'value="{typed}"' in field and 'type="text"' in field
    refused = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD | {"to": typed})
    assert refused.status_code == 400 and refused.get_json()["field"] == "to"
    assert typed in refused.get_json()["reason"]


def test_a_date_that_does_not_exist_in_the_cli_says_so(app):
    result = app.test_cli_runner().invoke(
        sipflow_cli, ["stats", "--from", "2026-02-30", "--to", "2026-03-31", "--format", "json"]
    )
    assert result.exit_code == 2 and "2026-02-30" in result.output and "28" in result.output


def test_the_quarterly_pdf_says_when_it_was_made_in_swedish_time(tmp_path):
    made = exports.to_pdf(
        {"tables": []}, heading="SIP", subtitle="Kronoberg", made_at=datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
    )
    path = tmp_path / "report.pdf"
    path.write_bytes(made)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "2026-07-01 00:30" in text and "UTC" not in text


@pytest.mark.parametrize(
    ("lang", "heading", "swedish"),
    [
        ("en", "Ready for discharge to notice of meeting, median (calendar days)", "Utskrivningsklar"),
        ("sv", "Utskrivningsklar till kallelse, median (kalenderdagar)", "Ready for discharge"),
    ],
)
def test_the_discharge_lead_time_is_named_in_the_page_s_language(coordinator, kalmar, lang, heading, swedish):
    # Named with its unit: a median of 6 over Easter, beside a three-day deadline extended past the holidays,
    # read as working days would say the deadline was missed.
    page = coordinator.get("/statistik/", query_string=PERIOD | {"lang": lang}).get_data(as_text=True)
    assert f">{heading}</th>" in page
    assert swedish not in page


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_lead_time_median_says_it_counts_calendar_days(coordinator, kalmar, lang):
    page = coordinator.get("/statistik/", query_string=PERIOD | {"lang": lang}).get_data(as_text=True)
    unit = "kalenderdagar" if lang == "sv" else "calendar days"
    medians = re.findall(r">([^<>]*median[^<>]*)</th>", page)
    assert len(set(medians)) == 3 and all(label.endswith(f"({unit})") for label in medians), medians


@pytest.mark.parametrize(("lang", "title"), [("sv", "Ledtider"), ("en", "Lead times")])
def test_the_lead_time_table_s_title_gives_no_unit_its_counts_and_shares_are_not_in(
    coordinator, kalmar, lang, title, tmp_path
):
    """The tester's case: the report's "Ledtider (dagar)" heads "Första möten 6" and a share in per cent,
    which read as 6 days; each median says its unit, calendar days, in its own column."""
    params = PERIOD | {"lang": lang}
    answer = coordinator.get("/statistik/indikatorer.json", query_string=params).get_json()
    lead = next(t for t in answer["tables"] if t["key"] == "lead_times")
    assert lead["title"] == title
    text = pdf_text(coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path)
    assert title in [line.strip() for line in text.splitlines()]
    assert "(dagar)" not in text and "(days)" not in text


def test_the_workbook_shows_a_share_with_its_decimal(coordinator, kalmar):
    """A share of 0.0 or 100.0 reads "0,0" and "100,0" as on the page, not "0" and "100"; counts stay."""
    body = coordinator.get("/statistik/indikatorer.xlsx", query_string=PERIOD)
    sheet = load_workbook(io.BytesIO(body.get_data())).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    shares = [index for index, label in enumerate(header) if label.endswith("(%)")]
    counts = [index for index, label in enumerate(header) if label.startswith("Antal")]
    rows = list(sheet.iter_rows(min_row=2))
    # A hidden share ("..") is text, one that does not apply (a quarter with no SIP) an empty cell.
    shown = [row[i] for row in rows for i in shares if isinstance(row[i].value, int | float)]
    assert shown and all(cell.number_format == "0.0" for cell in shown)
    whole = [row[i] for row in rows for i in counts]
    assert whole and all(cell.number_format == "General" for cell in whole)


def test_the_sip_code_labels_are_in_the_page_s_language(coordinator):
    english = coordinator.get("/statistik/", query_string={"lang": "en"}).get_data(as_text=True)
    assert ">XU045 SIP meeting (counts as a SIP)</option>" in english and "räknas" not in english
    swedish = coordinator.get("/statistik/", query_string={"lang": "sv"}).get_data(as_text=True)
    assert ">XU045 SIP-möte (räknas som SIP)</option>" in swedish


def test_a_label_an_administrator_typed_is_shown_as_typed(app):
    from sipflow.coding.models import code_label

    with app.test_request_context(), force_locale("en"):
        assert code_label("SIP-möte (räknas som SIP)") == "SIP meeting (counts as a SIP)"
        assert code_label("Vård på distans (video)") == "Care at a distance (video)"
        assert code_label("Samordnad plan, egen") == "Samordnad plan, egen"


def test_a_chart_with_nothing_to_draw_says_so_in_its_place(coordinator, kalmar):
    params = PERIOD | {"code": "AU124", "by": "municipality,quarter", "lang": "sv"}
    response = coordinator.get("/statistik/", query_string=params)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" not in page and "<desc" not in page and 'class="chart-data"' not in page
    assert page.count("Inga SIP under perioden, så det finns inget diagram att visa.") == 2
    drawn = coordinator.get("/statistik/", query_string=params | {"code": "XU045"}).get_data(as_text=True)
    assert drawn.count("<svg") == 2 and "inget diagram" not in drawn


def input_of(page: str, name: str) -> str:
    """The <input> of the field name on page."""
    return re.search(rf'<input [^>]*id="{name}"[^>]*>', page).group(0)


def test_every_refused_field_says_so_beside_it_with_what_was_typed(coordinator):
    response = coordinator.get("/statistik/", query_string={"from": "abc", "to": "2026-13-01", "lang": "sv"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="from-error"' in page and 'id="to-error"' in page
    assert "Datumet 2026-13-01 finns inte: månaderna är 01 till 12." in page
    for name, typed in (("from", "abc"), ("to", "2026-13-01")):
        # A date input would show neither: kept as typed, in a text field.
        assert f'value="{typed}"' in input_of(page, name) and 'type="text"' in input_of(page, name)
        assert f'aria-describedby="{name}-error"' in input_of(page, name)


def test_a_refused_date_beside_other_refused_fields_each_says_so(coordinator):
    params = {
        "from": "2026-01-01",
        "to": "yesterday",
        "county": "99",
        "by": "shoe_size",
        "compare_years": "x",
    }
    page = coordinator.get("/statistik/", query_string=params).get_data(as_text=True)
    for name in ("to", "county", "by", "compare_years"):
        assert f'id="{name}-error"' in page, name
    assert 'id="from-error"' not in page and 'type="date" id="from"' in page


def test_a_refused_date_is_no_reason_to_refuse_the_period_s_order(coordinator):
    """With the start refused, the end (before this year) is no "end before start"."""
    page = coordinator.get("/statistik/", query_string={"from": "abc", "to": "2020-01-31"}).get_data(
        as_text=True
    )
    assert 'id="from-error"' in page and 'id="to-error"' not in page


def test_a_chart_keeps_its_size_in_a_frame_that_scrolls_on_a_narrow_screen(coordinator, kalmar):
    # Scaled to a 320 px window the charts' 12 px labels were 4 px: the chart keeps its drawn size and its
    # frame scrolls, focusable and named by the chart's heading, as a wide table's.
    page = coordinator.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    frame = re.search(
        r'<div class="table-wrap chart-wrap" role="group" tabindex="0" '
        r'aria-labelledby="(chart-title-\d+)">\s*<svg',
        page,
    )
    assert frame and f'<h2 id="{frame.group(1)}">' in page
    css = (Path(__file__).resolve().parents[2] / "sipflow/static/style.css").read_text()
    (rule,) = re.findall(r"svg\.chart \{([^}]*)\}", css)
    assert "max-width: 100%" not in rule and "max-width: none" in rule


def test_the_quarterly_pdf_says_what_its_marks_mean_as_the_page_does(coordinator, kalmar, tmp_path):
    """The tester's case: the report sent to the county's follow-up group showed "<5" and ".." in most
    cells and said nowhere what they mean; the page says it above its tables. The PDF says the same."""
    page = coordinator.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    legend = [
        "Ett antal på 1 till 4 visas som ”<5” i varje tabell, vad den än räknar: personer, SIP, "
        "SIP via video, erbjudna SIP eller annat.",
        "”..” är dolt: allt annat om en grupp på färre än 5 personer (även en nolla), ett antal som skulle "
        "låta ett dolt antal räknas ut, eller en andel eller median som vilar på ett dolt antal.",
    ]
    response = coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD)
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout.split()
    )
    for sentence in legend:
        assert sentence.replace("<", "&lt;") in page
        assert sentence in text, sentence


def test_a_quarter_the_period_counts_only_in_part_says_so(coordinator, kalmar):
    """February to April by quarter counts two months of Q1 and one of Q2: neither row may read as the
    whole quarter; a period of whole quarters has no such mark."""
    answer = json_answer(coordinator, **{"from": "2026-02-01", "to": "2026-04-30", "by": "quarter"})
    rows = next(t for t in answer["tables"] if t["key"] == "meetings")["rows"]
    assert [row["quarter"] for row in rows] == ["2026 K1 (del)", "2026 K2 (del)"]
    answer = json_answer(coordinator, by="quarter")
    whole = next(t for t in answer["tables"] if t["key"] == "meetings")["rows"]
    assert [row["quarter"] for row in whole] == ["2026 K1"]


@pytest.mark.parametrize(("lang", "sips"), [("sv", "Antal SIP"), ("en", "Number of SIPs")])
def test_the_quarterly_pdf_and_the_workbook_give_the_charts_figures_as_the_page_does(
    coordinator, three_quarters, lang, sips, tmp_path
):
    """The tester's case: the page's charts said "Kalmar: 5; Nybro: 11" SIPs and "2026 K3: 11", their
    tables beside them; the quarterly report, by municipality and quarter, had those cells hidden and no
    chart, so none of the page's first figures was anywhere in it. Each chart is a table of its own in the
    report, before the other tables as on the page, and a sheet of the workbook."""
    params = {"from": "2026-01-01", "to": "2026-09-30", "county": "08", "lang": lang}
    charts = coordinator.get("/statistik/indikatorer.json", query_string=params).get_json()["charts"]
    assert [chart["key"] for chart in charts] == ["municipality", "quarter"]
    text = pdf_text(coordinator.get("/statistik/kvartalsrapport.pdf", query_string=params), tmp_path)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    first_table = lines.index("SIP-möten" if lang == "sv" else "SIP meetings")
    workbook = load_workbook(
        io.BytesIO(coordinator.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    for chart in charts:
        assert chart["points"] and any(value not in (0, "0") for _, value in chart["points"])
        assert lines.index(chart["title"]) < first_table
        for label, value in chart["points"]:
            assert f"{label} {value}" in lines[lines.index(chart["title"]) :], (label, value)
        sheet = workbook[exports.sheet_name(chart["title"], [])]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert rows[0][1] == sips
        assert rows[1:] == [[label, value] for label, value in chart["points"]]
