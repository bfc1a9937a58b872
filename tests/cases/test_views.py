"""The case pages through the test client, CSRF on: login, Mina SIP, the case page, its forms, Ny SIP."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import support
from sqlmodel import func, select
from support import valid_personnummer
from webkit import csrf_token, fill, forms_of, login, spoken, text_of, without_tokens
from werkzeug.datastructures import MultiDict

from sipflow.areas import load_areas
from sipflow.cases.forms import FORM_CLASSES
from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.clock import first_working_day, now_utc, to_local
from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.models import Person
from sipflow.workflow.registry import INPUTS as INPUT_KINDS

FEWER_THAN_TWO = "Minst två organisationer måste delta i en SIP och kunna se den enligt samtycket."

# The workflow files name guards, effects and inputs the areas register.
load_areas()

# The pages and the test read one clock: sipflow's, frozen at FIXED_NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def fire_by_service(db_session, registry, actor, case, trigger):
    """Move a case one step the way the lifecycle tests do (sipflow's clock, as the views use)."""
    support.fire(db_session, registry, actor, case, trigger, now=now_utc())


def reload(db_session, case) -> SipCase:
    db_session.expire_all()
    return db_session.get(SipCase, case.id)


def count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model)).one()


def case_url(case) -> str:
    return f"/cases/{case.uid}"


def outcome_url(case) -> str:
    return f"/cases/{case.uid}/meetings/outcome"


def action_url(case, trigger) -> str:
    return f"/cases/{case.uid}/transitions/{trigger}"


# --- Forms ------------------------------------------------------------------------------------------------


def test_there_is_a_form_for_every_input_kind():
    assert set(FORM_CLASSES) == set(INPUT_KINDS)


# --- Login ------------------------------------------------------------------------------------------------


def test_login_page_logs_in_and_out(client, parties):
    page = client.get("/login")
    assert page.status_code == 200
    html = text_of(page)
    assert '<label class="label" for="username">' in html and 'for="password"' in html
    response = login(client, parties.region_user.username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Mina SIP" in text_of(home)
    assert parties.region_user.display_name in text_of(home)
    logout = client.post("/logout", data={"csrf_token": csrf_token(text_of(home))})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_shows_the_error(client, parties):
    response = login(client, parties.region_user.username, "not the password")
    assert response.status_code == 200
    html = text_of(response)
    assert "Fel användarnamn eller lösenord." in html
    assert 'id="password-error"' in html and 'aria-describedby="password-error"' in html


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/cases/new").status_code == 302


def test_a_post_without_csrf_token_is_refused(as_region, db_session):
    response = as_region.post("/cases/new", data={"workflow_name": "sip", "identifier": "x"})
    assert response.status_code == 400
    assert count(db_session, SipCase) == 0


# --- Mina SIP ---------------------------------------------------------------------------------------------


def test_my_cases_lists_the_cases_the_organisation_may_see_only(
    client, parties, create_case, db_session, registry
):
    shared = create_case()
    discharge = create_case("sip_discharge")
    pending = create_case()
    others = create_case(actor=parties.outsider_user, units=[])
    # The municipality takes part in the first three, but sees a case only once a consent covers it.
    for case in (shared, discharge):
        fire_by_service(db_session, registry, parties.region_user, case, "give_consent")
    login(client, parties.municipality_user.username)
    html = text_of(client.get("/cases"))
    assert shared.reference in html and discharge.reference in html
    assert pending.reference not in html and others.reference not in html
    assert "SIP vid utskrivning" in html and "Samtycke givet" in html
    assert "Testa Person" in html
    person = db_session.get(Person, shared.person_id)
    assert f"{person.id_number[:8]}-****" in html and person.id_number not in html
    # Each case's next deadline: the kallelse, with its label and local time.
    assert "Kallelse:" in html


def test_mina_sip_says_sip_in_the_plural_as_the_menu_does(as_region):
    # "Mina SIP", "Inga SIP under perioden": the plural of SIP is SIP, not "SIP:ar".
    html = text_of(as_region.get("/cases?lang=sv"))
    assert "De SIP din organisation får se" in html and "Visa personens SIP<" in html
    assert "SIP:ar" not in html and "SIP:ar" not in text_of(as_region.get("/?lang=sv"))


def test_my_cases_shows_newest_activity_first_and_overdue(
    as_region, parties, create_case, db_session, registry, now, frozen_clock
):
    # Fixture cases start at the fixed `now`; the older case's consent comes a minute later.
    older = create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=10))
    newer = create_case()
    frozen_clock.advance(timedelta(minutes=1))
    fire_by_service(db_session, registry, parties.region_user, older, "give_consent")
    html = text_of(as_region.get("/cases"))
    assert html.index(older.reference) < html.index(newer.reference)
    assert "(försenad)" in html


