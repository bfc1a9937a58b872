"""db.mark_written: columns a Core statement wrote count as committed; any other change is still flushed."""

from __future__ import annotations

from sqlalchemy import select, update

from sipflow.cases.models import SipCase
from sipflow.db import mark_written


def _write(session, case, **values) -> None:
    session.connection().execute(update(SipCase).where(SipCase.id == case.id).values(**values))


def test_an_object_whose_every_change_a_statement_wrote_is_no_longer_flushed(db_session, create_case):
    case = create_case("sip")
    case.questions = "Vad behöver du hjälp med?"
    _write(db_session, case, questions="Vad behöver du hjälp med?")

    mark_written(case, {"questions": "Vad behöver du hjälp med?"})

    assert case not in db_session.dirty


def test_a_change_the_statement_did_not_write_is_still_flushed(db_session, create_case):
    # Nothing set in Python is lost: the column the Core UPDATE left alone goes out with the next flush.
    case = create_case("sip")
    case.questions = "Boende"
    case.closed_reason = "Avslutad på egen begäran"
    _write(db_session, case, questions="Boende")

    mark_written(case, {"questions": "Boende"})
    db_session.commit()

    stored = db_session.connection().execute(
        select(SipCase.questions, SipCase.closed_reason).where(SipCase.id == case.id)
    )
    assert tuple(stored.one()) == ("Boende", "Avslutad på egen begäran")
