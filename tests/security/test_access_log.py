"""The access log: what a case view writes, the hash chain, tampering found, append-only, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, text, update
from sqlmodel import Session, select
from webkit import csrf_token, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import User
from sipflow.security import audit
from sipflow.security.audit import (
    GENESIS_HASH,
    AccessLogEntry,
    AccessLogHead,
    AccessLogImmutable,
    record_access,
    verify_chain,
)
from sipflow.security.cli import access_log_group


def entries(session: Session) -> list[AccessLogEntry]:
    session.expire_all()
    return list(session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all())


def append(session: Session, user, case, n: int, now) -> None:
    with unit_of_work(session):
        for i in range(n):
            record_access(
                session,
                user=user,
                action=audit.CASE_VIEW,
                purpose=audit.PURPOSE_CARE,
                case=case,
                now=now + timedelta(seconds=i),
            )


def empty_log(engine) -> None:
    """Remove every row and the head (as on a new database): the chain's tests count from seq 1."""
    with engine.begin() as connection:
        connection.execute(delete(AccessLogEntry.__table__))
        connection.execute(delete(AccessLogHead.__table__))


def run_verify(app):
    return app.test_cli_runner().invoke(access_log_group, ["verify"])


def raw(engine, sql: str, **params) -> None:
    """Tamper the way someone with database access would: plain SQL, outside the application."""
    with engine.begin() as connection:
        connection.execute(text(sql), params)


# --- What a view writes ------------------------------------------------------------------------------------


def test_viewing_a_case_writes_one_row_with_who_what_when_and_why(client, parties, create_case, db_session):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    (started,) = entries(db_session)
    assert (started.action, started.case_id, started.person_id) == ("case.create", case.id, case.person_id)
    assert (started.seq, started.prev_hash) == (1, GENESIS_HASH)
    before = now_utc()
    assert client.get(f"/cases/{case.uid}").status_code == 200
    after = now_utc()
    (row,) = entries(db_session)[1:]
    assert (row.seq, row.prev_hash) == (2, started.row_hash)
    assert row.user_id == parties.region_user.id
    assert row.organisation_id == parties.region.organisation_id
    assert (row.case_id, row.person_id) == (case.id, case.person_id)
    assert (row.action, row.purpose, row.outcome) == ("case.view", audit.PURPOSE_CARE, "allowed")
    assert before <= row.at <= after
    assert row.at.utcoffset() == timedelta(0)
    assert verify_chain(db_session) == []
    # The list of cases is not a view of any one case.
    client.get("/")
    assert len(entries(db_session)) == 2


def test_steps_and_participants_are_logged_as_what_they_are(client, parties, create_case, db_session):
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    token = csrf_token(text_of(client.get(f"/cases/{case.uid}")))
    added = client.post(
        f"/cases/{case.uid}/participants/private",
        data={"csrf_token": token, "private-kind": "narstaende", "private-name": "Eva Andersson"},
    )
    cancelled = client.post(
        f"/cases/{case.uid}/transitions/cancel", data={"csrf_token": token, "cancel-version": "1"}
    )
    # Both forms are refused (no version of the SIP sent): the SIP was shown back, nothing was saved.
    assert (added.status_code, cancelled.status_code) == (400, 400)
    actions = [(r.action, r.outcome) for r in entries(db_session)]
    assert actions == [
        ("case.create", "allowed"),
        ("case.view", "allowed"),
        ("case.participants", "not_saved"),
        ("case.transition", "not_saved"),
    ]


def test_a_refused_case_is_logged_with_the_case_only(client, parties, create_case, db_session):
    case = create_case()
    assert login(client, parties.outsider_user.username).status_code == 302
    assert client.get(f"/cases/{case.uid}").status_code == 404
    assert client.get("/cases/" + "f" * 32).status_code == 404
    refused, guessed = entries(db_session)[1:]  # after the start of the SIP
    assert (refused.action, refused.outcome, refused.case_id, refused.person_id) == (
        "access.denied",
        "denied",
        case.id,
        None,
    )
    assert (guessed.action, guessed.case_id, guessed.person_id) == ("access.denied", None, None)
    assert refused.organisation_id == parties.outsider.organisation_id
    assert verify_chain(db_session) == []


