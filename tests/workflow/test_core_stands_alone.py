"""Loading the workflow core loads no area: areas register their guards, effects and inputs with it.

The static rule (no import of an area in sipflow/workflow/) is an import-linter contract (`make lint`);
this checks what actually gets imported at run time, package __init__ files included.
"""

from __future__ import annotations

import subprocess
import sys

from sipflow.config import PROJECT_ROOT

AREAS = ("cases", "consent", "meetings", "people", "notifications", "security", "retention", "admin", "demo")


def test_loading_the_workflow_core_loads_no_area():
    code = (
        "import sys, sipflow.workflow.engine, sipflow.workflow.definition, sipflow.workflow.context;"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('sipflow.'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout.split()
    assert not [m for m in loaded if m.split(".")[1] in AREAS], loaded
