"""An adult's god man or förvaltare (legal representative) takes part as one: added on the case page as a
legal representative, not passed off as a närstående or a guardian, sent their own personal link worded for
them, their reads told apart in the person's extract, their address kept back in the registerutdrag, and,
when a new representative replaces them, their link ends and the new one gets theirs."""

from __future__ import annotations

import email
import email.policy

from personkit import log_out
from sqlmodel import select
from test_personal_links import link_path, send_link
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant
from sipflow.notifications.models import OutboxMessage
from sipflow.retention.export import person_export
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry
from sipflow.security.extract import extract_rows

GOD_MAN_EMAIL = "goran.godman@example.se"
FORVALTARE_EMAIL = "rut.ramstrom@example.se"


def _add_representative(client, world, name: str, relation: str, address: str) -> None:
    """Staff add the representative through the case page's form, choosing "Legal representative"."""
    url = f"/cases/{world.case.uid}/participants/private"
    page = text_of(client.get(f"/cases/{world.case.uid}"))
    assert "Ställföreträdare (god man eller förvaltare)" in page
    typed = {
        "private-kind": "representative",
        "private-name": name,
        "private-relation": relation,
        "private-email": address,
    }
    added = client.post(url, data=fill(forms_of(page)[url], **typed))
    assert added.status_code == 303, text_of(added)


def _participant(db_session, world, name: str) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(Participant.case_id == world.case.id, Participant.name == name)
    ).one()


def _link_mails(db_session) -> list[OutboxMessage]:
    return list(
        db_session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "plan_link").order_by(OutboxMessage.id)
        ).all()
    )


def test_a_god_man_takes_part_as_a_legal_representative_and_is_replaced_by_a_forvaltare(
    client, db_session, planned, now
):
    login(client, planned.region.user.username)
    _add_representative(client, planned, "Göran Godman", "god man", GOD_MAN_EMAIL)
    god_man = _participant(db_session, planned, "Göran Godman")
    assert god_man.kind == "representative"
    page = text_of(client.get(f"/cases/{planned.case.uid}"))
    assert "Göran Godman" in page and "Ställföreträdare (god man eller förvaltare)" in page

    # Their own personal link, worded for a representative (the plan is not theirs, nor are they kin).
    log_out(client)
    send_link(client, planned, god_man)
    mail = _link_mails(db_session)[-1]
    assert mail.recipient == GOD_MAN_EMAIL and mail.subject == "SIP-plan: din personliga länk"
    text = email.message_from_string(mail.message, policy=email.policy.default).get_body(("plain",))
    text = text.get_content()
    assert "för den person du är ställföreträdare (god man eller förvaltare) för" in text
    assert "närstående" not in text and "Göran Godman" not in text
    assert planned.person.given_name not in text and planned.person.family_name not in text
    log_out(client)
    old_path = link_path(mail)
    assert client.get(old_path).status_code == 200
    # The person's extract says a legal representative read the plan, not that the person did.
    reads = db_session.exec(
        select(AccessLogEntry).where(AccessLogEntry.action == audit.PLAN_LINK_VIEW_REPRESENTATIVE)
    ).all()
    assert len(reads) == 1
    assert "En ställföreträdare läste planen genom sin personliga länk" in {
        row.action for row in extract_rows(db_session, planned.person.id)
    }

    # The assignment ends: a förvaltare is added, the god man taken off; his link ends, hers works.
    login(client, planned.region.user.username)
    _add_representative(client, planned, "Rut Ramström", "förvaltare", FORVALTARE_EMAIL)
    remove = f"/cases/{planned.case.uid}/participants/{god_man.id}/remove"
    form = forms_of(text_of(client.get(remove)))[remove]
    assert client.post(remove, data=fill(form, reason="Godmanskapet har upphört")).status_code == 303
    forvaltare = _participant(db_session, planned, "Rut Ramström")
    log_out(client)
    send_link(client, planned, forvaltare)
    log_out(client)
    assert client.get(old_path).status_code == 410
    assert client.get(link_path(_link_mails(db_session)[-1])).status_code == 200

    # The registerutdrag names both by name and relation and keeps their addresses back (theirs, art. 15(4)).
    exported = person_export(db_session, planned.person.id, now=now)
    case = next(c for c in exported["cases"] if c["reference"] == planned.case.reference)
    representatives = [p for p in case["participants"] if p["kind"] == "representative"]
    assert [(p["name"], p["relation"]) for p in representatives] == [
        ("Göran Godman", "god man"),
        ("Rut Ramström", "förvaltare"),
    ]
    assert all("email" not in p for p in representatives)
    assert GOD_MAN_EMAIL not in repr(exported) and FORVALTARE_EMAIL not in repr(exported)
