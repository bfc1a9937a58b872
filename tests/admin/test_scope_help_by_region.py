"""The user form's help beside "Counties and municipalities followed" says what the administrator's own
region allows: a national administrator's coordinator left empty follows every county; a county's
administrator gives one their county or its municipalities (empty is refused); an administrator of an
organisation with no county, such as Försäkringskassan's, makes no coordinator at all. The help said "left
empty, the coordinator follows every county" to all three."""

from __future__ import annotations

import pytest
from webkit import FreshContextClient, login, text_of

from sipflow.people.models import Organisation, Unit

NATIONAL = "Lämnas fältet tomt följer samordnaren alla län (hela landets statistik)."
COUNTY = "För en samordnare: ditt läns kod eller koder för dess kommuner, åtskilda med kommatecken; minst en."
NO_COUNTY = (
    "Din organisation har inget län: bara ett läns eller en nationell administratör gör en användare till"
)


@pytest.fixture
def agency_admin(db_session, make_user):
    """Försäkringskassan's administrator: a national organisation (no county) with its Kalmar office."""
    organisation = Organisation(key="fk", name="Försäkringskassan", kind="other", county_code=None)
    db_session.add(organisation)
    db_session.flush()
    unit = Unit(key="fk-kalmar", organisation_id=organisation.id, name="Försäkringskassan Kalmar")
    db_session.add(unit)
    db_session.commit()
    return make_user(unit, roles="staff,admin")


@pytest.mark.parametrize("url", ["/admin/users/new", "own"])
def test_each_region_is_told_what_it_may_give(app, make_user, parties, agency_admin, url):
    national = make_user(None, roles="admin")
    kronoberg = make_user(parties.region, roles="staff,admin")
    for admin, said in ((national, NATIONAL), (kronoberg, COUNTY), (agency_admin, NO_COUNTY)):
        client = FreshContextClient(app, app.response_class, use_cookies=True)
        login(client, admin.username)
        page = text_of(client.get(f"/admin/users/{admin.id}" if url == "own" else url))
        assert said in page, admin.username
        assert (NATIONAL in page) == (admin is national), admin.username
