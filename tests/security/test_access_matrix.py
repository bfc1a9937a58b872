"""Who may see what: every route of the app x every role and relation to a case, each cell asserted.

The routes come from `app.url_map`: a route added without a line in ROUTES (or PUBLIC) fails
`test_every_route_has_a_rule`. Each cell starts on a small world of its own: the region starts a SIP with the
municipality (and, for one relation, the school) taking part, and the case is brought to the state the
relation needs. Users log in through the login form. Each kind of world is built (and its users logged in)
once per worker; every cell after gets the same rows back from a copy and the user's session cookie
(`world_for`), which costs a few INSERTs instead of the services and four requests.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import support
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from support import valid_personnummer
from webkit import FreshContextClient, csrf_token, login, text_of, without_tokens

from sipflow.admin.models import AdminChange
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.queries import participant_rows
from sipflow.cases.services import step_seeing
from sipflow.clock import now_utc, to_local
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.security import access, audit
from sipflow.security.audit import AccessLogEntry
from sipflow.workflow.context import TransitionContext

# The pages and the test read one clock: sipflow's, frozen at FIXED_NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

NO_ACCESS_TEXT = "Du har ingen åtkomst till enskilda SIP-ärenden."


# --- The world of one cell -------------------------------------------------------------------------------


@dataclass
class World:
    """The organisations, users and (when the route needs one) the case of one cell."""

    session: Session
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    case: SipCase | None = None


def _org_unit(session: Session, key: str, kind: str, name: str) -> Unit:
    return support.new_unit(session, kind, name, key=key, unit_name="{name}, enhet", health_care=False)


def _user(session: Session, name: str, unit: Unit | None, roles: str) -> User:
    return support.new_user(session, unit, roles, f"{name}-{{n}}", display_name=name, email=None)


def _person(session: Session, hash_key: str, now: datetime) -> Person:
    return support.new_person(session, hash_key, now=now, birth=date(1988, 4, 12), given_name="Matris")


def build_world(session: Session, registry, hash_key: str, case_kind: str | None) -> World:
    """Region, municipality, school and an outsider; staff, a coordinator, an admin and a unitless user."""
    world = World(session)
    world.units = {
        "region": _org_unit(session, "region", "region", "Region Kronoberg"),
        "municipality": _org_unit(session, "kommun", "municipality", "Växjö kommun"),
        "school": _org_unit(session, "skola", "school", "Katedralskolan"),
        "outsider": _org_unit(session, "fk", "other", "Försäkringskassan"),
    }
    world.users = {
        "region_user": _user(session, "region", world.units["region"], "staff"),
        "municipality_user": _user(session, "kommun", world.units["municipality"], "staff"),
        "school_user": _user(session, "skola", world.units["school"], "staff"),
        "outsider_user": _user(session, "fk", world.units["outsider"], "staff"),
        # Coordinator and administrator work in the initiating organisation: their role, not unit, decides.
        "coordinator_user": _user(session, "samordnare", world.units["region"], "coordinator"),
        "admin_user": _user(session, "admin", world.units["region"], "admin"),
        "unitless_user": _user(session, "utan-enhet", None, "staff"),
    }
    session.commit()
    if case_kind is not None:
        world.case = _case(world, registry, hash_key, case_kind)
    return world


@dataclass(frozen=True)
class Visit:
    """A logged-in browser of one user of a world: its session cookie and a CSRF token of that session."""

    cookie: str
    token: str


def world_for(
    session: Session, registry, app, case_kind: str | None, *, versions: bool = False
) -> tuple[World, dict[str, Visit]]:
    """build_world's world for case_kind (with two plan versions if asked), and each user logged in.

    Built once per worker, through the services and the login form; after that put back from a copy of
    its rows, the same ids and all, so each cell starts on a database holding exactly this world whatever
    the cells before it did (they are emptied after each test as any test's rows are). The visits are the
    logged-in browsers' cookies: a cell that logs out or ends sessions changes rows the next cell gets back.
    """
    hash_key = app.config["PNR_HASH_KEY"]

    def build() -> dict:
        world = build_world(session, registry, hash_key, case_kind)
        if versions:
            _plan_version_url(world)
        visits = {}
        for name, user in world.users.items():
            client = FreshContextClient(app, app.response_class, use_cookies=True)
            response = login(client, user.username)
            assert response.status_code == 302, text_of(response)
            token = csrf_token(text_of(client.get("/")))
            visits[name] = Visit(client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value, token)
        return {
            "units": {name: unit.id for name, unit in world.units.items()},
            "users": {name: user.id for name, user in world.users.items()},
            "case": world.case.id if world.case else None,
            "visits": visits,
        }

    key = ("access matrix", case_kind, versions)
    ids = support.reused_world(session.get_bind(), key, build)
    session.expire_all()
    units = {u.id: u for u in session.exec(select(Unit).where(Unit.id.in_(ids["units"].values())))}
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(ids["users"].values())))}
    world = World(session)
    world.units = {name: units[unit_id] for name, unit_id in ids["units"].items()}
    world.users = {name: users[user_id] for name, user_id in ids["users"].items()}
    world.case = session.get(SipCase, ids["case"]) if ids["case"] else None
    return world, ids["visits"]


def _case(world: World, registry, hash_key: str, kind: str) -> SipCase:
    session, units, actor = world.session, world.units, world.users["region_user"]
    # The pages run on sipflow's clock (frozen in this module); so does the case.
    now = now_utc()
    others = [units["municipality"].id] + ([units["school"].id] if kind == "consented_partly" else [])
    case = support.new_case(
        session,
        registry,
        actor,
        workflow="sip",
        person=_person(session, hash_key, now),
        unit_ids=others,
        now=now,
    )
    session.commit()
    if kind == "requested":
        return case
    scope = [units["region"].organisation_id, units["municipality"].organisation_id]
    support.fire(session, registry, actor, case, "give_consent", now=now, organisation_ids=scope)
    if kind == "expired":
        consent = session.exec(select(Consent).where(Consent.case_id == case.id)).one()
        consent.valid_until = to_local(now).date() - timedelta(days=1)
        session.add(consent)
        session.commit()
    elif kind == "withdrawn":
        support.fire(session, registry, actor, case, "withdraw_consent", now=now)
    return case


# --- Relations: who the user is, and the state of the case they try -------------------------------------


@dataclass(frozen=True)
class Relation:
    user: str | None  # None: anonymous
    case_kind: str
    sees_case: bool
    staff_with_unit: bool
    admin: bool = False


RELATIONS = {
    "initiator_before_consent": Relation("region_user", "requested", True, True),
    "initiator_after_withdrawal": Relation("region_user", "withdrawn", True, True),
    "participant_without_consent": Relation("municipality_user", "requested", False, True),
    "participant_with_consent": Relation("municipality_user", "consented", True, True),
    "participant_not_covered_by_consent": Relation("school_user", "consented_partly", False, True),
    "participant_consent_expired": Relation("municipality_user", "expired", False, True),
    "participant_after_withdrawal": Relation("municipality_user", "withdrawn", False, True),
    "not_participating": Relation("outsider_user", "consented", False, True),
    "staff_without_unit": Relation("unitless_user", "consented", False, False),
    "coordinator": Relation("coordinator_user", "consented", False, False),
    "administrator": Relation("admin_user", "consented", False, False, admin=True),
    "anonymous": Relation(None, "consented", False, False),
}

LOGIN = "login"  # expected: a redirect to the login page
DENY_404, DENY_403 = 404, 403
ALLOW = "allow"  # expected: neither refused nor sent to log in (for routes whose answer depends on input)


# --- Routes: how to call each, and what each relation may expect -----------------------------------------


@dataclass(frozen=True)
class Route:
    """One (endpoint, method) of the app: its request and its expected answer per relation."""

    url: Callable[[World], str]
    expect: Callable[[Relation, World], int | str]
    data: Callable[[World], dict] | None = None
    needs_case: bool = False
    # The world with two plan versions (frozen once per worker, not by each cell: rendering PDFs is slow).
    versions: bool = False


def _case_route(allowed_status: Callable[[World], int]):
    def expect(relation: Relation, world: World):
        if relation.user is None:
            return LOGIN
        return allowed_status(world) if relation.sees_case else DENY_404

    return expect


def _staff_route(status: int):
    def expect(relation: Relation, _world: World):
        if relation.user is None:
            return LOGIN
        return status if relation.staff_with_unit else DENY_403

    return expect


def _logged_in(status: int | str):
    def expect(relation: Relation, _world: World):
        return LOGIN if relation.user is None else status

    return expect


def _admin_only(status: int | str):
    def expect(relation: Relation, _world: World):
        if relation.user is None:
            return LOGIN
        return status if relation.admin else DENY_403

    return expect


def _coordinator_only(status: int | str, anonymous: int | str = LOGIN):
    def expect(relation: Relation, _world: World):
        if relation.user is None:
            return anonymous
        return status if relation.user == "coordinator_user" else DENY_403

    return expect


def _leading_party_route(status: int, *, before_consent: int | None = None):
    """A change only the initiator (or huvudansvarig) may make on an open SIP; 409 once it has ended.

    before_consent: the answer while the consent step is not taken yet, when that differs (a further
    consent comes after the first).
    """

    def expect(relation: Relation, world: World):
        if relation.user is None:
            return LOGIN
        if not relation.sees_case:
            return DENY_404
        if _final(world):
            return 409
        if relation.user != "region_user":
            return DENY_403
        if before_consent is not None and world.case.state == "requested":
            return before_consent
        return status

    return expect


def _own_organisation_route(status: int):
    """A change of the municipality unit only its own organisation's staff may make on an open SIP."""

    def expect(relation: Relation, world: World):
        if relation.user is None:
            return LOGIN
        if not relation.sees_case:
            return DENY_404
        if _final(world):
            return 409
        return status if relation.user == "municipality_user" else DENY_403

    return expect


def _municipality_row(world: World) -> int:
    """The id of the municipality unit's participant row in the world's case."""
    return world.session.exec(
        select(Participant.id).where(
            Participant.case_id == world.case.id,
            Participant.organisation_id == world.units["municipality"].organisation_id,
        )
    ).one()


def _remove_data(world: World) -> dict:
    return {"reason": "Fel enhet", "version": str(world.case.version)}


def _final(world: World) -> bool:
    return world.case.state in ("withdrawn", "closed", "cancelled", "declined")


def _fire_trigger(world: World) -> str:
    return "give_consent" if world.case.state == "requested" else "start_preparation"


def _fire_data(world: World) -> dict:
    trigger = _fire_trigger(world)
    data = {f"{trigger}-version": str(world.case.version)}
    if trigger == "give_consent":
        data |= {
            "give_consent-given_by": "person",
            "give_consent-form": "oral",
            "give_consent-organisation_ids": [
                str(world.units["region"].organisation_id),
                str(world.units["municipality"].organisation_id),
            ],
        }
    return data


def _new_case_data(_world: World) -> dict:
    return {
        "workflow_name": "sip",
        "id_kind": "personnummer",
        "identifier": valid_personnummer(date(1979, 9, 30), support.next_number() % 1000),
        "given_name": "Ny",
        "family_name": "Person",
        "home_municipality_code": "0780",
    }


ROUTES: dict[tuple[str, str], Route] = {
    ("cases.my_cases", "GET"): Route(lambda w: "/cases", _logged_in(200), needs_case=True),
    ("todo.index", "GET"): Route(lambda w: "/", _logged_in(200), needs_case=True),
    ("todo.more", "GET"): Route(lambda w: "/todo/deadlines", _logged_in(200), needs_case=True),
    ("cases.filter_person", "POST"): Route(
        lambda w: "/person-filter", _staff_route(302), data=lambda w: {"identifier": ""}
    ),
    ("cases.new", "GET"): Route(lambda w: "/cases/new", _staff_route(200)),
    ("cases.new", "POST"): Route(lambda w: "/cases/new", _staff_route(303), data=_new_case_data),
    ("cases.detail", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}", _case_route(lambda w: 200), needs_case=True
    ),
    ("cases.fire", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/transitions/{_fire_trigger(w)}",
        # A withdrawn case stays readable for the initiator, but no step leads on from it.
        _case_route(lambda w: 409 if _final(w) else 303),
        data=_fire_data,
        needs_case=True,
    ),
    ("cases.add_unit", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/unit",
        _case_route(lambda w: 409 if _final(w) else 303),
        data=lambda w: {"unit-unit_id": str(w.units["outsider"].id), "unit-version": str(w.case.version)},
        needs_case=True,
    ),
    ("cases.add_private", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/private",
        _case_route(lambda w: 409 if _final(w) else 303),
        data=lambda w: {
            "private-kind": "narstaende",
            "private-name": "Eva Andersson",
            "private-version": str(w.case.version),
        },
        needs_case=True,
    ),
    # Logging out ends at the login page for everyone; that it logged out is checked in the cell.
    ("auth.logout", "POST"): Route(lambda w: "/logout", lambda r, w: LOGIN, data=lambda w: {}),
    ("auth.change_password", "GET"): Route(lambda w: "/password", _logged_in(200)),
    ("auth.change_password", "POST"): Route(lambda w: "/password", _logged_in(ALLOW), data=lambda w: {}),
    ("admin.index", "GET"): Route(lambda w: "/admin/", _admin_only(302)),
    # Statistics are numbers for coordinators only; nobody else gets them, whatever they see of cases.
    ("stats.dashboard", "GET"): Route(lambda w: "/statistik/", _coordinator_only(200)),
    ("stats.as_json", "GET"): Route(
        lambda w: "/statistik/indikatorer.json",
        _coordinator_only(200, anonymous=401),  # JSON, no redirect
    ),
    ("stats.as_csv", "GET"): Route(lambda w: "/statistik/indikatorer.csv", _coordinator_only(200)),
    ("stats.as_xlsx", "GET"): Route(lambda w: "/statistik/indikatorer.xlsx", _coordinator_only(200)),
    ("stats.quarterly_pdf", "GET"): Route(lambda w: "/statistik/kvartalsrapport.pdf", _coordinator_only(200)),
    ("admin.users", "GET"): Route(lambda w: "/admin/users", _admin_only(200)),
    ("admin.search_users", "POST"): Route(
        lambda w: "/admin/users/search", _admin_only(302), data=lambda w: {"search": "a"}
    ),
    ("admin.disable_user", "POST"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}/disable", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.enable_user", "POST"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}/enable", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.end_sessions", "POST"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}/sessions/end",
        _admin_only(ALLOW),
        data=lambda w: {},
    ),
    ("admin.invite_user", "GET"): Route(lambda w: "/admin/users/new", _admin_only(200)),
    ("admin.invite_user", "POST"): Route(lambda w: "/admin/users/new", _admin_only(ALLOW), data=lambda w: {}),
    ("admin.edit_user", "GET"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}", _admin_only(200)
    ),
    ("admin.edit_user", "POST"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.reset_password", "POST"): Route(
        lambda w: f"/admin/users/{w.users['outsider_user'].id}/reset-password",
        _admin_only(ALLOW),
        data=lambda w: {},
    ),
    ("admin.log", "GET"): Route(lambda w: "/admin/log", _admin_only(200)),
    ("admin.persons", "GET"): Route(lambda w: "/admin/persons", _admin_only(200)),
    ("admin.persons", "POST"): Route(lambda w: "/admin/persons", _admin_only(ALLOW), data=lambda w: {}),
    ("admin.person_extract", "POST"): Route(
        lambda w: "/admin/persons/loggutdrag", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.person_export", "POST"): Route(
        lambda w: "/admin/persons/registerutdrag", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.person_particulars", "POST"): Route(
        lambda w: "/admin/persons/particulars", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.organisations", "GET"): Route(lambda w: "/admin/organisations", _admin_only(200)),
    ("admin.organisation_new", "GET"): Route(lambda w: "/admin/organisations/new", _admin_only(200)),
    ("admin.organisation_new", "POST"): Route(
        lambda w: "/admin/organisations/new", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.organisation_edit", "GET"): Route(
        lambda w: f"/admin/organisations/{w.units['outsider'].organisation_id}/edit", _admin_only(200)
    ),
    ("admin.organisation_edit", "POST"): Route(
        lambda w: f"/admin/organisations/{w.units['outsider'].organisation_id}/edit",
        _admin_only(ALLOW),
        data=lambda w: {},
    ),
    ("admin.organisation_deactivate", "POST"): Route(
        lambda w: f"/admin/organisations/{w.units['outsider'].organisation_id}/deactivate",
        _admin_only(ALLOW),
        data=lambda w: {},
    ),
    ("admin.organisation_activate", "POST"): Route(
        lambda w: f"/admin/organisations/{w.units['outsider'].organisation_id}/activate",
        _admin_only(ALLOW),
        data=lambda w: {},
    ),
    ("admin.units", "GET"): Route(lambda w: "/admin/units", _admin_only(200)),
    ("admin.unit_new", "GET"): Route(lambda w: "/admin/units/new", _admin_only(200)),
    ("admin.unit_new", "POST"): Route(lambda w: "/admin/units/new", _admin_only(ALLOW), data=lambda w: {}),
    ("admin.unit_edit", "GET"): Route(
        lambda w: f"/admin/units/{w.units['outsider'].id}/edit", _admin_only(200)
    ),
    ("admin.unit_edit", "POST"): Route(
        lambda w: f"/admin/units/{w.units['outsider'].id}/edit", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.unit_deactivate", "POST"): Route(
        lambda w: f"/admin/units/{w.units['outsider'].id}/deactivate", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.unit_activate", "POST"): Route(
        lambda w: f"/admin/units/{w.units['outsider'].id}/activate", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.directory_import", "GET"): Route(lambda w: "/admin/import", _admin_only(200)),
    ("admin.directory_import", "POST"): Route(
        lambda w: "/admin/import", _admin_only(ALLOW), data=lambda w: {}
    ),
    ("admin.directory_import_template", "GET"): Route(
        lambda w: "/admin/import/template.csv", _admin_only(200)
    ),
    ("admin.workflows", "GET"): Route(lambda w: "/admin/workflows", _admin_only(200)),
    ("reminders.admin_list", "GET"): Route(lambda w: "/admin/reminders/", _admin_only(200)),
    ("reminders.retry", "POST"): Route(
        lambda w: "/admin/reminders/1/retry", _admin_only(ALLOW), data=lambda w: {}
    ),
    # Everyone who sees the matrix's case may change its person: the region registered the person, the
    # municipality sees it under consent (who else may is in tests/cases/test_new_case_person.py).
    ("cases.person", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/person", _case_route(lambda w: 200), needs_case=True
    ),
    ("cases.person", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/person",
        _case_route(lambda w: 400),
        data=lambda w: {},
        needs_case=True,
    ),
}


def _dev_message(world: World) -> str:
    """A message about the world's case, just written by the file sink; its development page URL."""
    from flask import current_app

    from sipflow.notifications.models import OutboxMessage
    from sipflow.notifications.transports import FileTransport, eml_name

    now = now_utc()
    text = "From: sip@sipflow.localhost\r\nTo: matris@example.se\r\nSubject: Matris\r\n\r\nHej\r\n"
    row = OutboxMessage(
        kind="request",
        case_id=world.case.id,
        recipient="matris@example.se",
        subject="Matris",
        message=text,
        message_id=f"<matris-{support.next_number()}@sipflow.localhost>",
        status="sent",
        next_attempt_at=now,
        created_at=now,
    )
    world.session.add(row)
    world.session.commit()
    FileTransport(current_app.config["OUTBOX_DIR"]).send(
        outbox_id=row.id, sender="sip@sipflow.localhost", recipient=row.recipient, message=text, now=now
    )
    return f"/dev/outbox/{eml_name(row.id, now)}"


def _case_mail(status: int):
    """A message about a case: for whoever sees the case (and national administrators; the matrix's
    administrator is a region's, who sees no more than other staff); 404 for everyone else."""

    def expect(relation: Relation, _world: World):
        if relation.user is None:
            return LOGIN
        return status if relation.sees_case else DENY_404

    return expect


def _raw_mail(relation: Relation, _world: World):
    """A message's raw text (its links unmasked): national administrators (not the matrix's region one);
    staff who see its case but are not its recipient (matris@example.se, no user's address) are refused;
    404 for everyone else."""
    if relation.user is None:
        return LOGIN
    return 403 if relation.sees_case else DENY_404


# The development pages (absent in production): the list for any logged-in user (it shows only their own
# messages, tests/notifications/test_dev_pages.py), one message for those who see its case, its raw text
# (every link in it unmasked) for national administrators and the mail's own recipient.
ROUTES |= {
    ("dev.outbox", "GET"): Route(lambda w: "/dev/outbox", _logged_in(200)),
    ("dev.message", "GET"): Route(_dev_message, _case_mail(200), needs_case=True),
    ("dev.raw", "GET"): Route(lambda w: _dev_message(w) + "/raw", _raw_mail, needs_case=True),
}


def _meeting(world: World) -> tuple[int, int]:
    """A planned meeting on the world's case with one invitation (made once per cell); their ids."""
    from sipflow.meetings.models import Invitation, Meeting

    session = world.session
    found = session.exec(select(Meeting).where(Meeting.case_id == world.case.id)).first()
    if found is None:
        start = now_utc() + timedelta(days=7)
        found = Meeting(
            case_id=world.case.id, mode="video", starts_at=start, ends_at=start + timedelta(hours=1)
        )
        session.add(found)
        session.flush()
        participant = session.exec(select(Participant).where(Participant.case_id == world.case.id)).first()
        session.add(
            Invitation(
                meeting_id=found.id, participant_id=participant.id, email="a@example.se", invited_at=now_utc()
            )
        )
        session.commit()
    invitation = session.exec(select(Invitation).where(Invitation.meeting_id == found.id)).first()
    return found.id, invitation.id


def _meeting_url(world: World, tail: str = "") -> str:
    meeting_id, _invitation_id = _meeting(world)
    return f"/cases/{world.case.uid}/meetings/{meeting_id}{tail}"


def _answer_url(world: World) -> str:
    from flask import current_app

    from sipflow.meetings.models import Invitation, Meeting
    from sipflow.meetings.tokens import make_answer_token

    meeting_id, invitation_id = _meeting(world)
    invitation = world.session.get(Invitation, invitation_id)
    meeting = world.session.get(Meeting, meeting_id)
    token = make_answer_token(
        current_app.config["SECRET_KEY"], invitation.id, invitation.token_nonce, meeting.ends_at
    )
    return f"/answer/{token}"


def _feed_url(world: World) -> str:
    from sipflow.meetings.feed import feed_token, renew_feed_key

    user = world.users["region_user"]
    renew_feed_key(world.session, user)
    world.session.commit()
    return f"/calendar/{feed_token(user)}.ics"


def _manager_route(status: int):
    """Meeting changes: only the organisations that may send the kallelse, while the SIP runs; once it has
    ended they are told so (409, with what was typed), anyone else refused."""

    def expect(relation: Relation, world: World):
        if relation.user is None:
            return LOGIN
        if not relation.sees_case:
            return DENY_404
        if relation.user != "region_user":
            return DENY_403
        return 409 if _final(world) else status

    return expect


def _plan_writer_route(status: int):
    """A change of the plan: only its writers (the initiator here) while the SIP runs; once it has ended a
    writer is told so (409, with what was typed), anyone else refused."""

    def expect(relation: Relation, world: World):
        if relation.user is None:
            return LOGIN
        if not relation.sees_case:
            return DENY_404
        if relation.user != "region_user":
            return DENY_403
        return 409 if _final(world) else status

    return expect


def _anyone(status: int):
    def expect(_relation: Relation, _world: World):
        return status

    return expect


def _booking_expect(world: World) -> int:
    """Booking needs the kallelse step, which none of the matrix's states has: before consent the initiator
    (the only one who sees a requested SIP) may book once steps are taken (409, naming the step); in a
    consented SIP a participant's part may not book (403), and a withdrawn SIP has ended, which its
    initiator is told (409, with what was typed)."""
    return 409 if world.case.state == "requested" or _final(world) else 403


# Meetings: booking needs the kallelse step (_booking_expect), changes need the initiator.
ROUTES |= {
    ("meetings.book", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/meetings/new", _case_route(_booking_expect), needs_case=True
    ),
    ("meetings.book", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/meetings/new",
        _case_route(_booking_expect),
        data=lambda w: {},
        needs_case=True,
    ),
    ("meetings.detail", "GET"): Route(_meeting_url, _case_route(lambda w: 200), needs_case=True),
    # The meeting outcome: no state of the matrix has a step with its form, so there is no page to show
    # (404) and a post is refused as not possible now (409), for whoever sees the case.
    ("meetings.outcome", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/meetings/outcome", _case_route(lambda w: 404), needs_case=True
    ),
    ("meetings.outcome", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/meetings/outcome",
        _case_route(lambda w: 409),
        data=lambda w: {},
        needs_case=True,
    ),
    ("meetings.change", "POST"): Route(
        lambda w: _meeting_url(w, "/change"), _manager_route(400), data=lambda w: {}, needs_case=True
    ),
    ("meetings.cancel", "POST"): Route(
        # version: the SEQUENCE the page showed (a new meeting's is 0).
        lambda w: _meeting_url(w, "/cancel"),
        _manager_route(303),
        data=lambda w: {"version": "0"},
        needs_case=True,
    ),
    ("meetings.invite", "POST"): Route(
        lambda w: _meeting_url(w, "/invite"), _manager_route(400), data=lambda w: {}, needs_case=True
    ),
    ("meetings.withdraw", "POST"): Route(
        lambda w: _meeting_url(w, f"/invitations/{_meeting(w)[1]}/withdraw"),
        _manager_route(303),
        data=lambda w: {"version": "0"},
        needs_case=True,
    ),
    # Recording an invitee's answer: an empty form is refused at its fields (400), for the managers only.
    ("meetings.record_answer", "POST"): Route(
        lambda w: _meeting_url(w, f"/invitations/{_meeting(w)[1]}/answer"),
        _manager_route(400),
        data=lambda w: {},
        needs_case=True,
    ),
    # Correcting the utskrivningsklar time: the matrix's SIP is of a kind without it, so no such page for
    # anyone (who may correct one that has it: tests/cases/test_correct_utskrivningsklar.py).
    ("cases.correct_utskrivningsklar", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/utskrivningsklar", _case_route(lambda w: 404), needs_case=True
    ),
    ("cases.correct_utskrivningsklar", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/utskrivningsklar",
        _case_route(lambda w: 404),
        data=lambda w: {"reason": "Fel dag", "version": str(w.case.version)},
        needs_case=True,
    ),
    # Removing a participant (the municipality's unit): only the initiator or the huvudansvarig party; its
    # page refuses the others the same way, before any form.
    ("cases.remove_participant", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/{_municipality_row(w)}/remove",
        _leading_party_route(200),
        needs_case=True,
    ),
    ("cases.remove_participant", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/{_municipality_row(w)}/remove",
        _leading_party_route(303),
        data=_remove_data,
        needs_case=True,
    ),
    # Naming the municipality unit's contact person: only staff of the municipality, on an open SIP; its page
    # refuses the others the same way, before any form.
    ("cases.contact_person", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/{_municipality_row(w)}/contact-person",
        _own_organisation_route(200),
        needs_case=True,
    ),
    ("cases.contact_person", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/{_municipality_row(w)}/contact-person",
        _own_organisation_route(303),
        data=lambda w: {
            "version": str(w.case.version),
            "contact_user_id": str(w.users["municipality_user"].id),
        },
        needs_case=True,
    ),
    ("cases.set_contact", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/participants/contact",
        _case_route(lambda w: 409 if _final(w) else 400),
        data=lambda w: {},
        needs_case=True,
    ),
    # Without an account: the answer link and posted calendar replies; the link or the body decides.
    ("answers.answer", "GET"): Route(_answer_url, _anyone(200), needs_case=True),
    ("answers.answer", "POST"): Route(_answer_url, _anyone(400), data=lambda w: {}, needs_case=True),
    # Off unless SIPFLOW_ITIP_REPLY_SECRET is set (the mail server's secret; see test_itip_security.py).
    ("answers.itip_reply", "POST"): Route(lambda w: "/itip/reply", _anyone(404), data=lambda w: {}),
    ("calendar.feed", "GET"): Route(_feed_url, _anyone(200)),
    ("calendar.settings", "GET"): Route(lambda w: "/account/calendar", _staff_route(200)),
    ("calendar.renew", "POST"): Route(
        lambda w: "/account/calendar/renew", _staff_route(303), data=lambda w: {}
    ),
}


def _personal_link(world: World) -> str:
    """A personal link to the world's person (made once per cell); its token."""
    from flask import current_app

    from sipflow.plans.models import PersonalLink
    from sipflow.plans.personal_links import make_token

    session = world.session
    link = session.exec(select(PersonalLink).where(PersonalLink.case_id == world.case.id)).first()
    if link is None:
        person_row = session.exec(
            select(Participant).where(Participant.case_id == world.case.id, Participant.kind == "person")
        ).one()
        link = PersonalLink(
            person_id=world.case.person_id,
            case_id=world.case.id,
            participant_id=person_row.id,
            created_at=now_utc(),
            expires_at=now_utc() + timedelta(days=30),
        )
        session.add(link)
        session.commit()
    return make_token(current_app.config["SECRET_KEY"], link)


def _link_id(world: World) -> int:
    from sipflow.plans.models import PersonalLink

    _personal_link(world)
    return world.session.exec(select(PersonalLink.id).where(PersonalLink.case_id == world.case.id)).one()


# The person's view, approvals and personal links: staff who see the case; the link itself decides the rest.
ROUTES |= {
    ("plans.person_staff", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/person", _case_route(lambda w: 200), needs_case=True
    ),
    ("plans.approvals_page", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/approvals", _case_route(lambda w: 200), needs_case=True
    ),
    ("plans.approvals_page", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/approvals",
        _case_route(lambda w: 400),
        data=lambda w: {},
        needs_case=True,
    ),
    ("plans.links_page", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/links", _case_route(lambda w: 200), needs_case=True
    ),
    ("plans.links_page", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/links",
        _case_route(lambda w: 400),
        data=lambda w: {},
        needs_case=True,
    ),
    ("plans.revoke_link", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/links/{_link_id(w)}/revoke",
        _case_route(lambda w: 303),
        data=lambda w: {},
        needs_case=True,
    ),
    ("plans.my_plan", "GET"): Route(lambda w: f"/my-plan/{_personal_link(w)}", _anyone(200), needs_case=True),
    ("plans.my_plan_approve", "POST"): Route(
        lambda w: f"/my-plan/{_personal_link(w)}/approve", _anyone(400), data=lambda w: {}, needs_case=True
    ),
}


def _link_pdf_url(world: World, tail: str) -> str:
    """The newest version's PDF through the person's link (the two versions frozen on first use)."""
    from sipflow.plans.models import PlanVersion

    _plan_version_url(world)
    newest = world.session.exec(
        select(PlanVersion.id).where(PlanVersion.case_id == world.case.id).order_by(PlanVersion.number.desc())
    ).first()
    return f"/my-plan/{_personal_link(world)}/versions/{newest}/{tail}"


def _link_pdf_expect(_relation: Relation, world: World) -> int:
    # The link decides, not a login: its page shows the SIP while it runs, not once consent is withdrawn
    # (back to the page, 303).
    return 303 if world.case.state == "withdrawn" else 200


# The PDFs of the version a personal link's page shows.
ROUTES |= {
    ("plans.my_plan_pdf", "GET"): Route(
        lambda w: _link_pdf_url(w, "pdf"), _link_pdf_expect, needs_case=True, versions=True
    ),
    ("plans.my_plan_pdf_large", "GET"): Route(
        lambda w: _link_pdf_url(w, "pdf/large"), _link_pdf_expect, needs_case=True, versions=True
    ),
}


def _plan_version_url(world: World, tail: str = "") -> str:
    """The case's plan versions (two frozen on first use, whatever its state), with tail after the list."""
    from sipflow.plans.models import PlanVersion
    from sipflow.plans.versions import freeze_version

    session = world.session
    if session.exec(select(PlanVersion.id).where(PlanVersion.case_id == world.case.id)).first() is None:
        for _ in range(2):
            freeze_version(
                session, world.case, trigger="establish_plan", actor=world.users["region_user"], now=now_utc()
            )
        session.commit()
    return f"/cases/{world.case.uid}/plan/versions{tail}"


# Plan versions: read by whoever sees the case, in every state.
ROUTES |= {
    (endpoint, "GET"): Route(
        lambda w, tail=tail: _plan_version_url(w, tail),
        _case_route(lambda w: 200),
        needs_case=True,
        versions=True,
    )
    for endpoint, tail in (
        ("plans.versions", ""),
        ("plans.version", "/1"),
        ("plans.version_pdf_download", "/1/pdf"),
        ("plans.version_pdf_large", "/1/pdf/large"),
        ("plans.compare", "/1/compare/2"),
    )
}


# The plan: everyone who sees the case reads it; the parties of the plan step (the initiator here) write it
# while the SIP runs (once it ended, 409 to them). An empty form is incomplete (400); none of the matrix's
# states can establish (409).
ROUTES |= {
    ("plans.editor", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/plan", _case_route(lambda w: 200), needs_case=True
    ),
    ("plans.save", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan", _plan_writer_route(400), data=lambda w: {}, needs_case=True
    ),
    ("plans.hand_over", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/huvudansvar",
        _plan_writer_route(400),
        data=lambda w: {},
        needs_case=True,
    ),
    ("plans.establish", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/plan/establish",
        _plan_writer_route(409),
        data=lambda w: {},
        needs_case=True,
    ),
}


# KVÅ coding (issue 12): the catalogue for administrators; the correction for the organisations in the SIP
# (a post without a reason is refused at the field). The matrix's administrator is a region's (their unit is
# the region's): the catalogue is a national administrator's, so its changes are refused (403); a file not
# sent is refused first (400); an assignment naming no unit nor type is refused at the form (303).
ROUTES |= {
    ("coding.codes", "GET"): Route(lambda w: "/admin/codes", _admin_only(200)),
    ("coding.add_code", "POST"): Route(lambda w: "/admin/codes", _admin_only(403), data=lambda w: {}),
    ("coding.upload_codes", "POST"): Route(
        lambda w: "/admin/codes/upload", _admin_only(400), data=lambda w: {}
    ),
    ("coding.retire_code", "POST"): Route(
        lambda w: "/admin/codes/QQ999/retire", _admin_only(403), data=lambda w: {}
    ),
    ("coding.unretire_code", "POST"): Route(
        lambda w: "/admin/codes/QQ999/unretire", _admin_only(403), data=lambda w: {}
    ),
    ("coding.assignments", "GET"): Route(lambda w: "/admin/codes/assignments", _admin_only(200)),
    ("coding.set_assignment", "POST"): Route(
        lambda w: "/admin/codes/assignments", _admin_only(303), data=lambda w: {}
    ),
    ("consent.further", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/consent/further",
        _leading_party_route(200, before_consent=409),
        needs_case=True,
    ),
    ("consent.further", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/consent/further",
        _leading_party_route(400, before_consent=409),
        data=lambda w: {},
        needs_case=True,
    ),
    # A consent withdrawn for one organisation: the same parties and SIPs as a further consent.
    ("consent.withdraw_organisation", "GET"): Route(
        lambda w: f"/cases/{w.case.uid}/consent/withdraw-organisation",
        _leading_party_route(200, before_consent=409),
        needs_case=True,
    ),
    ("consent.withdraw_organisation", "POST"): Route(
        lambda w: f"/cases/{w.case.uid}/consent/withdraw-organisation",
        _leading_party_route(400, before_consent=409),
        data=lambda w: {},
        needs_case=True,
    ),
    ("coding.correct", "GET"): Route(
        lambda w: _meeting_url(w, "/codes/correct"), _case_route(lambda w: 200), needs_case=True
    ),
    ("coding.correct", "POST"): Route(
        lambda w: _meeting_url(w, "/codes/correct"),
        _case_route(lambda w: 400),
        data=lambda w: {},
        needs_case=True,
    ),
    # The world's meeting has no reversed codes: nothing to record again (409), for whoever may try.
    ("coding.rerecord", "POST"): Route(
        lambda w: _meeting_url(w, "/codes/record"),
        _case_route(lambda w: 409),
        data=lambda w: {},
        needs_case=True,
    ),
}


# A set-password link needs no login: the token is the key; one sipflow never issued opens nothing.
ROUTES |= {
    ("auth.set_password", "GET"): Route(lambda w: f"/set-password/{'A' * 43}", _anyone(404)),
    ("auth.set_password", "POST"): Route(
        lambda w: f"/set-password/{'A' * 43}", _anyone(404), data=lambda w: {}
    ),
}

# Open to anyone, logged in or not; each answers an anonymous GET (or the login form's POST) itself.
PUBLIC: dict[tuple[str, str], str] = {
    ("auth.login", "GET"): "/login",
    ("auth.login", "POST"): "/login",
    ("healthz", "GET"): "/healthz",
    ("static", "GET"): "/static/style.css",
}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_rule(app):
    routes = app_routes(app)
    missing = sorted(routes - set(ROUTES) - set(PUBLIC))
    assert not missing, f"routes without an access rule in this matrix: {missing}"
    stale = sorted((set(ROUTES) | set(PUBLIC)) - routes)
    assert not stale, f"rules for routes the app no longer has: {stale}"


@pytest.mark.parametrize(("endpoint", "method"), sorted(PUBLIC), ids=lambda v: v)
def test_public_routes_answer_without_login(client, endpoint, method):
    url = PUBLIC[(endpoint, method)]
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_token(text_of(client.get("/login")))
        response = client.post(url, data={"csrf_token": token, "username": "nobody", "password": "x"})
    assert response.status_code == 200, (url, response.status_code)


# --- The matrix --------------------------------------------------------------------------------------------

CELLS = [
    pytest.param(endpoint, method, relation, id=f"{endpoint}:{method}:{relation}")
    for (endpoint, method) in ROUTES
    for relation in RELATIONS
]


def _log_in(client, relation: Relation, visits: dict[str, Visit], cookie_name: str) -> str:
    """Be the relation's user, logged in (or stay anonymous); return a CSRF token of the session."""
    if relation.user is None:
        return csrf_token(text_of(client.get("/login")))
    visit = visits[relation.user]
    client.set_cookie(cookie_name, visit.cookie)
    return visit.token


def _is_login_redirect(response) -> bool:
    """Sent to the login page: a redirect, or (a form sent without a session) the login page itself, which
    shows back what was typed (security.send_to_login)."""
    if response.status_code == 200 and response.mimetype == "text/html":
        return 'action="/login' in response.get_data(as_text=True) and "/logout" not in response.get_data(
            as_text=True
        )
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def _request(client, route: Route, world: World, token: str, method: str):
    url = route.url(world)
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, **(route.data(world) if route.data else {})})