def test_my_cases_paginates(as_region, create_case, db_session):
    cases = [create_case() for _ in range(51)]
    first = text_of(as_region.get("/cases"))
    assert first.count("/cases/" + cases[0].uid[:4]) <= 1
    assert 'rel="next"' in first and 'rel="prev"' not in first
    shown_first = sum(1 for c in cases if c.reference in first)
    assert shown_first == 50
    next_page = html_lib.unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))
    second = text_of(as_region.get(next_page))
    assert sum(1 for c in cases if c.reference in second) == 1
    assert 'rel="prev"' in second and 'rel="next"' not in second
    for garbage in ("abc", "-5", "99999999999999999999999"):
        assert as_region.get(f"/cases?after={garbage}").status_code == 200


# --- The case page ----------------------------------------------------------------------------------------


def test_case_page_shows_the_case_and_only_the_allowed_actions(
    as_region, client, parties, create_case, db_session, registry
):
    case = create_case()
    fire_by_service(db_session, registry, parties.region_user, case, "give_consent")
    response = as_region.get(case_url(case))
    assert response.status_code == 200
    html = text_of(response)
    assert "Samtycke givet" in html
    assert "Region Kronoberg" in html and "Växjö kommun" in html and "initiativtagare" in html
    assert "Skriftligt" in html and "Uppgifter som behövs för planeringen" in html
    assert "Registrera samtycke" in html and "från Initierad till Samtycke givet" in spoken(html)
    assert "Folkbokföringskommun" in html and "Växjö" in html
    actions = {a for a in forms_of(html) if "/transitions/" in a}
    assert actions == {
        action_url(case, "start_preparation"),
        action_url(case, "withdraw_consent"),
        action_url(case, "cancel"),
    }
    # The municipality takes part but did not start the SIP: it may not cancel it.
    client.post("/logout", data={"csrf_token": csrf_token(html)})
    login(client, parties.municipality_user.username)
    actions = {a for a in forms_of(text_of(client.get(case_url(case)))) if "/transitions/" in a}
    assert actions == {action_url(case, "start_preparation"), action_url(case, "withdraw_consent")}


def test_warning_when_the_municipality_does_not_take_part(as_region, create_case):
    case = create_case(units=[])
    html = text_of(as_region.get(case_url(case)))
    assert "Kommunen deltar inte i denna SIP." in html


def test_another_organisations_case_is_not_found_like_a_random_uid(client, parties, create_case):
    case = create_case()
    login(client, parties.outsider_user.username)
    hidden = client.get(case_url(case))
    random = client.get("/cases/" + "0" * 32)
    assert hidden.status_code == random.status_code == 404
    assert without_tokens(text_of(hidden)) == without_tokens(text_of(random))
    assert case.reference not in text_of(hidden)
    refused = client.post(action_url(case, "give_consent"), data={"csrf_token": csrf_token(text_of(hidden))})
    assert refused.status_code == 404


def test_give_consent_through_the_form(as_region, parties, create_case, db_session):
    case = create_case()
    page = forms_of(text_of(as_region.get(case_url(case))))
    form = page[action_url(case, "give_consent")]
    valid_until = (to_local(now_utc()).date() + timedelta(days=365)).isoformat()
    data = fill(form, **{"give_consent-form": "written", "give_consent-valid_until": valid_until})
    # The organisations taking part are ticked already.
    assert sorted(data.getlist("give_consent-organisation_ids")) == sorted(
        [str(parties.region.organisation_id), str(parties.municipality.organisation_id)]
    )
    response = as_region.post(action_url(case, "give_consent"), data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == case_url(case)
    case = reload(db_session, case)
    assert (case.state, case.version) == ("consent_given", 2)
    log = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "give_consent")
    ).one()
    assert (log.from_state, log.to_state, log.user_id) == (
        "requested",
        "consent_given",
        parties.region_user.id,
    )
    html = text_of(as_region.get(case_url(case)))
    assert "Registrera samtycke: sparat. SIP:en är nu: Samtycke givet." in html
    assert valid_until in html


