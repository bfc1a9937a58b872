"""The English exports say "relative" and "notice of meeting", never the Swedish närstående and kallelse."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from webkit import login

SWEDISH = re.compile(r"närstående|kallelse|initiativtagare", re.I)
PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "lang": "en"}


def test_the_english_page_csv_and_workbook_use_english_words(client, make_user):
    make_user(None, "coordinator", "kerstin-english-words")
    login(client, "kerstin-english-words")
    page = client.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    assert "Share of SIPs with a relative present (%)" in page
    assert "Share of notices of meeting within the deadline (%)" in page
    assert "Discharge SIPs with a notice of meeting" in page
    csv_text = client.get("/statistik/indikatorer.csv", query_string=PERIOD).get_data(as_text=True)
    assert "Share of SIPs with a relative present (%)" in csv_text.splitlines()[0]
    book = load_workbook(io.BytesIO(client.get("/statistik/indikatorer.xlsx", query_string=PERIOD).data))
    cells = [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value]
    assert "Share of notices of meeting within the deadline (%)" in cells
    assert not [text for text in [page, csv_text, *cells] if SWEDISH.search(text)]
