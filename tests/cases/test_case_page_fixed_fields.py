"""The case page's folded participant forms: their fields rendered once per language are the same HTML the
macro writes for each page, and a refused form is shown again with what was typed, not the stored fields."""

from __future__ import annotations

import pytest
from webkit import fill, forms_of, login, text_of, without_tokens

from sipflow.cases import views


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


LABELS = [("sv", "Relation till personen"), ("en", "Relation to the person")]


@pytest.mark.parametrize(("lang", "label"), LABELS)
def test_fixed_fields_are_what_the_macro_writes(as_region, create_case, monkeypatch, lang, label):
    case = create_case()
    url = f"/cases/{case.uid}?lang={lang}"
    as_region.get(url)  # fills the per-language HTML
    reused = without_tokens(text_of(as_region.get(url)))
    monkeypatch.setattr(views, "_FIXED_WHEN_FRESH", {})
    assert reused == without_tokens(text_of(as_region.get(url)))
    assert f'<html lang="{lang}">' in reused
    assert f'<label class="label" for="private-relation">{label}</label>' in reused


def test_a_refused_narstaende_keeps_what_was_typed(as_region, create_case):
    case = create_case()
    url = f"/cases/{case.uid}"
    as_region.get(url)
    private = forms_of(text_of(as_region.get(url)))[f"{url}/participants/private"]
    refused = as_region.post(
        f"{url}/participants/private",
        data=fill(
            private,
            **{
                "private-kind": "narstaende",
                "private-name": "Eva Andersson",
                "private-email": "inte-en-adress",
            },
        ),
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert 'value="Eva Andersson"' in html
    assert 'value="inte-en-adress"' in html
    assert 'id="private-email-error"' in html
    # The next fresh page shows the empty fields again.
    assert 'value="Eva Andersson"' not in text_of(as_region.get(url))
