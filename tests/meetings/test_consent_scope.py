"""A consent that leaves out an organisation taking part keeps the SIP from it: no kallelse, no invitation
and no decision of a meeting goes to an organisation the person did not consent to share with."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from meetingkit import fire, next_week_at, offered_invitees
from sqlmodel import select
from webkit import beside_fields, csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc, to_local
from sipflow.meetings.models import Invitation, Meeting, MeetingDecision
from sipflow.notifications.models import OutboxMessage

SWEDISH = "Samtycket omfattar inte Växjö kommun, så den kan inte se SIP:en."
ENGLISH = "The consent does not cover Växjö kommun, so it cannot see the SIP."


def _kallelse(db_session, registry, parties, case, invitee_ids):
    """Send the kallelse with a video meeting next week, inviting only these (covered) participants."""
    starts = next_week_at(10)
    return fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "send_kallelse",
        send_invitations=True,
        meeting_starts_at=starts,
        meeting_ends_at=starts + timedelta(hours=1),
        mode="video",
        invitee_ids=invitee_ids,
    )


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _booking(client, case, invitees, *, lang=None):
    url = f"/cases/{case.uid}/meetings/new"
    form = forms_of(text_of(client.get(url + (f"?lang={lang}" if lang else ""))))[url]
    day = to_local(now_utc()).date() + timedelta(days=8)
    return client.post(
        url,
        data=fill(
            form, date=day.isoformat(), starts="10:00", ends="11:00", mode="video", invitee_ids=invitees
        ),
    )


def test_the_booking_page_offers_no_organisation_the_consent_leaves_out(as_region, region_only):
    """Offered only what may be invited (tester: the unit was a checkbox, left unticked): the rule the
    booking's refusal asks, as "Invite more" offers them; everyone offered is ticked from the start."""
    case, region, municipality, person = region_only
    url = f"/cases/{case.uid}/meetings/new"
    page = text_of(as_region.get(url))
    boxes = re.findall(r'<input[^>]*name="invitee_ids"[^>]*>', page)
    offered = {re.search(r'value="(\d+)"', box).group(1) for box in boxes}
    assert str(region.id) in offered and str(person.id) in offered and str(municipality.id) not in offered
    ticked = {value for name, value in forms_of(page)[url] if name == "invitee_ids"}
    assert ticked == offered


@pytest.mark.parametrize(
    ("lang", "said", "unit"),
    [("sv", SWEDISH, "Kan inte bjudas in: "), ("en", ENGLISH, "Cannot be invited: ")],
)
def test_the_booking_page_says_below_the_invitees_whom_it_leaves_out_why_and_links_the_further_consent(
    as_region, region_only, lang, said, unit
):
    """From the start, not only after posting it and being refused: the refusal's own words and its link."""
    case, region, municipality, person = region_only
    page = text_of(as_region.get(f"/cases/{case.uid}/meetings/new?lang={lang}"))
    start = page.index('<p class="help" id="invitees-left-out">')
    note = page[start : page.index("</p>", start)]
    assert unit + "Växjö kommun" in note
    assert said in note and f'href="/cases/{case.uid}/consent/further"' in note
    # Every checkbox is described by it, for a screen reader too; said once on the page.
    assert 'aria-describedby="invitees-left-out"' in page
    assert page.count(said) == 1


