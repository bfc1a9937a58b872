"""Page decorations that need the page count ("Sida x av y"): a reportlab canvas that draws them last."""

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
