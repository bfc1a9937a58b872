"""Demo data: the Kronoberg organisations, users and personas, and synthetic cases for statistics.

`load_demo()` is idempotent and goes through the service layer; `load_synthetic_cases()` writes rows in
bulk (SQLAlchemy Core, one transaction per batch) so that a million cases load in minutes.
"""

from sipflow.demo.kronoberg import (
    DEMO_PASSWORD,
    DEMO_USERS,
    PERSONA_PRIORITIES,
    PERSONA_REFERENCES,
    load_demo,
)
from sipflow.demo.synthetic import load_synthetic_cases

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "PERSONA_PRIORITIES",
    "PERSONA_REFERENCES",
    "load_demo",
    "load_synthetic_cases",
]
