"""A required field's label says so in words, in the page's language (WCAG 3.3.2): a bare red asterisk
told only those who know the convention, and no page explained it. The words are hidden from screen
readers, which say "required" from the field's own attribute, so the field's accessible name stays its
label. One macro renders every label (macros.html render_field, field_label)."""

from __future__ import annotations

import re

from webkit import text_of


def _label(html: str, field_id: str) -> str:
    return re.search(rf'<label class="label" for="{field_id}">(.*?)</label>', html, re.S).group(1)


def test_a_required_fields_label_says_required_in_words(client):
    swedish = text_of(client.get("/login?lang=sv"))
    assert _label(swedish, "username") == (
        'Användarnamn <span class="required" aria-hidden="true">(obligatoriskt)</span>'
    )
    english = text_of(client.get("/login?lang=en"))
    assert _label(english, "password") == (
        'Password <span class="required" aria-hidden="true">(required)</span>'
    )
    assert not re.search(r">\s*\*\s*<", swedish + english)
    assert re.search(r'<input[^>]*id="username"[^>]*required', swedish)  # what a screen reader says instead
