"""A plan's texts hold no control character (but a long text's line breaks and tabs) and no invisible one
(a direction override, a zero-width space); a one-line field (a contact, a person responsible) holds no line
break. The close reason of the SIP, a case field, is held to the same rule."""

from __future__ import annotations

import unicodedata

import pytest
import support
from hypothesis import given, settings
from hypothesis import strategies as st
from plankit import complete_data, give_huvudansvar, save
from webkit import fill, forms_of, login, text_of

from sipflow.cases import fields
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.errors import InvalidInput
from sipflow.plans.content import plan_content
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")


def content(db_session, case):
    db_session.expire_all()
    return plan_content(db_session, case, find_plan(db_session, case))


def _effort(data, **changes):
    data["efforts"][0].update(changes)
    return data


def _goal(data, text):
    data["own_goals"] = [{"uid": None, "text": text}]
    return data


REFUSED = [
    ("needs", lambda d: d.update(needs="Stöd\x01\x02\x1b[31m i vardagen"), "needs"),
    ("needs-rlo", lambda d: d.update(needs="Stöd \u202eigadrav i"), "needs"),
    ("needs-zwsp", lambda d: d.update(needs="Stöd\u200bi vardagen"), "needs"),
    ("needs-c1", lambda d: d.update(needs="Stöd\x85i vardagen"), "needs"),
    ("vardkontakt", lambda d: d.update(fast_vardkontakt="a\nb\x07"), "fast_vardkontakt"),
    ("vardkontakt-line", lambda d: d.update(fast_vardkontakt="Dr Berg\nRing 112"), "fast_vardkontakt"),
    ("omsorgskontakt", lambda d: d.update(fast_omsorgskontakt="Omar\r\nLind"), "fast_omsorgskontakt"),
    ("huvudansvar_contact", lambda d: d.update(huvudansvar_contact="Anna\tEk"), "huvudansvar_contact"),
    ("responsible", lambda d: _effort(d, responsible="Anna\nEk"), "efforts-0-responsible"),
    ("what", lambda d: _effort(d, what="Samtal\x1b"), "efforts-0-what"),
    ("actor", lambda d: d["efforts"][2].update(actor="Personen\nsjälv"), "efforts-2-actor"),
    ("goal", lambda d: _goal(d, "Det är viktigt\x07 för mig"), "own_goals-0-text"),
    ("contact", lambda d: d["contacts"][0].update(name="Anna\u202e Ek"), "contacts-0-name"),
    ("child_view_missing_reason", lambda d: d.update(child_view_missing_reason="Vill\x00"), None),
]


@pytest.mark.parametrize(("case_id", "spoil", "field"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_control_or_invisible_character_is_refused_at_its_field(
    db_session, parties, held, case_id, spoil, field
):
    now = now_utc()
    before = content(db_session, held)
    data = complete_data(held, parties, now)
    spoil(data)
    with pytest.raises(InvalidInput) as refused:
        save(db_session, held, parties.region_user, data, now)
    if field is not None:
        assert refused.value.field == field
    assert content(db_session, held) == before


def test_a_long_text_keeps_its_line_breaks_and_tabs(db_session, parties, held):
    now = now_utc()
    needs = "Stöd i vardagen.\r\n\tBoende\nArbete"
    save(db_session, held, parties.region_user, complete_data(held, parties, now, needs=needs), now)
    assert content(db_session, held)["needs"] == needs


def test_the_page_refuses_a_line_break_in_a_one_line_field_keeping_the_text(
    client, db_session, parties, held
):
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(
        url, data=fill(form, action="save", fast_vardkontakt="Dr Berg\nRing mig", needs="Ok")
    )
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="fast_vardkontakt-error"' in html
    assert "Skriv det på en rad" in html
    assert not content(db_session, held)["needs"]


def test_a_hand_over_reason_with_a_control_character_is_refused(db_session, parties, held):
    now = now_utc()
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    with pytest.raises(InvalidInput) as refused:
        give_huvudansvar(
            db_session,
            held,
            parties.region_user,
            parties.municipality.organisation_id,
            now,
            reason="Boendet\x1b",
        )
    assert refused.value.field == "reason"


def test_the_close_reason_with_a_control_character_is_refused(db_session, registry, parties, held):
    now = now_utc()
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    with pytest.raises(InvalidInput) as refused:
        support.fire(
            db_session, registry, parties.region_user, held, "close", now=now, data={"reason": "Klar\x07"}
        )
    assert refused.value.field == "reason"
    db_session.expire_all()
    case = db_session.get(SipCase, held.id)
    assert (case.state, case.closed_reason) == ("plan_established", None)
    support.fire(
        db_session,
        registry,
        parties.region_user,
        held,
        "close",
        now=now,
        data={"reason": "Klar\nMålen nådda"},
    )
    db_session.expire_all()
    assert db_session.get(SipCase, held.id).closed_reason == "Klar\nMålen nådda"


def test_the_preparations_goals_and_childs_view_are_held_to_the_same_rule(
    db_session, registry, parties, create_case
):
    now = now_utc()
    case = create_case("sip_child")
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    for name, value in (
        ("own_goals", "Att få sova\nAtt spela\x1b fotboll"),
        ("child_view", "Vill\u202e vara med"),
    ):
        with pytest.raises(InvalidInput) as refused:
            support.fire(
                db_session, registry, parties.region_user, case, "start_preparation", now=now, **{name: value}
            )
        assert refused.value.field == name
    assert db_session.get(SipCase, case.id).state == "consent_given"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_several_lines_keeps_only_line_breaks_tabs_and_the_joiners_among_invisible_characters(value):
    try:
        kept = fields.several_lines(value, "needs")
    except InvalidInput as refused:
        assert refused.field == "needs"
        return
    for character in kept:
        category = unicodedata.category(character)
        assert category not in ("Cc", "Zl", "Zp") or character in "\r\n\t"
        assert category != "Cf" or character in "\u200c\u200d"
