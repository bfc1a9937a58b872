"""Two organisations edit the plan at once: the later save is merged with the earlier, field by field and row
by row (plans.merge), never saved over what the other wrote unseen."""

from __future__ import annotations

import html as htmllib

import pytest
from plankit import complete_data, give_huvudansvar, save
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.plans.editor import plan_data
from sipflow.plans.services import find_plan

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]

CLASHES = "Där ni båda har ändrat samma sak står det vid fältet"
MERGED = "Deras ändringar är införda i formuläret nedan och dina finns kvar"


def url(case) -> str:
    return f"/cases/{case.uid}/plan"


@pytest.fixture
def two_writers(app, client, db_session, parties, held):
    """The held SIP with a plan; the region initiated it and the municipality holds overall responsibility,
    so both write it: (sara at the municipality, erik at the region), each a logged-in client."""
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.municipality.organisation_id, now)
    sara = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(sara, parties.municipality_user.username).status_code == 302
    assert login(client, parties.region_user.username).status_code == 302
    return sara, client


def open_editor(client, case) -> list:
    response = client.get(url(case))
    assert response.status_code == 200
    return forms_of(text_of(response))[url(case)]


def value(form, name) -> str:
    return dict(form)[name]


def stored(db_session, case) -> dict:
    db_session.expire_all()
    return plan_data(db_session, case, find_plan(db_session, case))


def page_text(response) -> str:
    return htmllib.unescape(text_of(response))


def test_the_testers_case_the_later_save_takes_in_the_earlier_and_a_second_save_keeps_both(
    two_writers, db_session, held
):
    sara, erik = two_writers
    sara_form, erik_form = open_editor(sara, held), open_editor(erik, held)
    goal = "professional_goals-0-text"
    response = sara.post(
        url(held),
        data=fill(
            sara_form,
            action="save",
            fast_omsorgskontakt="SARA: Johan Falk boendestöd",
            **{goal: "SARA ändrade mål 1"},
        ),
    )
    assert response.status_code == 303

    response = erik.post(url(held), data=fill(erik_form, action="save", fast_vardkontakt="ERIK: Dr Lund"))

    assert response.status_code == 409
    text = page_text(response)
    assert MERGED in text and CLASHES not in text
    merged = forms_of(text_of(response))[url(held)]
    # Sara's values are in the form, marked as changed meanwhile; Erik's own change is kept.
    assert value(merged, "fast_omsorgskontakt") == "SARA: Johan Falk boendestöd"
    assert value(merged, goal).strip() == "SARA ändrade mål 1"
    assert value(merged, "fast_vardkontakt") == "ERIK: Dr Lund"
    assert "Ändrat av någon annan under tiden." in text
    assert stored(db_session, held)["fast_vardkontakt"] == "Dr Berg"  # nothing saved yet

    assert erik.post(url(held), data=fill(merged, action="save")).status_code == 303
    plan = stored(db_session, held)
    assert plan["fast_omsorgskontakt"] == "SARA: Johan Falk boendestöd"
    assert plan["fast_vardkontakt"] == "ERIK: Dr Lund"
    assert [g["text"] for g in plan["professional_goals"]] == ["SARA ändrade mål 1"]


def test_a_value_both_changed_keeps_what_you_typed_and_says_what_it_is_now(two_writers, db_session, held):
    sara, erik = two_writers
    sara_form, erik_form = open_editor(sara, held), open_editor(erik, held)
    sent = fill(sara_form, action="save", needs="Behov enligt Sara", **{"efforts-0-responsible": "Sara Sjö"})
    assert sara.post(url(held), data=sent).status_code == 303

    response = erik.post(
        url(held),
        data=fill(
            erik_form,
            action="save",
            needs="Behov enligt Erik",
            **{"efforts-0-responsible": "Sara Sjö", "efforts-0-what": "Samtalsstöd varje vecka"},
        ),
    )

    assert response.status_code == 409
    text = page_text(response)
    assert CLASHES in text
    assert "Ändrat av någon annan till Behov enligt Sara; du skrev Behov enligt Erik." in text
    merged = forms_of(text_of(response))[url(held)]
    assert value(merged, "needs").strip() == "Behov enligt Erik"
    # The same value typed by both is no clash; another field of the row only Erik changed is his.
    assert value(merged, "efforts-0-responsible") == "Sara Sjö"
    assert value(merged, "efforts-0-what").strip() == "Samtalsstöd varje vecka"
    assert stored(db_session, held)["needs"] == "Behov enligt Sara"

    # Erik has seen Sara's text beside his and chooses his: saved now, as he sends it.
    assert erik.post(url(held), data=fill(merged, action="save")).status_code == 303
    plan = stored(db_session, held)
    assert plan["needs"] == "Behov enligt Erik"
    assert plan["efforts"][0]["what"] == "Samtalsstöd varje vecka"
    assert plan["efforts"][0]["responsible"] == "Sara Sjö"


