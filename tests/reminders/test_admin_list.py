"""The administration's reminders list: a SIP named by its reference, one keyset page read by its index."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import csrf_token, login

from sipflow.admin.regions import Region
from sipflow.reminders.models import FAILED, PENDING, Reminder
from sipflow.reminders.services import reminders_page_query


def _plan_of(db_session, statement) -> str:
    connection = db_session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql).all())


def _the_list_as_admin(client, make_user, parties, book) -> str:
    """The reminders list as the region's administrator sees it once a meeting is booked."""
    book()
    login(client, make_user(parties.region, roles="admin").username)
    return client.get("/admin/reminders/").get_data(as_text=True)


def test_the_list_names_each_sip_by_its_reference_not_its_internal_id(
    client, db_session, make_user, parties, book, ready
):
    page = _the_list_as_admin(client, make_user, parties, book)
    assert f'<td class="mono">{ready.case.reference}</td>' in page
    assert f'<td class="mono">{ready.case.id}</td>' not in page
    for private in (ready.relative.name, "Andersson"):
        assert private not in page


def test_the_time_column_says_when_a_reminder_goes_not_a_deadline_to_meet(
    client, db_session, make_user, parties, book, ready
):
    # "Klart senast" (done by) is a deadline's word, the Att göra list's: a reminder is not something to get
    # done by then, it is sent then ("Möte i morgon" at 10:00 the day before).
    page = _the_list_as_admin(client, make_user, parties, book)
    assert '<th scope="col">Skickas</th>' in page and "Klart senast" not in page
    english = client.get("/admin/reminders/?lang=en").get_data(as_text=True)
    assert '<th scope="col">Goes out</th>' in english


def _other_admin(make_unit, make_user, county_code):
    """The administrator of an organisation of county_code (None: a national organisation, no county)."""
    return make_user(make_unit("other", "Annan", county_code=county_code), roles="admin")


@pytest.mark.parametrize("county_code", ["22", None])
def test_another_regions_administrator_sees_and_resends_none_of_the_regions_reminders(
    client, db_session, make_unit, make_user, parties, book, ready, county_code
):
    book()
    reminder = db_session.exec(select(Reminder).where(Reminder.case_id == ready.case.id)).first()
    reminder.status = FAILED
    db_session.add(reminder)
    db_session.commit()
    login(client, _other_admin(make_unit, make_user, county_code).username)
    for status in ("pending", "failed"):
        page = client.get("/admin/reminders/", query_string={"status": status}).get_data(as_text=True)
        assert ready.case.reference not in page
    token = csrf_token(client.get("/password").get_data(as_text=True))
    client.post(f"/admin/reminders/{reminder.id}/retry", data={"csrf_token": token})
    db_session.expire_all()
    assert db_session.get(Reminder, reminder.id).status == FAILED
    # The region's own administrator sees it and sends it again.
    client.post("/logout", data={"csrf_token": token})
    login(client, make_user(parties.region, roles="admin").username)
    page = client.get("/admin/reminders/", query_string={"status": "failed"}).get_data(as_text=True)
    assert ready.case.reference in page
    token = csrf_token(client.get("/password").get_data(as_text=True))
    client.post(f"/admin/reminders/{reminder.id}/retry", data={"csrf_token": token})
    db_session.expire_all()
    assert db_session.get(Reminder, reminder.id).status == PENDING


REGIONS = {
    "national": Region(national=True),
    "county": Region(national=False, county_code="07"),
    "organisation": Region(national=False, organisation_id=1),
}


