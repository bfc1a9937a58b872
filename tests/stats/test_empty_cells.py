"""An empty cell (a share with nothing to divide by) reads "–" on the page and in the PDF alike; the CSV and
XLSX leave it empty and JSON has null (machine formats)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import UTC, datetime
from html import unescape

import pytest
from openpyxl import load_workbook
from webkit import login

from sipflow.stats import exports

# No SIP in the period: the outcome table's total has no share of offered SIPs accepted.
PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "county": "08", "by": ""}


@pytest.fixture
def coordinator(client, make_user):
    make_user(None, "coordinator", "kerstin-empty")
    login(client, "kerstin-empty")
    return client


def _outcome_total(answer):
    return next(t for t in answer["tables"] if t["key"] == "outcomes")["total"]


def _page_total_cells(html: str) -> list[str]:
    """The cells of the outcome table's total row (its tfoot) on the page."""
    section = html[html.index('id="table-outcomes"') :]
    footer = re.search(r"<tfoot>(.*?)</tfoot>", section, re.S).group(1)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", footer)  # "Totalt" heads the row (th), the figures td
    return [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


def test_an_empty_share_reads_the_same_on_the_page_and_in_the_pdf(coordinator, tmp_path):
    answer = coordinator.get("/statistik/indikatorer.json", query_string=PERIOD).get_json()
    total = _outcome_total(answer)
    assert total["accepted_share"] is None  # JSON: null
    keys = [key for key in total]
    page = coordinator.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    # The page's outcome total: the empty shares "–".
    cells = _page_total_cells(page)
    assert exports.EMPTY_CELL in cells and "" not in cells[1:], cells
    path = tmp_path / "report.pdf"
    path.write_bytes(coordinator.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD).get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    totals = [line.split() for line in text.splitlines() if line.strip().startswith("Totalt")]
    assert totals, text
    # Every total row of the PDF shows its empty shares as "–", as the page does: none is left blank.
    outcome_line = next(line for line in totals if len(line) == len(keys))
    assert outcome_line == ["Totalt", *cells[1:]], (outcome_line, cells)


def test_machine_formats_leave_an_empty_share_empty():
    answer = {
        "tables": [
            {
                "key": "meetings",
                "title": "T",
                "columns": [{"key": "breakdown", "label": "Fördelning"}, {"key": "share", "label": "Andel"}],
                "rows": [],
                "total": {"breakdown": "Totalt", "share": None},
                "note": None,
            }
        ]
    }
    rows = list(csv.reader(io.StringIO(exports.to_csv(answer).decode("utf-8-sig")), delimiter=";"))
    assert rows[-1] == ["Totalt", ""]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(answer))).active
    assert [cell.value for cell in sheet[2]] == ["Totalt", None]
    assert exports.shown(None) == exports.EMPTY_CELL == "–"
    assert exports.to_pdf(answer, heading="H", subtitle="S", made_at=datetime(2026, 1, 1, tzinfo=UTC))
