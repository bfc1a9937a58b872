"""Reminders: rows written with the change that causes them, dispatched into the outbox by the scheduler.

`init_app` subscribes the reconciliation to every session (after a flush it notes what changed of which
cases and meetings; before the commit it brings in line the reminders those changes can move, in the same
transaction) and registers the dispatcher's job.
"""

from __future__ import annotations

import logging
from itertools import chain

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session as OrmSession

from sipflow import jobs

log = logging.getLogger(__name__)

TOUCHED_CASES = "sipflow.reminders.cases"
TOUCHED_MEETINGS = "sipflow.reminders.meetings"
# {case id: the Deadline objects this transaction inserted for it}: a case created in the transaction has no
# other, so its reconciliation reads none (held here: the identity map holds unchanged rows only weakly).
NEW_DEADLINES = "sipflow.reminders.new_deadlines"
# The ids of the meetings this transaction inserted, and {meeting id: the Invitation objects it inserted}:
# a meeting created in the transaction has no other invitations, so they are not read.
NEW_MEETINGS = "sipflow.reminders.new_meetings"
NEW_INVITATIONS = "sipflow.reminders.new_invitations"
# {case id: the Participant objects this transaction wrote}: a step's participants still hold if each is one
# of them (then it shows the change); a new one, or one active again, makes them stale.
WRITTEN_PARTICIPANTS = "sipflow.reminders.participants"
# {case id: the Meeting objects this transaction wrote}: a step's meetings still hold if each is one of them.
WRITTEN_MEETINGS = "sipflow.reminders.meetings_written"
# The ids of the cases a Deadline object was written of in this transaction: a step's open deadlines
# (cases.services.OPEN_DEADLINES) do not hold for them.
DEADLINES_WRITTEN = "sipflow.reminders.deadlines_written"
JOB_ID = "reminders"
# Just after each Swedish midnight (and at start): the reminders ahead of the consent's end of each case whose
# consent for some organisation has just run out move to the next organisation's end.
CONSENT_ENDS_JOB_ID = "consent_ends"
TICK_SECONDS = 60


def _note(session, case_id: int, *changes) -> None:
    session.info.setdefault(TOUCHED_CASES, {}).setdefault(case_id, set()).update(changes)


def _after_flush(session, _context) -> None:
    """Note what this flush wrote of each case that reminders read (see services.affected_families)."""
    from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
    from sipflow.meetings.models import PLANNED, Invitation, Meeting
    from sipflow.reminders.services import CASE_NEW, DEADLINE_ROW, MEETING_ROW, PARTICIPANT_ROW

    for obj in session.new:
        if isinstance(obj, SipCase):
            _note(session, obj.id, CASE_NEW)
        elif isinstance(obj, Deadline):
            session.info.setdefault(NEW_DEADLINES, {}).setdefault(obj.case_id, []).append(obj)
        elif isinstance(obj, Meeting):
            session.info.setdefault(NEW_MEETINGS, set()).add(obj.id)
        elif isinstance(obj, Invitation):
            session.info.setdefault(NEW_INVITATIONS, {}).setdefault(obj.meeting_id, []).append(obj)
    for obj in chain(session.new, session.dirty):
        if isinstance(obj, SipCase):
            # Which columns changed: a new follow-up date moves reminders, a new text does not.
            state = inspect(obj)
            changed = [a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()]
            _note(session, obj.id, *(("column", name) for name in changed))
        elif isinstance(obj, TransitionLog):
            _note(session, obj.case_id, ("step", obj.trigger, obj.to_state))
        elif isinstance(obj, Deadline):
            _note(session, obj.case_id, DEADLINE_ROW)
            session.info.setdefault(DEADLINES_WRITTEN, set()).add(obj.case_id)
        elif isinstance(obj, Meeting):
            session.info.setdefault(WRITTEN_MEETINGS, {}).setdefault(obj.case_id, []).append(obj)
            # Only a meeting that is or was planned has reminders (a held one recorded afterwards has none).
            status = inspect(obj).attrs.status.history
            if PLANNED in (*status.added, *status.deleted, *status.unchanged):
                _note(session, obj.case_id, MEETING_ROW)
        elif isinstance(obj, Participant):
            _note(session, obj.case_id, PARTICIPANT_ROW)
            session.info.setdefault(WRITTEN_PARTICIPANTS, {}).setdefault(obj.case_id, []).append(obj)
        elif isinstance(obj, Invitation):
            # The meeting's case, without a read if the session holds the meeting (a meeting keeps its case).
            meeting = session.identity_map.get(session.identity_key(Meeting, obj.meeting_id))
            if meeting is not None and "case_id" in inspect(meeting).dict:
                _note(session, meeting.case_id, MEETING_ROW)
            else:
                session.info.setdefault(TOUCHED_MEETINGS, set()).add(obj.meeting_id)


