"""WTForms' widget attributes (`html_params`) written without a format string per attribute: the same HTML.

WTForms writes each attribute of each input, textarea, select, option and label through
`Markup('{k}="{v}"').format(...)`, a `string.Formatter` call with escaping per argument; the case page
writes some 25 inputs and their attributes on every GET, and that formatting was about 7 % of the page.
`html_params` below gives the same string (tests/test_widgets.py compares the two for any attributes);
`install` puts it where WTForms' widgets look it up. It keeps no state, so every worker may install it.
"""

from __future__ import annotations

import wtforms.widgets
import wtforms.widgets.core
from markupsafe import Markup, escape
from wtforms.widgets.core import clean_key

_QUOTE, _QUOTE_ENTITY = Markup('"'), Markup("&quot;")
# WTForms' own, kept for comparison (tests) before install replaces it.
WTFORMS_HTML_PARAMS = wtforms.widgets.core.html_params


def html_params(**kwargs) -> Markup:
    """Attribute syntax from keyword arguments, byte for byte as `wtforms.widgets.html_params`.

    Sorted by name; `class_` and `for_` lose the underscore; `data_` and `aria_` names take hyphens;
    True writes the bare name, False nothing; names and values are escaped.
    """
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{escape(value).replace(_QUOTE, _QUOTE_ENTITY)}"')
    return Markup(" ".join(params))


def install() -> None:
    """Let WTForms' widgets use html_params (inputs look it up on their class, the others in the module)."""
    wtforms.widgets.core.Input.html_params = staticmethod(html_params)
    wtforms.widgets.core.Button.html_params = staticmethod(html_params)
    wtforms.widgets.core.html_params = html_params
    wtforms.widgets.html_params = html_params
