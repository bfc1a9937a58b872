"""A case-page form that chose a participant taken off the SIP meanwhile: the conflict names them, chooses
nobody in their place (a required choice again) and never moves what was typed to another participant."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

EMAIL, PHONE = "farbror@example.se", "070-8888888"


def _add_relative(db_session, registry, case, name: str) -> Participant:
    with unit_of_work(db_session):
        return services.add_private_participant(
            db_session,
            registry,
            case,
            kind="narstaende",
            name=name,
            relation="farbror",
            email=None,
            phone=None,
            now=now_utc(),
        )


def _remove(db_session, registry, case, actor, participant_id) -> None:
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            actor,
            participant_id,
            reason="Tillagd av misstag",
            now=now_utc(),
            expected_version=case.version,
        )


def _participant_select(html: str) -> str:
    return re.search(r"<select[^>]*id=\"contact-participant_id\".*?</select>", html, re.S)[0]


def test_contact_details_for_a_removed_participant_go_to_nobody(
    client, db_session, registry, parties, create_case
):
    case = create_case()
    relative = _add_relative(db_session, registry, case, "Farbror Test")
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}"
    action = f"{url}/participants/contact"
    form = forms_of(text_of(client.get(url)))[action]
    # A colleague takes the relative off the SIP while the page is open.
    _remove(db_session, registry, case, parties.region_user, relative.id)
    refused = client.post(
        action,
        data=fill(
            form,
            **{"contact-participant_id": str(relative.id), "contact-email": EMAIL, "contact-phone": PHONE},
        ),
    )
    assert refused.status_code == 409
    html = text_of(refused)
    assert "Någon annan har ändrat denna SIP" in html
    # Named at the field, nobody chosen (the empty first choice), what was typed kept for the user to send.
    assert "Farbror Test har tagits bort från SIP:en. Välj deltagare igen." in html
    select_html = _participant_select(html)
    assert select_html.count("selected") == 1
    assert '<option selected value="">Välj deltagare</option>' in select_html
    assert "Farbror Test" not in select_html
    assert f'value="{EMAIL}"' in html and f'value="{PHONE}"' in html
    # Sent again as it stands: the choice is required, and nothing is saved for anybody.
    again = client.post(action, data=fill(forms_of(html)[action]))
    assert again.status_code == 400
    assert 'id="contact-participant_id-error"' in text_of(again)
    db_session.expire_all()
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    assert all(p.email != EMAIL and p.phone != PHONE for p in rows)


def test_a_fresh_contact_form_chooses_nobody(client, parties, create_case):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}"
    form = dict(forms_of(text_of(client.get(url)))[f"{url}/participants/contact"])
    assert form["contact-participant_id"] == ""
