"""Ids of another SIP the user also sees, in every form and address of one SIP's pages.

The fuzzer of test_hostile_forms plants a few ids of any kind at random. Here two SIPs of the same
organisation (the initiator sees both) are brought to the same state, and every id of a row of the first
that a form field or an address on its pages carries (participant, meeting, invitation, plan version,
personal link) is replaced, one at a time, by each id of the same kind of the second. Then the fields that
name a row without carrying one on the page (a select nothing chose, an id in a field's name, a form the
page does not show) get the second SIP's rows, and every organisation, unit and user.

A swapped id must be refused (4xx) with nothing written and nothing mailed (the outbox is a table). No
request may answer 500 (the test client raises), tie the two SIPs together (crossed_references) or show
the second SIP's reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hostilekit import Pristine, WriteWatch, crossed_references, read_page
from sqlmodel import select
from test_hostile_forms import _book, _fire, _ready_for_kallelse
from webkit import error_summary_of, login
from werkzeug.datastructures import MultiDict

from sipflow.cases.models import Participant
from sipflow.meetings.models import Invitation, Meeting
from sipflow.people.models import Organisation, Unit, User
from sipflow.plans.models import PersonalLink, PlanVersion

STATES = {
    "requested": None,
    "preparing": [],
    "invited": ["book"],
    "meeting_held": ["book", "hold_meeting"],
    "plan_established": ["book", "hold_meeting", "establish_plan"],
}
START = [
    "",
    "/plan",
    "/plan/approvals",
    "/plan/links",
    "/consent/further",
    "/consent/withdraw-organisation",
    "/meetings/outcome",
    "/meetings/new",
]
MAX_PAGES = 40


def _rows_of(session, case) -> dict[str, set[int]]:
    """The ids of case's rows an address or a form may carry, by kind."""
    meetings = set(session.exec(select(Meeting.id).where(Meeting.case_id == case.id)).all())
    return {
        "participant": set(session.exec(select(Participant.id).where(Participant.case_id == case.id)).all()),
        "meeting": meetings,
        "invitation": set(
            session.exec(select(Invitation.id).where(Invitation.meeting_id.in_(meetings))).all()
        ),
        "version": set(session.exec(select(PlanVersion.id).where(PlanVersion.case_id == case.id)).all()),
        "link": set(session.exec(select(PersonalLink.id).where(PersonalLink.case_id == case.id)).all()),
    }


def _build(session, registry, parties, create_case, client, steps) -> list:
    """Two SIPs of the region's, in the same state, each with a personal link once its plan is established."""
    cases = []
    for _ in range(2):
        case = create_case()
        if steps is not None:
            _ready_for_kallelse(session, registry, parties, case)
            for step in steps:
                if step == "book":
                    _book(session, registry, parties, case)
                else:
                    _fire(session, registry, parties.region_user, case, step)
        cases.append(case)
    login(client, parties.region_user.username)
    for case in cases:
        url = f"/cases/{case.uid}/plan/links"
        for form in read_page(url, client.get(url).get_data(as_text=True)).forms:
            if any(name == "link-participant_id" for name, _ in form.pairs):
                # No recipient is chosen ahead: the first one listed.
                first = next(value for value in form.fields["link-participant_id"].options if value)
                pairs = [(n, first if n == "link-participant_id" else v) for n, v in form.pairs]
                assert client.post(form.action, data=MultiDict(pairs)).status_code == 303
    return cases


def _crawl(client, case) -> list:
    """The pages of case the user reaches from its page and the pages with forms, at most MAX_PAGES."""
    queue, seen, pages = [f"/cases/{case.uid}{tail}" for tail in START], set(), []
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            continue
        page = read_page(url, response.get_data(as_text=True))
        pages.append((url, page))
        queue += [link for link in page.links if link.startswith(f"/cases/{case.uid}") and "pdf" not in link]
    return pages


# The kind of row an address segment (by the word before it) or a field (by its name) names.
# (A plan version's address holds its number within the SIP, not a row id.)
SEGMENT_KINDS = {
    "participants": "participant",
    "meetings": "meeting",
    "invitations": "invitation",
    "links": "link",
}
FIELD_KINDS = [
    ("participant", "participant"),
    ("invitee", "participant"),
    ("meeting", "meeting"),
    ("version_id", "version"),
    ("link", "link"),
]