def test_record_access_refuses_nonsense(db_session, parties, now):
    with pytest.raises(ValueError):
        record_access(
            db_session, user=parties.region_user, action="case.view", purpose="x", outcome="maybe", now=now
        )
    with pytest.raises(ValueError):
        record_access(
            db_session,
            user=parties.region_user,
            action="case.view",
            purpose="x",
            now=now.replace(tzinfo=None),
        )
    db_session.rollback()


# --- The chain ---------------------------------------------------------------------------------------------


def test_an_intact_chain_verifies_and_the_cli_says_so(app, engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 5, now)
    rows = entries(db_session)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    head = db_session.get(AccessLogHead, 1)
    assert (head.length, head.last_hash) == (5, rows[-1].row_hash)
    assert verify_chain(db_session) == []
    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "access log intact: 5 entries"


def test_an_empty_log_is_intact(app, db_session):
    assert verify_chain(db_session) == []
    assert run_verify(app).output.strip() == "access log intact: 0 entries"


def test_an_edited_row_is_found(app, engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 4, now)
    raw(engine, "UPDATE access_log SET user_id = :other WHERE seq = 2", other=parties.outsider_user.id)
    assert verify_chain(db_session) == ["entry 2 does not match its hash (changed)"]
    result = run_verify(app)
    assert result.exit_code == 1
    assert "entry 2 does not match its hash (changed)" in result.output


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(
    app, engine, db_session, parties, create_case, now
):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 3, now)
    row = entries(db_session)[1]
    values = {name: getattr(row, name) for name in audit.HASHED_FIELDS} | {"purpose": "något annat"}
    forged = audit.compute_row_hash(row.prev_hash, values)
    raw(engine, "UPDATE access_log SET purpose = 'något annat', row_hash = :h WHERE seq = 2", h=forged)
    assert verify_chain(db_session) == ["entry 3 does not link to the entry before it"]
    assert run_verify(app).exit_code == 1


def test_a_deleted_row_is_found(app, engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 5, now)
    raw(engine, "DELETE FROM access_log WHERE seq = 3")
    assert verify_chain(db_session) == [
        "entries 3 to 3 are missing (removed)",
        "entry 4 does not link to the entry before it",
    ]
    result = run_verify(app)
    assert result.exit_code == 1 and "missing" in result.output


def test_a_deleted_last_row_is_found(app, engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 3, now)
    raw(engine, "DELETE FROM access_log WHERE seq = 3")
    assert verify_chain(db_session) == ["entries 3 to 3 are missing from the end (removed)"]
    result = run_verify(app)
    assert result.exit_code == 1 and "missing from the end" in result.output
    # Appending afterwards does not hide it: the new row links to the removed one.
    append(db_session, parties.region_user, case, 1, now)
    assert verify_chain(db_session) == [
        "entries 3 to 3 are missing (removed)",
        "entry 4 does not link to the entry before it",
    ]


def test_the_last_row_removed_with_the_head_wound_back_is_found(
    app, engine, db_session, parties, create_case, now
):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 3, now)
    raw(engine, "DELETE FROM access_log WHERE seq = 3")
    raw(engine, "UPDATE access_log_head SET length = 2")
    assert verify_chain(db_session) == ["entry 2 is not the one the head recorded"]
    assert run_verify(app).exit_code == 1


def test_a_row_added_by_hand_is_found(app, engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 2, now)
    last = entries(db_session)[-1]
    values = {name: getattr(last, name) for name in audit.HASHED_FIELDS} | {"seq": 3}
    raw(
        engine,
        "INSERT INTO access_log (seq, at, user_id, organisation_id, case_id, person_id, action, purpose,"
        " outcome, prev_hash, row_hash) SELECT 3, at, user_id, organisation_id, case_id, person_id, action,"
        " purpose, outcome, row_hash, :h FROM access_log WHERE seq = 2",
        h=audit.compute_row_hash(last.row_hash, values),
    )
    assert verify_chain(db_session) == ["entries 3 to 3 were added outside the application"]
    assert run_verify(app).exit_code == 1


