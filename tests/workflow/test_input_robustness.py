"""The service layer refuses bad input with a UserError whoever calls it, and writes nothing.

cases/inputs.py promises that the handlers "refuse bad input whoever calls it (view, API, CLI or
benchmark)": a value of the wrong type (a string for a date, a naive datetime, a list for a dict) must come
back as InvalidInput on that field, never as a TypeError or AttributeError (an HTTP 500 in a view).
And a refusal must be a UserError outside a request too (CLI, scheduler, demo data), not a RuntimeError
from looking up the request's locale.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flowkit import NOW, REGISTRY, case_row, valid_input

from sipflow.cases import services
from sipflow.cases.errors import TransitionNotAllowed
from sipflow.cases.models import SipCase
from sipflow.errors import InvalidInput

AT = NOW + timedelta(hours=1)
SIP = REGISTRY.latest("sip")

# (form, field, wrong value, what it is): each a mistake a caller other than the HTML form can make.
WRONG_TYPES = [
    ("reason", "reason", 42, "int"),
    ("consent", "valid_until", "2027-11-01", "str"),
    ("consent", "valid_until", datetime(2027, 11, 1, 12, 0), "datetime"),
    ("consent", "organisation_ids", 7, "int"),
    ("consent_declined", "reason", ["Vill inte"], "list"),
    ("preparation", "questions", 5, "int"),
    ("kallelse", "sent_at", "2026-11-02T09:00", "str"),
    ("kallelse", "sent_at", datetime(2026, 11, 2, 9, 0), "naive-datetime"),
    ("kallelse", "meeting_starts_at", "2026-11-09 10:00", "str"),
    ("meeting_outcome", "held_at", "igår", "str"),
    ("meeting_outcome", "attendance", ["på plats"], "list"),
    ("meeting_outcome", "attendance", {"inte-ett-id": "video"}, "non-numeric-key"),
    ("meeting_outcome", "decisions", ["Ringa boendestödet"], "list-of-str"),
    (
        "meeting_outcome",
        "decisions",
        [{"text": "Ringa", "owner": "Kommunen", "due_on": "2026-12-01"}],
        "str-date",
    ),
    ("plan", "plan_row_version", "1", "str"),
    ("plan", "plan_row_version", True, "bool"),
    ("preparation", "own_goals", {"mål": 1}, "dict"),
]


def _first_transition_with_form(form: str):
    for transition in SIP.transitions:
        if transition.form == form:
            return transition.sources[0], transition
    raise LookupError(form)


@pytest.mark.parametrize(
    ("form", "field", "value"),
    [pytest.param(f, k, v, id=f"{f}:{k}:{what}") for f, k, v, what in WRONG_TYPES],
)
def test_wrong_typed_input_is_refused_as_invalid_input(walked, request_ctx, form, field, value):
    state, transition = _first_transition_with_form(form)
    with walked.session() as session:
        case = session.get(SipCase, walked.case_ids[("sip", state)])
        before = case_row(session, case.id)
        data = valid_input(session, case, transition, walked.cast, AT) | {field: value}
        with pytest.raises(InvalidInput) as refused:
            services.fire_transition(
                session,
                REGISTRY,
                walked.cast.user(session, "initiator"),
                case,
                transition.trigger,
                expected_version=case.version,
                now=AT,
                data=data,
            )
        assert refused.value.field == field
        session.rollback()
        assert case_row(session, case.id) == before


def test_refusal_outside_a_request_is_a_case_error(walked, session_app):
    # As in `flask sipflow demo` or the scheduler: an application context, no request.
    with session_app.app_context(), walked.session() as session:
        case = session.get(SipCase, walked.case_ids[("sip", SIP.initial)])
        with pytest.raises(TransitionNotAllowed) as refused:
            services.fire_transition(
                session,
                REGISTRY,
                walked.cast.user(session, "initiator"),
                case,
                "no_such_trigger",
                expected_version=case.version,
                now=AT,
                data={},
            )
        assert str(refused.value)
