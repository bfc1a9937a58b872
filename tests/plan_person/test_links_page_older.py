"""A SIP with more personal links than the links page lists at once shows them all, newest first, a page at a
time (keyset by when sent and id): a link that still works is never out of reach of its Revoke button."""

from __future__ import annotations

import re

import support
from personkit import add_relatives
from sqlmodel import func, select
from test_personal_links import link_form
from webkit import fill, forms_of, login, text_of

from sipflow.plans.models import PersonalLink
from sipflow.plans.personal_links import LIST_LIMIT


def test_every_link_is_reached_from_the_links_page_however_many(
    client, engine, db_session, registry, planned, now
):
    login(client, planned.region.user.username)
    relatives = add_relatives(db_session, registry, planned.case, LIST_LIMIT + 5, now)
    url = f"/cases/{planned.case.uid}/plan/links"
    # The first ones sent still work when fifty more have been sent since.
    for participant in relatives:
        form = link_form(text_of(client.get(url)), planned.case, participant)
        assert client.post(url, data=form).status_code == 303
    sent = db_session.exec(select(func.count()).select_from(PersonalLink)).one()
    assert sent > LIST_LIMIT

    page, listed, counts = url, [], []
    while page:
        assert client.get(page).status_code == 200
        with support.statements(engine) as seen:
            html = text_of(client.get(page))
        counts.append(len(seen))
        listed += [int(n) for n in re.findall(r'<th scope="row">(\d+)</th>', html)]
        older = re.search(r'<a href="([^"]*older_than=[^"#]*)#h-links">Äldre länkar</a>', html)
        page = older.group(1).replace("&amp;", "&") if older else None
        if page:
            later = text_of(client.get(page))
            assert "De senaste länkarna" in later
            # The send form on an older page still speaks for the newest link: a send from it goes through.
            form = fill(forms_of(later)[url], **{"link-participant_id": str(relatives[0].id)})
            assert dict(form)["link-last_link"] == str(max(listed))
    ids = db_session.exec(select(PersonalLink.id).order_by(PersonalLink.id.desc())).all()
    assert listed == list(ids)
    first = min(ids)
    assert f"link no. {first}" in html or f"länk nr {first}" in html  # its Revoke button, on the last page
    assert len(counts) > 1 and len(set(counts[1:])) == 1 and counts[1] <= counts[0] + 1, counts


def test_a_cursor_that_is_no_cursor_shows_the_newest_links(client, planned):
    login(client, planned.region.user.username)
    url = f"/cases/{planned.case.uid}/plan/links"
    first = re.findall(r'<th scope="row">(\d+)</th>', text_of(client.get(url)))
    for token in ("x", "MXx8", "!!", "a" * 500):
        response = client.get(f"{url}?older_than={token}")
        assert response.status_code == 200
        assert re.findall(r'<th scope="row">(\d+)</th>', text_of(response)) == first
