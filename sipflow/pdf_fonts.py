"""The one place that finds and registers the Unicode font sipflow's PDFs embed (loggutdrag, plan, report).

DejaVu Sans: a vendored copy wins, so every host renders alike; then Debian's fonts-dejavu-core; else
reportlab's own Bitstream Vera (also embeddable, also covers å ä ö), with a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sipflow.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

FONT_DIRS = (PROJECT_ROOT / "sipflow" / "static" / "fonts", Path("/usr/share/fonts/truetype/dejavu"))
_registered: set[str] = set()


def font_files(folders=FONT_DIRS) -> tuple[Path, Path, bool]:
    """The regular and bold font files to embed, and whether they are DejaVu (else the Vera fallback)."""
    for folder in folders:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold, True
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts"
    return vera / "Vera.ttf", vera / "VeraBd.ttf", False


def register_fonts(name: str, bold_name: str) -> None:
    """Register the embedded font as name and bold_name, with bold mapped (once per name and process).

    Each document keeps the font name it always had, so a stored PDF is reproduced byte for byte.
    """
    if name in _registered:
        return
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics, ttfonts
    from reportlab.pdfbase.ttfonts import TTFont

    # reportlab 5.1 writes each character's code point as four hex digits in the text layer's ToUnicode
    # map, so one outside the Basic Multilingual Plane (an emoji) copied, searched or read aloud as a wrong
    # one. The PDF reference wants UTF-16BE there, a surrogate pair for those; the BMP's are unchanged.
    ttfonts.makeToUnicodeCMap = to_unicode_cmap

    regular, bold, dejavu = font_files()
    if not dejavu:
        logger.warning("DejaVu Sans not found (install fonts-dejavu-core): PDFs use Bitstream Vera")
    pdfmetrics.registerFont(TTFont(name, str(regular)))
    pdfmetrics.registerFont(TTFont(bold_name, str(bold)))
    for bold_flag, italic_flag in ((0, 0), (1, 0), (0, 1), (1, 1)):
        addMapping(name, bold_flag, italic_flag, bold_name if bold_flag else name)
    _registered.add(name)


def to_unicode_cmap(fontname: str, subset) -> str:
    """reportlab's ToUnicode CMap of a font subset, each code's character written as UTF-16BE."""
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *(
                f"<{code:02X}> <{chr(point).encode('utf-16-be').hex().upper()}>"
                for code, point in enumerate(subset)
            ),
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )
