"""The indicators on a hand-built data set whose right answers are known (SIP.md §6, seeds-digest §8)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from sipflow.coding.models import CodeRecord
from sipflow.stats.services import indicators

EMMABODA, NYBRO, KALMAR = "0862", "0881", "0880"


def table(answer, key="meetings"):
    return next(t for t in answer["tables"] if t["key"] == key)


def rows_by(answer, column, key="meetings"):
    return {row[column]: row for row in table(answer, key)["rows"]}


def answer_for(world, threshold=1, **options):
    settings = world.settings()
    settings.threshold = threshold  # the known answers below are small: disclosure control is tested apart
    return indicators(world.session, world.query(**options), settings)


def test_two_meetings_of_one_person_in_a_quarter_are_one_person_and_two_sips(world):
    """Seeds §8 items 2 and 3: persons are distinct per quarter, SIPs are counted apart."""
    person = world.person()
    case = world.case(person)
    world.meeting(case, date(2026, 1, 10))
    world.meeting(case, date(2026, 2, 20), kind="follow_up")
    total = table(answer_for(world, by="quarter"))["rows"][0]
    assert (total["quarter"], total["persons"], total["sips"]) == ("2026 K1", 1, 2)
    assert (total["first"], total["follow_up"]) == (1, 1)


def test_sips_count_per_municipality_of_registration(world):
    """Seeds §8 item 1: Emmaboda, Emmaboda, Nybro give Emmaboda = 2 and Nybro = 1."""
    for municipality in (EMMABODA, EMMABODA, NYBRO):
        world.meeting(world.case(world.person(municipality)), date(2026, 1, 5), municipality=municipality)
    rows = rows_by(answer_for(world, by="municipality"), "municipality")
    assert rows["Emmaboda"]["sips"] == 2 and rows["Nybro"]["sips"] == 1


def test_only_sip_coded_meetings_count(world):
    """Seeds §8 item 4: a meeting with no SIP code (only a retired or other code) is not a SIP."""
    case = world.case(world.person())
    world.meeting(case, date(2026, 1, 5))
    meeting = world.meeting(case, date(2026, 1, 6))
    for record in world.session.exec(select(CodeRecord).where(CodeRecord.meeting_id == meeting.id)):
        record.kind = "other"
    world.session.flush()
    assert table(answer_for(world))["total"]["sips"] == 1


def test_a_report_filtered_on_a_sip_code_counts_only_meetings_with_that_code(world):
    """Seeds §8 item 4: filtered on XU045 or AU124, only the SIPs coded so are counted."""
    world.meeting(world.case(world.person()), date(2026, 1, 5))
    municipal = world.meeting(world.case(world.person()), date(2026, 1, 5), units=[world.municipality])
    for record in world.session.exec(select(CodeRecord).where(CodeRecord.meeting_id == municipal.id)):
        record.code = "AU124"
    world.session.flush()
    assert table(answer_for(world, code="XU045"))["total"]["sips"] == 1
    assert table(answer_for(world, code="AU124"))["total"]["sips"] == 1
    assert table(answer_for(world))["total"]["sips"] == 2


def test_video_meetings_are_those_with_a_standing_zv051(world):
    """Seeds §8 items 5 and 6: 3 video meetings and 2 in person give video = 3."""
    for video in (True, True, True, False, False):
        world.meeting(world.case(world.person()), date(2026, 3, 1), video=video)
    total = table(answer_for(world))["total"]
    assert (total["sips"], total["video"]) == (5, 3)


def test_share_fully_or_partly_digital(world):
    """Seeds §8 items 7 and 8: 2 fully digital + 1 mixed + 1 on site = 75 %."""
    for classification in ("fully_digital", "fully_digital", "partly_digital", "on_site"):
        world.meeting(world.case(world.person()), date(2026, 2, 1), classification=classification)
    assert table(answer_for(world))["total"]["digital_share"] == 75.0


def test_a_person_who_moves_counts_where_they_lived_at_each_meeting(world):
    person = world.person(EMMABODA)
    case = world.case(person)
    world.meeting(case, date(2026, 2, 1), municipality=EMMABODA)
    world.meeting(case, date(2026, 5, 1), kind="follow_up", municipality=NYBRO)
    rows = {
        (row["quarter"], row["municipality"]): row["persons"]
        for row in table(answer_for(world, end="2026-06-30", by="quarter,municipality"))["rows"]
        if row["persons"]
    }
    assert rows == {("2026 K1", "Emmaboda"): 1, ("2026 K2", "Nybro"): 1}


def test_a_reversal_removes_the_count(world):
    world.meeting(world.case(world.person()), date(2026, 1, 5))
    world.meeting(world.case(world.person()), date(2026, 1, 5), video=True, reversed_=True)
    total = table(answer_for(world))["total"]
    assert (total["persons"], total["sips"], total["video"]) == (1, 1, 0)


def test_same_period_compared_year_on_year(world):
    """Seeds §8 item 9: January-June of each year, side by side, shows the change per year."""
    for year, count in ((2024, 1), (2025, 2), (2026, 3)):
        for _ in range(count):
            world.meeting(world.case(world.person()), date(year, 3, 1))
    rows = rows_by(answer_for(world, start="2026-01-01", end="2026-06-30", compare_years=2), "period")
    # January to June is no calendar year: each period is named by its days.
    assert {period: row["sips"] for period, row in rows.items()} == {
        "2024-01-01 – 2024-06-30": 1,
        "2025-01-01 – 2025-06-30": 2,
        "2026-01-01 – 2026-06-30": 3,
    }


def test_a_compared_period_is_named_by_its_year_only_when_it_is_one_calendar_year(world):
    """July to June compared with the year before covers 2024-07-01 to 2025-06-30: "2025" said otherwise."""
    world.meeting(world.case(world.person()), date(2024, 9, 1))
    world.meeting(world.case(world.person()), date(2025, 9, 1))
    split = rows_by(answer_for(world, start="2025-07-01", end="2026-06-30", compare_years=1), "period")
    assert {period: row["sips"] for period, row in split.items()} == {
        "2024-07-01 – 2025-06-30": 1,
        "2025-07-01 – 2026-06-30": 1,
    }
    whole = rows_by(answer_for(world, start="2025-01-01", end="2025-12-31", compare_years=1), "period")
    assert {period: row["sips"] for period, row in whole.items()} == {"2024": 1, "2025": 1}


def test_split_by_sex_and_age_band_sums_to_the_total_and_kim_is_ej_angivet(world):
    """Seeds §8 item 10: Kim (sex not stated) counts under "ej angivet"; the split sums to the total."""
    world.meeting(world.case(world.person()), date(2026, 1, 5), sex="unknown", age=30)
    world.meeting(world.case(world.person()), date(2026, 1, 5), sex="female", age=16)
    world.meeting(world.case(world.person()), date(2026, 1, 5), sex="male", age=82)
    answer = answer_for(world, by="sex,age_band")
    cells = {(row["sex"], row["age_band"]): row["persons"] for row in table(answer)["rows"]}
    assert cells == {("Ej angivet", "25–44"): 1, ("Kvinna", "0–17"): 1, ("Man", "80+"): 1}
    assert sum(cells.values()) == table(answer)["total"]["persons"]


def test_per_county_and_organisation_type(world):
    """Seeds §8 item 11: reports per county (län) and per organisation responsible."""
    case = world.case(world.person(KALMAR))
    world.meeting(case, date(2026, 1, 5), municipality=KALMAR, units=[world.region, world.municipality])
    world.meeting(world.case(world.person("0780")), date(2026, 1, 5), municipality="0780")
    counties = rows_by(answer_for(world, by="county"), "county")
    assert {name: row["sips"] for name, row in counties.items() if row["sips"]} == {
        "Kalmar län": 1,
        "Kronobergs län": 1,
    }
    kinds = rows_by(answer_for(world, by="organisation_kind", county="08"), "organisation_kind")
    assert {name: row["sips"] for name, row in kinds.items()} == {"Region": 1, "Kommun": 1}


def test_share_with_a_narstaende_present_and_the_person_taking_part(world):
    """Seeds §8 item 18: 2 of 4 SIPs with a relative present = 50 %."""
    for present in (True, True, False, False):
        world.meeting(world.case(world.person()), date(2026, 1, 5), narstaende=present, person_present=True)
    total = table(answer_for(world))["total"]
    assert (total["narstaende_share"], total["person_present_share"]) == (50.0, 100.0)


def test_lead_times_median_and_no_max(world):
    """Seeds §8 item 32: with known timestamps, the median lead time is right; no maximum is shown (it is
    one person's value)."""
    for days in (3, 5, 10):
        case = world.case(world.person(), requested=datetime(2026, 1, 1, 9, tzinfo=UTC))
        world.meeting(case, date(2026, 1, 1 + days))
    lead = table(answer_for(world), "lead_times")["total"]
    assert (lead["request_to_first_n"], lead["request_to_first_median"]) == (3, 5)
    assert "request_to_first_max" not in lead


def test_attendance_per_organisation_type(world):
    """Seeds §8 item 42: how often each organisation type attends, and how."""
    from sipflow.cases.models import Participant
    from sipflow.meetings.models import Attendance

    case = world.case(world.person())
    meeting = world.meeting(case, date(2026, 1, 5))
    participants = world.session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "organisation")
    ).all()
    for participant, mode in zip(participants, ("video", "absent"), strict=False):
        world.session.add(Attendance(meeting_id=meeting.id, participant_id=participant.id, mode=mode))
    world.session.flush()
    rows = rows_by(answer_for(world), "organisation_kind", "attendance")
    assert sum(row["video"] for row in rows.values()) == 1
    assert sum(row["absent"] for row in rows.values()) == 1


def test_offered_versus_accepted(world):
    """Seeds §8 item 25: 5 offered, 4 accepted = 80 %."""
    from sipflow.cases.models import TransitionLog

    accept = next(t.trigger for t in world.registry.latest("sip").transitions if t.form == "consent")
    for index in range(5):
        case = world.case(world.person(), requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
        if index < 4:
            world.session.add(
                TransitionLog(case_id=case.id, at=world.now, trigger=accept, from_state="a", to_state="b")
            )
    world.session.flush()
    total = table(answer_for(world), "outcomes")["total"]
    assert (total["offered"], total["accepted"], total["accepted_share"]) == (5, 4, 80.0)


def test_share_of_follow_ups_held_by_their_date(world):
    """Seeds §8 item 31: a follow-up past its date and not held counts against the share."""
    from sipflow.cases.models import Deadline

    due = datetime(2026, 2, 1, 12, tzinfo=UTC)
    for met in (due, None):
        case = world.case(world.person())
        world.session.add(Deadline(case_id=case.id, kind="follow_up", due_at=due, met_at=met))
    world.session.flush()
    total = table(answer_for(world), "outcomes")["total"]
    assert (total["follow_ups_due"], total["follow_ups_on_time"], total["follow_ups_on_time_share"]) == (
        2,
        1,
        50.0,
    )


def test_four_on_site_and_two_remote_is_partly_digital_and_counts_as_digital(world):
    """Seeds §8 item 8: the classification the meeting outcome derives from per-participant modes counts."""
    from sipflow.meetings.outcome import classify

    classification = classify(["on_site"] * 4 + ["video", "phone"])
    assert classification == "partly_digital"
    world.meeting(world.case(world.person()), date(2026, 1, 5), classification=classification)
    world.meeting(world.case(world.person()), date(2026, 1, 5), classification=classify(["on_site"] * 3))
    assert table(answer_for(world))["total"]["digital_share"] == 50.0


def test_utskrivningsklar_to_kallelse_and_plan_to_follow_up(world):
    """Lead times at discharge (and the share within the deadline), and from the plan to its follow-up."""
    from datetime import timedelta

    from sipflow.cases.models import Deadline

    klar = datetime(2026, 1, 10, 8, tzinfo=UTC)
    for kallelse_after, follow_up_after in ((2, 30), (5, 40)):
        case = world.case(world.person())
        case.utskrivningsklar_at = klar
        world.session.add(
            Deadline(
                case_id=case.id,
                kind="kallelse",
                due_at=klar + timedelta(days=3),
                met_at=klar + timedelta(days=kallelse_after),
            )
        )
        world.meeting(case, date(2026, 1, 20))
        world.meeting(case, date(2026, 1, 20) + timedelta(days=follow_up_after), kind="follow_up")
    lead = table(answer_for(world), "lead_times")["total"]
    assert lead["utskrivningsklar_to_kallelse_median"] == 3.5
    assert (lead["kallelse_within"], lead["kallelse_within_share"]) == (1, 50.0)
    assert lead["plan_to_follow_up_median"] == 35


def test_offered_sips_are_split_by_age_band_at_the_request(world):
    requested = datetime(2026, 1, 5, 9, tzinfo=UTC)
    # 46, 15 and (a day short of 18) 17 years old on the day of the request.
    for birth in (date(1980, 1, 1), date(2010, 6, 1), date(2008, 1, 6)):
        world.case(world.person(birth=birth), requested=requested)
    outcomes = table(answer_for(world, by="age_band"), "outcomes")
    assert {row["age_band"]: row["offered"] for row in outcomes["rows"]} == {"0–17": 2, "45–64": 1}
    assert outcomes["note"] is None


def test_offered_sips_say_they_are_not_split_by_organisation_type(world):
    world.case(world.person(), requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
    outcomes = table(answer_for(world, by="organisation_kind,sex"), "outcomes")
    assert [column["key"] for column in outcomes["columns"]][:1] == ["sex"]
    assert all(row["sex"] != "–" for row in outcomes["rows"])
    assert "organisationstyp" in outcomes["note"]  # said instead of a row of "–"


def _organisations_attend(world, case, meeting, modes=("on_site", "video")):
    """The case's organisation participants attend meeting, in modes (one mode per participant)."""
    from sipflow.cases.models import Participant
    from sipflow.meetings.models import Attendance

    participants = world.session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "organisation")
    ).all()
    assert participants
    for participant, mode in zip(participants, modes, strict=False):
        world.session.add(Attendance(meeting_id=meeting.id, participant_id=participant.id, mode=mode))
    world.session.flush()


def test_attendance_counts_only_the_meetings_of_the_sip_code_asked_for(world):
    """Filtered on AU124, meetings coded XU045 are neither SIPs nor attendance, as on every other table."""
    case = world.case(world.person())
    _organisations_attend(world, case, world.meeting(case, date(2026, 1, 5)))
    assert table(answer_for(world), "attendance")["total"]["invited"] > 0
    filtered = answer_for(world, code="AU124")
    assert table(filtered)["total"]["sips"] == 0
    attendance = table(filtered, "attendance")
    assert attendance["rows"] == [] and attendance["total"]["invited"] == 0


def test_attendance_compared_year_on_year_is_one_row_group_per_period(world):
    """Compared with earlier years, attendance is split by period like the SIP meetings, never summed."""
    for year, meetings in ((2025, 1), (2026, 2)):
        for _ in range(meetings):
            case = world.case(world.person())
            _organisations_attend(world, case, world.meeting(case, date(year, 3, 1)), modes=("video",))
    alone = table(answer_for(world, start="2026-01-01", end="2026-06-30"), "attendance")
    compared = table(answer_for(world, start="2026-01-01", end="2026-06-30", compare_years=1), "attendance")
    assert [column["key"] for column in compared["columns"]][:2] == ["period", "organisation_kind"]
    video = {(row["period"], row["organisation_kind"]): row["video"] for row in compared["rows"]}
    this_year, last_year = "2026-01-01 – 2026-06-30", "2025-01-01 – 2025-06-30"
    assert sum(v for (period, _), v in video.items() if period == this_year) == alone["total"]["video"] == 2
    assert sum(v for (period, _), v in video.items() if period == last_year) == 1
    assert compared["total"] is None  # as the SIP meeting table: no sum over the years compared


