"""The SIP document as PDF (reportlab platypus), built from a version's stored content and nothing else.

`render_plan_pdf(content)` is a pure function of the content dict (`plans.content.plan_content` plus the
version keys `versions.freeze_version` adds): the same content gives the same bytes (reportlab's invariant
mode, the creation date taken from the version's `established_at`), so the checksum stored when a version
was frozen can be checked by rendering its content again, and the person's large-type copy is made on
demand from the same content.

The document is Swedish whatever the reader's page language: its labels are plain Swedish constants here
(as the loggutdrag's are), not translations, so a version's PDF never depends on who downloads it. Text is
set in DejaVu Sans (Debian `fonts-dejavu-core`), embedded; when that package is missing the PDF falls back,
with a warning in the log, to reportlab's own Bitstream Vera, which is embedded too and covers å ä ö.
Every typed text goes in through `pdf_fonts.markup`: what the font has no glyph for (an emoji, a flag) is
set in Symbola (Debian `fonts-symbola`) when installed, else printed as U+FFFD; never an empty box.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from sipflow.clock import to_local
from sipflow.pdf_fonts import markup, register_fonts
from sipflow.pdf_pages import list_table_style, page_count_canvas
from sipflow.people.identifiers import PERSONNUMMER, RESERVNUMMER, SAMORDNINGSNUMMER
from sipflow.plans.models import by_others

logger = logging.getLogger(__name__)
# The document's language, whatever the reader's page language (see above): a page in another one says so.
LANGUAGE = "sv"

FONT = "SipPlanSans"
FONT_BOLD = "SipPlanSans-Bold"

TITLE = "Samordnad individuell plan (SIP)"
OWN_GOALS = "Det är viktigt för mig…"
STATUS_LABELS = {"planned": "planerad", "ongoing": "pågår", "done": "klar", "cancelled": "avbruten"}
METHOD_LABELS = {"meeting": "vid mötet", "digital": "digitalt", "paper": "på papper"}
NONE = "–"
IDENTIFIER_LABELS = {
    PERSONNUMMER: "Personnummer",
    SAMORDNINGSNUMMER: "Samordningsnummer",
    RESERVNUMMER: "Reservnummer",
}
# Words up to this long are hyphenated in table cells; longer runs of letters are no words to hyphenate.
HYPHENATED_WORD_MAX = 40
# The contacts table's columns (mm): organisation, contact person, phone, e-mail.
CONTACT_WIDTHS = (48, 45, 32, 55)
# A table cell's text runs this far inside its column on either side (reportlab's default padding, points).
CELL_PADDING = 6
# The tallest a table cell's lines may make its row (points): a row never splits across pages, and one
# taller than a page stops the document. Well inside the A4 frame, leaving room for the repeated header row.
MAX_CELL_HEIGHT = 560
# A list table row's padding above and below its text together (pdf_pages.list_table_style: 2 pt each).
ROW_PADDING = 4


def _register_fonts() -> None:
    """Register the embedded Unicode font as FONT/FONT_BOLD (sipflow.pdf_fonts)."""
    register_fonts(FONT, FONT_BOLD)


def pdf_filename(case_reference: str, number: int, *, large: bool = False) -> str:
    """The download's file name: case reference and version, never anything about the person."""
    return f"{case_reference}-v{number}{'-stor-text' if large else ''}.pdf"


def document_title(content: dict) -> str:
    """The PDF's title property: visible without opening the pages, so no name or identifier in it."""
    return f"{TITLE} {content['case_reference']}, version {content['version']}"


# --- Small formatting helpers ----------------------------------------------------------------------------


def _day(value: str | None) -> str:
    return date.fromisoformat(value).isoformat() if value else ""


def _period(starts_on: str | None, ends_on: str | None) -> str:
    if not starts_on and not ends_on:
        return NONE
    # Spaces around the dash let a narrow table cell wrap between the two dates.
    return f"{_day(starts_on)} – {_day(ends_on)}".strip()


def _established_at(content: dict) -> datetime:
    return datetime.fromisoformat(content["established_at"]).astimezone(UTC)


def _local_day(value: str) -> str:
    return to_local(datetime.fromisoformat(value)).strftime("%Y-%m-%d")


