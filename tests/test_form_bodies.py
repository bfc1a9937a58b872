"""A page's form reads what a browser sends: the form body, and a file only at a file field.

A request that sends a file at a text field (a multipart body with a filename), or its form as JSON with the
CSRF token in a header, was a 500: Flask-WTF put every uploaded file among the form's values and read a JSON
body as the form, so a text field's value was a file, an object or a number, and a JSON list or a nesting
deeper than the parser's limit failed before the view. Now such a field is refused as not filled in, beside
it, the rest of what was typed kept, and nothing is started.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select
from support import valid_personnummer
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.config import PROJECT_ROOT
from sipflow.people.models import Person

PNR = valid_personnummer(date(1961, 3, 14), serial=274)
TYPED = {
    "identifier": PNR,
    "given_name": "Viktoria",
    "family_name": "Ekström",
    "home_municipality_code": "0780",
}
TEXT_FIELDS = ("identifier", "given_name", "family_name")
REQUIRED = "Fältet måste fyllas i."

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _form(client) -> dict[str, str]:
    return dict(fill(forms_of(text_of(client.get("/cases/new")))["/cases/new"], **TYPED))


def _nothing_started(db_session) -> bool:
    db_session.expire_all()
    return (
        not db_session.exec(select(func.count()).select_from(SipCase)).one()
        and not db_session.exec(select(func.count()).select_from(Person)).one()
    )


def _error_of(html: str, field_id: str) -> str:
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(TEXT_FIELDS), content=st.binary(max_size=40))
def test_a_file_sent_at_a_text_field_is_refused_there_with_the_rest_kept(
    as_region, db_session, field, content
):
    client = as_region
    data = _form(client) | {field: (io.BytesIO(content), "notes.txt")}
    response = client.post("/cases/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    html = text_of(response)
    assert REQUIRED in _error_of(html, field)
    for other in set(TEXT_FIELDS) - {field}:
        assert f'value="{TYPED[other]}"' in html
    assert _nothing_started(db_session)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(TEXT_FIELDS), value=JSON_VALUES)
def test_a_form_sent_as_json_is_no_form_sent(as_region, db_session, field, value):
    client = as_region
    form = _form(client)
    response = client.post(
        "/cases/new",
        data=json.dumps(form | {field: value}),
        content_type="application/json",
        headers={"X-CSRFToken": form["csrf_token"]},
    )
    assert response.status_code == 400
    assert REQUIRED in _error_of(text_of(response), "given_name")
    assert _nothing_started(db_session)


def test_a_json_list_or_a_deep_nesting_is_no_form_either(as_region, db_session):
    client = as_region
    token = csrf_token(text_of(client.get("/cases/new")))
    for body in ("[1, 2]", "[" * 100_000 + "]" * 100_000):
        response = client.post(
            "/cases/new", data=body, content_type="application/json", headers={"X-CSRFToken": token}
        )
        assert response.status_code == 400
    assert _nothing_started(db_session)


def test_the_directory_import_still_takes_its_file(client, make_user, db_session):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    token = csrf_token(text_of(client.get("/admin/import")))
    data = (PROJECT_ROOT / "docs" / "examples" / "county-import.csv").read_bytes()
    response = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "k.csv"), "dry_run": "Kontrollera"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, text_of(response)
    assert "Välj en fil." not in text_of(response)
    assert "Region Exempelland" in text_of(response)