@pytest.mark.parametrize(("endpoint", "method", "relation_name"), CELLS)
def test_access_matrix(client, db_session, registry, app, endpoint, method, relation_name):
    route, relation = ROUTES[(endpoint, method)], RELATIONS[relation_name]
    world, visits = world_for(
        db_session, registry, app, relation.case_kind if route.needs_case else None, versions=route.versions
    )
    token = _log_in(client, relation, visits, app.config["SESSION_COOKIE_NAME"])
    expected = route.expect(relation, world)
    response = _request(client, route, world, token, method)
    status = response.status_code
    if expected == LOGIN:
        assert _is_login_redirect(response), (status, response.headers.get("Location"))
    elif expected == ALLOW:
        assert status not in (401, 403, 404, 405) and not _is_login_redirect(response), status
    else:
        assert status == expected, (status, text_of(response)[:2000])
        if status in (200, 303, 302):
            assert not _is_login_redirect(response)
    if endpoint == "auth.logout":
        assert _is_login_redirect(client.get("/"))
    if endpoint == "cases.my_cases" and relation.user is not None:
        html = text_of(response)
        # The list and the case page answer to one rule.
        assert (world.case.reference in html) == relation.sees_case
        if not relation.staff_with_unit:
            assert NO_ACCESS_TEXT in html
    if endpoint.startswith("todo.") and relation.user is not None and not relation.staff_with_unit:
        # Att göra answers to the same rule as Mina SIP.
        assert NO_ACCESS_TEXT in text_of(response)


