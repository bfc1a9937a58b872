"""The administration: only administrators, users and their sessions, and the tasks about one person."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select
from webkit import FreshContextClient, csrf_token, forms_of, login, text_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Person, User
from sipflow.security.audit import AccessLogEntry, record_access

# The pages and the test read one clock: sipflow's, frozen at FIXED_NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

PURPOSE = "Personens begäran 2 november"


@pytest.fixture
def admin_user(make_user):
    return make_user(None, roles="admin")


@pytest.fixture
def as_admin(client, admin_user):
    assert login(client, admin_user.username).status_code == 302
    return client


def token_of(client, url: str = "/admin/users") -> str:
    return csrf_token(text_of(client.get(url)))


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token_of(client, "/password"), **data})


def reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


def log_rows(db_session) -> list[AccessLogEntry]:
    """The access log but the starts of the fixtures' SIPs (the administrator's rows are what is tested)."""
    db_session.expire_all()
    found = select(AccessLogEntry).where(AccessLogEntry.action != "case.create").order_by(AccessLogEntry.seq)
    return list(db_session.exec(found).all())


# --- Only administrators ----------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/persons"]
ADMIN_ACTIONS = [
    "/admin/users/{id}/disable",
    "/admin/users/{id}/enable",
    "/admin/users/{id}/sessions/end",
    "/admin/persons",
    "/admin/persons/loggutdrag",
    "/admin/persons/registerutdrag",
]


@pytest.mark.parametrize("roles", ["staff", "coordinator", "staff,coordinator"])
def test_staff_and_coordinators_get_403_everywhere(client, make_user, parties, db_session, roles):
    unit = parties.region if "staff" in roles else None
    user = make_user(unit, roles=roles)
    victim = parties.municipality_user
    assert login(client, user.username).status_code == 302
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Sidan är till för administratörer." in text_of(response)
    for url in ADMIN_ACTIONS:
        assert post(client, url.format(id=victim.id)).status_code == 403, url
    assert reload(db_session, User, victim.id).active
    assert reload(db_session, User, victim.id).session_token == victim.session_token


def test_anonymous_visitors_are_sent_to_the_login(client):
    for url in ADMIN_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


def test_an_admin_post_without_csrf_token_is_refused(as_admin, parties, db_session):
    response = as_admin.post(f"/admin/users/{parties.region_user.id}/disable")
    assert response.status_code == 400
    assert reload(db_session, User, parties.region_user.id).active


# --- Users ------------------------------------------------------------------------------------------------


def test_the_user_list_shows_name_username_unit_roles_and_state(as_admin, parties, admin_user, db_session):
    parties.school_user.active = False
    db_session.add(parties.school_user)
    db_session.commit()
    html = text_of(as_admin.get("/admin/users"))
    for user in (parties.region_user, parties.school_user, admin_user):
        assert user.display_name in html and user.username in html
    assert "Enhet" in html and "Region Kronoberg" in html
    assert "Personal" in html and "Administratör" in html
    assert "Aktivt" in html and "Avstängt" in html
    # No case content, no person data on the page.
    assert "SIP-" not in html


def test_disable_and_enable_a_user(as_admin, client, parties, db_session):
    user = parties.region_user
    old_token = user.session_token
    response = post(as_admin, f"/admin/users/{user.id}/disable")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    disabled = reload(db_session, User, user.id)
    assert not disabled.active and disabled.session_token != old_token
    assert "är avstängd och utloggad överallt" in text_of(as_admin.get("/admin/users"))
    other = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert "Kontot är avstängt" in text_of(login(other, user.username))
    assert post(as_admin, f"/admin/users/{user.id}/enable").status_code == 302
    assert reload(db_session, User, user.id).active
    assert login(other, user.username).status_code == 302


def test_an_administrator_cannot_disable_themselves(as_admin, admin_user, db_session):
    response = post(as_admin, f"/admin/users/{admin_user.id}/disable")
    assert response.status_code == 302
    assert reload(db_session, User, admin_user.id).active
    assert "Du kan inte stänga av ditt eget konto." in text_of(as_admin.get("/admin/users"))


def test_ending_the_sessions_rotates_the_token_and_keeps_the_account(as_admin, parties, db_session):
    user = parties.region_user
    old_token = user.session_token
    assert post(as_admin, f"/admin/users/{user.id}/sessions/end").status_code == 302
    after = reload(db_session, User, user.id)
    assert after.active and after.session_token != old_token


def test_an_unknown_user_is_404(as_admin):
    assert post(as_admin, "/admin/users/999999/disable").status_code == 404


# --- Finding a person -------------------------------------------------------------------------------------


@pytest.fixture
def person_with_case(create_case, db_session):
    case = create_case()
    return db_session.get(Person, case.person_id), case


def find(client, identifier: str, *, purpose: str = PURPOSE, kind: str = "personnummer"):
    page = client.get("/admin/persons")
    return client.post(
        "/admin/persons",
        data={
            "csrf_token": csrf_token(text_of(page)),
            "id_kind": kind,
            "identifier": identifier,
            "purpose": purpose,
        },
    )


def urls_in(html: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"]*)"', html)


def test_a_person_is_found_by_identifier_in_a_post_and_the_search_is_logged(
    as_admin, person_with_case, db_session, admin_user
):
    person, _case = person_with_case
    response = find(as_admin, person.id_number[:8] + "-" + person.id_number[8:])
    assert response.status_code == 200
    html = text_of(response)
    assert "Testa Person" in html and f"{person.id_number[:8]}-****" in html
    assert person.id_number not in html and person.id_number[2:] not in html
    for url in urls_in(html):
        assert person.id_number[:8] not in url and person.id_number[2:8] not in url
    (row,) = log_rows(db_session)
    assert (row.action, row.purpose, row.person_id, row.user_id) == (
        "person.lookup",
        PURPOSE,
        person.id,
        admin_user.id,
    )


def test_an_identifier_in_the_url_finds_nobody(as_admin, person_with_case, db_session):
    person, _case = person_with_case
    response = as_admin.get(f"/admin/persons?identifier={person.id_number}&id_kind=personnummer&purpose=x")
    assert response.status_code == 200
    assert "Testa Person" not in text_of(response)
    assert log_rows(db_session) == []


def test_no_redirect_carries_the_identifier(as_admin, person_with_case):
    person, _case = person_with_case
    responses = [find(as_admin, person.id_number), find(as_admin, "19121212-1212"), find(as_admin, "x")]
    for response in responses:
        assert person.id_number not in response.headers.get("Location", "")
        assert "Location" not in response.headers


def test_an_unknown_person_and_a_bad_identifier(as_admin, db_session):
    unknown = find(as_admin, "19121212-1212")
    assert unknown.status_code == 404
    assert "Ingen person med det identitetsnumret finns registrerad i sipflow." in text_of(unknown)
    bad = find(as_admin, "19121212-1213")
    assert bad.status_code == 400 and "Kontrollsiffran stämmer inte." in text_of(bad)
    # The search for a number nobody has is logged, naming nobody; a number refused as such is no search.
    assert [(row.action, row.outcome, row.person_id) for row in log_rows(db_session)] == [
        ("person.lookup", "not_found", None)
    ]


def test_the_search_needs_a_purpose(as_admin, person_with_case, db_session):
    person, _case = person_with_case
    response = find(as_admin, person.id_number, purpose="")
    assert response.status_code == 400
    assert "Testa Person" not in text_of(response)
    assert log_rows(db_session) == []


def test_a_reservnummer_is_found_too(as_admin, db_session, app, now):
    from sipflow.people.identifiers import parse_identifier
    from sipflow.people.services import register_person

    identifier = parse_identifier("R1234X", today=now.date(), kind="reservnummer")
    register_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        identifier,
        given_name="Reserv",
        family_name="Nummer",
        home_municipality_code="0780",
        now=now,
    )
    db_session.commit()
    response = find(as_admin, "r1234x", kind="reservnummer")
    assert response.status_code == 200 and "Reserv Nummer" in text_of(response)


# --- Loggutdrag and registerutdrag ------------------------------------------------------------------------


@pytest.fixture
def accessed(person_with_case, parties, db_session):
    """The person's case read twice by the region user, and once refused to the outsider."""
    person, case = person_with_case
    with unit_of_work(db_session):
        for user, outcome in [(parties.region_user, "allowed"), (parties.region_user, "allowed")]:
            record_access(
                db_session,
                user=user,
                action="case.view",
                purpose="vård",
                case=case,
                now=now_utc(),
                outcome=outcome,
            )
        record_access(
            db_session,
            user=parties.outsider_user,
            action="access.denied",
            purpose="vård",
            case=case,
            outcome="denied",
            now=now_utc(),
        )
    return person, case


