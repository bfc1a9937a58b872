"""The indicator answer (already through disclosure control) as CSV, XLSX, PDF and SVG charts."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from babel.numbers import format_decimal
from flask_babel import get_locale

from sipflow.clock import to_local
from sipflow.i18n import DEFAULT_LOCALE
from sipflow.pdf_pages import page_count_canvas

CSV_DELIMITER = ";"  # what Swedish Excel opens without a wizard
# An empty cell (a share or median with nothing to count it over) as people read it: on the page and in
# the PDF. The CSV and XLSX leave it empty (a spreadsheet's number column stays numbers), JSON has null.
EMPTY_CELL = "–"


def _safe(cell):
    """A text cell a spreadsheet would read as a formula is quoted (CSV injection)."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") and cell != EMPTY_CELL:
        return "'" + cell
    return cell


def shown(cell) -> str:
    """A cell as a reader sees it on the page and in the PDF: a share (a float, one decimal) with the
    language's decimal sign ("28,6" in Swedish, "28.6" in English), an empty one (None) as EMPTY_CELL;
    anything else as it is."""
    if cell is None:
        return EMPTY_CELL
    if isinstance(cell, float):
        # Never rounded again here (Babel would round a half to even): services.percent rounded it.
        return format_decimal(
            cell, format="0.0", locale=get_locale() or DEFAULT_LOCALE, decimal_quantization=False
        )
    return str(cell)


def table_lines(table: dict) -> list[list]:
    """A table as lines: the header labels, its rows, then its total (if any)."""
    keys = [column["key"] for column in table["columns"]]
    lines = [[column["label"] for column in table["columns"]]]
    lines += [[row.get(key) for key in keys] for row in table["rows"]]
    if table["total"] is not None:
        lines.append([table["total"].get(key) for key in keys])
    return lines


def chart_tables(answer: dict) -> list[dict]:
    """Each chart of the answer (SIPs per municipality, per quarter) as a table of its points: the figures
    the page shows first, for the outputs that draw no chart (the quarterly report, the workbook)."""
    tables = []
    for chart in answer.get("charts", []):
        keys = [column["key"] for column in chart["columns"]]
        tables.append(
            {
                "key": f"chart_{chart['key']}",
                "title": chart["title"],
                "columns": chart["columns"],
                "rows": [dict(zip(keys, point, strict=True)) for point in chart["points"]],
                "total": None,
                "note": None,
            }
        )
    return tables


def _csv_cell(cell):
    """A CSV cell: a share with the language's decimal sign, text guarded against formulas, None empty."""
    # Swedish Excel reads "28,6" as a number and "28.6" as text; the labels are in that language too.
    if cell is None:
        return ""
    return shown(cell) if isinstance(cell, float) else _safe(cell)


def to_csv(answer: dict, table_key: str = "meetings") -> bytes:
    """One table of the answer as CSV (UTF-8 with BOM, semicolons), header row first, total last."""
    table = next(t for t in answer["tables"] if t["key"] == table_key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    for line in table_lines(table):
        writer.writerow([_csv_cell(cell) for cell in line])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# What Excel allows a sheet's name (its tab): at most 31 characters, none of these, no apostrophe first
# or last, not "History" (reserved), and no two alike but for case.
SHEET_NAME_LENGTH = 31
_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "-"))


def sheet_name(title: str, taken: list[str]) -> str:
    """A table's title as a name Excel accepts for its sheet, unlike every name taken."""
    name = " ".join(title.translate(_SHEET_NAME_FORBIDDEN).split()).strip("'") or "-"
    if name.casefold() == "history":
        name += " -"
    name = _shortened(name, SHEET_NAME_LENGTH)
    used = {other.casefold() for other in taken}
    number = 1
    candidate = name
    while candidate.casefold() in used:
        number += 1
        suffix = f" ({number})"
        candidate = _shortened(name, SHEET_NAME_LENGTH - len(suffix)) + suffix
    return candidate


def _shortened(name: str, length: int) -> str:
    """name cut to length at a word's end with an ellipsis, when longer ("Attendance per organisation…")."""
    if len(name) <= length:
        return name
    cut = name[: length - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" '") + "…"


# A share (a float, one decimal) as the page shows it: 30.0 reads "30,0" in Swedish Excel, not "30".
SHARE_FORMAT = "0.0"


@dataclass(frozen=True)
class Cover:
    """What a report says it covers, as the quarterly report's first lines and the workbook's last sheet:
    its heading, the lines under it (area, SIP code), its period and how to read it (what "<5" and ".."
    mean)."""

    heading: str
    details: tuple[str, ...]
    period: str
    notes: tuple[str, ...]


