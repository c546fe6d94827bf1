"""drctl preview: the real program on the real stack files, offline, under Pulumi's mock runtime."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi_mocks import PROJECT_DIR, deploy, stack_values

from components import data_factory, lake, postgres
from components.registry import SERVICES, globally_unique_types, physical_name_inputs, subresource_types
from components.runner import RUNNER_TYPE
from orchestrator.program.capture import capture_graph
from orchestrator.program.graph import Graph, graph_to_json
from stacks.config import ConfigError, load_from_pulumi, load_stack_config

RESOURCE_KEYS = {"urn", "type", "name", "physical_name", "location", "component"}


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    # Primary then secondary in one process: the second capture must not see the first.
    return {stack: capture_graph(PROJECT_DIR, stack) for stack in ("primary", "secondary")}


def test_every_regional_resource_of_the_secondary_is_in_its_region(graphs):
    secondary = graphs["secondary"]
    assert secondary.region == "australiasoutheast"
    regional = [r for r in secondary.resources if r["location"] is not None]
    assert {r["location"] for r in regional} == {"australiasoutheast"}
    assert {r["type"].split(":")[1] for r in regional} == {
        "resources", "operationalinsights", "keyvault", "recoveryservices", "network", "storage",
        "dbforpostgresql", "eventhub", "datafactory",
    }
    # Only global resources (private DNS) and sub-resources have no location of their own.
    for resource in secondary.resources:
        if resource["location"] is None:
            global_type = resource["type"].startswith("azure-native:privatedns:")
            assert resource["type"] in subresource_types() or global_type, resource


def test_primary_is_in_its_own_region_but_for_the_runners_day0_access(graphs):
    # The runner's zones and endpoints are in the DR region: they must outlive the primary region.
    resources = graphs["primary"].resources
    assert {r["location"] for r in resources if r["location"] and r["component"] != "runner"} == {"australiaeast"}
    assert {r["location"] for r in resources if r["location"] and r["component"] == "runner"} == {"australiasoutheast"}


def test_no_globally_unique_name_is_shared_between_the_stacks(graphs):
    def unique_names(graph: Graph) -> set[tuple[str, str]]:
        return {
            (r["type"], r["physical_name"].lower())
            for r in graph.resources
            if r["type"] in globally_unique_types() and r["physical_name"]
        }

    primary, secondary = unique_names(graphs["primary"]), unique_names(graphs["secondary"])
    deployed = {t for t in globally_unique_types() if any(r["type"] == t for r in graphs["secondary"].resources)}
    assert len(deployed) == 5 and {t for t, _ in secondary} == deployed  # every one of them is named
    assert primary.isdisjoint(secondary)


def test_every_resource_the_program_names_has_a_physical_name(graphs):
    for resource in graphs["secondary"].resources:
        named_by_azure = resource["type"] == "azure-native:authorization:RoleAssignment"  # a GUID
        if resource["type"] in physical_name_inputs() and not named_by_azure:
            assert resource["physical_name"], resource
            assert resource["physical_name"] != resource["name"] or resource["type"].endswith(
                ("BlobContainer", "EventHub", "Pipeline", "Dataset", "LinkedService", "Database")
            ), resource


def test_json_shape(graphs):
    document = graph_to_json(graphs["secondary"])
    assert set(document) == {"stack", "region", "resources"}
    assert document["stack"] == "secondary" and document["region"] == "australiasoutheast"
    assert all(set(r) == RESOURCE_KEYS for r in document["resources"])
    assert json.loads(json.dumps(document)) == document
    urns = [r["urn"] for r in document["resources"]]
    assert len(urns) == len(set(urns))
    assert all(urn.startswith("urn:pulumi:secondary::dataplatform::") for urn in urns)


def test_components_are_present_and_own_their_resources(graphs):
    for graph in graphs.values():
        services = [spec.type_token for spec in SERVICES if spec.switch != "off"]
        assert graph.component_types() == [*services, RUNNER_TYPE]  # dependency order; the runner nested in the hub
        profiles = graph.component_profiles()
        assert set(profiles) == {c["name"] for c in graph.components if c["type"] != RUNNER_TYPE}
        for component in graph.components:
            assert graph.resources_of(component["name"]), component
        runner = next(c for c in graph.components if c["type"] == RUNNER_TYPE)
        assert runner["component"] == "connectivity"  # owned by the network layer's DR profile
        assert all(r["component"] in profiles or r["component"] == "runner" for r in graph.resources)
    storage = next(r for r in graphs["secondary"].resources if r["type"] == "azure-native:storage:StorageAccount")
    assert storage["component"] == "lake" and storage["physical_name"] == "contosolakease"


def test_secondary_geo_restores_and_primary_does_not(graphs):
    assert graphs["primary"].outputs[postgres.CREATE_MODE_OUTPUT] == "Default"
    assert graphs["secondary"].outputs[postgres.CREATE_MODE_OUTPUT] == "GeoRestore"
    databases = [r for r in graphs["secondary"].resources if r["type"] == "azure-native:dbforpostgresql:Database"]
    assert databases == []
    assert graphs["secondary"].outputs[lake.ACCOUNT_NAME_OUTPUT] == "contosolakease"


def test_capture_is_repeatable_and_leaves_pulumi_settings_alone(graphs):
    stack_before = pulumi.get_stack()
    again = capture_graph(PROJECT_DIR, "secondary")
    assert graph_to_json(again) == graph_to_json(graphs["secondary"])
    assert pulumi.get_stack() == stack_before
    assert pulumi.runtime.settings.ROOT.get() is None


def copy_project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    shutil.copytree(PROJECT_DIR / "pipelines", tmp_path / "pipelines")
    return tmp_path


def test_config_error_propagates_before_anything_runs(tmp_path):
    project = copy_project(tmp_path)
    path = project / "Pulumi.secondary.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["dataplatform:nameSuffix"] = "aue"  # collides with the primary's names
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError) as caught:
        capture_graph(project, "secondary")
    assert caught.value.key == "dataplatform:nameSuffix"


def test_pipelines_are_read_from_the_given_project(tmp_path):
    project = copy_project(tmp_path)
    (project / "pipelines" / "smoke.json").unlink()
    graph = capture_graph(project, "primary")
    pipelines = {r["physical_name"] for r in graph.resources if r["type"] == "azure-native:datafactory:Pipeline"}
    assert pipelines == {"ingest_events"}
    assert data_factory.SMOKE_PIPELINE_OUTPUT not in graph.outputs


def test_pulumi_config_path_validates_like_the_stack_file():
    # What `pulumi up` passes the program, read through load_from_pulumi, equals the file's config.
    seen = []
    deploy(lambda: seen.append(load_from_pulumi(PROJECT_DIR)), stack="secondary", config=stack_values("secondary"))
    assert seen == [load_stack_config(PROJECT_DIR, "secondary")]


def test_program_entry_point_stops_on_bad_config_before_any_resource():
    # `pulumi up` runs stacks.platform.main(): a config error is a RunError (one line in the CLI,
    # no traceback) and nothing but the stack itself gets registered.
    from stacks.program import main

    values = stack_values("secondary") | {"dataplatform:addressSpace": "10.10.0.0/16"}
    raised = []

    def program():
        try:
            main()
        except pulumi.RunError as exc:
            raised.append(str(exc))

    deployment = deploy(program, stack="secondary", config=values)
    assert raised == [
        "Pulumi.secondary.yaml: dataplatform:addressSpace: 10.10.0.0/16 overlaps 10.10.0.0/16 "
        "of the paired stack 'primary'"
    ]
    assert [r for r in deployment.registrations if r.type != "pulumi:pulumi:Stack"] == []


def test_a_failed_mock_run_does_not_spoil_the_next_one():
    from pulumi_azure_native import resources

    from orchestrator.program.capture import run_under_mocks

    def failing():
        resources.ResourceGroup("rg", location="australiaeast")
        raise RuntimeError("the program broke half-way")

    with pytest.raises(Exception, match="half-way"):
        run_under_mocks(failing, project="dataplatform", stack="primary")
    again = run_under_mocks(lambda: resources.ResourceGroup("rg", location="australiaeast"),
                            project="dataplatform", stack="primary")
    assert [r.type for r in again if r.custom] == ["azure-native:resources:ResourceGroup"]
