"""The SIP document: every field in Swedish (å ä ö), header, page numbers, embedded fonts, title, language."""

from __future__ import annotations

import re
import subprocess
from copy import deepcopy
from datetime import timedelta
from pathlib import Path

import pytest
import support
from sqlmodel import select
from versionkit import (
    FAMILY_NAME,
    FOLLOW_UP_ON,
    GIVEN_NAME,
    MUNICIPALITY_UNIT,
    REGION_UNIT,
    TEXTS,
    pdf_text,
    pdf_tool,
)

from sipflow.pdf_fonts import font_files, to_unicode_cmap
from sipflow.people.models import Person
from sipflow.plans.models import PlanVersion
from sipflow.plans.pdf import pdf_filename, render_plan_pdf


@pytest.fixture
def version(db_session, established) -> PlanVersion:
    return db_session.exec(select(PlanVersion).where(PlanVersion.case_id == established.case.id)).one()


def page_count(data: bytes, tmp_path: Path) -> int:
    return int(re.search(r"Pages:\s+(\d+)", pdf_tool("pdfinfo", data, tmp_path)).group(1))


def page_text(data: bytes, tmp_path: Path, page: int) -> str:
    source = tmp_path / "page.pdf"
    source.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), str(source), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return " ".join(out.split())


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_the_pdf_holds_every_field_of_the_plan(version, parties, established, tmp_path, large):
    data = version.pdf if not large else render_plan_pdf(version.content, large=True)
    text = pdf_text(data, tmp_path)
    for name, value in TEXTS.items():
        assert value in text, name
    expected = [
        "Det är viktigt för mig…",
        f"{GIVEN_NAME} {FAMILY_NAME}",
        established.case.reference,
        REGION_UNIT,
        MUNICIPALITY_UNIT,
        "Region Kronoberg",  # huvudansvar, effort owner, contact, approvals
        "Växjö kommun",
        "pågår",
        "planerad",
        "2026-11-09 – 2027-02-01",
        "0470-58 80 00",
        "anna.ang@example.se",
        FOLLOW_UP_ON.isoformat(),
        "Huvudansvar",
        "Fast vårdkontakt",
        "Fast omsorgskontakt",
        "Godkännande",
    ]
    for value in expected:
        assert value in text, value
    # The document leaves sipflow: the identifier is masked, as on every page.
    id_number = established.person.id_number
    assert f"{id_number[:8]}-****" in text and id_number[8:] not in text.replace(
        established.case.reference, ""
    )


def test_every_page_has_the_header_and_its_number(db_session, version, established, tmp_path):
    content = deepcopy(version.content)
    content["efforts"] = content["efforts"] * 25  # long enough for several pages
    data = render_plan_pdf(content)
    pages = page_count(data, tmp_path)
    assert pages >= 2
    for page in range(1, pages + 1):
        text = page_text(data, tmp_path, page)
        assert f"Samordnad individuell plan, {established.case.reference}" in text
        assert "Version 1" in text
        assert f"Sida {page} av {pages}" in text


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_every_font_is_embedded(version, tmp_path, large):
    data = version.pdf if not large else render_plan_pdf(version.content, large=True)
    rows = pdf_tool("pdffonts", data, tmp_path).splitlines()[2:]
    assert rows
    for row in rows:
        # name, type (may be two words), encoding, then emb sub uni: the first of those must be "yes".
        assert re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row).group(1) == "yes", row
    assert all("DejaVuSans" in row for row in rows)


def test_title_and_language_are_set_and_name_nobody(version, established, tmp_path):
    info = pdf_tool("pdfinfo", version.pdf, tmp_path)
    title = re.search(r"^Title:\s+(.*)$", info, re.M).group(1)
    assert established.case.reference in title and "version 1" in title
    assert GIVEN_NAME not in info and established.person.id_number[8:] not in info
    assert b"/Lang (sv-SE)" in version.pdf
    # The large-print rendering declares the same language (the document is Swedish whatever the page's).
    assert b"/Lang (sv-SE)" in render_plan_pdf(version.content, large=True)


