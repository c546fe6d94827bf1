"""The reference stack (Pulumi.reference.yaml) switches every service on: it must preview, plan and
report its posture offline, and bad service settings must stop drctl with exit 2 naming the key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.catalog import CATALOG
from components.registry import SERVICES, profile_for, subresource_types
from components.runner import runner_region
from orchestrator.stack import build_stack_plan
from orchestrator.verbs.posture import posture_document

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reference():
    plan, graph, config = build_stack_plan(REPO, "reference")
    return plan, graph, config


def test_every_service_is_switched_on(reference):
    _, _, config = reference
    assert set(config.optional_services) == {spec.key for spec in SERVICES if spec.switch == "off"}
    assert set(config.saas) == {profile.key for profile in CATALOG}


def test_every_regional_resource_is_in_the_stack_region(reference):
    _, graph, config = reference
    subresources = subresource_types()
    for resource in graph.resources:
        if resource["type"] in subresources or resource["location"] is None:
            continue
        # The runner's day-0 access lives in the DR region (components/runner.py).
        want = runner_region(config) if resource["component"] == "runner" else config.region
        assert resource["location"] == want, resource["urn"]


def test_every_service_deploys_a_component_with_a_profile(reference):
    _, graph, config = reference
    keys = {profile_for(t).key for t in graph.component_types() if profile_for(t)}
    expected = {spec.profile.key for spec in SERVICES if config.role in spec.roles}
    assert expected <= keys


def test_the_plan_recovers_every_service_and_saas_dependency(reference):
    plan, _, _config = reference
    components = {step.component for step in plan.steps}
    assert {spec.profile.key for spec in SERVICES} <= components
    assert {profile.key for profile in CATALOG} <= components
    assert plan.step("platform.gate").depends_on  # waits for every smoke and readiness check


def test_posture_has_every_service_in_the_stack(reference):
    _, _, config = reference
    rows = posture_document(config)["services"]
    assert all(row["in_stack"] for row in rows), [row["service"] for row in rows if not row["in_stack"]]


@pytest.mark.parametrize(
    "service,settings,key",
    [
        ("aiSearch", {"sku": "platinum"}, "dataplatform:aiSearch.sku"),
        ("vpnGateway", {"sku": "VpnGw1"}, "dataplatform:vpnGateway.onPremises"),
        ("cosmosDb", {"consistency": "Sometimes"}, "dataplatform:cosmosDb.consistency"),
    ],
    ids=["invalid sku", "missing required setting", "invalid enum"],
)
def test_bad_service_settings_exit_2_naming_the_key(tmp_path, service, settings, key):
    for name in ("Pulumi.yaml", "Pulumi.reference-secondary.yaml", "Pulumi.reference.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    path = tmp_path / "Pulumi.reference.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"][f"dataplatform:{service}"] = settings
    path.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "preview", "--stack", "reference", "--project-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"drctl: Pulumi.reference.yaml: {key}: ") and result.stderr.count("\n") == 1
