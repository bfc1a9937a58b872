"""The personal link's page after the SIP is closed, its PDF downloads, and a child's own view on it."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from personkit import add_guardian, build_world, freeze, log_out
from sqlmodel import select
from support import fire
from test_personal_links import link_path, queued, send_link
from webkit import csrf_token, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans.models import PersonalLink, PlanVersion
from sipflow.plans.pdf import pdf_filename, render_plan_pdf
from sipflow.plans.services import working_plan
from sipflow.plans.versions import freeze_version, pdf_matches
from sipflow.security.audit import PLAN_LINK_PRINT, PLAN_LINK_VIEW, PLAN_LINK_VIEW_GUARDIAN, AccessLogEntry

CLOSED_REASON = "Personen har flyttat till ett boende med heldygnsomsorg efter sin stroke"
CHILD_VIEW = "Jag vill gå i skolan som förut och spela fotboll på tisdagar"


def pdf_text(data: bytes, tmp_path) -> str:
    source = tmp_path / "plan.pdf"
    source.write_bytes(data)
    text = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def freeze_whole(db_session, world, now) -> PlanVersion:
    """The next version as the workflow freezes it (content with the version's keys, the real PDF)."""
    with unit_of_work(db_session):
        version = freeze_version(
            db_session, world.case, trigger="establish_plan", actor=world.region.user, now=now
        )
    return version


def walk_to_established(db_session, registry, world, now) -> PlanVersion:
    """The world's SIP through its meeting to an established plan (the workflow freezes version 1)."""
    for step, trigger in enumerate(("start_preparation", "send_kallelse", "hold_meeting", "establish_plan")):
        fire(db_session, registry, world.region.user, world.case, trigger, now=now + timedelta(minutes=step))
    return db_session.exec(select(PlanVersion).where(PlanVersion.case_id == world.case.id)).one()


@pytest.fixture
def closed(client, db_session, registry, planned, now, frozen_clock):
    """The planned SIP established, a link sent to the person, then the SIP closed twelve days later."""
    db_session.delete(planned.extra.pop("v1"))  # the stand-in version: the workflow freezes the real one
    db_session.commit()
    version = walk_to_established(db_session, registry, planned, now)
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    closing = now + timedelta(days=12)
    frozen_clock.set(closing)
    fire(db_session, registry, planned.region.user, planned.case, "close", now=closing, reason=CLOSED_REASON)
    assert registry.has_ended(db_session.get(SipCase, planned.case.id))
    frozen_clock.set(closing + timedelta(days=3))
    return planned, path, version, closing


def test_a_closed_sip_says_when_it_closed_and_shows_its_last_version(client, db_session, closed):
    world, path, version, closing = closed
    response = client.get(path)
    page = text_of(response)
    assert response.status_code == 200
    assert f"SIP:en avslutades {closing.date().isoformat()}." in page
    assert "Nedan visas den sista versionen av dess plan." in page
    assert "den sista versionen, SIP:en är avslutad" in page
    assert "Det finns ingen aktiv plan" not in page
    # The last version's own content, as the person approved it.
    assert "Samtalsstöd varannan vecka" in page and "Boendestöd två dagar i veckan" in page
    # Never the reason staff wrote for closing it: it may hold health facts.
    assert CLOSED_REASON not in page and "stroke" not in page
    # A closed SIP's plan is approved no more: no form offered in vain.
    assert "Jag godkänner planen" not in page
    # Its downloads are there, and the read is logged as every read through the link is.
    assert f"{path}/versions/{version.id}/pdf" in page
    rows = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW)).all()
    assert [(r.case_id, r.user_id) for r in rows] == [(world.case.id, None)]


def test_a_withdrawn_sip_is_not_shown_as_closed(client, db_session, registry, planned, now):
    """Consent withdrawn: the SIP ended, but not as closed, and its plan is no longer shared through the
    link (the page keeps saying there is no active plan)."""
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    fire(db_session, registry, planned.region.user, planned.case, "withdraw_consent", now=now, reason="Nej")
    page = text_of(client.get(path))
    assert "Det finns ingen aktiv plan." in page
    assert "avslutades" not in page and "Boendestöd två dagar i veckan" not in page


