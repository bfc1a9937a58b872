"""The plan editor: the working plan, what is still missing, and huvudansvar hand-over."""

from __future__ import annotations

from sipflow.plans.blueprint import bp  # noqa: F401
