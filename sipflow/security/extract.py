"""Loggutdrag: every access-log row that concerns one person, as CSV and as PDF.

A row concerns the person when it names them, or names one of their cases (refusals name the case only).
The extract is a Swedish document handed to the person or an auditor, so its labels are Swedish and not
translated. It shows the person by name and masked identifier; the full personnummer never appears.
Producing an extract is itself an access: the caller logs it (`audit.record_access`, `audit.PERSON_EXTRACT`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass
from datetime import datetime

from flask_babel import force_locale
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.clock import summer_time_in_repeated_hour, to_local
from sipflow.pdf_fonts import markup, register_fonts
from sipflow.pdf_pages import list_table_style, page_count_canvas
from sipflow.people.models import Organisation, Person, User
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry

HEADERS = ("Tid", "Användare", "Organisation", "Åtgärd", "Ändamål", "Ärende", "Utfall")
# Swedish Excel splits on the list separator of its locale, which is the semicolon.
CSV_DELIMITER = ";"
# One for every code in audit.ACTIONS (tests/security/test_extract.py): the person never reads a code.
ACTION_LABELS = {
    audit.CASE_VIEW: "Läste SIP-ärendet",
    audit.CASE_CREATE: "Startade SIP-ärendet",
    audit.CASE_PRINT: "Skrev ut SIP-ärendet",
    audit.CASE_EXPORT: "Exporterade SIP-ärendet",
    audit.CASE_TRANSITION: "Förde SIP-ärendet vidare",
    audit.CASE_PARTICIPANTS: "Lade till, ändrade eller tog bort deltagare i SIP-ärendet",
    audit.CASE_CONSENT: "Registrerade ytterligare samtycke i SIP-ärendet",
    audit.CASE_DATES: "Rättade tidpunkten för utskrivningsklar i SIP-ärendet",
    audit.CASE_CONSENT_WITHDRAW_ORGANISATION: "Registrerade att samtycket återkallades för en organisation",
    audit.MEETING_VIEW: "Läste ett SIP-möte",
    audit.MEETING_CHANGE: "Bokade eller ändrade ett SIP-möte",
    audit.MEETING_FEED: "Såg SIP-mötet i sin kalender",
    audit.MEETING_LINK_VIEW: "En inbjuden läste SIP-mötet genom svarslänken i sin kallelse",
    audit.MEETING_LINK_VIEW_PERSON: "Läste SIP-mötet genom svarslänken i sin kallelse",
    audit.MEETING_LINK_VIEW_NARSTAENDE: "En närstående läste SIP-mötet genom svarslänken i sin kallelse",
    audit.MEETING_LINK_VIEW_GUARDIAN: "En vårdnadshavare läste SIP-mötet genom svarslänken i sin kallelse",
    audit.MEETING_LINK_VIEW_REPRESENTATIVE: (
        "En ställföreträdare läste SIP-mötet genom svarslänken i sin kallelse"
    ),
    audit.MEETING_LINK_DENIED: "Nekades åtkomst genom svarslänken i en kallelse som inte längre gäller",
    audit.PERSON_EXTRACT: "Tog fram ett loggutdrag om personen",
    audit.PERSON_EXPORT: "Tog fram ett registerutdrag om personen",
    audit.PERSON_LOOKUP: "Sökte fram personen",
    audit.PERSON_CHANGE: "Ändrade personens namn eller folkbokföringskommun",
    audit.ACCESS_DENIED: "Nekades åtkomst",
    audit.PLAN_PERSON_VIEW: "Läste personens planer",
    audit.PLAN_LINK_VIEW: "Läste planerna genom den personliga länken",
    audit.PLAN_LINK_VIEW_NARSTAENDE: "En närstående läste planen genom sin personliga länk",
    audit.PLAN_LINK_VIEW_GUARDIAN: "En vårdnadshavare läste planen genom sin personliga länk",
    audit.PLAN_LINK_VIEW_REPRESENTATIVE: "En ställföreträdare läste planen genom sin personliga länk",
    audit.PLAN_LINK_PRINT: "Hämtade planen som PDF genom den personliga länken",
    audit.PLAN_LINK_PRINT_NARSTAENDE: "En närstående hämtade planen som PDF genom sin personliga länk",
    audit.PLAN_LINK_PRINT_GUARDIAN: "En vårdnadshavare hämtade planen som PDF genom sin personliga länk",
    audit.PLAN_LINK_PRINT_REPRESENTATIVE: (
        "En ställföreträdare hämtade planen som PDF genom sin personliga länk"
    ),
    audit.PLAN_APPROVALS: "Läste eller registrerade godkännanden av planen",
    audit.PLAN_LINKS: "Skickade eller återkallade en personlig länk",
    audit.PLAN_LINKS_VIEW: "Läste de personliga länkarna",
    audit.PLAN_VIEW: "Läste planen",
    audit.PLAN_CHANGE: "Ändrade planen",
}
# A form the page refused (outcome NOT_SAVED): what the user tried, not what the action label says was done.
# One for each action a page logs for a form it receives; any other such row gets ATTEMPT_FALLBACK.
ATTEMPT_LABELS = {
    audit.CASE_TRANSITION: "Försökte föra SIP-ärendet vidare",
    audit.CASE_PARTICIPANTS: "Försökte lägga till, ändra eller ta bort deltagare i SIP-ärendet",
    audit.CASE_CONSENT: "Försökte registrera ytterligare samtycke i SIP-ärendet",
    audit.CASE_DATES: "Försökte rätta tidpunkten för utskrivningsklar i SIP-ärendet",
    audit.CASE_CONSENT_WITHDRAW_ORGANISATION: (
        "Försökte registrera att samtycket återkallades för en organisation"
    ),
    audit.MEETING_CHANGE: "Försökte boka eller ändra ett SIP-möte",
    audit.PLAN_APPROVALS: "Försökte registrera godkännanden av planen",
    audit.PLAN_LINKS: "Försökte skicka eller återkalla en personlig länk",
    audit.PLAN_CHANGE: "Försökte ändra planen",
    audit.PERSON_CHANGE: "Försökte ändra personens namn eller folkbokföringskommun",
}
ATTEMPT_FALLBACK = "Skickade ett formulär i SIP-ärendet"
NOT_SAVED_SUFFIX = " (inget sparades)"
TITLE = "Loggutdrag"


@dataclass(frozen=True)
class ExtractRow:
    """One access-log row as the extract shows it."""

    time: str
    user: str
    organisation: str
    action: str
    purpose: str
    case_reference: str
    outcome: str

    def cells(self) -> tuple[str, ...]:
        return astuple(self)


def _link_name(action: str, link_id: int | None) -> str:
    # A read through a link has no user: the link's number says which (the links page shows a personal
    # link's; an answer link is named by its invitation's).
    kind = audit.link_kind(action, link_id)
    if kind is None:
        return "–"
    if kind == audit.INVITATION_LINK:
        return f"Svarslänk i inbjudan nr {link_id}"
    return f"Personlig länk nr {link_id}"


def action_label(action: str, outcome: str) -> str:
    """What the row says was done: the action's label, or for a form refused (NOT_SAVED) the attempt."""
    if outcome == audit.NOT_SAVED:
        return ATTEMPT_LABELS.get(action, ATTEMPT_FALLBACK) + NOT_SAVED_SUFFIX
    return ACTION_LABELS.get(action, action)


