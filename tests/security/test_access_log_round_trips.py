"""An access-log append's statements: on PostgreSQL the row's INSERT rides in the head's new hash (a WITH)."""

from __future__ import annotations

import support
from sqlmodel import select

from sipflow.db import unit_of_work
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry, AccessLogHead, verify_chain


def test_an_append_is_two_statements_on_postgresql_three_on_sqlite(
    engine, db_session, parties, create_case, now
):
    case = create_case()  # the log has begun (the start's row): its head exists
    with unit_of_work(db_session), support.statements(engine) as seen:
        audit.record_access(
            db_session,
            user=parties.region_user,
            action=audit.CASE_VIEW,
            purpose=audit.PURPOSE_CARE,
            case=case,
            organisation_id=parties.region.organisation_id,
            now=now,
        )
    inserts = [s for s in seen if "INSERT INTO access_log " in s]
    heads = [s for s in seen if s.lstrip().startswith("UPDATE access_log_head")]
    assert len(inserts) == 1, seen
    if engine.dialect.name == "postgresql":
        # The bump, then one statement: WITH appended AS (INSERT ...) UPDATE access_log_head SET last_hash.
        assert len(seen) == 2, seen
        assert seen[1].lstrip().startswith("WITH appended AS") and "SET last_hash" in seen[1], seen
    else:
        assert len(seen) == 3 and len(heads) == 2, seen
    # The chain holds: the head names the row just written.
    db_session.expire_all()
    head = db_session.get(AccessLogHead, audit.HEAD_ID)
    last = db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert (head.length, head.last_hash) == (last.seq, last.row_hash)
    assert last.action == audit.CASE_VIEW and last.case_id is not None
    assert verify_chain(db_session) == []