def test_a_stale_version_is_a_conflict_and_changes_nothing(as_region, parties, create_case, db_session):
    case = create_case()
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "give_consent")]
    # Someone else records a declined consent while the form is open.
    other = fill(
        forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "cancel")],
        **{"cancel-reason": "Felregistrerad"},
    )
    assert as_region.post(action_url(case, "cancel"), data=other).status_code == 303
    response = as_region.post(
        action_url(case, "give_consent"), data=fill(form, **{"give_consent-form": "oral"})
    )
    assert response.status_code == 409
    assert "Någon annan har ändrat denna SIP medan du arbetade." in text_of(response)
    case = reload(db_session, case)
    assert (case.state, case.version) == ("cancelled", 2)
    assert count(db_session, TransitionLog) == 2


def test_a_party_without_the_role_is_refused(client, parties, create_case, db_session, registry):
    case = create_case()
    fire_by_service(db_session, registry, parties.region_user, case, "give_consent")
    # The consent covers the municipality, so it sees the case; but only the initiator may cancel it.
    login(client, parties.municipality_user.username)
    html = text_of(client.get(case_url(case)))
    data = {"cancel-csrf_token": csrf_token(html), "cancel-version": "2", "cancel-reason": "Felregistrerad"}
    response = client.post(action_url(case, "cancel"), data=data)
    assert response.status_code == 403
    assert "Din organisations roll i denna SIP tillåter inte det steget." in text_of(response)
    case = reload(db_session, case)
    assert (case.state, case.version) == ("consent_given", 2)
    assert count(db_session, TransitionLog) == 2


def test_a_step_not_possible_in_the_state_is_refused(as_region, create_case, db_session):
    case = create_case()
    token = csrf_token(text_of(as_region.get(case_url(case))))
    response = as_region.post(
        action_url(case, "close"),
        data={"close-csrf_token": token, "close-version": "1", "close-reason": "Klart"},
    )
    assert response.status_code == 409
    assert "Det steget går inte i SIP:ens nuvarande läge (Initierad)." in text_of(response)
    assert reload(db_session, case).state == "requested"
    unknown = as_region.post(action_url(case, "teleport"), data={"csrf_token": token})
    assert unknown.status_code == 404


def test_invalid_input_gives_errors_beside_the_fields(as_region, parties, create_case, db_session):
    case = create_case()
    token = csrf_token(text_of(as_region.get(case_url(case))))
    response = as_region.post(
        action_url(case, "give_consent"),
        data={
            "give_consent-csrf_token": token,
            "give_consent-version": "1",
            "give_consent-given_by": "person",
            "give_consent-organisation_ids": "not-a-number",
            "give_consent-valid_until": "2099-13-45",
        },
    )
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="give_consent-form-error"' in html
    assert 'id="give_consent-organisation_ids-error"' in html
    assert 'id="give_consent-valid_until-error"' in html
    garbage_version = as_region.post(
        action_url(case, "give_consent"),
        data={
            "give_consent-csrf_token": token,
            "give_consent-version": "x",
            "give_consent-form": "oral",
            "give_consent-given_by": "person",
            "give_consent-organisation_ids": str(parties.region.organisation_id),
        },
    )
    assert garbage_version.status_code == 400
    # A business rule of the service lands beside its field too, with nothing written.
    past = as_region.post(
        action_url(case, "give_consent"),
        data={
            "give_consent-csrf_token": token,
            "give_consent-version": "1",
            "give_consent-form": "oral",
            "give_consent-given_by": "person",
            "give_consent-valid_until": "2020-01-01",
            "give_consent-organisation_ids": str(parties.region.organisation_id),
        },
    )
    assert past.status_code == 400
    assert "Samtycket kan inte upphöra före i dag." in text_of(past)
    assert 'id="give_consent-valid_until-error"' in text_of(past)
    assert reload(db_session, case).version == 1


