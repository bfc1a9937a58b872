"""PageForm.hidden_tag writes what Flask-WTF's own writes, for every kind of hidden field a page has."""

from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from sipflow.cases.forms import AddUnitForm, ContactForm, ReasonForm
from sipflow.forms import PageForm


class _Hidden(PageForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    shown = HiddenField()
    styled = HiddenField(render_kw={"data-kind": "x"})
    shut = HiddenField(render_kw={"disabled": True})
    text = StringField()


@pytest.mark.parametrize(
    "make",
    [
        lambda: AddUnitForm(formdata=None, prefix="unit", version=7),
        lambda: ContactForm(formdata=None, prefix="contact", version=12),
        lambda: ReasonForm(formdata=None, prefix="close", version=3),
        lambda: ReasonForm(formdata=MultiDict({"close-version": '4" onclick="x'}), prefix="close"),
        lambda: _Hidden(
            formdata=None, version=1, shown='a "quoted" <b>&amp;</b> value', styled="s", shut="t"
        ),
        lambda: _Hidden(formdata=None, prefix="p-1", shown=None),
    ],
)
def test_the_hidden_fields_are_written_as_flask_wtf_writes_them(app, make):
    with app.test_request_context("/"):
        form = make()
        assert str(form.hidden_tag()) == str(FlaskForm.hidden_tag(form))
        assert str(form.hidden_tag("version")) == str(FlaskForm.hidden_tag(form, "version"))
