"""Retention: an anonymised case's versions keep their number and date; their content and PDF go."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from versionkit import TEXTS
from webkit import login, text_of

from sipflow.plans.models import PlanVersion
from sipflow.retention.anonymise import RetentionPolicy, anonymise_expired_cases


@pytest.fixture
def anonymised(app, db_session, registry, parties, established, now):
    support.fire(
        db_session, registry, parties.region_user, established.case, "close", now=now + timedelta(days=2)
    )
    anonymise_expired_cases(
        db_session, now=now + timedelta(days=11 * 366), policy=RetentionPolicy.from_app(app)
    )
    db_session.commit()
    return established


def test_a_version_keeps_its_number_and_date_and_loses_the_plan(db_session, anonymised):
    db_session.expire_all()
    [version] = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == anonymised.case.id)).all()
    assert version.number == 1 and version.content["version"] == 1 and version.content["established_at"]
    assert version.pdf == b""
    assert not any(text in repr(version.content) for text in TEXTS.values())
    assert anonymised.person.given_name not in repr(version.content)


def test_the_pages_say_the_content_was_removed(client, parties, anonymised, frozen_clock):
    login(client, parties.region_user.username)
    base = f"/cases/{anonymised.case.uid}/plan/versions/1"
    page = client.get(base)
    assert page.status_code == 200 and "Innehållet i den här versionen togs bort" in text_of(page)
    assert client.get(f"{base}/pdf").status_code == 404
    assert client.get(f"{base}/pdf/large").status_code == 404
