"""Plan versions: the list, one version, the comparison of two, and the PDF download."""

from __future__ import annotations

from sipflow.plans.blueprint import bp  # noqa: F401
