"""The plan editor's three-way merge: a page read before someone else saved the plan, sent again.

The editor form carries what the plan held when the page was read (`read_digest`: a short hash of each plan
field and of each field of each goal, effort and contact, the rows keyed by their stable uid, a contact by its
organisation). When the plan's row version moved since, `merge` compares, field by field and row by row,
what the user sent, what the page showed and what is stored now:

- the user left it as it was: the stored value now (someone else's change is taken in);
- only the user changed it: what they typed;
- both changed it, differently: what they typed, and a `Clash` saying what it is now, for them to choose;
- a row someone else added: taken in; one they removed: shown ticked for removal, or kept (a clash) when the
  user changed it; one the user removed that someone else changed: back as they wrote it (a clash).

Pure functions of dicts in the editor's data shape (`plans.editor.plan_data`, the form's `to_data`):
`plans.editor._saved_meanwhile` (for `save_plan` and `save_and_establish`) is the one caller that merges.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date

# The plan row's own values the editor writes (editor.save_plan).
PLAN_VALUES = (
    "needs",
    "no_other_measures",
    "huvudansvar_contact",
    "fast_vardkontakt",
    "fast_omsorgskontakt",
    "follow_up_on",
)
# The plan's own fields the editor shows, compared one by one: its values and the child's view (kept on the
# case) with the reason it is missing.
PLAN_FIELDS = (*PLAN_VALUES, "child_view", "child_view_missing_reason")
GOAL_LISTS = ("own_goals", "professional_goals")
# The fields of an effort row the editor shows, by the effort's kind.
EFFORT_FIELDS = {
    "effort": ("what", "organisation_id", "unit_id", "responsible", "starts_on", "ends_on", "status"),
    "own": ("what", "actor", "starts_on", "ends_on", "status"),
    "other": ("what", "actor", "starts_on", "ends_on", "status"),
}
CONTACT_FIELDS = ("name", "phone", "email")
# Hex digits of one value's hash: enough to tell a change from none, short enough for a plan of 100 efforts.
HASH_LENGTH = 12
# The longest digest a plan within its bounds gives (50+50 goals, 100 efforts, 200 contacts), with room.
DIGEST_MAX = 64_000

# What happened to a row (its list, its key) meanwhile.
ADDED = "added"  # someone else added it: taken in
REMOVED = "removed"  # someone else removed it, the user left it: shown ticked for removal
REMOVED_CHANGED = "removed_changed"  # someone else removed it, the user changed it: kept (a clash)
CHANGED_REMOVED = "changed_removed"  # the user removed it, someone else changed it: back as stored (a clash)
CLASHING_ROWS = frozenset({REMOVED_CHANGED, CHANGED_REMOVED})


def normalised(value) -> str:
    """A value as compared: text stripped, in NFC, with LF line breaks; a date ISO; None and False empty."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFC", str(value))
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _hash(value) -> str:
    return hashlib.sha256(normalised(value).encode()).hexdigest()[:HASH_LENGTH]


def _kind(effort: dict) -> str:
    kind = effort.get("kind")
    return kind if kind in EFFORT_FIELDS else "effort"


def read_digest(data: dict) -> str:
    """What the plan holds (plan_data's shape), as the editor form carries it: JSON of hashes."""
    digest = {
        "f": {name: _hash(data[name]) for name in PLAN_FIELDS if name in data},
        "g": {
            name: {g["uid"]: _hash(g.get("text")) for g in data.get(name) or [] if g.get("uid")}
            for name in GOAL_LISTS
        },
        "e": {
            e["uid"]: [_kind(e), *(_hash(e.get(n)) for n in EFFORT_FIELDS[_kind(e)])]
            for e in data.get("efforts") or []
            if e.get("uid")
        },
        "c": {
            str(c["organisation_id"]): [_hash(c.get(n)) for n in CONTACT_FIELDS]
            for c in data.get("contacts") or []
            if c.get("organisation_id") is not None
        },
    }
    return json.dumps(digest, separators=(",", ":"), ensure_ascii=True)


def _strings(value) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _lists(value, sizes) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str)
        and isinstance(v, list)
        and len(v) in sizes
        and all(isinstance(item, str) for item in v)
        for k, v in value.items()
    )


def parse_digest(text: str | None) -> dict | None:
    """The digest a form carries, or None when it carries none or not one read_digest wrote."""
    if not text or len(text) > DIGEST_MAX:
        return None
    try:
        digest = json.loads(text)
    except ValueError:
        return None
    if not isinstance(digest, dict):
        return None
    goals = digest.get("g")
    efforts = digest.get("e")
    valid = (
        _strings(digest.get("f"))
        and isinstance(goals, dict)
        and all(_strings(goals.get(name)) for name in GOAL_LISTS)
        and _lists(efforts, {len(f) + 1 for f in EFFORT_FIELDS.values()})
        and all(v[0] in EFFORT_FIELDS and len(v) == len(EFFORT_FIELDS[v[0]]) + 1 for v in efforts.values())
        and _lists(digest.get("c"), {len(CONTACT_FIELDS)})
    )
    return digest if valid else None


@dataclass(frozen=True)
class Clash:
    """A value both changed, differently: what the user typed is kept, theirs is what is stored now.

    where: None for a plan field, else the row's list ("own_goals", "professional_goals", "efforts",
    "contacts"); key: the row's uid (a contact: its organisation's id); name: the field.
    """

    where: str | None
    key: str | int | None
    name: str
    theirs: object
    yours: object


