"""A unit closes while it carries huvudansvar on SIPs still running: the administrator who deactivates it (or
its organisation) is told which SIPs are left with no active unit of the organisation responsible, and what
to do, rather than only that the unit is deactivated."""

from __future__ import annotations

import io

import pytest
from plankit import give_huvudansvar
from webkit import csrf_token, login, spoken, text_of

from sipflow.admin import directory, directory_views
from sipflow.cases.services import add_unit_participant
from sipflow.cli import sipflow_cli
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

WARNING = "SIP som pågår har ingen aktiv enhet kvar i organisationen som har huvudansvaret"


@pytest.fixture
def as_admin(client, make_user):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client


def deactivate(client, url: str) -> str:
    token = csrf_token(text_of(client.get("/admin/organisations")))
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    return text_of(client.get(response.headers["Location"]))


def test_deactivating_the_unit_holding_huvudansvar_names_the_sips_left_without_it(
    db_session, parties, held, as_admin
):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    page = deactivate(as_admin, f"/admin/units/{parties.region.id}/deactivate")
    assert "1 " + WARNING + f": {held.reference}." in page
    assert "behåll deras konton tills de har gjort det" in page


def test_deactivating_an_organisation_names_them_too(db_session, parties, held, as_admin):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    page = deactivate(as_admin, f"/admin/organisations/{parties.region.organisation_id}/deactivate")
    assert WARNING + f": {held.reference}." in page


def test_no_warning_for_a_participant_or_when_another_unit_of_the_organisation_carries_it(
    db_session, registry, parties, held, as_admin, make_unit
):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    # The municipality only takes part: its closing leaves huvudansvar where it was.
    assert WARNING not in deactivate(as_admin, f"/admin/units/{parties.municipality.id}/deactivate")
    # Vårdcentralen Y of the same region joins the SIP and carries huvudansvar with X.
    other = make_unit("region")
    other.organisation_id = parties.region.organisation_id
    db_session.commit()
    with unit_of_work(db_session):
        add_unit_participant(db_session, registry, held, other.id, now=now_utc())
    assert WARNING not in deactivate(as_admin, f"/admin/units/{parties.region.id}/deactivate")


def test_the_case_page_says_the_unit_holding_huvudansvar_is_closed_until_another_unit_joins(
    client, db_session, registry, parties, held, make_user
):
    # Vårdcentralen X holds huvudansvar; the county deactivates it; Y's staff of the same region open the SIP.
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, parties.region, False, now=now_utc())
    other = make_unit_of(db_session, parties.region.organisation_id)
    colleague = make_user(other)
    assert login(client, colleague.username).status_code == 302
    page = spoken(text_of(client.get(f"/cases/{held.uid}")))
    assert "Ingen aktiv enhet har huvudansvaret." in page
    assert f"{parties.region.name} (inaktiverad)" in page
    # Y joins the SIP: it carries huvudansvar, and the warning is gone.
    with unit_of_work(db_session):
        add_unit_participant(db_session, registry, held, other.id, now=now_utc())
    page = spoken(text_of(client.get(f"/cases/{held.uid}")))
    assert "Ingen aktiv enhet har huvudansvaret." not in page


def test_a_unit_taking_part_closed_beside_an_active_holder_is_marked_without_the_warning(
    client, db_session, parties, held
):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, parties.municipality, False, now=now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    page = spoken(text_of(client.get(f"/cases/{held.uid}")))
    assert f"{parties.municipality.name} (inaktiverad)" in page
    assert "Ingen aktiv enhet har huvudansvaret." not in page


def make_unit_of(db_session, organisation_id: int) -> Unit:
    """Another unit (Vårdcentralen Y) of the organisation organisation_id; committed."""
    unit = Unit(key=f"y-{organisation_id}", organisation_id=organisation_id, name="Vårdcentralen Y")
    db_session.add(unit)
    db_session.commit()
    return unit


def closing_file(db_session, unit) -> bytes:
    """An import file whose one line closes unit (its other columns as sipflow has them)."""
    organisation = db_session.get(Organisation, unit.organisation_id)
    line = ";".join(
        (
            "unit",
            unit.key,
            unit.name,
            unit.kind,
            organisation.key,
            "",
            "",
            "",
            "yes" if unit.is_health_care else "no",
            unit.email or "",
            unit.hsa_id or "",
            "",
            "",
            "no",
        )
    )
    header = "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;scope"
    return f"{header};active\n{line}\n".encode()


def test_an_import_closing_the_unit_names_them_too(db_session, parties, held, as_admin):
    # The county's next HR file says Vårdcentralen X closed: the import page warns as the unit's page does.
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    unit = parties.region
    data = closing_file(db_session, unit)
    token = csrf_token(text_of(as_admin.get("/admin/import")))
    response = as_admin.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "hr.csv"), "apply": "1"},
        content_type="multipart/form-data",
    )
    page = text_of(response)
    assert response.status_code == 200, page
    assert "1 " + WARNING + f": {held.reference}." in page
    db_session.expire_all()
    assert not db_session.get(Unit, unit.id).active


def test_the_command_line_import_names_them_too(app, db_session, parties, held, tmp_path):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    path = tmp_path / "hr.csv"
    path.write_bytes(closing_file(db_session, parties.region))
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        f"1 SIP still running with no active unit left of the organisation with overall responsibility:"
        f" {held.reference}." in result.output
    )


DRY_RUN_WARNING = (
    "SIP som pågår skulle inte ha någon aktiv enhet kvar i organisationen som har huvudansvaret när filen är"
    " importerad"
)


def _import_page(client, data: bytes, button: str) -> str:
    token = csrf_token(text_of(client.get("/admin/import")))
    response = client.post(
        "/admin/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "hr.csv"), button: "1"},
        content_type="multipart/form-data",
    )
    page = text_of(response)
    assert response.status_code == 200, page
    return page


def test_the_dry_run_names_the_sips_the_file_would_leave_without_it(db_session, parties, held, as_admin):
    # The administrator checks next month's file first: the SIPs it would leave are named while the
    # organisation's staff can still add another unit or hand huvudansvar over, not only after the import.
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    data = closing_file(db_session, parties.region)
    page = _import_page(as_admin, data, "dry_run")
    assert "1 " + DRY_RUN_WARNING + f": {held.reference}." in page
    db_session.expire_all()
    assert db_session.get(Unit, parties.region.id).active
    # The import then names the same SIP, as done.
    assert "1 " + WARNING + f": {held.reference}." in _import_page(as_admin, data, "apply")


def test_the_import_page_names_every_sip_it_leaves(db_session, parties, held, as_admin, monkeypatch):
    # A deactivation's page names the first REFERENCES_NAMED SIPs and counts the rest; a national file closing
    # hundreds of units leaves more than that, and the ones only counted were named nowhere (the command line
    # names them all). With none named by the deactivation's rule, the import still names its SIP.
    monkeypatch.setattr(directory_views, "REFERENCES_NAMED", 0)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    page = _import_page(as_admin, closing_file(db_session, parties.region), "apply")
    assert "1 " + WARNING + f": {held.reference}." in page


def test_the_command_line_dry_run_names_them_too(app, db_session, parties, held, tmp_path):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    path = tmp_path / "hr.csv"
    path.write_bytes(closing_file(db_session, parties.region))
    result = app.test_cli_runner().invoke(sipflow_cli, ["import", "directory", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        f"1 SIP still running with no active unit left of the organisation with overall responsibility once"
        f" the file is imported: {held.reference}." in result.output
    )
    db_session.expire_all()
    assert db_session.get(Unit, parties.region.id).active
