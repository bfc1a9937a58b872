"""Mina SIP narrowed by state, open deadline and person; a personnummer never reaches a URL or a log."""

from __future__ import annotations

import html as html_lib
import logging
import re
from datetime import timedelta

import pytest
import support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from webkit import csrf_token, login, text_of

from sipflow.cases.models import Deadline
from sipflow.cases.queries import PER_PAGE
from sipflow.people.models import Person
from sipflow.people.services import identifier_hash
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def shown(html: str, cases) -> set[str]:
    return {case.reference for case in cases if case.reference in html}


def test_the_state_filter_lists_the_states_of_the_workflow_files_and_keeps_only_that_state(
    as_region, db_session, registry, parties, create_case, now
):
    moved, waiting = create_case(), create_case()
    support.fire(db_session, registry, parties.region_user, moved, "give_consent", now=now)
    page = text_of(as_region.get("/cases"))
    # Labelled from the workflow file, as the case page names the state.
    assert '<option value="consent_given">Samtycke givet</option>' in page
    assert shown(text_of(as_region.get("/cases?state=consent_given")), [moved, waiting]) == {moved.reference}
    assert shown(text_of(as_region.get("/cases?state=requested")), [moved, waiting]) == {waiting.reference}
    # An unknown state is refused beside its field (test_an_unknown_filter_value_is_a_400_beside_its_field).


def test_the_deadline_filter_keeps_overdue_or_soon_due_open_deadlines(
    as_region, db_session, create_case, now
):
    overdue, soon, later, none = (create_case() for _ in range(4))
    for deadline in db_session.exec(select(Deadline)).all():
        deadline.met_at = now  # the start's own deadlines out of the way
        db_session.add(deadline)
    db_session.add_all(
        [
            Deadline(case_id=overdue.id, kind="kallelse", due_at=now - timedelta(days=1)),
            Deadline(case_id=soon.id, kind="kallelse", due_at=now + timedelta(days=6)),
            Deadline(case_id=later.id, kind="kallelse", due_at=now + timedelta(days=8)),
            Deadline(case_id=none.id, kind="kallelse", due_at=now - timedelta(days=2), cancelled_at=now),
        ]
    )
    db_session.commit()
    cases = [overdue, soon, later, none]
    assert shown(text_of(as_region.get("/cases?deadline=overdue")), cases) == {overdue.reference}
    assert shown(text_of(as_region.get("/cases?deadline=week")), cases) == {soon.reference}


