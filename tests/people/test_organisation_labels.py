"""Organisations of the same name are labelled apart in words staff know, a key only as the last resort."""

from __future__ import annotations

from sipflow.people.labels import organisation_labels


def test_a_name_no_other_organisation_has_is_the_label_alone(db_session):
    labels = organisation_labels(db_session, {1: ("Växjö kommun", "vaxjo", "municipality", "0780", "07")})
    assert labels == {1: "Växjö kommun"}


def test_same_named_organisations_are_told_apart_by_place_then_kind_then_key(db_session):
    labels = organisation_labels(
        db_session,
        {
            1: ("Försäkringskassan", "fk", "other", None, None),
            2: ("Försäkringskassan", "fk-kronoberg", "other", None, "07"),
            3: ("Centralskolan", "cs-vaxjo", "school", "0780", "07"),
            4: ("Centralskolan", "cs-vaxjo-2", "other", "0780", "07"),
            5: ("Katedralskolan", "kat-1", "school", "0780", "07"),
            6: ("Katedralskolan", "kat-2", "school", "0780", "07"),
        },
    )
    assert labels[1] == "Försäkringskassan (hela landet)"
    assert labels[2] == "Försäkringskassan (Kronobergs län)"
    assert labels[3] == "Centralskolan (Växjö), Skola"
    assert labels[4] == "Centralskolan (Växjö), Annan myndighet"
    # Alike in everything a person reads: only then the key.
    assert labels[5] == "Katedralskolan (Växjö), Skola [kat-1]"
    assert labels[6] == "Katedralskolan (Växjö), Skola [kat-2]"
