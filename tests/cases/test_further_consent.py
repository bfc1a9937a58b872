"""A further consent after the SIP's consent step: an organisation that joined later comes to see the SIP."""

from __future__ import annotations

from sqlmodel import select
from support import fire
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.cases.services import step_seeing
from sipflow.clock import now_utc
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.consent.workflow_hooks import apply_consent
from sipflow.security import access
from sipflow.security.audit import AccessLogEntry
from sipflow.workflow.context import TransitionContext


def _page(client, case) -> str:
    return f"/cases/{case.uid}/consent/further"


def _form(client, case):
    return forms_of(text_of(client.get(_page(client, case))))[_page(client, case)]


def test_the_school_that_joined_later_sees_the_sip_once_a_further_consent_covers_it(
    app, client, db_session, parties, joined_later
):
    case = joined_later
    school = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(school, parties.school_user.username).status_code == 302
    assert school.get(f"/cases/{case.uid}").status_code == 404

    assert login(client, parties.region_user.username).status_code == 302
    # The case page leads there: the initiator records consent in this workflow.
    assert _page(client, case) in text_of(client.get(f"/cases/{case.uid}"))
    organisations = [str(u.organisation_id) for u in (parties.region, parties.municipality, parties.school)]
    version = case.version
    response = client.post(
        _page(client, case),
        data=fill(
            _form(client, case),
            **{
                "consent-given_by": "person",
                "consent-form": "oral",
                "consent-organisation_ids": organisations,
            },
        ),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.uid}")

    assert school.get(f"/cases/{case.uid}").status_code == 200
    db_session.expire_all()
    newest = db_session.exec(
        select(Consent).where(Consent.case_id == case.id).order_by(Consent.id.desc())
    ).first()
    assert newest.recorded_by_user_id == parties.region_user.id and newest.form == "oral"
    covered = db_session.exec(
        select(ConsentOrganisation.organisation_id).where(ConsentOrganisation.consent_id == newest.id)
    ).all()
    assert parties.school.organisation_id in covered
    # The change shows: the case's version rose, so forms read before it are stale.
    assert db_session.get(SipCase, case.id).version == version + 1
    logged = db_session.exec(
        select(AccessLogEntry.action).where(
            AccessLogEntry.case_id == case.id, AccessLogEntry.user_id == parties.region_user.id
        )
    ).all()
    assert "case.consent" in logged


def test_a_participant_that_does_not_record_consent_gets_no_way_to_it(client, parties, joined_later):
    assert login(client, parties.municipality_user.username).status_code == 302
    case = joined_later
    assert _page(client, case) not in text_of(client.get(f"/cases/{case.uid}"))
    response = client.get(_page(client, case))
    assert response.status_code == 403
    assert "Bara de parter som registrerar SIP:ens samtycke" in text_of(response)
    assert "consent-given_by" not in text_of(response)


def test_before_the_consent_step_the_first_consent_is_the_step(client, parties, create_case):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    assert _page(client, case) not in text_of(client.get(f"/cases/{case.uid}"))
    response = client.get(_page(client, case))
    assert response.status_code == 409 and "Nästa steg" in text_of(response)


def test_a_form_without_organisations_is_refused_at_the_field_and_keeps_what_was_typed(
    client, db_session, parties, joined_later
):
    case = joined_later
    assert login(client, parties.region_user.username).status_code == 302
    response = client.post(
        _page(client, case),
        data=fill(
            _form(client, case),
            **{
                "consent-given_by": "person",
                "consent-form": "written",
                "consent-organisation_ids": None,
                "consent-information_scope": "Journaluppgifter om skolgången",
            },
        ),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert "Välj de organisationer som samtycket omfattar." in html
    assert "Journaluppgifter om skolgången" in html
    # The error summary the other forms show, so a refusal far down the form is not missed: its link leads to
    # the group's first tick box.
    assert '<a href="#consent-organisation_ids-0">' in html and 'id="consent-organisation_ids-0"' in html
    db_session.expire_all()
    assert len(db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()) == 1


def test_a_form_from_before_someone_elses_change_is_a_conflict_that_keeps_the_input(
    client, db_session, registry, parties, joined_later
):
    case = joined_later
    assert login(client, parties.region_user.username).status_code == 302
    mine = _form(client, case)
    fire(db_session, registry, parties.region_user, case, "start_preparation", now=now_utc())
    response = client.post(
        _page(client, case),
        data=fill(
            mine, **{"consent-given_by": "person", "consent-form": "oral", "consent-given_by_name": "Eva"}
        ),
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "Någon annan har ändrat denna SIP medan du arbetade." in html and 'value="Eva"' in html
    # Sent again after a look at the SIP, it is recorded.
    again = client.post(_page(client, case), data=fill(forms_of(html)[_page(client, case)]))
    assert again.status_code == 303


def test_an_ended_sip_takes_no_further_consent(client, db_session, registry, parties, joined_later):
    case = joined_later
    fire(db_session, registry, parties.region_user, case, "cancel", now=now_utc(), reason="Fel person")
    assert login(client, parties.region_user.username).status_code == 302
    response = client.get(_page(client, case))
    assert response.status_code == 409 and "SIP:en är avslutad" in text_of(response)


def test_the_page_speaks_english(client, parties, joined_later):
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(_page(client, joined_later) + "?lang=en"))
    assert "A further consent" in html and "Record the consent" in html


def test_a_consent_recorded_in_a_step_widens_whom_the_same_step_shares_with(
    db_session, parties, joined_later
):
    """Who sees the SIP comes with a step's first read; a consent the step records changes it, so what the
    step then shares (a kallelse, a decision's owner) follows the consent, not that read."""
    case, school = joined_later, parties.school.organisation_id
    ctx = TransitionContext(
        session=db_session,
        case=case,
        actor=parties.region_user,
        now=now_utc(),
        data={
            "given_by": "person",
            "form": "oral",
            "organisation_ids": [
                u.organisation_id for u in (parties.region, parties.municipality, parties.school)
            ],
        },
    )
    assert school not in step_seeing(ctx)
    apply_consent(ctx)
    access.refuse_uncovered(db_session, case, [("owner", school)], now=ctx.now, seeing=step_seeing(ctx))
    db_session.rollback()
