"""A person asked through their link to approve a revised plan reads what changed since the version they
approved: a year's SIP is revised at its follow-ups, and "the plan has changed" alone leaves them to compare
two versions from memory before approving."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

from personkit import add_effort, freeze, log_out
from sqlmodel import select
from test_personal_links import link_path, queued, send_link
from webkit import csrf_token, text_of

from sipflow.people.models import Organisation
from sipflow.plans.models import PlanEffort


def page_words(response) -> str:
    main = re.search(r"<main.*?</main>", text_of(response), re.S).group(0)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", main)).split())


def test_the_revised_plan_says_what_changed_since_the_version_the_person_approved(
    client, db_session, planned, now
):
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    page = client.get(path)
    assert "Det här har ändrats" not in page_words(page)  # nothing approved before: nothing to compare
    response = client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(text_of(page)), "approve-version_id": str(planned.extra["v1"].id)},
    )
    assert response.status_code == 303
    # The follow-up: the municipality's effort the person cares about changes, one is added.
    cared_about = select(PlanEffort).where(PlanEffort.what == "Boendestöd två dagar i veckan")
    effort = db_session.exec(cared_about).one()
    effort.what = "Boendestöd tre dagar i veckan"
    db_session.add(effort)
    add_effort(db_session, planned, planned.region, "Läkarbesök var tredje månad")
    db_session.commit()
    freeze(db_session, planned, now=now + timedelta(days=90), trigger="revise_plan")
    words = page_words(client.get(path))
    region = db_session.get(Organisation, planned.region.unit.organisation_id).name
    assert "Det här har ändrats sedan version 1, som du godkände" in words
    assert f"Nytt i planen: Läkarbesök var tredje månad ({region})" in words
    # Named as it reads now, what changed read before and after (a screen reader says "från" and "till").
    assert "Vad: från Boendestöd två dagar i veckan → till Boendestöd tre dagar i veckan" in words
    # An effort left as it was is not listed as a change.
    changes = words[words.index("Det här har ändrats") : words.index("Du godkände version 1")]
    assert "Samtalsstöd" not in changes
    # In English too: the plan's own words stay as written.
    english = page_words(client.get(path + "?lang=en"))
    assert "What has changed since version 1, which you approved" in english
    assert "New in the plan: Läkarbesök var tredje månad" in english
