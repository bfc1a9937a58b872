"""Organisations and units: created, edited and deactivated by administrators, every change logged."""

from __future__ import annotations

import re
from datetime import date
from html import unescape as html_unescape

import pytest
from directorykit import changes, post
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select
from support import valid_personnummer
from webkit import fill, forms_of, login, text_of

from sipflow.admin import directory
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.queries import units_by_organisation
from sipflow.cases.services import add_unit_participant
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def admin_user(make_user):
    return make_user(None, roles="admin")


@pytest.fixture
def as_admin(client, admin_user):
    assert login(client, admin_user.username).status_code == 302
    return client


def reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


def test_an_administrator_creates_an_organisation_and_the_log_has_it(as_admin, db_session, admin_user):
    response = post(
        as_admin,
        "/admin/organisations/new",
        key="region-vasternorrland",
        name="Region Västernorrland",
        kind="region",
        county_code="22",
        municipality_code="",
    )
    assert response.status_code == 302
    org = db_session.exec(select(Organisation).where(Organisation.key == "region-vasternorrland")).one()
    assert (org.name, org.kind, org.county_code, org.active) == (
        "Region Västernorrland",
        "region",
        "22",
        True,
    )
    (change,) = changes(db_session, "organisation.create")
    assert change.actor_user_id == admin_user.id and change.target_id == org.id
    assert change.before is None and change.after["name"] == "Region Västernorrland"
    assert "Region Västernorrland" in text_of(as_admin.get("/admin/organisations"))


def test_a_municipality_takes_its_county_from_its_code(db_session, app_ctx, now):
    org = directory.create_organisation(
        db_session,
        None,
        key="timra",
        name="Timrå kommun",
        kind="municipality",
        municipality_code="2262",
        now=now,
    )
    assert org.county_code == "22"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "region", "county_code": ""}, "county_code"),
        ({"kind": "municipality", "municipality_code": "9999"}, "municipality_code"),
        ({"kind": "municipality", "municipality_code": ""}, "municipality_code"),
        ({"kind": "planet"}, "kind"),
        ({"key": "Har Mellanslag"}, "key"),
        ({"name": "   "}, "name"),
        ({"kind": "municipality", "municipality_code": "2262", "county_code": "07"}, "county_code"),
    ],
)
def test_a_bad_organisation_is_refused_at_its_field_and_nothing_is_saved(as_admin, db_session, values, field):
    form = {
        "key": "ny-org",
        "name": "Ny organisation",
        "kind": "other",
        "county_code": "",
        "municipality_code": "",
    }
    form.update(values)
    response = post(as_admin, "/admin/organisations/new", **form)
    assert response.status_code == 400
    page = text_of(response)
    assert f'id="{field}-error"' in page
    assert form["name"].strip() in page  # what was typed is kept
    assert db_session.exec(select(Organisation)).all() == []
    assert changes(db_session) == []


def test_every_empty_field_of_a_new_organisation_is_refused_at_once(as_admin, db_session):
    response = post(
        as_admin,
        "/admin/organisations/new",
        key="",
        name="",
        kind="region",
        county_code="",
        municipality_code="",
    )
    assert response.status_code == 400
    page = text_of(response)
    for field, message in (
        ("key", "Fyll i en nyckel."),
        ("name", "Fyll i ett namn."),
        ("county_code", "En region behöver sitt län."),
    ):
        assert f'id="{field}-error"' in page, field
        assert message in page, message
    assert db_session.exec(select(Organisation)).all() == []
    assert changes(db_session) == []


def test_every_bad_field_of_a_new_unit_is_refused_at_once(as_admin, db_session, make_unit):
    organisation_id = make_unit("region").organisation_id
    response = post(
        as_admin,
        "/admin/units/new",
        organisation_id=str(organisation_id),
        key="",
        name="",
        kind="vardcentral",
        email="inte-en-adress",
        hsa_id="",
    )
    assert response.status_code == 400
    page = text_of(response)
    for field in ("key", "name", "email"):
        assert f'id="{field}-error"' in page, field


def test_a_key_is_taken_once(db_session, app_ctx, now):
    directory.create_organisation(db_session, None, key="fk", name="Försäkringskassan", kind="other", now=now)
    with pytest.raises(InvalidInput) as refused:
        directory.create_organisation(db_session, None, key="fk", name="Annan", kind="other", now=now)
    assert refused.value.field == "key"