def test_a_failed_guard_is_shown_at_the_top(as_region, parties, create_case, db_session, registry):
    case = create_case(units=[])
    fire_by_service(db_session, registry, parties.region_user, case, "give_consent")
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "start_preparation")]
    response = as_region.post(action_url(case, "start_preparation"), data=MultiDict(form))
    assert response.status_code == 409
    assert FEWER_THAN_TWO in text_of(response)
    assert reload(db_session, case).state == "consent_given"


def test_the_whole_lifecycle_through_the_forms(as_region, parties, create_case, db_session):
    case = create_case()
    today = to_local(now_utc()).date()
    later = to_local(now_utc() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    steps = [
        ("give_consent", {"give_consent-form": "oral"}),
        ("start_preparation", {"start_preparation-questions": "Vem gör vad?"}),
        (
            "send_kallelse",
            {
                "send_kallelse-channel": "LINK",
                "send_kallelse-meeting_starts_at": later,
                "send_kallelse-mode": "video",
                "send_kallelse-location": "Vårdcentralen",
            },
        ),
        (
            "hold_meeting",
            {
                # Recorded today, not on the booked day a week ahead: said on purpose.
                "moved": "y",
                "decisions-0-text": "Kontakta boendestödet",
                "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
                "decisions-0-due_on": (today + timedelta(days=14)).isoformat(),
            },
        ),
        ("establish_plan", None),
        ("close", {"close-reason": "Målen är nådda"}),
    ]
    for trigger, values in steps:
        if values is None:
            # The plan is written, given huvudansvar and established on its own page.
            write_and_establish_the_plan(as_region, case, parties, today)
            continue
        page = text_of(as_region.get(case_url(case)))
        url = action_url(case, trigger)
        if trigger == "hold_meeting":
            # The meeting is recorded on a page of its own, which the case page links to.
            url = outcome_url(case)
            assert f'href="{url}"' in page
            form = forms_of(text_of(as_region.get(url)))[url]
            attendance = {name: "video" for name, _ in form if name.startswith("attendance_")}
            assert len(attendance) == 3  # two organisations and the person
            values = {**values, **attendance}
        else:
            form = forms_of(page)[url]
        response = as_region.post(url, data=fill(form, **values))
        assert response.status_code == 303, (trigger, text_of(response))
    case = reload(db_session, case)
    assert (case.state, case.closed_reason) == ("closed", "Målen är nådda")
    html = text_of(as_region.get(case_url(case)))
    assert "Kontakta boendestödet: Växjö kommun" in html
    assert "Avslutad" in html and "Målen är nådda" in html
    assert "Video" in html
    assert not {a for a in forms_of(html) if "/transitions/" in a}


def write_and_establish_the_plan(client, case, parties, today):
    """Fill the plan editor with a complete plan, give huvudansvar, establish: each through its form."""
    plan_url = f"/cases/{case.uid}/plan"
    form = forms_of(text_of(client.get(plan_url)))[plan_url]
    values = {
        "action": "save",
        "own_goals-1-text": "Det är viktigt för mig att ha ett arbete",
        "efforts-0-what": "Kontakta boendestödet",
        "efforts-0-organisation_id": parties.municipality.organisation_id,
        "efforts-0-responsible": "Omar Lind",
        "no_other_measures": "y",
        "follow_up_on": first_working_day(today + timedelta(days=90)).isoformat(),
    }
    assert client.post(plan_url, data=fill(form, **values)).status_code == 303
    form = forms_of(text_of(client.get(plan_url)))[f"{plan_url}/huvudansvar"]
    given = client.post(
        f"{plan_url}/huvudansvar",
        data=fill(form, **{"handover-organisation_id": parties.region.organisation_id}),
    )
    assert given.status_code == 303
    form = forms_of(text_of(client.get(plan_url)))[f"{plan_url}/establish"]
    assert client.post(f"{plan_url}/establish", data=fill(form)).status_code == 303


def test_a_half_filled_decision_is_an_error_beside_it(as_region, parties, create_case, db_session, registry):
    case = create_case()
    for trigger in ("give_consent", "start_preparation", "send_kallelse"):
        fire_by_service(db_session, registry, parties.region_user, case, trigger)
    url = outcome_url(case)
    form = forms_of(text_of(as_region.get(url)))[url]
    response = as_region.post(url, data=fill(form, moved="y", **{"decisions-0-text": "Något"}))
    assert response.status_code == 400
    assert 'id="decisions-0-owner-error"' in text_of(response)
    assert '<a href="#decisions-0-owner">' in text_of(response)  # the error summary leads to it
    assert 'value="Något"' in text_of(response)
    missing = as_region.post(url, data=fill(form, moved="y"))
    assert missing.status_code == 409
    assert "Registrera minst ett beslut med ansvarig och datum" in text_of(missing)
    assert reload(db_session, case).state == "invited"


def test_add_participants(as_region, parties, create_case, db_session):
    case = create_case(units=[])
    page = forms_of(text_of(as_region.get(case_url(case))))
    unit_form = page[f"/cases/{case.uid}/participants/unit"]
    response = as_region.post(
        f"/cases/{case.uid}/participants/unit",
        data=fill(unit_form, **{"unit-unit_id": parties.municipality.id}),
    )
    assert response.status_code == 303
    # Each change raises the SIP's version: the next form is read from the page as it is now.
    page = forms_of(text_of(as_region.get(case_url(case))))
    private_form = page[f"/cases/{case.uid}/participants/private"]
    response = as_region.post(
        f"/cases/{case.uid}/participants/private",
        data=fill(
            private_form,
            **{
                "private-kind": "narstaende",
                "private-name": "Eva Andersson",
                "private-relation": "mamma",
                "private-phone": "070-123 45 67",
            },
        ),
    )
    assert response.status_code == 303
    html = text_of(as_region.get(case_url(case)))
    assert "Växjö kommun" in html and "Eva Andersson" in html and "mamma" in html
    assert "Kommunen deltar inte" not in html
    private_form = forms_of(html)[f"/cases/{case.uid}/participants/private"]
    bad = as_region.post(
        f"/cases/{case.uid}/participants/private",
        data=fill(
            private_form,
            **{"private-kind": "narstaende", "private-name": "", "private-email": "inte en adress"},
        ),
    )
    assert bad.status_code == 400
    assert 'id="private-name-error"' in text_of(bad) and 'id="private-email-error"' in text_of(bad)
    rows = db_session.exec(select(func.count()).where(Participant.case_id == case.id)).one()
    assert rows == 4


# --- Ny SIP -----------------------------------------------------------------------------------------------


def new_case_data(client, **values) -> MultiDict:
    """The Ny SIP form as the page gives it, filled in for Kim Berg of Växjö, values on top."""
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    defaults = {
        "workflow_name": "sip",
        "given_name": "Kim",
        "family_name": "Berg",
        "home_municipality_code": "0780",
    }
    return fill(form, **(defaults | values))


def test_new_case_form_offers_kinds_municipalities_and_other_units(as_region, parties):
    html = text_of(as_region.get("/cases/new"))
    assert "SIP vid utskrivning" in html and "SIP för barn och unga" in html
    assert '<optgroup label="Kronobergs län">' in html and ">Växjö<" in html
    assert f'value="{parties.municipality.id}"' in html
    assert f'id="unit_ids-{parties.region.id}"' not in html
    assert 'for="identifier"' in html and 'for="utskrivningsklar_at"' in html


def test_new_case_with_a_wrong_check_digit_writes_nothing(as_region, db_session):
    good = valid_personnummer(to_local(now_utc()).date().replace(year=1985))
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    data = new_case_data(as_region, identifier=wrong)
    response = as_region.post("/cases/new", data=data)
    assert response.status_code == 400
    html = text_of(response)
    assert "Kontrollsiffran stämmer inte." in html
    assert 'id="identifier-error"' in html and 'aria-describedby="identifier-help identifier-error"' in html
    assert count(db_session, Person) == 0 and count(db_session, SipCase) == 0


def test_new_case_for_someone_born_1850_is_refused_at_the_field(as_region, db_session):
    # The tester's 18500101-1237: 176 years old, a typo in the year.
    response = as_region.post("/cases/new", data=new_case_data(as_region, identifier="18500101-1237"))
    assert response.status_code == 400
    html = text_of(response)
    assert "Födelsedatumet ger en ålder över 130 år: kontrollera numret." in html
    assert 'id="identifier-error"' in html
    assert count(db_session, Person) == 0 and count(db_session, SipCase) == 0


def test_new_case_with_an_unknown_municipality_is_refused(as_region, db_session):
    data = new_case_data(
        as_region,
        identifier=valid_personnummer(to_local(now_utc()).date().replace(year=1970)),
        home_municipality_code="9999",
    )
    response = as_region.post("/cases/new", data=data)
    assert response.status_code == 400
    assert "Okänd kommun." in text_of(response)
    assert 'id="home_municipality_code-error"' in text_of(response)
    assert count(db_session, Person) == 0


def test_discharge_needs_utskrivningsklar(as_region, db_session):
    data = new_case_data(
        as_region,
        workflow_name="sip_discharge",
        identifier=valid_personnummer(to_local(now_utc()).date().replace(year=1950)),
    )
    response = as_region.post("/cases/new", data=data)
    assert response.status_code == 400
    html = text_of(response)
    assert "Ange när patienten anmäldes utskrivningsklar." in html
    assert 'id="utskrivningsklar_at-error"' in html
    # register_person ran before create_case refused: the unit of work rolled it back.
    assert count(db_session, Person) == 0 and count(db_session, SipCase) == 0


def test_a_valid_new_case_is_started_and_shown(as_region, parties, db_session):
    pnr = valid_personnummer(to_local(now_utc()).date().replace(year=1992, day=1), serial=42)
    ready = to_local(now_utc() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    data = new_case_data(
        as_region,
        workflow_name="sip_discharge",
        identifier=pnr,
        utskrivningsklar_at=ready,
        unit_ids=[parties.municipality.id],
    )
    response = as_region.post("/cases/new", data=data)
    assert response.status_code == 303
    location = response.headers["Location"]
    case = db_session.exec(select(SipCase)).one()
    assert urlsplit(location).path == case_url(case)
    followed = as_region.get(location)
    html = text_of(followed)
    assert f"{pnr[:8]}-****" in html and "Kim Berg" in html and "Växjö kommun" in html
    assert "SIP vid utskrivning" in html and "Initierad" in html
    for url in (location, *[a for a in forms_of(html)], *re.findall(r'href="([^"]+)"', html)):
        assert pnr not in url and pnr[2:] not in url
    assert pnr not in html
    assert case.utskrivningsklar_at is not None


def test_new_case_in_english(as_region):
    html = text_of(as_region.get("/cases/new?lang=en"))
    assert '<html lang="en">' in html and "New SIP" in html and "Kind of SIP" in html


def test_a_childs_step_refused_for_a_missing_guardian_or_view_says_so_beside_that_field(
    as_region, parties, create_case, db_session
):
    case = create_case("sip_child")
    for name in ("Mamma", "Pappa"):
        private = forms_of(text_of(as_region.get(case_url(case))))[f"{case_url(case)}/participants/private"]
        added = as_region.post(
            f"{case_url(case)}/participants/private",
            data=fill(private, **{"private-kind": "guardian", "private-name": name}),
        )
        assert added.status_code == 303
    guardians = {
        p.name: p.id
        for p in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        if p.kind == "guardian"
    }
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "give_consent")]
    only_one = fill(
        form,
        **{
            "give_consent-given_by": "guardian",
            "give_consent-form": "written",
            "give_consent-guardian_participant_ids": str(guardians["Mamma"]),
        },
    )
    refused = as_region.post(action_url(case, "give_consent"), data=only_one)
    assert refused.status_code == 409
    html = text_of(refused)
    # Beside the guardians' boxes, where the missing tick is; not only at the top of the page.
    errors = re.search(
        r'<ul class="field-errors" id="give_consent-guardian_participant_ids-error">(.*?)</ul>', html, re.S
    )
    assert errors and "Alla vårdnadshavare som deltar måste samtycka." in errors.group(1)
    assert reload(db_session, case).state == "requested"
    both = MultiDict(only_one)
    both.add("give_consent-guardian_participant_ids", str(guardians["Pappa"]))
    assert as_region.post(action_url(case, "give_consent"), data=both).status_code == 303
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "start_preparation")]
    no_view = as_region.post(
        action_url(case, "start_preparation"), data=fill(form, **{"start_preparation-child_view": " "})
    )
    assert no_view.status_code == 409
    errors = re.search(
        r'<ul class="field-errors" id="start_preparation-child_view-error">(.*?)</ul>', text_of(no_view), re.S
    )
    assert errors and "Skriv först in barnets egen syn." in errors.group(1)
    assert reload(db_session, case).state == "consent_given"