def test_a_narstaendes_link_ends_with_a_withdrawn_sip_and_names_the_person_no_more(
    client, db_session, registry, planned, now
):
    """Consent withdrawn: the närstående's link shows them nothing of the SIP any more, so it no longer opens
    a page with the person's name and personnummer (it did: "Det finns ingen aktiv plan." under them). It
    says the SIP has ended, rather than asking for a new link that would show nothing either."""
    send_link(client, planned, planned.relative)
    log_out(client)
    path = link_path(queued(db_session))
    fire(db_session, registry, planned.region.user, planned.case, "withdraw_consent", now=now, reason="Nej")
    response = client.get(path)
    page = text_of(response)
    assert response.status_code == 410
    assert "SIP:en som du deltog i har upphört. Länken fungerar inte längre." in page
    for private in (
        planned.person.given_name,
        planned.person.family_name,
        planned.person.masked_identifier(),
    ):
        assert private not in page


def test_the_person_downloads_both_pdfs_of_the_version_shown_through_the_link(
    client, db_session, closed, tmp_path
):
    world, path, version, _closing = closed
    for suffix, large in (("pdf", False), ("pdf/large", True)):
        response = client.get(f"{path}/versions/{version.id}/{suffix}")
        assert response.status_code == 200, suffix
        assert response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        disposition = response.headers["Content-Disposition"]
        assert pdf_filename(world.case.reference, version.number, large=large) in disposition
        for private in (world.person.given_name, world.person.family_name, world.person.id_number):
            assert private not in disposition
        text = pdf_text(response.data, tmp_path)
        assert "Samtalsstöd varannan vecka" in text and world.case.reference in text
    # Each download is logged as a print through the link (the person's loggutdrag says so), not a read.
    rows = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_PRINT)).all()
    link_id = rows[0].link_id
    assert link_id is not None
    assert [(r.case_id, r.user_id, r.person_id, r.link_id) for r in rows] == [
        (world.case.id, None, world.person.id, link_id)
    ] * 2
    assert db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW)).all() == []


def test_a_version_the_page_no_longer_shows_leads_back_to_the_page(client, db_session, sent_twice):
    """An older version (a newer was established since the page was opened): back to the page, which shows
    what there is now; nothing served, nothing logged as read."""
    world, path, older, _other = sent_twice
    for suffix in ("pdf", "pdf/large"):
        response = client.get(f"{path}/versions/{older.id}/{suffix}")
        assert response.status_code == 303 and response.headers["Location"].endswith(path)
    page = text_of(client.get(path))
    assert "Den versionen av planen visas inte längre" in page
    reads = db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW)).all()
    assert {r.case_id for r in reads} == {world.case.id} and len(reads) == 1  # the page's own read


@pytest.mark.parametrize("suffix", ["pdf", "pdf/large"])
def test_an_id_of_no_version_of_the_link_is_one_answer(client, db_session, sent_twice, suffix):
    """Another person's version, an id no version has, one the address cannot hold: one answer (404), so no
    id is told apart from another; the page says nothing of a version shown no longer."""
    _world, path, _older, other = sent_twice
    for version_id in (other.id, other.id + 1000, 2**31 - 1, 0, "99999999999999999999", "²"):
        response = client.get(f"{path}/versions/{version_id}/{suffix}")
        assert response.status_code == 404, version_id
    assert "Den versionen av planen visas inte längre" not in text_of(client.get(path))
    assert db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW)).all() != []


@pytest.fixture
def sent_twice(client, db_session, app, registry, planned, now):
    """A link sent to the person of a SIP at its version 2, and another person's SIP with a version."""
    other = build_world(db_session, app, registry, now=now)
    other_version = freeze(db_session, other, now=now)
    freeze(db_session, planned, now=now + timedelta(minutes=5))
    send_link(client, planned, planned.person_row)
    log_out(client)
    return planned, link_path(queued(db_session)), planned.extra["v1"], other_version


def test_a_refused_link_serves_no_pdf(client, db_session, closed, frozen_clock):
    world, path, version, _closing = closed
    frozen_clock.advance(timedelta(days=40))  # past the link's last day
    response = client.get(f"{path}/versions/{version.id}/pdf")
    assert response.status_code == 410 and response.mimetype == "text/html"


@pytest.fixture
def child_sip(client, db_session, app, registry, now):
    """A child's SIP (sip_child) with the child's own view, a guardian taking part, a version frozen, and a
    link sent to the guardian; returns (world, path, version)."""
    world = build_world(db_session, app, registry, now=now, birth=date(2014, 3, 1), workflow="sip_child")
    guardian = add_guardian(db_session, registry, world, now=now)
    with unit_of_work(db_session):
        db_session.get(SipCase, world.case.id).child_view = CHILD_VIEW
        working_plan(db_session, world.case)
    version = freeze_whole(db_session, world, now)
    assert version.content["child_view"] == CHILD_VIEW
    send_link(client, world, guardian)
    log_out(client)
    return world, link_path(queued(db_session)), version