def test_editing_an_organisation_logs_before_and_after(as_admin, db_session, make_unit):
    unit = make_unit("municipality", "Växjö kommun")
    org = db_session.get(Organisation, unit.organisation_id)
    response = post(
        as_admin,
        f"/admin/organisations/{org.id}/edit",
        version="1",
        name="Växjö kommun, socialförvaltningen",
        kind="municipality",
        county_code="",
        municipality_code="0780",
    )
    assert response.status_code == 302
    org = reload(db_session, Organisation, org.id)
    assert (org.name, org.municipality_code, org.county_code) == (
        "Växjö kommun, socialförvaltningen",
        "0780",
        "07",
    )
    (change,) = changes(db_session, "organisation.edit")
    assert (
        change.before["name"] == "Växjö kommun"
        and change.after["name"] == "Växjö kommun, socialförvaltningen"
    )


def test_an_unchanged_edit_writes_no_log_row(db_session, app_ctx, now, make_unit):
    org = db_session.get(Organisation, make_unit("other", "Försäkringskassan").organisation_id)
    assert not directory.edit_organisation(
        db_session, None, org, name=org.name, kind="other", county_code="07", now=now
    )
    assert changes(db_session) == []


def test_a_unit_is_created_edited_and_logged(as_admin, db_session, make_unit):
    org_id = make_unit("region", "Region Kronoberg").organisation_id
    response = post(
        as_admin,
        "/admin/units/new",
        organisation_id=str(org_id),
        key="vc-teleborg",
        name="Vårdcentralen Teleborg",
        kind="vardcentral",
        is_health_care="y",
        email="teleborg@regionkronoberg.example",
        hsa_id="se2321000065-vct1",
    )
    assert response.status_code == 302
    unit = db_session.exec(select(Unit).where(Unit.key == "vc-teleborg")).one()
    assert (unit.kind, unit.is_health_care, unit.email, unit.hsa_id) == (
        "vardcentral",
        True,
        "teleborg@regionkronoberg.example",
        "SE2321000065-VCT1",
    )
    response = post(
        as_admin,
        f"/admin/units/{unit.id}/edit",
        version="1",
        name="Vårdcentralen Teleborg",
        kind="vardcentral",
        email="",
        hsa_id="SE2321000065-VCT1",
    )
    assert response.status_code == 302
    unit = reload(db_session, Unit, unit.id)
    assert unit.is_health_care is False and unit.email is None
    (created,) = changes(db_session, "unit.create")
    (edited,) = changes(db_session, "unit.edit")
    assert created.target_id == edited.target_id == unit.id
    assert edited.before["is_health_care"] is True and edited.after["is_health_care"] is False


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"hsa_id": "SE12345-X"}, "hsa_id"),
        ({"hsa_id": "SE2321000065-" + "A" * 19}, "hsa_id"),
        ({"email": "inte-en-adress"}, "email"),
        ({"kind": "rymdstation"}, "kind"),
        ({"organisation_id": ""}, "organisation_id"),
    ],
)
def test_a_bad_unit_is_refused_at_its_field(as_admin, db_session, make_unit, values, field):
    org_id = make_unit("region", "Region Kronoberg").organisation_id
    form = {"organisation_id": str(org_id), "key": "ny-enhet", "name": "Ny enhet", "kind": "psykiatri"}
    form.update(values)
    response = post(as_admin, "/admin/units/new", **form)
    assert response.status_code == 400
    assert f'id="{field}-error"' in text_of(response)
    assert db_session.exec(select(Unit).where(Unit.key == "ny-enhet")).first() is None


def test_an_hsa_id_belongs_to_one_unit(db_session, app_ctx, now, make_unit):
    first, second = make_unit("region"), make_unit("region")
    directory.edit_unit(
        db_session,
        None,
        first,
        name=first.name,
        kind="bup",
        is_health_care=True,
        email=None,
        hsa_id="SE2321000065-BUP1",
        now=now,
    )
    with pytest.raises(InvalidInput) as refused:
        directory.edit_unit(
            db_session,
            None,
            second,
            name=second.name,
            kind="bup",
            is_health_care=True,
            email=None,
            hsa_id="SE2321000065-bup1",
            now=now,
        )
    assert refused.value.field == "hsa_id"


