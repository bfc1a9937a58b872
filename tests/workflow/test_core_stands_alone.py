"""The workflow core imports no area: areas register their guards, effects and inputs with it."""

from __future__ import annotations

import ast
import subprocess
import sys

from sipflow.config import PROJECT_ROOT

AREAS = ("cases", "consent", "meetings", "people", "notifications", "security", "retention", "admin", "demo")
CORE = PROJECT_ROOT / "sipflow" / "workflow"


def _runtime_imports(path) -> set[str]:
    """The modules a file imports when it runs (imports under `if TYPE_CHECKING:` are left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_file_of_the_workflow_core_imports_an_area():
    offending = {
        f"{path.name}: {module}"
        for path in CORE.glob("*.py")
        for module in _runtime_imports(path)
        if module.split(".")[:2] in [["sipflow", area] for area in AREAS]
    }
    assert not offending


def test_loading_the_workflow_core_loads_no_area():
    code = (
        "import sys, sipflow.workflow.engine, sipflow.workflow.definition, sipflow.workflow.context;"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('sipflow.'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout.split()
    assert not [m for m in loaded if m.split(".")[1] in AREAS], loaded
