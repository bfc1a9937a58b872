"""The person's own view: for staff from the case, for the person through their personal link."""

from __future__ import annotations

from sipflow.plans.blueprint import bp  # noqa: F401