def test_offered_sips_say_the_sip_code_filter_does_not_apply_to_them(world):
    world.case(world.person(), requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert table(answer_for(world), "outcomes")["note"] is None
    outcomes = table(answer_for(world, code="AU124"), "outcomes")
    assert outcomes["total"]["offered"] == 1  # an offered SIP has no code yet
    assert "AU124" in outcomes["note"] and "SIP-kod" in outcomes["note"]


def test_medians_read_whole_without_a_decimal_and_a_half_with_one_in_both_languages(world):
    """A median column read "26,0", "22,5", "21": a whole median was a float when the count was even."""
    from flask_babel import force_locale

    from sipflow.stats.exports import shown

    requested = datetime(2026, 1, 1, 9, tzinfo=UTC)
    for municipality, lead_days in ((EMMABODA, (25, 27)), (NYBRO, (21, 24)), (KALMAR, (21,))):
        for days in lead_days:
            case = world.case(world.person(municipality), requested=requested)
            world.meeting(case, date(2026, 1, 1 + days), municipality=municipality)
    rows = rows_by(answer_for(world, by="municipality"), "municipality", "lead_times")
    medians = {name: rows[name]["request_to_first_median"] for name in ("Emmaboda", "Nybro", "Kalmar")}
    assert medians == {"Emmaboda": 26, "Nybro": 22.5, "Kalmar": 21}
    assert type(medians["Emmaboda"]) is int
    for locale, half in (("sv", "22,5"), ("en", "22.5")):
        with world.app.test_request_context(), force_locale(locale):
            assert [shown(medians[name]) for name in ("Emmaboda", "Nybro", "Kalmar")] == ["26", half, "21"]


def test_an_unknown_age_is_named_so_and_not_a_dash(world):
    """The age band of a person without a known age read "–" beside the sex breakdown's "Ej angivet"."""
    from flask_babel import force_locale

    world.meeting(world.case(world.person()), date(2026, 1, 5), age=None)
    world.meeting(world.case(world.person()), date(2026, 1, 5), age=30)
    person = world.person()
    person.birth_date = None
    world.case(person, requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
    answer = answer_for(world, by="age_band")
    assert {row["age_band"]: row["sips"] for row in table(answer)["rows"]} == {"25–44": 1, "Okänd ålder": 1}
    # Offered: only the SIP requested in the period, by a person without a birth date.
    offered = {row["age_band"]: row["offered"] for row in table(answer, "outcomes")["rows"]}
    assert offered == {"Okänd ålder": 1}
    with world.app.test_request_context(), force_locale("en"):
        english = answer_for(world, by="age_band")
    assert [row["age_band"] for row in table(english)["rows"]] == ["25–44", "Age unknown"]


def test_the_attendance_column_of_everyone_recorded_absent_too_says_they_were_invited(world):
    """ "Taking part in the SIP" counted the absent too: it is everyone called to the meeting."""
    from flask_babel import force_locale

    case = world.case(world.person())
    _organisations_attend(world, case, world.meeting(case, date(2026, 1, 5)), modes=("video", "absent"))
    attendance = table(answer_for(world), "attendance")
    labels = {column["key"]: column["label"] for column in attendance["columns"]}
    assert labels["invited"] == "Kallade till SIP-mötet" and labels["absent"] == "Frånvarande"
    assert (attendance["total"]["invited"], attendance["total"]["absent"]) == (2, 1)
    with world.app.test_request_context(), force_locale("en"):
        english = table(answer_for(world), "attendance")
    assert {column["key"]: column["label"] for column in english["columns"]}["invited"] == (
        "Invited to the SIP meeting"
    )