# --- Refusals look alike and are logged --------------------------------------------------------------------


def test_a_guessed_uid_and_another_organisations_case_get_the_same_404(client, db_session, registry, app):
    world = world_for(db_session, registry, app, "consented")[0]
    outsider = world.users["outsider_user"]
    assert login(client, outsider.username).status_code == 302
    hidden = client.get(f"/cases/{world.case.uid}")
    guessed = client.get(f"/cases/{secrets.token_hex(16)}")
    assert hidden.status_code == guessed.status_code == 404
    assert without_tokens(text_of(hidden)) == without_tokens(text_of(guessed))
    assert world.case.reference not in text_of(hidden)
    token = csrf_token(text_of(hidden))
    for method, url in (
        ("POST", f"/cases/{world.case.uid}/transitions/start_preparation"),
        ("POST", f"/cases/{world.case.uid}/participants/unit"),
        ("POST", f"/cases/{secrets.token_hex(16)}/participants/private"),
        ("GET", f"/cases/{'x' * 300}"),
    ):
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 404, url

    db_session.expire_all()
    # The outsider's rows: everything after the world's start of the SIP.
    rows = db_session.exec(
        select(AccessLogEntry).where(AccessLogEntry.action != audit.CASE_CREATE).order_by(AccessLogEntry.seq)
    ).all()
    assert [r.action for r in rows] == [audit.ACCESS_DENIED] * 6
    assert {r.outcome for r in rows} == {audit.DENIED}
    assert {r.user_id for r in rows} == {outsider.id}
    assert {r.organisation_id for r in rows} == {world.units["outsider"].organisation_id}
    # The case is named when it exists, and nothing else about it; a guessed uid names nothing.
    assert [r.case_id for r in rows] == [world.case.id, None, world.case.id, world.case.id, None, None]
    assert {r.person_id for r in rows} == {None}


