"""Every help text inside a form is tied to what it explains: a `.help` element in a form is named by an
aria-describedby of that form (a field, a fieldset or a button), so a screen reader says it with the field,
not only to a user reading the page from the top. Ids stay unique where a row list repeats a form or a field.

Pages of the demo (load_demo) as anna and admin see them: the pages tests/test_accessible_names.py visits,
and the form pages whose help texts were tied (Ny SIP, booking, the meeting outcome, the calendar page, the
consent withdrawal).
"""

from __future__ import annotations

from collections import Counter

from sqlmodel import select
from test_accessible_names import ADMIN_LISTS, Node, _meeting_and_links, by_id, demo, parse  # noqa: F401
from webkit import login, text_of

from sipflow.demo import DEMO_PASSWORD
from sipflow.meetings.models import Meeting


def untied_help(root: Node) -> list[str]:
    """The help texts inside a form that no aria-describedby of the form names."""
    untied = []
    for form in root.iter("form"):
        named = {i for node in form.iter() for i in node.attrs.get("aria-describedby", "").split() if i}
        for node in form.iter():
            if "help" in node.attrs.get("class", "").split() and node.attrs.get("id") not in named:
                untied.append(node.text()[:80])
    return untied


def repeated_ids(root: Node) -> dict[str, int]:
    ids = Counter(node.attrs["id"] for node in root.iter() if "id" in node.attrs)
    return {i: n for i, n in ids.items() if n > 1}


def case_urls(session, cases) -> list[str]:
    urls = ["/", "/cases", "/cases/new", "/account/calendar"]
    for case in cases:
        urls += [
            f"/cases/{case.uid}",
            f"/cases/{case.uid}/plan",
            f"/cases/{case.uid}/plan/versions",
            f"/cases/{case.uid}/plan/approvals",
            f"/cases/{case.uid}/plan/links",
            f"/cases/{case.uid}/plan/person",
            f"/cases/{case.uid}/meetings/new",
            f"/cases/{case.uid}/meetings/outcome",
            f"/cases/{case.uid}/consent/withdraw-organisation",
        ]
        for meeting in session.exec(select(Meeting).where(Meeting.case_id == case.id)).all():
            urls.append(f"/cases/{case.uid}/meetings/{meeting.id}")
    return urls


def check(client, urls: list[str]) -> tuple[int, int]:
    """Checks each page the user may open; returns how many forms and help texts in them it saw."""
    forms = helps = 0
    faults = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        root = parse(text_of(response))
        if untied_help(root) or repeated_ids(root):
            faults[url] = (untied_help(root), repeated_ids(root))
        forms += len(list(root.iter("form")))
        helps += sum(
            1 for form in root.iter("form") for n in form.iter() if "help" in n.attrs.get("class", "").split()
        )
    assert faults == {}
    return forms, helps


def test_every_help_text_in_a_form_is_tied_to_what_it_explains(client, demo, db_session):  # noqa: F811
    _meeting_and_links(db_session, demo["mikael"])
    login(client, "anna", DEMO_PASSWORD)
    forms, helps = check(client, case_urls(db_session, demo.values()))
    # The forms with help texts the demo shows: the plan editor's, the booking's, the outcome's, the
    # calendar's and the meeting page's (a row per invitee).
    assert forms > 20 and helps > 15, (forms, helps)


def test_the_admin_pages_help_texts_in_forms_are_tied(client, demo):  # noqa: F811
    login(client, "admin", DEMO_PASSWORD)
    check(client, ADMIN_LISTS)