def _before_commit(session) -> None:
    """Reconcile what the transaction changed of each case's reminders, as part of the same transaction."""
    from sipflow.cases.services import (
        CLAIMED_COLUMNS,
        LOGGED_STEPS,
        OPEN_DEADLINES,
        STARTED_CASES,
        STARTED_DEADLINES,
        STEP_PARTICIPANTS,
    )
    from sipflow.consent.services import CONSENTS_WRITTEN
    from sipflow.meetings.models import STEP_MEETINGS, WRITTEN_BY_CLAIM
    from sipflow.reminders.services import CASE_NEW, CONSENT_ROW, DEADLINE_ROW, MEETING_ROW

    # The cases create_case inserted (no flush shows them), as a new SipCase object notes.
    for case_id in session.info.pop(STARTED_CASES, ()):
        _note(session, case_id, CASE_NEW)
    # The cases whose consents were given or withdrawn (partly by Core, which no flush shows).
    for case_id in session.info.pop(CONSENTS_WRITTEN, ()):
        _note(session, case_id, CONSENT_ROW)
    # The deadlines a step's settling UPDATE left open (it returned them all): this transaction's only.
    open_deadlines = session.info.pop(OPEN_DEADLINES, {})
    # The participants and the meetings a step read (cases.services.step_participants,
    # meetings.outcome.step_meetings): good for this transaction only.
    shared = session.info.pop(STEP_PARTICIPANTS, {})
    shared_meetings = session.info.pop(STEP_MEETINGS, {})
    # The columns a step's claim wrote (no flush shows them): a new follow-up date moves reminders.
    for case_id, names in session.info.pop(CLAIMED_COLUMNS, {}).items():
        _note(session, case_id, *(("column", name) for name in names))
    # The cases a step started deadlines of by a Core INSERT, as a new Deadline object notes.
    for case_id in session.info.pop(STARTED_DEADLINES, ()):
        _note(session, case_id, DEADLINE_ROW)
        session.info.setdefault(DEADLINES_WRITTEN, set()).add(case_id)
    # The planned meetings an outcome's claim wrote (no flush shows them), as a flush of each notes.
    for case_id, claimed in session.info.pop(WRITTEN_BY_CLAIM, {}).items():
        _note(session, case_id, MEETING_ROW)
        session.info.setdefault(WRITTEN_MEETINGS, {}).setdefault(case_id, []).extend(claimed)
    # The steps whose log row a Core INSERT wrote (no flush shows them), as a TransitionLog object notes.
    for case_id, steps in session.info.pop(LOGGED_STEPS, {}).items():
        _note(session, case_id, *(("step", trigger, to_state) for trigger, to_state in steps))
    if not has_app_context() or current_app.extensions.get("sipflow.workflows") is None:
        return
    if session.new or session.dirty:
        session.flush()  # what is still unflushed counts too (after_flush notes it)
    if not (session.info.get(TOUCHED_CASES) or session.info.get(TOUCHED_MEETINGS)):
        return
    registry = current_app.extensions["sipflow.workflows"]
    from sipflow.cases.models import SipCase
    from sipflow.clock import now_utc
    from sipflow.reminders.services import affected_families, case_ids_of, reconcile_case

    meetings = session.info.pop(TOUCHED_MEETINGS, ())
    touched = session.info.pop(TOUCHED_CASES, {})
    new_deadlines = session.info.pop(NEW_DEADLINES, {})
    written = session.info.pop(WRITTEN_PARTICIPANTS, {})
    written_meetings = session.info.pop(WRITTEN_MEETINGS, {})
    deadlines_written = session.info.pop(DEADLINES_WRITTEN, set())
    invitations = session.info.pop(NEW_INVITATIONS, {})
    new_meetings = {
        meeting_id: _held(invitations.get(meeting_id, ()))
        for meeting_id in session.info.pop(NEW_MEETINGS, ())
    }
    for case_id in case_ids_of(session, meetings):
        touched.setdefault(case_id, set()).add(MEETING_ROW)
    now = now_utc()
    for case_id in sorted(touched):
        case = session.get(SipCase, case_id)
        if case is None:
            continue
        try:
            workflow = registry.get(case.workflow_name, case.workflow_version)
        except KeyError:
            workflow = None
        if workflow is None or case.state not in workflow.states:
            # Only a test's own registry can hold a workflow the app has not loaded.
            log.warning("case %s: its workflow is not the app's; reminders left as they are", case_id)
            continue
        changes = touched[case_id]
        families = affected_families(workflow, case, changes)
        if families:
            participants = _still_current(shared.get(case_id), written.get(case_id, ()))
            meetings = _still_current(shared_meetings.get(case_id), written_meetings.get(case_id, ()))
            # A case this transaction created: its deadlines are those it inserted, and it has no reminders.
            created = _held(new_deadlines.get(case_id, ())) if CASE_NEW in changes else None
            # A deadline object written in the transaction (before or after the settling) is not in them.
            still_open = None if case_id in deadlines_written else open_deadlines.get(case_id)
            reconcile_case(
                session,
                workflow,
                case,
                now=now,
                families=families,
                participants=participants,
                new_case_deadlines=created,
                new_meetings=new_meetings,
                meetings=_held(meetings) if meetings is not None else None,
                open_deadlines=still_open,
            )
    session.flush()
    _forget(session)