def test_a_coordinator_and_an_administrator_get_404_on_a_case_and_a_page_at_home(
    client, db_session, registry, app
):
    world = world_for(db_session, registry, app, "requested")[0]
    for who, text in (
        ("coordinator_user", "Som samordnare följer du SIP-arbetet i siffror"),
        ("admin_user", "Som administratör hanterar du organisationer"),
    ):
        assert login(client, world.users[who].username).status_code == 302
        home = client.get("/")
        assert home.status_code == 200 and NO_ACCESS_TEXT in text_of(home) and text in text_of(home)
        assert world.case.reference not in text_of(home)
        assert client.get(f"/cases/{world.case.uid}").status_code == 404
        new = client.get("/cases/new")
        assert new.status_code == 403 and "Åtkomst nekad" in text_of(new)
        client.post("/logout", data={"csrf_token": csrf_token(text_of(home))})


def test_withdrawal_takes_access_away_at_once(client, db_session, registry, app):
    world = world_for(db_session, registry, app, "consented")[0]
    assert login(client, world.users["municipality_user"].username).status_code == 302
    assert client.get(f"/cases/{world.case.uid}").status_code == 200
    region_user = world.users["region_user"]
    support.fire(db_session, registry, region_user, world.case, "withdraw_consent", now=now_utc())
    assert client.get(f"/cases/{world.case.uid}").status_code == 404
    assert world.case.reference not in text_of(client.get("/"))