def test_a_deactivated_unit_joins_no_new_sip_but_stays_on_its_own(
    db_session, registry, parties, create_case, now, as_admin
):
    case = create_case()
    response = post(as_admin, f"/admin/units/{parties.municipality.id}/deactivate")
    assert response.status_code == 302
    assert reload(db_session, Unit, parties.municipality.id).active is False
    (change,) = changes(db_session, "unit.deactivate")
    assert change.before["active"] is True and change.after["active"] is False
    # Still on the case it took part in.
    assert db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.unit_id == parties.municipality.id
        )
    ).first()
    # Refused for a new SIP and for another case, and not offered any more.
    with pytest.raises(InvalidInput) as refused:
        create_case()
    assert refused.value.field == "unit_ids"
    db_session.rollback()
    other = create_case(units=[])
    with pytest.raises(InvalidInput):
        with unit_of_work(db_session):
            add_unit_participant(db_session, registry, other, parties.municipality.id, now=now)
    offered = [unit_id for group in units_by_organisation(db_session) for unit_id, _ in group.units]
    assert parties.municipality.id not in offered and parties.school.id in offered


def test_the_staff_of_a_deactivated_unit_start_no_new_sip_but_keep_their_own(
    client, db_session, parties, create_case, now
):
    # The unit initiated nothing new after deactivation: its own unit was the one unit start did not check.
    case = create_case(actor=parties.municipality_user, units=[parties.region.id])
    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, parties.municipality, False, now=now)
    assert login(client, parties.municipality_user.username).status_code == 302
    opened = text_of(client.get("/cases/new"))
    # Said when the page opens, before anything is typed, not only after the whole form is filled in.
    assert "Din enhet är inaktiverad" in opened
    form = forms_of(opened)["/cases/new"]
    data = fill(
        form,
        workflow_name="sip",
        identifier=valid_personnummer(date(1977, 7, 7), serial=123),
        given_name="Kim",
        family_name="Ny",
        home_municipality_code="0780",
        unit_ids=[str(parties.region.id)],
    )
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400
    assert "Din enhet är inaktiverad" in text_of(response)
    db_session.expire_all()
    assert [c.id for c in db_session.exec(select(SipCase)).all()] == [case.id]
    assert client.get(f"/cases/{case.uid}").status_code == 200


def test_deactivating_an_organisation_deactivates_its_units_and_nothing_is_deleted(
    as_admin, db_session, make_unit
):
    unit = make_unit("school", "Katedralskolan")
    response = post(as_admin, f"/admin/organisations/{unit.organisation_id}/deactivate")
    assert response.status_code == 302
    assert reload(db_session, Organisation, unit.organisation_id).active is False
    assert reload(db_session, Unit, unit.id).active is False
    assert [c.action for c in changes(db_session)] == ["organisation.deactivate", "unit.deactivate"]
    # A unit of an inactive organisation cannot be activated on its own.
    post(as_admin, f"/admin/units/{unit.id}/activate")
    assert reload(db_session, Unit, unit.id).active is False
    post(as_admin, f"/admin/organisations/{unit.organisation_id}/activate")
    post(as_admin, f"/admin/units/{unit.id}/activate")
    assert reload(db_session, Unit, unit.id).active is True


def test_the_organisation_list_is_paged_by_name(as_admin, db_session, make_unit, monkeypatch):
    for name in ["Cesam", "Alfa", "Bravo"]:
        make_unit("other", name)
    monkeypatch.setattr(directory, "PAGE_SIZE", 2)
    first = text_of(as_admin.get("/admin/organisations"))
    assert "Alfa" in first and "Bravo" in first and "Cesam" not in first
    bravo = db_session.exec(select(Organisation).where(Organisation.name == "Bravo")).one()
    assert f"after={bravo.id}" in first
    second = text_of(as_admin.get(f"/admin/organisations?after={bravo.id}"))
    assert "Cesam" in second and "Alfa" not in second


def test_the_units_of_one_organisation(as_admin, make_unit):
    mine, other = make_unit("region", "Region Kronoberg", unit_name="Psykiatrin"), make_unit("other", "FK")
    page = text_of(as_admin.get(f"/admin/units?organisation={mine.organisation_id}"))
    assert "Psykiatrin" in page and other.name not in page


@pytest.mark.parametrize(
    "url",
    [
        "/admin/organisations",
        "/admin/organisations/new",
        "/admin/units",
        "/admin/units/new",
        "/admin/import",
        "/admin/workflows",
    ],
)
def test_staff_get_403_on_the_directory_pages(client, make_user, make_unit, url):
    user = make_user(make_unit("region"), roles="staff,coordinator")
    login(client, user.username)
    assert client.get(url).status_code == 403


