"""Swedish terms the English pages keep on purpose (docs/architecture.md, Glossary) are marked lang="sv", so a
screen reader says them in Swedish: in a template's text, in a form label from Python, and nowhere on a
Swedish page (the whole page is Swedish)."""

from __future__ import annotations

import re

from flask_babel import force_locale
from markupsafe import Markup
from webkit import login, text_of

from sipflow.demo import DEMO_PASSWORD, PERSONA_REFERENCES, load_demo
from sipflow.i18n import swedish_terms


def test_the_filter_marks_terms_outside_tags_and_escapes_plain_text(app_ctx):
    with force_locale("en"):
        assert swedish_terms("Overall responsibility (huvudansvar)") == (
            'Overall responsibility (<span lang="sv">huvudansvar</span>)'
        )
        assert swedish_terms("<b>insats</b>") == '&lt;b&gt;<span lang="sv">insats</span>&lt;/b&gt;'
        link = Markup('<a href="#huvudansvar">huvudansvar</a>')
        assert swedish_terms(link) == '<a href="#huvudansvar"><span lang="sv">huvudansvar</span></a>'
        assert swedish_terms("insatsen") == "insatsen"  # a word of its own only
        # The case page's question to the person and the plan's named contacts, kept in English pages.
        assert swedish_terms("What matters to you? (Vad är viktigt för dig?)") == (
            'What matters to you? (<span lang="sv">Vad är viktigt för dig?</span>)'
        )
        assert swedish_terms("Fast omsorgskontakt") == '<span lang="sv">Fast omsorgskontakt</span>'
    with force_locale("sv"):
        assert swedish_terms("Huvudansvar (huvudansvar)") == "Huvudansvar (huvudansvar)"


def test_the_english_case_and_plan_pages_mark_the_swedish_terms(client, app_ctx, db_session):
    load_demo()
    from sqlmodel import select

    from sipflow.cases.models import SipCase

    case = db_session.exec(select(SipCase).where(SipCase.reference == PERSONA_REFERENCES["mikael"])).one()
    login(client, "anna", DEMO_PASSWORD)
    plan = text_of(client.get(f"/cases/{case.uid}/plan?lang=en"))
    assert 'Overall responsibility (<span lang="sv">huvudansvar</span>)' in plan
    assert 'Efforts (<span lang="sv">insatser</span>)' in plan
    detail = text_of(client.get(f"/cases/{case.uid}?lang=en"))
    assert 'Consent (<span lang="sv">samtycke</span>)' in detail
    # A label from Python (cases.forms), through render_field.
    new = text_of(client.get("/cases/new?lang=en"))
    assert 'Municipality of registration (<span lang="sv">folkbokföringskommun</span>)' in new
    for url in (f"/cases/{case.uid}/plan", f"/cases/{case.uid}", "/cases/new"):
        swedish = text_of(client.get(f"{url}?lang=sv"))
        assert not re.search(r'<span lang="sv">', swedish), url


def test_the_english_admin_person_pages_mark_the_swedish_terms(
    client, make_user, parties, create_case, db_session
):
    from webkit import fill, forms_of

    from sipflow.people.models import Person

    person = db_session.get(Person, create_case().person_id)
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    lookup = text_of(client.get("/admin/persons?lang=en"))
    assert 'For a <span lang="sv">loggutdrag</span> or a <span lang="sv">registerutdrag</span>' in lookup
    assert '<option lang="sv" selected value="personnummer">Personnummer</option>' in lookup
    assert '<option lang="sv" value="reservnummer">Reservnummer</option>' in lookup
    assert 'for <span lang="sv">personnummer</span> and <span lang="sv">samordningsnummer</span>.' in lookup
    found = client.post(
        "/admin/persons",
        data=fill(forms_of(lookup)["/admin/persons"], identifier=person.id_number, purpose="Request"),
    )
    page = text_of(found)
    assert found.status_code == 200
    for marked in (
        'Name and <span lang="sv">folkbokföringskommun</span>',
        '<h2><span lang="sv">Loggutdrag</span></h2>',
        'Download <span lang="sv">loggutdrag</span>',
        '<h2><span lang="sv">Registerutdrag</span> (GDPR art. 15)</h2>',
        'Download <span lang="sv">registerutdrag</span>',
        '<dt><span lang="sv">Personnummer</span></dt>',
    ):
        assert marked in page, marked
    swedish = text_of(client.get("/admin/persons?lang=sv"))
    assert not re.search(r'<span lang="sv">', swedish)


def test_every_english_pages_footer_says_the_swedish_name_in_swedish(client, app_ctx):
    """The footer of every page, the login and a person's answer page too, names the SIP in Swedish in
    brackets: marked, a screen reader reading the English page says it in Swedish (WCAG 3.1.2)."""
    english = text_of(client.get("/login?lang=en"))
    assert '(<span lang="sv">samordnad individuell plan</span>, SIP)' in english
    swedish = text_of(client.get("/login?lang=sv"))
    assert "samordnad individuell plan (SIP)" in swedish and '<span lang="sv">' not in swedish


def test_every_swedish_term_on_the_english_pages_staff_walk_is_marked(client, app_ctx, db_session):
    """The case page's link and participant choice, the person page, Mina SIP's person filter and Ny SIP's
    kinds of identifier kept their terms unmarked: a screen reader said "folkbokföringskommun" or
    "förvaltare" with English sounds."""
    load_demo()
    from sqlmodel import select

    from sipflow.cases.models import SipCase

    case = db_session.exec(select(SipCase).where(SipCase.reference == PERSONA_REFERENCES["viktoria"])).one()
    login(client, "anna", DEMO_PASSWORD)
    detail = text_of(client.get(f"/cases/{case.uid}?lang=en"))
    assert 'Change the name or <span lang="sv">folkbokföringskommun</span>' in detail
    representative = '(<span lang="sv">god man</span> or <span lang="sv">förvaltare</span>)'
    assert f"Legal representative {representative}" in detail
    person = text_of(client.get(f"/cases/{case.uid}/person?lang=en"))
    assert 'The name and <span lang="sv">folkbokföringskommun</span> belong to the person' in person
    cases = text_of(client.get("/cases?lang=en"))
    assert 'Person (<span lang="sv">personnummer</span>, <span lang="sv">samordningsnummer</span> or' in cases
    new = text_of(client.get("/cases/new?lang=en"))
    kinds = re.findall(r"<option[^>]*>(?:Personnummer|Samordningsnummer|Reservnummer)</option>", new)
    assert len(kinds) == 3 and all('lang="sv"' in option for option in kinds), kinds


def test_the_english_workflow_overview_marks_the_terms_of_a_steps_requirements(client, make_user):
    login(client, make_user(None, roles="admin").username)
    workflows = text_of(client.get("/admin/workflows?lang=en"))
    assert 'List at least one effort (<span lang="sv">insats</span>).' in workflows
