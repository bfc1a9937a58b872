"""The personal links page reads as many statements for a SIP with many people and links sent as for one
with none: the person once, the people a link may go to once (for the choices and the list's names alike),
and the links once."""

from __future__ import annotations

import support
from personkit import add_relatives
from test_personal_links import link_form
from webkit import login, text_of


def _links_page_statements(client, engine, world) -> list[str]:
    url = f"/cases/{world.case.uid}/plan/links"
    assert client.get(url).status_code == 200
    with support.statements(engine) as seen:
        assert client.get(url).status_code == 200
    return seen


def test_the_links_page_reads_the_same_for_many_people_and_links_as_for_none(
    client, engine, db_session, registry, planned, now
):
    login(client, planned.region.user.username)
    small = _links_page_statements(client, engine, planned)

    relatives = add_relatives(db_session, registry, planned.case, 25, now)
    url = f"/cases/{planned.case.uid}/plan/links"
    for participant in [planned.person_row, *relatives[:8]]:
        form = link_form(text_of(client.get(url)), planned.case, participant)
        assert client.post(url, data=form).status_code == 303
    big = _links_page_statements(client, engine, planned)

    assert len(big) == len(small), big
    assert len(support.row_reads(big, "person")) == 1, big
    assert len(support.row_reads(big, "participant")) == 1, big
