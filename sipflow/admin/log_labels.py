"""How the administration log page names what its rows hold: actions, targets, fields and values.

The log stores stable codes ("user.create", "unit_id", True); the page shows these labels instead, and a code
without a label (an action added later, say) as it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from sipflow.admin.directory import ORGANISATION_KIND_LABELS, UNIT_KIND_LABELS
from sipflow.admin.queries import ID_FIELDS
from sipflow.admin.users import ROLE_LABELS
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
    "created": _l("Records created"),
    "changed": _l("Records changed"),
    "unchanged": _l("Records unchanged"),
}


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
    return value


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