def test_the_person_filter_is_posted_kept_in_the_session_and_shown_masked(
    as_region, db_session, registry, parties, create_case, make_person, now, caplog
):
    caplog.set_level(logging.DEBUG)
    theirs, other = create_case(), create_case()
    person = db_session.get(Person, theirs.person_id)
    number = person.id_number
    page = text_of(as_region.get("/cases"))
    response = as_region.post(
        "/person-filter", data={"csrf_token": csrf_token(page), "identifier": number, "state": "requested"}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert number not in location and number[2:] not in location and "state=requested" in location
    filtered = text_of(as_region.get(location))
    assert shown(filtered, [theirs, other]) == {theirs.reference}
    assert person.masked_identifier() in filtered and number not in filtered
    # Every page link carries the other filters, never the person.
    assert number not in as_region.get(location).headers.get("Location", "")
    # Cleared: every person again.
    response = as_region.post("/person-filter", data={"csrf_token": csrf_token(filtered), "clear": "1"})
    assert shown(text_of(as_region.get(response.headers["Location"])), [theirs, other]) == {
        theirs.reference,
        other.reference,
    }
    assert support.personnummer_in([record.getMessage() for record in caplog.records]) == []


def test_an_unknown_person_gives_an_empty_list_and_a_malformed_number_an_error(as_region, create_case):
    case = create_case()
    page = text_of(as_region.get("/cases"))
    unknown = support.valid_personnummer(support.date(1950, 1, 1), serial=999)
    response = as_region.post("/person-filter", data={"csrf_token": csrf_token(page), "identifier": unknown})
    html = text_of(as_region.get(response.headers["Location"]))
    assert case.reference not in html and "Ingen SIP matchar filtret." in html
    # Malformed: the page again, the refusal beside the field and what was typed kept, never a URL.
    response = as_region.post("/person-filter", data={"csrf_token": csrf_token(html), "identifier": "12345"})
    assert response.status_code == 400 and "Location" not in response.headers
    html = text_of(response)
    assert 'id="filter-person-error"' in html and 'aria-describedby="filter-person-error"' in html
    assert 'value="12345"' in html


def test_a_text_that_is_no_identifier_says_what_may_be_typed(as_region):
    page = text_of(as_region.get("/cases"))
    response = as_region.post("/person-filter", data={"csrf_token": csrf_token(page), "identifier": "hej"})
    assert response.status_code == 400
    html = html_lib.unescape(text_of(response))
    assert (
        "Skriv ett personnummer eller samordningsnummer (ÅÅÅÅMMDD-NNNN) eller ett reservnummer "
        "(4–20 bokstäver eller siffror)." in html
    )
    assert "Fel format: ett reservnummer" not in html and 'value="hej"' in html


def test_a_person_with_a_reservnummer_is_found(as_region, db_session, app, create_case):
    theirs, other = create_case(), create_case()
    person = db_session.get(Person, theirs.person_id)
    person.id_kind, person.id_number = "reservnummer", "RES12345"
    person.id_hash = identifier_hash(app.config["PNR_HASH_KEY"], "RES12345")
    db_session.add(person)
    db_session.commit()
    page = text_of(as_region.get("/cases"))
    response = as_region.post(
        "/person-filter", data={"csrf_token": csrf_token(page), "identifier": "res-12345"}
    )
    assert response.status_code == 302
    assert shown(text_of(as_region.get(response.headers["Location"])), [theirs, other]) == {theirs.reference}
    # Digits only stay a number: a mistyped personnummer is refused as one, not searched as a reservnummer.
    response = as_region.post(
        "/person-filter", data={"csrf_token": csrf_token(page), "identifier": "19900517-0000"}
    )
    assert response.status_code == 400


def test_the_page_links_keep_the_state_and_deadline_filters(as_region, create_case):
    cases = [create_case() for _ in range(PER_PAGE + 1)]
    first = text_of(as_region.get("/cases?state=requested"))
    found = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert found is not None
    next_page = html_lib.unescape(found.group(1))
    assert "state=requested" in next_page and "deadline" not in next_page
    second = text_of(as_region.get(next_page))
    assert len(shown(first, cases)) == PER_PAGE and len(shown(second, cases)) == 1


def test_switching_language_keeps_the_filters_and_the_page(as_region, create_case):
    create_case()
    page = text_of(as_region.get("/cases?state=requested&deadline=week"))
    links = {html_lib.unescape(href) for href in re.findall(r'<a href="([^"]+)" lang="(?:sv|en)"', page)}
    # The other language shows the same list: the filters (and a page's cursor) ride along.
    assert links == {
        "/cases?state=requested&deadline=week&lang=sv",
        "/cases?state=requested&deadline=week&lang=en",
    }
    english = text_of(as_region.get("/cases?state=requested&deadline=week&lang=en"))
    assert '<option value="requested" selected>Requested</option>' in english


def test_a_refused_identifier_keeps_the_state_filter_on_the_page_and_in_the_form(
    as_region, db_session, registry, parties, create_case, now
):
    moved, waiting = create_case(), create_case()
    support.fire(db_session, registry, parties.region_user, moved, "give_consent", now=now)
    page = text_of(as_region.get("/cases?state=consent_given&deadline=week"))
    valid = support.valid_personnummer(support.date(1986, 3, 4), serial=123)
    bad = valid[:-1] + str((int(valid[-1]) + 1) % 10)  # the check digit wrong
    posted = {"csrf_token": csrf_token(page), "identifier": bad, "state": "consent_given", "deadline": ""}
    response = as_region.post("/person-filter", data=posted)
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="filter-person-error"' in html and f'value="{bad}"' in html
    # The list is still the one asked for, the select shows it, and the next submit carries it on.
    assert '<option value="consent_given" selected>' in html
    assert shown(html, [moved, waiting]) == {moved.reference}
    assert '<input type="hidden" name="state" value="consent_given">' in html


def test_the_refused_person_filters_language_switch_leads_to_mina_sip(as_region, create_case):
    """The refusal answers a POST to /person-filter, which takes no GET: the switch leads to the list, with
    the filters the form carried (never the identifier typed)."""
    create_case()
    page = text_of(as_region.get("/cases?state=requested"))
    valid = support.valid_personnummer(support.date(1982, 4, 9), serial=981)
    bad = valid[:-1] + str((int(valid[-1]) + 1) % 10)  # the check digit wrong
    posted = {"csrf_token": csrf_token(page), "identifier": bad, "state": "requested"}
    response = as_region.post("/person-filter", data=posted)
    assert response.status_code == 400
    html = text_of(response)
    links = {html_lib.unescape(href) for href in re.findall(r'<a href="([^"]+)" lang="(?:sv|en)"', html)}
    assert links == {"/cases?state=requested&lang=sv", "/cases?state=requested&lang=en"}
    for link in links:
        assert as_region.get(link).status_code == 200
    assert not any(bad in link or bad[2:] in link for link in links)


def test_an_unknown_filter_value_is_a_400_beside_its_field_and_the_other_filter_is_kept(
    as_region, db_session, registry, parties, create_case, now
):
    moved, waiting = create_case(), create_case()
    support.fire(db_session, registry, parties.region_user, moved, "give_consent", now=now)
    response = as_region.get("/cases?state=avslutad&deadline=week")
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="filter-state-error"' in html and 'aria-describedby="filter-state-error"' in html
    assert "Ingen av de inlästa typerna av SIP har det här läget." in html
    assert '<option value="week" selected>' in html
    assert '<input type="hidden" name="deadline" value="week">' in html
    response = as_region.get("/cases?state=consent_given&deadline=overdue2")
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="filter-deadline-error"' in html and "Okänt val av tidsfrist." in html
    assert '<option value="consent_given" selected>' in html
    assert shown(html, [moved, waiting]) == {moved.reference}
    english = text_of(as_region.get("/cases?deadline=overdue2&lang=en"))
    assert "Unknown deadline filter. Choose one from the list." in english
    # Left empty, a filter is simply off.
    assert as_region.get("/cases?state=&deadline=").status_code == 200


def lookups(db_session) -> list[tuple]:
    # In the log's order: PostgreSQL returns an unordered read in heap order, which the per-test emptying
    # makes differ from the order of insertion.
    db_session.expire_all()
    return db_session.exec(
        select(
            AccessLogEntry.user_id, AccessLogEntry.person_id, AccessLogEntry.action, AccessLogEntry.case_id
        ).order_by(AccessLogEntry.seq)
    ).all()


def test_narrowing_the_list_to_a_person_is_logged_once_as_a_look_up_of_that_person(
    as_region, db_session, parties, create_case
):
    theirs = create_case()
    [create_case() for _ in range(PER_PAGE + 1)]
    person = db_session.get(Person, theirs.person_id)
    before = lookups(db_session)
    page = text_of(as_region.get("/cases"))
    response = as_region.post(
        "/person-filter", data={"csrf_token": csrf_token(page), "identifier": person.id_number}
    )
    assert response.status_code == 302
    added = lookups(db_session)[len(before) :]
    assert added == [(parties.region_user.id, person.id, audit.PERSON_LOOKUP, None)]
    # Reading the narrowed list (and paging it) is not a second look-up.
    assert theirs.reference in text_of(as_region.get(response.headers["Location"]))
    as_region.get("/cases?state=requested")
    assert len(lookups(db_session)) == len(before) + 1
    # Nobody registered under a number: the search is logged all the same, naming nobody.
    unknown = support.valid_personnummer(support.date(1950, 1, 1), serial=999)
    as_region.post("/person-filter", data={"csrf_token": csrf_token(page), "identifier": unknown})
    searched = lookups(db_session)[len(before) + 1 :]
    assert searched == [(parties.region_user.id, None, audit.PERSON_LOOKUP, None)]


def test_a_look_up_of_a_number_nobody_has_is_logged_with_its_keyed_hash_not_the_number(
    app, as_region, db_session, parties, caplog
):
    """Searching for a personnummer is itself an act on a person's data: the log keeps who searched for
    which number (as the person table's keyed hash, never the number), even when nobody has it."""
    unknown = support.valid_personnummer(support.date(1950, 1, 1), serial=998)
    page = text_of(as_region.get("/cases"))
    with caplog.at_level(logging.DEBUG):
        response = as_region.post(
            "/person-filter", data={"csrf_token": csrf_token(page), "identifier": unknown}
        )
    assert response.status_code == 302
    row = db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert (row.user_id, row.action, row.outcome, row.person_id, row.case_id) == (
        parties.region_user.id,
        audit.PERSON_LOOKUP,
        audit.NOT_FOUND,
        None,
        None,
    )
    assert row.id_hash == identifier_hash(app.config["PNR_HASH_KEY"], unknown)
    assert unknown not in repr(row.model_dump())
    assert support.personnummer_in([record.getMessage() for record in caplog.records]) == []
    assert audit.verify_chain(db_session) == []


def test_the_kind_filter_lists_the_loaded_kinds_and_keeps_only_that_kind(
    as_region, db_session, registry, parties, create_case, now
):
    ordinary, discharge = create_case(), create_case("sip_discharge", utskrivningsklar_at=now)
    child = create_case("sip_child")
    cases = [ordinary, discharge, child]
    page = text_of(as_region.get("/cases"))
    # Each kind once (sip_child's two versions share their occasion), labelled from its workflow file.
    assert page.count('<option value="child">') == 1
    assert '<option value="discharge">SIP vid utskrivning</option>' in page
    assert shown(text_of(as_region.get("/cases?kind=discharge")), cases) == {discharge.reference}
    assert shown(text_of(as_region.get("/cases?kind=other_need")), cases) == {ordinary.reference}
    # With a state: both narrow the list.
    support.fire(db_session, registry, parties.region_user, discharge, "give_consent", now=now)
    assert shown(text_of(as_region.get("/cases?kind=discharge&state=requested")), cases) == set()
    chosen = text_of(as_region.get("/cases?kind=discharge&state=consent_given"))
    assert shown(chosen, cases) == {discharge.reference}
    assert '<option value="discharge" selected>' in chosen
    # The person filter's form carries the kind on, as it does the state.
    assert '<input type="hidden" name="kind" value="discharge">' in chosen


def test_an_unknown_kind_is_a_400_beside_its_field_and_the_other_filters_are_kept(as_region, create_case):
    ordinary = create_case()
    # A workflow's file name is not its kind: the kinds are the files' occasions.
    response = as_region.get("/cases?kind=sip_discharge&state=requested")
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="filter-kind-error"' in html and 'aria-describedby="filter-kind-error"' in html
    assert "Ingen av de inlästa typerna av SIP heter så. Välj en typ i listan." in html
    assert '<option value="requested" selected>' in html
    assert shown(html, [ordinary]) == {ordinary.reference}
    english = text_of(as_region.get("/cases?kind=nope&lang=en"))
    assert "No loaded kind of SIP is called this. Choose a kind from the list." in english


def test_the_page_links_keep_the_kind_filter(as_region, create_case):
    cases = [create_case() for _ in range(PER_PAGE + 1)]
    first = text_of(as_region.get("/cases?kind=other_need"))
    found = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert found is not None
    next_page = html_lib.unescape(found.group(1))
    assert "kind=other_need" in next_page
    second = text_of(as_region.get(next_page))
    assert len(shown(first, cases)) == PER_PAGE and len(shown(second, cases)) == 1


def test_the_person_filter_keeps_the_kind(as_region, db_session, create_case):
    theirs = create_case()
    page = text_of(as_region.get("/cases?kind=other_need"))
    number = db_session.get(Person, theirs.person_id).id_number
    posted = {"csrf_token": csrf_token(page), "identifier": number, "kind": "other_need"}
    response = as_region.post("/person-filter", data=posted)
    assert response.status_code == 302
    assert response.headers["Location"] == "/cases?kind=other_need"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.text(max_size=60) | st.sampled_from(["other_need", "discharge", "child", "sip", "DISCHARGE"]),
    state=st.sampled_from(["", "requested", "nope"]),
)
def test_any_kind_is_a_list_or_a_refusal_beside_its_field_never_a_server_error(as_region, kind, state):
    response = as_region.get("/cases", query_string={"kind": kind, "state": state})
    if "\x00" in kind:
        assert response.status_code == 400  # refused before any view
        return
    html = text_of(response)
    known = kind in ("", "other_need", "discharge", "child")
    assert ('id="filter-kind-error"' in html) is not known
    assert response.status_code == (200 if known and state != "nope" else 400)
