"""A guard of a child's SIP (the child's own view, the guardians' consent) is refused in a file without
`childs_view = true`: a county's 'SIP för barn i skolan' copied from the national SIP, the child's view
required before the kallelse but childs_view left out, passed the check as ok; the preparation form then
asked no child's view, and every kallelse for a child was refused "Skriv först in barnets egen syn." with
nowhere to write it. The guardians' consent required there held for everyone, asking no guardian."""

from __future__ import annotations

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file

load_areas()

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")
KALLELSE = 'form = "kallelse"\nconditions = ["consent_valid", "two_organisations"]'


def school_file(guard: str, childs_view: bool) -> str:
    """The county's SIP for a child at school, copied from sip.toml, its kallelse requiring guard."""
    text = SIP.replace('name = "sip"', 'name = "sip_skola"').replace(
        'occasion = "other_need"',
        'occasion = "school_child"\nchilds_view = true' if childs_view else 'occasion = "school_child"',
    )
    text = text.replace(
        '{ sv = "SIP", en = "SIP" }', '{ sv = "SIP för barn i skolan", en = "SIP child at school" }'
    )
    assert text.count(KALLELSE) == 1
    return text.replace(
        KALLELSE, KALLELSE.replace('"two_organisations"]', f'"two_organisations", "{guard}"]')
    )


@pytest.mark.parametrize("guard", ["child_view_recorded", "guardians_consented"])
def test_a_childs_guard_in_a_file_without_childs_view_is_refused(tmp_path, guard):
    path = tmp_path / "sip_skola.toml"
    path.write_text(school_file(guard, childs_view=False), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        f"sip_skola.toml: transitions.send_kallelse.conditions: {guard!r} is a requirement of a child's SIP, "
        "and the file does not say childs_view = true: without it no child's view is asked for and no "
        "guardian consents, so it could never be met or would check nothing; write childs_view = true at the "
        f"top of the file, or leave {guard!r} out"
    )
    assert refused.value.line[1] == f'conditions = ["consent_valid", "two_organisations", "{guard}"]'


@pytest.mark.parametrize("guard", ["child_view_recorded", "guardians_consented"])
def test_a_childs_guard_in_a_childs_sip_loads(tmp_path, guard):
    path = tmp_path / "sip_skola.toml"
    path.write_text(school_file(guard, childs_view=True), encoding="utf-8")
    workflow = load_workflow_file(path)
    assert workflow.childs_view
    assert guard in workflow.transition("preparing", "send_kallelse").conditions