class Swaps:
    """The first SIP's ids by kind, and the second's of the same kind for each."""

    def __init__(self, own: dict[str, set[int]], other: dict[str, set[int]]) -> None:
        self.own, self.other = own, other

    def for_value(self, value: int, kind: str | None) -> list[int]:
        """The second SIP's ids of kind (else of every kind value is an id of in the first)."""
        kinds = [kind] if kind else [k for k, ids in self.own.items() if value in ids]
        if value not in set().union(*(self.own[k] for k in kinds)):
            return []
        return sorted(set().union(*(self.other[k] for k in kinds)) - {value})

    @staticmethod
    def field_kind(name: str) -> str | None:
        return next((kind for word, kind in FIELD_KINDS if word in name), None)

    def in_address(self, url: str) -> Iterator[tuple[str, int]]:
        """Each address with one id of the first SIP swapped for one of the second, and that id."""
        for match in re.finditer(r"/(\w+)/(\d+)(?=/|$|\?)", url):
            kind = SEGMENT_KINDS.get(match.group(1))
            for other in self.for_value(int(match.group(2)), kind) if kind else []:
                yield url[: match.start(2)] + str(other) + url[match.end(2) :], other


def _swapped_posts(pages, swaps: Swaps) -> Iterator[tuple[str, str, list]]:
    """Each post form with one id of the first SIP (a field's value or an address segment) swapped."""
    for _url, page in pages:
        for form in page.forms:
            if form.method.upper() != "POST":
                continue
            for index, (name, value) in enumerate(form.pairs):
                # A row version or a version counter is a number, not a row of the SIP.
                kind = Swaps.field_kind(name)
                if re.fullmatch(r"\d+", value) and kind is not None and not name.endswith("last_link"):
                    for other in swaps.for_value(int(value), kind):
                        pairs = list(form.pairs)
                        pairs[index] = (name, str(other))
                        yield form.action, f"{name}={other}", pairs
            for action, other in swaps.in_address(form.action):
                yield action, f"address {other}", list(form.pairs)


def _named_posts(session, case, pages, swaps: Swaps) -> Iterator[tuple[str, str, list]]:
    """The second SIP's rows in fields the page leaves empty, names or does not show."""
    theirs = sorted(swaps.other["participant"])
    token = next(
        value
        for _url, page in pages
        for form in page.forms
        for name, value in form.pairs
        if name.endswith("csrf_token")
    )
    for _url, page in pages:
        for form in page.forms:
            action, pairs = form.action, list(form.pairs)

            def changed(values: dict, extra=(), pairs=pairs) -> list:
                return [(name, values.get(name, value)) for name, value in pairs] + list(extra)

            if action.endswith("/plan/approvals"):
                for version in sorted(swaps.other["version"]):
                    for participant in sorted(swaps.own["participant"]):
                        yield (
                            action,
                            f"version {version}",
                            changed(
                                {
                                    "approval-version_id": str(version),
                                    "approval-participant_id": str(participant),
                                },
                                [("approval-method", "meeting")],
                            ),
                        )
                for participant in theirs:
                    yield (
                        action,
                        f"approver {participant}",
                        changed(
                            {"approval-participant_id": str(participant)}, [("approval-method", "meeting")]
                        ),
                    )
            if action.endswith("/participants/contact"):
                for participant in theirs:
                    yield (
                        action,
                        f"contact of {participant}",
                        changed(
                            {"contact-participant_id": str(participant), "contact-email": "ny@example.se"}
                        ),
                    )
            if action.endswith("/meetings/outcome"):
                for participant in theirs:
                    yield (
                        action,
                        f"attendance of {participant}",
                        changed({}, [(f"attendance_{participant}", "on_site")]),
                    )
                    yield (
                        action,
                        f"decision owner {participant}",
                        changed(
                            {
                                "decisions-0-text": "Hemtjänst",
                                "decisions-0-owner": f"participant:{participant}",
                                "decisions-0-due_on": "2027-03-01",
                            }
                        ),
                    )
            if action.endswith("/codes/record"):
                for participant in theirs:
                    yield action, f"mode of {participant}", changed({}, [(f"mode-{participant}", "on_site")])
            if action.endswith("/meetings/new"):
                yield from (
                    (action, f"invitee {participant}", changed({}, [("invitee_ids", str(participant))]))
                    for participant in theirs
                )
    for meeting_id in sorted(swaps.own["meeting"]):
        sequence = session.get(Meeting, meeting_id).sequence
        base = f"/cases/{case.uid}/meetings/{meeting_id}"
        for participant in theirs:
            yield (
                f"{base}/invite",
                f"invite {participant}",
                [
                    ("invite-csrf_token", token),
                    ("invite-version", str(sequence)),
                    ("invite-invitee_ids", str(participant)),
                ],
            )
        for invitation in sorted(swaps.other["invitation"]):
            prefix = f"answer-{invitation}"
            yield (
                f"{base}/invitations/{invitation}/answer",
                f"answer {invitation}",
                [
                    (f"{prefix}-csrf_token", token),
                    (f"{prefix}-version", str(sequence)),
                    (f"{prefix}-partstat", "ACCEPTED"),
                ],
            )


