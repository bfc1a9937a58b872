"""Statistics by occasion name each occasion by its workflow's label: the newest version's, in any order."""

from __future__ import annotations

from types import SimpleNamespace

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.stats.services import settings_from
from sipflow.workflow.definition import load_workflow_file

# The workflow files name guards, effects and inputs the areas register.
load_areas()

SIP = PROJECT_ROOT / "workflows" / "sip.toml"


def test_an_occasion_is_named_by_the_newest_version_of_its_workflow(app, tmp_path):
    # The one workflow of an occasion renamed in its version 2: the label of whichever file sorted first
    # (sip.toml, version 1) named the row before.
    newer = tmp_path / "sip_v2.toml"
    newer.write_text(
        SIP.read_text(encoding="utf-8")
        .replace("version = 1", "version = 2", 1)
        .replace(
            'label = { sv = "SIP", en = "SIP" }',
            'label = { sv = "SIP, annat behov", en = "SIP, other need" }',
        ),
        encoding="utf-8",
    )
    # Loaded without a registry, which would publish the copy to the whole process.
    versions = [load_workflow_file(SIP), load_workflow_file(newer)]
    for order in (versions, versions[::-1]):
        registry = SimpleNamespace(workflows=lambda order=order: list(order))
        assert settings_from(app.config, registry, "sv").occasion_labels == {"other_need": "SIP, annat behov"}
        assert settings_from(app.config, registry, "en").occasion_labels == {"other_need": "SIP, other need"}
