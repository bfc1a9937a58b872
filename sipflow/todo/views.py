"""The Att göra pages: the overview at / (the first page after login) and each section's own pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import login_required

from sipflow.clock import now_utc
from sipflow.db import get_session
from sipflow.security import access
from sipflow.todo import queries
from sipflow.web import current_actor, current_locale, hold_actor_unit, workflow_registry

bp = Blueprint("todo", __name__)


@bp.get("/")
@login_required
def index():
    """Att göra: deadlines, follow-ups, meetings to book or record, invitations unanswered, late efforts."""
    user = current_actor()
    if not access.may_see_cases(user):
        return render_template("cases/no_access.html", page_url=url_for("todo.index"))
    # Each section and the page header ask for the user's unit: read once (was five statements).
    hold_actor_unit(get_session(), user)
    sections = queries.todo(get_session(), workflow_registry(), user, locale=current_locale(), now=now_utc())
    return render_template("todo/index.html", sections=sections, now=now_utc())


@bp.get("/todo/<section>")
@login_required
def more(section: str):
    """One section of Att göra, a keyset page at a time."""
    if section not in queries.SECTIONS:
        abort(404)
    user = current_actor()
    if not access.may_see_cases(user):
        return render_template("cases/no_access.html", page_url=url_for("todo.index"))
    hold_actor_unit(get_session(), user)
    found = queries.section(
        get_session(),
        workflow_registry(),
        user,
        section,
        locale=current_locale(),
        now=now_utc(),
        limit=queries.PER_PAGE,
        after=request.args.get("after"),
    )
    return render_template("todo/section.html", section=found, paged=bool(request.args.get("after")))
