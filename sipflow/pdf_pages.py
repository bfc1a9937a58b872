"""What sipflow's PDFs share: page decorations that need the page count ("Sida x av y"), drawn last by a
reportlab canvas, and the look of a list table."""

from __future__ import annotations

from collections.abc import Callable


def page_count_canvas(decorate: Callable[[object, int], None], *, date_stamp: str | None = None):
    """A canvas class that keeps every page until the document is saved, then calls decorate(canvas, total)
    on each before writing it out. date_stamp: a fixed PDF creation date (same content, same bytes)."""
    from reportlab.pdfgen.canvas import Canvas

    class PageCountCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []
            if date_stamp is not None:
                self.setDateFormatter(lambda *_: date_stamp)

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                decorate(self, total)
                super().showPage()
            super().save()

    return PageCountCanvas


def list_table_style(font: str) -> list[tuple]:
    """The TableStyle commands of a list table (a shaded header row repeated on each page, thin rules between
    rows), in font: the plan's tables and the loggutdrag's."""
    from reportlab.lib import colors

    return [
        # Every cell's default font is ours too, or the page refers to an unembedded Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#4a5a6a")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#c5ced6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
