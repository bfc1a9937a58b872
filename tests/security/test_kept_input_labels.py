"""The login page's card of what was typed into a form sent after its session ended names each value by
the field it was typed into: a row's field by its own row form's label, with the row's heading as the page
shows it ("Beslut 1, Beslut eller åtgärd"), never by a field of the same name in another form; a name the
form sent does not declare is shown only when no form could mean another field by it."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from sipflow.forms import typed_in_request


def _outcome(**more):
    return MultiDict(
        {
            "csrf_token": "t",
            "version": "3",
            "meeting_id": "7",
            "held_at": "2026-12-21T10:30",
            "decisions-0-text": "Boka tolk",
            "decisions-0-owner": "u1",
            "decisions-0-due_on": "",
            "decisions-1-text": "Ring skolan",
            "decisions-1-owner": "",
            "decisions-1-due_on": "2027-01-10",
            "no_change_reason": "",
            **more,
        }
    )


def test_a_decision_row_is_named_by_its_own_label_and_heading(app_ctx):
    assert typed_in_request(_outcome()) == [
        ("Hölls", "2026-12-21T10:30"),
        ("Beslut 1, Beslut eller åtgärd", "Boka tolk"),
        ("Beslut 2, Beslut eller åtgärd", "Ring skolan"),
        ("Beslut 2, Senast", "2027-01-10"),
    ]


def test_the_plan_editors_rows_are_named_by_their_own_row_forms(app_ctx):
    posted = MultiDict(
        [
            ("csrf_token", "t"),
            ("row_version", "4"),
            ("needs", "Stöd i skolan"),
            ("own_goals-0-uid", "a"),
            ("own_goals-0-text", "Gå till skolan"),
            ("own_goals-3-uid", ""),
            ("own_goals-3-text", "Sova bättre"),
            ("efforts-0-uid", "b"),
            ("efforts-0-what", "Samtalsstöd"),
            ("efforts-0-responsible", "Kim"),
            ("own_efforts-0-uid", ""),
            ("own_efforts-0-what", "Promenader"),
            ("own_efforts-0-actor", "Mamma"),
            ("contacts-0-organisation_id", "12"),
            ("contacts-0-name", "Alex"),
            ("follow_up_on", "2027-02-01"),
        ]
    )
    assert typed_in_request(posted) == [
        ("Behov", "Stöd i skolan"),
        ("Personens mål 1, Mål", "Gå till skolan"),
        ("Personens mål 2, Mål", "Sova bättre"),  # the second row the page shows
        ("Insats 1, Insats", "Samtalsstöd"),
        ("Insats 1, Ansvarig person", "Kim"),
        ("Egen insats 1, Vad", "Promenader"),
        ("Egen insats 1, Vem", "Mamma"),
        ("Kontaktperson", "Alex"),
        ("Uppföljning den", "2027-02-01"),
    ]


def test_a_name_the_sent_form_does_not_declare_is_not_guessed_from_another_form(app_ctx):
    # Several forms declare "name" (a person's, an organisation's, a contact's): which is meant is unknown.
    shown = typed_in_request(_outcome(name="Kim Andersson", text="Fritext"))
    assert [value for _label, value in shown] == [
        "2026-12-21T10:30",
        "Boka tolk",
        "Ring skolan",
        "2027-01-10",
    ]


def test_a_prefixed_form_is_read_with_its_prefix(app_ctx):
    posted = MultiDict(
        {
            "private-csrf_token": "t",
            "private-kind": "narstaende",
            "private-name": "Test Person",
            "private-relation": "bror",
            "private-version": "1",
        }
    )
    labels = dict((value, label) for label, value in typed_in_request(posted))
    assert set(labels) == {"Test Person", "bror"}
