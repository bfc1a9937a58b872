"""A step sent after the SIP's workflow file lost its version (or the case's state) answers 503 asking for
the file back, and shows what was typed in the "Det du fyllde i" card, to send again once the file is back:
the page asked the user to wait for an administrator and dropped the reason they had typed."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from webkit import fill, forms_of, login, text_of

REASON = "Personen har flyttat till Kalmar och vill ha sin SIP där"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _decline_form(client, case):
    url = f"/cases/{case.uid}/transitions/decline_consent"
    return url, forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]


def _kept(html: str) -> str:
    start = html.index('id="h-kept-input"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize(
    ("change", "heading"),
    [
        ("workflow_version = 99", "Arbetsflödesfil saknas"),
        ("state = 'no_such_state'", "Arbetsflödets status saknas"),
    ],
)
def test_a_step_sent_after_its_workflow_went_keeps_the_reason(
    as_region, engine, create_case, change, heading
):
    case = create_case()
    url, form = _decline_form(as_region, case)
    reason_field = next(name for name, _value in form if name.endswith("reason"))
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE sipcase SET {change} WHERE id = :id"), {"id": case.id})
    response = as_region.post(url, data=fill(form, **{reason_field: REASON}))
    assert response.status_code == 503
    html = text_of(response)
    assert heading in html
    assert REASON in _kept(html)
