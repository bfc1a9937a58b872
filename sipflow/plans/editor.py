"""Writing the working plan: the editor's data in, checked, saved with a compare-and-set on its row version.

`save_plan` takes the whole plan as the editor shows it (goals, efforts, contacts, the plan's own fields)
and makes the stored rows match it: a row the data names by its `uid` is updated (keeping its uid and the
meeting decision it came from), a row it no longer names is removed, a row without a known uid is added.
Everything is checked before anything is written, so a refusal leaves the plan as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Integer, String, bindparam, column, delete, exists, func, insert, literal, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.cases.days_off import DayOffWording, refuse_unconfirmed_day_off
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import labelled_organisations
from sipflow.cases.services import (
    StepReads,
    fire_transition,
    note_case_changed,
    own_step_just_taken,
    share_step_reads,
)
from sipflow.clock import (
    BOOKING_YEARS_AHEAD,
    last_booking_day,
    local_today,
    stored_utc,
    to_local,
    years_after,
)
from sipflow.db import compare_and_set
from sipflow.errors import Conflict, InvalidInput, Refusals, UserError, refusal_of
from sipflow.people.identifiers import is_minor
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.plans import responsibility
from sipflow.plans.content import plan_items
from sipflow.plans.merge import PLAN_VALUES, PlanMerge, merge, parse_digest, read_digest
from sipflow.plans.models import (
    BY_OTHERS,
    EFFORT_KINDS,
    EFFORT_STATUSES,
    Plan,
    PlanContact,
    PlanEffort,
    PlanGoal,
    effort_in_force,
    new_item_uid,
)
from sipflow.plans.services import STEP_PLAN, find_plan
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.definition import HUVUDANSVARIG, TransitionDef, Workflow
from sipflow.workflow.engine import WorkflowRegistry
from sipflow.workflow.registry import GUARDS

# The transition form whose step establishes (or revises) the plan: the editor finds its step by this kind,
# never by a trigger's name.
PLAN_FORM = "plan"

# Bounds of one plan: every list the editor shows is bounded, and so is every text.
MAX_GOALS = 50
MAX_EFFORTS = 100
TEXT_LIMITS = {
    "needs": 4000,
    "goal": 1000,
    "what": 1000,
    "responsible": 160,
    "actor": 160,
    "huvudansvar_contact": 160,
    "fast_vardkontakt": 160,
    "fast_omsorgskontakt": 160,
    "child_view": 4000,
    "child_view_missing_reason": 1000,
    "contact_name": 160,
    "phone": 40,
    "email": 254,
}
# The texts that are one line (a name, a contact, a phone number): printed as one line of the PDF and the
# pages, where a typed line break would add a line of its own (fields.line_text). The others are written at
# length, over several lines (fields.free_text). Neither holds another control or invisible character.
ONE_LINE = frozenset(
    {
        "responsible",
        "actor",
        "huvudansvar_contact",
        "fast_vardkontakt",
        "fast_omsorgskontakt",
        "contact_name",
        "phone",
        "email",
    }
)
# How far an effort's dates may lie from the SIP: it may have begun years before the SIP started (support
# since childhood) and run years on, but a date further out is a typo in the year (1900, 2126).
EFFORT_YEARS = 10
_PHONE = re.compile(r"^[0-9+()\- ]{5,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PlanConflict(Conflict):
    """The plan changed since the page was read: nothing was saved, and what was typed is kept."""

    code = "plan_conflict"


PLAN_CHANGED = _l(
    "Someone else saved the plan while you were working. Your text is kept below: look at the plan as it is "
    "now (open it in another tab), then save again to replace it with what you see here."
)
PLAN_MERGED = _l(
    "Someone else saved the plan while you were working. Their changes are taken into the form below and "
    "yours are kept: check the plan, then save again."
)
PLAN_CLASHES = _l(
    "Someone else saved the plan while you were working. Their changes are taken into the form below and "
    "yours are kept. Where you both changed the same thing, it says so at the field: choose what it should "
    "say, then save again."
)


class PlanMerged(PlanConflict):
    """The plan changed since the page was read, and the page said what it showed: nothing was saved, and
    merge holds the form to show again, the others' changes taken in and the user's kept (plans.merge);
    row_version and as_read are what the form then carries, so saving it again is the user's choice."""

    def __init__(self, merged: PlanMerge, *, row_version: int, as_read: str):
        super().__init__(PLAN_CLASHES if merged.clashing else PLAN_MERGED)
        self.merge, self.row_version, self.as_read = merged, row_version, as_read


# What an effort lacks to be owned (legal item 2), by the editor field where it is entered.
EFFORT_GAPS = {
    "organisation_id": _l("Choose the organisation that carries out the effort."),
    "responsible": _l("Name the person responsible."),
}


def effort_gaps(organisation_id: int | None, responsible: str | None, status: str | None = None) -> list[str]:
    """The fields an effort still lacks to be owned: its organisation, its named person responsible.

    A cancelled effort lacks nothing (it counts for nothing the plan must hold).
    """
    if not effort_in_force(status):
        return []
    gaps = []
    if organisation_id is None:
        gaps.append("organisation_id")
    if not (responsible or "").strip():
        gaps.append("responsible")
    return gaps


def is_child(person: Person | None, today: date) -> bool:
    """The person is under 18 on today (from the birth date; unknown birth date: not a child)."""
    return person is not None and is_minor(person.birth_date, today)


def effort_window(case: SipCase, now: datetime) -> tuple[date, date]:
    """The first and last date an effort of case may start or end on: EFFORT_YEARS years before the SIP was
    requested to EFFORT_YEARS years after today (local days)."""
    requested = to_local(stored_utc(case.requested_at)).date()
    return years_after(requested, -EFFORT_YEARS), years_after(local_today(now), EFFORT_YEARS)


# The follow-up's own words for the warning that its day is no working day (cases.days_off), and the data
# name of the day the user confirmed despite it.
FOLLOW_UP_DAY_OFF = DayOffWording(
    public_holiday=lambda holiday: _l("The follow-up is on %(holiday)s, a public holiday.", holiday=holiday),
    holiday=lambda holiday: _l(
        "The follow-up is on %(holiday)s, a day most people have off.", holiday=holiday
    ),
    saturday=_l("The follow-up is on a Saturday."),
    sunday=_l("The follow-up is on a Sunday."),
)
CONFIRMED_FOLLOW_UP_DAY = "confirmed_follow_up_day"


def last_follow_up_day(now: datetime) -> date:
    """The last day a follow-up set now may be on: as far ahead as a meeting may be booked (it is one)."""
    return last_booking_day(now)


# --- Reading: the editor's data -------------------------------------------------------------------------