def task_forms(client, person) -> dict:
    return forms_of(text_of(find(client, person.id_number)))


def submit(client, forms: dict, action: str, **values):
    data = dict(forms[action])
    data.update(values)
    return client.post(action, data=data)


def assert_download(response, prefix: str, extension: str, person: Person):
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(rf"attachment; filename={prefix}-\d{{8}}-[0-9a-f]{{8}}\.{extension}", disposition)
    assert match, disposition
    for secret in (person.id_number, person.id_number[2:8], person.given_name, person.family_name):
        assert secret not in disposition
    assert response.headers["Cache-Control"] == "no-store"


def test_the_loggutdrag_as_csv_holds_the_rows_and_is_logged(
    as_admin, accessed, parties, admin_user, db_session
):
    person, case = accessed
    forms = task_forms(as_admin, person)
    response = submit(
        as_admin, forms, "/admin/persons/loggutdrag", file_format="csv", purpose="Begäran via e-post"
    )
    assert_download(response, "loggutdrag", "csv", person)
    # One charset: a header naming it twice is malformed to a strict client.
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body = response.get_data().decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("Tid;Användare;Organisation")
    # The region user started the SIP and read it twice.
    assert sum(parties.region_user.display_name in line for line in lines) == 3
    assert "Startade SIP-ärendet" in lines[1]
    assert any(parties.outsider_user.display_name in line and "nekad" in line for line in lines)
    assert all(case.reference in line for line in lines[1:4])
    assert person.id_number not in body
    last = log_rows(db_session)[-1]
    assert (last.action, last.purpose, last.person_id, last.user_id) == (
        "person.extract",
        "Begäran via e-post",
        person.id,
        admin_user.id,
    )