def test_a_childs_sip_does_not_go_on_until_a_guardian_who_joined_later_has_consented(
    as_region, parties, create_case, db_session
):
    case = create_case("sip_child")

    def add_guardian(name):
        private = forms_of(text_of(as_region.get(case_url(case))))[f"{case_url(case)}/participants/private"]
        added = as_region.post(
            f"{case_url(case)}/participants/private",
            data=fill(private, **{"private-kind": "guardian", "private-name": name}),
        )
        assert added.status_code == 303

    add_guardian("Mamma")
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "give_consent")]
    mamma = next(
        p.id
        for p in db_session.exec(select(Participant).where(Participant.case_id == case.id))
        if p.name == "Mamma"
    )
    consented = as_region.post(
        action_url(case, "give_consent"),
        data=fill(
            form,
            **{
                "give_consent-given_by": "guardian",
                "give_consent-form": "written",
                "give_consent-guardian_participant_ids": str(mamma),
            },
        ),
    )
    assert consented.status_code == 303
    add_guardian("Pappa")
    form = forms_of(text_of(as_region.get(case_url(case))))[action_url(case, "start_preparation")]
    refused = as_region.post(
        action_url(case, "start_preparation"),
        data=fill(form, **{"start_preparation-child_view": "Jag vill gå kvar i min klass."}),
    )
    assert refused.status_code == 409
    html = text_of(refused)
    assert "Alla vårdnadshavare som deltar måste samtycka." in html
    # The refusal says where the later guardian's consent is recorded, and the page links there.
    assert "Registrera ytterligare samtycke" in html[: html.index('id="h-consent"')]
    assert f'href="/cases/{case.uid}/consent/further"' in html
    # What was typed is kept for when the guardian has consented.
    assert "Jag vill gå kvar i min klass." in html
    assert reload(db_session, case).state == "consent_given"


