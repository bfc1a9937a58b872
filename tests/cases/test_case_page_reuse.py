"""What the case page renders once per process and reuses (the unit picker's organisations, a step's
reason field) follows the directory and the form, and column reads see the transaction's own writes."""

from __future__ import annotations

import re
from datetime import date

import pytest
import support
from flask import render_template_string
from sqlalchemy import text
from sqlmodel import select
from support import valid_personnummer
from webkit import fill, forms_of, login, text_of, without_tokens

from sipflow.cases import views
from sipflow.db import column_rows
from sipflow.people.models import Unit


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _unit_picker(html: str) -> str:
    return re.search(r'<select id="unit-unit_id".*?</select>', html, re.S).group(0)


def test_a_unit_renamed_or_added_shows_on_the_next_case_page(as_region, create_case, make_unit, db_session):
    case = create_case()
    url = f"/cases/{case.uid}"
    added = make_unit("municipality", "Ljungby kommun", unit_name="Hemtjänst Ljungby")
    assert ">Ljungby kommun, Hemtjänst Ljungby</option>" in _unit_picker(text_of(as_region.get(url)))
    db_session.get(Unit, added.id).name = "Hemtjänst Ljungby norra"
    db_session.commit()
    picker = _unit_picker(text_of(as_region.get(url)))
    assert ">Ljungby kommun, Hemtjänst Ljungby norra</option>" in picker
    assert ">Ljungby kommun, Hemtjänst Ljungby</option>" not in picker
    other = make_unit("municipality", "Markaryds kommun", unit_name="Hemtjänst Markaryd")
    picker = _unit_picker(text_of(as_region.get(url)))
    assert f'<option value="{other.id}">Markaryds kommun, Hemtjänst Markaryd</option>' in picker


def test_the_picker_follows_a_change_of_the_directory_made_outside_the_app(
    as_region, create_case, make_unit, engine
):
    """The units are kept per process under the directory's token, which the database's triggers replace
    whoever writes: a change by plain SQL (another process, an SQL prompt, an import) shows at once, and
    the directory unchanged is not read again."""
    case = create_case()
    url = f"/cases/{case.uid}"
    added = make_unit("municipality", "Ljungby kommun", unit_name="Hemtjänst Ljungby")
    assert ">Ljungby kommun, Hemtjänst Ljungby</option>" in _unit_picker(text_of(as_region.get(url)))
    with support.statements(engine) as seen:
        as_region.get(url)
    assert not [s for s in seen if "FROM unit JOIN organisation" in s], seen

    changes = [
        (
            "UPDATE unit SET name = 'Hemtjänst Ljungby norra' WHERE id = :id",
            "Ljungby kommun, Hemtjänst Ljungby norra",
        ),
        (
            "UPDATE organisation SET name = 'Ljungbys kommun' WHERE id = :org",
            "Ljungbys kommun, Hemtjänst Ljungby norra",
        ),
        ("UPDATE unit SET active = false WHERE id = :id", None),
    ]
    for sql, shown in changes:
        with engine.begin() as connection:
            connection.execute(text(sql), {"id": added.id, "org": added.organisation_id})
        picker = _unit_picker(text_of(as_region.get(url)))
        labels = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', picker))
        assert labels.get(str(added.id)) == shown, sql


def test_units_of_the_same_name_in_two_organisations_are_told_apart_in_the_picker(
    as_region, create_case, make_unit
):
    case = create_case()
    ljungby = make_unit("municipality", "Ljungby kommun", unit_name="Hemtjänst")
    markaryd = make_unit("municipality", "Markaryds kommun", unit_name="Hemtjänst")
    picker = _unit_picker(text_of(as_region.get(f"/cases/{case.uid}")))
    labels = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', picker))
    # A chosen option shows its own label alone: each names its organisation, so no two are alike.
    assert labels[str(ljungby.id)] == "Ljungby kommun, Hemtjänst"
    assert labels[str(markaryd.id)] == "Markaryds kommun, Hemtjänst"
    assert len(set(labels.values())) == len(labels)


def _groups(html: str) -> dict[str, set[str]]:
    """The unit ids offered under each group label (an <optgroup> or a Ny SIP <fieldset>)."""
    found: dict[str, set[str]] = {}
    pattern = (
        r'<optgroup label="([^"]*)">(.*?)</optgroup>'
        r'|<legend>([^<]*)</legend>\s*<ul class="options">(.*?)</ul>'
    )
    for label, options, legend, boxes in re.findall(pattern, html, re.S):
        ids = re.findall(r'<option value="(\d+)"', options)
        ids += re.findall(r'type="checkbox"[^>]*value="(\d+)"', boxes)
        found.setdefault((label or legend).strip(), set()).update(ids)
    return found


@pytest.fixture
def namesakes(make_unit):
    """Three organisations named alike: two in Kronoberg (told apart by key), one in Skåne."""
    return (
        make_unit("other", "Vårdcentralen AB", unit_name="Vårdcentral Norr", county_code="07", key="vc-a"),
        make_unit("other", "Vårdcentralen AB", unit_name="Vårdcentral Norr", county_code="12", key="vc-b"),
        make_unit("other", "Vårdcentralen AB", unit_name="Vårdcentral Norr", county_code="07", key="vc-c"),
    )


