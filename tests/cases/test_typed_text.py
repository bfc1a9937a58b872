"""Typed text is stored normalised; a one-line field refuses invisible characters but those scripts need."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import new_person

from sipflow.admin import directory, users
from sipflow.admin.queries import user_search_clause
from sipflow.cases import fields
from sipflow.errors import InvalidInput
from sipflow.people.models import User

DECOMPOSED = unicodedata.normalize("NFD", "Åsa Öberg")


def test_typed_text_is_stored_composed_whichever_way_it_was_typed():
    assert DECOMPOSED != "Åsa Öberg"
    assert fields.clean_text(f" {DECOMPOSED} ", "name") == "Åsa Öberg"
    assert fields.line_text(DECOMPOSED, "name") == "Åsa Öberg"
    assert fields.text({"comment": DECOMPOSED}, "comment") == "Åsa Öberg"
    # The names of users, units and organisations, typed or imported, read through the same rule.
    assert fields.one_line(DECOMPOSED, "name") == "Åsa Öberg"
    assert directory.clean_name(DECOMPOSED) == "Åsa Öberg"
    assert users.clean_display_name(DECOMPOSED, "display_name") == "Åsa Öberg"


def test_a_persons_name_is_registered_composed(db_session, app, now):
    person = new_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        now=now,
        given_name=unicodedata.normalize("NFD", "Åsa"),
        family_name=unicodedata.normalize("NFD", "Öberg"),
    )
    assert (person.given_name, person.family_name) == ("Åsa", "Öberg")


def test_a_user_search_typed_decomposed_finds_the_composed_name(db_session, parties):
    user = parties.region_user
    user.display_name = "Åsa Öberg"
    db_session.add(user)
    db_session.commit()
    dialect = db_session.get_bind().dialect.name
    found = db_session.exec(
        User.__table__.select().where(user_search_clause(DECOMPOSED.lower()[:5], dialect=dialect))
    ).all()
    assert [row.id for row in found] == [user.id]


INVISIBLE = {
    "zero-width space": "\u200b",
    "byte order mark": "\ufeff",
    "mongolian vowel separator": "\u180e",
    "interlinear annotation anchor": "\ufff9",
    "interlinear annotation terminator": "\ufffb",
    "tag letter A": "\U000e0041",
    "cancel tag": "\U000e007f",
    "soft hyphen": "\u00ad",
    "word joiner": "\u2060",
}


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_one_line_field_refuses_an_invisible_character_naming_it(app, character):
    code = f"U+{ord(character):04X}"
    for read in (
        lambda: fields.line_text(f"Storgatan{character} 1", "location"),
        lambda: fields.line({"room": f"Rum {character}3"}, "room"),
        lambda: fields.one_line(f"Vård{character}centralen", "location"),
    ):
        with pytest.raises(InvalidInput) as refused:
            read()
        assert refused.value.field in ("location", "room")
        with app.test_request_context():
            assert code in str(refused.value.message)


NAMES = {
    "swedish": "Åsa Öberg-Ängström",
    "sami": "Máret Ŋuvttoš Čalmmehaš",
    "arabic": "ليلى بن علي",
    "persian with a zero-width non-joiner": "نرگس می\u200cخواهم",
    "devanagari with a joiner": "क्\u200dष",
    "emoji family": "Familjen \U0001f468\u200d\U0001f469\u200d\U0001f467",
}


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_names_of_every_script_are_accepted_as_typed(name):
    assert fields.line_text(name, "name") == unicodedata.normalize("NFC", name)
    assert directory.clean_name(name) == unicodedata.normalize("NFC", name)


@given(st.text(max_size=40))
def test_what_is_left_of_any_text_without_its_hidden_characters_is_taken_as_it_is(value):
    left = fields.without_hidden_characters(value)
    assert fields.several_lines(left, "comment") == unicodedata.normalize("NFC", left)
    # Only what several_lines refuses is left out: text it takes loses nothing.
    try:
        fields.several_lines(value, "comment")
    except InvalidInput:
        assert len(left) < len(value)
    else:
        assert left == value
