"""After a reversal, staff record a meeting's codes again from the attendance they correct (append-only)."""

from __future__ import annotations

import threading

import pytest
import support
from codingkit import hold, last_id, organisation_participants, records, reverse_now, to_meeting
from sqlalchemy import delete
from sqlmodel import Session, select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.coding.models import CodeAssignment, CodeRecord
from sipflow.coding.queries import meeting_standing_records
from sipflow.coding.services import rerecord_meeting_codes, reverse_meeting_codes
from sipflow.db import unit_of_work
from sipflow.errors import Conflict
from sipflow.meetings.models import Attendance, Meeting
from sipflow.people.models import Person, User

pytestmark = pytest.mark.usefixtures("catalogue", "frozen_clock")

WAIT_SECONDS = 20


@pytest.fixture
def care_municipality(make_unit):
    """A municipality unit that is health care (kommunal hälso- och sjukvård)."""
    return make_unit("municipality", "Växjö kommun, hemsjukvården", health_care=True)


def _held(db_session, registry, parties, create_case, now, modes, units=None):
    case = create_case(units=units)
    to_meeting(db_session, registry, parties.region_user, case, now)
    hold(db_session, registry, parties.region_user, case, now, modes)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    return case, meeting


def _reversed(db_session, registry, parties, create_case, now, modes, units=None):
    case, meeting = _held(db_session, registry, parties, create_case, now, modes, units)
    with unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.region_user, "Registrerat i fel", now)
    return case, meeting


def _urls(case, meeting):
    base = f"/cases/{case.uid}/meetings/{meeting.id}/codes"
    return f"{base}/correct", f"{base}/record"


def _form(client, case, meeting, lang=None):
    """The re-record form's own values (as pre-filled) from the correction page."""
    page, action = _urls(case, meeting)
    html = text_of(client.get(page + (f"?lang={lang}" if lang else "")))
    return forms_of(html)[action]


def _standing(db_session, meeting):
    db_session.expire_all()
    return meeting_standing_records(db_session, meeting.id)


def test_reverse_then_record_again_gives_one_record_in_force_with_the_new_codes(
    client, db_session, registry, parties, create_case, now
):
    # Recorded as video by mistake: the region unit was there on site.
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.municipality_user.username)
    pairs = _form(client, case, meeting)
    mode_field = next(name for name, _ in pairs if name.startswith("mode-"))
    assert dict(pairs)[mode_field] == "video"  # pre-filled as the outcome recorded it
    _, action = _urls(case, meeting)
    response = client.post(action, data=fill(pairs, **{mode_field: "on_site"}))
    assert response.status_code == 303
    history = records(db_session, case)
    # The first records and their reversals stay as they were; one new record follows.
    assert [(r.code, r.sign) for r in history] == [
        ("XU045", 1),
        ("ZV051", 1),
        ("XU045", -1),
        ("ZV051", -1),
        ("XU045", 1),
    ]
    (standing,) = _standing(db_session, meeting)
    assert standing.id == history[-1].id
    assert (standing.recorded_by_user_id, standing.recorded_at) == (parties.municipality_user.id, now)
    first = history[0]
    assert (standing.held_on, standing.municipality_code) == (first.held_on, first.municipality_code)
    assert history[0].recorded_by_user_id == parties.region_user.id
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "Registrerat i fel: makulera koderna" in page  # the meeting's codes count again: reversible
    # The meeting's attendance says what its codes say: the statistics count it on site, not digital.
    db_session.expire_all()
    participant_id = int(mode_field.removeprefix("mode-"))
    assert db_session.get(Attendance, (meeting.id, participant_id)).mode == "on_site"
    assert db_session.get(Meeting, meeting.id).classification == "on_site"


