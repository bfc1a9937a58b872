"""Characters DejaVu Sans has no glyph for (emoji, flags, symbols) print in the fallback font (Symbola),
or as one visible marker when no font has them; joiners between emoji are not drawn; other scripts as
before (sipflow.pdf_fonts.markup)."""

from __future__ import annotations

import re
from copy import deepcopy
from xml.sax.saxutils import escape

import pytest
from sqlmodel import select
from versionkit import pdf_text, pdf_tool

from sipflow import pdf_fonts
from sipflow.plans import pdf
from sipflow.plans.models import PlanVersion
from sipflow.plans.pdf import render_plan_pdf

# Code points no font has a glyph for: a private-use character and one Unicode leaves unassigned.
NO_GLYPH = ("\U0010fffd", "\u0378")
# The tester's goal and effort: a family (man, woman, girl joined by zero-width joiners), a party popper,
# the Swedish flag (two regional indicators).
EMOJI = "Familj \U0001f468\u200d\U0001f469\u200d\U0001f467 fest \U0001f389 flagga \U0001f1f8\U0001f1ea"


@pytest.fixture
def content(db_session, established) -> dict:
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == established.case.id)).one()
    return deepcopy(version.content)


@pytest.fixture
def without_fallback(monkeypatch, tmp_path):
    """The font lookup pointed at a folder without Symbola (a host without fonts-symbola)."""
    empty = tmp_path / "fonts"
    empty.mkdir()
    monkeypatch.setattr(pdf_fonts, "FALLBACK_DIRS", (empty,))


def fonts(data: bytes, tmp_path) -> list[str]:
    """The base names of the fonts a PDF uses (pdffonts), each checked embedded."""
    names = []
    for row in pdf_tool("pdffonts", data, tmp_path).splitlines()[2:]:
        assert re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row).group(1) == "yes", row
        names.append(row.split()[0].split("+")[-1])
    return names


def test_symbola_is_installed_where_it_is_looked_for():
    # make test installs fonts-symbola (Makefile SYSTEM_FILES): the tests below print with it.
    assert pdf_fonts.fallback_font_file() is not None


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_an_emoji_in_a_goal_and_an_effort_prints_as_typed_in_the_fallback_font(content, tmp_path, large):
    content["own_goals"][0]["text"] = "Glad \U0001f389 dag"
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort["what"] = EMOJI
    data = render_plan_pdf(content, large=large)
    text = pdf_text(data, tmp_path)
    assert "Glad \U0001f389 dag" in text
    # Each emoji reads back (copy, search, a screen reader), the joiners left out of the drawn text.
    assert "\U0001f468\U0001f469\U0001f467 fest \U0001f389 flagga \U0001f1f8\U0001f1ea" in text
    assert "\u200d" not in text and pdf_fonts.MARKER not in text
    used = fonts(data, tmp_path)
    assert "Symbola" in used and "DejaVuSans" in used


def test_a_character_no_font_has_prints_as_the_marker(content, tmp_path):
    content["needs"] = f"Stöd {NO_GLYPH[0]} med {NO_GLYPH[1]} boende \U0001f389"
    text = pdf_text(render_plan_pdf(content), tmp_path)
    assert f"Stöd {pdf_fonts.MARKER} med {pdf_fonts.MARKER} boende \U0001f389" in text


@pytest.mark.parametrize("large", [False, True], ids=["standard", "large"])
def test_without_the_fallback_font_every_emoji_prints_as_the_marker(
    content, tmp_path, without_fallback, large
):
    content["own_goals"][0]["text"] = "Glad \U0001f389 dag"
    effort = next(e for e in content["efforts"] if e["kind"] == "effort")
    effort["what"] = EMOJI
    data = render_plan_pdf(content, large=large)
    text = pdf_text(data, tmp_path)
    marker = pdf_fonts.MARKER
    assert f"Glad {marker} dag" in text
    assert f"Familj {marker * 3} fest {marker} flagga {marker * 2}" in text
    assert all(name.startswith("DejaVuSans") for name in fonts(data, tmp_path))


@pytest.mark.parametrize(
    "typed",
    [
        "ليلى بن علي تريد العمل",  # Arabic
        "Máret Ŋuvttoš Čalmmehaš, Sámi giella",  # Northern Sami
        "Hyvää päivää, Äänekoski",  # Finnish
        "Cafe\u0301 och A\u030a",  # combining accent and ring
        "Trygghet \U0001f600 och \U0001d538-lagets träningar",  # an emoji and a letter DejaVu Sans has
    ],
    ids=["arabic", "sami", "finnish", "combining", "dejavu-emoji"],
)
def test_text_the_body_font_covers_is_set_as_before(content, tmp_path, monkeypatch, typed):
    """Text DejaVu Sans covers is only escaped (the fast path), so its PDF is the bytes it always was."""
    assert pdf_fonts.markup(typed, pdf.FONT) == escape(typed)
    content["needs"] = typed
    content["own_goals"][0]["text"] = typed
    data = render_plan_pdf(content)
    assert all(name.startswith("DejaVuSans") for name in fonts(data, tmp_path))
    if not re.search("[\u0600-\u06ff]", typed):  # pdftotext gives right-to-left text back reversed
        assert typed in pdf_text(data, tmp_path)
    monkeypatch.setattr(pdf, "markup", lambda text, font: escape(text))
    assert render_plan_pdf(content) == data


def test_markup_escapes_and_wraps_only_what_the_body_font_lacks():
    pdf._register_fonts()
    fallback = pdf_fonts.fallback_font()
    assert pdf_fonts.markup("A & <b>\U0001f389</b>", pdf.FONT) == (
        f'A &amp; &lt;b&gt;<font name="{fallback}">\U0001f389</font>&lt;/b&gt;'
    )
    # A variation selector or joiner between two of the body font's characters stays (drawn as before).
    assert pdf_fonts.markup("\u2764\ufe0f \U0001f389", pdf.FONT).startswith("\u2764\ufe0f ")
    assert (
        pdf_fonts.markup("\u2764\ufe0f\u200d\U0001f525", pdf.FONT)
        == f'\u2764<font name="{fallback}">\U0001f525</font>'
    )
