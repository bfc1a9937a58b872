"""The comparison of two plan versions: goals and efforts by uid, and the single-valued parts."""

from __future__ import annotations

from copy import deepcopy

from hypothesis import given
from hypothesis import strategies as st

from sipflow.plans.compare import compare_versions

TEXT = st.text(alphabet="abcåäöÅÄÖ -", max_size=12)
UIDS = st.sampled_from([f"u{i}" for i in range(8)])


def effort(uid: str, **values) -> dict:
    base = {
        "uid": uid,
        "kind": "effort",
        "what": "Samtalsstöd",
        "organisation_id": 1,
        "organisation": "Region Kronoberg",
        "unit": "Vårdcentralen",
        "responsible": "Örjan",
        "actor": None,
        "starts_on": "2026-11-09",
        "ends_on": "2027-02-01",
        "status": "planned",
    }
    return base | values


def content(**values) -> dict:
    base = {
        "needs": "Boende",
        "own_goals": [{"uid": "g1", "text": "Klara mig själv"}],
        "professional_goals": [{"uid": "g2", "text": "Stabil medicinering"}],
        "efforts": [effort("e1"), effort("e2", what="Hemtjänst", organisation="Växjö kommun")],
        "no_other_measures": False,
        "huvudansvar": {"organisation_id": 1, "organisation": "Region Kronoberg", "contact": "Anna"},
        "fast_vardkontakt": "Åsa",
        "fast_omsorgskontakt": None,
        "contacts": [
            {
                "organisation_id": 1,
                "organisation": "Region Kronoberg",
                "name": "Anna",
                "phone": None,
                "email": None,
            }
        ],
        "follow_up_on": "2027-02-15",
        "child_view": None,
        "child_view_missing_reason": None,
    }
    return base | values


def test_the_same_content_has_no_changes():
    assert not compare_versions(content(), content())


def test_an_added_a_removed_and_a_changed_effort_are_told_apart():
    old = content()
    new = content(efforts=[effort("e1", status="ongoing", responsible="Märta"), effort("e3", what="Gym")])
    result = compare_versions(old, new)
    assert [e["uid"] for e in result.efforts.added] == ["e3"]
    assert [e["uid"] for e in result.efforts.removed] == ["e2"]
    [changed] = result.efforts.changed
    assert changed.uid == "e1" and changed.fields == ("responsible", "status")
    assert (changed.before["status"], changed.after["status"]) == ("planned", "ongoing")
    assert not result.goals and not result.fields


def test_a_reworded_goal_is_changed_not_removed_and_added():
    new = content(own_goals=[{"uid": "g1", "text": "Klara mig helt själv"}])
    result = compare_versions(content(), new)
    assert not result.goals.added and not result.goals.removed
    assert [(c.uid, c.fields) for c in result.goals.changed] == [("g1", ("text",))]


def test_a_goal_moved_from_the_persons_own_to_the_professionals_changes_its_kind():
    new = content(
        own_goals=[],
        professional_goals=[
            {"uid": "g2", "text": "Stabil medicinering"},
            {"uid": "g1", "text": "Klara mig själv"},
        ],
    )
    [changed] = compare_versions(content(), new).goals.changed
    assert changed.fields == ("kind",)


def test_changed_single_valued_parts_are_named():
    new = content(
        needs="Boende och arbete",
        huvudansvar={"organisation_id": 2, "organisation": "Växjö kommun", "contact": "Björn"},
        follow_up_on="2027-03-01",
        contacts=[],
    )
    names = [f.name for f in compare_versions(content(), new).fields]
    assert names == ["needs", "huvudansvar", "contacts", "follow_up_on"]


def test_an_empty_text_and_a_missing_one_are_no_change():
    assert not compare_versions(content(needs=""), content(needs=None))


goals = st.lists(st.fixed_dictionaries({"uid": UIDS, "text": TEXT}), max_size=5, unique_by=lambda g: g["uid"])
efforts = st.lists(
    st.builds(
        lambda uid, what, status: effort(uid, what=what, status=status),
        UIDS,
        TEXT,
        st.sampled_from(["planned", "ongoing", "done", "cancelled"]),
    ),
    max_size=5,
    unique_by=lambda e: e["uid"],
)
contents = st.builds(
    lambda own, efforts, needs, follow_up: content(
        own_goals=own, professional_goals=[], efforts=efforts, needs=needs, follow_up_on=follow_up
    ),
    goals,
    efforts,
    TEXT,
    st.sampled_from([None, "2027-01-01", "2027-02-01"]),
)


@given(contents)
def test_comparing_a_content_with_itself_finds_nothing(c):
    assert not compare_versions(c, deepcopy(c))


@given(contents, contents)
def test_swapping_the_versions_swaps_added_and_removed(a, b):
    forward, backward = compare_versions(a, b), compare_versions(b, a)
    for part in ("goals", "efforts"):
        there, back = getattr(forward, part), getattr(backward, part)
        assert sorted(i["uid"] for i in there.added) == sorted(i["uid"] for i in back.removed)
        assert sorted(i["uid"] for i in there.removed) == sorted(i["uid"] for i in back.added)
        assert sorted((c.uid, c.fields) for c in there.changed) == sorted(
            (c.uid, c.fields) for c in back.changed
        )
    assert [f.name for f in forward.fields] == [f.name for f in backward.fields]
    assert [(f.before, f.after) for f in forward.fields] == [(f.after, f.before) for f in backward.fields]
