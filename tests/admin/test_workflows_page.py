"""The workflows page: each loaded file's version, diagram, deadlines, reminders and cases on it."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from webkit import login, text_of

from sipflow import create_app
from sipflow.admin.workflow_overview import case_counts
from sipflow.cases.forms import PARTY_ROLE_LABELS
from sipflow.clock import to_local
from sipflow.retention.anonymise import RetentionPolicy, anonymise_expired_cases
from sipflow.workflow.registry import GUARDS

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_page_shows_every_version_its_deadlines_and_its_cases(
    client, make_user, create_case, registry, db_session
):
    create_case("sip")
    create_case("sip")
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    response = client.get("/admin/workflows")
    assert response.status_code == 200
    page = html.unescape(text_of(response))
    for workflow in registry.workflows():
        assert f"{workflow.name}</span> version {workflow.version}" in page
        assert workflow.path.rsplit("/", 1)[-1] in page
        for deadline in workflow.deadlines:
            assert deadline.label["sv"] in page
        for reminder in workflow.reminders:
            assert reminder.label["sv"] in page
        assert f"{workflow.initial} -->" in page or f"[*] --> {workflow.initial}" in page
    sip = registry.latest("sip")
    assert case_counts(db_session)[(sip.name, sip.version)] == 2
    section = page.split(f"{sip.name}</span> version {sip.version}", 1)[1]
    assert '<strong class="case-count">2</strong>' in section.split("</section>", 1)[0]


def test_the_page_says_how_many_cases_retention_anonymised_and_when(
    app, client, make_user, create_case, registry, db_session, now
):
    # What the nightly job did, seen where its years are: per final state, how many and the latest day.
    ended = [create_case("sip") for _ in range(3)]
    for case, state in zip(ended, ("closed", "closed", "declined"), strict=True):
        case.state = state
        case.updated_at = now - timedelta(days=11 * 366)
        db_session.add(case)
    db_session.commit()
    policy = RetentionPolicy.from_app(app)
    assert anonymise_expired_cases(db_session, now=now - timedelta(days=2), policy=policy, limit=1) == 1
    assert anonymise_expired_cases(db_session, now=now, policy=policy) == 2
    db_session.commit()
    create_case("sip")  # running: counted as a case on the version, never as anonymised
    login(client, make_user(None, roles="admin").username)
    sip = registry.latest("sip")
    for lang, closed, declined in (
        (
            "en",
            "Closed: 10 years, then anonymised · 2 cases anonymised, the latest on",
            "Consent declined: 5 years, then anonymised · 1 case anonymised, the latest on",
        ),
        (
            "sv",
            "Avslutad: 10 år, sedan anonymiseras det · 2 ärenden anonymiserade, senast den",
            "Samtycke nekat: 5 år, sedan anonymiseras det · 1 ärende anonymiserat, senast den",
        ),
    ):
        page = html.unescape(text_of(client.get(f"/admin/workflows?lang={lang}")))
        section = page.split(f"{sip.name}</span> version {sip.version}", 1)[1].split("</section>", 1)[0]
        retention = " ".join(re.sub(r"<[^>]+>", " ", section.split('<ul class="retention">', 1)[1]).split())
        assert f"{closed} {to_local(now).date().isoformat()}" in retention
        assert f"{declined} {to_local(now).date().isoformat()}" in retention
        assert retention.count("anonymised ·") + retention.count("anonymiseras det ·") == 2


def test_a_version_without_cases_counts_zero(client, make_user, registry):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = text_of(client.get("/admin/workflows"))
    assert page.count('<strong class="case-count">0</strong>') == len(registry.workflows())


def test_the_page_says_how_long_each_end_is_kept_with_the_overrides(app, client, make_user, registry):
    # A county sees what the nightly anonymisation will do without reading the files or the environment.
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    saved = dict(app.config["RETENTION_YEARS"])
    app.config["RETENTION_YEARS"] = {"cancelled": 2}
    try:
        page = html.unescape(text_of(client.get("/admin/workflows")))
    finally:
        app.config["RETENTION_YEARS"] = saved
    sip = registry.latest("sip")
    section = page.split(f"{sip.name}</span> version {sip.version}", 1)[1].split("</section>", 1)[0]
    kept = section.split('<ul class="retention">', 1)[1].split("</ul>", 1)[0]
    assert "Avslutad: 10 år, sedan anonymiseras det" in kept
    assert "Samtycke nekat: 5 år, sedan anonymiseras det" in kept
    assert "Makulerad: 2 år, sedan anonymiseras det" in kept  # the override, not the file's 1


def test_a_case_whose_workflow_version_lost_its_file_is_explained_not_a_server_error(
    app, client, make_user, create_case, parties, db_session, caplog
):
    # A county edits sip.toml in place (version 1 -> 2) instead of adding a file: the cases on version 1
    # have no workflow any more. Their pages were a server error; the workflows page did not say it.
    case = create_case("sip")
    case.workflow_version = 99
    db_session.add(case)
    db_session.commit()
    login(client, parties.region_user.username)
    for page in (f"/cases/{case.uid}", f"/cases/{case.uid}/plan", f"/cases/{case.uid}/meetings/outcome"):
        response = client.get(page)
        assert response.status_code == 503, page
        assert "arbetsflödet sip, version 99" in html.unescape(text_of(response))
    assert "workflow sip version 99, which no loaded workflow file defines" in caplog.text
    admin_client = app.test_client()
    admin = make_user(None, roles="admin")
    login(admin_client, admin.username)
    page = html.unescape(text_of(admin_client.get("/admin/workflows")))
    missing = page.split('id="missing-workflows"', 1)[1].split("</section>", 1)[0]
    assert "sip</span> version 99: 1 ärende" in missing


def test_the_start_warns_of_each_version_cases_run_on_that_no_file_defines(
    app, create_case, db_session, caplog
):
    # The page above and the case pages said it; the start said nothing, so a removed file was noticed
    # when someone opened such a case. The start counts them with the page's query.
    for _ in range(2):
        case = create_case("sip")
        case.workflow_version = 99
        db_session.add(case)
    db_session.commit()
    keys = ("ENV_NAME", "TESTING", "DATABASE_URL", "SECRET_KEY", "OUTBOX_DIR")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        started = create_app({key: app.config[key] for key in keys})
    started.extensions["sipflow.engine"].dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "workflow sip version 99: 2 cases run on it and no workflow file defines it; their pages cannot be "
        "shown until its file is back in the workflow folder"
    ]


def test_the_start_does_not_stop_when_the_database_cannot_count_the_cases(tmp_path, caplog):
    # Before db upgrade there is no case table: the start goes on, saying nothing of cases.
    config = {"ENV_NAME": "testing", "SECRET_KEY": "test-secret-key-0123456789"}
    with caplog.at_level(logging.DEBUG, logger="sipflow"):
        started = create_app(config | {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"})
    started.extensions["sipflow.engine"].dispose()
    assert "cases per workflow version not counted at start: OperationalError" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def _rows(section: str) -> dict[str, str]:
    """The rows of a section's table of steps, by the step's name (the row's header)."""
    table = section.split('class="cases workflow-steps"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        header = re.search(r'<th scope="row">(.*?)(?:<br>|</th>)', row, re.S)
        if header:
            rows[header.group(1).strip()] = row
    return rows


def test_each_version_shows_its_steps_as_a_table_in_the_words_of_the_file(app, client, make_user, registry):
    # A county administrator reads which step leads where, who takes it and what it needs: not Mermaid.
    login(client, make_user(None, roles="admin").username)
    page = html.unescape(text_of(client.get("/admin/workflows")))
    with app.test_request_context(), force_locale("sv"):
        for workflow in registry.workflows():
            section = page.split(f"{workflow.name}</span> version {workflow.version}", 1)[1]
            section = section.split("</section>", 1)[0]
            readable, source = section.split("<details>", 1)
            assert "stateDiagram" not in readable and "-->" not in readable
            assert "Diagramkällkod (Mermaid)" in source and "stateDiagram" in source
            rows = _rows(readable)
            start = rows["Starta SIP (Ny SIP)"]
            assert workflow.states[workflow.initial].label["sv"] in start and "initiativtagare" in start
            for transition in workflow.transitions:
                row = rows[transition.label["sv"]]
                cells = re.findall(r"<td>(.*?)</td>", row, re.S)
                assert all(workflow.states[s].label["sv"] in cells[0] for s in transition.sources)
                assert workflow.states[transition.dest].label["sv"] in cells[1]
                for party in transition.parties:
                    assert str(PARTY_ROLE_LABELS[party]) in cells[2]
                for guard in transition.conditions:
                    assert str(GUARDS[guard].requirement or GUARDS[guard].message) in cells[3]
                for deadline in workflow.deadlines:
                    if transition.trigger in deadline.started_by:
                        assert f"Startar tidsfristen: {deadline.label['sv']}" in cells[4]
                    if transition.trigger in deadline.met_by:
                        assert f"Uppfyller tidsfristen: {deadline.label['sv']}" in cells[4]


def test_the_steps_are_named_in_english_for_an_english_reader(client, make_user, registry, db_session):
    admin = make_user(None, roles="admin")
    admin.language = "en"
    db_session.commit()
    login(client, admin.username)
    page = html.unescape(text_of(client.get("/admin/workflows")))
    sip = registry.latest("sip")
    section = page.split(f"{sip.name}</span> version {sip.version}", 1)[1].split("</section>", 1)[0]
    rows = _rows(section)
    # In the menu's words: the menu says New SIP to an English reader.
    assert "Start the SIP (New SIP)" in rows and "Start the SIP (Ny SIP)" not in rows
    for transition in sip.transitions:
        assert workflow_state_labels(sip, transition, "en") in rows[transition.label["en"]]
    assert "Diagram source (Mermaid)" in section


def workflow_state_labels(workflow, transition, locale: str) -> str:
    """The cell of the state a transition leads to, in locale."""
    return f"<td>{workflow.state_label(transition.dest, locale)}</td>"


def test_an_adult_workflow_lists_the_childs_view_as_asked_of_a_person_under_18_only(
    client, make_user, registry
):
    # The adult files name the guard for a person of 16 or 17 on them; listed bare, it read as asked of all.
    login(client, make_user(None, roles="admin").username)
    page = html.unescape(text_of(client.get("/admin/workflows")))
    for name in ("sip", "sip_discharge"):
        workflow = registry.latest(name)
        section = page.split(f"{workflow.name}</span> version {workflow.version}", 1)[1].split(
            "</section>", 1
        )[0]
        readable = section.split("<details>", 1)[0]
        assert "Skriv barnets egen syn, eller varför den saknas." not in readable, name
        named = [t for t in workflow.transitions if "plan_child_view_or_reason" in t.conditions]
        assert named, name
        for transition in named:
            row = _rows(readable)[transition.label["sv"]]
            assert "För en person under 18 år: skriv barnets egen syn, eller varför den saknas." in row
