"""How a unit is named wherever one is picked or listed: unit names repeat across organisations
("Hemtjänst", "Vårdcentralen"), so a unit is always named with its organisation."""

from __future__ import annotations


def unit_label(organisation_name: str, unit_name: str | None) -> str:
    """A unit named with its organisation first ("Organisation, Unit"), as the lists sort them; the
    organisation alone when there is no unit."""
    return f"{organisation_name}, {unit_name}" if unit_name else organisation_name