def test_a_reason_the_browser_let_through_is_not_refused_for_its_line_breaks(
    as_region, parties, create_case, db_session
):
    # A browser counts a textarea's line break as one character against maxlength, and sends it as CRLF.
    case = create_case()
    page = text_of(as_region.get(case_url(case)))
    assert re.search(r'<textarea[^>]*maxlength="500" name="cancel-reason"', page)
    lines = ["x" * 49] * 10
    typed = "\n".join(lines)
    assert len(typed) == 499
    form = forms_of(page)[action_url(case, "cancel")]
    response = as_region.post(
        action_url(case, "cancel"), data=fill(form, **{"cancel-reason": "\r\n".join(lines)})
    )
    assert response.status_code == 303
    assert reload(db_session, case).state == "cancelled"
    # Stored as typed, one line break per line.
    step = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "cancel")
    ).one()
    assert step.reason == typed


@pytest.mark.parametrize(
    ("chosen", "day", "swedish", "english"),
    [
        (
            "personnummer",
            75,  # the 15th + 60: a samordningsnummer
            "Numret är ett samordningsnummer, inte ett personnummer.",
            "The number is a samordningsnummer, not a personnummer.",
        ),
        (
            "samordningsnummer",
            15,
            "Numret är ett personnummer, inte ett samordningsnummer.",
            "The number is a personnummer, not a samordningsnummer.",
        ),
    ],
)
def test_a_number_of_the_other_kind_is_named_for_what_it_is(
    as_region, db_session, chosen, day, swedish, english
):
    nine = f"8503{day:02d}238"
    number = f"198503{day:02d}238{luhn_check_digit(nine)}"
    for lang, message in (("sv", swedish), ("en", english)):
        as_region.get(f"/cases/new?lang={lang}")
        response = as_region.post(
            "/cases/new", data=new_case_data(as_region, identifier=number, id_kind=chosen)
        )
        assert response.status_code == 400
        errors = re.search(
            r'<ul class="field-errors" id="identifier-error">(.*?)</ul>', text_of(response), re.S
        )
        assert errors and message in html_lib.unescape(errors.group(1))
    assert count(db_session, SipCase) == 0


