"""The message and button classes the templates use are styled: a misspelt one (`button-primary` for
`primary`) left an administrator's Save button and the person's "answer saved" message unstyled."""

from __future__ import annotations

import re

from sipflow.config import PROJECT_ROOT

CSS = (PROJECT_ROOT / "sipflow" / "static" / "style.css").read_text(encoding="utf-8")
STYLED = set(re.findall(r"\.([A-Za-z_][\w-]*)", CSS))
# A class attribute's static words (those a template writes out, not what an expression gives).
CLASS_ATTRIBUTE = re.compile(r"""class_?=["']([^"'{}]*)["']""")


def used_classes(prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    """Each class beginning with one of prefixes, or a button's modifier, with the templates using it."""
    used: dict[str, set[str]] = {}
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        for attribute in CLASS_ATTRIBUTE.findall(template.read_text(encoding="utf-8")):
            words = attribute.split()
            for word in words:
                if word.startswith(prefixes) or ("button" in words and word != "button"):
                    used.setdefault(word, set()).add(str(template.relative_to(PROJECT_ROOT)))
    return used


def test_every_message_and_button_class_a_template_uses_is_styled():
    unstyled = {
        name: sorted(templates)
        for name, templates in used_classes(("alert", "flash", "button")).items()
        if name not in STYLED
    }
    assert unstyled == {}, unstyled


def test_the_check_sees_a_misspelt_class():
    assert "button-primary" not in STYLED and "primary" in STYLED
    assert CLASS_ATTRIBUTE.findall('<button class="button button-primary">') == ["button button-primary"]
