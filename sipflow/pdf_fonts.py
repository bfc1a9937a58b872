"""The one place that finds and registers the Unicode fonts sipflow's PDFs embed (loggutdrag, plan, report),
and the one way typed text goes into them (`markup`).

DejaVu Sans: a vendored copy wins, so every host renders alike; then Debian's fonts-dejavu-core; else
reportlab's own Bitstream Vera (also embeddable, also covers å ä ö), with a warning.

What the body font has no glyph for (an emoji, a flag's regional indicators, many symbols) is set in a
fallback font when one is installed: Symbola (Debian's fonts-symbola, monochrome; a vendored copy wins
again). A character neither font has is printed as one visible MARKER, never dropped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from xml.sax.saxutils import escape

from sipflow.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

VENDORED_FONTS = PROJECT_ROOT / "sipflow" / "static" / "fonts"
FONT_DIRS = (VENDORED_FONTS, Path("/usr/share/fonts/truetype/dejavu"))
_registered: set[str] = set()

# The fallback font: where it is looked for (read at each call, so a test can point it elsewhere), its file
# and the name it is registered as (one for every document: no stored PDF had it before).
FALLBACK_DIRS = (VENDORED_FONTS, Path("/usr/share/fonts/truetype/ancient-scripts"))
FALLBACK_FILE = "Symbola_hint.ttf"
FALLBACK_FONT = "SipflowSymbols"
# What a character no font has a glyph for is printed as (the replacement character; "?" without one).
MARKER = "\ufffd"
# Invisible characters that join an emoji sequence or choose an emoji's presentation: the zero-width joiner
# and the variation selectors. Neither font draws such a sequence as one picture, so next to a character
# the body font lacks they are left out of the drawn text (the stored text keeps them).
_JOINERS = frozenset(["\u200d", *map(chr, range(0xFE00, 0xFE10)), *map(chr, range(0xE0100, 0xE01F0))])
# What reportlab's Paragraph takes for white space (it breaks lines there and draws no glyph), and the
# no-break space: covered by every font as far as the text is concerned.
_SPACES = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u200b\u2028\u2029\u202f\u205f\u3000")
_SPACES |= frozenset(map(chr, range(0x2000, 0x200B)))
# Per registered font name: the characters it has a glyph for (with _SPACES).
_coverage: dict[str, frozenset[str]] = {}
# Per tuple of FALLBACK_DIRS: the registered fallback font's name, None when none of them holds it.
_fallbacks: dict[tuple[Path, ...], str | None] = {}


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


def fallback_font_file(folders=None) -> Path | None:
    """The fallback font's file in the first of folders (FALLBACK_DIRS) that holds it, else None."""
    for folder in FALLBACK_DIRS if folders is None else folders:
        if (folder / FALLBACK_FILE).is_file():
            return folder / FALLBACK_FILE
    return None


def fallback_font() -> str | None:
    """The registered fallback font's name, registered on first use; None when it is not installed."""
    folders = tuple(FALLBACK_DIRS)
    if folders not in _fallbacks:
        path = fallback_font_file(folders)
        if path is None:
            logger.warning("Symbola not found (install fonts-symbola): PDFs print emoji as %r", MARKER)
            _fallbacks[folders] = None
        else:
            if FALLBACK_FONT not in _registered:
                from reportlab.lib.fonts import addMapping
                from reportlab.pdfbase import pdfmetrics
                from reportlab.pdfbase.ttfonts import TTFont

                pdfmetrics.registerFont(TTFont(FALLBACK_FONT, str(path)))
                # One face for bold and italic too (inside <b> a run keeps the font); regular last, so the
                # font's own name reads as the regular face.
                for bold_flag, italic_flag in ((1, 1), (0, 1), (1, 0), (0, 0)):
                    addMapping(FALLBACK_FONT, bold_flag, italic_flag, FALLBACK_FONT)
                _registered.add(FALLBACK_FONT)
            _fallbacks[folders] = FALLBACK_FONT
    return _fallbacks[folders]


def coverage(font: str) -> frozenset[str]:
    """The characters the registered font has a glyph for, with the white space Paragraph draws none for."""
    if font not in _coverage:
        from reportlab.pdfbase import pdfmetrics

        face = pdfmetrics.getFont(font).face
        _coverage[font] = frozenset(map(chr, face.charToGlyph)) | _SPACES
    return _coverage[font]


def markup(text: str, font: str) -> str:
    """Typed text as reportlab Paragraph markup for a paragraph (or <b> span) set in font (a registered
    name): escaped, each run font has no glyph for wrapped in <font name="FALLBACK_FONT">, each character
    neither font has replaced by MARKER, zero-width joiners and variation selectors next to a character
    the body font lacks left out. Text the body font covers (ordinary Swedish) is only escaped, as before,
    so a stored PDF of it renders again byte for byte. Every typed text a PDF prints goes through here.
    """
    body = coverage(font)
    if body.issuperset(text):
        return escape(text)
    fallback = fallback_font()
    spare = coverage(fallback) if fallback else frozenset()
    if MARKER in body:
        marker = (None, MARKER)
    elif MARKER in spare:
        marker = (fallback, MARKER)
    else:
        marker = (None, "?")
    runs: list[tuple[str | None, list[str]]] = []  # (font: None for the body's, characters)
    for index, character in enumerate(text):
        if character in _JOINERS and not (character in body and _between_covered(text, index, body)):
            continue
        if character in body:
            name, shown = None, character
        elif character in spare:
            name, shown = fallback, character
        else:
            name, shown = marker
        if runs and runs[-1][0] == name:
            runs[-1][1].append(shown)
        else:
            runs.append((name, [shown]))
    return "".join(
        escape("".join(run)) if name is None else f'<font name="{name}">{escape("".join(run))}</font>'
        for name, run in runs
    )


def _between_covered(text: str, index: int, body: frozenset[str]) -> bool:
    """Whether the nearest characters before and after text[index] that are no joiners are in body (or
    there is none): a joiner between two of the body font's characters is drawn as before."""
    before = next((c for c in reversed(text[:index]) if c not in _JOINERS), " ")
    after = next((c for c in text[index + 1 :] if c not in _JOINERS), " ")
    return before in body and after in body


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
