"""While a version of the plan is in force, the editor says that what is saved becomes the next version only
when the plan is established again, naming the steps from the workflow file."""

from __future__ import annotations

import html as html_lib

import pytest
import support
from webkit import FreshContextClient, login, text_of

from sipflow.clock import now_utc
from sipflow.plans.editor import next_plan_step

pytestmark = pytest.mark.usefixtures("frozen_clock")


def note(client, case) -> str | None:
    page = html_lib.unescape(text_of(client.get(f"/cases/{case.uid}/plan")))
    start = page.find('id="version-note"')
    if start < 0:
        return None
    return page[page.index("<p>", start) + 3 : page.index("</p>", start)]


def test_no_note_before_the_first_version(as_region, held):
    assert note(as_region, held) is None


def test_once_established_the_editor_says_saving_makes_the_next_version_after_the_follow_up(
    as_region, db_session, registry, parties, held
):
    now = now_utc()
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    assert note(as_region, held) == (
        "Version 1 gäller. Det du sparar här blir version 2 när planen fastställs på nytt med "
        "”Revidera plan” (efter ”Registrera uppföljning”)."
    )
    # At the follow-up the step is the page's own: nothing comes before it.
    support.fire(db_session, registry, parties.region_user, held, "follow_up", now=now)
    assert note(as_region, held) == (
        "Version 1 gäller. Det du sparar här blir version 2 när planen fastställs på nytt med "
        "”Revidera plan”."
    )
    support.fire(db_session, registry, parties.region_user, held, "revise_plan", now=now)
    assert note(as_region, held).startswith("Version 2 gäller. Det du sparar här blir version 3 ")


def test_a_reader_and_an_ended_sip_get_no_note(client, db_session, registry, parties, held):
    now = now_utc()
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    assert login(client, parties.municipality_user.username).status_code == 302
    assert note(client, held) is None
    support.fire(db_session, registry, parties.region_user, held, "close", now=now, data={"reason": "Klar"})
    writer = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert login(writer, parties.region_user.username).status_code == 302
    assert note(writer, held) is None


def test_the_next_plan_step_is_read_from_every_workflow_file(registry):
    # From every state a SIP is open in, the way to the plan's next version: steps that follow each other,
    # ending where the plan step can be taken; from an ended one, none.
    for workflow in registry.workflows():
        for state in workflow.states:
            found = next_plan_step(workflow, state)
            if workflow.is_final(state):
                assert found is None
                continue
            step, before = found
            assert step.form == "plan"
            here = state
            for transition in before:
                assert here in transition.sources
                here = transition.dest
            assert here in step.sources
