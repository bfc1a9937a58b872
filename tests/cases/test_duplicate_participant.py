"""A närstående or guardian already taking part in a SIP is not added twice; what was typed is kept."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _add(session, registry, case, **values):
    particulars = {"kind": "narstaende", "name": "Eva Andersson", "relation": "syster", "email": None}
    with unit_of_work(session):
        return services.add_private_participant(
            session, registry, case, phone=None, now=now_utc(), **(particulars | values)
        )


def _private(session, case) -> list[Participant]:
    return [
        p
        for p in session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        if p.kind in ("narstaende", "guardian")
    ]


@pytest.mark.parametrize(
    ("again", "field"),
    [
        ({"name": "eva  andersson", "relation": "Syster"}, "name"),  # case and spacing do not count
        ({"relation": "storasyster", "email": "EVA@example.se"}, "email"),  # her name at her address
    ],
    ids=["same-name-and-relation", "same-email"],
)
def test_the_same_narstaende_is_refused_at_the_field(db_session, registry, create_case, again, field):
    case = create_case()
    _add(db_session, registry, case, email="eva@example.se")
    with pytest.raises(InvalidInput) as refused:
        _add(db_session, registry, case, **again)
    assert refused.value.field == field
    assert len(_private(db_session, case)) == 1


def test_others_of_the_family_and_a_removed_one_may_be_added(db_session, registry, create_case):
    case = create_case()
    first = _add(db_session, registry, case, email="familjen@example.se")
    # Her sister at the family's address, a cousin of the same name, and her as a guardian: others.
    _add(db_session, registry, case, name="Karin Andersson", email="familjen@example.se")
    _add(db_session, registry, case, relation="kusin")
    _add(db_session, registry, case, kind="guardian", relation="mamma", email="familjen@example.se")
    with pytest.raises(InvalidInput):
        _add(db_session, registry, case, kind="guardian", relation="Mamma")
    with unit_of_work(db_session):
        first.removed_at = now_utc()
        db_session.add(first)
    _add(db_session, registry, case, email="familjen@example.se")
    assert len(_private(db_session, case)) == 5


def test_the_case_page_refuses_a_duplicate_beside_the_field_and_keeps_what_was_typed(
    client, parties, create_case, db_session, registry
):
    case = create_case()
    _add(db_session, registry, case, email="eva@example.se")
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    typed = {
        "private-kind": "narstaende",
        "private-name": "Eva Andersson",
        "private-relation": "lillasyster",
        "private-email": "Eva@Example.se",
        "private-phone": "070-111 22 33",
    }
    refused = client.post(url, data=fill(form, **typed))
    assert refused.status_code == 400
    html = text_of(refused)
    assert 'id="private-email-error"' in html
    assert "Någon med det här namnet och den här e-postadressen deltar redan i SIP:en." in html
    assert 'value="Eva@Example.se"' in html and 'value="070-111 22 33"' in html
    again = client.post(url, data=fill(forms_of(html)[url], **(typed | {"private-relation": "syster"})))
    assert again.status_code == 400
    assert 'id="private-name-error"' in text_of(again)
    assert "Den här närstående deltar redan i SIP:en: samma namn och relation." in text_of(again)
    db_session.expire_all()
    assert len(_private(db_session, case)) == 1


@pytest.mark.parametrize("field", ["name", "relation", "email", "phone"])
def test_a_line_break_in_a_narstaendes_particulars_is_refused_at_the_field(
    db_session, registry, create_case, field
):
    # Each is shown as one line of a page, a mail or the links page's list of recipients.
    case = create_case()
    values = {"name": "Eva Andersson", "relation": "syster", "email": "eva@example.se", "phone": "0701"}
    values[field] += "\nBcc: evil@example.com"
    particulars = {key: value for key, value in values.items() if key != "phone"}
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        services.add_private_participant(
            db_session, registry, case, kind="narstaende", phone=values["phone"], now=now_utc(), **particulars
        )
    assert refused.value.field == field
    assert _private(db_session, case) == []
