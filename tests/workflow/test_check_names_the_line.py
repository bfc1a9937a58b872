"""`workflow check` of a refused file says which key on which line is wrong: a county's administrator whose
file of 200 lines has a step with dest = "nowhere" was told the key path
(transitions.start_preparation.dest) and left to count the [[transitions]] sections to find it; a missing
key was only "is required", with nothing said of where or how to write it."""

from __future__ import annotations

import time

import pytest

from sipflow.config import PROJECT_ROOT

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")


@pytest.fixture
def runner(session_app):
    return session_app.test_cli_runner()


def _line_of(text: str, written: str, after: str = "") -> int:
    """The number of the line of text reading written, the first after the line reading after."""
    lines = text.split("\n")
    start = lines.index(after) + 1 if after else 0
    return lines.index(written, start) + 1


def _second_give_consent(text: str) -> str:
    """sip.toml with its decline_consent step renamed give_consent: one step twice from requested."""
    return text.replace('trigger = "decline_consent"', 'trigger = "give_consent"', 1)


# (old text of sip.toml, new text, the refusal, the line it shows as written, that line's place in the new
# file: the text of the line before which it is the first)
MISTAKES = [
    (
        'source = ["consent_given"]\ndest = "preparing"',
        'source = ["consent_givn"]\ndest = "preparing"',
        "transitions.start_preparation.source: unknown state 'consent_givn'; did you mean 'consent_given'?",
        'source = ["consent_givn"]',
        'trigger = "start_preparation"',
    ),
    (
        'dest = "preparing"',
        'dest = "nowhere"',
        "transitions.start_preparation.dest: unknown state 'nowhere'",
        'dest = "nowhere"',
        'trigger = "start_preparation"',
    ),
    (
        "final = true\nretention_years = 5",
        "final = ja\nretention_years = 5",
        "not valid TOML",
        None,
        None,
    ),
    (
        "final = true\nretention_years = 5",
        "final = true\nfinnal = true\nretention_years = 5",
        "states.declined: unknown key 'finnal'; did you mean 'final'?",
        "finnal = true",
        "[states.declined]",
    ),
    (
        'label = { sv = "Möte hållet", en = "Meeting held" }',
        'label = { sv = "Möte hållet", eng = "Meeting held" }',
        "states.meeting_held.label.eng: unknown language 'eng'",
        'label = { sv = "Möte hållet", eng = "Meeting held" }',
        "[states.meeting_held]",
    ),
]


@pytest.mark.parametrize(("old", "new", "refusal", "written", "after"), MISTAKES)
def test_the_check_shows_the_line_of_the_key_it_refuses(runner, tmp_path, old, new, refusal, written, after):
    assert SIP.count(old) == 1, old
    text = SIP.replace(old, new, 1)
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    assert f"sip.toml: {refusal}" in result.output, result.output
    if written is not None:
        number = _line_of(text, written, after)
        assert f"\n  on line {number}: {written}\n" in result.output, result.output
    else:  # tomllib's own refusal names its line already, once
        assert "on line" not in result.output and "(at line " in result.output


def test_a_step_defined_twice_shows_the_line_of_the_second(runner, tmp_path):
    text = _second_give_consent(SIP)
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    second = _line_of(text, 'trigger = "give_consent"', 'trigger = "give_consent"')
    assert result.output == (
        "sip.toml: transitions.give_consent: defined twice for state 'requested'\n"
        f'  on line {second}: trigger = "give_consent"\n'
    )


def test_a_missing_key_says_where_and_how_to_write_it(runner, tmp_path):
    path = tmp_path / "sip.toml"
    path.write_text(SIP.replace('occasion = "other_need"\n', "", 1), encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    assert result.output == (
        "sip.toml: occasion: is required: write it at the top of the file, before any [section], "
        'e.g. occasion = "elderly_home_care"\n'
    )


def test_a_long_line_of_spaces_in_a_refused_file_is_read_at_once(runner, tmp_path):
    # A multi-line string holding a "[" and thousands of spaces: finding the refused key's line tried the
    # section header pattern at every split of the spaces (cubic), and the check (and the start) hung.
    path = tmp_path / "sip.toml"
    path.write_text('notes = """\n[' + " " * 3000 + 'x\n"""\n' + SIP, encoding="utf-8")
    started = time.monotonic()
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert time.monotonic() - started < 3
    assert result.exit_code == 1
    assert result.output.startswith("sip.toml: (top level): unknown key 'notes'")
    assert '\n  on line 1: notes = """\n' in result.output


def test_the_line_shown_holds_no_character_that_reorders_or_hides_text(runner, tmp_path):
    # A comment with a right-to-left override printed as written reads reversed in the terminal: the line
    # shown said something the file's line does not. Such characters are shown as their code.
    text = SIP.replace('dest = "preparing"', 'dest = "nowhere" # \u202egnissim si yek on\u202c\u200b', 1)
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    assert "\u202e" not in result.output and "\u200b" not in result.output
    assert "  on line " in result.output
    assert 'dest = "nowhere" # \\u202egnissim si yek on\\u202c\\u200b\n' in result.output


def test_a_multi_line_string_reading_as_a_step_is_not_shown_as_its_line(runner, tmp_path):
    # A label's multi-line string whose lines read as a [[transitions]] section of the same step (each
    # line's backslash or comment keeps the label on one line): the check showed the string's line as the
    # step's refused dest, not the file's own line.
    quotes, end = '"""', " # \\"
    fake = "\n".join(
        [
            f"label = {{ sv = {quotes}Initierad{end}",
            f"[[transitions]]{end}",
            f'trigger = "start_preparation"{end}',
            f'dest = "somewhere"{end}',
            f'{quotes}, en = "Requested" }}',
        ]
    )
    old = 'label = { sv = "Initierad", en = "Requested" }'
    assert SIP.count(old) == 1
    text = SIP.replace(old, fake, 1).replace('dest = "preparing"', 'dest = "nowhere"', 1)
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    number = _line_of(text, 'dest = "nowhere"', 'trigger = "start_preparation"')
    assert f'\n  on line {number}: dest = "nowhere"\n' in result.output, result.output
