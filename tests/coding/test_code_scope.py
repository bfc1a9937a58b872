"""Who changes the codes: the catalogue and the SIP code per organisation type are national (a national
administrator's); a unit's own SIP code is changed by whoever may change the unit (its region's
administrator). Others read them, and a form sent anyway is refused with the reason."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select
from webkit import csrf_token, login, text_of

from sipflow.coding.models import CodeAssignment, CodeDefinition

pytestmark = pytest.mark.usefixtures("catalogue", "frozen_clock")

NATIONAL_ONLY = "KVÅ-kodverket och SIP-koden per organisationstyp är nationella"
OTHER_REGIONS_UNIT = "Enhetens organisation hör till en annan region"


@pytest.fixture
def fk_unit(make_unit):
    """Försäkringskassan's unit: an organisation of no county."""
    return make_unit("other", "Försäkringskassan", county_code=None)


@pytest.fixture
def other_county_unit(make_unit):
    """A health-care unit of another county's region (22)."""
    return make_unit("region", "Region Exempelland", unit_name="VC Exempel", county_code="22")


def _as(client, user):
    assert login(client, user.username).status_code == 302
    return client


@pytest.fixture
def as_region_admin(client, make_user, parties):
    """Region Kronoberg's administrator (county 07)."""
    return _as(client, make_user(parties.region, roles="admin", username="kron-codes-{n}"))


@pytest.fixture
def as_fk_admin(client, make_user, fk_unit):
    """Försäkringskassan's administrator (an organisation of no county)."""
    return _as(client, make_user(fk_unit, roles="admin", username="fk-codes-{n}"))


@pytest.fixture
def as_national(client, make_user):
    return _as(client, make_user(None, roles="admin"))


def _post(client, url, data=None):
    token = csrf_token(text_of(client.get("/password")))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def _state(db_session):
    db_session.expire_all()
    return (
        {(a.unit_id, a.organisation_kind, a.code) for a in db_session.exec(select(CodeAssignment))},
        {(d.code, d.retired_at) for d in db_session.exec(select(CodeDefinition))},
    )


@pytest.mark.parametrize("who", ["as_region_admin", "as_fk_admin"])
def test_a_scoped_administrator_cannot_change_the_catalogue_or_the_defaults(request, db_session, who):
    client = request.getfixturevalue(who)
    before = _state(db_session)
    for url, data in (
        ("/admin/codes", {"code": "AB123", "label": "Min etikett", "kind": "sip"}),
        ("/admin/codes/XU045/retire", {}),
        ("/admin/codes/upload", {"file": (io.BytesIO(b"code,label,kind\nAB101,X,sip\n"), "codes.csv")}),
        ("/admin/codes/assignments", {"organisation_kind": "region", "code": "AU124"}),
    ):
        response = _post(client, url, data)
        assert response.status_code == 403, url
        assert NATIONAL_ONLY in text_of(response), url
    assert _state(db_session) == before
    # What was typed in the refused add is kept.
    response = _post(client, "/admin/codes", {"code": "AB123", "label": "Min etikett", "kind": "sip"})
    assert 'value="Min etikett"' in text_of(response)


@pytest.mark.parametrize("who", ["as_region_admin", "as_fk_admin"])
def test_a_scoped_administrator_reads_the_catalogue_and_defaults_without_forms(request, parties, who):
    client = request.getfixturevalue(who)
    codes = text_of(client.get("/admin/codes"))
    assert NATIONAL_ONLY in codes and "XU045" in codes
    assert "/retire" not in codes and 'action="/admin/codes"' not in codes and "/upload" not in codes
    page = text_of(client.get("/admin/codes/assignments"))
    assert NATIONAL_ONLY in page and "XU045" in page  # the region type's code, read-only
    assert 'name="organisation_kind"' not in page


def test_a_national_administrator_changes_the_catalogue_and_the_defaults(as_national, db_session, parties):
    page = text_of(as_national.get("/admin/codes"))
    assert NATIONAL_ONLY not in page and "/retire" in page
    assert 'name="organisation_kind"' in text_of(as_national.get("/admin/codes/assignments"))
    assert (
        _post(as_national, "/admin/codes", {"code": "AB123", "label": "X", "kind": "sip"}).status_code == 303
    )
    assert _post(as_national, "/admin/codes/AB123/retire").status_code == 303
    response = _post(
        as_national, "/admin/codes/assignments", {"organisation_kind": "region", "code": "AU124"}
    )
    assert response.status_code == 303
    assignments, definitions = _state(db_session)
    assert (None, "region", "AU124") in assignments
    assert any(code == "AB123" and retired is not None for code, retired in definitions)


def test_a_region_administrator_sets_their_own_units_code(as_region_admin, db_session, parties):
    response = _post(
        as_region_admin, "/admin/codes/assignments", {"unit_id": str(parties.region.id), "code": "AU124"}
    )
    assert response.status_code == 303
    assert (parties.region.id, None, "AU124") in _state(db_session)[0]


def test_another_regions_unit_is_read_only_and_refused(
    as_region_admin, db_session, other_county_unit, parties
):
    page = text_of(as_region_admin.get("/admin/codes/assignments"))
    assert f'name="unit_id" value="{parties.region.id}"' in page
    assert f'name="unit_id" value="{other_county_unit.id}"' not in page
    assert "VC Exempel" in page
    before = _state(db_session)
    response = _post(
        as_region_admin, "/admin/codes/assignments", {"unit_id": str(other_county_unit.id), "code": "AU124"}
    )
    assert response.status_code == 403 and OTHER_REGIONS_UNIT in text_of(response)
    assert _state(db_session) == before


def test_an_organisations_administrator_cannot_set_a_regions_units_code(as_fk_admin, db_session, parties):
    before = _state(db_session)
    response = _post(
        as_fk_admin, "/admin/codes/assignments", {"unit_id": str(parties.region.id), "code": "AU124"}
    )
    assert response.status_code == 403
    assert _state(db_session) == before
