"""The code catalogue page (administrators only), the case page's codes and the staff correction."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from codingkit import hold, records, to_meeting
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.coding.models import CodeDefinition
from sipflow.coding.services import parse_codes_csv
from sipflow.meetings.models import Meeting
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.usefixtures("catalogue", "frozen_clock")


@pytest.fixture
def as_admin(client, make_user):
    assert login(client, make_user(None, roles="admin").username).status_code == 302
    return client


def _post(client, url, data=None, **kwargs):
    token = csrf_token(text_of(client.get("/password")))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def _definition(db_session, code):
    db_session.expire_all()
    return db_session.get(CodeDefinition, code)


@pytest.mark.parametrize("url", ["/admin/codes", "/admin/codes/assignments"])
def test_staff_get_403_on_the_catalogue_pages(client, parties, url):
    login(client, parties.region_user.username)
    response = client.get(url)
    assert response.status_code == 403


def test_staff_cannot_add_a_code(client, parties, db_session):
    login(client, parties.region_user.username)
    response = _post(client, "/admin/codes", {"code": "AB123", "label": "X", "kind": "sip"})
    assert response.status_code == 403
    assert _definition(db_session, "AB123") is None


def test_an_administrator_adds_retires_and_takes_back_a_code(as_admin, db_session):
    page = text_of(as_admin.get("/admin/codes"))
    assert "XU045" in page and "ZV051" in page
    response = _post(as_admin, "/admin/codes", {"code": " ab123 ", "label": "Testkod", "kind": "sip"})
    assert response.status_code == 303
    assert _definition(db_session, "AB123").label == "Testkod"
    assert _post(as_admin, "/admin/codes/AB123/retire").status_code == 303
    assert _definition(db_session, "AB123").retired_at is not None
    assert _post(as_admin, "/admin/codes/AB123/unretire").status_code == 303
    assert _definition(db_session, "AB123").retired_at is None


def test_a_badly_formed_code_is_refused_at_the_field_with_what_was_typed(as_admin, db_session):
    response = _post(as_admin, "/admin/codes", {"code": "12ABC", "label": "Min etikett", "kind": "sip"})
    page = text_of(response)
    assert response.status_code == 400
    assert "12ABC" in page and "Min etikett" in page
    assert 'id="f-code-error"' in page
    assert _definition(db_session, "12ABC") is None


@pytest.mark.parametrize(
    ("lang", "words", "internal"),
    [
        ("sv", "SIP-möte eller vård på distans", "sip eller distance"),
        ("en", "a SIP meeting or care", "sip or"),
    ],
)
def test_an_unknown_kind_is_refused_in_the_words_of_the_form_not_its_values(as_admin, lang, words, internal):
    """The form offers "SIP meeting" and "Care at a distance": its refusal names those, not sip/distance."""
    as_admin.get(f"/admin/codes?lang={lang}")
    typed = {"code": "AB123", "label": "Min etikett", "kind": "kva_action"}
    response = _post(as_admin, "/admin/codes", typed)
    page = text_of(response)
    assert response.status_code == 400 and "Min etikett" in page
    error = page[page.index('id="f-kind-error"') : page.index("</ul>", page.index('id="f-kind-error"'))]
    assert words in error and internal not in error and "kva_action" not in error


def _upload(client, text: str):
    return _post(
        client,
        "/admin/codes/upload",
        {"file": (io.BytesIO(text.encode()), "koder.csv")},
        content_type="multipart/form-data",
    )


def test_after_a_refused_upload_the_language_switch_leads_to_the_catalogue(as_admin):
    refused = _upload(as_admin, "not,a,catalogue\n\x01")
    assert refused.status_code == 400
    html = text_of(refused)
    start = html.index('hreflang="en"')
    href = html.rindex('href="', 0, start) + len('href="')
    english = as_admin.get(html[href : html.index('"', href)].replace("&amp;", "&"))
    assert english.status_code == 200 and '<html lang="en">' in text_of(english)


def test_a_csv_file_loads_every_code(as_admin, db_session):
    response = _upload(as_admin, "code,label,kind\nAB101,Första,sip\nAB102,Andra,distance\n")
    assert response.status_code == 303
    assert _definition(db_session, "AB101").kind == "sip"
    assert _definition(db_session, "AB102").kind == "distance"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("AB101,Första,sip\n", "1 kod har lagts till i katalogen."),
        ("AB101,Första,sip\nAB102,Andra,sip\n", "2 koder har lagts till i katalogen."),
    ],
)
def test_the_upload_says_how_many_codes_were_added_in_singular_or_plural(as_admin, lines, message):
    response = _upload(as_admin, "code,label,kind\n" + lines)
    assert response.status_code == 303
    assert message in text_of(as_admin.get(response.headers["Location"]))


def test_a_bad_line_loads_nothing_and_the_error_names_the_line(as_admin, db_session):
    response = _upload(as_admin, "code,label,kind\nAB101,Första,sip\nAB102,Andra,video\nXU045,Finns,sip\n")
    page = text_of(response)
    assert response.status_code == 400
    assert "3 (kind):" in page  # the line with the unknown kind (Swedish "Rad 3", English "Line 3")
    assert "4 (code):" in page  # a code already in the catalogue
    assert _definition(db_session, "AB101") is None


def test_a_semicolon_separated_file_loads_as_the_directory_import_reads_one(as_admin, db_session):
    # What Excel saves as CSV in a Swedish locale; the header line decides the separator.
    response = _upload(as_admin, "\ufeffcode;label;kind\nAB101;Första, med komma;sip\nAB102;Andra;distance\n")
    assert response.status_code == 303, text_of(response)
    assert _definition(db_session, "AB101").label == "Första, med komma"
    assert _definition(db_session, "AB102").kind == "distance"


def test_each_refusal_names_its_line_and_column(as_admin, db_session):
    response = _upload(as_admin, "code;label;kind\nAB101;Första;video\n12ABC;Andra;sip\nXU045;Finns;sip\n")
    page = text_of(response)
    assert response.status_code == 400
    assert "Rad 2 (kind):" in page and "Rad 3 (code):" in page and "Rad 4 (code):" in page
    assert _definition(db_session, "AB101") is None


def test_an_over_long_label_names_the_column_and_the_limit(as_admin, db_session):
    response = _upload(as_admin, "code,label,kind\nAB101," + "x" * 1_000_000 + ",sip\n")
    page = text_of(response)
    assert response.status_code == 400
    assert "Rad 2 (label): Högst 200 tecken." in page
    assert "kan inte läsas" not in page
    assert _definition(db_session, "AB101") is None


def test_a_nul_in_a_label_is_refused_at_its_line(as_admin, db_session):
    # PostgreSQL stores no NUL: the line is named instead of the upload failing on the database's error.
    response = _upload(as_admin, "code,label,kind\nAB101,För\x00sta,sip\n")
    assert response.status_code == 400 and "2 (label):" in text_of(response)
    assert _definition(db_session, "AB101") is None


def test_a_label_on_two_lines_is_refused_in_the_form_and_in_the_file(as_admin, db_session):
    response = _post(as_admin, "/admin/codes", {"code": "AB101", "label": "Första\r\nraden", "kind": "sip"})
    assert response.status_code == 400 and 'id="f-label-error"' in text_of(response)
    response = _upload(as_admin, 'code,label,kind\nAB101,"Första\nraden",sip\n')
    assert response.status_code == 400 and "3 (label):" in text_of(response)  # where the record ends
    assert _definition(db_session, "AB101") is None


def test_a_code_added_twice_at_once_is_refused_at_the_field_the_second_time(
    as_admin, db_session, monkeypatch
):
    form = {"code": "AB101", "label": "Första", "kind": "sip"}
    assert _post(as_admin, "/admin/codes", form).status_code == 303
    # The second request's check looked before the first one's code was committed (a double submit).
    real_get = Session.get
    monkeypatch.setattr(
        Session,
        "get",
        lambda self, model, key, **kw: None if model is CodeDefinition else real_get(self, model, key, **kw),
    )
    raced = _post(as_admin, "/admin/codes", form | {"label": "Första igen"})
    monkeypatch.undo()
    assert raced.status_code == 400
    page = text_of(raced)
    assert 'id="f-code-error"' in page and "Första igen" in page
    assert _definition(db_session, "AB101").label == "Första"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_parsing_any_text_gives_codes_or_numbered_refusals(text):
    rows, errors = parse_codes_csv("code,label,kind\n" + text)
    for _, row in rows:
        assert row.kind in ("sip", "distance") and 5 <= len(row.code) <= 6
    assert all(isinstance(e.line, int) and e.line >= 1 and e.message for e in errors)


def test_an_administrator_sets_a_units_own_code(as_admin, db_session, parties):
    response = _post(
        as_admin, "/admin/codes/assignments", {"unit_id": str(parties.region.id), "code": "AU124"}
    )
    assert response.status_code == 303
    page = text_of(as_admin.get("/admin/codes/assignments"))
    assert parties.region.name in page


def _held_case(db_session, registry, parties, create_case, now, mode="video"):
    case = create_case()
    to_meeting(db_session, registry, parties.region_user, case, now)
    hold(db_session, registry, parties.region_user, case, now, {parties.region.id: mode})
    return case


def test_the_case_page_shows_the_codes_recorded(client, db_session, registry, parties, create_case, now):
    case = _held_case(db_session, registry, parties, create_case, now)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "XU045" in page and "ZV051" in page


def test_the_case_page_says_when_a_care_unit_records_no_sip_code(
    client, db_session, registry, parties, create_case, now
):
    from sipflow.coding.models import CodeAssignment

    db_session.exec(CodeAssignment.__table__.delete())
    db_session.commit()
    case = create_case()
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert parties.region.name in page and "XU045" not in page
    assert 'id="h-codes"' in page


def test_staff_reverse_the_codes_of_a_meeting_recorded_in_error(
    client, db_session, registry, parties, create_case, now
):
    case = _held_case(db_session, registry, parties, create_case, now)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    login(client, parties.municipality_user.username)
    url = f"/cases/{case.uid}/meetings/{meeting.id}/codes/correct"
    shown = text_of(client.get(url))
    assert "XU045" in shown and "ZV051" in shown
    pairs = forms_of(shown)[url]
    refused = client.post(url, data=fill(pairs, reason=""))
    assert refused.status_code == 400
    assert len(records(db_session, case)) == 2
    response = client.post(url, data=fill(pairs, reason="Fel SIP"))
    assert response.status_code == 303
    after = records(db_session, case)
    assert [r.sign for r in after] == [1, 1, -1, -1]
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert "Fel SIP" in page
    db_session.expire_all()
    actions = db_session.exec(
        select(AccessLogEntry.action).where(
            AccessLogEntry.case_id == case.id, AccessLogEntry.user_id == parties.municipality_user.id
        )
    ).all()
    # Every read and the correction itself are in the access log, as the person's case was read.
    assert {"meeting.view", "meeting.change", "case.view"} <= set(actions)


def test_an_organisation_outside_the_sip_cannot_correct(
    client, db_session, registry, parties, create_case, now
):
    case = _held_case(db_session, registry, parties, create_case, now + timedelta(minutes=1))
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    login(client, parties.outsider_user.username)
    response = _post(client, f"/cases/{case.uid}/meetings/{meeting.id}/codes/correct", {"reason": "x"})
    assert response.status_code == 404
    assert [r.sign for r in records(db_session, case)] == [1, 1]


def test_the_english_catalogue_names_the_seeded_codes_in_english(as_admin):
    """The labels sipflow seeded are stored in Swedish; an English page says them in English, as the
    statistics do (coding.models.code_label), and a label an administrator added stays as typed."""
    _post(as_admin, "/admin/codes", {"code": "AB123", "label": "Testkod", "kind": "sip"})
    page = text_of(as_admin.get("/admin/codes?lang=en"))
    assert "SIP meeting (counts as a SIP)" in page and "Care at a distance (video)" in page
    assert "SIP-möte (räknas som SIP)" not in page and "Vård på distans" not in page
    assert "Testkod" in page
    swedish = text_of(as_admin.get("/admin/codes?lang=sv"))
    assert "SIP-möte (räknas som SIP)" in swedish