def word_height(data: bytes, tmp_path: Path, word: str) -> float:
    """The height of the first box pdftotext finds for word: the size its type is set in."""
    source = tmp_path / "bbox.pdf"
    source.write_bytes(data)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout
    box = re.search(rf'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">{re.escape(word)}</word>', html)
    return float(box.group(2)) - float(box.group(1))


def test_the_large_copy_is_larger_type_from_the_same_content(version, tmp_path):
    large = render_plan_pdf(version.content, large=True)
    assert word_height(large, tmp_path, "Behov") > 1.4 * word_height(version.pdf, tmp_path, "Behov")
    assert render_plan_pdf(version.content, large=True) == large


def test_the_file_name_carries_reference_and_version_never_the_personnummer(established):
    name = pdf_filename(established.case.reference, 2)
    assert name == f"{established.case.reference}-v2.pdf"
    assert established.person.id_number not in name
    assert pdf_filename("SIP-2026-000123", 1, large=True) == "SIP-2026-000123-v1-stor-text.pdf"


def test_without_dejavu_the_pdf_falls_back_to_an_embedded_font(tmp_path):
    regular, bold, dejavu = font_files((tmp_path,))
    assert not dejavu
    assert regular.is_file() and bold.is_file()


def test_the_childs_view_is_printed_when_there_is_one(version, tmp_path):
    content = deepcopy(version.content)
    content["child_view"] = "Jag vill bo kvar hos pappa på vardagar"
    text = pdf_text(render_plan_pdf(content), tmp_path)
    assert "Barnets egen syn" in text and "Jag vill bo kvar hos pappa på vardagar" in text


def test_the_approvals_table_lists_every_party_and_approvals_given_at_freezing(version, tmp_path):
    content = deepcopy(version.content)
    person_row = next(p for p in content["participants"] if p["kind"] == "person")
    content["approvals"] = [
        {
            "participant_id": person_row["participant_id"],
            "method": "meeting",
            "approved_at": content["established_at"],
        }
    ]
    source = tmp_path / "approvals.pdf"
    source.write_bytes(render_plan_pdf(content))
    text = subprocess.run(["pdftotext", "-layout", str(source), "-"], capture_output=True, text=True).stdout
    rows = [" ".join(line.split()) for line in text[text.index("Godkännande") :].splitlines()]
    assert "Region Kronoberg" in rows and "Växjö kommun" in rows  # to sign on paper: date and way blank
    assert f"{GIVEN_NAME} {FAMILY_NAME} {content['established_at'][:10]} vid mötet" in rows


def test_long_words_in_the_efforts_table_break_at_a_syllable_with_a_hyphen(version, tmp_path):
    # Swedish compounds outgrow the narrow columns: a break without a hyphen reads as two words. pdftotext
    # joins a word broken with a hyphen at a line's end, so a word broken right reads whole.
    content = deepcopy(version.content)
    long_words = ("Arbetsförmedlingen", "Distriktssköterskemottagningen", "Socialsekreterarteamet")
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort |= {"organisation": long_words[0], "unit": long_words[1], "responsible": long_words[2]}
    data = render_plan_pdf(content)
    assert set(long_words) <= set(pdf_text(data, tmp_path).split())
    source = tmp_path / "words.pdf"
    source.write_bytes(data)
    raw = subprocess.run(["pdftotext", "-raw", str(source), "-"], capture_output=True, text=True).stdout
    assert "Arbetsförmed-\nlingen" in raw  # broken at a syllable, with a hyphen
    assert "Sö-\nder" not in raw and "veck-\nan" not in raw  # a short word moves to the next line whole