def plan_data(session: Session, case: SipCase, plan: Plan | None) -> dict:
    """The plan as the editor edits it (the shape save_plan takes); an empty plan when none is started."""
    goals, efforts, contacts = plan_items(session, plan) if plan is not None else ([], [], [])
    return plan_fields(case, plan) | {
        "own_goals": [{"uid": g.uid, "text": g.text} for g in goals if g.kind == "own"],
        "professional_goals": [{"uid": g.uid, "text": g.text} for g in goals if g.kind == "professional"],
        "efforts": [
            {
                "uid": e.uid,
                "kind": e.kind,
                "what": e.what,
                "organisation_id": e.organisation_id,
                "unit_id": e.unit_id,
                "responsible": e.responsible or "",
                "actor": e.actor or "",
                "starts_on": e.starts_on,
                "ends_on": e.ends_on,
                "status": e.status,
                "decision_id": e.decision_id,
            }
            for e in efforts
        ],
        "contacts": [
            {
                "organisation_id": c.organisation_id,
                "name": c.name,
                "phone": c.phone or "",
                "email": c.email or "",
            }
            for c in contacts
        ],
    }


def plan_fields(case: SipCase, plan: Plan | None) -> dict:
    """The plan's own fields as plan_data gives them (not its goals, efforts and contacts): nothing read."""
    return {
        "needs": (plan.needs if plan else None) or "",
        "no_other_measures": bool(plan and plan.no_other_measures),
        "huvudansvar_contact": (plan.huvudansvar_contact if plan else None) or "",
        "fast_vardkontakt": (plan.fast_vardkontakt if plan else None) or "",
        "fast_omsorgskontakt": (plan.fast_omsorgskontakt if plan else None) or "",
        "follow_up_on": plan.follow_up_on if plan else None,
        "child_view": case.child_view or "",
        "child_view_missing_reason": (plan.child_view_missing_reason if plan else None) or "",
    }


def decision_effort_uids(session: Session, plan: Plan | None) -> set[str]:
    """The uids of the plan's efforts that came from a meeting decision (the page marks them)."""
    if plan is None:
        return set()
    return set(
        session.exec(
            select(PlanEffort.uid).where(PlanEffort.plan_id == plan.id, PlanEffort.decision_id.is_not(None))
        ).all()
    )


# --- Checking ---------------------------------------------------------------------------------------------


def _text(value, field: str, limit_key: str, *, required=None) -> str | None:
    clean = fields.line_text if limit_key in ONE_LINE else fields.free_text
    value = clean(value, field, limit=TEXT_LIMITS[limit_key])
    if value is None and required is not None:
        raise InvalidInput(required, field=field)
    return value


def _date(value, field: str) -> date | None:
    """A calendar date or None (the caller bounds it: the window of effort_window, or the follow-up's)."""
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(_l("Enter a date."), field=field)
    return value


def _within(value: date | None, field: str, window: tuple[date, date]) -> date | None:
    """value, refused at field unless it lies within window (first, last), which the refusal names."""
    if value is not None and not window[0] <= value <= window[1]:
        raise InvalidInput(
            _l(
                "Enter a date between %(first)s and %(last)s.",
                first=window[0].isoformat(),
                last=window[1].isoformat(),
            ),
            field=field,
        )
    return value