# --- The rule itself: the SQL clause against a plain statement of it ----------------------------------------

# 23:30 UTC is already the next day in Stockholm: validity is counted in local days.
EDGE_NOW = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
LOCAL_TODAY = to_local(EDGE_NOW).date()

consents = st.lists(
    st.tuples(
        st.sampled_from(["given", "declined"]),
        st.booleans(),  # withdrawn
        st.sampled_from([None, -1, 0, 1]),  # valid_until, days from the local today
        st.sets(st.sampled_from(["a", "b", "c"])),  # organisations covered
    ),
    max_size=3,
)


def expected_visibility(roles, user_org, initiator, participants, consent_rows) -> bool:
    """The rule in plain words: staff of a unit; the initiator always; others when taking part and covered."""
    if "staff" not in roles.split(",") or user_org is None:
        return False
    if user_org == initiator:
        return True
    takes_part = any(org == user_org and not removed for org, removed in participants)
    covered = any(
        decision == "given" and not withdrawn and (days is None or days >= 0) and user_org in orgs
        for decision, withdrawn, days, orgs in consent_rows
    )
    return takes_part and covered


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    roles=st.sampled_from(["staff", "coordinator", "admin", "staff,admin", "coordinator,admin"]),
    user_org=st.sampled_from(["a", "b", "c", None]),
    participants=st.lists(st.tuples(st.sampled_from(["b", "c"]), st.booleans()), max_size=3),
    consent_rows=consents,
)
# The edges, always tried: a consent that ended yesterday in Stockholm (still "today" in UTC), one that ends
# today, a withdrawn one, one not naming the organisation, and a removed participant.
@example(roles="staff", user_org="b", participants=[("b", False)], consent_rows=[("given", False, -1, {"b"})])
@example(roles="staff", user_org="b", participants=[("b", False)], consent_rows=[("given", False, 0, {"b"})])
@example(
    roles="staff", user_org="b", participants=[("b", False)], consent_rows=[("given", True, None, {"b"})]
)
@example(roles="staff", user_org="c", participants=[("c", False)], consent_rows=[("given", False, 1, {"b"})])
@example(
    roles="staff", user_org="b", participants=[("b", True)], consent_rows=[("given", False, None, {"b"})]
)
@example(roles="admin", user_org="a", participants=[], consent_rows=[])
def test_the_sql_rule_matches_its_statement(
    db_session, registry, app, roles, user_org, participants, consent_rows
):
    world_units = {
        key: _org_unit(db_session, f"p{key}", "region" if key == "a" else "municipality", f"Org {key}")
        for key in "abc"
    }
    org_id = {key: unit.organisation_id for key, unit in world_units.items()}
    initiator = _user(db_session, "init", world_units["a"], "staff")
    user = _user(db_session, "u", world_units[user_org] if user_org else None, roles)
    person = _person(db_session, app.config["PNR_HASH_KEY"], EDGE_NOW)
    case = SipCase(
        reference=f"SIP-T-{secrets.token_hex(4)}",
        workflow_name="sip",
        workflow_version=1,
        state="consent_given",
        occasion="other_need",
        person_id=person.id,
        initiating_organisation_id=org_id["a"],
        created_by_user_id=initiator.id,
        requested_at=EDGE_NOW,
        created_at=EDGE_NOW,
        updated_at=EDGE_NOW,
        municipality_code=person.home_municipality_code,
    )
    db_session.add(case)
    db_session.flush()
    for org, removed in participants:
        db_session.add(
            Participant(
                case_id=case.id,
                kind="organisation",
                organisation_id=org_id[org],
                added_at=EDGE_NOW,
                removed_at=EDGE_NOW if removed else None,
            )
        )
    for decision, withdrawn, days, orgs in consent_rows:
        consent = Consent(
            case_id=case.id,
            decision=decision,
            given_by="person",
            form="oral",
            valid_until=None if days is None else LOCAL_TODAY + timedelta(days=days),
            recorded_at=EDGE_NOW,
            recorded_by_user_id=initiator.id,
            withdrawn_at=EDGE_NOW if withdrawn else None,
        )
        db_session.add(consent)
        db_session.flush()
        for org in orgs:
            db_session.add(ConsentOrganisation(consent_id=consent.id, organisation_id=org_id[org]))
    db_session.flush()
    try:
        expected = expected_visibility(roles, user_org, "a", participants, consent_rows)
        assert access.can_view_case(db_session, user, case, now=EDGE_NOW) == expected
        listed = db_session.exec(
            select(SipCase.id).where(access.visible_cases_clause(user, now=EDGE_NOW))
        ).all()
        assert (case.id in listed) == expected
        found = access.case_for_user(db_session, user, case.uid, now=EDGE_NOW)
        assert (found is not None) == expected
        # Who sees the case, asked on its own, by a step's first read and by a page's participants' read:
        # what a kallelse, a decision, an approval or huvudansvar goes to, by the same rule.
        seeing = {
            org_id[org]
            for org in "bc"
            if expected_visibility("staff", org, "a", participants, consent_rows)
            and any(o == org for o, _ in participants)
        }
        assert access.organisations_seeing_case(db_session, case, now=EDGE_NOW) == seeing
        ctx = TransitionContext(session=db_session, case=case, actor=None, now=EDGE_NOW)
        assert step_seeing(ctx) == seeing
        reads = participant_rows(db_session, case, step_now=EDGE_NOW)[1]
        assert reads.seeing == seeing
        # The case page asks whether the user may change the person with what its read found covered.
        assert access.may_change_person(
            db_session, user, person, now=EDGE_NOW, covered_in=reads.covered
        ) == access.may_change_person(db_session, user, person, now=EDGE_NOW)
        # A mail gives the case page's address to the user's address by the same rule.
        user.email = f"{user.username}@Matris.example.se"
        db_session.flush()
        mailed = access.addresses_seeing_case(db_session, case, [user.email], now=EDGE_NOW)
        assert mailed == ({user.email.lower()} if expected else set())
    finally:
        db_session.rollback()