def _any_posts(session, pages) -> Iterator[tuple[str, str, list]]:
    """Every organisation, unit and user in the fields that choose one: some are the SIP's own and pass."""
    organisations = session.exec(select(Organisation.id)).all()
    units = session.exec(select(Unit.id)).all()
    users = session.exec(select(User.id)).all()
    fields = {
        "handover-organisation_id": organisations,
        "organisation_id": organisations,
        "consent-organisation_ids": organisations,
        "give_consent-organisation_ids": organisations,
        "unit-unit_id": units,
        "contact_user_id": users,
    }
    for _url, page in pages:
        for form in page.forms:
            if form.method.upper() != "POST":
                continue
            names = {name for name, _ in form.pairs} | set(form.fields)
            for name in names & fields.keys():
                for number in fields[name]:
                    pairs = [(n, v) for n, v in form.pairs if n != name] + [(name, str(number))]
                    pairs += [("reason", "Flyttar"), ("handover-reason", "Flyttar"), ("consent-form", "oral")]
                    yield form.action, f"{name}={number}", pairs


@pytest.mark.heavy
@pytest.mark.parametrize("state", list(STATES))
def test_ids_of_another_sip_in_a_sips_forms_and_addresses(
    state, engine, db_session, registry, parties, create_case, client
):
    own, other = _build(db_session, registry, parties, create_case, client, STATES[state])
    swaps = Swaps(_rows_of(db_session, own), _rows_of(db_session, other))
    pages = _crawl(client, own)
    failures: list[str] = []
    # Addresses of the first SIP's pages with the second's ids: not found, and nothing of it shown.
    for url, _page in pages:
        for swapped, _other in swaps.in_address(url):
            response = client.get(swapped)
            if response.status_code not in (400, 403, 404) or other.reference in response.get_data(
                as_text=True
            ):
                failures.append(f"GET {swapped}: {response.status_code}")
    pristine, watch = Pristine(engine), WriteWatch(engine)
    try:
        for refused, posts in (
            (True, _swapped_posts(pages, swaps)),
            (True, _named_posts(db_session, own, pages, swaps)),
            (False, _any_posts(db_session, pages)),
        ):
            for action, change, pairs in posts:
                watch.reset()
                response = client.post(action, data=MultiDict(pairs))
                body = response.get_data(as_text=True)
                pristine.wrote(watch.committed)
                written, _trace = pristine.changed(watch.committed)
                crossed = crossed_references(engine)
                said = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", error_summary_of(body)))[:160]
                where = f"POST {action} ({change}): {response.status_code} {said}"
                if refused and (response.status_code < 400 or written):
                    failures.append(f"{where} accepted, wrote {written}")
                if crossed:
                    failures.append(f"{where} tied the SIPs: {crossed}")
                if other.reference in body:
                    failures.append(f"{where} showed the other SIP")
                pristine.restore()
    finally:
        watch.close()
    assert not failures, "\n".join(failures)
