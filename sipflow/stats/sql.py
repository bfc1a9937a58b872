"""Portable SQL the indicators need that SQLAlchemy spells differently on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Integer, case, extract
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    """Whole calendar days from the first date or datetime to the second (SQL)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


@compiles(days_between)
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
