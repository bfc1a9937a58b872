"""A refused form's page opens with an error summary (macros.html error_summary, in base.html's block): role
alert, focused as the page loads, each refusal a link to its field, and the title says "Fel:" first; the same
on the case pages, the meeting pages, the administration and the password page. Help said once for several
fields is tied to each of them, and the plan editor's first GET marks no field invalid."""

from __future__ import annotations

import re
from html import unescape

import pytest
from support import fire
from webkit import beside_fields, csrf_token, error_summary_of, fill, forms_of, login, text_of
from wtforms import Form, FormField, RadioField, SelectChoice, StringField

from sipflow.clock import now_utc
from sipflow.forms import RowList, error_summary_items

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _summary_targets(html: str) -> list[str]:
    """The ids the page's error summary links to, after checking it is the page's focus target and each id
    is an element of the page (outside the summary)."""
    summary = error_summary_of(html)
    assert summary, "no error summary"
    opening = summary[: summary.index(">") + 1]
    for attribute in ('role="alert"', 'tabindex="-1"', "autofocus", 'aria-labelledby="error-summary-title"'):
        assert attribute in opening
    assert html.count("autofocus") == 1  # nothing else takes the focus from it
    assert re.search(r"<title>Fel: ", html)
    targets = re.findall(r'<a href="#([^"]+)">', summary)
    assert targets
    page = beside_fields(html)
    for target in targets:
        assert page.count(f'id="{target}"') == 1, target
    # The summary follows the page: its links in the order of the elements they lead to.
    assert targets == sorted(targets, key=lambda target: page.index(f'id="{target}"'))
    # The summary comes first in <main>, before the page's heading.
    assert html.index("error-summary") < html.index("<h1")
    return targets


def _form(client, url: str, key: str):
    (pairs,) = [p for p in forms_of(text_of(client.get(url))).values() if any(k == key for k, _v in p)]
    return pairs


