"""A deadline met after it fell says so on the case page ("uppfylld för sent", not the green "uppfylld"); one
met in time stays green. The statistics count a kallelse within its deadline by the same rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from webkit import login

from sipflow.cases.models import Deadline, met_in_time, met_late
from sipflow.db import unit_of_work


def _deadlines_section(client, case) -> str:
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    section = page[page.index('id="h-deadlines"') :]
    return section[: section.index("</section>")]


def _kallelse_sent(db_session, registry, parties, case, *, due_days_ago: int | None) -> None:
    """Walk case to its kallelse; with due_days_ago, the kallelse deadline fell that many days before."""
    for minute, trigger in enumerate(("give_consent", "start_preparation"), start=1):
        support.fire(
            db_session,
            registry,
            parties.region_user,
            case,
            trigger,
            now=support.FIXED_NOW + timedelta(minutes=minute),
        )
    if due_days_ago is not None:
        with unit_of_work(db_session):
            (deadline,) = db_session.exec(
                select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "kallelse")
            ).all()
            deadline.due_at = support.FIXED_NOW - timedelta(days=due_days_ago)
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "send_kallelse",
        now=support.FIXED_NOW + timedelta(minutes=3),
    )


@pytest.mark.parametrize(
    ("due_days_ago", "text", "tag"), [(2, "uppfylld för sent", "tag-late"), (None, "uppfylld", "tag-ok")]
)
def test_a_kallelse_met_after_its_deadline_says_it_was_met_late(
    client, db_session, registry, parties, create_case, due_days_ago, text, tag
):
    case = create_case("sip")
    _kallelse_sent(db_session, registry, parties, case, due_days_ago=due_days_ago)
    login(client, parties.region_user.username)
    section = _deadlines_section(client, case)
    line = next(li for li in section.split("<li")[1:] if "Kallelse" in li)
    assert f'<span class="tag {tag}">{text} ' in line
    if due_days_ago is None:
        assert "för sent" not in line and "tag-late" not in line
    else:
        assert "tag-ok" not in line


def test_met_late_is_the_statistics_within_the_deadline_turned_round():
    due = support.FIXED_NOW
    assert met_in_time(due, due) and not met_late(due, due)
    assert met_late(due + timedelta(minutes=1), due) and not met_in_time(due + timedelta(minutes=1), due)
    assert not met_late(None, due)
    assert str(met_in_time(Deadline.met_at, Deadline.due_at)) == "deadline.met_at <= deadline.due_at"
