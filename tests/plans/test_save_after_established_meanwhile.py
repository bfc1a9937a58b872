"""A save from a plan page read before a colleague established the plan: it is saved into the working plan,
and the user is told plainly that the version established meanwhile is without it (it comes into the next
one). It was saved with "Planen är sparad." alone, as if it were in the plan just established."""

from __future__ import annotations

import pytest
from plankit import complete_data, give_huvudansvar, save
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.plans.services import find_plan

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]

TOLD = (
    "Version 1 av planen fastställdes medan du arbetade, utan det du sparade nu: det kommer med i nästa "
    "version."
)


def test_a_save_from_before_the_plan_was_established_says_it_is_not_in_that_version(
    app, db_session, parties, held
):
    now = now_utc()
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    mine, colleague = (FreshContextClient(app, app.response_class, use_cookies=True) for _ in range(2))
    for client in (mine, colleague):
        assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    written = "Skrivet medan planen fastställdes"
    typed = fill(forms_of(text_of(mine.get(url)))[url], action="save", needs=written)
    established = colleague.post(
        f"{url}/establish", data=fill(forms_of(text_of(colleague.get(url)))[f"{url}/establish"])
    )
    assert established.status_code == 303

    response = mine.post(url, data=typed, follow_redirects=True)

    page = text_of(response)
    assert "Planen är sparad." in page and TOLD in page
    db_session.expire_all()
    assert find_plan(db_session, held).needs == written
    # A page read after it says nothing of the kind.
    again = mine.post(
        url, data=fill(forms_of(text_of(mine.get(url)))[url], action="save", needs="Nästa ändring")
    )
    assert again.status_code == 303
    assert TOLD not in text_of(mine.get(url))
