"""The coding area's part in retention: the KVÅ codes in the registerutdrag, and what anonymisation clears.

A code record copies the person's municipality, legal sex and age on the meeting day, so it is data about
the person (GDPR art. 15) and belongs in their export; reversals are listed too, with the reason given.
Anonymising a case keeps its records and reversals (statistics count them) but clears the reasons staff
typed for a reversal; the reason sipflow itself gives (SYSTEM_REASONS) says nothing about the person.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import update
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.coding.models import SYSTEM_REASONS, CodeRecord
from sipflow.people.models import Unit
from sipflow.retention.anonymise import register_case_scrubber
from sipflow.retention.export import ThirdParties, register_cases_section


@register_case_scrubber
def scrub_code_reasons(session: Session, cases: list[SipCase]) -> None:
    """Clear the reasons staff typed for the cases' reversals (sipflow's own reasons stay)."""
    session.execute(
        update(CodeRecord)
        .where(
            CodeRecord.case_id.in_([case.id for case in cases]),
            CodeRecord.reason.not_in(list(SYSTEM_REASONS)),
        )
        .values(reason=None)
        .execution_options(synchronize_session=False)
    )


def codes_section(
    session: Session, cases: list[SipCase], _third_parties: ThirdParties
) -> dict[int, list[dict]]:
    """Every code record of each case, oldest first, with the unit's name (one statement for all cases)."""
    rows = session.exec(
        select(CodeRecord, Unit.name)
        .join(Unit, Unit.id == CodeRecord.unit_id)
        .where(CodeRecord.case_id.in_([case.id for case in cases]))
        .order_by(CodeRecord.id)
    ).all()
    found: dict[int, list[dict]] = defaultdict(list)
    for record, unit_name in rows:
        found[record.case_id].append(
            {
                "id": record.id,
                "code": record.code,
                "kind": record.kind,
                "sign": record.sign,
                "reverses_id": record.reverses_id,
                "meeting_id": record.meeting_id,
                "held_on": record.held_on.isoformat(),
                "meeting_kind": record.meeting_kind,
                "unit": unit_name,
                "municipality_code": record.municipality_code,
                "legal_sex": record.legal_sex,
                "age_years": record.age_years,
                "occasion": record.occasion,
                "recorded_at": record.recorded_at.isoformat(),
                "reason": record.reason,
            }
        )
    return found


register_cases_section("codes", codes_section)
