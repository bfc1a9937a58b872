"""A file that is not valid TOML is refused with the line as the file has it and what is most often wrong
there: tomllib's "Invalid value (at line 13, column 16)" left a coordinator counting lines, and typographic
quotes from a word processor, or [transitions] for [[transitions]], read as nothing to fix."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file

load_areas()

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'label = { sv = "Kallad", en = "Invited" }',
            'label = { sv = \u201dKallad\u201d, en = "Invited" }',
            "Invalid value (at line {line}, column 16); the line reads: label = { sv = \u201dKallad\u201d, "
            'en = "Invited" } (write quotes as straight double quotes "...", not typographic ones)',
        ),
        (
            "days = 21",
            "days 21",
            "Expected '=' after a key in a key/value pair (at line {line}, column 6); "
            "the line reads: days 21 "
            "(look for a quote, bracket, brace, comma or = missing or extra there or on the line before)",
        ),
        (
            '[[transitions]]\ntrigger = "cancel"',
            '[transitions]\ntrigger = "cancel"',
            "Cannot declare ('transitions',) twice (at line {line}, column 13); "
            "the line reads: [transitions] "
            "(each [section] is declared once, and each step begins with [[transitions]], two brackets)",
        ),
        (
            "[states.invited]",
            "[states.kallad_\u00e5]",
            "Expected ']' at the end of a table declaration (at line {line}, column 16); "
            "the line reads: [states.kallad_\u00e5] "
            "(a name, before = or in [...], is written with a-z, digits and _ only, not \u00e5, \u00e4 or "
            "\u00f6: the Swedish words go in the labels)",
        ),
        (
            "days = 21",
            "arbetsdagar_f\u00f6re = 21",
            "Expected '=' after a key in a key/value pair (at line {line}, column 14); "
            "the line reads: arbetsdagar_f\u00f6re = 21 "
            "(a name, before = or in [...], is written with a-z, digits and _ only, not \u00e5, \u00e4 or "
            "\u00f6: the Swedish words go in the labels)",
        ),
    ],
    ids=[
        "typographic-quotes",
        "no-equals",
        "single-brackets",
        "swedish-letter-in-section",
        "swedish-letter-in-key",
    ],
)
def test_a_toml_error_names_the_line_as_written_and_what_to_look_for(tmp_path, old, new, message):
    assert SIP.count(old) == 1, old
    path = tmp_path / "sip.toml"
    text = SIP.replace(old, new)
    path.write_text(text, encoding="utf-8")
    # The line of the slip, counted from 1 (for [transitions], the section declared twice).
    line = text[: text.index(new)].count("\n") + 1
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == f"sip.toml: not valid TOML: {message.replace('{line}', str(line))}"


LINES = SIP.splitlines()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line=st.integers(min_value=0, max_value=len(LINES) - 1),
    column=st.integers(min_value=0, max_value=60),
    typed=st.text(alphabet='"[]{}=,\u201d#\\ x\n', min_size=1, max_size=4),
)
def test_any_typing_slip_is_one_line_naming_the_file_or_a_file_that_loads(tmp_path, line, column, typed):
    lines = list(LINES)
    lines[line] = lines[line][:column] + typed + lines[line][column:]
    path = tmp_path / "sip.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_workflow_file(path)
    except WorkflowError as refused:
        message = str(refused)
        assert message.startswith("sip.toml: ")
        assert "\n" not in message and "\r" not in message
