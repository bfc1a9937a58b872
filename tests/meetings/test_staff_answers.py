"""Staff record the answer an invitee called some other way (no e-mail) gave them by phone or letter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from meetingkit import invitation_of
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting
from sipflow.security.audit import MEETING_CHANGE, AccessLogEntry

pytestmark = pytest.mark.db

STALE_ANSWER = "Någon annan har registrerat ett svar för den kallade medan du arbetade."
MEETING_CONFLICT = "Någon annan har ändrat mötet medan du arbetade."


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def page_of(client, case, meeting, query: str = ""):
    url = f"/cases/{case.uid}/meetings/{meeting.id}"
    html = text_of(client.get(url + query))
    return url, html, forms_of(html)


def answer_url(url: str, invitation) -> str:
    return f"{url}/invitations/{invitation.id}/answer"


def answer(client, url, forms, invitation, **values):
    """Post the invitation's answer form from forms, fields named without their prefix."""
    prefix = f"answer-{invitation.id}-"
    action = answer_url(url, invitation)
    return client.post(action, data=fill(forms[action], **{prefix + k: v for k, v in values.items()}))


def posted(html, meeting, invitation, **values) -> dict:
    """An answer form for invitation as the page would have offered it, had it offered one."""
    prefix = f"answer-{invitation.id}-"
    data = {
        "csrf_token": csrf_token(html),
        "version": str(meeting.sequence),
        "shown": services.answer_digest(invitation),
    } | values
    return {prefix + name: value for name, value in data.items()}


def invitations_section(client) -> str:
    page = text_of(client.get("/"))
    found = re.search(r'<section class="card todo-section" id="todo-invitations".*?</section>', page, re.S)
    assert found
    return found.group(0)


def test_recording_an_answer_counts_on_the_meeting_page_and_in_att_gora(
    as_region, db_session, parties, ready, book
):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, html, forms = page_of(as_region, ready.case, meeting)
    assert "Ej svarat: 5 av 5 kallade." in html
    assert "5 inbjudna" in invitations_section(as_region)

    response = answer(as_region, url, forms, silent, partstat="ACCEPTED", comment="Sa ja i telefon.")
    assert response.status_code == 303, text_of(response)

    kept = invitation_of(db_session, meeting, ready.relative_without_email)
    assert (kept.partstat, kept.answered_via, kept.comment) == ("ACCEPTED", "staff", "Sa ja i telefon.")
    assert kept.answered_at == now_utc()
    html = text_of(as_region.get(url))
    assert "Ej svarat: 4 av 5 kallade." in html
    # Named, so a colleague knows whom to ask about the call.
    assert f"registrerat av {parties.region_user.display_name}" in html and "Sa ja i telefon." in html
    assert "4 inbjudna" in invitations_section(as_region)
    # Written to the access log as every change of a meeting is.
    logged = db_session.exec(
        select(AccessLogEntry).where(
            AccessLogEntry.case_id == ready.case.id, AccessLogEntry.action == MEETING_CHANGE
        )
    ).all()
    assert len(logged) == 1