def to_xlsx(answer: dict, cover: Cover | None = None, *, made_at: datetime | None = None) -> bytes:
    """Every table of the answer as a sheet of an XLSX workbook (openpyxl), each named by its title; with a
    cover, one sheet more after them (about_sheet), and the workbook's title and subject its heading and
    period, so a file passed on says what it counts even once renamed."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    # The charts' tables after the indicator tables: the SIP meeting table stays the first sheet.
    for table in [*answer["tables"], *chart_tables(answer)]:
        sheet = workbook.create_sheet(sheet_name(table["title"], workbook.sheetnames))
        for index, line in enumerate(table_lines(table)):
            sheet.append([_safe(cell) for cell in line])
            if index == 0:
                for cell in sheet[1]:
                    cell.font = Font(bold=True)
            for cell in sheet[index + 1]:
                if isinstance(cell.value, float):
                    cell.number_format = SHARE_FORMAT
        if table.get("note"):
            sheet.append([])
            sheet.append([table["note"]])
    if cover is not None:
        about_sheet(workbook, cover, made_at)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def about_sheet(workbook, cover: Cover, made_at: datetime | None) -> None:
    """The workbook's last sheet, "Om rapporten": the cover's lines, one per row (the first bold), and when
    it was made; the tables' sheets before it stay one table each."""
    from flask_babel import gettext
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(sheet_name(gettext("About the report"), workbook.sheetnames))
    made = [made_line(made_at)] if made_at is not None else []
    for line in [cover.heading, *cover.details, cover.period, *made, "", *cover.notes]:
        sheet.append([_safe(line)])
    sheet["A1"].font = Font(bold=True)
    workbook.properties.title = cover.heading
    workbook.properties.subject = " · ".join([*cover.details, cover.period])
    workbook.properties.creator = "sipflow"


def made_line(made_at: datetime) -> str:
    """When a report was made, said so in the reader's language: a bare time under the period read as part
    of it, or as the time the figures were counted up to. In Swedish time, as every date in the report (a
    report made 00:30 belongs to that day)."""
    from flask_babel import gettext

    return gettext("Produced: %(time)s (Swedish time)", time=to_local(made_at).strftime("%Y-%m-%d %H:%M"))


def legend(threshold: int) -> list[str]:
    """What the marks of a hidden cell mean, in the reader's language, the one place the legend's words
    live: the page says it above its tables, the quarterly report under its heading, the workbook on its
    last sheet. "<5" marks any count of 1 to 4, of SIPs, video meetings or offered SIPs as well as of
    persons, so the legend names no one kind of count."""
    from flask_babel import gettext

    return [
        gettext(
            'A count of 1 to %(n)s is shown as "%(mark)s" in every table, whatever it counts: persons, SIPs, '
            "SIPs by video, offered SIPs or anything else.",
            n=threshold - 1,
            mark=f"<{threshold}",
        ),
        gettext(
            '".." is hidden: anything else about a group of fewer than %(n)s persons (even a 0), a count '
            "that would let a hidden one be worked out, or a share or median that rests on a hidden count.",
            n=threshold,
        ),
    ]


# --- Charts (server-side SVG, no JavaScript) ------------------------------------------------------------


