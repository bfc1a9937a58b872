"""plans.merge on its own: the three-way rule per value and row, and the digest a form carries."""

from __future__ import annotations

from copy import deepcopy
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from sipflow.plans.merge import (
    ADDED,
    CHANGED_REMOVED,
    REMOVED,
    REMOVED_CHANGED,
    merge,
    parse_digest,
    read_digest,
)


def plan(**changes) -> dict:
    data = {
        "needs": "Behov",
        "no_other_measures": False,
        "huvudansvar_contact": "",
        "fast_vardkontakt": "Dr Berg",
        "fast_omsorgskontakt": "Omar Lind",
        "follow_up_on": date(2026, 9, 1),
        "child_view_missing_reason": "",
        "own_goals": [{"uid": "g1", "text": "Eget boende"}, {"uid": "g2", "text": "Arbete"}],
        "professional_goals": [],
        "efforts": [
            {
                "uid": "e1",
                "kind": "effort",
                "what": "Samtalsstöd",
                "organisation_id": 1,
                "unit_id": None,
                "responsible": "Anna Ek",
                "actor": "",
                "starts_on": None,
                "ends_on": None,
                "status": "planned",
            }
        ],
        "contacts": [{"organisation_id": 1, "name": "Anna Ek", "phone": "", "email": ""}],
    }
    data.update(changes)
    return data


def digest_of(data: dict) -> dict:
    parsed = parse_digest(read_digest(data))
    assert parsed is not None
    return parsed


def test_each_value_goes_to_whoever_changed_it_and_one_both_changed_is_a_clash():
    read = plan()
    current = plan(needs="Behov (Sara)", fast_omsorgskontakt="Sara", fast_vardkontakt="Dr Berg")
    typed = plan(needs="Behov (Erik)", fast_vardkontakt="Erik", fast_omsorgskontakt="Omar Lind  ")
    result = merge(typed, digest_of(read), current)
    assert result.data["fast_omsorgskontakt"] == "Sara"  # only they changed it (spaces are no change)
    assert result.data["fast_vardkontakt"] == "Erik"  # only the user changed it
    assert result.data["needs"] == "Behov (Erik)"  # both: the user's kept ...
    assert [(c.where, c.name, c.theirs, c.yours) for c in result.clashes] == [
        (None, "needs", "Behov (Sara)", "Behov (Erik)")
    ]  # ... and said
    assert (None, None, "fast_omsorgskontakt") in result.taken
    assert result.clashing


def test_rows_added_removed_and_changed_meanwhile():
    read = plan()
    current = deepcopy(read)
    current["own_goals"] = [{"uid": "g2", "text": "Arbete på halvtid"}, {"uid": "g3", "text": "Resa"}]
    current["efforts"] = []
    current["contacts"] = []
    typed = deepcopy(read)
    typed["own_goals"] = [{"uid": "g1", "text": "Eget boende"}, {"uid": None, "text": "Körkort"}]
    typed["efforts"][0]["responsible"] = "Omar Lind"
    result = merge(typed, digest_of(read), current)
    goals = result.data["own_goals"]
    # g1 removed by them, left by the user: ticked; g2 removed by the user, changed by them: back; g3 added.
    assert goals == [
        {"uid": "g1", "text": "Eget boende", "remove": True},
        {"uid": None, "text": "Körkort"},
        {"uid": "g2", "text": "Arbete på halvtid"},
        {"uid": "g3", "text": "Resa"},
    ]
    assert result.rows == {
        ("own_goals", "g1"): REMOVED,
        ("own_goals", "g2"): CHANGED_REMOVED,
        ("own_goals", "g3"): ADDED,
        ("efforts", "e1"): REMOVED_CHANGED,
    }
    assert (
        result.data["efforts"][0]["responsible"] == "Omar Lind" and "remove" not in result.data["efforts"][0]
    )
    # The contact they cleared, left by the user: cleared.
    assert result.data["contacts"] == [{"organisation_id": 1, "name": "", "phone": "", "email": ""}]
    assert result.clashing


def test_nothing_both_changed_is_no_clash():
    read = plan()
    current = plan(fast_omsorgskontakt="Sara")
    typed = plan(fast_vardkontakt="Erik")
    result = merge(typed, digest_of(read), current)
    assert not result.clashing
    assert (result.data["fast_omsorgskontakt"], result.data["fast_vardkontakt"]) == ("Sara", "Erik")


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_any_text_as_a_digest_is_read_or_refused_never_an_error(text):
    parsed = parse_digest(text)
    assert parsed is None or isinstance(parsed, dict)


def test_a_digest_reads_back_and_a_forged_one_is_none():
    assert parse_digest(read_digest(plan())) is not None
    assert parse_digest('{"f":{},"g":{},"e":{},"c":{}}') is None  # no goal lists
    assert (
        parse_digest('{"f":{},"g":{"own_goals":{},"professional_goals":{}},"e":{"x":["own"]},"c":{}}') is None
    )
    assert parse_digest("[]") is None


def test_a_digest_naming_a_row_of_another_kind_takes_the_stored_row_in():
    # A forged digest (the effort shown as one of the person's own) is no row the page showed: no error.
    read = plan()
    forged = digest_of(read)
    forged["e"]["e1"] = ["own", *forged["e"]["e1"][1:6]]
    typed = plan(efforts=[])
    result = merge(typed, forged, plan())
    assert result.rows == {("efforts", "e1"): ADDED}
    assert [e["uid"] for e in result.data["efforts"]] == ["e1"]