# --- The region boundary of the directory ------------------------------------------------------------------

# Every administration request that changes an organisation or a unit, and what it sends: a county's
# administrator (07) sends each at the rows of another county (08) and changes nothing, a national one (no
# unit) sends the same and changes something (so the data is fit and the refusal is the boundary's).
REGION_BOUNDED: dict[tuple[str, str], tuple[Callable, Callable]] = {
    ("admin.organisation_new", "POST"): (
        lambda f: "/admin/organisations/new",
        lambda f: {"key": "ny-08", "name": "Ny", "kind": "region", "county_code": "08"},
    ),
    ("admin.organisation_edit", "POST"): (
        lambda f: f"/admin/organisations/{f['org'].id}/edit",
        lambda f: {
            "name": "Omdöpt",
            "kind": "region",
            "county_code": "08",
            "version": str(f["org"].row_version),
        },
    ),
    ("admin.organisation_deactivate", "POST"): (
        lambda f: f"/admin/organisations/{f['org'].id}/deactivate",
        lambda f: {},
    ),
    ("admin.organisation_activate", "POST"): (
        lambda f: f"/admin/organisations/{f['inactive_org'].id}/activate",
        lambda f: {},
    ),
    ("admin.unit_new", "POST"): (
        lambda f: "/admin/units/new",
        lambda f: {"organisation_id": str(f["org"].id), "key": "ny-enhet-08", "name": "Ny", "kind": "other"},
    ),
    ("admin.unit_edit", "POST"): (
        lambda f: f"/admin/units/{f['unit'].id}/edit",
        lambda f: {"name": "Omdöpt", "kind": "other", "version": str(f["unit"].row_version)},
    ),
    ("admin.unit_deactivate", "POST"): (lambda f: f"/admin/units/{f['unit'].id}/deactivate", lambda f: {}),
    ("admin.unit_activate", "POST"): (
        lambda f: f"/admin/units/{f['inactive_unit'].id}/activate",
        lambda f: {},
    ),
    ("admin.directory_import", "POST"): (
        lambda f: "/admin/import",
        lambda f: {
            "apply": "1",
            "file": (
                io.BytesIO(
                    "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;"
                    f"scope\norganisation;{f['org'].key};Omdöpt;region;;;08;;;;;;\n".encode()
                ),
                "katalog.csv",
            ),
        },
    ),
}