def test_ny_sip_with_a_bad_identifier_opens_with_a_summary_leading_to_the_field(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    ok = text_of(client.get("/cases/new"))
    assert "error-summary" not in ok and "<title>Fel:" not in ok
    response = client.post("/cases/new", data=fill(forms_of(ok)["/cases/new"], identifier="12345"))
    assert response.status_code == 400
    targets = _summary_targets(text_of(response))
    assert "identifier" in targets


def test_an_empty_booking_opens_with_a_summary_and_its_help_is_tied_to_the_fields(
    client, db_session, registry, parties, create_case
):
    case = create_case()
    for trigger in ("give_consent", "start_preparation"):
        fire(db_session, registry, parties.region_user, case, trigger, now=now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/meetings/new"
    first = text_of(client.get(url))
    date = re.search(r'<input[^>]*id="date"[^>]*>', first).group(0)
    assert 'aria-describedby="book-when-help"' in date and 'id="book-when-help"' in first
    mode = re.search(r'<input[^>]*id="mode-0"[^>]*>', first).group(0)
    assert 'aria-describedby="book-mode-help"' in mode and 'id="book-mode-help"' in first
    pairs = forms_of(first)[url]
    response = client.post(url, data=fill(pairs, date="", starts="", ends="", mode=None))
    assert response.status_code == 400
    html = text_of(response)
    targets = _summary_targets(html)
    assert "date" in targets
    date = re.search(r'<input[^>]*id="date"[^>]*>', beside_fields(html)).group(0)
    assert 'aria-describedby="book-when-help date-error"' in date and 'aria-invalid="true"' in date


@pytest.mark.parametrize(
    ("url", "values", "expected"),
    [
        ("/admin/users/new", {"username": "", "display_name": "", "email": "not-an-email"}, "email"),
        ("/admin/organisations/new", {"key": "", "name": ""}, "name"),
        ("/admin/units/new", {"key": "", "name": "", "email": "not-an-email"}, "organisation_id"),
    ],
)
def test_a_refused_administration_form_opens_with_a_summary(client, make_user, url, values, expected):
    admin = make_user(None, roles="admin")  # a national administrator, who may create organisations
    assert login(client, admin.username).status_code == 302
    token = csrf_token(text_of(client.get(url)))
    response = client.post(url, data={"csrf_token": token, **values})
    assert response.status_code == 400
    assert expected in _summary_targets(text_of(response))


def test_a_refused_password_change_opens_with_a_summary(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    pairs = _form(client, "/password", "current_password")
    empty = fill(pairs, current_password="", new_password="", new_password_again="")
    response = client.post("/password", data=empty)
    assert "current_password" in _summary_targets(text_of(response))


def test_a_group_of_radios_is_reached_at_its_first_choice_and_hidden_fields_are_left_out(app):
    class Small(Form):
        name = StringField("Name")
        kind = RadioField("Kind", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])

    form = Small(prefix="small")
    form.name.errors = ["Write a name."]
    form.kind.errors = ["Choose a kind."]
    items = error_summary_items([form, None], ["The SIP has ended."])
    assert [(str(i.message), i.target) for i in items] == [
        ("The SIP has ended.", None),
        ("Name: Write a name.", "small-name"),
        ("Kind: Choose a kind.", "small-kind-0"),
    ]
    assert error_summary_items([Small()]) == []


def test_the_invitation_summary_follows_the_page_username_first(client, make_user):
    # InviteUserForm adds the username to UserForm's fields; the page shows it first, and so does the summary.
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    token = csrf_token(text_of(client.get("/admin/users/new")))
    response = client.post(
        "/admin/users/new", data={"csrf_token": token, "username": "", "display_name": "", "email": "bad"}
    )
    targets = _summary_targets(text_of(response))
    assert targets[:3] == ["username", "display_name", "email"]


def _summary_lines(html: str) -> list[str]:
    """The texts of the error summary's lines, tags taken out."""
    lines = re.findall(r"<li>(.*?)</li>", error_summary_of(html), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in lines]


def test_each_line_of_an_empty_ny_sip_names_its_field(client, parties):
    # Only the summary names the field: the message beside it stays the message.
    assert login(client, parties.region_user.username).status_code == 302
    pairs = _form(client, "/cases/new", "identifier")
    empty = fill(
        pairs, workflow_name="", identifier="", given_name="", family_name="", home_municipality_code=""
    )
    response = client.post("/cases/new", data=empty)
    assert response.status_code == 400
    html = text_of(response)
    required = "Fältet måste fyllas i."
    assert _summary_lines(html) == [
        f"Typ av SIP: {required}",
        f"Identitetsnummer: {required}",
        f"Förnamn: {required}",
        f"Efternamn: {required}",
        f"Folkbokföringskommun: {required}",
    ]
    assert re.search(rf'<ul class="field-errors" id="given_name-error">\s*<li>{required}</li>', html)


def test_a_row_field_is_named_by_its_row_and_a_question_without_a_colon(app):
    class Row(Form):
        who = StringField("Who")

    class Rows(Form):
        efforts = RowList(FormField(Row), min_entries=2, row_heading=lambda number: f"Effort {number}")
        plain = RowList(FormField(Row), min_entries=1)
        why = StringField("Why is it removed?")
        kind = StringField("Kind:")

    form = Rows()
    form.efforts.entries[1].form.who.errors = ["Required."]
    form.plain.entries[0].form.who.errors = ["Required."]
    form.why.errors = ["Required."]
    form.kind.errors = ["Required."]
    with app.test_request_context():
        lines = [(str(i.message), i.target) for i in error_summary_items([form])]
    assert lines == [
        ("Effort 2, Who: Required.", "efforts-1-who"),
        ("Who: Required.", "plain-0-who"),
        ("Why is it removed? Required.", "why"),
        ("Kind: Required.", "kind"),
    ]