def masked_identifier(id_number: str | None) -> str:
    """The identifier as the document shows it: YYYYMMDD-**** (as pages do), never the last four.

    The PDF leaves sipflow (downloads, mail, paper); name, birth date and case reference identify it.
    """
    if not id_number:
        return NONE
    if len(id_number) >= 12 and id_number[:8].isdigit():
        return f"{id_number[:8]}-****"
    return id_number[: max(0, min(4, len(id_number) - 4))] + "****"


def identifier_kind(person: dict) -> str:
    """The kind of the version's identifier (people.identifiers.KINDS), as the content keeps it.

    Content frozen before it kept the kind is taken for a personnummer, as its stored PDF said then: so
    rendering it again still gives the stored bytes (versions.pdf_matches).
    """
    return person.get("id_kind") or PERSONNUMMER


def approval_parties(content: dict) -> list[dict]:
    """Who approves a version: each participating organisation once, then the person, then each guardian
    approving on the child's behalf (the content's guardians_approving), with any approval.

    An approval is the one recorded for any of the party's participant rows when the version was frozen;
    a party without one is listed all the same, to sign on paper.
    """
    approvals = {a["participant_id"]: a for a in content.get("approvals", [])}
    parties: list[dict] = []
    seen: set[int] = set()
    for p in content["participants"]:
        if p["kind"] == "organisation" and p["organisation_id"] not in seen:
            seen.add(p["organisation_id"])
            rows = [
                q["participant_id"]
                for q in content["participants"]
                if q["kind"] == "organisation" and q["organisation_id"] == p["organisation_id"]
            ]
            approval = next((approvals[r] for r in rows if r in approvals), None)
            parties.append({"party": p["organisation"] or NONE, "approval": approval})
    for p in content["participants"]:
        if p["kind"] == "person":
            parties.append(
                {"party": content["person"]["name"], "approval": approvals.get(p["participant_id"])}
            )
    guardians = set(content.get("guardians_approving", ()))
    for p in content["participants"]:
        if p["participant_id"] in guardians:
            parties.append(
                {"party": p["name"] or NONE, "guardian": True, "approval": approvals.get(p["participant_id"])}
            )
    return parties


def measures_by_others(content: dict) -> list[dict]:
    """The version's measures by others than region and municipality (models.by_others), in plan order.

    Content frozen before it kept the owner's kind lists those written as such, as its stored PDF did.
    """
    return [e for e in content["efforts"] if by_others(e["kind"], e.get("organisation_kind"))]


def address_lines(address: str, fits) -> list[str]:
    """An e-mail address as the lines it is printed on: whole when it fits (fits(text) says), else broken
    only after its "@" or before one of its dots, never inside a name, where a reader would take a split
    for part of the address. A part too long for a line of its own stays whole (the cell breaks it).
    """
    if fits(address):
        return [address]
    # The pieces no break may fall inside: "omar", ".said@", "arbetsformedlingen", ".example", ".se".
    pieces = [piece for piece in re.split(r"(?<=@)|(?=\.)", address) if piece]
    lines: list[str] = []
    for piece in pieces:
        if lines and fits(lines[-1] + piece):
            lines[-1] += piece
        else:
            lines.append(piece)
    return lines


@dataclass(frozen=True)
class ShownVersion:
    """What a version shows, every part of it: the PDF prints this, and the pages that show a version (the
    version page, the person's and a guardian's link page) read it, so no page leaves out a part the
    document has (the child's own view, say). A part added to the content is shown by adding it here."""

    own_goals: list[dict]
    professional_goals: list[dict]
    needs: str
    # Every effort in plan order (the pages' one table); the document's three lists split them.
    all_efforts: list[dict]
    # The efforts the organisations own, what the person and närstående do, and the measures by others.
    efforts: list[dict]
    own_efforts: list[dict]
    other_efforts: list[dict]
    huvudansvar: dict
    fast_vardkontakt: str | None
    fast_omsorgskontakt: str | None
    contacts: list[dict]
    follow_up_on: str | None
    # A child's SIP: the child's own view, else why it is missing (neither: no such part).
    child_view: str | None
    child_view_missing_reason: str | None


