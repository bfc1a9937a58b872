"""The focus indicator stands out at 3:1 or more (WCAG 1.4.11) on every background it is drawn on: the
near-black outline on the pages and cards, the yellow ring on the blue header; so does the edge of a text
field, the one thing showing where to type. The colours are read from the stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

STYLESHEET = Path(__file__).resolve().parents[1] / "sipflow" / "static" / "style.css"


def _colours() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", STYLESHEET.read_text(encoding="utf-8")))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#ffbf47", "#ffffff"), 1) == 1.6  # the old outline on a card


def test_the_focus_indicator_stands_out_on_every_background():
    colours = _colours()
    ink, ring = colours["focus-ink"], colours["focus"]
    for background in ("paper", "page", "accent", "error-bg", "warn-bg", "ok-bg"):
        assert contrast(ink, colours[background]) >= 3, background
    assert contrast(ring, colours["brand"]) >= 3  # the header, where the yellow is outside
    assert contrast(ring, colours["brand-dark"]) >= 3
    assert contrast(ink, ring) >= 3  # a focused link: near-black text and bar on yellow
    css = STYLESHEET.read_text(encoding="utf-8")
    assert ".site-header :focus-visible:not(a) { outline-color: var(--focus);" in css


def test_a_text_fields_edge_stands_out_on_every_background():
    """A field is white on a white card or the pale page: its border alone shows it (WCAG 1.4.11). The old
    grey, #9aa5b1, stood at 2.5:1 on a card and 2.3:1 on the page (the answer form of the invitation)."""
    colours = _colours()
    css = STYLESHEET.read_text(encoding="utf-8")
    rule = re.search(r"input:not\(\[type\]\), select, textarea \{([^}]*)\}", css).group(1)
    border = re.search(r"border: 1px solid ([^;]+);", rule).group(1)
    border = colours[border[len("var(--") : -1]] if border.startswith("var(--") else border
    for background in ("paper", "page", "accent", "error-bg", "warn-bg", "ok-bg"):
        assert contrast(border, colours[background]) >= 3, background
