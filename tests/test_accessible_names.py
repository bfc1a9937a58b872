"""What a screen reader hears in lists: every row's buttons, links and fields say which row they are for,
each row has a row header, every table a name, every repeated group of plan fields a legend, and the plan
pages' titles the SIP's reference.

Pages of the demo (load_demo) read with html.parser into a small tree; a control's accessible name is its
aria-label, else what aria-labelledby points at, else its text (visually hidden text included, aria-hidden
text left out), and a field's is its label's.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc
from sipflow.demo import DEMO_PASSWORD, PERSONA_REFERENCES, load_demo
from sipflow.meetings.models import Invitation, Meeting
from sipflow.people.models import User
from sipflow.plans.models import PersonalLink

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def iter(self, *tags: str):
        for child in self.children:
            if isinstance(child, Node):
                if not tags or child.tag in tags:
                    yield child
                yield from child.iter(*tags)

    def text(self) -> str:
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.attrs.get("aria-hidden") != "true":
                parts.append(child.text())
        return " ".join(" ".join(parts).split())

    def ancestor(self, tag: str) -> Node | None:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    return tree.root


def by_id(root: Node) -> dict[str, Node]:
    return {node.attrs["id"]: node for node in root.iter() if "id" in node.attrs}


def accessible_name(node: Node, root: Node) -> str:
    if node.attrs.get("aria-label"):
        return node.attrs["aria-label"].strip()
    if node.attrs.get("aria-labelledby"):
        ids = by_id(root)
        return " ".join(ids[i].text() for i in node.attrs["aria-labelledby"].split())
    if node.tag in ("input", "select", "textarea"):
        labels = [
            label
            for label in root.iter("label")
            if label.attrs.get("for") == node.attrs.get("id") and node.attrs.get("id")
        ]
        wrapping = node.ancestor("label")
        return " ".join(label.text() for label in labels or ([wrapping] if wrapping else []))
    return node.text()


def in_context(node: Node, root: Node) -> str:
    """The name with the legends of the fieldsets around it, as a screen reader says a field in a group."""
    groups = []
    fieldset = node.ancestor("fieldset")
    while fieldset is not None:
        legend = next((c for c in fieldset.children if isinstance(c, Node) and c.tag == "legend"), None)
        if legend is not None:
            groups.insert(0, legend.text())
        fieldset = fieldset.ancestor("fieldset")
    return " › ".join([*groups, accessible_name(node, root)])


def controls(table: Node) -> list[Node]:
    """The table's buttons, links, disclosures and fields a user reaches."""
    return [
        node
        for node in table.iter("a", "button", "summary", "select", "input", "textarea")
        if node.attrs.get("type") != "hidden" and not (node.tag == "a" and "href" not in node.attrs)
    ]


def repeated(names: list[str]) -> dict[str, int]:
    return {name: n for name, n in Counter(names).items() if n > 1}


@pytest.fixture
def demo(app_ctx, db_session):
    load_demo()
    cases = {c.reference: c for c in db_session.exec(select(SipCase)).all()}
    return {key: cases[reference] for key, reference in PERSONA_REFERENCES.items()}


def page(client, url: str) -> Node:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return parse(text_of(response))


def assert_tables_named(root: Node, url: str) -> None:
    ids = by_id(root)
    tables = list(root.iter("table"))
    for table in tables:
        caption = next(table.iter("caption"), None)
        labelledby = table.attrs.get("aria-labelledby", "").split()
        assert (caption is not None and caption.text()) or (
            labelledby and all(i in ids and ids[i].text() for i in labelledby)
        ), f"{url}: a table without a caption or aria-labelledby"


def assert_rows_distinct(root: Node, url: str) -> None:
    for table in root.iter("table"):
        for row in next(table.iter("tbody")).iter("tr"):
            if len([c for c in row.children if isinstance(c, Node)]) > 1:
                assert any(th.attrs.get("scope") == "row" for th in row.iter("th")), (
                    f"{url}: a row with no row header"
                )
        assert all(accessible_name(node, root) for node in controls(table)), (
            f"{url}: a control without a name"
        )
        names = [in_context(node, root) for node in controls(table)]
        assert repeated(names) == {}, f"{url}: controls of the same name"


ADMIN_LISTS = [
    "/admin/users",
    "/admin/organisations",
    "/admin/units",
    "/admin/codes",
    "/admin/codes/assignments",
    "/admin/log",
    "/admin/reminders/",
    "/admin/workflows",
]


def test_the_admin_lists_name_each_rows_controls_and_have_row_headers_and_captions(client, demo):
    login(client, "admin", DEMO_PASSWORD)
    for url in ADMIN_LISTS:
        root = page(client, url)
        assert_tables_named(root, url)
        assert_rows_distinct(root, url)
    # The lists the demo fills: each has rows whose buttons repeated before.
    users = page(client, "/admin/users")
    names = [accessible_name(b, users) for b in users.iter("button") if b.ancestor("table")]
    assert "Stäng av Anna Lind" in names and "Avsluta alla sessioner för Anna Lind" in names
    assert any(
        n.startswith("Ändra ") for n in (a.text() for a in page(client, "/admin/organisations").iter("a"))
    )
    assignments = page(client, "/admin/codes/assignments")
    selects = [accessible_name(s, assignments) for s in assignments.iter("select")]
    assert len(selects) > 2 and all(n.startswith("SIP-kod för ") for n in selects)
    saves = [accessible_name(b, assignments) for b in assignments.iter("button") if b.ancestor("table")]
    assert all(n.startswith("Spara SIP-kod för ") for n in saves) and repeated(saves) == {}


