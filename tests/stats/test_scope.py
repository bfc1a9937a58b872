"""A coordinator sees the statistics of the counties and municipalities they follow, and no others."""

from __future__ import annotations

from datetime import date

import pytest
from webkit import login

from sipflow.admin.models import CoordinatorScope

KALMAR, NYBRO, VAXJO = "0880", "0881", "0780"
PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "by": "municipality"}


@pytest.fixture
def two_counties(world, db_session):
    """Six persons with a SIP in Kalmar (county 08) and six in Växjö (county 07)."""
    for municipality in (KALMAR, VAXJO):
        for _ in range(6):
            case = world.case(world.person(municipality))
            world.meeting(case, date(2026, 1, 10), municipality=municipality)
    db_session.commit()
    return world


def coordinator(client, make_user, db_session, username, counties=(), municipalities=()):
    """A client logged in as a coordinator (no unit) following these counties and municipalities."""
    user = make_user(None, "coordinator", username)
    for code in counties:
        db_session.add(CoordinatorScope(user_id=user.id, county_code=code))
    for code in municipalities:
        db_session.add(CoordinatorScope(user_id=user.id, municipality_code=code))
    db_session.commit()
    login(client, username)
    return client


def options(page: str, select_id: str) -> list[str]:
    """The option values of a select on the page."""
    start = page.index(f'<select id="{select_id}"')
    block = page[start : page.index("</select>", start)]
    return [part.split('"', 1)[0] for part in block.split('<option value="')[1:]]


def municipalities_of(answer: dict) -> set[str]:
    return {row["municipality"] for row in answer["tables"][0]["rows"]}


def counted_in(answer: dict) -> set[str]:
    """The municipalities with a SIP: every other one in the scope is a row of zeros."""
    return {row["municipality"] for row in answer["tables"][0]["rows"] if row["sips"] != 0}


KRONOBERG = {"Alvesta", "Lessebo", "Ljungby", "Markaryd", "Tingsryd", "Uppvidinge", "Växjö", "Älmhult"}


def test_the_filter_offers_only_the_counties_and_municipalities_followed(client, make_user, db_session):
    scoped = coordinator(client, make_user, db_session, "kerstin-08", counties=["08"], municipalities=[VAXJO])
    page = scoped.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    assert options(page, "county") == ["", "08"]
    offered = set(options(page, "municipality")) - {""}
    assert {KALMAR, NYBRO, VAXJO} <= offered
    assert "0781" not in offered and "0180" not in offered  # Alvesta (07) and Stockholm: not followed
    assert "Alla som du följer" in page


def test_the_default_view_counts_everything_followed(client, make_user, db_session, two_counties):
    """A coordinator following Kronoberg (07) and the municipality of Kalmar (08) sees both by default."""
    scoped = coordinator(
        client, make_user, db_session, "kerstin-07-0880", counties=["07"], municipalities=[KALMAR]
    )
    page = scoped.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    assert '<option value="07" selected>' not in page  # "All that you follow", not the first county
    totals = page[page.index('id="table-meetings"') :]
    assert "Kalmar" in totals and "Växjö" in totals
    answer = scoped.get("/statistik/indikatorer.json", query_string=PERIOD).get_json()
    assert answer["query"]["county"] is None
    # Every municipality followed is a row, with 0 where no SIP was held.
    assert municipalities_of(answer) == KRONOBERG | {"Kalmar"}
    assert counted_in(answer) == {"Kalmar", "Växjö"}
    assert answer["tables"][0]["total"]["persons"] == 12
    by_county = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"by": "county"}).get_json()
    # Kalmar county only through its municipality Kalmar: the row says it is a part.
    assert {row["county"] for row in by_county["tables"][0]["rows"]} == {"Kalmar län (del)", "Kronobergs län"}


def test_a_county_outside_the_scope_is_refused_on_the_page_and_in_every_output(
    client, make_user, db_session, two_counties
):
    scoped = coordinator(client, make_user, db_session, "kerstin-kalmar", counties=["08"])
    params = PERIOD | {"county": "07"}
    response = scoped.get("/statistik/indikatorer.json", query_string=params)
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "not_allowed",
        "field": "county",
        "reason": "Du följer inte statistiken för det här länet.",
    }
    for path in ("indikatorer.csv", "indikatorer.xlsx", "kvartalsrapport.pdf"):
        refused = scoped.get(f"/statistik/{path}", query_string=params)
        assert refused.status_code == 403, path
        assert refused.get_json()["field"] == "county"
    page = scoped.get("/statistik/", query_string=params)
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert 'id="county-error"' in text and "Du följer inte statistiken för det här länet." in text
    assert "Växjö" not in text.split("</form>", 1)[1]  # no numbers of the county refused


