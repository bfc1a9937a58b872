"""What changed between two versions of a plan: a pure function of their stored contents.

Goals and efforts are matched by their stable `uid`, so an effort whose text was reworded is "changed",
not "removed and added". The plan's single-valued parts (needs, huvudansvar, contacts, follow-up ...) are
compared as wholes.
"""

from __future__ import annotations

from dataclasses import dataclass

# The parts of a plan that are one value each, in the order the comparison page shows them.
SCALAR_FIELDS = (
    "needs",
    "huvudansvar",
    "fast_vardkontakt",
    "fast_omsorgskontakt",
    "contacts",
    "follow_up_on",
    "no_other_measures",
    "child_view",
    "child_view_missing_reason",
)
# The fields of an effort that count as a change; ids are left out, the names they stand for count.
EFFORT_FIELDS = (
    "kind",
    "what",
    "organisation",
    "unit",
    "responsible",
    "actor",
    "starts_on",
    "ends_on",
    "status",
)
GOAL_FIELDS = ("kind", "text")


@dataclass(frozen=True)
class ItemChange:
    """One goal or effort that is in both versions but differs: the fields that changed, before and after."""

    uid: str
    before: dict
    after: dict
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ItemsComparison:
    """The goals (or efforts) added, removed and changed between two versions, each in its version's order."""

    added: tuple[dict, ...]
    removed: tuple[dict, ...]
    changed: tuple[ItemChange, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class FieldChange:
    """A single-valued part of the plan that differs: its name and both values."""

    name: str
    before: object
    after: object


@dataclass(frozen=True)
class Comparison:
    """Everything that differs between an older and a newer plan content."""

    goals: ItemsComparison
    efforts: ItemsComparison
    fields: tuple[FieldChange, ...]

    def __bool__(self) -> bool:
        return bool(self.goals or self.efforts or self.fields)


def _goals(content: dict) -> list[dict]:
    # Own and professional goals are one list here, each goal keeping its kind: a goal moved from one to
    # the other is a change of its kind.
    return [{**g, "kind": "own"} for g in content.get("own_goals", [])] + [
        {**g, "kind": "professional"} for g in content.get("professional_goals", [])
    ]


def _compare_items(old: list[dict], new: list[dict], fields: tuple[str, ...]) -> ItemsComparison:
    old_by_uid = {item["uid"]: item for item in old}
    new_by_uid = {item["uid"]: item for item in new}
    changed = []
    for item in new:
        before = old_by_uid.get(item["uid"])
        if before is None:
            continue
        differing = tuple(f for f in fields if before.get(f) != item.get(f))
        if differing:
            changed.append(ItemChange(uid=item["uid"], before=before, after=item, fields=differing))
    return ItemsComparison(
        added=tuple(item for item in new if item["uid"] not in old_by_uid),
        removed=tuple(item for item in old if item["uid"] not in new_by_uid),
        changed=tuple(changed),
    )


def _comparable(name: str, value):
    if name == "huvudansvar" and isinstance(value, dict):
        # The organisation's name and the contact are what the reader sees; the id is the same thing.
        return (value.get("organisation_id"), value.get("organisation"), value.get("contact"))
    if name == "contacts":
        return sorted(
            (
                (c.get("organisation_id") or 0, c.get("name"), c.get("phone"), c.get("email"))
                for c in value or []
            ),
            key=repr,
        )
    if value == "":
        return None  # an empty text and a missing one read alike
    return value


def compare_versions(old_content: dict, new_content: dict) -> Comparison:
    """What changed from old_content to new_content: goals and efforts by uid, and the single-valued parts."""
    fields = tuple(
        FieldChange(name, old_content.get(name), new_content.get(name))
        for name in SCALAR_FIELDS
        if _comparable(name, old_content.get(name)) != _comparable(name, new_content.get(name))
    )
    return Comparison(
        goals=_compare_items(_goals(old_content), _goals(new_content), GOAL_FIELDS),
        efforts=_compare_items(old_content.get("efforts", []), new_content.get("efforts", []), EFFORT_FIELDS),
        fields=fields,
    )