def test_a_run_of_letters_longer_than_any_word_is_not_hyphenated(version, tmp_path):
    # A run of letters longer than any Swedish compound (words typed without spaces, a pasted code) is no
    # word to hyphenate: it breaks between letters as it must, without hyphens a reader would copy with it
    # (reportlab hyphenates such a run again for every line it fills: a second per cell at 1 000 letters).
    content = deepcopy(version.content)
    run = "Kontaktarsocialtjänstenföransökanomboendestödochhemtjänst"
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort |= {"what": run, "responsible": "Distriktssköterskemottagningen"}
    source = tmp_path / "run.pdf"
    source.write_bytes(render_plan_pdf(content))
    raw = subprocess.run(["pdftotext", "-raw", str(source), "-"], capture_output=True, text=True).stdout
    assert run in raw.replace("\n", "")
    assert re.search(r"Distrikts\w*-\n", raw)  # a compound in another cell of the row is still hyphenated


# The section headings of the document, as pdftotext reads them (a long one may wrap onto two lines).
HEADINGS = (
    "Det är viktigt för mig…",
    "Mål som de yrkesverksamma har satt upp",
    "Behov",
    "Insatser: vem gör vad",
    "Det här gör jag och mina närstående själva",
    "Insatser av andra (till exempel Försäkringskassan, Arbetsförmedlingen)",
    "Ansvar och kontakter",
    "Uppföljning",
    "Godkännande",
)


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_no_page_ends_with_a_heading_whose_section_starts_on_the_next(version, tmp_path, large):
    # However long the needs run, a heading stays on the page of its section's first lines: a page ending
    # in "Insatser: vem gör vad" with the efforts on the next reads as a plan without efforts.
    source = tmp_path / "sections.pdf"
    for lines in range(0, 60, 2):
        content = deepcopy(version.content)
        content["needs"] = "\n".join(f"Rad {i} om vad personen behöver stöd med." for i in range(lines))
        source.write_bytes(render_plan_pdf(content, large=large))
        text = subprocess.run(
            ["pdftotext", str(source), "-"], capture_output=True, text=True, check=True
        ).stdout
        for number, page in enumerate(text.split("\f")[:-2], start=1):
            body = [line.strip() for line in page.splitlines() if line.strip()]
            body = [line for line in body if not re.fullmatch(r"Sida \d+ av \d+", line)]
            last = body[-1]
            assert not any(h == last or h.endswith(" " + last) for h in HEADINGS), (lines, number, last)


def test_characters_outside_the_basic_plane_copy_and_search_as_typed(version, tmp_path):
    """An emoji or a mathematical letter typed into the plan reads back from the PDF's text as typed (copy,
    search, a screen reader): the text layer maps each to its UTF-16 surrogate pair, not to a wrong one."""
    content = deepcopy(version.content)
    content["needs"] = "Trygghet 😀 och 𝔸-lagets träningar, plus ☺"
    text = pdf_text(render_plan_pdf(content), tmp_path)
    assert "Trygghet 😀 och 𝔸-lagets träningar, plus ☺" in text


def test_the_text_layer_of_the_basic_plane_is_written_as_reportlab_writes_it():
    """Only characters outside the BMP are written differently: a stored PDF of any other text renders
    again byte for byte (plans.versions.pdf_matches)."""
    subset = [32, ord("å"), ord("Ö"), 0x263A, 0xFFFD]
    lines = to_unicode_cmap("F", subset).splitlines()
    assert [line for line in lines if line.startswith("<") and "> <" in line][1:] == [
        "<%02X> <%04X>" % (code, point)  # noqa: UP031 - reportlab's own format string
        for code, point in enumerate(subset)
    ]
    assert "<05> <D83DDE00>" in to_unicode_cmap("F", [*subset, 0x1F600])


