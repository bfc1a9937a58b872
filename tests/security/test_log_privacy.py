"""No personnummer in the logs: not from the pages, not from refusals, not from the services."""

from __future__ import annotations

import logging
from datetime import date

from sqlmodel import select
from support import personnummer_in, valid_personnummer
from webkit import csrf_token, login

from sipflow.cases.models import SipCase
from sipflow.security.redaction import REDACTED, redact


def _new_sip(client, identifier: str, unit_id: int):
    page = client.get("/cases/new")
    return client.post(
        "/cases/new",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "workflow_name": "sip",
            "id_kind": "personnummer",
            "identifier": identifier,
            "given_name": "Loggtest",
            "family_name": "Person",
            "home_municipality_code": "0780",
            "unit_ids": str(unit_id),
        },
    )


def test_starting_sips_leaves_no_personnummer_in_the_log(client, parties, db_session, captured_log):
    pnr = valid_personnummer(date(1984, 3, 9), 512)
    wrong = pnr[:-1] + str((int(pnr[-1]) + 1) % 10)
    before = len(captured_log)
    assert login(client, parties.region_user.username).status_code == 302
    assert _new_sip(client, wrong, parties.municipality.id).status_code == 400
    assert _new_sip(client, pnr[2:8] + "-" + pnr[8:], parties.municipality.id).status_code == 303
    assert db_session.exec(select(SipCase)).first() is not None
    new_lines = captured_log[before:]
    assert new_lines, "the requests wrote no log line at all, so the scan would prove nothing"
    for variant in (pnr, pnr[2:], pnr[:8] + "-" + pnr[8:], wrong):
        assert not any(variant in line for line in new_lines)
    assert personnummer_in(captured_log) == []


def test_the_scan_recognises_a_personnummer():
    assert personnummer_in(["ok 2026-11-22", "person 19121212-1212 here"]) == ["person 19121212-1212 here"]


def test_redaction_filter_rewrites_identifier_shaped_numbers():
    assert redact("pnr 19121212-1212, 121212-1212, 191212121212") == f"pnr {REDACTED}, {REDACTED}, {REDACTED}"
    assert redact("at 2026-11-22 12:00, id 123456789012345") == "at 2026-11-22 12:00, id 123456789012345"


def test_the_server_log_keeps_no_token_of_a_personal_answer_feed_or_password_address(app, caplog):
    # The development server logs every request line; a token in it opens a person's plans, an invitee's
    # answer page, a calendar feed or an account to whoever reads the log.
    token = "eyJsIjoxLCJuIjoiZGYw.RcvVXdAtvYpGsujecwdtoLMFX94"
    addresses = sorted(
        rule.rule.replace("<token>", token) for rule in app.url_map.iter_rules() if "token" in rule.arguments
    )
    assert {"/my-plan/", "/answer/", "/calendar/", "/set-password/"} <= {a.split(token)[0] for a in addresses}
    case_page = "/cases/c0cda3061cf541f18691f2ebdb020052"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for address in [*addresses, case_page]:
            logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1", f"GET {address} HTTP/1.1", 200)
    logged = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(logged) == len(addresses) + 1
    assert not [line for line in logged if token in line], logged
    assert sum("[token]" in line for line in logged) == len(addresses)
    assert any(case_page in line for line in logged)  # a case's address is no secret: kept for debugging
