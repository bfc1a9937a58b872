"""A version edited in place to take away a state cases are in: said at start and by `workflow check --cases`,
and such a case's page answers like one whose version lost its file (503), never a server error."""

from __future__ import annotations

import html
import logging

import pytest
from webkit import login, text_of

from sipflow import create_app
from sipflow.config import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _in_a_state_gone(create_case, db_session):
    case = create_case("sip")
    case.state = "awaiting_board"
    db_session.add(case)
    db_session.commit()
    return case


def test_a_case_in_a_state_its_file_no_longer_defines_is_explained_not_a_server_error(
    client, create_case, parties, db_session, caplog
):
    case = _in_a_state_gone(create_case, db_session)
    login(client, parties.region_user.username)
    for page in (f"/cases/{case.uid}", f"/cases/{case.uid}/plan"):
        response = client.get(page)
        assert response.status_code == 503, page
        assert "awaiting_board" in html.unescape(text_of(response))
    assert "a case is in state awaiting_board, which workflow sip version 1 defines no more" in caplog.text
    # Mina SIP lists it with the state's name as stored.
    listing = client.get("/cases")
    assert listing.status_code == 200
    assert "awaiting_board" in text_of(listing)


def test_the_start_and_the_check_warn_of_cases_in_a_state_the_file_no_longer_defines(
    app, create_case, db_session, caplog
):
    _in_a_state_gone(create_case, db_session)
    keys = ("ENV_NAME", "TESTING", "DATABASE_URL", "SECRET_KEY", "OUTBOX_DIR")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        started = create_app({key: app.config[key] for key in keys})
    started.extensions["sipflow.engine"].dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = (
        "workflow sip version 1: 1 case is in state awaiting_board, which its workflow file no longer "
        "defines; their pages cannot be shown until the state is back in the file"
    )
    assert warnings == [expected]
    files = [str(p) for p in sorted((PROJECT_ROOT / "workflows").glob("*.toml"))]
    result = app.test_cli_runner().invoke(args=["sipflow", "workflow", "check", "--cases", *files])
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("warning: ")] == [
        "warning: workflow sip version 1: 1 case is in state awaiting_board, which none of the files "
        "defines for that version; their pages cannot be shown without it: keep the state in the file "
        "of version 1 and make the change a new version, sip_v2.toml, beside it"
    ]


def test_mina_sip_names_a_case_whose_version_lost_its_file_by_the_newest_version_of_its_workflow(
    client, create_case, parties, db_session
):
    # Its version's file removed, the case was listed as "sip_child requested" in raw keys, though the
    # other version of the same workflow has the words.
    case = create_case("sip_child")
    case.workflow_version = 99
    db_session.add(case)
    db_session.commit()
    login(client, parties.region_user.username)
    page = html.unescape(text_of(client.get("/cases")))
    assert "SIP för barn och unga" in page
    assert "Initierad" in page
    assert "sip_child" not in page
