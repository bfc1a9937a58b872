"""The access log's outcomes in words: the loggutdrag (Swedish) and the registerutdrag (in the language it is
made in) word every outcome the log can write from one mapping (audit.OUTCOME_WORDS), never showing its code;
and a step sent twice, answered "already done", is logged as an access that saved nothing."""

from __future__ import annotations

import ast
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

import sipflow
from sipflow.db import unit_of_work
from sipflow.retention.export import person_export_json
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry, record_access
from sipflow.security.extract import access_extract_csv

AT = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def written_outcomes() -> set[str]:
    """Every outcome the code passes to the log: each `outcome=audit.NAME` (or `outcome=NAME` in audit.py)
    in sipflow's source, as the value of that constant, and record_access's default."""
    names = set()
    for path in Path(sipflow.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "outcome":
                value = node.value
                if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
                    if value.value.id == "audit":
                        names.add(value.attr)
                elif isinstance(value, ast.Name) and path.name == "audit.py":
                    names.add(value.id)
    # web._log_case_reads passes a variable: the outcomes it takes are set in it.
    names |= {"ALLOWED", "DENIED", "NOT_SAVED", "NOT_FOUND"}
    return {getattr(audit, name) for name in names if hasattr(audit, name)}


def test_every_outcome_the_log_can_write_has_words(app_ctx):
    assert written_outcomes() <= set(audit.OUTCOMES)
    assert set(audit.OUTCOME_WORDS) == set(audit.OUTCOMES)
    for locale in ("sv", "en"):
        with force_locale(locale):
            words = {code: str(text) for code, text in audit.OUTCOME_WORDS.items()}
        # Words, not a code ("allowed" is both in English): no underscore, and in Swedish none is the code.
        assert all(words[code] and "_" not in words[code] for code in audit.OUTCOMES), words
        assert locale == "en" or all(words[code] != code for code in audit.OUTCOMES), words
        assert len(set(words.values())) == len(words), "two outcomes read the same"
    with force_locale("sv"):
        assert str(audit.OUTCOME_WORDS[audit.NOT_SAVED]) == "tillåten, inget sparades"


@pytest.fixture
def every_outcome(app_ctx, db_session, parties, create_case):
    """A case whose person's log holds a row of every outcome."""
    case = create_case()
    with unit_of_work(db_session):
        for minute, outcome in enumerate(audit.OUTCOMES):
            record_access(
                db_session,
                user=parties.region_user,
                action=audit.CASE_TRANSITION,
                purpose=audit.PURPOSE_CARE,
                case=case,
                outcome=outcome,
                now=AT + timedelta(minutes=minute),
            )
    return case


def test_the_loggutdrag_words_every_outcome_in_swedish(db_session, every_outcome):
    with force_locale("en"):  # the loggutdrag is Swedish whoever makes it
        data = access_extract_csv(db_session, every_outcome.person_id)
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))
    outcomes = [row[-1] for row in rows[1:]][-len(audit.OUTCOMES) :]  # after the case's own start
    assert outcomes == ["tillåten", "nekad", "ingen träff", "tillåten, inget sparades"]
    assert not any(code in data.decode("utf-8") for code in audit.OUTCOMES if "_" in code)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("sv", ["tillåten", "nekad", "ingen träff", "tillåten, inget sparades"]),
        ("en", ["allowed", "denied", "no match", "allowed, nothing saved"]),
    ],
)
def test_the_registerutdrag_words_every_outcome(db_session, every_outcome, locale, expected):
    with force_locale(locale):
        data = person_export_json(db_session, every_outcome.person_id, now=NOW)
    document = json.loads(data)
    assert [row["outcome"] for row in document["access_log"]][-len(expected) :] == expected
    assert not any(f'"{code}"' in data.decode("utf-8") for code in audit.OUTCOMES if "_" in code)


def test_a_step_sent_twice_is_logged_as_an_access_that_saved_nothing(
    client, db_session, parties, create_case
):
    assert login(client, parties.region_user.username).status_code == 302
    case = create_case()
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/cancel"
    data = fill(forms_of(text_of(client.get(page)))[action], **{"cancel-reason": "Felregistrerad"})
    assert client.post(action, data=data).status_code == 303
    again = client.post(action, data=data)  # a double click: answered "already done"
    assert again.status_code == 303
    assert "troligen ett dubbelklick" in text_of(client.get(page))
    rows = db_session.exec(
        select(AccessLogEntry)
        .where(AccessLogEntry.case_id == case.id, AccessLogEntry.action == audit.CASE_TRANSITION)
        .order_by(AccessLogEntry.seq)
    ).all()
    assert [row.outcome for row in rows] == [audit.ALLOWED, audit.NOT_SAVED]
