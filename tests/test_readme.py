"""The README shows the workflow diagrams the CLI draws from the files, not an older picture."""

from __future__ import annotations

from pathlib import Path

from sipflow.workflow.engine import mermaid_diagram

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_diagrams_match_the_workflow_files(registry):
    text = README.read_text(encoding="utf-8")
    for name in registry.names():
        assert f"```mermaid\n{mermaid_diagram(registry.latest(name))}\n```" in text, name


def test_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert text.index("make run") < text.index("## ")
    assert text.index("make test") < text.index("## ")