@dataclass
class PlanMerge:
    """The form to show again (plan_data's shape; a row to be removed on saving carries "remove": True),
    the values both changed, what happened to rows meanwhile, and the values someone else changed that the
    user had left as they were (taken in): each (where, key, name) as in Clash, a row's by (where, key)."""

    data: dict
    clashes: list[Clash] = field(default_factory=list)
    rows: dict[tuple[str, str | int], str] = field(default_factory=dict)
    taken: set[tuple[str | None, str | int | None, str]] = field(default_factory=set)

    @property
    def clashing(self) -> bool:
        """Whether the user must choose before saving: a value or a row both changed."""
        return bool(self.clashes) or any(what in CLASHING_ROWS for what in self.rows.values())


def _pick(merge: PlanMerge, where, key, name, seen: str | None, yours, now):
    """One value merged: seen the hash the page showed (None: the page showed no stored value)."""
    if normalised(yours) == normalised(now):
        return yours
    if seen is None:
        # Nothing stored when the page was read: what someone else stored since stands unless typed over.
        if normalised(yours) == "":
            merge.taken.add((where, key, name))
            return now
        merge.clashes.append(Clash(where, key, name, now, yours))
        return yours
    if _hash(yours) == seen:
        merge.taken.add((where, key, name))
        return now
    if _hash(now) == seen:
        return yours
    merge.clashes.append(Clash(where, key, name, now, yours))
    return yours


def _merge_rows(
    merge: PlanMerge,
    where: str,
    typed: list[dict],
    current: list[dict],
    seen: dict[str, list[str]],
    names,
) -> list[dict]:
    """One list of rows (goals of one kind, or efforts) merged by uid; seen: each row's hashes as shown.

    names(row): the fields compared, in the order of the hashes."""
    now_by_uid = {row["uid"]: row for row in current}
    out: list[dict] = []
    handled: set[str] = set()
    for row in typed:
        uid = row.get("uid")
        shown = seen.get(uid) if uid else None
        if uid:
            handled.add(uid)
        if shown is None or not len(shown) == len(names(row)) == len(names(now_by_uid.get(uid, row))):
            out.append(row)  # a row the user added (or one the page did not show): theirs
            continue
        now = now_by_uid.get(uid)
        if now is None:
            changed = any(_hash(row.get(n)) != h for n, h in zip(names(row), shown, strict=True))
            merge.rows[(where, uid)] = REMOVED_CHANGED if changed else REMOVED
            out.append(row if changed else row | {"remove": True})
            continue
        merged = dict(now)
        for name, hashed in zip(names(row), shown, strict=True):
            merged[name] = _pick(merge, where, uid, name, hashed, row.get(name), now.get(name))
        out.append(merged)
    for uid, now in now_by_uid.items():
        if uid in handled:
            continue
        shown = seen.get(uid)
        if shown is None or len(shown) != len(names(now)):
            merge.rows[(where, uid)] = ADDED
            out.append(now)
        elif any(_hash(now.get(n)) != h for n, h in zip(names(now), shown, strict=True)):
            merge.rows[(where, uid)] = CHANGED_REMOVED
            out.append(now)
        # else: the user removed it and nobody changed it since: it stays removed
    return out


def merge(typed: dict, digest: dict, current: dict) -> PlanMerge:
    """typed (the form's data) merged with current (plan_data now), digest being what the page showed."""
    result = PlanMerge(data=dict(typed))
    for name in PLAN_FIELDS:
        if name in typed and name in current:
            result.data[name] = _pick(
                result, None, None, name, digest["f"].get(name), typed[name], current[name]
            )
    for name in GOAL_LISTS:
        result.data[name] = _merge_rows(
            result,
            name,
            typed.get(name) or [],
            current.get(name) or [],
            {uid: [hashed] for uid, hashed in digest["g"][name].items()},
            lambda _row: ("text",),
        )
    efforts_seen = {uid: hashes[1:] for uid, hashes in digest["e"].items()}
    kinds_seen = {uid: hashes[0] for uid, hashes in digest["e"].items()}
    # A row whose kind differs from the kind shown is no row the page showed.
    typed_efforts = [
        e if kinds_seen.get(e.get("uid")) == _kind(e) else e | {"uid": None}
        for e in typed.get("efforts") or []
    ]
    result.data["efforts"] = _merge_rows(
        result,
        "efforts",
        typed_efforts,
        current.get("efforts") or [],
        efforts_seen,
        lambda row: EFFORT_FIELDS[_kind(row)],
    )
    result.data["contacts"] = _merge_contacts(result, typed, digest["c"], current)
    return result


def _merge_contacts(result: PlanMerge, typed: dict, seen: dict, current: dict) -> list[dict]:
    """One contact per organisation: a contact removed since counts as emptied."""
    now_by_organisation = {c["organisation_id"]: c for c in current.get("contacts") or []}
    out = []
    for row in typed.get("contacts") or []:
        organisation_id = row.get("organisation_id")
        now = now_by_organisation.pop(organisation_id, None)
        shown = seen.get(str(organisation_id))
        if now is None and shown is None:
            out.append(row)
            continue
        now = now or {"organisation_id": organisation_id, **dict.fromkeys(CONTACT_FIELDS, "")}
        merged = dict(row)
        for index, name in enumerate(CONTACT_FIELDS):
            hashed = shown[index] if shown is not None else None
            merged[name] = _pick(
                result, "contacts", organisation_id, name, hashed, row.get(name), now.get(name)
            )
        out.append(merged)
    for organisation_id, now in now_by_organisation.items():
        if str(organisation_id) not in seen:
            result.rows[("contacts", organisation_id)] = ADDED
            out.append(now)
    return out