@given(
    serial=st.from_regex(r"[A-Za-z0-9]{1,18}", fullmatch=True),
    number=st.from_regex(r"[0-9]{10}", fullmatch=True),
)
def test_every_well_formed_hsa_id_is_kept_upper_case(serial, number):
    assert directory.clean_hsa_id(f" se{number}-{serial} ") == f"SE{number}-{serial.upper()}"


ARABIC_INDIC = "\u0662\u0663\u0662\u0661\u0660\u0660\u0660\u0660\u0661\u0666"
FULLWIDTH = "２３２１００００１６"


@pytest.mark.parametrize("digits", [ARABIC_INDIC, FULLWIDTH])
def test_an_hsa_id_with_digits_of_another_script_is_refused(digits):
    # The national catalogue's HSA-ids are ASCII: a look-alike would never match the one sent from it.
    with pytest.raises(InvalidInput) as refused:
        directory.clean_hsa_id(f"SE{digits}-15CQ")
    assert refused.value.field == "hsa_id"


@given(value=st.text(max_size=40))
def test_an_hsa_id_is_refused_or_well_formed(value):
    try:
        kept = directory.clean_hsa_id(value)
    except InvalidInput as refused:
        assert refused.field == "hsa_id"
    else:
        assert kept is None or (len(kept) <= 31 and directory.HSA_ID_RE.fullmatch(kept))


