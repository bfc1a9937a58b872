"""The version pages: list, one version, PDF downloads, comparison; for those who see the case, logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from versionkit import ADDED_EFFORT, REWORDED_GOAL, TEXTS, pdf_text
from webkit import login, spoken, text_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.people.models import Person
from sipflow.plans.approvals import approve_version
from sipflow.plans.models import PlanVersion
from sipflow.plans.versions import pdf_matches
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry


@pytest.fixture(autouse=True)
def _on_the_frozen_clock(frozen_clock):
    return frozen_clock


def urls(case) -> list[str]:
    base = f"/cases/{case.uid}/plan/versions"
    return [base, f"{base}/1", f"{base}/1/pdf", f"{base}/1/pdf/large", f"{base}/1/compare/2"]


def log_rows(session, case) -> list[tuple[str, int | None, str]]:
    session.expire_all()
    rows = session.exec(
        select(AccessLogEntry).where(AccessLogEntry.case_id == case.id).order_by(AccessLogEntry.seq)
    )
    return [(r.action, r.user_id, r.outcome) for r in rows]


def test_the_case_page_lists_each_version_with_its_links(client, parties, revised):
    login(client, parties.municipality_user.username)
    page = text_of(client.get(f"/cases/{revised.case.uid}"))
    base = f"/cases/{revised.case.uid}/plan/versions"
    for link in (f"{base}/1", f"{base}/2", f"{base}/2/pdf", f"{base}/2/pdf/large", f"{base}/1/compare/2"):
        assert f'href="{link}"' in page
    assert "Version 2" in page and parties.region_user.display_name in page


def test_a_case_without_an_established_plan_says_so(client, parties, planned):
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}"))
    assert "Planen är inte fastställd ännu." in page


def test_the_version_list_shows_number_date_and_who(client, parties, revised):
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions"))
    assert page.index("Version 2") < page.index("Version 1")
    assert parties.region_user.display_name in page


def test_one_version_shows_the_whole_plan_and_older_versions_stay_readable(client, parties, revised):
    login(client, parties.region_user.username)
    first = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/1"))
    second = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/2"))
    for value in TEXTS.values():
        assert value in first
    assert "Äldre version" in first and "Aktuell version" in second
    assert ADDED_EFFORT not in first and ADDED_EFFORT in second
    assert TEXTS["own_goal_1"] in first and REWORDED_GOAL in second
    # The identifier is shown masked, as everywhere in sipflow.
    assert f"{revised.person.id_number[:8]}-****" in first
    id_number = revised.person.id_number
    assert id_number not in first and f"{id_number[:8]}-{id_number[8:]}" not in first


def test_the_pdf_download_is_the_stored_version_named_by_reference(client, db_session, parties, revised):
    login(client, parties.region_user.username)
    response = client.get(f"/cases/{revised.case.uid}/plan/versions/1/pdf")
    stored = db_session.exec(
        select(PlanVersion).where(PlanVersion.case_id == revised.case.id, PlanVersion.number == 1)
    ).one()
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == stored.pdf
    disposition = response.headers["Content-Disposition"]
    assert f"{revised.case.reference}-v1.pdf" in disposition
    assert revised.person.id_number not in disposition
    assert response.headers["Cache-Control"] == "no-store"
    large = client.get(f"/cases/{revised.case.uid}/plan/versions/1/pdf/large")
    assert large.status_code == 200 and large.data.startswith(b"%PDF") and large.data != stored.pdf
    assert f"{revised.case.reference}-v1-stor-text.pdf" in large.headers["Content-Disposition"]


def test_the_comparison_shows_what_changed(client, parties, revised):
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/1/compare/2"))
    added = page[page.index("Tillagda") :]
    assert ADDED_EFFORT in added
    changed = page[page.index("Ändrade") :]
    assert TEXTS["own_goal_1"] in changed and REWORDED_GOAL in changed
    back = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/2/compare/1"))
    assert ADDED_EFFORT in back[back.index("Borttagna") :]


def test_every_read_and_download_is_in_the_access_log(client, db_session, parties, revised):
    login(client, parties.region_user.username)
    before = len(log_rows(db_session, revised.case))
    for url in urls(revised.case):
        assert client.get(url).status_code == 200, url
    new = log_rows(db_session, revised.case)[before:]
    user = parties.region_user.id
    assert new == [
        (audit.CASE_VIEW, user, audit.ALLOWED),
        (audit.CASE_VIEW, user, audit.ALLOWED),
        (audit.CASE_PRINT, user, audit.ALLOWED),
        (audit.CASE_PRINT, user, audit.ALLOWED),
        (audit.CASE_VIEW, user, audit.ALLOWED),
    ]


def test_someone_who_may_not_see_the_case_gets_the_case_pages_404_and_is_logged(
    client, db_session, parties, revised
):
    login(client, parties.outsider_user.username)
    assert client.get(f"/cases/{revised.case.uid}").status_code == 404
    for url in urls(revised.case):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"%PDF" not in response.data
    denied = [row for row in log_rows(db_session, revised.case) if row[1] == parties.outsider_user.id]
    assert denied == [(audit.ACCESS_DENIED, parties.outsider_user.id, audit.DENIED)] * 6


@pytest.mark.parametrize("path", ["3", "3/pdf", "3/pdf/large", "1/compare/3", "0", "99999999999"])
def test_an_unknown_version_is_404(client, parties, revised, path):
    login(client, parties.region_user.username)
    assert client.get(f"/cases/{revised.case.uid}/plan/versions/{path}").status_code == 404


def test_the_pages_need_a_login(client, revised):
    for url in urls(revised.case):
        assert client.get(url).status_code in (302, 401)


def test_a_version_names_a_reservnummer_a_reservnummer(client, db_session, registry, parties, planned, now):
    person = db_session.get(Person, planned.person.id)
    person.id_kind, person.id_number = "reservnummer", "RK07KIM0001"
    db_session.commit()
    support.fire(
        db_session,
        registry,
        parties.region_user,
        planned.case,
        "establish_plan",
        now=now + timedelta(hours=1),
    )
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/versions/1"))
    assert "<dt>Reservnummer</dt><dd>RK07****</dd>" in page
    assert "Personnummer" not in page


def test_the_pdf_shows_the_approvals_recorded_for_its_version_when_printed(
    client, db_session, parties, established, frozen_clock, tmp_path
):
    # The stored PDF is the version as frozen (no approvals yet); a print after the region's approval at
    # the meeting shows it, as the version page does, and the stored bytes stay as they were.
    case = established.case
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == case.id)).one()
    stored = version.pdf
    region = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == parties.region.organisation_id
        )
    ).first()
    frozen_clock.advance(timedelta(days=2))
    with unit_of_work(db_session):
        approve_version(
            db_session,
            case=case,
            version=version,
            participant=region,
            method="meeting",
            now=now_utc(),
            recorded_by=parties.region_user,
        )
    login(client, parties.region_user.username)
    day = to_local(now_utc()).date().isoformat()
    for path, row in (
        ("pdf", f"Region Kronoberg {day} vid mötet"),
        ("pdf/large", f"godkänt {day}, vid mötet"),
    ):
        response = client.get(f"/cases/{case.uid}/plan/versions/1/{path}")
        assert response.status_code == 200
        assert row in pdf_text(response.data, tmp_path), path
    db_session.expire_all()
    kept = db_session.get(PlanVersion, version.id)
    assert kept.pdf == stored and pdf_matches(kept)


def test_a_change_is_said_from_before_to_after_not_as_an_arrow(client, parties, revised):
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/1/compare/2"))
    said = spoken(page)
    assert "→" not in said
    assert f"från {TEXTS['own_goal_1']} till {REWORDED_GOAL}" in said, said


def test_an_effort_typed_on_several_lines_is_shown_on_them(client, db_session, parties, revised):
    """As the plan's needs and goals, and as its PDF prints it: an effort typed as a list ("-" and "•" on
    lines of their own) ran together into one line on the version page and the person's page."""
    typed = "Stöd i vardagen:\n- handla på lördagar\n• tvätta på tisdagar"
    version = db_session.exec(
        select(PlanVersion).where(PlanVersion.case_id == revised.case.id, PlanVersion.number == 1)
    ).one()
    content = {**version.content, "efforts": [dict(e) for e in version.content["efforts"]]}
    next(e for e in content["efforts"] if e["kind"] == "effort")["what"] = typed
    with unit_of_work(db_session):
        version.content = content
        db_session.add(version)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{revised.case.uid}/plan/versions/1"))
    # In an element whose style keeps its line breaks (.prose: white-space: pre-line).
    assert f'<span class="prose">{typed}</span>' in page
