"""db.adopt_inserted: an object a Core INSERT wrote goes with its row when the transaction rolls back."""

from __future__ import annotations

from sqlalchemy import insert

from sipflow.db import adopt_inserted
from sipflow.people.models import Organisation

_ORGANISATIONS = Organisation.__table__


def _adopt(session, key: str) -> Organisation:
    """Write an organisation by a Core INSERT and adopt the object built for it (as the hot paths do)."""
    organisation = Organisation(key=key, name=f"Förvaltning {key}", kind="other")
    values = {c.name: getattr(organisation, c.name) for c in _ORGANISATIONS.columns if c.name != "id"}
    row_id = (
        session.connection().execute(insert(_ORGANISATIONS).returning(_ORGANISATIONS.c.id), values).scalar()
    )
    adopt_inserted(session, organisation, row_id)
    return organisation


def test_a_rolled_back_row_leaves_the_session_free_for_the_next_one(db_session):
    first = _adopt(db_session, "forv-a")
    db_session.rollback()
    assert first not in db_session
    # SQLite gives the next row the rolled-back one's id: the session must take it (it raised before).
    second = _adopt(db_session, "forv-b")
    db_session.commit()
    assert db_session.get(Organisation, second.id).key == "forv-b"


def test_a_savepoint_rolled_back_forgets_only_its_own(db_session):
    kept = _adopt(db_session, "forv-c")
    nested = db_session.begin_nested()
    dropped = _adopt(db_session, "forv-d")
    nested.rollback()
    assert dropped not in db_session and kept in db_session
    db_session.commit()
    assert db_session.get(Organisation, kept.id).key == "forv-c"


def test_a_committed_row_stays_after_a_later_rollback(db_session):
    committed = _adopt(db_session, "forv-e")
    db_session.commit()
    _adopt(db_session, "forv-f")
    db_session.rollback()
    assert committed in db_session
    assert db_session.get(Organisation, committed.id).key == "forv-e"