def bar_chart_svg(title: str, description: str, bars: list[tuple[str, object]], *, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG with <title> and <desc>; a hidden ("<5") bar is drawn empty."""
    row_height, label_width, top = 24, 180, 10
    height = top * 2 + row_height * max(len(bars), 1)
    numbers = [value for _, value in bars if isinstance(value, (int, float))]
    largest = max(numbers, default=0) or 1
    scale = (width - label_width - 60) / largest
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart-title chart-desc" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
    ]
    for index, (label, value) in enumerate(bars):
        y = top + index * row_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 16}" text-anchor="end" font-size="12">'
            f"{escape(str(label))}</text>"
        )
        if isinstance(value, (int, float)):
            bar = max(int(value * scale), 1 if value else 0)
            parts.append(
                f'<rect x="{label_width}" y="{y + 4}" width="{bar}" height="{row_height - 8}" '
                'fill="#1f5f8b"/>'
            )
            shown = value
        else:
            bar, shown = 0, value if value is not None else EMPTY_CELL
        parts.append(
            f'<text x="{label_width + bar + 6}" y="{y + 16}" font-size="12">{escape(str(shown))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart_svg(
    title: str, description: str, points: list[tuple[str, object]], *, width: int = 640
) -> str:
    """A trend (one point per period) as inline SVG with <title> and <desc>; hidden values break the line."""
    height, left, bottom, top = 220, 40, 30, 20
    # A mark after a period's name ("2026 K4 (t.o.m. 2026-12-05)", "(del)") goes on a line of its own, so
    # it neither runs into the next period's name nor, at the last point, out of the chart.
    lines = [str(label).split(" (", 1) for label, _ in points]
    if any(len(line) > 1 for line in lines):
        height, bottom = height + 14, bottom + 14
    numbers = [value for _, value in points if isinstance(value, (int, float))]
    largest = max(numbers, default=0) or 1
    step = (width - left - 20) / max(len(points) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="trend-title trend-desc" class="chart">',
        f'<title id="trend-title">{escape(title)}</title>',
        f'<desc id="trend-desc">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#666"/>',
    ]
    segment: list[str] = []
    for index, ((name, *mark), (_label, value)) in enumerate(zip(lines, points, strict=True)):
        x = left + index * step
        # The last point's name ends at it: centred, a long one would be cut at the chart's edge.
        anchor = "end" if index == len(points) - 1 and index else "middle"
        below = f'<tspan x="{x:.0f}" dy="13">({escape(mark[0])}</tspan>' if mark else ""
        parts.append(
            f'<text x="{x:.0f}" y="{height - bottom + 20}" text-anchor="{anchor}" font-size="11">'
            f"{escape(name)}{below}</text>"
        )
        if isinstance(value, (int, float)):
            y = height - bottom - (height - bottom - top) * value / largest
            segment.append(f"{x:.0f},{y:.0f}")
            parts.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="3" fill="#1f5f8b"/>')
            parts.append(
                f'<text x="{x:.0f}" y="{y - 6:.0f}" text-anchor="middle" font-size="11">{value}</text>'
            )
        else:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="#1f5f8b" points="{" ".join(segment)}"/>')
            segment = []
            label_text = value if value is not None else EMPTY_CELL
            parts.append(
                f'<text x="{x:.0f}" y="{height - bottom - 6}" text-anchor="middle" font-size="11">'
                f"{escape(str(label_text))}</text>"
            )
    if len(segment) > 1:
        parts.append(f'<polyline fill="none" stroke="#1f5f8b" points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return "".join(parts)


# --- PDF -------------------------------------------------------------------------------------------------


# At most this many area codes in a file name (a coordinator may follow many); more are said as "m-fl".
FILENAME_AREAS = 6


def report_filename(
    start: date, end: date, areas: Sequence[str] = (), code: str | None = None, extension: str = "pdf"
) -> str:
    """An export's file name (the quarterly report's, the CSV's, the workbook's: extension) in the reader's
    language: its area's codes (none: every county), the first and last month of its period (statistics
    count whole months) and the SIP code asked for, never anything about a person.
    "sip-statistik-0780-2026-01_2026-03-XU045.pdf"; "sip-statistik-alla-lan-2026-01_2026-12.pdf" for every
    county; in English "sip-statistics-...", "-all-counties-". The areas come before the period so that a
    county code is never read as a month."""
    from flask_babel import gettext

    parts = [gettext("sip-statistics"), *areas[:FILENAME_AREAS]] if areas else [gettext("sip-statistics")]
    if len(areas) > FILENAME_AREAS:
        parts.append(gettext("and-more"))
    elif not areas:
        parts.append(gettext("all-counties"))
    parts.append(f"{start:%Y-%m}_{end:%Y-%m}")
    if code:
        parts.append(code)
    return "-".join(parts) + "." + extension


# A table's heading (and note) stays on the page of its header row and this many rows; its total stays
# with the row before it, so no page holds a heading, or a total, alone.
PDF_ROWS_WITH_HEADING = 2


def to_pdf(
    answer: dict,
    *,
    heading: str,
    subtitle: str,
    made_at: datetime,
    details: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> bytes:
    """The quarterly report: a heading, the lines that say what it covers (details: area, SIP code), the
    period (subtitle), when made, how to read it (notes: what "<5" and ".." mean), the charts' figures
    (chart_tables) and every table (A4
    landscape, embedded DejaVu font). The document's title is the heading, its subject the details and
    period, its language the reader's."""
    from flask_babel import gettext
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from sipflow.pdf_fonts import markup, register_fonts
    from sipflow.security.extract import FONT, FONT_BOLD

    register_fonts(FONT, FONT_BOLD)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        bottomMargin=15 * mm,
        title=heading,
        author="sipflow",
        subject=" · ".join([*details, subtitle]),
        creator="sipflow",
        lang=str(get_locale() or DEFAULT_LOCALE),
    )
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=19)
    heading_style = ParagraphStyle("heading", fontName=FONT_BOLD, fontSize=11, leading=14)
    about = ParagraphStyle("about", fontName=FONT, fontSize=9, leading=12)
    body = ParagraphStyle("body", fontName=FONT, fontSize=7, leading=9)
    story = [
        Paragraph(markup(heading, FONT_BOLD), title),
        *(Paragraph(markup(line, FONT), about) for line in details),
        Paragraph(markup(subtitle, FONT), body),
        Paragraph(markup(made_line(made_at), FONT), body),
        *(Paragraph(markup(line, FONT), body) for line in notes),
        Spacer(1, 4 * mm),
    ]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    # The charts' figures first, as the page shows them above its tables.
    for table in [*chart_tables(answer), *answer["tables"]]:
        opening = [Paragraph(markup(table["title"], FONT_BOLD), heading_style)]
        if table.get("note"):
            opening.append(Paragraph(markup(table["note"], FONT), body))
        texts = [[shown(cell) for cell in line] for line in table_lines(table)]
        if len(texts) == 1:
            texts.append([EMPTY_CELL for _ in texts[0]])
        lines = [[Paragraph(markup(text, FONT), body) for text in line] for line in texts]
        # A chart's table (a name and a count) as wide as it needs, not the page's width.
        widths = [70 * mm, 35 * mm] if len(texts[0]) == 2 else None
        # A part of the table on a new page opens with its title, marked continued, above the header row.
        continued_title = gettext("%(title)s (cont.)", title=table["title"])
        continued = Paragraph(markup(continued_title, FONT_BOLD), heading_style)
        grid = _titled_table(Table, continued)(lines, repeatRows=1, colWidths=widths, hAlign="LEFT")
        kept = list(style)
        if table["total"] is not None and len(lines) > 2:
            kept.append(("NOSPLIT", (0, len(lines) - 2), (0, len(lines) - 1)))  # the total and the row before
        grid.setStyle(TableStyle(kept))
        # A new page unless the heading, the note, the header row and the first rows fit on this one
        # (measured on a copy: a flowable is wrapped for the table it is drawn in).
        first = Table(
            [
                [Paragraph(markup(text, FONT), body) for text in line]
                for line in texts[: 1 + PDF_ROWS_WITH_HEADING]
            ],
            colWidths=widths,
            style=style,
        )
        width, height = document.width - 12, document.height - 12  # the frame's padding: 6 pt a side
        needed = sum(part.wrap(width, height)[1] for part in [*opening, first])
        story += [CondPageBreak(needed), *opening, grid, Spacer(1, 5 * mm)]
    document.build(story, canvasmaker=_numbered_canvas(FONT, right_margin=12 * mm, bottom=8 * mm))
    return buffer.getvalue()