@pytest.mark.parametrize("name", ["Vårdcentralen\r\nTeleborg", "Vårdcentralen\nTeleborg", "Vård\tcentralen"])
def test_a_unit_or_organisation_name_on_two_lines_is_refused_at_the_field(
    as_admin, db_session, make_unit, name
):
    # The unit's name is the From of its staff's meeting invitations: a line break there broke every booking.
    unit = make_unit("region")
    before = unit.name
    response = post(
        as_admin,
        f"/admin/units/{unit.id}/edit",
        version=str(unit.row_version),
        name=name,
        kind=unit.kind,
        email=unit.email or "",
        hsa_id=unit.hsa_id or "",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="name-error"' in page and "på en rad" in page
    assert reload(db_session, Unit, unit.id).name == before
    response = post(
        as_admin,
        "/admin/organisations/new",
        key="ny-org",
        name=name,
        kind="other",
        county_code="",
        municipality_code="",
    )
    assert response.status_code == 400 and 'id="name-error"' in text_of(response)
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny-org")).first() is None
    assert changes(db_session) == []


# A right-to-left override shows "Anna \u202eevil" as "Anna live": a name must read as what it is.
BIDI_NAMES = ["Vårdcentralen \u202eNorr", "Vård\u200fcentralen", "Vård\u2066centralen\u2069", "Enhet\u061c"]


@pytest.mark.parametrize(
    "name", [*BIDI_NAMES, "Vård\x85centralen", "Vård\x1bcentralen", "Vård\u200bcentralen", "\ufeffEnhet"]
)
def test_a_unit_or_organisation_name_with_an_invisible_control_character_is_refused_at_the_field(
    as_admin, db_session, make_unit, name
):
    unit = make_unit("region")
    before = unit.name
    response = post(
        as_admin,
        f"/admin/units/{unit.id}/edit",
        version=str(unit.row_version),
        name=name,
        kind=unit.kind,
        email=unit.email or "",
        hsa_id=unit.hsa_id or "",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="name-error"' in page
    assert reload(db_session, Unit, unit.id).name == before
    response = post(
        as_admin,
        "/admin/organisations/new",
        key="ny-org",
        name=name,
        kind="other",
        county_code="",
        municipality_code="",
    )
    assert response.status_code == 400 and 'id="name-error"' in text_of(response)
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny-org")).first() is None
    assert changes(db_session) == []


@pytest.mark.parametrize("name", BIDI_NAMES)
def test_a_direction_character_is_named_in_the_refusal(app_ctx, name):
    with pytest.raises(InvalidInput) as refused:
        directory.clean_name(name)
    assert refused.value.field == "name"
    assert "skrivriktningen (U+" in str(refused.value.message)


@pytest.mark.parametrize(
    "name",
    [
        "Vårdcentralen Åre–Östersund",
        "Čohkkiras Sámi searvi",
        "Ŋuorra Áile",
        "مركز الرعاية الصحية",
        "José Müller",
    ],
)
def test_names_in_swedish_sami_or_arabic_letters_are_kept(app_ctx, name):
    assert directory.clean_name(name) == name


def _options(html: str, select_name: str) -> dict[str, str]:
    """The options of the select named select_name: value -> label."""
    block = re.search(rf'<select[^>]*name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert block is not None
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)', block[1])
    return {value: html_unescape(label).strip() for value, label in options}


def test_the_unit_forms_organisation_picker_labels_organisations_of_the_same_name_apart(as_admin, make_unit):
    national = make_unit("other", "Försäkringskassan", county_code=None, key="fk").organisation_id
    kronoberg = make_unit("other", "Försäkringskassan", county_code="07", key="fk-07").organisation_id
    options = _options(text_of(as_admin.get("/admin/units/new")), "organisation_id")
    assert options[str(national)] == "Försäkringskassan (hela landet)"
    assert options[str(kronoberg)] == "Försäkringskassan (Kronobergs län)"


def test_the_user_forms_unit_picker_labels_organisations_of_the_same_name_apart(as_admin, make_unit):
    national = make_unit("other", "Försäkringskassan", unit_name="Kontoret", county_code=None, key="fk")
    kronoberg = make_unit("other", "Försäkringskassan", unit_name="Kontoret", county_code="07", key="fk-07")
    options = _options(text_of(as_admin.get("/admin/users/new")), "unit_id")
    assert options[str(national.id)] == "Försäkringskassan (hela landet), Kontoret"
    assert options[str(kronoberg.id)] == "Försäkringskassan (Kronobergs län), Kontoret"


def test_a_unit_name_another_active_unit_of_the_organisation_has_is_refused_beside_the_field(
    as_admin, db_session, make_unit
):
    existing = make_unit("region", unit_name="Vårdcentralen Öster")
    response = post(
        as_admin,
        "/admin/units/new",
        organisation_id=str(existing.organisation_id),
        key="vc-oster-2",
        name="  vårdcentralen ÖSTER ",
        kind="vardcentral",
        email="",
        hsa_id="",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="name-error"' in page and "En annan enhet i organisationen har det här namnet." in page
    assert 'value="vc-oster-2"' in page  # what was typed is kept
    assert (
        len(db_session.exec(select(Unit).where(Unit.organisation_id == existing.organisation_id)).all()) == 1
    )


def test_a_unit_name_is_free_in_another_organisation_and_beside_a_deactivated_unit(
    db_session, app_ctx, make_unit, now
):
    holder = make_unit("region", unit_name="Hemtjänst")
    organisation = db_session.get(Organisation, holder.organisation_id)
    elsewhere = db_session.get(Organisation, make_unit("municipality").organisation_id)
    with unit_of_work(db_session):
        directory.create_unit(
            db_session, None, elsewhere, key="ht-2", name="Hemtjänst", kind="other", now=now
        )
    with pytest.raises(InvalidInput) as refused:
        directory.create_unit(
            db_session, None, organisation, key="ht-3", name="HEMTJÄNST", kind="other", now=now
        )
    assert refused.value.field == "name"
    db_session.rollback()
    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, db_session.get(Unit, holder.id), False, now=now)
        directory.create_unit(
            db_session, None, organisation, key="ht-3", name="Hemtjänst", kind="other", now=now
        )
    # Active again beside the new one, the two would read alike in every picker.
    with pytest.raises(InvalidInput):
        directory.set_unit_active(db_session, None, db_session.get(Unit, holder.id), True, now=now)


def test_an_independent_school_is_an_organisation_of_its_own_kind_in_its_municipality(
    as_admin, db_session, app_ctx, now
):
    """A friskola is not part of the municipality it stands in: the administrator registers it as an
    independent school, placed in its municipality (the county follows), and the form offers the kind."""
    org = directory.create_organisation(
        db_session,
        None,
        key="larande-friskola",
        name="Lärande Friskola AB",
        kind="friskola",
        municipality_code="0780",
        now=now,
    )
    assert (org.kind, org.municipality_code, org.county_code) == ("friskola", "0780", "07")
    form = text_of(as_admin.get("/admin/organisations/new"))
    assert "Fristående skola (friskola)" in form and "Skola (kommunal)" in form