def test_the_case_page_offers_to_record_again_after_a_reversal(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "Registrera koderna på nytt" in page
    assert f"/meetings/{meeting.id}/codes/correct" in page


def test_a_double_submit_records_once(client, db_session, registry, parties, create_case, now):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    assert client.post(action, data=fill(pairs)).status_code == 303
    again = client.post(action, data=fill(pairs))
    assert again.status_code == 409
    assert "Mötets koder gäller" in text_of(again)
    assert sorted(r.code for r in _standing(db_session, meeting)) == ["XU045", "ZV051"]
    assert len(records(db_session, case)) == 6


def test_a_form_read_before_a_later_change_is_refused(db_session, registry, parties, create_case, now):
    """A stale form: recorded again and reversed again since it was read; its facts are not recorded."""
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    stale = records(db_session, case)[-1].id
    participant = _region_participant(db_session, case, parties)
    with unit_of_work(db_session):
        rerecord_meeting_codes(
            db_session,
            case,
            meeting,
            {participant: "on_site"},
            expected_last_id=stale,
            actor=parties.region_user,
            now=now,
        )
    with unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.region_user, "Fel igen", now)
    with pytest.raises(Conflict), unit_of_work(db_session):
        rerecord_meeting_codes(
            db_session,
            case,
            meeting,
            {participant: "video"},
            expected_last_id=stale,
            actor=parties.region_user,
            now=now,
        )
    assert _standing(db_session, meeting) == []


def case_person(db_session, case) -> Person:
    return db_session.get(Person, case.person_id)


def _region_participant(db_session, case, parties) -> int:
    return organisation_participants(db_session, case)[parties.region.id].id


