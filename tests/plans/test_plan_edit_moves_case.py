"""A plan edit is a change to the SIP: Mina SIP lists the case as just changed, page by page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from plankit import complete_data, save, walk
from sqlmodel import select

from sipflow.cases import queries
from sipflow.cases.models import CaseVisibility, SipCase
from sipflow.clock import now_utc

pytestmark = pytest.mark.usefixtures("frozen_clock")


def references(db_session, registry, user, now, per_page=1) -> list[str]:
    """The references of every page of the user's Mina SIP, in the order the pages show them."""
    seen, after = [], None
    while True:
        page = queries.my_cases(
            db_session, registry, user, locale="sv", now=now, after=after, per_page=per_page
        )
        seen += [row.reference for row in page.rows]
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


def test_saving_the_plan_moves_the_case_to_the_top_of_mina_sip(
    db_session, registry, parties, create_case, frozen_clock
):
    now = now_utc()
    edited = walk(db_session, registry, parties.region_user, create_case(), now)
    frozen_clock.advance(timedelta(minutes=5))
    later = walk(db_session, registry, parties.region_user, create_case(), now_utc())
    assert references(db_session, registry, parties.region_user, now_utc())[:2] == [
        later.reference,
        edited.reference,
    ]
    version = edited.version
    frozen_clock.advance(timedelta(minutes=5))
    at = now_utc()
    save(db_session, edited, parties.region_user, complete_data(edited, parties, at), at)

    db_session.expire_all()
    case = db_session.get(SipCase, edited.id)
    assert case.updated_at == at
    # Forms read at the case's version stay valid: the plan has a version of its own.
    assert case.version == version
    rows = db_session.exec(select(CaseVisibility.updated_at).where(CaseVisibility.case_id == case.id)).all()
    assert rows and set(rows) == {at}
    for user in (parties.region_user, parties.municipality_user):
        listed = references(db_session, registry, user, at)
        assert listed[:1] == [edited.reference], user.username
        # Page by page (one case a page) every case is listed once: the cursor and the order agree.
        assert len(listed) == len(set(listed)) and later.reference in listed
