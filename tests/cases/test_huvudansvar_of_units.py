"""Huvudansvar is the organisation's, stored on each of its units taking part (tester: it disappeared when
the unit that carried it was removed while the organisation stayed on the SIP).

A unit added to (or added back to) the organisation holding it carries it too (cases.services._add_unit);
removing one of its units leaves it with the others; its last unit is not removed before a hand-over.
"""

from __future__ import annotations

import html as htmllib
import re

import pytest
import support
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.consent import services as consent_services
from sipflow.consent.models import ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Unit
from sipflow.plans import responsibility

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _boendestod(db_session, parties) -> Unit:
    unit = Unit(
        key=f"unit-{support.next_number()}",
        organisation_id=parties.municipality.organisation_id,
        name="Boendestöd",
    )
    db_session.add(unit)
    db_session.commit()
    return unit


def _rows(db_session, case, unit_id) -> list[Participant]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(Participant).where(
                Participant.case_id == case.id, Participant.unit_id == unit_id, Participant.active
            )
        ).all()
    )


def _page(client, url) -> str:
    return htmllib.unescape(text_of(client.get(url)))


def _add_on_page(client, case, unit_id):
    url = f"/cases/{case.uid}/participants/unit"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    return client.post(url, data=fill(form, **{"unit-unit_id": str(unit_id)}))


def _removal(case, participant_id) -> str:
    return f"/cases/{case.uid}/participants/{participant_id}/remove"


@pytest.fixture
def handed_over(db_session, registry, parties, create_case):
    """The tester's SIP: started by the region with Växjö kommun's unit, consent for both, huvudansvar given
    to Växjö kommun on the plan page's action."""
    case = create_case()
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        now=now_utc(),
        organisation_ids=[parties.region.organisation_id, parties.municipality.organisation_id],
    )
    db_session.refresh(case)
    with unit_of_work(db_session):
        responsibility.give_huvudansvar(
            db_session,
            case,
            parties.region_user,
            organisation_id=parties.municipality.organisation_id,
            reason=None,
            expected_version=case.version,
            now=now_utc(),
        )
    return case


def test_a_unit_added_after_the_hand_over_carries_huvudansvar_and_keeps_it_when_the_other_goes(
    client, db_session, registry, parties, handed_over
):
    case = handed_over
    boendestod = _boendestod(db_session, parties)
    login(client, parties.region_user.username)
    assert _add_on_page(client, case, boendestod.id).status_code == 303
    (added,) = _rows(db_session, case, boendestod.id)
    assert added.role == "huvudansvarig"

    # Removing socialtjänsten: the page says huvudansvar stays with the organisation, and it does.
    (ifo,) = _rows(db_session, case, parties.municipality.id)
    page = _page(client, _removal(case, ifo.id))
    assert "Organisationen behåller huvudansvaret" in page
    form = forms_of(text_of(client.get(_removal(case, ifo.id))))[_removal(case, ifo.id)]
    answer = client.post(_removal(case, ifo.id), data=fill(form, reason="Insatsen är avslutad"))
    assert answer.status_code == 303
    (left,) = _rows(db_session, case, boendestod.id)
    assert left.role == "huvudansvarig"
    active = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.active, Participant.kind == "organisation"
        )
    ).all()
    assert responsibility.holder_id(list(active)) == parties.municipality.organisation_id
    assert "Ingen organisation har huvudansvaret än" not in _page(client, f"/cases/{case.uid}/plan")
    # Växjö kommun still leads the SIP: it may remove participants.
    assert services.may_remove_participants(db_session, case, parties.municipality_user)

    # Socialtjänsten coming back joins the organisation holding huvudansvar: it carries it too.
    assert _add_on_page(client, case, parties.municipality.id).status_code == 303
    (back,) = _rows(db_session, case, parties.municipality.id)
    assert back.role == "huvudansvarig"


def test_the_last_unit_of_the_organisation_with_huvudansvar_is_not_removed_before_a_hand_over(
    client, db_session, registry, parties, handed_over
):
    case = handed_over
    boendestod = _boendestod(db_session, parties)
    with unit_of_work(db_session):
        services.add_unit_participant(db_session, registry, case, boendestod.id, now=now_utc())
    (ifo,) = _rows(db_session, case, parties.municipality.id)
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            parties.municipality_user,
            ifo.id,
            reason="Insatsen är avslutad",
            now=now_utc(),
            expected_version=case.version,
        )
    (last,) = _rows(db_session, case, boendestod.id)
    db_session.refresh(case)
    with pytest.raises(InvalidInput, match="overall responsibility|huvudansvar"):
        with unit_of_work(db_session):
            services.remove_participant(
                db_session,
                registry,
                case,
                parties.region_user,
                last.id,
                reason="Lämnar ärendet",
                now=now_utc(),
                expected_version=case.version,
            )
    login(client, parties.region_user.username)
    # The case page offers no removal of it; its page says why, with nothing to fill in.
    assert _removal(case, last.id) not in text_of(client.get(f"/cases/{case.uid}"))
    shown = client.get(_removal(case, last.id))
    assert shown.status_code == 409
    assert "lämna över huvudansvaret först" in text_of(shown)
    assert not re.search(r'name="reason"', text_of(shown))
    assert _rows(db_session, case, boendestod.id)[0].role == "huvudansvarig"


def test_a_unit_written_without_the_role_gets_it_when_the_one_carrying_it_is_removed(
    db_session, registry, parties, handed_over
):
    """A SIP whose second unit joined before the rule (its row says participant) keeps huvudansvar too."""
    case = handed_over
    boendestod = _boendestod(db_session, parties)
    with unit_of_work(db_session):
        row = services.add_unit_participant(db_session, registry, case, boendestod.id, now=now_utc())
        row.role = "participant"
    (ifo,) = _rows(db_session, case, parties.municipality.id)
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            parties.region_user,
            ifo.id,
            reason="Insatsen är avslutad",
            now=now_utc(),
            expected_version=case.version,
        )
    assert _rows(db_session, case, boendestod.id)[0].role == "huvudansvarig"


def test_the_consent_is_not_withdrawn_for_the_organisation_with_huvudansvar_before_a_hand_over(
    client, db_session, registry, parties, handed_over
):
    case = handed_over
    url = f"/cases/{case.uid}/consent/withdraw-organisation"
    login(client, parties.region_user.username)
    form = forms_of(text_of(client.get(url)))[url]
    answer = client.post(
        url,
        data=fill(form, organisation_id=str(parties.municipality.organisation_id), reason="Vill inte längre"),
    )
    assert answer.status_code == 400
    page = htmllib.unescape(text_of(answer))
    message = "Den organisationen har huvudansvaret för SIP:en. Lämna först över huvudansvaret"
    # Beside the organisation's field, what was typed kept.
    assert (
        message in re.search(r'<ul class="field-errors" id="organisation_id-error">.*?</ul>', page, re.S)[0]
    )
    assert "Vill inte längre" in page
    db_session.expire_all()
    assert all(r.withdrawn_at is None for r in db_session.exec(select(ConsentOrganisation)).all())
    with pytest.raises(InvalidInput) as refused:
        consent_services.check_organisation_withdrawal(
            db_session, case, {"organisation_id": parties.municipality.organisation_id}, now=now_utc()
        )
    assert refused.value.field == "organisation_id"