def test_the_booking_page_says_nothing_of_consent_when_it_covers_everyone(as_region, db_session, ready):
    page = text_of(as_region.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert "invitees-left-out" not in page and "consent/further" not in page


def test_after_the_refusal_the_reason_stands_once_at_the_field(as_region, region_only):
    case, region, municipality, person = region_only
    page = text_of(_booking(as_region, case, [region.id, municipality.id, person.id]))
    assert beside_fields(page).count(SWEDISH) == 1
    assert page.count(f'href="/cases/{case.uid}/consent/further"') == 1


def _nothing_sent(db_session, case):
    db_session.expire_all()
    assert db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all() == []
    assert db_session.exec(select(OutboxMessage)).all() == []


def test_booking_a_kallelse_for_an_organisation_the_consent_leaves_out_is_refused_at_the_invitees(
    as_region, db_session, region_only
):
    case, region, municipality, person = region_only
    state = case.state
    response = _booking(as_region, case, [region.id, municipality.id, person.id])
    assert response.status_code == 400
    page = text_of(response)
    errors = page[page.index('id="invitee_ids"') :]
    assert SWEDISH in errors[: errors.index("</fieldset>")]
    assert f'href="/cases/{case.uid}/consent/further"' in page
    _nothing_sent(db_session, case)
    assert db_session.get(SipCase, case.id).state == state
    # The region and the person (no organisation) may still be called.
    response = _booking(as_region, case, [region.id, person.id])
    assert response.status_code == 303
    db_session.expire_all()
    invited = db_session.exec(select(Invitation.participant_id)).all()
    assert sorted(invited) == sorted([region.id, person.id])


def test_the_refusal_speaks_english_too(as_region, db_session, region_only):
    case, region, municipality, _person = region_only
    response = _booking(as_region, case, [municipality.id], lang="en")
    assert response.status_code == 400
    assert ENGLISH in text_of(response)
    _nothing_sent(db_session, case)


def test_a_further_meeting_and_inviting_more_refuse_the_organisation_too(
    as_region, db_session, registry, parties, region_only
):
    case, region, municipality, person = region_only
    school = _participant_of(db_session, case, parties.school.organisation_id)
    log = _kallelse(db_session, registry, parties, case, [region.id, school.id, person.id])
    meeting_id = log.details["meeting_id"]
    sent = len(db_session.exec(select(OutboxMessage)).all())
    # Inviting more to the booked meeting: the page offers it no more, but a form posted anyway (read in
    # another tab before the consent ran out) is refused too.
    url = f"/cases/{case.uid}/meetings/{meeting_id}"
    page = text_of(as_region.get(url))
    assert f"{url}/invite" not in forms_of(page)
    data = {
        "invite-csrf_token": csrf_token(page),
        "invite-version": db_session.get(Meeting, meeting_id).sequence,
        "invite-invitee_ids": municipality.id,
    }
    response = as_region.post(f"{url}/invite", data=data)
    assert response.status_code == 400
    page = text_of(response)
    assert SWEDISH in page and f'href="/cases/{case.uid}/consent/further"' in page
    # A further meeting, once the kallelse is out.
    assert _booking(as_region, case, [region.id, municipality.id]).status_code == 400
    db_session.expire_all()
    assert len(db_session.exec(select(OutboxMessage)).all()) == sent
    assert db_session.exec(select(Invitation).where(Invitation.participant_id == municipality.id)).all() == []


def test_inviting_more_offers_no_organisation_the_consent_leaves_out(
    as_region, db_session, registry, parties, region_only
):
    case, region, municipality, person = region_only
    school = _participant_of(db_session, case, parties.school.organisation_id)
    log = _kallelse(db_session, registry, parties, case, [region.id, school.id])
    url = f"/cases/{case.uid}/meetings/{log.details['meeting_id']}"
    response = as_region.get(url)
    assert response.status_code == 200
    # The person (no organisation) may be invited; Växjö kommun may not, so it is not offered.
    assert offered_invitees(text_of(response)) == {str(person.id)}


def _participant_of(db_session, case, organisation_id) -> Participant:
    return db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == organisation_id
        )
    ).one()