def test_who_recorded_the_answer_is_kept(as_region, db_session, parties, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    assert answer(as_region, url, forms, silent, partstat="DECLINED").status_code == 303
    kept = invitation_of(db_session, meeting, ready.relative_without_email)
    assert kept.partstat == "DECLINED" and kept.answered_by_user_id == parties.region_user.id


def test_a_party_that_may_not_manage_the_meeting_is_refused(client, db_session, parties, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    login(client, parties.municipality_user.username)
    url, html, _forms = page_of(client, ready.case, meeting)
    assert answer_url(url, silent) not in html  # no form offered to them
    response = client.post(answer_url(url, silent), data=posted(html, meeting, silent, partstat="ACCEPTED"))
    assert response.status_code == 403
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "NEEDS-ACTION"


def test_an_invitee_with_an_email_address_answers_themselves(as_region, db_session, ready, book):
    meeting = book()
    eva = invitation_of(db_session, meeting, ready.relative)
    url, html, _forms = page_of(as_region, ready.case, meeting)
    assert answer_url(url, eva) not in html
    response = as_region.post(answer_url(url, eva), data=posted(html, meeting, eva, partstat="DECLINED"))
    assert response.status_code == 403
    assert "svarar via sin egen länk" in text_of(response)
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"


def test_a_cancelled_meeting_takes_no_answer(as_region, db_session, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, db_session.get(Meeting, meeting.id), now=now_utc())
    response = answer(as_region, url, forms, silent, partstat="ACCEPTED")
    assert response.status_code == 409
    assert "Mötet har ställts in; det går inte längre att ändra." in text_of(response)
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "NEEDS-ACTION"


def test_a_meeting_that_is_over_takes_no_answer(db_session, parties, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    with pytest.raises(services.MeetingClosed), unit_of_work(db_session):
        services.record_staff_answer(
            db_session,
            ready.case,
            meeting,
            silent,
            parties.region_user,
            partstat="ACCEPTED",
            answer_mode=None,
            comment=None,
            now=meeting.ends_at + timedelta(minutes=1),
            expected_sequence=meeting.sequence,
            shown=services.answer_digest(silent),
        )


def test_an_answer_recorded_meanwhile_is_not_lost(as_region, db_session, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, mine = page_of(as_region, ready.case, meeting)
    _url, _html, theirs = page_of(as_region, ready.case, meeting)
    assert answer(as_region, url, theirs, silent, partstat="ACCEPTED").status_code == 303

    stale = answer(as_region, url, mine, silent, partstat="DECLINED", comment="Ringde och lämnade återbud.")
    assert stale.status_code == 409
    html = text_of(stale)
    assert STALE_ANSWER in html
    # What was typed is kept, and the answer recorded first stands.
    assert "Ringde och lämnade återbud." in html
    opened = rf'<details class="action" open>\s*<summary>.*?</summary>\s*<form[^>]*/{silent.id}/answer"'
    assert re.search(opened, html)  # the form as typed is shown open, not folded away
    option = rf'<input[^>]*name="answer-{silent.id}-partstat"[^>]*value="DECLINED"[^>]*>'
    (declined,) = re.findall(option, html)
    assert "checked" in declined
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "ACCEPTED"

    # Sent again from the page that showed the conflict, it is a deliberate change.
    again = answer(as_region, url, forms_of(html), silent)
    assert again.status_code == 303
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "DECLINED"


def test_a_page_from_before_the_meeting_changed_is_stale(as_region, db_session, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    eva = invitation_of(db_session, meeting, ready.relative)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, db_session.get(Meeting, meeting.id), eva, now=now_utc())
    response = answer(as_region, url, forms, silent, partstat="TENTATIVE", comment="Kanske, ring igen.")
    assert response.status_code == 409
    html = text_of(response)
    assert MEETING_CONFLICT in html and "Kanske, ring igen." in html
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "NEEDS-ACTION"


def test_a_missing_answer_is_shown_beside_the_field_with_the_comment_kept(as_region, db_session, ready, book):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    response = answer(as_region, url, forms, silent, partstat=None, comment="Ring tillbaka.")
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="answer-{silent.id}-partstat-error"' in html and "Välj ett svar." in html
    assert "Ring tillbaka." in html


def test_the_answer_form_in_english(as_region, db_session, ready, book):
    meeting = book()
    _url, html, _forms = page_of(as_region, ready.case, meeting, "?lang=en")
    assert "Not answered: 5 of 5 invited." in html
    assert "Record the answer" in html and "The invitee's answer" in html and "Save the answer" in html


def test_how_the_invitee_takes_part_is_kept_and_prefills_the_outcome(
    as_region, db_session, frozen_clock, parties, ready, book
):
    meeting = book()  # a video meeting: video and phone are the ways of taking part
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    response = answer(as_region, url, forms, silent, partstat="ACCEPTED", answer_mode="video")
    assert response.status_code == 303, text_of(response)
    assert invitation_of(db_session, meeting, ready.relative_without_email).answer_mode == "video"
    _url, html, forms = page_of(as_region, ready.case, meeting)
    # Shown as the invitee's own answer would be, and offered again as recorded.
    assert "Video" in html
    assert (f"answer-{silent.id}-answer_mode", "video") in forms[answer_url(url, silent)]

    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    outcome = f"/cases/{ready.case.uid}/meetings/outcome"
    as_region.get(outcome)  # a week on, the session has timed out
    assert login(as_region, parties.region_user.username).status_code == 302
    form = dict(forms_of(text_of(as_region.get(outcome)))[outcome])
    assert form[f"attendance_{ready.relative_without_email.id}"] == "video"


def test_a_way_of_taking_part_the_meeting_lacks_is_refused_beside_the_field(
    as_region, db_session, ready, book
):
    meeting = book()  # by video: there is no room to come to
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    response = answer(
        as_region, url, forms, silent, partstat="ACCEPTED", answer_mode="on_site", comment="Kommer."
    )
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="answer-{silent.id}-answer_mode-error"' in html and "Kommer." in html
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "NEEDS-ACTION"


def test_the_error_summary_says_whose_answer_was_refused(as_region, db_session, ready, book):
    # Every invitee called some other way has an answer form alike: "Svar: Välj ett svar." named nobody.
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url, _html, forms = page_of(as_region, ready.case, meeting)
    html = text_of(answer(as_region, url, forms, silent, partstat=None))
    link = re.search(rf'<a href="#answer-{silent.id}-partstat-0">(.*?)</a>', html, re.S)
    assert link is not None, html
    assert ready.relative_without_email.name in link.group(1) and "Välj ett svar." in link.group(1)
