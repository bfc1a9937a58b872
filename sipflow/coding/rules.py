"""Which unit records which code at a held meeting: pure functions shared by the effect and the demo loader.

No code is named here: the SIP code of a unit comes from the assignments (a unit's own, else its
organisation kind's), the distance codes are every non-retired code of kind `distance`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sipflow.people import identifiers

SIP_KIND = "sip"
DISTANCE_KIND = "distance"
ABSENT = "absent"
VIDEO = "video"
# A KVÅ code: two or three capital letters and three digits (XU045, AU124, ZV051).
CODE_PATTERN = re.compile(r"[A-Z]{2,3}[0-9]{3}")


@dataclass(frozen=True)
class UnitFacts:
    """What the coding rules need to know about a unit taking part."""

    unit_id: int
    organisation_id: int
    organisation_kind: str
    is_health_care: bool


@dataclass(frozen=True)
class Catalogue:
    """The codes in force: SIP code by unit and by organisation kind, and the distance codes."""

    by_unit: Mapping[int, str] = field(default_factory=dict)
    by_organisation_kind: Mapping[str, str] = field(default_factory=dict)
    distance: tuple[str, ...] = ()

    def sip_code(self, unit: UnitFacts) -> str | None:
        """The unit's SIP code: its own assignment wins over its organisation kind's; None when neither."""
        own = self.by_unit.get(unit.unit_id)
        return own if own is not None else self.by_organisation_kind.get(unit.organisation_kind)


@dataclass(frozen=True)
class CodeChoice:
    """One code one unit records for one meeting."""

    unit: UnitFacts
    code: str
    kind: str


def codes_for_meeting(
    attendance: Iterable[tuple[UnitFacts | None, str]], catalogue: Catalogue
) -> list[CodeChoice]:
    """The codes of a held meeting from (unit taking part, attendance mode) pairs.

    Each health-care unit that was not absent records its SIP code (if one is set) and, when it took part
    by video, every distance code with it. A distance code is an add-on to the unit's SIP code: a unit
    recording none (a friskola's elevhälsa without a code assigned) records no distance code either, so a
    SIP its coded units held on site is not counted as held by video. A unit on several participant rows
    records once; private participants (unit None) and units outside health care record nothing.
    """
    modes: dict[int, tuple[UnitFacts, bool]] = {}
    for unit, mode in attendance:
        if unit is None or not unit.is_health_care or mode == ABSENT:
            continue
        _, by_video = modes.get(unit.unit_id, (unit, False))
        modes[unit.unit_id] = (unit, by_video or mode == VIDEO)
    choices = []
    for unit, by_video in modes.values():
        code = catalogue.sip_code(unit)
        if code is None:
            continue
        choices.append(CodeChoice(unit, code, SIP_KIND))
        if by_video:
            choices.extend(CodeChoice(unit, distance, DISTANCE_KIND) for distance in catalogue.distance)
    return choices


def age_on(birth: date | None, day: date) -> int | None:
    """Whole years from birth to day; None when the birth date is not known (reservnummer)."""
    return None if birth is None else identifiers.age_on(birth, day)


def normalise_code(raw: str) -> str:
    """The code as stored: without surrounding space, in capitals."""
    return raw.strip().upper()