@pytest.mark.parametrize("owner_kind", ["organisation", "unit"])
def test_a_decision_owned_by_an_organisation_the_consent_leaves_out_is_refused_at_its_row(
    as_region, db_session, registry, parties, region_only, owner_kind
):
    case, region, municipality, person = region_only
    _kallelse(db_session, registry, parties, case, [region.id, person.id])
    url = f"/cases/{case.uid}/meetings/outcome"
    form = forms_of(text_of(as_region.get(url)))[url]
    owner = (
        f"organisation:{parties.municipality.organisation_id}"
        if owner_kind == "organisation"
        else f"unit:{parties.municipality.id}"
    )
    due = (to_local(now_utc()).date() + timedelta(days=30)).isoformat()
    data = fill(
        form,
        moved="y",
        **{
            "decisions-0-text": "Boendestöd",
            "decisions-0-owner": owner,
            "decisions-0-due_on": due,
            "decisions-1-text": "Samtalsstöd",
            "decisions-1-owner": f"organisation:{parties.region.organisation_id}",
            "decisions-1-due_on": due,
        },
    )
    version = db_session.get(SipCase, case.id).version
    response = as_region.post(url, data=data)
    page = text_of(response)
    assert response.status_code == 400
    row = page[page.index('id="decisions-0-owner"') :]
    assert SWEDISH in row[: row.index("</fieldset>")]
    assert f'href="/cases/{case.uid}/consent/further"' in page
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).version == version
    assert db_session.exec(select(MeetingDecision)).all() == []


def test_every_decision_owned_by_an_organisation_the_consent_leaves_out_is_marked_at_once(
    as_region, db_session, registry, parties, region_only
):
    case, region, municipality, person = region_only
    _kallelse(db_session, registry, parties, case, [region.id, person.id])
    url = f"/cases/{case.uid}/meetings/outcome"
    form = forms_of(text_of(as_region.get(url)))[url]
    due = (to_local(now_utc()).date() + timedelta(days=30)).isoformat()
    rows = {
        0: ("Boendestöd", f"organisation:{parties.municipality.organisation_id}"),
        1: ("Samtalsstöd", f"organisation:{parties.region.organisation_id}"),
        2: ("Hemtjänst", f"unit:{parties.municipality.id}"),
    }
    typed = {}
    for n, (text, owner) in rows.items():
        typed |= {f"decisions-{n}-text": text, f"decisions-{n}-owner": owner, f"decisions-{n}-due_on": due}
    response = as_region.post(url, data=fill(form, moved="y", **typed))
    page = text_of(response)
    assert response.status_code == 400

    def row(n: int) -> str:
        part = page[page.index(f'id="decisions-{n}-owner"') :]
        return part[: part.index("</fieldset>")]

    assert SWEDISH in row(0) and SWEDISH in row(2)
    assert SWEDISH not in row(1)
    db_session.expire_all()
    assert db_session.exec(select(MeetingDecision)).all() == []


@pytest.mark.parametrize("mode", ["on_site", "video"])
def test_attendance_of_an_organisation_the_consent_leaves_out_is_refused_at_its_field(
    as_region, db_session, registry, parties, region_only, mode
):
    """It could not see the SIP, so it did not attend: the meeting's record would say it heard the SIP."""
    case, region, municipality, person = region_only
    _kallelse(db_session, registry, parties, case, [region.id, person.id])
    url = f"/cases/{case.uid}/meetings/outcome"
    form = forms_of(text_of(as_region.get(url)))[url]
    due = (to_local(now_utc()).date() + timedelta(days=30)).isoformat()
    typed = {
        f"attendance_{region.id}": "on_site",
        f"attendance_{municipality.id}": mode,
        "decisions-0-text": "Samtalsstöd",
        "decisions-0-owner": f"organisation:{parties.region.organisation_id}",
        "decisions-0-due_on": due,
    }
    version = db_session.get(SipCase, case.id).version
    response = as_region.post(url, data=fill(form, moved="y", **typed))
    page = text_of(response)
    assert response.status_code == 400
    field = page[page.index(f'id="attendance_{municipality.id}-error"') :]
    assert SWEDISH in field[: field.index("</ul>")]
    assert f'id="attendance_{region.id}-error"' not in page
    assert f'href="/cases/{case.uid}/consent/further"' in page
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).version == version
    assert db_session.exec(select(MeetingDecision)).all() == []
    # Recorded as absent, the meeting is recorded.
    typed[f"attendance_{municipality.id}"] = "absent"
    response = as_region.post(url, data=fill(form, moved="y", **typed))
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).version == version + 1
    assert len(db_session.exec(select(MeetingDecision)).all()) == 1
