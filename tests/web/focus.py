"""The browser tests' reading of the focus: once the page's autofocus has run, not before."""

from __future__ import annotations

from typing import Any

# Chromium gives an [autofocus] element the focus when it next renders the page, which may come after the
# load event a navigation waits for (CI's busy runner showed it). The spec flushes autofocus candidates
# before a frame's animation callbacks, so two frames on, the focus is where the page put it.
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))"


def focused(page, expression: str) -> Any:
    """`document.activeElement` followed by `expression`, evaluated after the page's next two frames."""
    page.evaluate(TWO_FRAMES)
    return page.evaluate(f"document.activeElement{expression}")
