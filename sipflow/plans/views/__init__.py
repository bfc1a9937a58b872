"""The plan area's pages: one blueprint, its routes in one module per page group."""

from __future__ import annotations

# Importing the modules registers their routes on the blueprint.
from sipflow.plans.blueprint import bp
from sipflow.plans.views import editor, person, versions  # noqa: F401

__all__ = ["bp"]