def shown_version(content: dict) -> ShownVersion:
    """What the version of content shows (a version not removed by retention)."""
    child_view = content.get("child_view") or None
    return ShownVersion(
        own_goals=content["own_goals"],
        professional_goals=content["professional_goals"],
        needs=content["needs"],
        all_efforts=content["efforts"],
        efforts=[e for e in content["efforts"] if e["kind"] == "effort"],
        own_efforts=[e for e in content["efforts"] if e["kind"] == "own"],
        other_efforts=measures_by_others(content),
        huvudansvar=content["huvudansvar"],
        fast_vardkontakt=content["fast_vardkontakt"],
        fast_omsorgskontakt=content["fast_omsorgskontakt"],
        contacts=content["contacts"],
        follow_up_on=content["follow_up_on"],
        child_view=child_view,
        child_view_missing_reason=None if child_view else content.get("child_view_missing_reason") or None,
    )


def _party_label(party: dict) -> str:
    """How the PDF names a party of approval_parties: a guardian as approving on the child's behalf."""
    if party.get("guardian"):
        return f"{party['party']}, vårdnadshavare, för barnets räkning"
    return party["party"]


def _approval_cells(approval: dict | None) -> tuple[str, str]:
    if approval is None:
        return "", ""
    return _local_day(approval["approved_at"]), METHOD_LABELS.get(approval["method"], approval["method"])


# --- The document --------------------------------------------------------------------------------------


def _page_canvas(header_left: str, header_right: str, established_at: datetime, size: float):
    """A canvas class that draws the header and "Sida x av y" on every page once the page count is known."""
    from reportlab.lib.units import mm

    def decorate(canvas, total: int) -> None:
        width, height = canvas._pagesize
        canvas.saveState()
        canvas.setFont(FONT, size)
        canvas.drawString(15 * mm, height - 10 * mm, header_left)
        canvas.drawRightString(width - 15 * mm, height - 10 * mm, header_right)
        canvas.setLineWidth(0.4)
        canvas.line(15 * mm, height - 12 * mm, width - 15 * mm, height - 12 * mm)
        canvas.drawRightString(width - 15 * mm, 9 * mm, f"Sida {canvas._pageNumber} av {total}")
        canvas.restoreState()

    # The document's creation date is the version's, so rendering again gives the same bytes.
    return page_count_canvas(decorate, date_stamp=established_at.strftime("D:%Y%m%d%H%M%S+00'00'"))


