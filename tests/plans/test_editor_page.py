"""The plan editor page through the test client: open and save loses nothing, conflicts keep the text,
bad input is refused at the field, what is missing links to its field, and establishing from the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from plankit import complete_data, give_huvudansvar, save, today
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.cases.services import remove_participant
from sipflow.clock import first_working_day, now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.people.models import Unit
from sipflow.plans.content import plan_content
from sipflow.plans.models import Plan, PlanEffort
from sipflow.plans.services import find_plan

FEWER_THAN_TWO = "Minst två organisationer måste delta i en SIP och kunna se den enligt samtycket."

pytestmark = pytest.mark.usefixtures("frozen_clock")


def page(client, case):
    response = client.get(f"/cases/{case.uid}/plan")
    assert response.status_code == 200
    return text_of(response)


def save_url(case):
    return f"/cases/{case.uid}/plan"


def content(db_session, case):
    db_session.expire_all()
    case = db_session.get(SipCase, case.id)
    return plan_content(db_session, case, find_plan(db_session, case))


def test_opening_and_saving_the_plan_keeps_every_field(as_region, db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    response = as_region.post(save_url(held), data=fill(form, action="save"))
    assert response.status_code == 303
    after = content(db_session, held)
    assert after == before
    assert after["own_goals"][0]["text"] == "Det är viktigt för mig att ha ett arbete."
    assert {e["kind"] for e in after["efforts"]} == {"effort", "own", "other"}


def test_typing_into_empty_rows_adds_goals_and_efforts(as_region, db_session, parties, held):
    form = forms_of(page(as_region, held))[save_url(held)]
    region = parties.region.organisation_id
    data = fill(
        form,
        action="save",
        **{
            "own_goals-0-text": "Det är viktigt för mig att bo kvar",
            "efforts-0-what": "Hemsjukvård",
            "efforts-0-organisation_id": region,
            "efforts-0-responsible": "Sara Sjö",
            "other_efforts-0-what": "Sjukpenning",
            "other_efforts-0-actor": "Försäkringskassan",
            "follow_up_on": first_working_day(today(now_utc()) + timedelta(days=60)).isoformat(),
        },
    )
    assert as_region.post(save_url(held), data=data).status_code == 303
    saved = content(db_session, held)
    assert [g["text"] for g in saved["own_goals"]] == ["Det är viktigt för mig att bo kvar"]
    assert [
        (e["kind"], e["what"], e["organisation_id"], e["responsible"], e["actor"]) for e in saved["efforts"]
    ] == [
        ("effort", "Hemsjukvård", region, "Sara Sjö", None),
        ("other", "Sjukpenning", None, None, "Försäkringskassan"),
    ]


def test_more_rows_keeps_what_was_typed_and_saves_nothing(as_region, db_session, parties, held):
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    data = fill(form, action="add_rows", **{"own_goals-0-text": "Att få sova ordentligt"})
    response = as_region.post(save_url(held), data=data)
    assert response.status_code == 200
    html = text_of(response)
    assert "Att få sova ordentligt" in html
    assert 'name="own_goals-4-text"' in html  # two empty rows more than before
    assert content(db_session, held) == before


def test_a_second_save_from_an_older_page_is_a_conflict_and_keeps_the_typed_text(
    as_region, db_session, parties, held
):
    form = forms_of(page(as_region, held))[save_url(held)]
    first = fill(form, action="save", **{"needs": "Behov enligt första"})
    second = fill(form, action="save", **{"needs": "Behov enligt andra"})
    assert as_region.post(save_url(held), data=first).status_code == 303
    response = as_region.post(save_url(held), data=second)
    assert response.status_code == 409
    html = text_of(response)
    assert "Someone else saved the plan" in html or "Någon annan sparade planen" in html
    assert "Behov enligt andra" in html
    assert content(db_session, held)["needs"] == "Behov enligt första"
    # The page now carries the version saved meanwhile: sending it again is a deliberate choice.
    again = forms_of(html)[save_url(held)]
    assert as_region.post(save_url(held), data=fill(again, action="save")).status_code == 303
    assert content(db_session, held)["needs"] == "Behov enligt andra"


@pytest.mark.parametrize(
    ("values", "field_id"),
    [
        ({"efforts-0-what": "Utan ägare"}, "efforts-0-organisation_id"),
        (
            {
                "efforts-0-what": "Fel ordning",
                "efforts-0-organisation_id": "REGION",
                "efforts-0-starts_on": "2027-03-01",
                "efforts-0-ends_on": "2027-02-01",
            },
            "efforts-0-ends_on",
        ),
        ({"follow_up_on": "2020-01-01"}, "follow_up_on"),
        # Outside the sane date window (moved here from the old plan form's case in test_bad_input).
        ({"follow_up_on": "0001-01-01"}, "follow_up_on"),
        ({"follow_up_on": "9999-12-31"}, "follow_up_on"),
        ({"efforts-0-what": "Okänd", "efforts-0-organisation_id": "999999"}, "efforts-0-organisation_id"),
        ({"efforts-0-what": "Nonsens", "efforts-0-organisation_id": "abc"}, "efforts-0-organisation_id"),
        (
            {
                "efforts-0-what": "Fel enhet",
                "efforts-0-organisation_id": "REGION",
                "efforts-0-unit_id": "MUNI",
            },
            "efforts-0-unit_id",
        ),
        ({"own_goals-0-text": "x" * 1001}, "own_goals-0-text"),
        ({"needs": "x" * 4001}, "needs"),
        ({"own_efforts-0-what": "Utan vem"}, "own_efforts-0-actor"),
    ],
)
def test_bad_input_is_refused_at_its_field_keeping_the_text(
    as_region, db_session, parties, held, values, field_id
):
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    resolved = {
        key: str(parties.region.organisation_id)
        if value == "REGION"
        else str(parties.municipality.id)
        if value == "MUNI"
        else value
        for key, value in values.items()
    }
    response = as_region.post(save_url(held), data=fill(form, action="save", **resolved))
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="{field_id}-error"' in html
    assert "Det finns ett problem" in html and f'href="#{field_id}"' in html  # the error summary's link
    for key, value in resolved.items():
        if not key.endswith("_id") and len(value) < 100:  # a select shows only its own options
            assert value in html
    assert content(db_session, held) == before


def test_the_page_lists_what_is_missing_each_linking_to_its_field(as_region, held):
    html = page(as_region, held)
    links = set(re.findall(r'<a href="#([\w-]+)">', html))
    # The preparation wrote the person's own goals (scripted): they are not missing.
    assert links == {"efforts", "other_measures", "huvudansvar", "follow_up_on"}
    for anchor in links:
        assert f'id="{anchor}"' in html


def test_establishing_from_the_page_once_the_plan_is_complete(as_region, db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    html = page(as_region, held)
    assert "Still missing" not in html and "Det här saknas" not in html
    form = forms_of(html)[f"/cases/{held.uid}/plan/establish"]
    response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(form))
    assert response.status_code == 303
    db_session.expire_all()
    case = db_session.get(SipCase, held.id)
    assert case.state == "plan_established"
    assert to_local(case.follow_up_on).date() == today(now) + timedelta(days=90)


# Establishing without the editor's content (only the step's own fields): login, the case and its access log
# row (4), who may edit (1), then the step (its participants with the consents in force, the plan with the
# person, the claim and Mina SIP's rows, the plan's compare-and-set, goals and efforts, the version, the log,
# the follow-up deadline and its reminders: 13). The organisations the consent in force covers (the version's
# parties) come with the participants' read. The editor's own form is read only when the page is shown again.
ESTABLISH_POST_STATEMENTS = 18
# The page's button sends the editor's content too: the page's reads (the participants with the consents in
# force, shared with the step; the person; the plan) and the plan's checks and comparison with what is stored
# (the organisations' units, goals, efforts, contacts) come before the step: 6 more.
ESTABLISH_WITH_CONTENT_STATEMENTS = ESTABLISH_POST_STATEMENTS + 6


def _establish_fields(form):
    return [(name, value) for name, value in form if name.startswith("establish-")]


def test_establishing_from_the_page_reads_what_the_step_needs_only(
    as_region, db_session, parties, held, engine
):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    form = forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"]
    with support.statements(engine) as seen:
        response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(_establish_fields(form)))
    assert response.status_code == 303
    assert len(seen) <= ESTABLISH_POST_STATEMENTS, seen
    assert len(support.row_reads(seen, "participant")) == 1, seen
    assert not support.row_reads(seen, "plancontact"), seen


def test_establishing_with_the_editors_content_reads_the_participants_once(
    as_region, db_session, parties, held, engine
):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    form = forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"]
    with support.statements(engine) as seen:
        response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(form))
    assert response.status_code == 303
    assert len(seen) <= ESTABLISH_WITH_CONTENT_STATEMENTS, seen
    assert len(support.row_reads(seen, "participant")) == 1, seen


def test_establishing_a_plan_changed_since_the_page_was_read_is_refused(as_region, db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    form = forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"]
    changed = save(
        db_session, held, parties.region_user, complete_data(held, parties, now, needs="Ändrat"), now
    )
    saved_version = changed.row_version
    response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(form))
    assert response.status_code == 409
    db_session.expire_all()
    assert db_session.get(SipCase, held.id).state == "meeting_held"
    assert db_session.exec(select(Plan.row_version).where(Plan.case_id == held.id)).one() == saved_version


def test_a_field_the_request_leaves_out_keeps_what_is_stored(as_region, db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    form = forms_of(page(as_region, held))[save_url(held)]
    response = as_region.post(save_url(held), data=fill(form, action="save", needs=None, fast_vardkontakt=""))
    assert response.status_code == 303
    saved = content(db_session, held)
    assert saved["needs"] == "Stöd i vardagen och med sysselsättning."
    assert saved["fast_vardkontakt"] is None  # sent empty: cleared on purpose


def test_establishing_an_incomplete_plan_is_refused_with_what_is_missing(as_region, db_session, held):
    form = forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"]
    response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(form))
    assert response.status_code == 409
    html = text_of(response)
    assert "Ange minst en insats." in html
    assert '<a href="#efforts">' in html
    db_session.expire_all()
    assert db_session.get(SipCase, held.id).state == "meeting_held"


@pytest.mark.parametrize("field_id", ["efforts-0-starts_on", "own_efforts-0-ends_on", "follow_up_on"])
def test_a_date_that_is_no_date_is_refused_in_swedish_in_a_row_as_in_the_plan(as_region, held, field_id):
    # Typed where a browser offers no date picker: the refusal reads as the page does, in a row too.
    form = forms_of(page(as_region, held))[save_url(held)]
    values = {field_id: "3/12"}
    if field_id.startswith("efforts-"):
        values["efforts-0-what"] = "Samtalsstöd"
    elif field_id.startswith("own_efforts-"):
        values |= {"own_efforts-0-what": "Promenader", "own_efforts-0-actor": "Kim"}
    response = as_region.post(save_url(held), data=fill(form, action="save", **values))
    assert response.status_code == 400
    error = re.search(rf'id="{field_id}-error">\s*<li>([^<]+)</li>', text_of(response)).group(1)
    assert error == "Inte ett giltigt datum."


def test_more_goals_than_a_plan_holds_is_refused_saying_so(as_region, db_session, held):
    # The refusal is about the whole list, not one row: it is shown, never just "check the fields below"
    # with no field marked.
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    goals = {f"professional_goals-{i}-text": f"Mål {i}" for i in range(51)}
    response = as_region.post(save_url(held), data=fill(form, action="save", **goals))
    assert response.status_code == 400
    html = text_of(response)
    assert "Högst 50 mål." in html
    assert "Mål 50" in html  # what was typed is kept
    assert content(db_session, held) == before


def test_a_reader_of_the_plan_is_offered_no_field_to_type_into(client, parties, held):
    # An organisation taking part that does not write the plan reads it: its fields are shown disabled, so
    # nobody types what the page offers no way to save.
    assert login(client, parties.municipality_user.username).status_code == 302
    html = page(client, held)
    assert "Din organisation får läsa planen" in html
    form = html[html.index('id="plan-form"') :]
    assert re.search(r"<fieldset[^>]* disabled", form)
    assert "Spara planen" not in form


def test_an_effort_without_a_person_responsible_is_marked_at_its_own_field(
    as_region, db_session, parties, held
):
    now = now_utc()
    data = complete_data(held, parties, now)
    unowned = next(e for e in data["efforts"] if e["kind"] == "effort")
    unowned["responsible"] = None
    save(db_session, held, parties.region_user, data, now)
    html = page(as_region, held)
    # The missing list names the rule; the effort itself says what it lacks, at the field to fill in: as a
    # hint the field is described by, not an error, since nothing was sent (no aria-invalid, no summary).
    assert "Varje insats behöver en organisation och en namngiven ansvarig person." in html
    index = next(i for i, e in enumerate(content(db_session, held)["efforts"]) if e["kind"] == "effort")
    hint = re.search(rf'<p class="help" id="efforts-{index}-responsible-help">(.*?)</p>', html, re.S)
    assert hint and "Skriv vem som är ansvarig." in hint.group(1)
    field = re.search(rf'<input[^>]*id="efforts-{index}-responsible"[^>]*>', html).group(0)
    assert f'aria-describedby="efforts-{index}-responsible-help"' in field
    assert 'aria-invalid="true"' not in html and 'class="field-errors"' not in html
    assert "error-summary" not in html and "<title>Fel:" not in html
    assert f'id="efforts-{index}-organisation_id-help"' not in html


def test_a_plan_is_not_established_once_only_one_organisation_takes_part(
    as_region, db_session, registry, parties, held
):
    now = now_utc()
    data = complete_data(held, parties, now)
    data["efforts"] = [
        e for e in data["efforts"] if e.get("organisation_id") != parties.municipality.organisation_id
    ]
    save(db_session, held, parties.region_user, data, now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    # The municipality is taken off the SIP after its meeting: a plan of one organisation is no SIP.
    municipality = db_session.exec(
        select(Participant).where(
            Participant.case_id == held.id,
            Participant.organisation_id == parties.municipality.organisation_id,
        )
    ).one()
    with unit_of_work(db_session):
        remove_participant(
            db_session,
            registry,
            held,
            parties.region_user,
            municipality.id,
            reason="Fel enhet",
            now=now,
            expected_version=held.version,
        )
    form = forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"]
    response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(form))
    assert response.status_code == 409
    assert FEWER_THAN_TWO in text_of(response)
    db_session.expire_all()
    assert db_session.get(SipCase, held.id).state == "meeting_held"


def test_a_nul_in_the_plan_is_refused_at_its_field_and_the_text_is_kept(as_region, db_session, parties, held):
    """Pasted text with a NUL: the page comes back with the error at that field, nothing typed lost."""
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    typed = {"own_goals-0-text": "Att få sova\x00 ordentligt", "needs": "Behov som\nskrevs in"}
    response = as_region.post(save_url(held), data=fill(form, action="save", **typed))
    html = text_of(response)
    assert response.status_code == 400
    error = re.search(r'<ul class="field-errors" id="([^"]+)-error">\s*<li>([^<]+)</li>', html)
    assert error.groups() == ("own_goals-0-text", "Texten innehåller ett tecken som inte kan sparas.")
    again = dict(forms_of(html)[save_url(held)])
    # The NUL taken out, the rest kept (a textarea's first line break is the element's, not the text's).
    assert again["own_goals-0-text"].lstrip() == "Att få sova ordentligt"
    assert again["needs"].lstrip() == "Behov som\nskrevs in"
    assert content(db_session, held) == before
    english = as_region.post(save_url(held) + "?lang=en", data=fill(form, action="save", **typed))
    assert english.status_code == 400
    assert "The text holds a character that cannot be stored." in text_of(english)


@pytest.mark.parametrize("organisation", ["school", "999999", "", "abc", "99999999999999"])
def test_a_contact_of_an_organisation_not_taking_part_is_refused_beside_its_row_keeping_the_text(
    as_region, db_session, parties, held, organisation
):
    """The row's organisation is a hidden field: the refusal stands at the row's name, saying why."""
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    value = str(parties.school.organisation_id) if organisation == "school" else organisation
    typed = {"contacts-0-organisation_id": value, "contacts-0-name": "Omar Lind", "needs": "Stöd i vardagen."}
    response = as_region.post(save_url(held), data=fill(form, action="save", **typed))
    assert response.status_code == 400
    html = text_of(response)
    field = html[html.index('id="contacts-0-name"') :]
    field = field[: field.index("</fieldset>")]
    assert 'id="contacts-0-name-error"' in field
    assert "Välj en organisation som deltar i SIP:en." in field
    assert 'value="Omar Lind"' in field
    assert "Stöd i vardagen." in html
    assert content(db_session, held) == before


def test_a_unit_not_taking_part_is_refused_beside_its_field_keeping_the_text(
    as_region, db_session, parties, held
):
    other = Unit(
        key="unit-muni-2", organisation_id=parties.municipality.organisation_id, name="Hemtjänst Norr"
    )
    db_session.add(other)
    db_session.commit()
    before = content(db_session, held)
    form = forms_of(page(as_region, held))[save_url(held)]
    typed = {
        "efforts-0-what": "Boendestöd",
        "efforts-0-organisation_id": str(parties.municipality.organisation_id),
        "efforts-0-unit_id": str(other.id),
    }
    response = as_region.post(save_url(held), data=fill(form, action="save", **typed))
    assert response.status_code == 400
    html = text_of(response)
    field = html[html.index('id="efforts-0-unit_id"') :][:2000]
    assert 'id="efforts-0-unit_id-error"' in field and "Inte ett giltigt val." in field
    assert "Boendestöd" in html
    assert content(db_session, held) == before


def test_a_unit_that_left_the_sip_stays_its_efforts_choice_and_a_save_keeps_it(
    as_region, db_session, parties, held
):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    left = Unit(key="unit-region-2", organisation_id=parties.region.organisation_id, name="Psykiatri Syd")
    db_session.add(left)
    db_session.flush()
    # The effort was saved with a unit that took part then and has left the SIP since.
    effort = db_session.exec(select(PlanEffort).where(PlanEffort.unit_id == parties.region.id)).one()
    effort.unit_id = left.id
    db_session.add(effort)
    db_session.commit()
    html = page(as_region, held)
    assert re.search(rf'<option selected value="{left.id}">[^<]*Psykiatri Syd \(deltar inte längre\)', html)
    response = as_region.post(save_url(held), data=fill(forms_of(html)[save_url(held)], action="save"))
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(PlanEffort, effort.id).unit_id == left.id


def test_establishing_twice_from_the_same_page_is_told_done_not_blamed_on_someone_else(
    as_region, db_session, parties, held, frozen_clock
):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    establish = fill(forms_of(page(as_region, held))[f"/cases/{held.uid}/plan/establish"])
    assert as_region.post(f"/cases/{held.uid}/plan/establish", data=establish).status_code == 303
    again = as_region.post(f"/cases/{held.uid}/plan/establish", data=establish)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/cases/{held.uid}")
    case_page = text_of(as_region.get(f"/cases/{held.uid}"))
    assert "Fastställ plan: redan gjort för en stund sedan, troligen ett dubbelklick." in case_page
    # Sent again much later, the stale page is a conflict as any other.
    frozen_clock.advance(timedelta(minutes=5))
    late = as_region.post(f"/cases/{held.uid}/plan/establish", data=establish)
    assert late.status_code == 409


@pytest.mark.parametrize("who", ["region_user", "municipality_user"])
def test_on_an_ended_sip_everyone_gets_the_plans_fields_disabled(
    client, db_session, registry, parties, held, who
):
    # The writing organisations too: the SIP ended, so nothing typed could be saved.
    now = now_utc()
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    support.fire(db_session, registry, parties.region_user, held, "close", now=now, data={"reason": "Klar"})
    assert login(client, getattr(parties, who).username).status_code == 302
    html = page(client, held)
    assert "SIP:en är avslutad" in html
    form = html[html.index('id="plan-form"') :]
    disabled = re.search(r"<fieldset[^>]* disabled>", form)
    assert disabled is not None
    # Every field of the plan lies inside the disabled fieldset, and nothing saves it.
    first_field = re.search(r"<(input|textarea|select)(?![^>]*type=\"hidden\")", form)
    assert first_field.start() > disabled.start()
    assert len(re.findall(r"<fieldset[^>]* disabled>", form)) == 1 and form.count(
        "</fieldset>"
    ) == form.count("<fieldset")
    assert "Spara planen" not in form


def _plan_steps_changed(registry, case, monkeypatch, change):
    """The case's workflow with its plan steps changed by change(transition dict) (in the app's registry)."""
    import tomllib

    from sipflow.config import PROJECT_ROOT
    from sipflow.workflow.definition import parse_workflow

    path = PROJECT_ROOT / "workflows" / f"{case.workflow_name}.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    for transition in data["transitions"]:
        if transition.get("form") == "plan":
            change(transition)
    if not any(transition.get("form") == "plan" for transition in data["transitions"]):
        # Without a plan step no case has a follow-up date: a deadline counting from it is refused.
        data["deadlines"] = {
            kind: rule for kind, rule in data.get("deadlines", {}).items() if rule["from"] != "follow_up_on"
        }
    workflow = parse_workflow(path, data)
    monkeypatch.setitem(registry._by_key, (case.workflow_name, case.workflow_version), workflow)


@pytest.mark.parametrize(
    ("writers", "said"),
    [
        ("huvudansvarig", "Din organisation får läsa planen; organisationen med huvudansvar skriver den."),
        ("initiator", "Din organisation får läsa planen; den initierande organisationen skriver den."),
    ],
)
def test_a_reader_is_told_who_writes_the_plan_as_the_workflow_file_says(
    client, parties, held, registry, monkeypatch, writers, said
):
    # A county's file lets only the plan step's parties write it: the page names those, not the shipped two.
    _plan_steps_changed(registry, held, monkeypatch, lambda t: t.update(parties=[writers]))
    assert login(client, parties.municipality_user.username).status_code == 302
    html = page(client, held)
    assert said in html
    assert "den initierande organisationen och den med huvudansvar" not in html


def test_a_workflow_without_a_plan_step_says_so_on_the_plan_page(
    client, parties, held, registry, monkeypatch
):
    _plan_steps_changed(registry, held, monkeypatch, lambda t: t.update(form="none"))
    assert login(client, parties.region_user.username).status_code == 302
    html = page(client, held)
    assert (
        "Arbetsflödet för den här SIP:en har inget steg där en plan fastställs, så här skrivs ingen plan."
        in html
    )
    assert "Din organisation får läsa planen" not in html