def _meeting_and_links(session, case) -> None:
    """A coming meeting of the case booked by anna, every participant invited, and two personal links sent:
    rows whose buttons are the same but for the row."""
    now = now_utc()
    anna = session.exec(select(User).where(User.username == "anna")).one()
    participants = session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    meeting = Meeting(
        case_id=case.id,
        kind="follow_up",
        mode="on_site",
        starts_at=now + timedelta(days=7),
        ends_at=now + timedelta(days=7, hours=1),
        location="Vårdcentralen Teleborg",
        booked_by_user_id=anna.id,
        updated_at=now,
    )
    session.add(meeting)
    session.flush()
    for p in participants:
        session.add(
            Invitation(
                meeting_id=meeting.id, participant_id=p.id, email=p.email, channel="other", invited_at=now
            )
        )
    for p in [p for p in participants if p.kind != "organisation"][:2]:
        session.add(
            PersonalLink(
                person_id=case.person_id,
                case_id=case.id,
                participant_id=p.id,
                created_at=now,
                created_by_user_id=anna.id,
                expires_at=now + timedelta(days=30),
            )
        )
    session.commit()


def test_the_case_pages_tables_have_names_row_headers_and_distinct_controls(app, client, demo, db_session):
    _meeting_and_links(db_session, demo["mikael"])
    login(client, "anna", DEMO_PASSWORD)
    urls = ["/", "/cases"]
    for case in demo.values():
        urls += [
            f"/cases/{case.uid}",
            f"/cases/{case.uid}/plan/versions",
            f"/cases/{case.uid}/plan/approvals",
            f"/cases/{case.uid}/plan/links",
            f"/cases/{case.uid}/plan/person",
        ]
        for meeting in db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all():
            urls.append(f"/cases/{case.uid}/meetings/{meeting.id}")
    tables, names = 0, []
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        root = parse(text_of(response))
        tables += len(list(root.iter("table")))
        assert_tables_named(root, url)
        assert_rows_distinct(root, url)
        names += [accessible_name(node, root) for table in root.iter("table") for node in controls(table)]
    assert tables >= 10
    # The rows the arrangement made: two links to revoke, invitees to withdraw and to record the answer of.
    assert len([n for n in names if n.startswith("Återkalla länk nr ")]) == 2
    assert len([n for n in names if n.startswith("Återkalla kallelsen till ")]) >= 2
    assert len([n for n in names if n.startswith("Registrera svaret från ")]) >= 2
    assert any(n.startswith("PDF för version ") for n in names)


def test_the_statistics_tables_have_names(client, demo):
    login(client, "kerstin", DEMO_PASSWORD)
    root = page(client, "/statistik/")
    assert len(list(root.iter("table"))) >= 4
    assert_tables_named(root, "/statistik/")


def test_the_plan_editors_rows_have_legends_and_say_which_row_they_remove(client, demo):
    login(client, "anna", DEMO_PASSWORD)
    every_remove = []
    for case in demo.values():
        root = page(client, f"/cases/{case.uid}/plan")
        rows = [f for f in root.iter("fieldset") if "plan-row" in f.attrs.get("class", "").split()]
        assert rows
        legends = []
        for fieldset in rows:
            legend = next((c for c in fieldset.children if isinstance(c, Node) and c.tag == "legend"), None)
            assert legend is not None and legend.text(), "a plan row without a legend"
            legends.append(legend.text())
        assert repeated(legends) == {}
        assert any(name.startswith("Insats av andra ") for name in legends)
        assert any(name.startswith("Egen insats ") for name in legends)
        removes = [
            accessible_name(box, root)
            for box in root.iter("input")
            if box.attrs.get("name", "").endswith("-remove")
        ]
        assert repeated(removes) == {}
        assert all(name.startswith("Ta bort ") and name != "Ta bort" for name in removes)
        every_remove += removes
        # The goals: a group each, under the list's heading.
        assert "Personens mål 1" in legends and "De yrkesverksammas mål 1" in legends
    assert {"Ta bort personens mål 2", "Ta bort egen insats 1", "Ta bort insats 1"} <= set(every_remove)


def test_the_plan_pages_titles_name_the_sips_reference(client, demo):
    login(client, "anna", DEMO_PASSWORD)
    case = demo["mikael"]
    for suffix in ("plan/approvals", "plan/links", "plan/person", "plan/versions"):
        title = next(page(client, f"/cases/{case.uid}/{suffix}").iter("title")).text()
        assert case.reference in title, title
