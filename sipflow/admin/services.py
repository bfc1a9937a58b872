"""Administration operations: find a person and hand out their extracts (users: `sipflow.admin.users`).

Each runs inside the caller's unit of work. What an administrator does about a person is written to the
access log with its purpose, in the same transaction as the rest of the operation.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from sipflow.admin.users import disable_user, enable_user, end_user_sessions  # noqa: F401 - callers find them here
from sipflow.people.models import Person, User
from sipflow.people.services import look_up_person  # noqa: F401 - callers find it here
from sipflow.retention.export import person_export_json
from sipflow.security.audit import PERSON_EXPORT, PERSON_EXTRACT, record_access

logger = logging.getLogger(__name__)


def person_log_extract(
    session: Session, actor: User, person: Person, *, file_format: str, purpose: str, now: datetime
) -> tuple[bytes, str, str]:
    """The loggutdrag of the person as (data, mimetype, file extension), CSV or PDF; logged itself."""
    # reportlab is loaded when the first extract is asked for, not at every start.
    from sipflow.security.extract import access_extract_csv, access_extract_pdf

    # Built before the log row: the extract shows the accesses up to this one.
    if file_format == "csv":
        # Flask adds the charset to a text type: naming it here too sent it twice.
        result = access_extract_csv(session, person.id), "text/csv", "csv"
    else:
        result = access_extract_pdf(session, person.id, now=now), "application/pdf", "pdf"
    _record(session, actor, person, action=PERSON_EXTRACT, purpose=purpose, now=now)
    return result


def person_register_extract(
    session: Session, actor: User, person: Person, *, purpose: str, now: datetime
) -> bytes:
    """Everything sipflow holds about the person (GDPR art. 15) as JSON; logged itself."""
    data = person_export_json(session, person.id, now=now)
    _record(session, actor, person, action=PERSON_EXPORT, purpose=purpose, now=now)
    return data


def _record(
    session: Session, actor: User, person: Person, *, action: str, purpose: str, now: datetime
) -> None:
    record_access(session, user=actor, action=action, purpose=purpose, person=person, now=now)
    logger.info("%s for person id %s by user id %s", action, person.id, actor.id)
