"""The plan area's pages: one blueprint, its routes in one module per page group."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("plans", __name__)

# Importing the modules registers their routes on bp (after bp exists).
from sipflow.plans.views import editor, person, versions  # noqa: E402,F401
