"""What a page read is not what is stored now: one answer, whether the row version says so before the write
(a stale page, establishing from it too) or the compare-and-set loses to a save committed in between (two
saves at the same moment). The later one is merged (plans.merge); the same page sent twice is saved once."""

from __future__ import annotations

import html as htmllib

import pytest
from plankit import complete_data, give_huvudansvar, save
from sqlmodel import Session, select
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans import editor
from sipflow.plans.editor import plan_data
from sipflow.plans.models import PlanVersion
from sipflow.plans.services import find_plan

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]

CLASHES = "Där ni båda har ändrat samma sak står det vid fältet"
MERGED = "Deras ändringar är införda i formuläret nedan och dina finns kvar"
SOMEONE_ELSE = "Någon annan sparade planen"
ERIKS_NEEDS = "Eriks behov, sparat"


def save_url(case) -> str:
    return f"/cases/{case.uid}/plan"


def establish_url(case) -> str:
    return f"/cases/{case.uid}/plan/establish"


@pytest.fixture
def writers(app, db_session, parties, held, make_user):
    """The held SIP with a complete plan without needs, the region (Region Kronoberg) holding overall
    responsibility; three of its staff logged in, each a client of their own: (anna, erik, maria)."""
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now, needs=""), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    clients = []
    for name in ("anna", "erik", "maria"):
        user = make_user(parties.region, username=f"{name}_planrace")
        client = FreshContextClient(app, app.response_class, use_cookies=True)
        assert login(client, user.username).status_code == 302
        clients.append(client)
    return tuple(clients)


def page_forms(client, case) -> dict:
    response = client.get(save_url(case))
    assert response.status_code == 200
    return forms_of(text_of(response))


def value(form, name) -> str:
    return dict(form)[name].strip()


def stored(db_session, case) -> dict:
    db_session.expire_all()
    return plan_data(db_session, case, find_plan(db_session, case))


def versions(db_session, case) -> list[PlanVersion]:
    db_session.expire_all()
    return db_session.exec(select(PlanVersion).where(PlanVersion.case_id == case.id)).all()


def page_text(response) -> str:
    return htmllib.unescape(text_of(response))


def test_establishing_from_a_page_read_before_a_colleagues_save_merges_and_the_version_keeps_both(
    writers, db_session, held
):
    anna, erik, _maria = writers
    anna_form = page_forms(anna, held)[establish_url(held)]
    erik_form = page_forms(erik, held)[save_url(held)]
    sent = fill(erik_form, action="save", needs=ERIKS_NEEDS, **{"efforts-0-responsible": "Erik Ek, kurator"})
    assert erik.post(save_url(held), data=sent).status_code == 303

    response = anna.post(
        establish_url(held), data=fill(anna_form, **{"professional_goals-1-text": "Annas mål: arbete"})
    )

    assert response.status_code == 409
    text = page_text(response)
    assert MERGED in text and CLASHES not in text
    merged = forms_of(text_of(response))[establish_url(held)]
    assert value(merged, "needs") == ERIKS_NEEDS
    assert value(merged, "efforts-0-responsible") == "Erik Ek, kurator"
    assert value(merged, "professional_goals-1-text") == "Annas mål: arbete"
    # Nothing established, nothing saved: Anna sees Erik's text before any version holds her plan.
    assert versions(db_session, held) == []
    assert db_session.get(SipCase, held.id).state == "meeting_held"
    assert stored(db_session, held)["professional_goals"][-1]["text"] != "Annas mål: arbete"

    assert anna.post(establish_url(held), data=fill(merged)).status_code == 303
    (version,) = versions(db_session, held)
    assert version.content["needs"] == ERIKS_NEEDS
    assert "Annas mål: arbete" in [g["text"] for g in version.content["professional_goals"]]
    plan = stored(db_session, held)
    assert plan["needs"] == ERIKS_NEEDS
    assert plan["efforts"][0]["responsible"] == "Erik Ek, kurator"
    assert "Annas mål: arbete" in [g["text"] for g in plan["professional_goals"]]


def _between_read_and_write(monkeypatch, other):
    """Run other() once, inside the next save, after its request read the plan and before it writes: a save
    committed at the same moment, which only the compare-and-set sees."""
    armed = [True]
    checked = editor.check_plan_data

    def check_then_other(*args, **kwargs):
        if armed[0]:
            armed[0] = False
            other()
        return checked(*args, **kwargs)

    monkeypatch.setattr(editor, "check_plan_data", check_then_other)
    return armed