def test_a_municipality_outside_the_scope_is_refused(client, make_user, db_session, two_counties):
    scoped = coordinator(client, make_user, db_session, "kerstin-nybro", municipalities=[NYBRO])
    response = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"municipality": KALMAR})
    assert response.status_code == 403 and response.get_json()["field"] == "municipality"
    page = scoped.get("/statistik/", query_string=PERIOD | {"municipality": KALMAR})
    assert page.status_code == 403 and 'id="municipality-error"' in page.get_data(as_text=True)
    # A county the coordinator does not follow as a whole is refused too, though Nybro lies in it.
    whole_county = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"county": "08"})
    assert whole_county.status_code == 403
    allowed = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"municipality": NYBRO})
    assert allowed.status_code == 200


def test_all_that_you_follow_counts_only_the_scope(client, make_user, db_session, two_counties):
    scoped = coordinator(client, make_user, db_session, "kerstin-all", counties=["08"])
    answer = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"county": ""}).get_json()
    assert answer["query"]["county"] is None
    assert counted_in(answer) == {"Kalmar"}
    assert len(municipalities_of(answer)) == 12 and "Växjö" not in municipalities_of(answer)  # Kalmar län
    assert answer["tables"][0]["total"]["persons"] == 6


def test_a_coordinator_without_a_scope_sees_every_county(client, make_user, db_session, two_counties):
    everyone = coordinator(client, make_user, db_session, "kerstin-national")
    page = everyone.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    assert len(options(page, "county")) == 22  # "All counties" and the 21 counties
    answer = everyone.get("/statistik/indikatorer.json", query_string=PERIOD).get_json()
    assert answer["query"]["county"] is None
    assert counted_in(answer) == {"Kalmar", "Växjö"} and len(municipalities_of(answer)) == 290
    vaxjo_county = everyone.get("/statistik/indikatorer.json", query_string=PERIOD | {"county": "07"})
    assert vaxjo_county.status_code == 200


def test_a_county_row_of_a_coordinator_following_one_municipality_says_it_is_only_that_municipality(
    client, make_user, db_session, two_counties
):
    """Following Växjö only, "by county" gives Kronoberg the numbers of Växjö: marked "(del)", with a note."""
    import io

    from openpyxl import load_workbook

    scoped = coordinator(client, make_user, db_session, "kerstin-vaxjo", municipalities=[VAXJO])
    params = PERIOD | {"by": "county"}
    answer = scoped.get("/statistik/indikatorer.json", query_string=params).get_json()
    note = (
        "Ett län markerat (del) räknar bara de kommuner i länet som har valts eller som du följer, inte hela "
        "länet: Kronobergs län: Växjö."
    )
    for key in ("meetings", "lead_times", "outcomes"):
        table = next(t for t in answer["tables"] if t["key"] == key)
        assert [row["county"] for row in table["rows"]] in ([], ["Kronobergs län (del)"]), key
        assert table["note"] == note or table["note"].endswith(" " + note), key
    assert answer["tables"][0]["rows"][0]["sips"] == 6
    csv_text = scoped.get("/statistik/indikatorer.csv", query_string=params).get_data().decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("Kronobergs län (del);")
    page = scoped.get("/statistik/", query_string=params).get_data(as_text=True)
    assert note in page and "Kronobergs län (del)" in page
    workbook = load_workbook(
        io.BytesIO(scoped.get("/statistik/indikatorer.xlsx", query_string=params).get_data())
    )
    assert any(str(row[0]).endswith(note) for row in workbook.worksheets[0].iter_rows(values_only=True))
    english = scoped.get("/statistik/indikatorer.json", query_string=params | {"lang": "en"}).get_json()
    assert english["tables"][0]["rows"][0]["county"] == "Kronobergs län (part)"
    assert "A county marked (part) counts only the municipalities" in english["tables"][0]["note"]


def test_a_county_followed_whole_or_a_municipality_that_is_its_county_is_no_part(
    client, make_user, db_session, two_counties
):
    scoped = coordinator(
        client, make_user, db_session, "kerstin-07-0881", counties=["07"], municipalities=[NYBRO]
    )
    answer = scoped.get("/statistik/indikatorer.json", query_string=PERIOD | {"by": "county"}).get_json()
    # Kronoberg is followed whole; Kalmar county only through Nybro (no meetings there in the world: 0).
    rows = {row["county"]: row["sips"] for row in answer["tables"][0]["rows"]}
    assert rows == {"Kronobergs län": 6, "Kalmar län (del)": 0}
    assert answer["tables"][0]["note"].endswith("Kalmar län: Nybro.")


def test_a_municipality_that_is_its_whole_county_makes_no_county_row_a_part(client, make_user, db_session):
    national = coordinator(client, make_user, db_session, "kerstin-gotland")
    gotland = national.get(
        "/statistik/indikatorer.json", query_string=PERIOD | {"by": "county", "municipality": "0980"}
    ).get_json()
    assert "(del)" not in gotland["tables"][0]["note"] and gotland["tables"][2]["note"] is None