def test_the_guardians_page_shows_the_childs_own_view_as_the_pdf_does(client, db_session, child_sip):
    world, path, version = child_sip
    page = text_of(client.get(path))
    assert "Barnets egen syn" in page and CHILD_VIEW in page
    rows = db_session.exec(
        select(AccessLogEntry).where(AccessLogEntry.action == PLAN_LINK_VIEW_GUARDIAN)
    ).all()
    assert [r.case_id for r in rows] == [world.case.id]


def test_the_childs_plan_pdf_has_a_line_to_sign_for_each_guardian_on_the_childs_behalf(
    client, db_session, child_sip, tmp_path
):
    """The approvals page offers the guardian "on the child's behalf" (approvals.approves_on_childs_behalf):
    the PDF's Godkännande has their line to sign, and renders again as stored."""
    _world, _path, version = child_sip
    text = pdf_text(version.pdf, tmp_path)
    signatures = text[text.index("Godkännande") :]
    assert "Maria Förälder, vårdnadshavare, för barnets räkning" in signatures
    assert pdf_matches(version)
    # Content frozen before the guardians were named in it keeps its PDF: no guardian line.
    old = {k: v for k, v in version.content.items() if k != "guardians_approving"}
    assert "vårdnadshavare, för barnets räkning" not in pdf_text(render_plan_pdf(old), tmp_path)


def test_why_the_childs_view_is_missing_is_shown_when_it_is(client, db_session, child_sip, now):
    world, path, _version = child_sip
    with unit_of_work(db_session):
        db_session.get(SipCase, world.case.id).child_view = None
        working_plan(db_session, world.case).child_view_missing_reason = "Barnet ville inte svara"
    freeze_whole(db_session, world, now + timedelta(minutes=1))
    page = text_of(client.get(path))
    assert "Därför saknas barnets syn" in page and "Barnet ville inte svara" in page


def test_the_guardian_downloads_the_large_copy_with_the_childs_view(client, child_sip, tmp_path):
    world, path, version = child_sip
    page = text_of(client.get(path))
    response = client.get(f"{path}/versions/{version.id}/pdf/large")
    assert response.status_code == 200
    assert f"{path}/versions/{version.id}/pdf/large" in page
    assert CHILD_VIEW in pdf_text(response.data, tmp_path)


def test_the_approval_form_still_posts_after_the_downloads_were_added(client, db_session, child_sip):
    """The guardian approves on the child's behalf on the same page as the downloads."""
    world, path, version = child_sip
    page = text_of(client.get(path))
    response = client.post(
        path + "/approve",
        data={"csrf_token": csrf_token(page), "approve-version_id": str(version.id)},
    )
    assert response.status_code == 303


def test_a_closed_sips_expired_link_promises_no_new_one(client, db_session, closed, frozen_clock):
    """A SIP that has ended sends no new link (personal_links.send_personal_link refuses): the page refusing
    its expired or revoked link must not send the person to ask for one nobody may send."""
    world, path, _version, _closing = closed
    frozen_clock.advance(timedelta(days=40))  # past the link's last day
    response = client.get(path)
    page = text_of(response)
    assert response.status_code == 410
    assert "om en ny länk" not in page
    assert "Länken har gått ut. SIP:en den skickades från har upphört" in page
    with unit_of_work(db_session):
        link = db_session.exec(select(PersonalLink)).one()
        link.revoked_at = now_utc()  # as retention does when it anonymises the SIP
    response = client.get(path)
    page = text_of(response)
    assert response.status_code == 410
    assert "om en ny länk" not in page
    assert "Länken fungerar inte längre. SIP:en den skickades från har upphört" in page


def test_a_revised_plan_says_the_earlier_versions_apply_no_more(client, db_session, sent_twice):
    """The person who had version 1's PDF from an earlier visit reads version 2 now: the page says it is the
    newest and that the earlier ones no longer apply, not only when an old PDF link is followed."""
    _world, path, _older, _other = sent_twice
    page = " ".join(text_of(client.get(path)).split())
    assert "2, fastställd 2026-11-02 (den senaste versionen: tidigare versioner gäller inte längre)" in page