def test_a_missing_head_is_found_and_a_new_one_continues_the_chain(
    engine, db_session, parties, create_case, now
):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 2, now)
    raw(engine, "DELETE FROM access_log_head")
    assert verify_chain(db_session) == ["the head row is missing"]
    append(db_session, parties.region_user, case, 1, now)
    assert [r.seq for r in entries(db_session)] == [1, 2, 3]
    assert verify_chain(db_session) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seq=st.integers(min_value=1, max_value=4),
    column=st.sampled_from(
        ["at", "user_id", "organisation_id", "case_id", "person_id", "action", "purpose", "link_id"]
    ),
)
def test_any_single_edit_is_found(engine, db_session, parties, create_case, now, seq, column):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 4, now)
    value = {
        "at": now + timedelta(days=1),
        "user_id": parties.outsider_user.id,
        "organisation_id": parties.outsider.organisation_id,
        "case_id": case.id + 1000,
        "person_id": case.person_id + 1000,
        "action": "case.export",
        "purpose": "annat ändamål",
        # Set where the row had none: a field hashed only when present is still covered.
        "link_id": 999,
    }[column]
    table = AccessLogEntry.__table__
    # A Core statement on a bare connection: outside the application's sessions, like a tamperer's.
    with engine.begin() as connection:
        connection.execute(update(table).where(table.c.seq == seq).values({column: value}))
    assert f"entry {seq} does not match its hash (changed)" in verify_chain(db_session)


def test_a_row_through_a_personal_link_is_chained_and_older_rows_keep_their_hashes(
    app, engine, db_session, parties, create_case, now
):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 1, now)
    with unit_of_work(db_session):
        record_access(
            db_session,
            user=None,
            action=audit.PLAN_LINK_VIEW,
            purpose=audit.PURPOSE_CARE,
            case=case,
            link_id=7,
            now=now,
        )
    first, second = entries(db_session)
    assert (first.link_id, second.link_id) == (None, 7)
    # A row without a link hashes as every row did before the column existed.
    before = {name: getattr(first, name) for name in audit.HASHED_FIELDS}
    assert audit.compute_row_hash(first.prev_hash, before) == first.row_hash
    assert verify_chain(db_session) == []


# --- Append-only -------------------------------------------------------------------------------------------


def test_the_orm_refuses_to_change_or_remove_a_row(engine, db_session, parties, create_case, now):
    case = create_case()
    empty_log(engine)
    append(db_session, parties.region_user, case, 2, now)
    row = entries(db_session)[0]
    row.purpose = "något annat"
    db_session.add(row)
    with pytest.raises(AccessLogImmutable):
        db_session.flush()
    db_session.rollback()
    row = entries(db_session)[0]
    db_session.delete(row)
    with pytest.raises(AccessLogImmutable):
        db_session.flush()
    db_session.rollback()
    for statement in (
        update(AccessLogEntry).values(purpose="x"),
        delete(AccessLogEntry).where(AccessLogEntry.seq == 1),
        AccessLogEntry.__table__.delete(),
    ):
        with pytest.raises(AccessLogImmutable):
            db_session.execute(statement)
        db_session.rollback()
    assert len(entries(db_session)) == 2
    assert verify_chain(db_session) == []


# --- Concurrent appends ------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_appends_keep_one_chain(app, engine, parties, create_case, now, attempt):
    """Writers start together on an empty log (no head row yet): the chain stays one line, no seq twice."""
    case = create_case()
    empty_log(engine)
    writers, appends = 6, 8
    barrier = threading.Barrier(writers, timeout=20)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            with app.app_context(), Session(engine, expire_on_commit=False) as session:
                user = session.get(User, parties.region_user.id)
                barrier.wait()
                for i in range(appends):  # one transaction per append: the writers interleave
                    append(session, user, case, 1, now + timedelta(milliseconds=index * 100 + i))
        except BaseException as error:  # noqa: BLE001 - the main thread asserts on it
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,), name=f"log-writer-{i}") for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"
    assert errors == []
    with Session(engine) as session:
        rows = entries(session)
        assert [r.seq for r in rows] == list(range(1, writers * appends + 1))
        assert len({r.prev_hash for r in rows}) == len(rows)
        assert verify_chain(session) == []
        assert session.exec(select(func.count()).select_from(AccessLogEntry)).one() == writers * appends