@pytest.mark.parametrize(
    ("kind", "id_number", "shown"),
    [
        ("personnummer", None, "Personnummer: 19900517-****"),
        ("samordningsnummer", "199005770008", "Samordningsnummer: 19900577-****"),
        ("reservnummer", "RK07KIM0001", "Reservnummer: RK07****"),
    ],
)
def test_the_identifier_is_named_by_its_kind_in_both_copies(
    db_session, registry, parties, planned, now, tmp_path, kind, id_number, shown
):
    """A reservnummer is no personnummer: the document names the kind the person's identifier is."""
    person = db_session.get(Person, planned.person.id)
    if id_number is not None:
        person.id_kind, person.id_number = kind, id_number
        db_session.commit()
    support.fire(
        db_session,
        registry,
        parties.region_user,
        planned.case,
        "establish_plan",
        now=now + timedelta(hours=1),
    )
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == planned.case.id)).one()
    for data in (version.pdf, render_plan_pdf(version.content, large=True)):
        text = pdf_text(data, tmp_path)
        assert shown in text
        if kind != "personnummer":
            assert "Personnummer" not in text


def test_a_version_frozen_before_the_kind_was_kept_renders_as_it_was_stored(version):
    """Content without the identifier's kind (frozen earlier) renders as its stored PDF: the same bytes."""
    content = deepcopy(version.content)
    content["person"].pop("id_kind", None)
    assert render_plan_pdf(content) == version.pdf


LIST_TYPED = "Stöd i vardagen:\n- handla på lördagar\n- städa köket\n• tvätta på tisdagar"


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_an_effort_typed_as_a_list_is_printed_as_one(version, tmp_path, large):
    """An effort typed on several lines (a list typed with "-" and "•") is printed on those lines, as the
    needs and goals are: it ran together into "Stöd i vardagen: - handla på lördagar - städa köket • ..."."""
    content = deepcopy(version.content)
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort["what"] = LIST_TYPED
    source = tmp_path / "list.pdf"
    source.write_bytes(render_plan_pdf(content, large=large))
    text = subprocess.run(["pdftotext", "-layout", str(source), "-"], capture_output=True, text=True).stdout
    starts = [line.strip() for line in text.splitlines()]
    for line in LIST_TYPED.splitlines():
        assert any(start.startswith(line) for start in starts), line


def test_an_effort_of_more_lines_than_a_page_holds_still_prints(version, tmp_path):
    """A table row never splits across pages: an effort typed on hundreds of short lines runs on as one
    paragraph in its cell instead, every word of it printed, rather than the document not being made."""
    content = deepcopy(version.content)
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort["what"] = "\n".join(f"r{i}" for i in range(300))
    text = pdf_text(render_plan_pdf(content), tmp_path)
    assert all(f"r{i}" in text.split() for i in range(300))


def boxes(data: bytes, tmp_path: Path) -> list[tuple[str, float, float]]:
    """Every word pdftotext finds, in reading order, with the top and bottom of its box."""
    source = tmp_path / "boxes.pdf"
    source.write_bytes(data)
    html = subprocess.run(
        ["pdftotext", "-bbox", str(source), "-"], capture_output=True, text=True, check=True
    ).stdout
    found = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', html)
    return [(word, float(top), float(bottom)) for top, bottom, word in found]


def test_a_long_party_name_makes_its_approval_row_higher_not_drawn_over_the_next(version, tmp_path):
    """The approvals table's rows are 11 mm high, room to sign: a party's name of four lines (a school's
    full name; a guardian's, "..., vårdnadshavare, för barnets räkning") ran over the rule into the next
    party's row. Its row now grows to hold it; a name that fits keeps the 11 mm row."""
    content = deepcopy(version.content)
    party = next(p for p in content["participants"] if p["kind"] == "organisation")
    party["organisation"] = (
        "Katedralskolan, Växjö kommun, Utbildningsförvaltningen, Gymnasie- och vuxenutbildningsnämnden, "
        "elevhälsans medicinska insats"
    )
    words = boxes(render_plan_pdf(content), tmp_path)
    start = max(i for i, (word, _, _) in enumerate(words) if word == "Godkännande")
    rows = {word: (top, bottom) for word, top, bottom in words[start:]}
    # The long name's last line ends in "insats"; the next party is "Växjö kommun" (no comma).
    assert rows["insats"][1] < rows["kommun"][0], (rows["insats"], rows["kommun"])
