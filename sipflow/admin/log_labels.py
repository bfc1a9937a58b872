"""How the administration log page names what its rows hold: actions, targets, fields and values.

The log stores stable codes ("user.create", "unit_id", True); the page shows these labels instead, and a code
without a label (an action added later, say) as it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import ngettext

from sipflow.admin import queries
from sipflow.admin.directory import ORGANISATION_KIND_LABELS, UNIT_KIND_LABELS
from sipflow.admin.models import AdminChange
from sipflow.admin.queries import ID_FIELDS
from sipflow.admin.users import CONTACT_ON_RUNNING_SIPS, EVERY_COUNTY, ROLE_LABELS
from sipflow.i18n import LANGUAGE_LABELS
from sipflow.translated import lazy_gettext as _l

ACTION_LABELS = {
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.invite_link": _l("Invitation link sent"),
    "user.reset_link": _l("Link to choose a new password sent"),
    "user.disable": _l("User disabled"),
    "user.enable": _l("User enabled"),
    "user.end_sessions": _l("User logged out everywhere"),
    "organisation.create": _l("Organisation created"),
    "organisation.edit": _l("Organisation changed"),
    "organisation.activate": _l("Organisation activated"),
    "organisation.deactivate": _l("Organisation deactivated"),
    "unit.create": _l("Unit created"),
    "unit.edit": _l("Unit changed"),
    "unit.activate": _l("Unit activated"),
    "unit.deactivate": _l("Unit deactivated"),
    "import.apply": _l("Directory imported"),
}
TARGET_LABELS = {
    "user": _l("User"),
    "organisation": _l("Organisation"),
    "unit": _l("Unit"),
    "import": _l("Directory import"),
}
FIELD_LABELS = {
    "username": _l("Username"),
    "display_name": _l("Name"),
    "name": _l("Name"),
    "email": _l("E-mail"),
    "unit_id": _l("Unit"),
    "organisation_id": _l("Organisation"),
    "roles": _l("Roles"),
    "active": _l("Active"),
    "language": _l("Language"),
    "scope": _l("Counties and municipalities followed"),
    "key": _l("Key"),
    "kind": _l("Kind"),
    "county_code": _l("County code"),
    "municipality_code": _l("Municipality code"),
    "is_health_care": _l("Health care (records KVÅ codes)"),
    "hsa_id": _l("HSA-id"),
    CONTACT_ON_RUNNING_SIPS: _l("Contact person of the unit on SIPs still running"),
}
# The target kinds whose rows hold counts, not values before and after: an import's records by outcome.
COUNTED_KINDS = frozenset({"import"})


def action_label(action: str):
    """The action's label, or its code when it has none."""
    return ACTION_LABELS.get(action, action)


def target_label(kind: str):
    """The target kind's label, or its code when it has none."""
    return TARGET_LABELS.get(kind, kind)


def value_label(target_kind: str, field: str, value, names: Mapping[tuple[str, int], str] | None = None):
    """A logged value as the page shows it: yes/no, role names, kind names, the name of a unit or
    organisation an id field holds (names: queries.log_names); anything else as stored."""
    if isinstance(value, bool):
        return _l("Yes") if value else _l("No")
    if field in ID_FIELDS and isinstance(value, int):
        return (names or {}).get((ID_FIELDS[field], value), value)
    if field == "roles" and isinstance(value, str):
        return ", ".join(str(ROLE_LABELS.get(role, role)) for role in value.split(",") if role)
    if field == "kind" and isinstance(value, str):
        labels = ORGANISATION_KIND_LABELS if target_kind == "organisation" else UNIT_KIND_LABELS
        return labels.get(value, value)
    if field == "language" and isinstance(value, str):
        return LANGUAGE_LABELS.get(value, value)
    return value


def _scope_label(value, roles) -> object:
    """A coordinator scope as the page shows it: its codes; none, every county for a coordinator (roles: the
    user's then, None when the row does not say, as when only the scope changed: a coordinator's) and
    nothing (a dash) for anyone else."""
    if value:
        return value
    coordinator = roles is None or "coordinator" in str(roles).split(",")
    return EVERY_COUNTY if coordinator and value is not None else None


def describe(change: AdminChange, names: Mapping[tuple[str, int], str] | None = None) -> dict:
    """What the log page shows of a row: diff, (field label, before, after) of each changed field with its
    values labelled (None: a dash); counts, the texts of an import's counts ("6 records created")."""
    if change.target_kind in COUNTED_KINDS:
        return {"diff": [], "counts": import_counts(change.after or {})}
    before, after = change.before or {}, change.after or {}
    diff = []
    for name, old, new in queries.readable_diff(change.before, change.after):
        if name == "scope":
            old = _scope_label(old, before.get("roles", after.get("roles")))
            new = _scope_label(new, after.get("roles", before.get("roles")))
            if old is None and new is None:  # none followed, before and after: nothing to show
                continue
        diff.extend(readable_diff(change.target_kind, [(name, old, new)], names))
    return {"diff": diff, "counts": []}


def import_counts(counts: dict) -> list[str]:
    """An import's counts of records created, changed and left alone, as sentences."""
    texts = {
        "created": lambda n: ngettext("%(num)d record created", "%(num)d records created", n),
        "changed": lambda n: ngettext("%(num)d record changed", "%(num)d records changed", n),
        "unchanged": lambda n: ngettext("%(num)d record left alone", "%(num)d records left alone", n),
    }
    return [texts[key](value) for key, value in counts.items() if key in texts and isinstance(value, int)]


def readable_diff(
    target_kind: str,
    diff: list[tuple[str, object, object]],
    names: Mapping[tuple[str, int], str] | None = None,
) -> list[tuple[object, object, object]]:
    """(field label, before, after) with the values labelled; None stays None (shown as a dash)."""
    return [
        (
            FIELD_LABELS.get(name, name),
            None if old is None else value_label(target_kind, name, old, names),
            None if new is None else value_label(target_kind, name, new, names),
        )
        for name, old, new in diff
    ]