def test_organisations_of_the_same_name_are_groups_of_their_own_in_the_case_pages_picker(
    as_region, create_case, db_session, namesakes
):
    case = create_case()
    url = f"/cases/{case.uid}"
    html = text_of(as_region.get(url))
    groups = _groups(_unit_picker(html))
    kronoberg_a, skane, kronoberg_c = (db_session.get(Unit, unit.id) for unit in namesakes)
    named = {label: ids for label, ids in groups.items() if label.startswith("Vårdcentralen AB")}
    # One group per organisation, each holding its own unit only, under a label no other group has.
    assert sorted(named.values(), key=sorted) == sorted(({str(u.id)} for u in namesakes), key=sorted)
    assert named["Vårdcentralen AB (Skåne län)"] == {str(skane.id)}
    kronoberg = [label for label in named if "Kronobergs län" in label]
    assert len(kronoberg) == 2 and all("[org-vc-" in label for label in kronoberg)
    labels = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', _unit_picker(html)))
    assert len({labels[str(u.id)] for u in namesakes}) == 3
    # The unit chosen is taken as offered, and one of the others afterwards too.
    for unit in (skane, kronoberg_c):
        page = text_of(as_region.get(url))
        form = forms_of(page)[f"{url}/participants/unit"]
        added = as_region.post(f"{url}/participants/unit", data=fill(form, **{"unit-unit_id": str(unit.id)}))
        assert added.status_code == 303, text_of(added)
    assert str(kronoberg_a.id) in _unit_picker(text_of(as_region.get(url)))


def test_organisations_of_the_same_name_are_groups_of_their_own_in_ny_sip(as_region, namesakes):
    groups = _groups(text_of(as_region.get("/cases/new")))
    named = {label: ids for label, ids in groups.items() if label.startswith("Vårdcentralen AB")}
    assert len(named) == 3 and all(len(ids) == 1 for ids in named.values())
    assert set().union(*named.values()) == {str(unit.id) for unit in namesakes}
    # A SIP started with one of them takes it as offered.
    form = forms_of(text_of(as_region.get("/cases/new")))["/cases/new"]
    data = fill(
        form,
        workflow_name="sip",
        identifier=valid_personnummer(date(1980, 5, 1)),
        given_name="Kim",
        family_name="Berg",
        home_municipality_code="0780",
        unit_ids=[namesakes[1].id],
    )
    assert as_region.post("/cases/new", data=data).status_code == 303


def test_a_refused_unit_form_keeps_the_unit_chosen(as_region, create_case, make_unit):
    case = create_case()
    url = f"/cases/{case.uid}"
    chosen = make_unit("municipality", "Älmhults kommun", unit_name="Hemtjänst Älmhult")
    form = forms_of(text_of(as_region.get(url)))[f"{url}/participants/unit"]
    refused = as_region.post(
        f"{url}/participants/unit", data=fill(form, **{"unit-unit_id": str(chosen.id), "unit-version": "0"})
    )
    assert refused.status_code in (400, 409)
    picker = _unit_picker(text_of(refused))
    assert f'<option value="{chosen.id}" selected>Älmhults kommun, Hemtjänst Älmhult</option>' in picker
    # The next fresh page chooses nothing.
    assert " selected>" not in _unit_picker(text_of(as_region.get(url)))


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_reused_parts_are_what_the_templates_write(as_region, create_case, monkeypatch, lang):
    case = create_case()
    url = f"/cases/{case.uid}?lang={lang}"
    as_region.get(url)  # fills what is reused
    reused = without_tokens(text_of(as_region.get(url)))
    assert '-reason"' in reused  # a step with a reason: its field is among the reused
    monkeypatch.setattr(views, "_FIXED_WHEN_FRESH", {})
    monkeypatch.setattr(views, "_fixed_html", {})
    views._unit_optgroup.cache_clear()
    monkeypatch.setattr(views, "_translated_labels", lambda variables, locale: {})
    assert reused == without_tokens(text_of(as_region.get(url)))


def test_column_rows_see_what_the_transaction_wrote(db_session, make_unit):
    unit = make_unit("municipality", "Tingsryds kommun", unit_name="Hemtjänst Tingsryd")
    db_session.get(Unit, unit.id).name = "Hemtjänst Tingsryd (ändrad)"  # pending, not flushed
    rows = column_rows(db_session, select(Unit.name).where(Unit.id == unit.id))
    assert [tuple(row) for row in rows] == [("Hemtjänst Tingsryd (ändrad)",)]
    db_session.rollback()


def test_texts_kept_per_catalogue_follow_the_page_language(app):
    template = '{{ _("Reminders") }} {{ _("100%% sure") }} {{ _("%(n)s left", n="<3") }}'
    for lang, expected in [
        ("sv", "Påminnelser 100% sure &lt;3 left"),
        ("en", "Reminders 100% sure &lt;3 left"),
        ("sv", "Påminnelser 100% sure &lt;3 left"),
    ]:
        for _ in range(2):  # the second render takes the kept texts
            with app.test_request_context(f"/?lang={lang}"):
                assert render_template_string(template) == expected


def test_the_pickers_labels_kept_for_a_sip_follow_the_page_language(as_region, create_case, make_unit):
    # A national organisation and a county's of one name are told apart by where they work: "hela landet"
    # in Swedish, "nationwide" in English, though the picker is kept per SIP and directory.
    make_unit("other", "Samordningsförbundet", unit_name="Kansliet", county_code=None)
    make_unit("other", "Samordningsförbundet", unit_name="Kansliet", county_code="07")
    url = f"/cases/{create_case().uid}"
    swedish = _unit_picker(text_of(as_region.get(url)))
    english = _unit_picker(text_of(as_region.get(url + "?lang=en")))
    assert "Samordningsförbundet (hela landet)" in swedish and "nationwide" not in swedish
    assert "Samordningsförbundet (nationwide)" in english and "hela landet" not in english
