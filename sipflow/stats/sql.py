"""Portable SQL the indicators need that SQLAlchemy spells differently on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import DateTime, Integer, case, extract
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from sipflow.db import swedish_day

# Every day the statistics count in is a Swedish calendar day: an instant is stored in UTC, and 00:30 in
# Sweden is the day before in UTC. The SQL function (sipflow.db.swedish_day) is the foundation's, as the
# reminders count Swedish days too.


def day_of(expression):
    """The Swedish calendar day of a date or instant expression (a date is one already)."""
    # The stored instants' type decorates DateTime (sqlmodel's UTCDateTime): its affinity says so.
    affinity = expression.type._type_affinity
    return swedish_day(expression) if affinity is not None and issubclass(affinity, DateTime) else expression


class _days_between(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    type = Integer()
    inherit_cache = True
    name = "days_between"


def days_between(start, end):
    """Whole Swedish calendar days from the first date or instant to the second (SQL).

    The one place lead times are counted: an instant counts on its day in Sweden, not in UTC.
    """
    return _days_between(day_of(start), day_of(end))


@compiles(_days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


@compiles(_days_between)
def _days_between_default(element, compiler, **kw) -> str:
    # PostgreSQL: subtracting two dates gives whole days.
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


def year_of(column):
    """The calendar year of a date column, as an integer (SQL)."""
    return extract("year", column).cast(Integer)


def quarter_of(column):
    """year * 10 + quarter of a date column (20261 is 2026 Q1), as an integer (SQL)."""
    month = extract("month", column).cast(Integer)
    quarter = case((month <= 3, 1), (month <= 6, 2), (month <= 9, 3), else_=4)
    return year_of(column) * 10 + quarter
