"""Mina SIP's page left empty (its SIPs moved on meanwhile) leads back to the first page of the same filter.

A handler working through the SIPs in one state, page by page, moves each on; the page they come back to
is then empty, and its "back to the first page" led to the whole list, the state filter lost.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
import support
from webkit import login, text_of

from sipflow.cases.queries import Cursor

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_emptied_page_links_back_to_the_first_page_of_its_filter(
    client, db_session, registry, parties, create_case, now
):
    case = create_case()
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    db_session.refresh(case)
    assert login(client, parties.region_user.username).status_code == 302
    # The second page, after the last SIP of the filter: every SIP once there has moved to another state.
    after = Cursor(2, case.updated_at, case.id).encode()
    page = text_of(client.get(f"/cases?state=consent_given&deadline=overdue&after={after}"))
    # The line says the filters in force before its link.
    found = re.search(
        r'Det finns inga fler SIP\.(?: Filtrerat på [^<]*)? <a href="([^"]+)">Tillbaka till första sidan</a>',
        page,
    )
    assert found, page
    back = html_lib.unescape(found.group(1))
    assert back.startswith("/cases?") and "after=" not in back and "before=" not in back
    assert "state=consent_given" in back and "deadline=overdue" in back
    assert case.reference in text_of(client.get(back.replace("&deadline=overdue", "")))
