"""The KVÅ codes name each unit with its organisation: unit names repeat across organisations.

A municipality starts the SIP and the person moves: Växjö kommun's and Alvesta kommun's home health care are
both "Hemsjukvården" and each records AU124, so "AU124, Hemsjukvården" twice did not say which municipality
recorded which.
"""

from __future__ import annotations

import re
from datetime import timedelta

import support
from codingkit import hold, reverse_now, to_meeting
from sqlalchemy import delete
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.db import unit_of_work
from sipflow.meetings.models import Attendance, Meeting

HOME_CARE = "Hemsjukvården"


def test_the_case_page_and_the_correction_name_each_units_organisation(
    client, db_session, registry, catalogue, make_unit, make_user, make_person, now
):
    vaxjo = make_unit("municipality", "Växjö kommun", unit_name=HOME_CARE, health_care=True)
    alvesta = make_unit("municipality", "Alvesta kommun", unit_name=HOME_CARE, health_care=True)
    region = make_unit("region", "Region Kronoberg", unit_name="Psykiatrimottagningen")
    sara = make_user(vaxjo)
    case = support.new_case(
        db_session,
        registry,
        sara,
        workflow="sip",
        person=make_person(),
        unit_ids=[region.id, alvesta.id],
        now=now,
    )
    db_session.commit()
    to_meeting(db_session, registry, sara, case, now)
    hold(
        db_session,
        registry,
        sara,
        case,
        now + timedelta(minutes=5),
        {vaxjo.id: "on_site", alvesta.id: "video", region.id: "on_site"},
    )
    login(client, sara.username)
    page = " ".join(re.sub(r"<[^>]+>", " ", text_of(client.get(f"/cases/{case.uid}"))).split())
    codes = page[page.index("KVÅ-koder") :]
    assert f"AU124 , Växjö kommun, {HOME_CARE}" in codes
    assert f"AU124 , Alvesta kommun, {HOME_CARE}" in codes
    assert "XU045 , Region Kronoberg, Psykiatrimottagningen" in codes
    # Reversed, the form to record them again names each unit the same way.
    with unit_of_work(db_session):
        reverse_now(db_session, meeting_of(db_session, case), sara, "Fel närvaro", now + timedelta(minutes=9))
    meeting = meeting_of(db_session, case)
    form = text_of(client.get(f"/cases/{case.uid}/meetings/{meeting.id}/codes/correct"))
    labels = re.findall(r'<label class="label" for="f-mode-\d+">([^<]*)</label>', form)
    assert labels == [
        f"Alvesta kommun, {HOME_CARE}",
        "Region Kronoberg, Psykiatrimottagningen",
        f"Växjö kommun, {HOME_CARE}",
    ]


def meeting_of(db_session, case) -> Meeting:
    return db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()


def test_a_municipal_care_unit_absent_is_not_told_the_region_records_no_code(
    client, db_session, registry, catalogue, make_unit, make_user, make_person, now
):
    # The municipality's home health care records AU124: with it absent the meeting has no code, whoever's.
    ifo = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten (IFO)")
    home_care = make_unit("municipality", "Alvesta kommun", unit_name=HOME_CARE, health_care=True)
    sara = make_user(ifo)
    case = support.new_case(
        db_session, registry, sara, workflow="sip", person=make_person(), unit_ids=[home_care.id], now=now
    )
    db_session.commit()
    to_meeting(db_session, registry, sara, case, now)
    # The outcome left the home health care's attendance unrecorded: the meeting has no codes.
    hold(db_session, registry, sara, case, now + timedelta(minutes=5), {ifo.id: "on_site"})
    meeting = meeting_of(db_session, case)
    db_session.execute(delete(Attendance).where(Attendance.meeting_id == meeting.id))
    db_session.commit()
    login(client, sara.username)
    page = f"/cases/{case.uid}/meetings/{meeting.id}/codes/correct"
    action = f"/cases/{case.uid}/meetings/{meeting.id}/codes/record"
    pairs = forms_of(text_of(client.get(page)))[action]
    [mode] = [name for name, _ in pairs if name.startswith("mode-")]
    for lang, said, not_said in (
        ("sv", "så ingen KVÅ-kod registreras för det", "regionen"),
        ("en", "so no KVÅ code is recorded for it", "region"),
    ):
        saved = client.post(
            f"{action}?lang={lang}", data=fill(pairs, **{mode: "absent"}), follow_redirects=True
        )
        message = re.search(r'<p class="flash [^"]*"[^>]*>(.*?)</p>', text_of(saved), re.S).group(1)
        assert said in message and not_said not in message