def render_plan_pdf(content: dict, *, large: bool = False) -> bytes:
    """The SIP document of a frozen version's content as PDF bytes; large: the person's large, plain copy."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    _register_fonts()
    size = 15 if large else 9.5
    body = ParagraphStyle("body", fontName=FONT, fontSize=size, leading=size * 1.4, spaceAfter=size * 0.4)
    title = ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=size * 1.9, leading=size * 2.3)
    # A heading keeps to the first lines of its section: never alone at the foot of a page.
    heading = ParagraphStyle(
        "heading",
        parent=body,
        fontName=FONT_BOLD,
        fontSize=size * 1.3,
        leading=size * 1.7,
        spaceBefore=size,
        keepWithNext=1,
    )
    label = ParagraphStyle("label", parent=body, fontName=FONT_BOLD, spaceAfter=0)
    # Narrow columns break long Swedish compounds at a syllable, with a hyphen (pyphen's Swedish patterns);
    # a shorter word moves to the next line whole.
    cell = ParagraphStyle(
        "cell",
        parent=body,
        fontSize=size * 0.9,
        leading=size * 1.2,
        spaceAfter=0,
        hyphenationLang="sv",
        hyphenationMinWordLength=10,
    )
    head_cell = ParagraphStyle("head_cell", parent=cell, fontName=FONT_BOLD)
    # reportlab hyphenates a long word again for every line it fills (a 1 000-letter one takes a second per
    # cell): a cell with a word longer than any Swedish compound (a pasted address, a run of letters) is
    # broken between letters instead, at once.
    long_word_cell = ParagraphStyle("long_word_cell", parent=cell, hyphenationLang="")

    def cell_style(text: str):
        return cell if max(map(len, text.split()), default=0) <= HYPHENATED_WORD_MAX else long_word_cell

    def address_cell(address: str | None, width_mm: float) -> Paragraph | str:
        """An e-mail address in a table cell, broken only at its "@" or a dot (address_lines)."""
        if not address:
            return NONE
        room = width_mm * mm - 2 * CELL_PADDING
        lines = address_lines(address, lambda text: stringWidth(text, FONT, cell.fontSize) <= room)
        if len(lines) == 1:
            return address  # as every other cell: one that fits is set as before, to the same bytes
        # No hyphen is added inside an address (a hyphen may be part of one); a part too long for the
        # column is broken between letters, as any long word is.
        return Paragraph(
            "<br/>".join(markup(line, long_word_cell.fontName) for line in lines), long_word_cell
        )

    def para(value, style=body) -> Paragraph:
        text = markup(str(value), style.fontName) if value not in (None, "") else NONE
        return Paragraph(text.replace("\n", "<br/>"), style)

    def fact(name: str, value) -> Paragraph:
        shown = markup(str(value), body.fontName) if value not in (None, "") else NONE
        return Paragraph(f"<b>{markup(name, FONT_BOLD)}:</b> {shown.replace(chr(10), '<br/>')}", body)

    def text_cell(value: str, width_mm: float) -> Paragraph:
        """A table cell's text with its line breaks as typed (a list typed with "-" or "•" stays a list);
        lines that would make the row taller than MAX_CELL_HEIGHT run on as one paragraph instead, as the
        cell set them before, so no typed text stops the document."""
        text, style = markup(value, cell.fontName), cell_style(value)
        if "\n" in value:
            lines = Paragraph(text.replace("\n", "<br/>"), style)
            if lines.wrap(width_mm * mm - 2 * CELL_PADDING, 10**6)[1] <= MAX_CELL_HEIGHT:
                return lines
        return Paragraph(text, style)

    def table(headers: list[str], rows: list[list], widths: list[float], row_height=None) -> LongTable:
        # A cell left empty stays empty (to sign on paper); a missing value is shown as NONE by the caller.
        # A cell is text, or a Paragraph set already (an address broken at its own places).
        data = [[para(h, head_cell) for h in headers]]
        data += [
            [v if isinstance(v, Paragraph) else text_cell(v, w) for v, w in zip(row, widths, strict=True)]
            for row in rows
        ]

        # row_height is the least a row is high (room to sign); a longer party name makes its row higher,
        # not drawn over the row below.
        def text_height(row: list) -> float:
            return max(c.wrap(w * mm - 2 * CELL_PADDING, 10**6)[1] for c, w in zip(row, widths, strict=True))

        heights = (
            [None] + [max(row_height, ROW_PADDING + text_height(r)) for r in data[1:]] if row_height else None
        )
        grid = LongTable(
            data, colWidths=[w * mm for w in widths], rowHeights=heights, repeatRows=1, hAlign="LEFT"
        )
        grid.setStyle(TableStyle(list_table_style(FONT)))
        return grid

    person = content["person"]
    shown = shown_version(content)
    efforts, own, others = shown.efforts, shown.own_efforts, shown.other_efforts
    number = content["version"]
    established = _local_day(content["established_at"])
    by = content.get("established_by") or {}
    by_text = ", ".join(v for v in (by.get("name"), by.get("organisation")) if v)

    story: list = [
        Paragraph(escape(TITLE), title),
        # The kind of SIP: its workflow's label (versions.freeze_version); content frozen before has none.
        *([fact("Typ av SIP", content["sip_kind"])] if content.get("sip_kind") else []),
        fact("Ärende", content["case_reference"]),
        fact("Version", f"{number}, fastställd {established}" + (f" av {by_text}" if by_text else "")),
        fact("Namn", person["name"]),
        fact(IDENTIFIER_LABELS[identifier_kind(person)], masked_identifier(person.get("id_number"))),
        Paragraph(escape(OWN_GOALS), heading),
    ]
    story += [para(f"• {g['text']}") for g in shown.own_goals] or [para(None)]
    story.append(Paragraph("Mål som de yrkesverksamma har satt upp", heading))
    story += [para(f"• {g['text']}") for g in shown.professional_goals] or [para(None)]
    story += [Paragraph("Behov", heading), para(shown.needs)]

    story.append(Paragraph("Insatser: vem gör vad", heading))
    if not efforts:
        story.append(para("Inga insatser."))
    elif large:
        # The heading goes with the first effort: keepWithNext does not reach into a KeepTogether.
        first = [story.pop()]
        for e in efforts:
            owner = ", ".join(v for v in (e["organisation"], e["unit"], e["responsible"]) if v) or NONE
            status = STATUS_LABELS.get(e["status"], e["status"])
            story.append(
                KeepTogether(
                    [
                        *first,
                        Paragraph(markup(e["what"], label.fontName).replace("\n", "<br/>"), label),
                        para(f"Vem: {owner}"),
                        para(f"När: {_period(e['starts_on'], e['ends_on'])}. Status: {status}."),
                    ]
                )
            )
            first = []
    else:
        story.append(
            table(
                ["Insats", "Organisation", "Enhet", "Ansvarig", "Från–till", "Status"],
                [
                    [
                        e["what"],
                        e["organisation"] or NONE,
                        e["unit"] or NONE,
                        e["responsible"] or NONE,
                        _period(e["starts_on"], e["ends_on"]),
                        STATUS_LABELS.get(e["status"], e["status"]),
                    ]
                    for e in efforts
                ],
                [48, 30, 27, 27, 29, 19],
            )
        )

    def actor_lines(items: list[dict]) -> list:
        lines = []
        for e in items:
            when = _period(e["starts_on"], e["ends_on"])
            extra = "" if when == NONE else f" ({when})"
            # An agency's own effort names the agency (it has no actor).
            who = e["actor"] or e["organisation"] or NONE
            lines.append(para(f"• {who}: {e['what']}{extra}"))
        return lines

    story.append(Paragraph("Det här gör jag och mina närstående själva", heading))
    story += actor_lines(own) or [para(None)]
    story.append(Paragraph("Insatser av andra (till exempel Försäkringskassan, Arbetsförmedlingen)", heading))
    story += actor_lines(others) or [para("Inga.")]

    story.append(Paragraph("Ansvar och kontakter", heading))
    huvudansvar = shown.huvudansvar
    story += [
        fact("Huvudansvar", huvudansvar["organisation"]),
        fact("Kontaktperson för huvudansvaret", huvudansvar["contact"]),
        fact("Fast vårdkontakt", shown.fast_vardkontakt),
        fact("Fast omsorgskontakt", shown.fast_omsorgskontakt),
    ]
    contacts = shown.contacts
    if contacts and not large:
        story.append(Spacer(1, 2 * mm))
        story.append(
            table(
                ["Organisation", "Kontaktperson", "Telefon", "E-post"],
                [
                    [
                        c["organisation"] or NONE,
                        c["name"],
                        c["phone"] or NONE,
                        address_cell(c["email"], CONTACT_WIDTHS[3]),
                    ]
                    for c in contacts
                ],
                list(CONTACT_WIDTHS),
            )
        )
    else:
        for c in contacts:
            reach = ", ".join(v for v in (c["phone"], c["email"]) if v)
            story.append(fact(c["organisation"] or NONE, c["name"] + (f", {reach}" if reach else "")))

    story += [Paragraph("Uppföljning", heading), fact("Planen följs upp", _day(shown.follow_up_on))]
    if shown.child_view or shown.child_view_missing_reason:
        story.append(Paragraph("Barnets egen syn", heading))
        if shown.child_view:
            story.append(para(shown.child_view))
        else:
            story.append(fact("Därför saknas barnets syn", shown.child_view_missing_reason))

    # The approvals stay on one page with their heading: the page that is signed shows every party.
    signatures: list = [Paragraph("Godkännande", heading)]
    parties = approval_parties(content)
    if large:
        for party in parties:
            day, how = _approval_cells(party["approval"])
            signatures.append(
                fact(_party_label(party), f"godkänt {day}, {how}" if day else "Underskrift: ____________")
            )
    else:
        signatures.append(
            table(
                ["Part", "Godkänt den", "Hur", "Underskrift"],
                [[_party_label(p), *_approval_cells(p["approval"]), ""] for p in parties],
                [62, 28, 28, 62],
                row_height=11 * mm,  # room to sign on paper
            )
        )
    story.append(KeepTogether(signatures))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=(24 if large else 18) * mm,
        bottomMargin=16 * mm,
        title=document_title(content),
        author="sipflow",
        subject=f"{TITLE}, {content['case_reference']}",
        creator="sipflow",
        lang="sv-SE",
        # Invariant: no random document id and no clock in the bytes, so the same content renders alike.
        invariant=1,
        # The canvas' default font is Helvetica, which is never embedded: start every page in ours.
        initialFontName=FONT,
    )
    header_size = 11 if large else 8
    canvas_class = _page_canvas(
        f"Samordnad individuell plan, {content['case_reference']}",
        f"Version {number}",
        _established_at(content),
        header_size,
    )
    document.build(story, canvasmaker=canvas_class)
    return buffer.getvalue()