def test_rows_the_other_added_are_taken_in_and_rows_they_removed_are_shown_removed(
    two_writers, db_session, parties, held
):
    sara, erik = two_writers
    sara_form, erik_form = open_editor(sara, held), open_editor(erik, held)
    rows = {name: v for name, v in sara_form if name.endswith("-uid")}
    removed_effort = next(name for name, v in rows.items() if name.startswith("own_efforts-"))
    # Sara adds a goal and an effort and removes the person's own effort.
    sent = fill(
        sara_form,
        action="save",
        **{
            "own_goals-1-text": "SARA: att få ett eget boende",
            "efforts-2-what": "SARA: hemtjänst",
            "efforts-2-organisation_id": parties.municipality.organisation_id,
            "efforts-2-responsible": "Sara Sjö",
            removed_effort.replace("-uid", "-remove"): "y",
        },
    )
    assert sara.post(url(held), data=sent).status_code == 303

    # Erik, from his older page, adds a goal of his own and changes nothing else.
    response = erik.post(
        url(held), data=fill(erik_form, action="save", **{"own_goals-1-text": "ERIK: arbete"})
    )

    assert response.status_code == 409
    text = page_text(response)
    assert MERGED in text
    assert "Någon annan lade till raden under tiden." in text
    assert "Någon annan tog bort raden under tiden: den tas bort när du sparar" in text
    merged = forms_of(text_of(response))[url(held)]
    goals = [v.strip() for name, v in merged if name.startswith("own_goals-") and name.endswith("-text")]
    assert "SARA: att få ett eget boende" in goals and "ERIK: arbete" in goals
    assert "SARA: hemtjänst" in [v.strip() for name, v in merged if name.endswith("-what")]
    ticked = [name for name, v in merged if name.endswith("-remove")]
    assert len(ticked) == 1 and ticked[0].startswith("own_efforts-")  # the row Sara removed, ticked

    assert erik.post(url(held), data=fill(merged, action="save")).status_code == 303
    plan = stored(db_session, held)
    assert sorted(g["text"] for g in plan["own_goals"]) == sorted(
        ["Det är viktigt för mig att ha ett arbete.", "SARA: att få ett eget boende", "ERIK: arbete"]
    )
    assert "SARA: hemtjänst" in [e["what"] for e in plan["efforts"]]
    assert "Går promenader varje dag" not in [e["what"] for e in plan["efforts"]]


def test_a_row_removed_by_one_and_changed_by_the_other_is_kept_until_someone_chooses(
    two_writers, db_session, held
):
    sara, erik = two_writers
    sara_form, erik_form = open_editor(sara, held), open_editor(erik, held)
    uid_field = next(
        name for name, v in sara_form if name.startswith("other_efforts-") and name.endswith("-uid")
    )
    prefix = uid_field.removesuffix("-uid")
    assert (
        sara.post(url(held), data=fill(sara_form, action="save", **{f"{prefix}-remove": "y"})).status_code
        == 303
    )

    response = erik.post(
        url(held), data=fill(erik_form, action="save", **{f"{prefix}-what": "Arbetsträning på halvtid"})
    )

    assert response.status_code == 409
    text = page_text(response)
    assert CLASHES in text
    assert "Någon annan tog bort raden under tiden, men du har ändrat den" in text
    merged = forms_of(text_of(response))[url(held)]
    assert "Arbetsträning på halvtid" in [v.strip() for name, v in merged if name.endswith("-what")]
    assert not [name for name, v in merged if name.endswith("-remove")]
    assert erik.post(url(held), data=fill(merged, action="save")).status_code == 303
    assert "Arbetsträning på halvtid" in [e["what"] for e in stored(db_session, held)["efforts"]]
