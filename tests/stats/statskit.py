"""Builders of a hand-made statistics world: cases, held meetings, attendance and code records."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from support import new_case, new_person
from webkit import login

from sipflow.admin.models import CoordinatorScope
from sipflow.cases.models import Participant
from sipflow.coding.models import CodeRecord
from sipflow.meetings.models import Attendance, Meeting
from sipflow.stats.services import Settings, parse_query, settings_from


class World:
    """A region unit and a municipality unit with a staff user, and helpers to add coded meetings."""

    def __init__(self, session, app, registry, make_unit, make_user, now):
        self.session, self.app, self.registry, self.now = session, app, registry, now
        self.region = make_unit("region", "Region Kalmar")
        self.municipality = make_unit("municipality", "Nybro kommun")
        self.user = make_user(self.region)

    def person(self, municipality="0881", birth=date(1980, 1, 1), sex=None):
        person = new_person(
            self.session,
            self.app.config["PNR_HASH_KEY"],
            now=self.now,
            birth=birth,
            municipality=municipality,
        )
        if sex:
            person.legal_sex = sex
        self.session.flush()
        return person

    def case(self, person, *, requested=None):
        case = new_case(
            self.session,
            self.registry,
            self.user,
            workflow="sip",
            person=person,
            unit_ids=[self.region.id, self.municipality.id],
            now=self.now,
        )
        if requested:
            case.requested_at = requested
        self.session.flush()
        return case

    def meeting(
        self,
        case,
        held_on: date,
        *,
        kind="first",
        municipality="0881",
        sex="female",
        age=40,
        video=False,
        classification="on_site",
        narstaende=False,
        person_present=False,
        reversed_=False,
        units=None,
    ):
        """A held meeting with a SIP code record per unit (and ZV051 when video); returns the meeting."""
        at = datetime.combine(held_on, time(10), tzinfo=UTC)
        meeting = Meeting(
            case_id=case.id,
            kind=kind,
            status="held",
            mode="video" if video else "on_site",
            starts_at=at,
            ends_at=at,
            held_at=at,
            classification=classification,
        )
        self.session.add(meeting)
        self.session.flush()
        for participant_kind, present in (("narstaende", narstaende), ("person", person_present)):
            participant = Participant(case_id=case.id, kind=participant_kind, name="X", added_at=self.now)
            self.session.add(participant)
            self.session.flush()
            self.session.add(
                Attendance(
                    meeting_id=meeting.id,
                    participant_id=participant.id,
                    mode="on_site" if present else "absent",
                )
            )
        for unit in units or [self.region]:
            codes = [("XU045", "sip")] + ([("ZV051", "distance")] if video else [])
            for code, code_kind in codes:
                record = self.record(
                    case, meeting, unit, code, code_kind, held_on, kind, municipality, sex, age
                )
                if reversed_:
                    self.record(
                        case,
                        meeting,
                        unit,
                        code,
                        code_kind,
                        held_on,
                        kind,
                        municipality,
                        sex,
                        age,
                        sign=-1,
                        reverses=record.id,
                    )
        self.session.flush()
        return meeting

    def record(
        self,
        case,
        meeting,
        unit,
        code,
        code_kind,
        held_on,
        kind,
        municipality,
        sex,
        age,
        *,
        sign=1,
        reverses=None,
    ):
        org_kind = "region" if unit.organisation_id == self.region.organisation_id else "municipality"
        record = CodeRecord(
            case_id=case.id,
            meeting_id=meeting.id,
            unit_id=unit.id,
            organisation_id=unit.organisation_id,
            code=code,
            kind=code_kind,
            sign=sign,
            reverses_id=reverses,
            held_on=held_on,
            meeting_kind=kind,
            person_id=case.person_id,
            municipality_code=municipality,
            legal_sex=sex,
            age_years=age,
            occasion=case.occasion,
            organisation_kind=org_kind,
            recorded_at=self.now,
        )
        self.session.add(record)
        self.session.flush()
        return record

    def settings(self) -> Settings:
        return settings_from(self.app.config, self.registry)

    def query(self, start="2026-01-01", end="2026-03-31", **options):
        """The query, counted on the fixed now of the tests (2026-11-02) unless told otherwise."""
        options.setdefault("now", self.now)
        return parse_query(self.session, start=start, end=end, **options)


def coordinator_client(client, make_user, db_session, username, counties=(), municipalities=()):
    """client logged in as a coordinator (no unit) following these counties and municipalities (none: all)."""
    user = make_user(None, "coordinator", username)
    for code in counties:
        db_session.add(CoordinatorScope(user_id=user.id, county_code=code))
    for code in municipalities:
        db_session.add(CoordinatorScope(user_id=user.id, municipality_code=code))
    db_session.commit()
    login(client, username)
    return client
