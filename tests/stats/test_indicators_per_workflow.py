"""A deadline counts for an indicator only when its own case's workflow and version declare it so.

A county's file may name a deadline as another file names its measured one (`kallelse`), with no
`indicator` (an internal target): those rows are never measured, so a first meeting counts once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from sipflow.areas import load_areas
from sipflow.cases.models import Deadline
from sipflow.config import PROJECT_ROOT
from sipflow.stats.services import indicators, settings_from
from sipflow.workflow.definition import load_workflow_file

# The workflow files name guards, effects and inputs the areas register.
load_areas()

SIP = PROJECT_ROOT / "workflows" / "sip.toml"
KALLELSE = """[deadlines.kallelse]
label = { sv = "Kallelse", en = "Notice of meeting" }
indicator = "kallelse"
from = "requested_at"
days = 21
"""
# The county's own discharge SIP: its measured kallelse deadline is kallelse_lag (3 days); its `kallelse`
# is an internal 1-day target without indicator, and its follow-up deadline is measured by no indicator.
PSYK_DEADLINES = """[deadlines.kallelse_lag]
label = { sv = "Kallelse enligt lag", en = "Notice of meeting by law" }
indicator = "kallelse"
from = "requested_at"
days = 3
started_by = ["create"]
met_by = ["send_kallelse"]

[deadlines.kallelse]
label = { sv = "Kallelse, internt mål", en = "Notice of meeting, internal target" }
from = "requested_at"
days = 1
"""


def _psyk_file(folder):
    text = SIP.read_text(encoding="utf-8")
    assert KALLELSE in text
    text = (
        text.replace('name = "sip"', 'name = "sip_psyk"', 1)
        .replace(
            'occasion = "other_need"', 'occasion = "psykiatri"\nstart_dates = ["utskrivningsklar_at"]', 1
        )
        .replace(
            'label = { sv = "SIP", en = "SIP" }', 'label = { sv = "SIP psykiatri", en = "SIP psychiatry" }', 1
        )
        .replace(KALLELSE, PSYK_DEADLINES, 1)
        .replace('indicator = "follow_up"\n', "", 1)
    )
    path = folder / "sip_psyk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _settings(app, tmp_path):
    # Loaded without a registry, which would publish the files to the whole process.
    files = [load_workflow_file(SIP), load_workflow_file(_psyk_file(tmp_path))]
    settings = settings_from(app.config, SimpleNamespace(workflows=lambda: files), "sv")
    settings.threshold = 1  # the known answers are small: disclosure control is tested apart
    return settings


def test_the_settings_name_each_measured_deadline_with_its_workflow_and_version(app, tmp_path):
    settings = _settings(app, tmp_path)
    assert settings.kallelse_deadlines == (("sip", 1, "kallelse"), ("sip_psyk", 1, "kallelse_lag"))
    assert settings.follow_up_deadlines == (("sip", 1, "follow_up"),)


def _case(world, workflow: str):
    case = world.case(world.person())
    if workflow != "sip":
        case.workflow_name, case.occasion = workflow, "psykiatri"
    world.session.flush()
    return case


def _table(answer, key):
    return next(t for t in answer["tables"] if t["key"] == key)


def test_a_first_meeting_counts_once_and_only_its_own_workflows_deadline_is_measured(world, app, tmp_path):
    settings = _settings(app, tmp_path)
    klar = datetime(2026, 1, 10, 8, tzinfo=UTC)
    # sip_psyk: the 3-day deadline met on day 2 (within), the internal 1-day target met late the same day.
    psyk = _case(world, "sip_psyk")
    psyk.utskrivningsklar_at = klar
    met = klar + timedelta(days=2)
    world.session.add(
        Deadline(case_id=psyk.id, kind="kallelse_lag", due_at=klar + timedelta(days=3), met_at=met)
    )
    world.session.add(Deadline(case_id=psyk.id, kind="kallelse", due_at=klar + timedelta(days=1), met_at=met))
    # The shipped sip: its `kallelse` is measured, met on day 4.
    sip = _case(world, "sip")
    sip.utskrivningsklar_at = klar
    world.session.add(
        Deadline(
            case_id=sip.id, kind="kallelse", due_at=klar + timedelta(days=21), met_at=klar + timedelta(days=4)
        )
    )
    for case in (psyk, sip):
        world.meeting(case, date(2026, 1, 20))
    # Follow-ups past their day: sip_psyk's is measured by no indicator, the shipped sip's is.
    due = datetime(2026, 2, 1, 12, tzinfo=UTC)
    for case in (psyk, sip):
        world.session.add(Deadline(case_id=case.id, kind="follow_up", due_at=due, met_at=due))
    world.session.flush()
    answer = indicators(world.session, world.query(by="occasion"), settings)
    lead = {row["occasion"]: row for row in _table(answer, "lead_times")["rows"]}
    assert set(lead) == {"SIP", "SIP psykiatri"}
    for label, days in (("SIP psykiatri", 2), ("SIP", 4)):
        row = lead[label]
        assert (row["request_to_first_n"], row["utskrivningsklar_to_kallelse_n"]) == (1, 1), row
        assert row["utskrivningsklar_to_kallelse_median"] == days, row
        assert (row["kallelse_within"], row["kallelse_within_share"]) == (1, 100.0), row
    whole = indicators(world.session, world.query(), settings)
    total = _table(whole, "lead_times")["total"]
    assert (total["request_to_first_n"], total["utskrivningsklar_to_kallelse_n"]) == (2, 2)
    outcomes = _table(whole, "outcomes")["total"]
    assert (outcomes["follow_ups_due"], outcomes["follow_ups_on_time"]) == (1, 1)