def _still_current(participants, written) -> list | None:
    """The participants a step read, unless a participant written since is not one of them (None: read).

    Each of them is the session's own object, so a change to one of them shows in the list (one removed is
    no longer active); a new participant, or one active again, is not in it. create_case's are not the
    session's objects at all: any participant written after them makes them stale.
    """
    if participants is None:
        return None
    held = {id(p) for p in participants}
    return participants if all(id(p) in held for p in written) else None


def _held(rows) -> list:
    """The rows still in the database (none deleted since), in the order of their ids as a read gives."""
    return sorted((row for row in rows if inspect(row).persistent), key=lambda row: row.id)


def _forget(session, *_args) -> None:
    from sipflow.cases.services import (
        CLAIMED_COLUMNS,
        LOGGED_STEPS,
        OPEN_DEADLINES,
        STARTED_CASES,
        STARTED_DEADLINES,
        STEP_PARTICIPANTS,
    )
    from sipflow.consent.services import CONSENTS_WRITTEN
    from sipflow.meetings.models import STEP_MEETINGS, WRITTEN_BY_CLAIM

    keys = (
        TOUCHED_CASES,
        TOUCHED_MEETINGS,
        NEW_DEADLINES,
        NEW_MEETINGS,
        NEW_INVITATIONS,
        WRITTEN_PARTICIPANTS,
        WRITTEN_MEETINGS,
        DEADLINES_WRITTEN,
    )
    for key in (
        *keys,
        STEP_PARTICIPANTS,
        CLAIMED_COLUMNS,
        LOGGED_STEPS,
        STEP_MEETINGS,
        WRITTEN_BY_CLAIM,
        OPEN_DEADLINES,
        STARTED_CASES,
        STARTED_DEADLINES,
        CONSENTS_WRITTEN,
    ):
        session.info.pop(key, None)


def _after_soft_rollback(session, previous_transaction) -> None:
    """Forget the notes with the transaction; a savepoint's rollback keeps what must still be reconciled.

    A savepoint guards one INSERT against a concurrent duplicate (an approval, the plan's start) inside a
    transaction that goes on and commits: what was written before it still needs its reminders. Its notes
    of what changed stay (reconciling a case whose change was undone only reads and finds it in line); the
    shortcuts, which vouch for rows the savepoint may have taken back, go, so those cases are read in full.
    """
    from sipflow.cases.services import OPEN_DEADLINES, STARTED_CASES, STEP_PARTICIPANTS
    from sipflow.meetings.models import STEP_MEETINGS
    from sipflow.reminders.services import CASE_NEW

    if not previous_transaction.nested:
        _forget(session)
        return
    shortcuts = (
        NEW_DEADLINES,
        NEW_MEETINGS,
        NEW_INVITATIONS,
        STEP_PARTICIPANTS,
        STEP_MEETINGS,
        OPEN_DEADLINES,
        STARTED_CASES,  # its participants and deadlines, flushed, still note the case
    )
    for key in shortcuts:
        session.info.pop(key, None)
    # A case started in the transaction is read like any other: its deadlines were a shortcut too.
    for changes in session.info.get(TOUCHED_CASES, {}).values():
        changes.discard(CASE_NEW)


def subscribe() -> None:
    """Reconcile reminders in every transaction that changes a case (registering twice listens once)."""
    for name, fn in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(OrmSession, name, fn):
            event.listen(OrmSession, name, fn)


def reminders_job(app) -> None:
    """The scheduler's tick: efforts past their end date, then every due reminder into the outbox."""
    from sipflow.clock import now_utc
    from sipflow.reminders.services import dispatch_tick

    dispatch_tick(app, now=now_utc())


def consent_ends_job(app, *, now=None) -> int:
    """The scheduler's run after midnight: the cases whose reminders ahead of the consent's end moved."""
    from sqlmodel import Session

    from sipflow.clock import now_utc
    from sipflow.reminders.services import reconcile_after_consent_ended

    with Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
        return reconcile_after_consent_ended(
            session, app.extensions["sipflow.workflows"], now=now or now_utc()
        )


def init_app(app) -> None:
    """Subscribe the reconciliation and register the dispatcher's job (every minute, and at start)."""
    from sipflow.clock import STOCKHOLM

    subscribe()
    jobs.register_job(
        CONSENT_ENDS_JOB_ID,
        consent_ends_job,
        "cron",
        run_at_start=True,
        hour=0,
        minute=1,
        timezone=STOCKHOLM,
    )
    jobs.register_job(JOB_ID, reminders_job, "interval", run_at_start=True, seconds=TICK_SECONDS)
