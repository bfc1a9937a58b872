"""The administration log shows values as the pages name them: a language by its name, an import's counts
as counts, and a coordinator's empty scope as every county."""

from __future__ import annotations

import re

import pytest
from webkit import login, seen, spoken, text_of

from sipflow.admin.changes import record_change

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _log_lines(client, db_session, admin, now, *rows) -> list[str]:
    """The log page's diff lines (tags dropped) after logging rows: (action, kind, before, after)."""
    for action, kind, before, after in rows:
        record_change(
            db_session,
            actor_user_id=admin.id,
            action=action,
            target_kind=kind,
            target_id=None,
            now=now,
            before=before,
            after=after,
        )
    db_session.commit()
    html = seen(text_of(client.get("/admin/log")))
    items = re.findall(r'<ul class="diff">(.*?)</ul>', html, re.S)
    return [
        re.sub(r"<[^>]+>", "", line).strip()
        for item in items
        for line in re.findall(r"<li>(.*?)</li>", item, re.S)
    ]


@pytest.fixture
def admin(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    return admin


def test_a_language_is_named_and_an_imports_counts_are_counts(client, db_session, admin, now):
    lines = _log_lines(
        client,
        db_session,
        admin,
        now,
        ("user.update", "user", {"language": "sv"}, {"language": "en"}),
        ("user.create", "user", None, {"username": "u", "language": "sv", "roles": "staff", "scope": ""}),
        ("import.apply", "import", None, {"created": 6, "changed": 1, "unchanged": 0}),
    )
    assert "Språk: Svenska → Engelska" in lines
    assert "Språk: – → Svenska" in lines
    assert ["6 poster skapade", "1 post ändrad", "0 poster lämnade orörda"] == [
        line for line in lines if "post" in line
    ]
    assert not any(line.startswith("Län och kommuner") for line in lines), lines  # staff follow nothing
    assert not any(line.endswith("→") for line in lines), lines


def test_a_coordinators_empty_scope_is_every_county(client, db_session, admin, now):
    lines = _log_lines(
        client,
        db_session,
        admin,
        now,
        ("user.create", "user", None, {"username": "c", "roles": "coordinator", "scope": ""}),
        ("user.update", "user", {"scope": "07"}, {"scope": ""}),
        ("user.update", "user", {"roles": "coordinator", "scope": "07"}, {"roles": "staff", "scope": ""}),
    )
    scope = [line for line in lines if line.startswith("Län och kommuner som följs")]
    assert scope == [  # newest first
        "Län och kommuner som följs: 07 → –",
        "Län och kommuner som följs: 07 → alla län",
        "Län och kommuner som följs: – → alla län",
    ], lines


def test_a_change_is_said_from_before_to_after(client, db_session, admin, now):
    """A screen reader says the arrow as "högerpil" and nothing of <del> and <ins>: a value changed is said
    "från ... till ...", as the plan's comparison says it, and the column's header without its arrow."""
    record_change(
        db_session,
        actor_user_id=admin.id,
        action="user.update",
        target_kind="user",
        target_id=None,
        now=now,
        before={"language": "sv"},
        after={"language": "en"},
    )
    db_session.commit()
    html = text_of(client.get("/admin/log"))
    lines = [spoken(line) for line in re.findall(r'<ul class="diff">\s*<li>(.*?)</li>', html, re.S)]
    assert lines == ["Språk: från Svenska till Engelska"]
    header = re.search(r'<th scope="col">((?:(?!</th>).)*efter(?:(?!</th>).)*)</th>', html)
    assert header is not None and spoken(header.group(1)) == "Före och efter"