def test_a_save_that_loses_the_compare_and_set_is_merged_and_saving_again_keeps_both(
    writers, db_session, held, monkeypatch
):
    _anna, erik, maria = writers
    erik_form = page_forms(erik, held)[save_url(held)]
    maria_form = page_forms(maria, held)[save_url(held)]
    read_at = find_plan(db_session, held).row_version

    def eriks_save():
        sent = fill(
            erik_form, action="save", needs=ERIKS_NEEDS, **{"efforts-0-responsible": "Erik Ek, kurator"}
        )
        assert erik.post(save_url(held), data=sent).status_code == 303

    armed = _between_read_and_write(monkeypatch, eriks_save)
    response = maria.post(
        save_url(held),
        data=fill(
            maria_form,
            action="save",
            needs="Marias behov",
            **{"efforts-1-responsible": "Maria Berg, biståndshandläggare"},
        ),
    )

    assert not armed[0]  # Erik's save came in between
    assert response.status_code == 409
    text = page_text(response)
    assert CLASHES in text
    assert f"Ändrat av någon annan till {ERIKS_NEEDS}; du skrev Marias behov." in text
    merged = forms_of(text_of(response))[save_url(held)]
    assert value(merged, "needs") == "Marias behov"
    assert value(merged, "efforts-0-responsible") == "Erik Ek, kurator"
    assert value(merged, "efforts-1-responsible") == "Maria Berg, biståndshandläggare"
    plan = stored(db_session, held)
    assert plan["needs"] == ERIKS_NEEDS and plan["efforts"][1]["responsible"] == "Omar Lind"
    assert find_plan(db_session, held).row_version == read_at + 1  # Erik's save only

    # Maria has seen Erik's Behov beside hers and keeps hers; his Ansvarig stays.
    assert maria.post(save_url(held), data=fill(merged, action="save")).status_code == 303
    plan = stored(db_session, held)
    assert plan["needs"] == "Marias behov"
    assert plan["efforts"][0]["responsible"] == "Erik Ek, kurator"
    assert plan["efforts"][1]["responsible"] == "Maria Berg, biståndshandläggare"


def test_the_same_page_sent_twice_at_the_same_moment_is_saved_once_not_someone_elses(
    app, writers, db_session, held, monkeypatch
):
    _anna, erik, _maria = writers
    sent = fill(
        page_forms(erik, held)[save_url(held)],
        action="save",
        needs=ERIKS_NEEDS,
        **{"professional_goals-1-text": "Eriks mål"},
    )
    read_at = find_plan(db_session, held).row_version
    # The same user's second request (a double click: the same page, the same browser's session cookie).
    again = FreshContextClient(app, app.response_class, use_cookies=True)
    cookie = app.config["SESSION_COOKIE_NAME"]
    again.set_cookie(cookie, erik.get_cookie(cookie).value)

    def first_click():
        assert again.post(save_url(held), data=sent).status_code == 303

    armed = _between_read_and_write(monkeypatch, first_click)
    response = erik.post(save_url(held), data=sent)

    assert not armed[0]
    assert response.status_code == 303
    page = page_text(erik.get(save_url(held)))
    assert "Planen är sparad." in page and SOMEONE_ELSE not in page
    plan = stored(db_session, held)
    assert plan["needs"] == ERIKS_NEEDS
    assert [g["text"] for g in plan["professional_goals"]] == ["Stabil psykisk hälsa.", "Eriks mål"]
    assert find_plan(db_session, held).row_version == read_at + 1  # saved once


def test_the_retry_after_a_stale_snapshot_that_finds_the_plan_saved_merges_too(
    engine, db_session, parties, held, writers, monkeypatch
):
    # SQLite refuses the compare-and-set from a snapshot older than another writer's commit; db's retry
    # reloads the plan and asks again (recheck): a plan saved meanwhile is merged there too, not refused.
    now = now_utc()
    plan = find_plan(db_session, held)
    shown = plan_data(db_session, held, plan)
    read_at, as_read = plan.row_version, editor.page_digest(shown)
    real = editor.compare_and_set

    def saved_in_between_then_retried(session, statement, *, obj, recheck, busy, params=None):
        # db.compare_and_set's retry: start afresh (on PostgreSQL that lets go of the case's row the save
        # locked first), reload the plan, recheck it; the other writer's save lands before the reload.
        monkeypatch.setattr(editor, "compare_and_set", real)  # once: the other save below is real
        session.rollback()
        with Session(engine, expire_on_commit=False) as other:
            theirs = plan_data(other, held, find_plan(other, held)) | {"needs": ERIKS_NEEDS}
            save(other, other.get(SipCase, held.id), parties.region_user, theirs, now)
        session.refresh(obj)
        recheck()
        return real(session, statement, obj=obj, recheck=recheck, busy=busy, params=params)

    monkeypatch.setattr(editor, "compare_and_set", saved_in_between_then_retried)
    mine = shown | {"needs": "Marias behov", editor.CONFIRMED_FOLLOW_UP_DAY: shown["follow_up_on"]}
    with pytest.raises(editor.PlanMerged) as merged, unit_of_work(db_session):
        editor.save_plan(
            db_session,
            held,
            parties.region_user,
            mine,
            expected_row_version=read_at,
            now=now,
            as_read=as_read,
        )
    assert [(c.name, c.theirs, c.yours) for c in merged.value.merge.clashes] == [
        ("needs", ERIKS_NEEDS, "Marias behov")
    ]
    assert merged.value.row_version == read_at + 1
    assert stored(db_session, held)["needs"] == ERIKS_NEEDS
