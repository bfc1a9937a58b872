"""What the user is told after approving: which version the approval is for, so approving a revised plan
again reads as that, not as the plan's first approval standing."""

from __future__ import annotations

import re
from datetime import timedelta

from personkit import freeze, log_out
from test_personal_links import link_path, queued, send_link
from webkit import csrf_token, login, text_of


def flashes(response) -> list[str]:
    return re.findall(r'<p class="flash[^>]*>(.*?)</p>', text_of(response), re.S)


def record(client, world, version, *, lang="sv"):
    """The municipality's user records its approval of version at the meeting; the page it is sent back to."""
    url = f"/cases/{world.case.uid}/plan/approvals"
    html = text_of(client.get(f"{url}?lang={lang}"))
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(html),
            "approval-version_id": str(version.id),
            "approval-participant_id": str(world.municipality.participant.id),
            "approval-method": "meeting",
        },
        follow_redirects=True,
    )


def test_staff_are_told_which_version_they_approved_after_a_revision(client, db_session, planned, now):
    login(client, planned.municipality.user.username)
    assert flashes(record(client, planned, planned.extra["v1"])) == [
        "Godkännandet av version 1 är registrerat."
    ]
    v2 = freeze(db_session, planned, now=now + timedelta(hours=1), trigger="revise_plan")
    assert flashes(record(client, planned, v2)) == ["Godkännandet av version 2 är registrerat."]
    assert flashes(record(client, planned, v2)) == ["Godkännandet av version 2 var redan registrerat."]


def test_the_message_is_english_for_an_english_reader(client, db_session, planned, now):
    v2 = freeze(db_session, planned, now=now + timedelta(hours=1), trigger="revise_plan")
    login(client, planned.municipality.user.username)
    assert flashes(record(client, planned, v2, lang="en")) == ["The approval of version 2 is recorded."]


def test_the_person_is_told_which_version_they_approved_after_a_revision(client, db_session, planned, now):
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))

    def approve(version):
        page = client.get(path)
        return client.post(
            path + "/approve",
            data={"csrf_token": csrf_token(text_of(page)), "approve-version_id": str(version.id)},
            follow_redirects=True,
        )

    assert flashes(approve(planned.extra["v1"])) == [
        "Tack! Ditt godkännande av version 1 av planen är registrerat."
    ]
    v2 = freeze(db_session, planned, now=now + timedelta(hours=1), trigger="revise_plan")
    assert flashes(approve(v2)) == ["Tack! Ditt godkännande av version 2 av planen är registrerat."]


def test_the_person_asked_again_after_a_revision_is_told_they_approved_the_earlier_version(
    client, db_session, planned, now
):
    """A person who approved version 1 and sees "approve version 2" with "not yet approved" beside their name
    would think their approval was lost: the page says the plan changed since they approved it."""
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    page = text_of(client.get(path))
    assert "Du godkände version" not in page
    client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(page), "approve-version_id": str(planned.extra["v1"].id)},
    )
    freeze(db_session, planned, now=now + timedelta(hours=1), trigger="revise_plan")
    page = " ".join(text_of(client.get(path)).split())
    assert "Du godkände version 1. Planen har ändrats sedan dess: om du håller med om version 2" in page
    english = " ".join(text_of(client.get(path + "?lang=en")).split())
    assert "You approved version 1. The plan has changed since: if you agree with version 2" in english
