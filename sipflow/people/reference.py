"""Reference data: counties and municipalities of Sweden, SCB-coded, from data/municipalities-sweden.csv.

The migration d0e2f4a6b8c1 loads the same file; a later change (a new name, a merger) is a data migration
that edits this file and updates the rows the same way.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import Session

from sipflow.people.models import County, Municipality

DEFAULT_MUNICIPALITIES_CSV = Path(__file__).resolve().parent.parent / "data" / "municipalities-sweden.csv"
_COLUMNS = {"county_code", "county", "region", "municipality_code", "municipality"}


class ReferenceDataError(ValueError):
    """A reference CSV that cannot be loaded; the message names the line."""


def load_municipalities(session: Session, path: Path = DEFAULT_MUNICIPALITIES_CSV) -> int:
    """Insert or update the counties and municipalities in path; return how many municipalities."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = _COLUMNS - set(reader.fieldnames or ())
        if missing:
            raise ReferenceDataError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        count = 0
        for line, row in enumerate(reader, start=2):
            county_code, code = row["county_code"].strip(), row["municipality_code"].strip()
            if not (len(county_code) == 2 and county_code.isdigit() and code.startswith(county_code)):
                raise ReferenceDataError(f"{path.name}:{line}: bad SCB code {code!r}")
            session.merge(
                County(code=county_code, name=row["county"].strip(), region_name=row["region"].strip())
            )
            session.merge(Municipality(code=code, name=row["municipality"].strip(), county_code=county_code))
            count += 1
    session.flush()
    return count
