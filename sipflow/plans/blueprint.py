"""The plan area's blueprint, apart from its view modules so each of them can add routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("plans", __name__)