def test_every_directory_change_is_in_the_region_boundary_list(app):
    directory = {
        (rule.endpoint, "POST")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "POST" in rule.methods
        and (
            {"organisation_id", "unit_id"} & set(rule.arguments)
            or "/organisations" in rule.rule
            or "/units" in rule.rule
            or "/import" in rule.rule
        )
    }
    assert directory == set(REGION_BOUNDED)


def _foreign_directory(session: Session) -> dict:
    """County 08's organisation with an active and an inactive unit, and an inactive organisation."""
    org = Organisation(key="region-08", name="Region Kalmar län", kind="region", county_code="08")
    inactive_org = Organisation(
        key="kommun-0880",
        name="Kalmar kommun",
        kind="municipality",
        county_code="08",
        municipality_code="0880",
        active=False,
    )
    session.add_all([org, inactive_org])
    session.flush()
    unit = Unit(key="region-08-vc", organisation_id=org.id, name="VC Kalmar")
    inactive_unit = Unit(key="region-08-bup", organisation_id=org.id, name="BUP Kalmar", active=False)
    session.add_all([unit, inactive_unit])
    session.commit()
    return {"org": org, "inactive_org": inactive_org, "unit": unit, "inactive_unit": inactive_unit}


@pytest.mark.parametrize("national", [False, True], ids=["county-07", "national"])
@pytest.mark.parametrize(("endpoint", "method"), sorted(REGION_BOUNDED), ids=lambda v: v)
def test_a_countys_administrator_changes_no_other_countys_directory(
    client, db_session, endpoint, method, national
):
    foreign = _foreign_directory(db_session)
    home = support.new_unit(db_session, "region", "Region Kronoberg")  # county 07
    admin = _user(db_session, "admin", None if national else home, "admin")
    db_session.commit()
    assert login(client, admin.username).status_code == 302
    url, data = REGION_BOUNDED[(endpoint, method)]
    token = csrf_token(text_of(client.get("/admin/organisations")))
    response = client.post(url(foreign), data={"csrf_token": token, **data(foreign)})
    assert response.status_code not in (401, 404, 405) and not _is_login_redirect(response)
    db_session.expire_all()
    logged = db_session.exec(select(AdminChange)).all()
    if national:
        assert logged, (response.status_code, text_of(response)[:2000])
    else:
        assert logged == [] and response.status_code in (302, 400, 403)
