"""Helpers of the directory, import and workflows tests: an administrator's client, the admin log."""

from __future__ import annotations

from sqlmodel import select
from webkit import csrf_token, text_of

from sipflow.admin.models import AdminChange
from sipflow.config import PROJECT_ROOT

EXAMPLE_CSV = PROJECT_ROOT / "docs" / "examples" / "county-import.csv"
HEADER = "record;key;name;kind;organisation;unit;county;municipality;health_care;email;hsa_id;roles;scope"


def token_of(client, url: str = "/admin/organisations") -> str:
    """A CSRF token of the logged-in client's session."""
    return csrf_token(text_of(client.get(url)))


def post(client, url: str, **data):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={"csrf_token": token_of(client), **data})


def changes(db_session, action: str | None = None) -> list[AdminChange]:
    """The administration log, oldest first (of one action if given)."""
    db_session.expire_all()
    query = select(AdminChange).order_by(AdminChange.id)
    if action is not None:
        query = query.where(AdminChange.action == action)
    return list(db_session.exec(query).all())


def csv_of(*lines: str, header: str = HEADER, delimiter: str = ";") -> bytes:
    """A CSV file of the lines (written with ';'), its separator changed to delimiter."""
    text = "\n".join([header, *lines]) + "\n"
    return (text.replace(";", delimiter) if delimiter != ";" else text).encode("utf-8")