def test_the_loggutdrag_as_pdf_holds_the_rows_and_is_logged(
    as_admin, accessed, parties, db_session, tmp_path
):
    person, case = accessed
    forms = task_forms(as_admin, person)
    response = submit(as_admin, forms, "/admin/persons/loggutdrag", file_format="pdf")
    assert_download(response, "loggutdrag", "pdf", person)
    assert response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        pdf = tmp_path / "extract.pdf"
        pdf.write_bytes(data)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Loggutdrag" in text and case.reference in text
        assert parties.region_user.display_name in text and person.id_number not in text
    last = log_rows(db_session)[-1]
    assert (last.action, last.purpose, last.person_id) == ("person.extract", PURPOSE, person.id)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_every_page_of_the_loggutdrag_says_which_of_how_many_it_is(
    as_admin, accessed, parties, db_session, tmp_path
):
    """A loggutdrag handed to the person on paper: each page says "Sida x av y", as the plan's do, so a
    page missing from the printed extract shows (it said "Sida 3" and nothing of how many there were)."""
    person, case = accessed
    with unit_of_work(db_session):
        for _ in range(150):
            record_access(
                db_session,
                user=parties.region_user,
                action="case.view",
                purpose="vård",
                case=case,
                now=now_utc(),
            )
    forms = task_forms(as_admin, person)
    response = submit(as_admin, forms, "/admin/persons/loggutdrag", file_format="pdf")
    pdf = tmp_path / "extract.pdf"
    pdf.write_bytes(response.get_data())
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 3
    for page in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True
        ).stdout
        assert f"Sida {page} av {pages}" in " ".join(text.split()), page