def test_a_participant_who_withdraws_the_consent_lands_on_mina_sip_not_on_a_404(
    client, parties, create_case, db_session, registry
):
    case = create_case()
    fire_by_service(db_session, registry, parties.region_user, case, "give_consent")
    assert login(client, parties.municipality_user.username).status_code == 302
    form = forms_of(text_of(client.get(case_url(case))))[action_url(case, "withdraw_consent")]
    response = client.post(
        action_url(case, "withdraw_consent"),
        data=fill(form, **{"withdraw_consent-reason": "Personen vill inte"}),
    )
    assert response.status_code == 303
    assert reload(db_session, case).state == "withdrawn"
    # The withdrawal took the municipality's access with it: the case page would say "not found".
    assert urlsplit(response.headers["Location"]).path == "/cases"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Återkalla samtycket: sparat." in text_of(page)
    assert "Din organisation ser inte längre SIP:en" in text_of(page)
    # The initiator, who keeps the case, is taken to it as after any step.
    other = create_case()
    fire_by_service(db_session, registry, parties.region_user, other, "give_consent")
    client.post("/logout", data={"csrf_token": csrf_token(text_of(page))})
    assert login(client, parties.region_user.username).status_code == 302
    form = forms_of(text_of(client.get(case_url(other))))[action_url(other, "withdraw_consent")]
    response = client.post(
        action_url(other, "withdraw_consent"),
        data=fill(form, **{"withdraw_consent-reason": "Personen vill inte"}),
    )
    assert urlsplit(response.headers["Location"]).path == case_url(other)


