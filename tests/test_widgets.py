"""sipflow.widgets.html_params writes exactly what WTForms' html_params writes, for any attributes."""

from __future__ import annotations

import wtforms.widgets.core
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from sipflow import widgets

NAMES = st.one_of(
    st.sampled_from(["id", "name", "class_", "for_", "data_x_y", "aria_describedby", "aria_invalid", "type"]),
    st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True),
)
VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="<>&\"'=x ", max_size=10),
    st.text(alphabet='<>&"x', max_size=10).map(Markup),
)


@given(st.dictionaries(NAMES, VALUES, max_size=8))
def test_same_attributes_as_wtforms(attributes):
    assert widgets.html_params(**attributes) == widgets.WTFORMS_HTML_PARAMS(**attributes)


class _Sample(Form):
    text = StringField("Text", validators=[InputRequired(), Length(max=10)])
    notes = TextAreaField("Notes", description="help")
    choice = SelectField("Choice", choices=[SelectChoice("a", 'A "one"'), SelectChoice("b", "B <two>")])
    kind = RadioField("Kind", choices=[SelectChoice("x", "X & Y"), SelectChoice("z", "Z")])


def _render(form) -> list[str]:
    return [
        str(field(aria_describedby="h", aria_invalid=False, class_="c")) + str(field.label) for field in form
    ]


def test_fields_render_the_same_as_with_wtforms_own(monkeypatch):
    """Inputs, a textarea, a select and radio buttons with typed values: the same HTML either way."""
    form = _Sample(MultiDict({"text": 'x"<y>&', "notes": "a\nb", "choice": "b", "kind": "z"}))
    widgets.install()
    ours = _render(form)
    original = widgets.WTFORMS_HTML_PARAMS
    monkeypatch.setattr(wtforms.widgets.core.Input, "html_params", staticmethod(original))
    monkeypatch.setattr(wtforms.widgets.core, "html_params", original)
    monkeypatch.setattr(wtforms.widgets, "html_params", original)
    assert ours == _render(form)
