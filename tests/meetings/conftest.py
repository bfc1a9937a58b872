"""Fixtures for the meeting tests: a SIP ready for its kallelse, with invitees that have addresses.

Every meeting test runs on the frozen clock (FIXED_NOW, a Monday in November): the pages, the services
and the tests' own "a week from now" all read the same instant, whatever day or hour the suite runs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import ITIP_SECRET, Ready, everyone, fire, next_week_at
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.models import Meeting


@pytest.fixture(autouse=True)
def _meetings_on_the_frozen_clock(frozen_clock):
    """Freeze sipflow's clock for every test in this folder."""
    return frozen_clock


@pytest.fixture
def ready(db_session, registry, parties, create_case) -> Ready:
    """A SIP in state preparing: region (initiator), municipality, the person and two närstående."""
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent")
    fire(db_session, registry, parties.region_user, case, "start_preparation")
    with unit_of_work(db_session):
        relative = services.add_private_participant(
            db_session,
            registry,
            case,
            kind="narstaende",
            name="Eva Andersson",
            relation="syster",
            email="eva.andersson@example.se",
            phone=None,
            now=now_utc(),
        )
        silent = services.add_private_participant(
            db_session,
            registry,
            case,
            kind="narstaende",
            name="Olle Andersson",
            relation="bror",
            email=None,
            phone="070-000 00 00",
            now=now_utc(),
        )
        rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        by_org = {p.organisation_id: p for p in rows if p.kind == "organisation"}
        municipality = by_org[parties.municipality.organisation_id]
        municipality.contact_user_id = parties.municipality_user.id
        person = next(p for p in rows if p.kind == "person")
        person.email = "testa.person@example.se"
        db_session.add_all([municipality, person])
    return Ready(
        case=case,
        region=by_org[parties.region.organisation_id],
        municipality=municipality,
        person=person,
        relative=relative,
        relative_without_email=silent,
    )


@pytest.fixture
def book(db_session, registry, parties, ready):
    """Send the kallelse by booking a meeting through sipflow; returns the meeting."""

    def run(**overrides) -> Meeting:
        starts_at = next_week_at(10)
        data = {
            "send_invitations": True,
            "meeting_starts_at": starts_at,
            "meeting_ends_at": starts_at + timedelta(hours=1),
            "mode": "video",
            "invitee_ids": everyone(ready),
        } | overrides
        log = fire(db_session, registry, parties.region_user, ready.case, "send_kallelse", **data)
        return db_session.get(Meeting, log.details["meeting_id"])

    return run


@pytest.fixture
def english_invitee(db_session, parties):
    """The municipality's user reads English: their invitations are written in it."""
    english = parties.municipality_user
    english.language = "en"
    with unit_of_work(db_session):
        db_session.add(english)
    return english


@pytest.fixture
def itip_secret(app):
    """The app with SIPFLOW_ITIP_REPLY_SECRET set (app.config is shared: restored afterwards)."""
    saved = app.config["ITIP_REPLY_SECRET"]
    app.config["ITIP_REPLY_SECRET"] = ITIP_SECRET
    yield ITIP_SECRET
    app.config["ITIP_REPLY_SECRET"] = saved


@pytest.fixture
def reply_to(app):
    """The app with SIPFLOW_REPLY_TO set to a shared, staffed mailbox; restored afterwards."""
    saved = app.config["REPLY_TO"]
    app.config["REPLY_TO"] = "sip-bokning@region.example.se"
    yield app.config["REPLY_TO"]
    app.config["REPLY_TO"] = saved


@pytest.fixture
def region_only(db_session, registry, parties, create_case):
    """A SIP in preparation whose consent leaves Växjö kommun out; it takes part all the same, reachable.

    The consent covers Region Kronoberg and the school (a SIP needs two organisations that can see it).
    """
    case = create_case(units=[parties.municipality.id, parties.school.id])
    fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        organisation_ids=[parties.region.organisation_id, parties.school.organisation_id],
    )
    fire(db_session, registry, parties.region_user, case, "start_preparation")
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    by_org = {p.organisation_id: p for p in rows if p.kind == "organisation"}
    with unit_of_work(db_session):
        municipality = by_org[parties.municipality.organisation_id]
        municipality.email = "ifo@vaxjo.example.se"
        db_session.add(municipality)
    person = next(p for p in rows if p.kind == "person")
    return case, by_org[parties.region.organisation_id], municipality, person
