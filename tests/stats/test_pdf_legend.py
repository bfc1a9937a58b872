"""The quarterly report read as a PDF alone: the legend says what "<5" stands for in every table it is in
(persons, SIPs, video meetings, offered SIPs), and a table continued on a new page says which table it is."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from webkit import login

KALMAR = "0880"
COUNTY = {"county": "08"}
PARAMS = COUNTY | {"from": "2026-01-01", "to": "2026-09-30", "by": "quarter,sex,age_band"}


@pytest.fixture
def coordinator(client, make_user):
    make_user(None, "coordinator", "kerstin-legend")
    login(client, "kerstin-legend")
    return client


@pytest.fixture
def long_tables(world, db_session):
    """Three quarters by sex and six age bands: 36 rows a table, each table over more than one page."""
    for month in (1, 4, 7):
        for age in (10, 20, 30, 50, 70, 90):
            for sex in ("female", "male"):
                case = world.case(world.person(KALMAR))
                world.meeting(case, date(2026, month, 10), municipality=KALMAR, age=age, sex=sex)
    db_session.commit()
    return world


def pdf_pages(client, tmp_path, **params) -> list[str]:
    response = client.get("/statistik/kvartalsrapport.pdf", query_string=PARAMS | params)
    assert response.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def first_line(page: str) -> str:
    return next(line.strip() for line in page.splitlines() if line.strip())


@pytest.mark.parametrize(("lang", "continued"), [("sv", "(forts.)"), ("en", "(cont.)")])
def test_a_table_continued_on_a_new_page_repeats_its_title(
    coordinator, long_tables, tmp_path, lang, continued
):
    """A reader on page 3 saw a header row and figures, and no word of which table they were in: every page
    a table runs on to opens with its title, marked as continued."""
    answer = coordinator.get("/statistik/indikatorer.json", query_string=PARAMS | {"lang": lang}).get_json()
    titles = {table["title"] for table in answer["tables"]}
    pages = pdf_pages(coordinator, tmp_path, lang=lang)
    assert len(pages) > 2
    continued_pages = 0
    for page in pages[1:]:
        line = first_line(page)
        if line.endswith(continued):
            continued_pages += 1
            title = line.removesuffix(continued).strip()
            # The title of the table the previous page ended in (the charts' tables count as tables too).
            assert title in titles or title.startswith(("Antal", "Number")), line
        else:
            assert line in titles or line.startswith(("Antal", "Number")), f"a page opens with {line!r}"
    assert continued_pages >= 1
    meetings = next(t["title"] for t in answer["tables"] if t["key"] == "meetings")
    assert any(first_line(page) == f"{meetings} {continued}" for page in pages[1:])


def test_the_legend_says_the_mark_stands_for_any_small_count(coordinator, long_tables, tmp_path):
    """The mark "<5" is in the columns of SIPs, video meetings and offered SIPs as well as of persons: the
    legend said only "persons", so a reader took "<5" in the video column for fewer than 5 persons."""
    swedish = " ".join(" ".join(pdf_pages(coordinator, tmp_path, lang="sv")).split())
    english = " ".join(" ".join(pdf_pages(coordinator, tmp_path, lang="en")).split())
    assert (
        "Ett antal på 1 till 4 visas som ”<5” i varje tabell, vad den än räknar: personer, SIP, "
        "SIP via video, erbjudna SIP eller annat." in swedish
    )
    assert (
        'A count of 1 to 4 is shown as "<5" in every table, whatever it counts: persons, SIPs, '
        "SIPs by video, offered SIPs or anything else." in english
    )
    assert "Antal på 1 till 4 personer visas som" not in swedish
    # The page says it in the same words, from the same place.
    page = coordinator.get("/statistik/", query_string=PARAMS | {"lang": "sv"}).get_data(as_text=True)
    assert "Ett antal på 1 till 4 visas som ”&lt;5” i varje tabell" in page
