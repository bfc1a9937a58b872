"""A participant without an account has a language, chosen where they are added or their contact details
set, and shown on the participant list; an unknown one is refused at the field."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _participants(db_session, case) -> dict[str, Participant]:
    db_session.expire_all()
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    return {p.name or p.kind: p for p in rows if p.kind != "organisation"}


def _row_of(html: str, name: str) -> str:
    """The participant list's row naming name."""
    return next(row for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S) if name in row)


def test_a_narstaende_added_in_english_is_listed_so_and_contact_details_keep_it(
    as_region, db_session, create_case
):
    case = create_case()
    url = f"/cases/{case.uid}"
    private = forms_of(text_of(as_region.get(url)))[f"{url}/participants/private"]
    assert ("private-language", "sv") in private  # Swedish unless chosen
    added = as_region.post(
        f"{url}/participants/private",
        data=fill(
            private,
            **{
                "private-kind": "narstaende",
                "private-name": "John Smith",
                "private-email": "john@example.com",
                "private-language": "en",
            },
        ),
    )
    assert added.status_code == 303
    assert _participants(db_session, case)["John Smith"].language == "en"
    html = text_of(as_region.get(url))
    assert "<td>Engelska</td>" in _row_of(html, "John Smith")
    john = _participants(db_session, case)["John Smith"]
    # Contact details set with the language left "as before" keep it; another choice changes it.
    contact = forms_of(html)[f"{url}/participants/contact"]
    assert ("contact-language", "") in contact
    kept = as_region.post(
        f"{url}/participants/contact",
        data=fill(contact, **{"contact-participant_id": str(john.id), "contact-phone": "070-123 45 67"}),
    )
    assert kept.status_code == 303
    assert _participants(db_session, case)["John Smith"].language == "en"
    contact = forms_of(text_of(as_region.get(url)))[f"{url}/participants/contact"]
    person = _participants(db_session, case)["person"]
    changed = as_region.post(
        f"{url}/participants/contact",
        data=fill(
            contact,
            **{
                "contact-participant_id": str(person.id),
                "contact-email": "person@example.com",
                "contact-language": "en",
            },
        ),
    )
    assert changed.status_code == 303
    assert _participants(db_session, case)["person"].language == "en"


@pytest.mark.parametrize("value", ["fi", "EN", "engelska", "<b>"])
def test_an_unknown_language_is_refused_at_the_field_and_what_was_typed_stays(
    as_region, db_session, create_case, value
):
    case = create_case()
    url = f"/cases/{case.uid}"
    forms = forms_of(text_of(as_region.get(url)))
    refused = as_region.post(
        f"{url}/participants/private",
        data=fill(
            forms[f"{url}/participants/private"],
            **{
                "private-kind": "narstaende",
                "private-name": "Eva Andersson",
                "private-email": "eva@example.se",
                "private-language": value,
            },
        ),
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert 'id="private-language-error"' in html and "Välj svenska eller engelska." in html
    assert 'value="Eva Andersson"' in html and 'value="eva@example.se"' in html
    assert "Eva Andersson" not in _participants(db_session, case)
    person = _participants(db_session, case)["person"]
    refused = as_region.post(
        f"{url}/participants/contact",
        data=fill(
            forms[f"{url}/participants/contact"],
            **{
                "contact-participant_id": str(person.id),
                "contact-email": "ny@example.se",
                "contact-language": value,
            },
        ),
    )
    assert refused.status_code == 400
    assert 'id="contact-language-error"' in text_of(refused) and 'value="ny@example.se"' in text_of(refused)
    again = _participants(db_session, case)["person"]
    assert (again.email, again.language) == (person.email, "sv")


def test_an_e_mail_address_pasted_with_spaces_around_it_is_taken_without_them(
    as_region, db_session, create_case
):
    # The address fields are plain text fields: a copied address often brings a space or a tab along.
    case = create_case()
    url = f"/cases/{case.uid}"
    private = forms_of(text_of(as_region.get(url)))[f"{url}/participants/private"]
    added = as_region.post(
        f"{url}/participants/private",
        data=fill(
            private,
            **{"private-kind": "narstaende", "private-name": "Nils", "private-email": " nils@example.se\t"},
        ),
    )
    assert added.status_code == 303
    assert _participants(db_session, case)["Nils"].email == "nils@example.se"
    contact = forms_of(text_of(as_region.get(url)))[f"{url}/participants/contact"]
    person = _participants(db_session, case)["person"]
    changed = as_region.post(
        f"{url}/participants/contact",
        data=fill(
            contact,
            **{"contact-participant_id": str(person.id), "contact-email": "  person@example.se  "},
        ),
    )
    assert changed.status_code == 303
    assert _participants(db_session, case)["person"].email == "person@example.se"


def test_wtforms_own_refusals_are_whole_sentences_in_the_page_language(as_region, create_case):
    """A choice the form does not offer (a stale or altered page) is refused in plain words, not WTForms'
    "Felaktigt val; kunde inte ceorce:a"."""
    case = create_case()
    url = f"/cases/{case.uid}"
    for lang, not_valid in (("sv", "Inte ett giltigt val."), ("en", "Not a valid choice.")):
        html = text_of(as_region.get(f"{url}?lang={lang}"))
        contact = forms_of(html)[f"{url}/participants/contact"]
        refused = as_region.post(
            f"{url}/participants/contact", data=fill(contact, **{"contact-participant_id": "abc"})
        )
        assert refused.status_code == 400
        assert f"<li>{not_valid}</li>" in text_of(refused)
        assert "coerce" not in text_of(refused)
        private = forms_of(html)[f"{url}/participants/private"]
        refused = as_region.post(
            f"{url}/participants/private",
            data=fill(private, **{"private-kind": "zz", "private-name": "John Smith"}),
        )
        assert refused.status_code == 400
        assert f"<li>{not_valid}</li>" in text_of(refused)