def test_recording_again_while_the_codes_count_is_refused(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    _, action = _urls(case, meeting)
    token = csrf_token(text_of(client.get(f"/cases/{case.uid}")))
    participant = _region_participant(db_session, case, parties)
    last = records(db_session, case)[-1].id
    response = client.post(
        action, data={"csrf_token": token, f"mode-{participant}": "on_site", "after": str(last)}
    )
    assert response.status_code == 409
    assert "Mötets koder gäller: makulera dem innan du registrerar dem på nytt." in text_of(response)
    assert len(records(db_session, case)) == 2


def test_a_meeting_not_held_is_refused(db_session, registry, parties, create_case, now):
    case = create_case()
    to_meeting(db_session, registry, parties.region_user, case, now)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    with pytest.raises(Conflict), unit_of_work(db_session):
        rerecord_meeting_codes(
            db_session, case, meeting, {}, expected_last_id=None, actor=parties.region_user, now=now
        )
    assert records(db_session, case) == []


def test_an_organisation_outside_the_sip_cannot_record_again(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    participant = _region_participant(db_session, case, parties)
    last = records(db_session, case)[-1].id
    login(client, parties.outsider_user.username)
    token = csrf_token(text_of(client.get("/password")))
    _, action = _urls(case, meeting)
    response = client.post(
        action, data={"csrf_token": token, f"mode-{participant}": "on_site", "after": str(last)}
    )
    assert response.status_code == 404
    assert _standing(db_session, meeting) == []
    assert len(records(db_session, case)) == 4


def test_a_refused_form_keeps_what_was_typed(
    client, db_session, registry, parties, create_case, now, care_municipality
):
    case, meeting = _reversed(
        db_session,
        registry,
        parties,
        create_case,
        now,
        {parties.region.id: "on_site", care_municipality.id: "on_site"},
        units=[care_municipality.id, parties.municipality.id],
    )
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    modes = [name for name, _ in pairs if name.startswith("mode-")]
    assert len(modes) == 2  # the two health-care units; the social services unit records no code
    _, action = _urls(case, meeting)
    # One unit changed to video, the other left without a choice.
    region = f"mode-{_region_participant(db_session, case, parties)}"
    (other,) = (name for name in modes if name != region)
    response = client.post(action, data=fill(pairs, **{region: "video", other: ""}))
    html = text_of(response)
    assert response.status_code == 400
    assert dict(forms_of(html)[action])[region] == "video"
    assert f'id="f-{other}-error"' in html and "Välj hur enheten deltog." in html
    # Neither chosen: both are named at once.
    html = text_of(client.post(action, data=fill(pairs, **{region: "", other: ""})))
    assert f'id="f-{region}-error"' in html and f'id="f-{other}-error"' in html
    assert _standing(db_session, meeting) == []


def test_the_form_and_its_refusals_in_english(client, db_session, registry, parties, create_case, now):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting, lang="en")
    page, action = _urls(case, meeting)
    html = text_of(client.get(page + "?lang=en"))
    assert "Record the codes again" in html and "The meeting's codes are reversed and it counts" in html
    assert client.post(action, data=fill(pairs)).status_code == 303
    again = client.post(action, data=fill(pairs))
    assert again.status_code == 409
    assert "The meeting's codes are in force: reverse them before you record them again." in text_of(again)


def test_the_new_records_are_in_the_case_history_with_the_reversed_ones(
    db_session, registry, parties, create_case, now
):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    participant = _region_participant(db_session, case, parties)
    last = records(db_session, case)[-1].id
    with unit_of_work(db_session):
        rerecord_meeting_codes(
            db_session,
            case,
            meeting,
            {participant: "phone"},
            expected_last_id=last,
            actor=parties.municipality_user,
            now=now,
        )
    rows = db_session.exec(
        select(CodeRecord.code, CodeRecord.sign, CodeRecord.reverses_id).where(
            CodeRecord.meeting_id == meeting.id
        )
    ).all()
    # Phone is taking part without video: the SIP code alone.
    assert sum(sign for code, sign, _ in rows if code == "XU045") == 1
    assert sum(sign for code, sign, _ in rows if code == "ZV051") == 0


def _rerecord_in_thread(app, case_id, meeting_id, participant, last, actor_id, now, outcome):
    """Record again in a session of its own, as a second request would; outcome gets the result."""
    try:
        with app.app_context(), Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
            case, meeting = session.get(SipCase, case_id), session.get(Meeting, meeting_id)
            with unit_of_work(session):
                rerecord_meeting_codes(
                    session,
                    case,
                    meeting,
                    {participant: "on_site"},
                    expected_last_id=last,
                    actor=session.get(User, actor_id),
                    now=now,
                )
        outcome.append("recorded")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def test_two_submits_at_once_record_once(app, engine, db_session, registry, parties, create_case, now):
    """The second waits for the first's commit (the case's row), then finds the codes in force."""
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    participant = _region_participant(db_session, case, parties)
    last = records(db_session, case)[-1].id
    outcome: list = []
    with Session(engine, expire_on_commit=False) as first:
        rerecord_meeting_codes(
            first,
            first.get(SipCase, case.id),
            first.get(Meeting, meeting.id),
            {participant: "video"},
            expected_last_id=last,
            actor=first.get(User, parties.region_user.id),
            now=now,
        )
        second = threading.Thread(
            target=_rerecord_in_thread,
            args=(app, case.id, meeting.id, participant, last, parties.municipality_user.id, now, outcome),
        )
        second.start()
        second.join(0.5)  # it waits for the first's lock (or, were it not to, it is done by now)
        first.commit()
    second.join(WAIT_SECONDS)
    assert not second.is_alive()
    [result] = outcome
    assert isinstance(result, Conflict), result
    assert sorted(r.code for r in _standing(db_session, meeting)) == ["XU045", "ZV051"]


# --- A reversal read before a change, two at once; a held meeting left without codes ------------------------


def test_a_reversal_page_read_before_the_codes_were_recorded_again_is_refused(
    client, db_session, registry, parties, create_case, now
):
    """Anna opens the page; Sara reverses and records the codes again; Anna's old page reverses nothing."""
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    page, _ = _urls(case, meeting)
    stale = forms_of(text_of(client.get(page)))[page]
    with unit_of_work(db_session):
        reverse_meeting_codes(
            db_session,
            meeting,
            parties.municipality_user,
            "Fel närvaro registrerad",
            now,
            expected_last_id=last_id(db_session, meeting),
        )
    with unit_of_work(db_session):
        rerecord_meeting_codes(
            db_session,
            case,
            meeting,
            {_region_participant(db_session, case, parties): "on_site"},
            expected_last_id=last_id(db_session, meeting),
            actor=parties.municipality_user,
            now=now,
        )
    fresh = [r.id for r in _standing(db_session, meeting)]
    response = client.post(page, data=fill(stale, reason="Mötet registrerades i fel ärende"))
    html = text_of(response)
    assert response.status_code == 409
    assert "Mötets koder har ändrats sedan du öppnade sidan" in html
    # What was typed is kept; the form now carries the codes as they are, so sending it again is deliberate.
    again = dict(forms_of(html)[page])
    assert again["reason"] == "Mötet registrerades i fel ärende"
    assert again["after"] == str(last_id(db_session, meeting))
    assert [r.id for r in _standing(db_session, meeting)] == fresh  # Sara's codes still count
    assert client.post(page, data=fill(forms_of(html)[page])).status_code == 303
    assert _standing(db_session, meeting) == []


def _reverse_in_thread(app, meeting_id, last, actor_id, now, outcome):
    """Reverse in a session of its own, as a second request would; outcome gets the result."""
    try:
        with app.app_context(), Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
            with unit_of_work(session):
                reverse_meeting_codes(
                    session,
                    session.get(Meeting, meeting_id),
                    session.get(User, actor_id),
                    "dubbel B",
                    now,
                    expected_last_id=last,
                )
        outcome.append("reversed")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def test_two_reversals_at_once_reverse_once(app, engine, db_session, registry, parties, create_case, now):
    """The second waits for the first's commit (the case's row), then finds the codes changed: a 409."""
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    last = last_id(db_session, meeting)
    outcome: list = []
    with Session(engine, expire_on_commit=False) as first:
        reverse_meeting_codes(
            first,
            first.get(Meeting, meeting.id),
            first.get(User, parties.region_user.id),
            "dubbel A",
            now,
            expected_last_id=last,
        )
        second = threading.Thread(
            target=_reverse_in_thread,
            args=(app, meeting.id, last, parties.municipality_user.id, now, outcome),
        )
        second.start()
        second.join(0.5)  # it waits for the first's lock (or, were it not to, it is done by now)
        first.commit()
    second.join(WAIT_SECONDS)
    assert not second.is_alive()
    [result] = outcome
    assert isinstance(result, Conflict), result
    assert [(r.sign, r.reason) for r in records(db_session, case)] == [
        (1, None),
        (1, None),
        (-1, "dubbel A"),
        (-1, "dubbel A"),
    ]


def test_the_same_reversal_sent_twice_is_a_conflict_with_its_reason(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    page, _ = _urls(case, meeting)
    pairs = fill(forms_of(text_of(client.get(page)))[page], reason="Registrerat i fel")
    assert client.post(page, data=pairs).status_code == 303
    again = client.post(page, data=pairs)
    html = text_of(again)
    assert again.status_code == 409
    assert "Mötets koder makulerades efter att du öppnade sidan: det finns inget kvar att makulera." in html
    assert 'value="Registrerat i fel" readonly' in html  # the reason typed is still on the page
    assert len(records(db_session, case)) == 4


def _held_without_care(db_session, registry, parties, create_case, now):
    """A meeting held with the region unit's attendance left unrecorded (everyone else on site)."""
    case = create_case()
    to_meeting(db_session, registry, parties.region_user, case, now)
    participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    attendance = {p.id: "on_site" for p in participants if p.unit_id != parties.region.id}
    support.fire(
        db_session, registry, parties.region_user, case, "hold_meeting", now=now, attendance=attendance
    )
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    return case, meeting


def test_a_held_meeting_left_without_codes_can_have_them_recorded(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held_without_care(db_session, registry, parties, create_case, now)
    assert records(db_session, case) == []
    login(client, parties.region_user.username)
    shown = text_of(client.get(f"/cases/{case.uid}"))
    assert "Inga koder: ingen hälso- och sjukvårdsenhet registrerades som deltagande." in shown
    assert '>Registrera koderna<span class="visually-hidden"> (' in shown
    assert f"/meetings/{meeting.id}/codes/correct" in shown
    page, action = _urls(case, meeting)
    assert "Mötet har inga koder" in text_of(client.get(page))
    pairs = _form(client, case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    assert dict(pairs)[region] == ""  # not recorded: the unit's attendance is to be chosen
    refused = client.post(action, data=fill(pairs))
    assert refused.status_code == 400 and "Välj hur enheten deltog." in text_of(refused)
    response = client.post(action, data=fill(pairs, **{region: "on_site"}))
    assert response.status_code == 303
    [record] = _standing(db_session, meeting)
    assert (record.code, record.unit_id, record.recorded_by_user_id) == (
        "XU045",
        parties.region.id,
        parties.region_user.id,
    )
    assert (record.held_on, record.meeting_kind) == (meeting.held_at.date(), meeting.kind)
    assert record.municipality_code == case_person(db_session, case).home_municipality_code
    # The attendance follows the codes: the region unit took part on site.
    db_session.expire_all()
    assert db_session.get(Attendance, (meeting.id, int(region.removeprefix("mode-")))).mode == "on_site"
    assert db_session.get(Meeting, meeting.id).classification == "on_site"
    # The same form again: the codes count now.
    again = client.post(action, data=fill(pairs, **{region: "on_site"}))
    assert again.status_code == 409
    assert len(records(db_session, case)) == 1


def test_recording_a_meeting_without_codes_in_english(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held_without_care(db_session, registry, parties, create_case, now)
    login(client, parties.region_user.username)
    shown = text_of(client.get(f"/cases/{case.uid}?lang=en"))
    assert '>Record the codes<span class="visually-hidden"> (' in shown
    page, action = _urls(case, meeting)
    assert "The meeting has no codes" in text_of(client.get(page + "?lang=en"))
    pairs = _form(client, case, meeting, lang="en")
    region = f"mode-{_region_participant(db_session, case, parties)}"
    refused = client.post(action, data=fill(pairs))
    assert refused.status_code == 400 and "Choose how the unit took part." in text_of(refused)
    saved = client.post(action, data=fill(pairs, **{region: "absent"}), follow_redirects=True)
    assert "No health-care unit took part in the meeting, so no KVÅ code is recorded for it" in text_of(saved)
    assert records(db_session, case) == []


# --- 409s keep what was typed; the only health-care unit absent ---------------------------------------------


def test_a_reversal_after_another_tab_reversed_the_codes_keeps_the_reason(
    client, db_session, registry, parties, create_case, now
):
    """Anna opens the page in two tabs, or Sara reverses first: Anna's reason is not lost on the 409."""
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    page, action = _urls(case, meeting)
    stale = forms_of(text_of(client.get(page)))[page]
    with unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.municipality_user, "Fel närvaro registrerad", now)
    response = client.post(page, data=fill(stale, reason="Mötet registrerades i fel ärende"))
    html = text_of(response)
    assert response.status_code == 409
    assert 'id="f-form-error" role="alert">Mötets koder makulerades efter att du öppnade sidan' in html
    assert 'value="Mötet registrerades i fel ärende" readonly' in html
    assert "Ditt skäl (sparades inte)" in html
    assert [r.reason for r in records(db_session, case) if r.sign == -1] == ["Fel närvaro registrerad"] * 2
    # The page goes on to what can be done now: record the codes again.
    assert action in forms_of(html)
    english = text_of(client.post(page + "?lang=en", data=fill(stale, reason="Wrong case")))
    assert "The meeting's codes were reversed after you opened the page" in english
    assert "Your reason (not saved)" in english and 'value="Wrong case" readonly' in english


def test_a_stale_record_form_keeps_the_choices_it_sent(
    client, db_session, registry, parties, create_case, now
):
    """Two tabs on the record form: the first records; the second's choices are shown on its 409."""
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    page, action = _urls(case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    assert client.post(action, data=fill(pairs, **{region: "on_site"})).status_code == 303
    response = client.post(action, data=fill(pairs, **{region: "phone"}))
    html = text_of(response)
    assert response.status_code == 409
    assert 'id="f-form-error" role="alert">Mötets koder gäller' in html
    assert "Dina val (registrerades inte)" in html
    assert f"<li>Region Kronoberg, {parties.region.name}: Telefon</li>" in html
    assert page in forms_of(html)  # the codes in force can be reversed from here
    assert [r.code for r in _standing(db_session, meeting)] == ["XU045"]  # the first tab's: on site
    english = text_of(client.post(action + "?lang=en", data=fill(pairs, **{region: "video"})))
    assert "Your choices (not recorded)" in english
    assert f"<li>Region Kronoberg, {parties.region.name}: Video</li>" in english


def test_the_only_health_care_unit_absent_is_saved_without_codes(
    client, db_session, registry, parties, create_case, now
):
    """Recorded as video by mistake: the region unit never came. The municipality and the person met, so
    the meeting was held; the region records no KVÅ code for it."""
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    response = client.post(action, data=fill(pairs, **{region: "absent"}))
    assert response.status_code == 303
    shown = text_of(client.get(response.headers["Location"]))
    assert "Närvaron är sparad. Ingen hälso- och sjukvårdsenhet deltog i mötet" in shown
    assert _standing(db_session, meeting) == []
    assert len(records(db_session, case)) == 4  # the reversed codes and their reversals, nothing new
    db_session.expire_all()
    assert db_session.get(Attendance, (meeting.id, int(region.removeprefix("mode-")))).mode == "absent"
    assert db_session.get(Meeting, meeting.id).status == "held"


def test_the_only_health_care_unit_absent_at_a_meeting_without_codes(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held_without_care(db_session, registry, parties, create_case, now)
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    assert client.post(action, data=fill(pairs, **{region: "absent"})).status_code == 303
    assert records(db_session, case) == []
    db_session.expire_all()
    assert db_session.get(Attendance, (meeting.id, int(region.removeprefix("mode-")))).mode == "absent"


def test_a_unit_taking_part_without_a_sip_code_is_refused_at_the_form(
    client, db_session, registry, parties, create_case, now
):
    """Taking part but no SIP code set for its organisation: its codes would be missing, not absent."""
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    db_session.exec(delete(CodeAssignment).where(CodeAssignment.organisation_kind == "region"))
    db_session.commit()
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    response = client.post(action, data=fill(pairs, **{region: "on_site"}))
    html = text_of(response)
    assert response.status_code == 400
    assert "ingen SIP-kod är angiven för enheterna som deltog" in html
    assert dict(forms_of(html)[action])[region] == "on_site"
    db_session.expire_all()
    assert db_session.get(Attendance, (meeting.id, int(region.removeprefix("mode-")))).mode == "video"


def test_a_nul_in_the_reason_is_refused_at_the_field_with_the_reason_kept(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _held(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    page, _ = _urls(case, meeting)
    pairs = forms_of(text_of(client.get(page)))[page]
    response = client.post(page, data=fill(pairs, reason="Registrerat\x00 i fel ärende"))
    html = text_of(response)
    assert response.status_code == 400
    assert '<ul class="field-errors" id="f-reason-error"><li>Texten innehåller ett tecken' in html
    assert dict(forms_of(html)[page])["reason"] == "Registrerat i fel ärende"
    assert len(records(db_session, case)) == 2  # nothing reversed


def test_a_nul_in_a_chosen_mode_is_refused_at_its_field(
    client, db_session, registry, parties, create_case, now
):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    region = f"mode-{_region_participant(db_session, case, parties)}"
    response = client.post(action, data=fill(pairs, **{region: "on_site\x00"}))
    html = text_of(response)
    assert response.status_code == 400
    assert f'<ul class="field-errors" id="f-{region}-error"><li>Texten innehåller ett tecken' in html
    assert dict(forms_of(html)[action])[region] == "on_site"
    assert _standing(db_session, meeting) == []


@pytest.mark.parametrize("bad", ["²", "①", "4" * 4400])
def test_ids_in_the_form_that_name_no_row_are_no_500(
    client, db_session, registry, parties, create_case, now, bad
):
    case, meeting = _reversed(db_session, registry, parties, create_case, now, {parties.region.id: "video"})
    login(client, parties.region_user.username)
    pairs = _form(client, case, meeting)
    _, action = _urls(case, meeting)
    # A stale-form marker that names no record is a conflict, as a stale page is.
    assert client.post(action, data=fill(pairs, after=bad)).status_code == 409
    # A mode of a participant that names none is no participant of the meeting: not read.
    assert client.post(action, data=fill(pairs, **{f"mode-{bad}": "on_site"})).status_code == 303