@pytest.mark.parametrize("region", list(REGIONS))
@pytest.mark.parametrize("status", ["pending", "sent"])
@pytest.mark.parametrize("paged", [False, "next", "previous"])
def test_a_page_walks_the_status_due_index_without_a_sort(
    db_session, engine, book, ready, status, paged, region
):
    book()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    last = db_session.exec(select(Reminder).order_by(Reminder.id)).first() if paged else None
    backwards = paged == "previous"  # the previous page walks the index the other way from its first row
    statement = reminders_page_query(status=status, last=last, region=REGIONS[region], backwards=backwards)
    plan = _plan_of(db_session, statement)
    assert "TEMP B-TREE" not in plan and "Sort" not in plan.replace("Sort Key", ""), plan
    steps = [line.strip() for line in plan.splitlines()]
    scans = [step for step in steps if step.startswith("SCAN") or "Seq Scan" in step]
    assert scans == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert "ix_reminder_due" in plan, plan


@pytest.mark.parametrize("status", ["bogus", "PENDING", "pending "])
def test_an_unknown_status_is_refused_beside_the_status_filter_not_shown_as_upcoming(
    client, make_user, parties, status
):
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    response = client.get("/admin/reminders/", query_string={"status": status, "lang": "sv"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    nav = page[page.index('<nav aria-label="Status">') :]
    nav = nav[: nav.index("</nav>")]
    assert 'id="status-error"' in nav
    assert "Okänd status. Välj en i listan." in nav
    assert 'aria-current="page"' not in nav  # no status is claimed to be the one shown
    for known in ("sent", ""):  # none chosen: the upcoming ones
        assert client.get("/admin/reminders/", query_string={"status": known}).status_code == 200


def test_the_list_pages_back_by_its_pager_keeping_the_status(
    client, db_session, make_user, parties, book, monkeypatch
):
    """An administrator going through the upcoming reminders a page at a time comes back by the pager to the
    same rows, still of that status (the browser's Back was the only way, and said nothing of where)."""
    import re

    from sipflow.reminders import services

    book()
    ids = [r.id for r in db_session.exec(select(Reminder).where(Reminder.status == PENDING)).all()]
    assert len(ids) >= 3
    monkeypatch.setattr(services, "PAGE_SIZE", 1)
    login(client, make_user(None, roles="admin").username)

    def shown(url):
        page = client.get(url).get_data(as_text=True)
        links = dict(re.findall(r'<a rel="(prev|next)" href="([^"]+)"', page))
        return page, {rel: url.replace("&amp;", "&") for rel, url in links.items()}

    first, links = shown("/admin/reminders/?status=pending")
    second, links2 = shown(links["next"])
    assert "status=pending" in links["next"] and "status=pending" in links2["prev"]
    assert '<span aria-current="page">Sida 2</span>' in second
    assert 'Föregående sida<span class="visually-hidden"> (sida 1)' in second
    back, links_back = shown(links2["prev"])
    assert "prev" not in links_back and links_back["next"] == links["next"]
    assert _rows_of(back) == _rows_of(first) and _rows_of(second) != _rows_of(first)


def _rows_of(page: str) -> str:
    return page[page.index("<tbody>") : page.index("</tbody>")]


def test_sending_a_reminder_again_from_a_later_page_comes_back_to_that_page(
    client, db_session, make_user, book, monkeypatch
):
    import re
    from html import unescape

    from sqlalchemy import update

    from sipflow.reminders import services

    book()
    db_session.execute(update(Reminder).where(Reminder.status == PENDING).values(status=FAILED))
    db_session.commit()
    monkeypatch.setattr(services, "PAGE_SIZE", 1)
    login(client, make_user(None, roles="admin").username)
    first = client.get("/admin/reminders/?status=failed").get_data(as_text=True)
    second_url = unescape(re.search(r'<a rel="next" href="([^"]+)"', first).group(1))
    second = client.get(second_url).get_data(as_text=True)
    action = unescape(re.search(r'<form method="post" action="([^"]*/retry[^"]*)"', second).group(1))
    response = client.post(action, data={"csrf_token": csrf_token(second), "status": "failed"})
    assert response.status_code == 302
    assert sorted(response.headers["Location"].split("?")[1].split("&")) == sorted(
        second_url.split("?")[1].split("&")
    )