def _extract_time(moment: datetime) -> str:
    """A row's time in Swedish time; in the hour the clocks show twice when summer time ends, which showing
    (the rows are in the order they were written: 02:10 normaltid comes after 02:50 sommartid)."""
    text = to_local(moment).strftime("%Y-%m-%d %H:%M:%S")
    summer = summer_time_in_repeated_hour(moment)
    if summer is None:
        return text
    return f"{text} ({'sommartid' if summer else 'normaltid'})"


def extract_rows(session: Session, person_id: int) -> list[ExtractRow]:
    """Every access-log row about the person or one of their cases, oldest first."""
    found = session.exec(
        select(AccessLogEntry, User.display_name, Organisation.name, SipCase.reference)
        .outerjoin(User, User.id == AccessLogEntry.user_id)
        .outerjoin(Organisation, Organisation.id == AccessLogEntry.organisation_id)
        .outerjoin(SipCase, SipCase.id == AccessLogEntry.case_id)
        .where(audit.concerns_person(person_id))
        .order_by(AccessLogEntry.seq)
    ).all()
    # The outcome's words are the log's own (audit.OUTCOME_WORDS), said in Swedish like the rest.
    with force_locale("sv"):
        outcomes = {code: str(words) for code, words in audit.OUTCOME_WORDS.items()}
    return [
        ExtractRow(
            time=_extract_time(entry.at),
            user=user_name or _link_name(entry.action, entry.link_id),
            organisation=organisation_name or "–",
            action=action_label(entry.action, entry.outcome),
            purpose=entry.purpose,
            case_reference=reference or "–",
            outcome=outcomes.get(entry.outcome, entry.outcome),
        )
        for entry, user_name, organisation_name, reference in found
    ]


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ (or a control character) is a formula to Excel: make it plain text.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def access_extract_csv(session: Session, person_id: int) -> bytes:
    """The loggutdrag as CSV: UTF-8 with BOM, semicolon-separated, one header row, local times."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in extract_rows(session, person_id):
        writer.writerow([_spreadsheet_safe(cell) for cell in row.cells()])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- PDF -------------------------------------------------------------------------------------------------

FONT = "SipflowSans"
FONT_BOLD = "SipflowSans-Bold"


def _register_fonts() -> None:
    """Register the embedded Unicode font as FONT/FONT_BOLD (sipflow.pdf_fonts)."""
    register_fonts(FONT, FONT_BOLD)


def access_extract_pdf(session: Session, person_id: int, *, now: datetime) -> bytes:
    """The loggutdrag as an A4 landscape PDF: title, the person (masked identifier), when, and the rows."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

    person = session.get(Person, person_id)
    if person is None:
        raise LookupError("no such person")
    rows = extract_rows(session, person_id)
    _register_fonts()

    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=18, leading=22, spaceAfter=4 * mm)
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, spaceAfter=1.5 * mm)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)
    head = ParagraphStyle("head", parent=cell, fontName=FONT_BOLD)
    generated = to_local(now).strftime("%Y-%m-%d %H:%M")

    def text(value: str, style) -> Paragraph:
        return Paragraph(markup(value, style.fontName), style)

    story = [
        text(TITLE, title),
        text(f"Person: {person.given_name} {person.family_name}, {person.masked_identifier()}", body),
        text(f"Framtaget: {generated} (svensk tid)", body),
        text(
            "Utdraget visar varje loggad åtkomst till personens SIP-ärenden och uppgifter i sipflow: "
            "vem, från vilken organisation, när, vad och i vilket ändamål, även nekade försök.",
            body,
        ),
        text(f"Antal poster: {len(rows)}", body),
        Spacer(1, 3 * mm),
    ]
    if rows:
        data = [[text(h, head) for h in HEADERS]]
        data += [[text(value, cell) for value in row.cells()] for row in rows]
        widths = [38 * mm, 40 * mm, 42 * mm, 48 * mm, 53 * mm, 34 * mm, 18 * mm]  # the 273 mm between margins
        table = LongTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(TableStyle(list_table_style(FONT)))
        story.append(table)
    else:
        story.append(text("Inga loggade åtkomster.", body))

    margin = 12 * mm

    def footer(canvas, total: int) -> None:
        # "Sida x av y": a page missing from a printed extract handed to the person shows.
        width = canvas._pagesize[0]
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.drawString(margin, 8 * mm, f"{TITLE}, framtaget {generated}")
        canvas.drawRightString(width - margin, 8 * mm, f"Sida {canvas._pageNumber} av {total}")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=margin,
        rightMargin=margin,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
        # Document properties are visible without opening the pages: no name or identifier in them.
        title=TITLE,
        author="sipflow",
        subject="Loggutdrag ur sipflows åtkomstlogg",
        lang="sv-SE",
        # The canvas' own default font is Helvetica, which is never embedded: start every page in ours.
        initialFontName=FONT,
    )
    document.build(story, canvasmaker=page_count_canvas(footer))
    return buffer.getvalue()
