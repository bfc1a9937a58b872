"""The consent-coverage job: invitations to meetings ahead whose invitee the consent no longer covers.

A consent in force covers an organisation until the end of its last day (Europe/Stockholm). When the last
consent naming an organisation runs out, the organisation no longer sees the SIP; its invitations to the
meetings ahead would still bring it reminders, changes and answer links. Nothing happens at that moment, so
the scheduler looks just after each midnight (and once at start) and withdraws them (`withdraw_uncovered`:
a CANCEL to each, no mail after). A change of a meeting withdraws them too, whenever it comes.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from sqlalchemy import Date, bindparam, not_
from sqlmodel import Session, select

from sipflow import jobs
from sipflow.cases.models import Participant, SipCase
from sipflow.clock import STOCKHOLM, now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings.models import PLANNED, Invitation, Meeting
from sipflow.meetings.services import withdraw_uncovered
from sipflow.security import access

log = logging.getLogger(__name__)

JOB_ID = "consent_coverage"
# The cases with a meeting ahead inviting an organisation (not the initiator) that no consent in force on
# the day covers. The planned meetings ahead come from ix_meeting_status_starts_at_case_id; each invitation
# and consent is then an indexed lookup.
_INITIATOR = select(SipCase.initiating_organisation_id).where(SipCase.id == Meeting.case_id).scalar_subquery()
_CASES_WITH_UNCOVERED = (
    select(Meeting.case_id)
    .join(Invitation, Invitation.meeting_id == Meeting.id)
    .join(Participant, Participant.id == Invitation.participant_id)
    .where(
        Meeting.status == PLANNED,
        Meeting.starts_at > bindparam("now", type_=Meeting.starts_at.type),
        Invitation.active,
        Participant.organisation_id.is_not(None),
        Participant.organisation_id != _INITIATOR,
        not_(access.consent_covers_participant(bindparam("today", type_=Date))),
    )
)


def withdraw_uncovered_invitations(session: Session, *, now: datetime) -> int:
    """Withdraw every invitation to a meeting ahead that the consent in force no longer covers; the number.

    Each case is its own unit of work. The cases are few (those whose consent ran out since the last run,
    with a meeting ahead), so they are read at once.
    """
    params = {"now": now, "today": to_local(now).date()}
    # One row per invitation (no DISTINCT: it would have the database walk the meetings in case order).
    case_ids = sorted(set(session.exec(_CASES_WITH_UNCOVERED, params=params).all()))
    session.rollback()  # the read's transaction: each case's own comes next
    withdrawn = 0
    for case_id in case_ids:
        try:
            with unit_of_work(session):
                withdrawn += withdraw_uncovered(session, session.get(SipCase, case_id), now=now)
        except Exception:  # noqa: BLE001 - one case must not hold back the others; the next run retries
            log.exception("consent coverage: the invitations of case %s could not be withdrawn", case_id)
    return withdrawn


def consent_coverage_job(app: Flask, *, now: datetime | None = None) -> int:
    """The scheduler's run: the invitations withdrawn (0 when every invitee is still covered)."""
    with Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
        count = withdraw_uncovered_invitations(session, now=now or now_utc())
    if count:
        log.info("consent coverage: %d invitations withdrawn", count)
    return count


def subscribe() -> None:
    """Register the job: just after midnight in Sweden, when a consent's last day has ended, and at start."""
    jobs.register_job(
        JOB_ID,
        consent_coverage_job,
        "cron",
        run_at_start=True,
        hour=0,
        minute=0,
        second=30,
        timezone=STOCKHOLM,
    )