@pytest.fixture
def county_kinds(registry, monkeypatch):
    """Three more kinds of SIP in the app's registry, their file names in another order than their labels:
    a_arende "Ärende-SIP" and b_atgard "Åtgärds-SIP" (Swedish: Å before Ä), c_omsorg "Omsorg", which asks
    for utskrivningsklar_at at the start as sip_discharge does."""
    import tomllib

    from sipflow.config import PROJECT_ROOT
    from sipflow.workflow.definition import parse_workflow

    path = PROJECT_ROOT / "workflows" / "sip.toml"
    for name, sv, en, asks in (
        ("a_arende", "Ärende-SIP", "Errand SIP", False),
        ("b_atgard", "Åtgärds-SIP", "Action SIP", False),
        ("c_omsorg", "Omsorg", "Care", True),
    ):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        data |= {"name": name, "occasion": name, "label": {"sv": sv, "en": en}}
        if asks:
            data["start_dates"] = ["utskrivningsklar_at"]
        workflow = parse_workflow(path.with_name(f"{name}.toml"), data)
        monkeypatch.setitem(registry._latest, name, workflow)
        monkeypatch.setitem(registry._by_key, (name, 1), workflow)


def _kind_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="workflow_name".*?</select>', html, re.S).group(0)
    return [
        html_lib.unescape(label).strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)
    ]


def test_new_sip_lists_the_kinds_by_label_in_swedish_order_and_names_those_needing_utskrivningsklar(
    as_region, county_kinds
):
    html = text_of(as_region.get("/cases/new"))
    kinds = [k for k in _kind_options(html) if k]
    assert kinds == [
        "Omsorg",
        "SIP",
        "SIP för barn och unga",
        "SIP vid utskrivning",
        "Åtgärds-SIP",
        "Ärende-SIP",
    ]
    assert "Krävs för typerna ”Omsorg” och ”SIP vid utskrivning”." in html_lib.unescape(html)
    english = html_lib.unescape(text_of(as_region.get("/cases/new?lang=en")))
    assert [k for k in _kind_options(english) if k][:2] == ["Action SIP", "Care"]
    assert "Required for the kinds “Care” and “SIP at discharge”." in english


def test_new_sip_names_the_one_kind_that_needs_utskrivningsklar(as_region):
    html = html_lib.unescape(text_of(as_region.get("/cases/new")))
    assert "Krävs för typen ”SIP vid utskrivning”." in html
