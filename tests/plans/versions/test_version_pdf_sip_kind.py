"""The plan's PDF names the kind of SIP in its heading: the workflow file's label, in Swedish as the document.

A SIP at discharge and one for another need are different documents to the reader (the law, the parties,
the deadlines): the heading says which, from the workflow the case runs on; a version frozen before the kind
was kept renders as it did (its stored PDF is checked against its content).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from versionkit import at_meeting_held, pdf_text

from sipflow.plans.models import PlanVersion
from sipflow.plans.pdf import render_plan_pdf


@pytest.mark.parametrize(("workflow", "kind"), [("sip_discharge", "SIP vid utskrivning"), ("sip", "SIP")])
def test_the_pdf_heading_names_the_kind_of_sip(
    db_session, registry, app, parties, now, tmp_path, workflow, kind
):
    planned = at_meeting_held(db_session, registry, app, parties, now, workflow=workflow)
    later = now + timedelta(hours=1)
    support.fire(db_session, registry, parties.region_user, planned.case, "establish_plan", now=later)
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == planned.case.id)).one()

    text = pdf_text(version.pdf, tmp_path)
    heading = text[: text.index("Det är viktigt för mig")]
    assert f"Samordnad individuell plan (SIP) Typ av SIP: {kind} Ärende:" in heading


def test_a_version_frozen_without_its_kind_renders_as_before(db_session, established, tmp_path):
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == established.case.id)).one()
    content = {k: v for k, v in version.content.items() if k != "sip_kind"}
    assert "Typ av SIP" not in pdf_text(render_plan_pdf(content), tmp_path)