def _id(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(_l("Choose one of the options."), field=field)
    return value


@dataclass
class _Owners:
    """Who may own an effort or have a contact: the organisations taking part and their units taking part.

    A unit that left the SIP stays the unit of an effort stored with it (the editor offers it that row, so a
    save does not drop it); stored_units reads the plan's efforts' units only when such a unit is sent.
    """

    organisation_ids: set[int]
    unit_organisation: dict[int, int]
    session: Session | None = None
    plan: Plan | None = None
    # The dates an effort may start and end on (effort_window).
    window: tuple[date, date] | None = None
    _stored: dict[str, tuple] | None = None

    def _stored_effort(self, uid) -> tuple:
        """(organisation, unit, starts_on, ends_on) of the plan's effort uid as stored, Nones for a new one;
        the plan's efforts are read once, when first asked."""
        if self._stored is None:
            self._stored = {}
            if self.plan is not None and self.session is not None:
                rows = self.session.exec(
                    select(
                        PlanEffort.uid,
                        PlanEffort.organisation_id,
                        PlanEffort.unit_id,
                        PlanEffort.starts_on,
                        PlanEffort.ends_on,
                    ).where(PlanEffort.plan_id == self.plan.id)
                ).all()
                self._stored = {row[0]: tuple(row[1:]) for row in rows}
        return self._stored.get(uid, (None,) * 4) if isinstance(uid, str) else (None,) * 4

    def stored_unit(self, uid) -> tuple[int | None, int | None]:
        """The (organisation, unit) the plan's effort uid is stored with, (None, None) for a new one."""
        return self._stored_effort(uid)[:2]

    def effort_date(self, value, field: str, uid, which: int) -> date | None:
        """An effort's date (which: 0 its start, 1 its end) within the window, or as the effort stores it
        (a plan saved before the window keeps it)."""
        value = _date(value, field)
        if value is None or self.window is None or self.window[0] <= value <= self.window[1]:
            return value
        if value == self._stored_effort(uid)[2 + which]:
            return value
        return _within(value, field, self.window)


def _owners(session: Session, case: SipCase, plan: Plan | None = None, *, now: datetime) -> _Owners:
    # The active organisation participants: their organisations and the units taking part, one query.
    rows = session.exec(
        select(Participant.organisation_id, Participant.unit_id).where(
            Participant.case_id == case.id, Participant.active, Participant.organisation_id.is_not(None)
        )
    ).all()
    return _Owners(
        {organisation_id for organisation_id, _ in rows},
        {unit_id: organisation_id for organisation_id, unit_id in rows if unit_id is not None},
        session,
        plan,
        effort_window(case, now),
    )


def stored_units_left(
    session: Session, plan: Plan | None, unit_ids: set[int]
) -> list[tuple[int, str, str, int]]:
    """Of unit_ids, those an effort of the plan is stored with (units that left the SIP since).

    Each as (unit id, unit name, organisation name, organisation id): the editor keeps it as its row's choice.
    """
    if plan is None or not unit_ids:
        return []
    rows = session.exec(
        select(Unit.id, Unit.name, Organisation.name, Unit.organisation_id)
        .join(Organisation, Organisation.id == Unit.organisation_id)
        .where(
            Unit.id.in_(unit_ids),
            exists().where(PlanEffort.plan_id == plan.id, PlanEffort.unit_id == Unit.id),
        )
        .order_by(Organisation.name, Unit.name)
    ).all()
    return [tuple(row) for row in rows]


def _clean_goals(items, field: str, refusals: Refusals) -> list[dict]:
    if not isinstance(items, list):
        refusals.refuse(_l("Enter text."), field)
        return []
    if len(items) > MAX_GOALS:
        refusals.refuse(_l("At most %(max)d goals.", max=MAX_GOALS), field)
        return []
    cleaned = []
    for index, item in enumerate(items):
        text = refusals.take(_text, item.get("text"), f"{field}-{index}-text", "goal")
        if text:
            cleaned.append({"uid": item.get("uid"), "text": text})
    return cleaned


def _effort_owner(kind: str, organisation_id, unit_id, uid, owners: _Owners, prefix: str) -> None:
    """Refuse an effort's organisation (none, one not taking part) or unit (not one of its organisation's)."""
    if kind != "effort":
        return
    if organisation_id is None:
        raise InvalidInput(
            _l("Choose the organisation that owns the effort."), field=prefix + "organisation_id"
        )
    if organisation_id not in owners.organisation_ids:
        raise InvalidInput(
            _l("Choose an organisation taking part in the SIP."), field=prefix + "organisation_id"
        )
    if unit_id is not None and unit_id not in owners.unit_organisation:
        # Not a unit taking part: only the one the effort is stored with (it left the SIP since) stays.
        if owners.stored_unit(uid) != (organisation_id, unit_id):
            raise InvalidInput(_l("Not a valid choice."), field=prefix + "unit_id")
    elif unit_id is not None and owners.unit_organisation[unit_id] != organisation_id:
        raise InvalidInput(
            _l("Choose a unit of the organisation that owns the effort."), field=prefix + "unit_id"
        )


def _clean_effort(item: dict, index: int, owners: _Owners) -> dict:
    """One effort checked, each of its fields' refusals at once (InvalidInputs)."""
    prefix = f"efforts-{index}-"
    refusals = Refusals()
    kind = item.get("kind") or "effort"
    if kind not in EFFORT_KINDS:
        raise InvalidInput(_l("Choose one of the options."), field=prefix + "kind")
    status = item.get("status") or "planned"
    if status not in EFFORT_STATUSES:
        refusals.refuse(_l("Choose one of the options."), prefix + "status")
    what = refusals.take(_text, item.get("what"), prefix + "what", "what", required=_l("Say what is done."))
    uid = item.get("uid")
    starts_on = refusals.take(owners.effort_date, item.get("starts_on"), prefix + "starts_on", uid, 0)
    ends_on = refusals.take(owners.effort_date, item.get("ends_on"), prefix + "ends_on", uid, 1)
    if starts_on and ends_on and starts_on > ends_on:
        refusals.refuse(_l("The end date comes before the start date."), prefix + "ends_on")
    organisation_id = refusals.take(_id, item.get("organisation_id"), prefix + "organisation_id", default=...)
    unit_id = refusals.take(_id, item.get("unit_id"), prefix + "unit_id", default=...)
    responsible = refusals.take(_text, item.get("responsible"), prefix + "responsible", "responsible")
    actor = refusals.take(_text, item.get("actor"), prefix + "actor", "actor", default=...)
    if kind == "effort":
        if organisation_id is not ... and unit_id is not ...:
            refusals.take(_effort_owner, kind, organisation_id, unit_id, uid, owners, prefix)
        actor = None
    else:
        # What the person, a närstående or someone outside the SIP does: named by who does it.
        if actor is None:
            refusals.refuse(_l("Say who does it."), prefix + "actor")
        organisation_id = unit_id = responsible = None
    refusals.raise_any()
    return {
        "uid": uid,
        "kind": kind,
        "what": what,
        "organisation_id": organisation_id,
        "unit_id": unit_id,
        "responsible": responsible,
        "actor": actor,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "status": status,
    }


def _clean_contact(item: dict, index: int, owners: _Owners) -> dict | None:
    """One contact row checked (None: an empty row), each of its fields' refusals at once (InvalidInputs)."""
    prefix = f"contacts-{index}-"
    refusals = Refusals()
    name = refusals.take(_text, item.get("name"), prefix + "name", "contact_name", default=...)
    phone = refusals.take(_text, item.get("phone"), prefix + "phone", "phone", default=...)
    email = refusals.take(_text, item.get("email"), prefix + "email", "email", default=...)
    if not (name or phone or email):
        return None
    # The organisation is a hidden field, shown nowhere: its refusal stands at the row's name.
    organisation_id = refusals.take(_id, item.get("organisation_id"), prefix + "name")
    if organisation_id not in owners.organisation_ids:
        refusals.refuse(_l("Choose an organisation taking part in the SIP."), prefix + "name")
    elif name is None:
        refusals.refuse(_l("Enter the contact person's name."), prefix + "name")
    if phone not in (None, ...) and not _PHONE.match(phone):
        refusals.refuse(_l("Enter a phone number (digits, +, -, spaces)."), prefix + "phone")
    if email not in (None, ...) and not _EMAIL.match(email):
        refusals.refuse(_l("Enter an e-mail address."), prefix + "email")
    refusals.raise_any()
    return {"organisation_id": organisation_id, "name": name, "phone": phone, "email": email}


def _clean_contacts(items, owners: _Owners, refusals: Refusals) -> tuple[list[dict], dict[int, str]]:
    """The contact rows checked (one per organisation, the last wins), and the field of each one's name (the
    organisation is a hidden field: a refusal of it is shown at the name); a refused row is left out."""
    if not isinstance(items, list):
        refusals.refuse(_l("Choose one of the options."), "contacts")
        return [], {}
    cleaned: dict[int, dict] = {}
    fields: dict[int, str] = {}
    for index, item in enumerate(items):
        contact = refusals.take(_clean_contact, item, index, owners)
        if contact is not None:
            cleaned[contact["organisation_id"]] = contact
            fields[contact["organisation_id"]] = f"contacts-{index}-name"
    return list(cleaned.values()), fields


def _refuse_uncovered(
    session: Session,
    case: SipCase,
    plan: Plan | None,
    efforts: list[dict],
    contacts: dict[int, str],
    *,
    now,
    seeing: frozenset[int] | None,
    indexes: list[int] | None = None,
) -> None:
    """Refuse the first effort owner or contact's organisation the consent in force does not cover.

    indexes: each effort's index among those sent (its field's), when some were left out (None: in order).

    contacts: each contact row's organisation and its field. A row keeps the organisation it is stored with:
    a consent that ran out since does not lock the whole plan (the approvals leave that organisation out);
    a new owner, a new effort or a new organisation's contact must be covered. seeing: the organisations
    that see the case when the caller read them in this transaction (None: read here).
    """
    if indexes is None:
        indexes = list(range(len(efforts)))
    owned = [
        (f"efforts-{i}-organisation_id", e)
        for i, e in zip(indexes, efforts, strict=True)
        if e["organisation_id"]
    ]
    if not owned and not contacts:
        return
    if seeing is None:
        seeing = access.organisations_seeing_case(session, case, now=now)
    if all(e["organisation_id"] in seeing for _, e in owned) and set(contacts) <= seeing:
        return
    stored_owners: dict[str, int | None] = {}
    stored_contacts: set[int] = set()
    if plan is not None:
        rows = session.exec(
            select(PlanEffort.uid, PlanEffort.organisation_id).where(PlanEffort.plan_id == plan.id)
        )
        stored_owners = {uid: organisation_id for uid, organisation_id in rows.all()}
        stored_contacts = set(
            session.exec(select(PlanContact.organisation_id).where(PlanContact.plan_id == plan.id)).all()
        )
    named = [
        (field, e["organisation_id"])
        for field, e in owned
        if stored_owners.get(e["uid"]) != e["organisation_id"]
    ]
    named += [
        (field, organisation_id)
        for organisation_id, field in contacts.items()
        if organisation_id not in stored_contacts
    ]
    access.refuse_uncovered(session, case, named, now=now, seeing=seeing)


def _follow_up(value, plan: Plan | None, now: datetime, data: dict) -> date | None:
    """The follow-up day: ahead (a stored one stays savable after it passed: the missing list says it must
    move), and no further ahead than a meeting may be booked (its reminders must come: a year typed wrong,
    2126, would put them out of reach). A new one on a weekend day or a holiday is refused
    (DayOffUnconfirmed: its reminders would go that day) unless data's confirmed_follow_up_day is that day,
    as a meeting's day is."""
    follow_up_on = _date(value, "follow_up_on")
    if follow_up_on is None or follow_up_on == (plan.follow_up_on if plan else None):
        return follow_up_on
    if follow_up_on <= local_today(now):
        raise InvalidInput(_l("Set a follow-up date in the future."), field="follow_up_on")
    last = last_follow_up_day(now)
    if follow_up_on > last:
        raise InvalidInput(
            _l(
                "The follow-up is at most %(years)d years ahead: set it on %(last)s at the latest.",
                years=BOOKING_YEARS_AHEAD,
                last=last.isoformat(),
            ),
            field="follow_up_on",
        )
    refuse_unconfirmed_day_off(
        follow_up_on,
        fields.calendar_date(data, CONFIRMED_FOLLOW_UP_DAY),
        field="follow_up_on",
        wording=FOLLOW_UP_DAY_OFF,
    )
    return follow_up_on


def _child_fields(case: SipCase, plan: Plan | None, data: dict, refusals: Refusals) -> tuple:
    """The child's own view and why it is missing, each ... when the data has no such field (a plan saved
    without the child's fields keeps them): one or the other, as the plan would otherwise say both."""
    child_view = missing_reason = ...
    if "child_view" in data:
        child_view = refusals.take(_text, data["child_view"], "child_view", "child_view", default=None)
    if "child_view_missing_reason" in data:
        missing_reason = refusals.take(
            _text,
            data["child_view_missing_reason"],
            "child_view_missing_reason",
            "child_view_missing_reason",
            default=None,
        )
    if child_view is not ... or missing_reason is not ...:
        view = case.child_view if child_view is ... else child_view
        reason = (
            (plan.child_view_missing_reason if plan else None) if missing_reason is ... else missing_reason
        )
        if view and reason:
            refusals.refuse(
                _l("The child's own view is recorded, so it is not missing: clear one of the two fields."),
                "child_view_missing_reason" if missing_reason is not ... else "child_view",
            )
    return child_view, missing_reason


def check_plan_data(
    session: Session,
    case: SipCase,
    plan: Plan | None,
    data: dict,
    *,
    now: datetime,
    seeing: frozenset[int] | None = None,
) -> dict:
    """The editor's data checked and cleaned; what is refused is refused at once, each at its field (one:
    InvalidInput, several: InvalidInputs holding each), so the page marks every field on the first send.

    seeing: the organisations that see the case, when the caller read them in this transaction."""
    owners = _owners(session, case, plan, now=now)
    refusals = Refusals()
    efforts = data.get("efforts") or []
    if not isinstance(efforts, list):
        refusals.refuse(_l("Choose one of the options."), "efforts")
        efforts = []
    if len(efforts) > MAX_EFFORTS:
        # Refused with the rest of the form; the efforts themselves are not read (their number is unbounded).
        # A meeting's decisions take a plan past the limit unasked (plans.from_meetings): the user is told
        # how many it has and how many must go, not only the limit they did not reach themselves.
        refusals.refuse(
            _l(
                "At most %(max)d efforts: the plan has %(count)d, so %(over)d must be removed.",
                max=MAX_EFFORTS,
                count=len(efforts),
                over=len(efforts) - MAX_EFFORTS,
            ),
            "efforts",
        )
        efforts = []
    follow_up_on = refusals.take(_follow_up, data.get("follow_up_on"), plan, now, data)
    no_other_measures = data.get("no_other_measures", False)
    if not isinstance(no_other_measures, bool):
        refusals.refuse(_l("Choose one of the options."), "no_other_measures")
        no_other_measures = None
    checked = [refusals.take(_clean_effort, item, index, owners) for index, item in enumerate(efforts)]
    cleaned_efforts = [effort for effort in checked if effort is not None]
    if no_other_measures and any(
        e["kind"] == BY_OTHERS and effort_in_force(e["status"]) for e in cleaned_efforts
    ):
        # An established plan must not say both: the PDF would list measures it says there are none of.
        refusals.refuse(
            _l("The plan lists measures by others: untick this box, or remove those measures."),
            "no_other_measures",
        )
    contacts, contact_fields = _clean_contacts(data.get("contacts") or [], owners, refusals)
    # Each effort's field is its index among all the efforts sent, refused ones too.
    refusals.take(
        _refuse_uncovered,
        session,
        case,
        plan,
        cleaned_efforts,
        contact_fields,
        now=now,
        seeing=seeing,
        indexes=[index for index, effort in enumerate(checked) if effort is not None],
    )
    child_view, missing_reason = _child_fields(case, plan, data, refusals)
    clean = {
        "needs": refusals.take(_text, data.get("needs"), "needs", "needs"),
        "own_goals": _clean_goals(data.get("own_goals") or [], "own_goals", refusals),
        "professional_goals": _clean_goals(
            data.get("professional_goals") or [], "professional_goals", refusals
        ),
        "efforts": cleaned_efforts,
        "no_other_measures": no_other_measures,
        "contacts": contacts,
        "follow_up_on": follow_up_on,
        "child_view": child_view,
        "child_view_missing_reason": missing_reason,
    }
    for name in ("huvudansvar_contact", "fast_vardkontakt", "fast_omsorgskontakt"):
        clean[name] = refusals.take(_text, data.get(name), name, name)
    refusals.raise_any()
    return clean


def plan_refusals(
    session: Session,
    case: SipCase,
    plan: Plan | None,
    data: dict,
    *,
    now: datetime,
    seeing: frozenset[int] | None = None,
) -> InvalidInput | None:
    """What check_plan_data refuses in data (InvalidInputs: several), or None; writes nothing. For a page
    that refuses the form already, so it marks every field at once."""
    return refusal_of(check_plan_data, session, case, plan, data, now=now, seeing=seeing)


# --- Writing ----------------------------------------------------------------------------------------------


class _Moved(Exception):
    """The plan's row version moved on between the read and the compare-and-set (SQLite's retry saw it)."""


def _claim(
    session: Session, plan: Plan, expected_row_version: int, actor: User | None, now: datetime
) -> bool:
    """Compare-and-set the plan's row version: of two savers who read the same version only one gets past.
    False for the other: the plan was saved meanwhile (the caller merges, as for a page read before)."""
    statement = (
        update(Plan)
        .where(Plan.id == plan.id, Plan.row_version == expected_row_version)
        .values(
            row_version=expected_row_version + 1,
            updated_at=now,
            updated_by_user_id=actor.id if actor else None,
        )
        .execution_options(synchronize_session=False)
    )

    def recheck() -> None:
        if plan.row_version != expected_row_version:
            raise _Moved

    try:
        claimed = compare_and_set(
            session, statement, obj=plan, recheck=recheck, busy=PlanConflict(PLAN_CHANGED)
        )
    except _Moved:
        return False
    if not claimed:
        return False
    set_committed_value(plan, "row_version", expected_row_version + 1)
    set_committed_value(plan, "updated_at", now)
    set_committed_value(plan, "updated_by_user_id", actor.id if actor else None)
    return True


def _sync_goals(session: Session, plan: Plan, existing: list[PlanGoal], clean: dict) -> None:
    by_uid = {g.uid: g for g in existing}
    kept: set[int] = set()
    for kind in ("own", "professional"):
        for position, item in enumerate(clean[f"{kind}_goals"]):
            row = by_uid.get(item["uid"])
            if row is None or row.kind != kind or row.id in kept:
                row = PlanGoal(plan_id=plan.id, kind=kind, text=item["text"])
            row.text, row.position = item["text"], position
            session.add(row)
            if row.id is not None:
                kept.add(row.id)
    gone = [g.id for g in existing if g.id not in kept]
    if gone:
        session.execute(delete(PlanGoal).where(PlanGoal.id.in_(gone)))


# What other areas do before efforts are removed from a plan (reminders: cancel those still to send, let
# the sent ones forget the row): each is called as hook(session, case, effort_ids, now=now) in the save's
# unit of work. The area registers its own, so plans imports none of them.
_EFFORT_REMOVAL_HOOKS: list[Callable[..., None]] = []


def register_effort_removal(hook: Callable[..., None]) -> None:
    """Run hook(session, case, effort_ids, now=now) before a plan's efforts are removed (deleted)."""
    if hook not in _EFFORT_REMOVAL_HOOKS:
        _EFFORT_REMOVAL_HOOKS.append(hook)


def _sync_efforts(
    session: Session, case: SipCase, plan: Plan, existing: list[PlanEffort], clean: dict, *, now: datetime
) -> None:
    by_uid = {e.uid: e for e in existing}
    kept: set[int] = set()
    for position, item in enumerate(clean["efforts"]):
        row = by_uid.get(item["uid"])
        if row is None or row.id in kept:
            row = PlanEffort(plan_id=plan.id, what=item["what"])
        for name in _EFFORT_VALUES:
            setattr(row, name, item[name])
        row.status, row.position = item["status"], position
        session.add(row)
        if row.id is not None:
            kept.add(row.id)
    gone = [e.id for e in existing if e.id not in kept]
    if gone:
        for hook in _EFFORT_REMOVAL_HOOKS:
            hook(session, case, gone, now=now)
        session.execute(delete(PlanEffort).where(PlanEffort.id.in_(gone)))


def _sync_contacts(session: Session, plan: Plan, existing: list[PlanContact], clean: dict) -> None:
    by_organisation = {c.organisation_id: c for c in existing}
    for item in clean["contacts"]:
        row = by_organisation.pop(item["organisation_id"], None) or PlanContact(
            plan_id=plan.id, organisation_id=item["organisation_id"], name=item["name"]
        )
        row.name, row.phone, row.email = item["name"], item["phone"], item["email"]
        session.add(row)
    for row in by_organisation.values():
        session.delete(row)


# The fields of an effort the editor writes (its status and position aside), compared to tell a repeated
# save from a conflicting one.
_EFFORT_VALUES = (
    "kind",
    "what",
    "organisation_id",
    "unit_id",
    "responsible",
    "actor",
    "starts_on",
    "ends_on",
)


def _holds_already(session: Session, case: SipCase, plan: Plan, clean: dict) -> bool:
    """Whether the plan as stored holds exactly the checked data (its items' ids aside)."""

    def same(a, b) -> bool:
        return (a if a != "" else None) == (b if b != "" else None)

    goals, efforts, contacts = plan_items(session, plan)
    scalars = [(getattr(plan, name), clean[name]) for name in PLAN_VALUES]
    for name, stored in (
        ("child_view", case.child_view),
        ("child_view_missing_reason", plan.child_view_missing_reason),
    ):
        if clean[name] is not ...:
            scalars.append((stored, clean[name]))
    if not all(same(a, b) for a, b in scalars):
        return False
    for kind in ("own", "professional"):
        if [g.text for g in goals if g.kind == kind] != [g["text"] for g in clean[f"{kind}_goals"]]:
            return False
    stored_efforts = [(*(getattr(e, n) for n in _EFFORT_VALUES), e.status) for e in efforts]
    if stored_efforts != [(*(e[n] for n in _EFFORT_VALUES), e["status"]) for e in clean["efforts"]]:
        return False
    return sorted((c.organisation_id, c.name, c.phone, c.email) for c in contacts) == sorted(
        (c["organisation_id"], c["name"], c["phone"], c["email"]) for c in clean["contacts"]
    )


def page_digest(data: dict) -> str:
    """What the editor page shows of the plan (plan_data), as its form carries it for a later merge."""
    return read_digest(data)


def _stored_now(session: Session, case: SipCase) -> Plan | None:
    """The plan as stored now, after a write lost to another writer's: every object read before is expired
    (the plan, its rows, the case's child's view), so what is compared and merged is what they committed."""
    session.expire_all()
    return find_plan(session, case)


def _saved_meanwhile(
    session: Session, case: SipCase, plan: Plan | None, clean: dict, data: dict, as_read: str | None
) -> Plan:
    """The one answer to data sent from a page read before someone else's save, whether the row version
    told it before the write or the compare-and-set at it: plan returned when it holds clean already (sent
    twice: nothing is lost, nothing written), else the refusal _stale gives (merged when it can be)."""
    if plan is None:
        raise PlanConflict(PLAN_CHANGED)
    if _holds_already(session, case, plan, clean):
        return plan
    raise _stale(session, case, plan, data, as_read)


def _stale(session: Session, case: SipCase, plan: Plan, data: dict, as_read: str | None) -> PlanConflict:
    """The refusal of data sent from a page read before the plan's last save: merged when the page said
    what it showed, else the plain conflict (a page from before the editor carried it)."""
    digest = parse_digest(as_read)
    if digest is None:
        return PlanConflict(PLAN_CHANGED)
    current = plan_data(session, case, plan)
    merged = merge(data, digest, current)
    return PlanMerged(merged, row_version=plan.row_version, as_read=read_digest(current))


def save_plan(
    session: Session,
    case: SipCase,
    actor: User | None,
    data: dict,
    *,
    expected_row_version: int,
    now: datetime,
    seeing: frozenset[int] | None = None,
    as_read: str | None = None,
) -> Plan:
    """Save the whole working plan as the editor holds it, if nobody saved it since expected_row_version.

    expected_row_version 0 means the page was read before the plan was started. Refuses with InvalidInput
    (at its field) or PlanConflict; then nothing is written. Data the plan holds already (the same page sent
    twice) is no conflict: nothing is written and the plan is returned. seeing: the organisations that see
    the case, when the caller read them in this transaction (the editor page's participants' read).

    as_read: what the page showed (page_digest, carried by the form). With it, a plan saved since is merged
    with data (plans.merge) and refused as PlanMerged, holding the form to show: never saved over unseen.
    """
    if isinstance(expected_row_version, bool) or not 0 <= expected_row_version < 2**31:
        raise PlanConflict(PLAN_CHANGED)
    plan = find_plan(session, case)
    clean = check_plan_data(session, case, plan, data, now=now, seeing=seeing)
    return _write_plan(
        session, case, actor, plan, clean, data, as_read, expected_row_version=expected_row_version, now=now
    )


def _write_plan(
    session: Session,
    case: SipCase,
    actor: User | None,
    plan: Plan | None,
    clean: dict,
    data: dict,
    as_read: str | None,
    *,
    expected_row_version: int,
    now: datetime,
) -> Plan:
    """save_plan's writing, of data checked already (clean) into plan as read (None: not started); data and
    as_read as sent, for the merge a plan saved since gets (see _stale)."""
    if isinstance(expected_row_version, bool) or not 0 <= expected_row_version < 2**31:
        raise PlanConflict(PLAN_CHANGED)
    # A plan edit is a change to the SIP: Mina SIP lists the case as just changed. PostgreSQL locks the case's
    # row before the plan's, the order a plan step takes them (its claim, then apply_plan's hold); SQLite, one
    # writer at a time, moves it after the plan's compare-and-set, which must be the first write.
    case_first = session.get_bind().dialect.name == "postgresql"
    if plan is None:
        if expected_row_version != 0:
            raise PlanConflict(PLAN_CHANGED)
        if case_first:
            note_case_changed(session, case, now=now)
        plan = Plan(
            case_id=case.id, row_version=1, updated_at=now, updated_by_user_id=actor.id if actor else None
        )
        session.add(plan)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            # Someone else started the plan at the same moment (one plan per case): as if read before.
            return _saved_meanwhile(session, case, _stored_now(session, case), clean, data, as_read)
        goals, efforts, contacts = [], [], []
    else:
        if expected_row_version != plan.row_version:
            return _saved_meanwhile(session, case, plan, clean, data, as_read)
        if case_first:
            note_case_changed(session, case, now=now)
        if not _claim(session, plan, expected_row_version, actor, now):
            # The compare-and-set lost: someone saved between this request's read and its write. The same
            # as a page read before their save: merged, or saved already (the same page sent twice at once).
            return _saved_meanwhile(session, case, _stored_now(session, case), clean, data, as_read)
        goals, efforts, contacts = plan_items(session, plan)
    if not case_first:
        note_case_changed(session, case, now=now)
    for name in PLAN_VALUES:
        setattr(plan, name, clean[name])
    if clean["child_view_missing_reason"] is not ...:
        plan.child_view_missing_reason = clean["child_view_missing_reason"]
    if clean["child_view"] is not ... and clean["child_view"] != case.child_view:
        # The child's own view stays on the case, where the child workflow's guard reads it.
        case.child_view = clean["child_view"]
        session.add(case)
    session.add(plan)
    _sync_goals(session, plan, goals, clean)
    _sync_efforts(session, case, plan, efforts, clean, now=now)
    _sync_contacts(session, plan, contacts, clean)
    session.flush()
    return plan


def save_and_establish(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    trigger: str,
    data: dict,
    *,
    expected_row_version: int,
    expected_version: int,
    now: datetime,
    reads: StepReads | None = None,
    plan: Plan | None = ...,
    as_read: str | None = None,
) -> Plan:
    """Establish (or revise, by trigger) the plan as the editor holds it: what it holds that the stored plan
    does not is saved first (save_plan: its refusals at their fields, its row-version conflict), then the
    step establishes that plan. All in the caller's one unit of work: a refusal of either writes nothing, so
    the version established is what the user saw and nothing typed is left out of it unsaid.

    expected_row_version: the plan's row version the editor was read at; expected_version: the case's.
    reads: the step's first read (participants, consents in force) when the caller made it; plan: the working
    plan (None: not started) when the caller read it in this transaction. as_read: what the page showed
    (page_digest): a plan saved since is merged as save_plan merges it (PlanMerged), nothing established, so
    a version never leaves out unseen what a colleague saved.
    """
    seeing = reads.seeing if reads is not None else None
    # A plan saved since is merged as a plain save's is (PlanMerged): nothing is established until the user
    # has seen the others' changes in the form.
    plan, _saved = _save_unless_held(
        session,
        case,
        actor,
        plan,
        data,
        expected_row_version=expected_row_version,
        now=now,
        seeing=seeing,
        as_read=as_read,
    )
    # Saved or not, the plan now holds what the editor showed: the step holds it at its row version.
    fire_transition(
        session,
        registry,
        actor,
        case,
        trigger,
        expected_version=expected_version,
        now=now,
        data={"plan_row_version": plan.row_version},
        reads=reads,
    )
    return plan


def established_meanwhile(seen: int | None, last_version: int) -> int | None:
    """The number of the plan's newest version when it was established after the editor page was read (seen:
    the newest version's number the page was read at, None when the page did not say), else None: what a
    save from that page wrote is not in it, but in the working plan for the next version."""
    if seen is None or last_version <= seen:
        return None
    return last_version


def _save_unless_held(
    session: Session,
    case: SipCase,
    actor: User,
    plan: Plan | None,
    data: dict,
    *,
    expected_row_version: int,
    now: datetime,
    seeing: frozenset[int] | None,
    as_read: str | None,
    shown: dict | None = None,
) -> tuple[Plan | None, bool]:
    """Save what the editor holds before a step that goes with it (establishing, a hand-over), unless the
    plan at the page's row version holds it already or it is the page's plan untouched (shown, _as_shown):
    save_plan's refusals at their fields, a plan saved since merged as PlanMerged. The plan after (plan:
    the working plan read in this transaction, or ... to read it), and whether it was saved."""
    if plan is ...:
        plan = find_plan(session, case)
    clean = check_plan_data(session, case, plan, data, now=now, seeing=seeing)
    held = (
        plan is not None
        and plan.row_version == expected_row_version
        and _holds_already(session, case, plan, clean)
    ) or _as_shown(session, case, plan, clean, shown, now=now, seeing=seeing)
    if held:
        return plan, False
    written = _write_plan(
        session, case, actor, plan, clean, data, as_read, expected_row_version=expected_row_version, now=now
    )
    return written, True


def _as_shown(
    session: Session,
    case: SipCase,
    plan: Plan | None,
    clean: dict,
    shown: dict | None,
    *,
    now: datetime,
    seeing: frozenset[int] | None,
) -> bool:
    """Whether the checked data (clean) is the page's data as shown untouched (shown), checked alike."""
    if shown is None:
        return False
    try:
        return check_plan_data(session, case, plan, shown, now=now, seeing=seeing) == clean
    except UserError:
        return False


def save_and_hand_over(
    session: Session,
    case: SipCase,
    actor: User,
    data: dict,
    *,
    organisation_id,
    reason: str | None,
    expected_row_version: int,
    expected_version: int,
    now: datetime,
    seeing: frozenset[int] | None = None,
    plan: Plan | None = ...,
    as_read: str | None = None,
    shown: dict | None = None,
) -> tuple[bool, responsibility.HuvudansvarTransfer]:
    """Give huvudansvar (responsibility.give_huvudansvar) from the editor page, whose hand-over sends what
    the editor holds with it: what it holds that the stored plan does not is saved first (save_plan: its
    refusals at their fields, a plan saved since merged as PlanMerged), then huvudansvar is given. All in the
    caller's one unit of work: a refusal of either writes nothing, and nothing typed in the plan is lost by
    the hand-over, even when the organisation giving huvudansvar up no longer writes the plan after it.

    shown: the editor's data as the page shows the plan now, untouched: data that comes to the same once
    checked holds nothing typed, and is not saved (the page may show what the plan does not hold yet, the
    contacts of the SIP's organisations, which only a save of the user's own makes the plan's).
    Returns whether the plan was saved, and the transfer.
    """
    _plan, saved = _save_unless_held(
        session,
        case,
        actor,
        plan,
        data,
        expected_row_version=expected_row_version,
        now=now,
        seeing=seeing,
        as_read=as_read,
        shown=shown,
    )
    transfer = responsibility.give_huvudansvar(
        session,
        case,
        actor,
        organisation_id=organisation_id,
        reason=reason,
        expected_version=expected_version,
        now=now,
    )
    return saved, transfer


# Start a case's plan unless it has one, in one statement built once: INSERT ... SELECT ... WHERE NOT EXISTS,
# returning the new plan's id (no row: the plan was there). Two writers at once still meet the unique
# case_id, as a read followed by an INSERT would.
_PLAN_COLUMNS = [c for c in Plan.__table__.columns if c.name != "id"]
_START_PLAN = (
    insert(Plan.__table__)
    .from_select(
        [c.name for c in _PLAN_COLUMNS],
        select(*(bindparam(c.name, type_=c.type) for c in _PLAN_COLUMNS)).where(
            ~exists().where(Plan.__table__.c.case_id == bindparam("case_id", type_=Integer))
        ),
    )
    .returning(Plan.__table__.c.id)
)
_GOALS = PlanGoal.__table__


def _start_plan_with_goals():
    """WITH started AS (the plan's INSERT ... WHERE NOT EXISTS RETURNING id), INSERT its goals from it."""
    started = _START_PLAN.cte("started_plan")
    listed = (
        func.unnest(
            bindparam("goal_uids", type_=ARRAY(String)),
            bindparam("goal_texts", type_=ARRAY(String)),
            bindparam("goal_positions", type_=ARRAY(Integer)),
        )
        .table_valued(column("uid", String), column("text", String), column("position", Integer))
        .render_derived()
        .alias("own_goal")
    )
    # A plan there already starts nothing: its goals are then none of this statement's.
    goals = insert(_GOALS).from_select(
        ["plan_id", "uid", "kind", "text", "position"],
        select(
            started.c.id, listed.c.uid, literal("own", _GOALS.c.kind.type), listed.c.text, listed.c.position
        ).select_from(started.join(listed, true())),
    )
    return select(started.c.id).add_cte(goals.cte("started_goals"))


# PostgreSQL only (its arrays carry the goals, any number of them).
_START_PLAN_WITH_GOALS = _start_plan_with_goals()


def add_own_goals(
    session: Session, case: SipCase, texts: list[str], *, actor: User | None, now: datetime
) -> None:
    """Add the person's own goals to the working plan (started if need be); a goal already there is kept once.

    Raises the plan's row version, so an editor page read before sees a conflict instead of removing them.
    """
    draft = Plan(case_id=case.id, updated_at=now, updated_by_user_id=actor.id if actor else None)
    values = {c.name: getattr(draft, c.name) for c in _PLAN_COLUMNS}
    if session.get_bind().dialect.name == "postgresql":
        # A plan just started holds no goals: they go in the statement that starts it (one round trip fewer).
        goals = _new_goals(texts, [])
        started = session.execute(
            _START_PLAN_WITH_GOALS,
            {
                **values,
                "goal_uids": [g["uid"] for g in goals],
                "goal_texts": [g["text"] for g in goals],
                "goal_positions": [g["position"] for g in goals],
            },
        ).first()
        if started is not None:
            return
    else:
        started = session.execute(_START_PLAN, values).first()
        if started is not None:
            # A plan just started holds no goals: nothing to read back.
            _insert_goals(session, started.id, _new_goals(texts, []))
            return
    plan = find_plan(session, case)
    own = list(
        session.exec(
            select(PlanGoal)
            .where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
            .order_by(PlanGoal.position)
        ).all()
    )
    session.execute(
        update(Plan)
        .where(Plan.id == plan.id)
        .values(
            row_version=Plan.row_version + 1,
            updated_at=now,
            updated_by_user_id=actor.id if actor else None,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(plan)
    _insert_goals(session, plan.id, _new_goals(texts, own))


def _new_goals(texts: list[str], own: list[PlanGoal]) -> list[dict]:
    """The goals of texts that own (the plan's own goals) lacks, each once, after them; at most MAX_GOALS."""
    present = {g.text.casefold() for g in own}
    count, position = len(own), max((g.position for g in own), default=-1) + 1
    goals = []
    for text in texts:
        if text.casefold() in present:
            continue
        if count >= MAX_GOALS:
            raise InvalidInput(_l("At most %(max)d goals.", max=MAX_GOALS), field="own_goals")
        goals.append({"uid": new_item_uid(), "kind": "own", "text": text, "position": position})
        present.add(text.casefold())
        count, position = count + 1, position + 1
    return goals


def _insert_goals(session: Session, plan_id: int, goals: list[dict]) -> None:
    """One INSERT of the plan's new goals, no ids read back: nothing in the step reads them as objects."""
    if goals:
        session.execute(insert(_GOALS), [{"plan_id": plan_id, **goal} for goal in goals])


# --- What is still missing ----------------------------------------------------------------------------------


@dataclass
class Missing:
    """One condition of the establishing step that does not hold yet, and the field where it is fixed."""

    guard: str
    message: object
    field: str | None


def plan_parties(workflow: Workflow) -> frozenset[str] | None:
    """The party roles that write the plan: those of the steps whose form is the plan's, as the workflow file
    says (initiator and huvudansvarig in the shipped files); None when the workflow has no such step."""
    steps = [t for t in workflow.transitions if t.form == PLAN_FORM]
    if not steps:
        return None
    return frozenset(party for step in steps for party in step.parties)


def writes_plan(workflow: Workflow, roles: set[str] | frozenset[str]) -> bool:
    """An organisation holding roles (its party roles in the case) writes the plan: it holds a party role of
    the workflow's plan step (plan_parties). The one rule the plan editor and the reminders ask."""
    return bool(roles & (plan_parties(workflow) or frozenset()))


def establishing_transition(workflow: Workflow, state: str) -> TransitionDef | None:
    """The step from state whose form is the plan's (establish or revise), if the workflow has one there."""
    return next((t for t in workflow.transitions_from(state) if t.form == PLAN_FORM), None)


def next_plan_step(workflow: Workflow, state: str) -> tuple[TransitionDef, list[TransitionDef]] | None:
    """The nearest step whose form is the plan's (the one that makes what is saved the next version) and the
    steps that lead from state to where it can be taken (none: it can be taken now), read from the workflow
    file; None when no such step can come (no path to one that does not end the SIP first)."""
    paths: dict[str, list[TransitionDef]] = {state: []}
    queue = [state]
    while queue:
        here = queue.pop(0)
        step = establishing_transition(workflow, here)
        if step is not None:
            return step, paths[here]
        for transition in workflow.transitions_from(here):
            if transition.dest not in paths and not workflow.is_final(transition.dest):
                paths[transition.dest] = [*paths[here], transition]
                queue.append(transition.dest)
    return None


def plan_step_just_taken(
    session: Session, workflow: Workflow, case: SipCase, actor: User, *, now: datetime
) -> TransitionDef | None:
    """The plan step (establish or revise, found by its form) actor took on case a moment ago, when that is
    what made their establishing form stale: a second click on the same button."""
    triggers = {t.trigger for t in workflow.transitions if t.form == PLAN_FORM}
    step = own_step_just_taken(session, case, actor, triggers, now=now)
    return workflow.transition(step.from_state, step.trigger) if step is not None else None


def missing_items(
    session: Session,
    workflow: Workflow,
    case: SipCase,
    actor: User | None,
    *,
    now: datetime,
    plan: Plan | None,
    reads: StepReads,
) -> tuple[TransitionDef | None, list[Missing]]:
    """The establishing step from the case's state and every one of its conditions that fails now.

    Asks the guards without firing anything: they read the plan draft as saved, and the follow-up day the
    step would copy from it. plan (None: not started) and reads (the case's active participants and
    consents in force) are the caller's reads: the guards take them as the step's own.
    """
    transition = establishing_transition(workflow, case.state)
    if transition is None:
        return None, []
    ctx = TransitionContext(session=session, case=case, actor=actor, now=now, data={})
    ctx.memo[STEP_PLAN] = plan
    share_step_reads(ctx, reads)
    missing = []
    for name in transition.conditions:
        guard = GUARDS.get(name)
        if guard is None or not guard.check(ctx):
            message = guard.message_for(ctx) if guard else name
            missing.append(Missing(name, message, guard.field if guard else None))
    return transition, missing


# --- What the editor page shows besides the plan ------------------------------------------------------------


@dataclass
class OrganisationPart:
    """An organisation taking part: its name, its units taking part, and its contact person if known."""

    organisation_id: int
    name: str
    units: list[tuple[int, str]]
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    huvudansvarig: bool
    # Organisation.kind: whether it may have overall responsibility (responsibility.is_huvudman).
    kind: str | None = None


def organisation_parts(session: Session, rows: list) -> list[OrganisationPart]:
    """The organisations taking part in the case, by name, each with its units and first named contact,
    named as the SIP's pages name them (cases.participants.labelled_organisations: two of one name, the
    same agency registered in two counties, told apart).

    rows: the case's (participant, organisation, unit, contact person) rows (cases.queries.participant_rows).
    """
    organisations = {row[1].id: row[1] for row in rows if row[1] is not None}
    labels = labelled_organisations(session, organisations.values())
    taking_part = sorted(
        (row for row in rows if row[0].active and row[0].kind == "organisation" and row[1] is not None),
        key=lambda row: (row[1].name, row[0].id),
    )
    parts: dict[int, OrganisationPart] = {}
    for participant, organisation, unit, user in taking_part:
        part = parts.setdefault(
            organisation.id,
            OrganisationPart(
                organisation.id, labels[organisation.id], [], None, None, None, False, organisation.kind
            ),
        )
        if unit is not None:
            part.units.append((unit.id, unit.name))
        part.huvudansvarig = part.huvudansvarig or participant.role == HUVUDANSVARIG
        if part.contact_name is None and user is not None:
            part.contact_name = user.display_name
            part.contact_email = participant.email or user.email
            part.contact_phone = participant.phone
    return list(parts.values())