@pytest.mark.parametrize(
    ("action", "values", "extension"),
    [
        ("/admin/persons/loggutdrag", {"file_format": "csv"}, "csv"),
        ("/admin/persons/loggutdrag", {"file_format": "pdf"}, "pdf"),
        ("/admin/persons/registerutdrag", {}, "json"),
    ],
)
def test_an_extract_s_file_name_has_the_swedish_date(
    client, admin_user, accessed, frozen_clock, action, values, extension
):
    """At 00:30 Swedish time UTC's date is still yesterday's: the file is named by the Swedish one."""
    person, _case = accessed
    frozen_clock.set(datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    assert login(client, admin_user.username).status_code == 302
    forms = task_forms(client, person)
    response = submit(client, forms, action, **values)
    prefix = action.rsplit("/", 1)[1]
    assert_download(response, prefix, extension, person)
    assert f"filename={prefix}-20261205-" in response.headers["Content-Disposition"]


def test_the_registerutdrag_holds_the_persons_data_and_no_one_elses(
    as_admin, accessed, create_case, parties, db_session, admin_user
):
    person, case = accessed
    own = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "person")
    ).one()
    own.email, own.phone, own.language = "testa@example.se", "070-111 22 33", "en"
    db_session.add(own)
    # A närstående taken off the SIP: when, by whom and why are the person's case data too.
    relative = Participant(
        case_id=case.id,
        kind="narstaende",
        name="Eva Andersson",
        relation="syster",
        added_at=case.requested_at,
        removed_at=case.requested_at,
        removed_by_user_id=parties.region_user.id,
        removed_reason="Lades till i fel ärende",
    )
    db_session.add(relative)
    other_case = create_case()
    other = db_session.get(Person, other_case.person_id)
    other.given_name = "Annan"
    db_session.add(other)
    db_session.commit()
    record_access(
        db_session,
        user=parties.region_user,
        action="case.view",
        purpose="vård",
        case=other_case,
        now=now_utc(),
    )
    db_session.commit()

    forms = task_forms(as_admin, person)
    response = submit(as_admin, forms, "/admin/persons/registerutdrag", purpose="Begäran enligt art. 15")
    assert_download(response, "registerutdrag", "json", person)
    assert response.mimetype == "application/json"
    body = response.get_data(as_text=True)
    document = json.loads(body)
    assert document["person"]["id_number"] == person.id_number
    assert document["person"]["given_name"] == "Testa"
    assert [c["reference"] for c in document["cases"]] == [case.reference]
    exported = document["cases"][0]
    assert {p["kind"] for p in exported["participants"]} >= {"organisation", "person"}
    own_row = next(p for p in exported["participants"] if p["kind"] == "person")
    assert (own_row["email"], own_row["phone"], own_row["language"]) == (
        "testa@example.se",
        "070-111 22 33",
        "en",
    )
    removed = next(p for p in exported["participants"] if p.get("name") == "Eva Andersson")
    assert removed["removed_reason"] == "Lades till i fel ärende"
    assert removed["removed_by"] == parties.region_user.display_name and removed["removed_at"]
    assert exported["transitions"][0]["to_state"] == "requested"
    assert exported["deadlines"] and "consents" in exported and "meetings" in exported
    assert [row["action"] for row in document["access_log"]][:4] == [
        "case.create",
        "case.view",
        "case.view",
        "access.denied",
    ]
    assert {row["case_reference"] for row in document["access_log"][:4]} == {case.reference}
    # Nothing of the other person: not their case, their name, their identifier or their access rows.
    assert other_case.reference not in body and other.id_number not in body and "Annan" not in body
    last = log_rows(db_session)[-1]
    assert (last.action, last.purpose, last.person_id, last.user_id) == (
        "person.export",
        "Begäran enligt art. 15",
        person.id,
        admin_user.id,
    )


def test_an_extract_needs_a_purpose(as_admin, accessed, db_session):
    person, _case = accessed
    forms = task_forms(as_admin, person)
    before = len(log_rows(db_session))
    response = submit(as_admin, forms, "/admin/persons/loggutdrag", purpose="  ")
    assert response.status_code == 400 and "Content-Disposition" not in response.headers
    assert len(log_rows(db_session)) == before


@pytest.mark.parametrize("action", ["/admin/persons/loggutdrag", "/admin/persons/registerutdrag"])
def test_a_tampered_or_foreign_person_reference_is_refused(
    as_admin, client, accessed, make_user, db_session, action
):
    person, _case = accessed
    forms = task_forms(as_admin, person)
    before = len(log_rows(db_session))
    ref = dict(forms[action])["person_ref"]
    # One character of the signature changed for another (its last characters may carry padding bits only,
    # so a changed ending could decode to the same bytes and sign as before).
    changed = "A" if ref[-8] != "A" else "B"
    tampered = submit(as_admin, forms, action, person_ref=ref[:-8] + changed + ref[-7:])
    assert tampered.status_code == 302 and tampered.headers["Location"] == "/admin/persons"
    # Another administrator cannot reuse the reference.
    colleague = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert login(colleague, make_user(None, roles="admin").username).status_code == 302
    reused = colleague.post(
        action,
        data={**dict(forms[action]), "csrf_token": csrf_token(text_of(colleague.get("/admin/persons")))},
    )
    assert reused.status_code == 302 and "Content-Disposition" not in reused.headers
    assert len(log_rows(db_session)) == before


def test_no_page_of_the_task_shows_the_full_identifier(as_admin, accessed):
    person, _case = accessed
    found = text_of(find(as_admin, person.id_number))
    assert person.id_number not in found
    birth = date(int(person.id_number[:4]), int(person.id_number[4:6]), int(person.id_number[6:8]))
    assert birth.strftime("%Y%m%d") + "-****" in found


def test_a_language_chosen_on_an_address_that_redirects_is_the_next_page_s(as_admin, admin_user, db_session):
    # The page it led to came in Swedish while the stored language (mail, the next login) turned English.
    response = as_admin.get("/admin/?lang=en")
    assert response.status_code == 302
    assert '<html lang="en">' in text_of(as_admin.get(response.headers["Location"]))
    assert reload(db_session, User, admin_user.id).language == "en"
