"""The one length rule (sipflow.lengths): a text is as long as a browser counts it against maxlength, in
UTF-16 code units, and a longer one is refused in sipflow's words, by the forms and by the services alike."""

from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from hypothesis import given
from hypothesis import strategies as st
from wtforms import StringField

from sipflow.cases import fields
from sipflow.csvfiles import too_long as csv_too_long
from sipflow.errors import InvalidInput
from sipflow.lengths import MaxLength, fits, length

LIMITS = st.integers(min_value=0, max_value=40)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@given(st.text(max_size=40), LIMITS)
def test_the_rule_accepts_a_text_iff_its_utf16_length_is_within_the_limit(text, limit):
    assert length(text) == utf16_units(text)
    assert fits(text, limit) == (utf16_units(text) <= limit)
    # within n UTF-16 units is within n characters: a VARCHAR(n) column holds it
    if fits(text, limit):
        assert len(text) <= limit


@given(st.text(max_size=40), LIMITS)
def test_the_form_check_and_the_services_agree_with_the_rule(session_app, text, limit):
    class OneField(FlaskForm):
        class Meta:
            csrf = False

        value = StringField(validators=[MaxLength(limit)])

    with session_app.test_request_context(headers={"Accept-Language": "sv"}):
        form = OneField(data={"value": text})
        accepted = form.validate()
        assert accepted == (utf16_units(text) <= limit)
        if not accepted:
            assert [str(m) for m in form.value.errors] == [f"Högst {limit} tecken."]
        assert f'maxlength="{limit}"' in form.value()
        assert (csv_too_long(2, {"name": text}, {"name": limit}) is None) == (utf16_units(text) <= limit)


@pytest.mark.parametrize(("text", "accepted"), [("🎉" * 100, True), ("🎉" * 101, False), ("å" * 200, True)])
def test_clean_text_counts_as_the_browser_does(app, text, accepted):
    with app.test_request_context(headers={"Accept-Language": "sv"}):
        if accepted:
            assert fields.clean_text(text, "location", limit=200) == text
        else:
            with pytest.raises(InvalidInput) as refused:
                fields.clean_text(text, "location", limit=200)
            assert str(refused.value.message) == "Högst 200 tecken."
