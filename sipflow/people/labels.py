"""How a unit and an organisation are named wherever one is picked or listed: unit names repeat across
organisations ("Hemtjänst", "Vårdcentralen"), so a unit is always named with its organisation, and
organisations may share a name, so such an organisation is named with what tells it apart."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlmodel import Session

from sipflow.people.models import ORGANISATION_KINDS, County, Municipality, Organisation
from sipflow.translated import lazy_gettext as _l

# Short, as a label's suffix: the administration's form says more ("Other agency (e.g. Försäkringskassan)").
ORGANISATION_KIND_SHORT = {
    "region": _l("Region"),
    "municipality": _l("Municipality"),
    "school": _l("School"),
    "friskola": _l("Independent school"),
    "other": _l("Other agency"),
}
assert set(ORGANISATION_KIND_SHORT) == set(ORGANISATION_KINDS)


def unit_label(organisation_name: str, unit_name: str | None) -> str:
    """A unit named with its organisation first ("Organisation, Unit"), as the lists sort them; the
    organisation alone when there is no unit."""
    return f"{organisation_name}, {unit_name}" if unit_name else organisation_name


# What organisation_labels reads of each organisation, in its order: a picker's query selects these columns.
LABEL_COLUMNS = (
    Organisation.name,
    Organisation.key,
    Organisation.kind,
    Organisation.municipality_code,
    Organisation.county_code,
)


def label_facts(organisation: Organisation) -> tuple[str, str, str, str | None, str | None]:
    """What organisation_labels reads of an organisation loaded whole (LABEL_COLUMNS' values)."""
    return tuple(getattr(organisation, column.key) for column in LABEL_COLUMNS)


def organisation_labels(
    session: Session, about: Mapping[int, tuple[str, str, str, str | None, str | None]]
) -> dict[int, str]:
    """Each organisation's name (about: id -> its LABEL_COLUMNS' values), a name
    another one has too followed by where it is (municipality, else county, else nationwide); if that
    still does not tell them apart its kind, and its key only as the last resort (staff do not know keys).
    Places are read only for shared names."""
    labels = {org_id: name for org_id, (name, _key, _kind, _m, _c) in about.items()}
    shared = _repeated(labels)
    for org_id, (name, _key, _kind, municipality_code, county_code) in about.items():
        if name in shared:
            labels[org_id] = f"{name} ({_place(session, municipality_code, county_code)})"
    shared = _repeated(labels)
    for org_id, (_name, _key, kind, _m, _c) in about.items():
        if labels[org_id] in shared and kind in ORGANISATION_KIND_SHORT:
            labels[org_id] = f"{labels[org_id]}, {ORGANISATION_KIND_SHORT[kind]}"
    shared = _repeated(labels)
    for org_id, (_name, key, _kind, _m, _c) in about.items():
        if labels[org_id] in shared:
            labels[org_id] = f"{labels[org_id]} [{key}]"
    return labels


def _place(session: Session, municipality_code: str | None, county_code: str | None) -> str:
    """Where an organisation works: its municipality, else its county, else the whole country."""
    place = session.get(Municipality, municipality_code) if municipality_code else None
    place = place or (session.get(County, county_code) if county_code else None)
    return place.name if place is not None else _("nationwide")


def _repeated(labels: dict[int, str]) -> set[str]:
    """The labels more than one organisation has."""
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {label for label, count in counts.items() if count > 1}