def _titled_table(table_class, continued):
    """A reportlab table class whose parts after the first, each on a new page, are drawn under the
    paragraph continued ("SIP-möten (forts.)"), as the header row is repeated above their rows: a reader on
    page 3 sees which table the figures belong to. The parts are split again page by page, each under it."""
    from reportlab.platypus import Flowable

    class Continued(Flowable):
        """A part of the table under its continued title; split as the table is, each part titled."""

        def __init__(self, part):
            super().__init__()
            self.part = part
            self.hAlign = part.hAlign

        def wrap(self, available_width, available_height):
            self._title_height = continued.wrap(available_width, available_height)[1]
            width, height = self.part.wrap(available_width, available_height - self._title_height)
            self.width, self.height = width, height + self._title_height
            return self.width, self.height

        def split(self, available_width, available_height):
            title_height = continued.wrap(available_width, available_height)[1]
            parts = self.part.split(available_width, available_height - title_height)
            return [Continued(part) for part in parts]

        def draw(self):
            table_height = self.height - self._title_height
            continued.drawOn(self.canv, 0, table_height)
            self.part.drawOn(self.canv, 0, 0)

    class Titled(table_class):
        """The table as the report adds it: its first part under the heading before it, the rest titled."""

        def split(self, available_width, available_height):
            parts = table_class.split(self, available_width, available_height)
            # A part split off is a table of this class again: it is plain, titled by Continued.
            for part in parts:
                part.__class__ = table_class
            return [*parts[:1], *(Continued(part) for part in parts[1:])]

    return Titled


def _numbered_canvas(font: str, *, right_margin: float, bottom: float):
    """A canvas class that writes "Page x of y" at the foot of every page once the page count is known."""
    from flask_babel import gettext

    def decorate(canvas, total: int) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(
            canvas._pagesize[0] - right_margin,
            bottom,
            gettext("Page %(number)d of %(total)d", number=canvas._pageNumber, total=total),
        )
        canvas.restoreState()

    return page_count_canvas(decorate)
