"""Diagnostic settings (components/diagnostics.py): every resource of a type with resource logs sends
them to the stack's Log Analytics workspace, in the payload shape of Azure's REST API example."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from azure_fixtures import example

from components.diagnostics import ALL_LOGS, SUPPORTED

REPO = Path(__file__).resolve().parents[2]
SETTING = "azure-native:monitor:DiagnosticSetting"
WORKSPACE = "azure-native:operationalinsights:Workspace"
# Azure REST API spec example of Diagnostic Settings - Create Or Update (INDEX.md, need 29).
CREATE = ("specification/monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/examples/"
          "createOrUpdateDiagnosticSetting.json")


@pytest.fixture(scope="module")
def reference(repo_graphs):
    return repo_graphs.get("reference")


def _mock_id(resource: dict) -> str:
    """The ID the mock runtime gave a resource, as its settings name it."""
    module, kind = resource["type"].split(":")[1:]
    return f"/providers/{module}/{kind}/{resource['physical_name'] or resource['name']}"


def test_every_listed_type_is_one_the_program_deploys(reference):
    # A mistyped type token would list a type nothing ever matches.
    deployed = {r["type"] for r in reference.resources}
    assert set(SUPPORTED) <= deployed, sorted(set(SUPPORTED) - deployed)


def test_every_resource_of_a_listed_type_sends_to_the_stack_workspace(reference):
    (workspace,) = [r for r in reference.resources if r["type"] == WORKSPACE]
    settings = {reference.inputs[r["urn"]]["resourceUri"].split("/resourceGroups/", 1)[-1].split("/", 1)[-1]:
                reference.inputs[r["urn"]] for r in reference.resources if r["type"] == SETTING}
    expected = 0
    for resource in reference.resources:
        sends = SUPPORTED.get(resource["type"])
        if sends is None:
            continue
        own = _mock_id(resource).removeprefix("/")
        targets = ([(own, sends)] if sends.own else []) + [(f"{own}/{path}", child) for path, child in sends.services.items()]
        for target, wanted in targets:
            expected += 1
            setting = settings[target]
            assert setting["workspaceId"].endswith(_mock_id(workspace)), target
            assert setting.get("logs", []) == ([{"categoryGroup": ALL_LOGS, "enabled": True}] if wanted.logs else [])
            assert [m["category"] for m in setting.get("metrics", [])] == list(wanted.metrics), target
    assert len(settings) == expected  # and no setting for anything else


def test_storage_logs_per_service_and_a_sql_server_through_its_master_database(reference):
    uris = {reference.inputs[r["urn"]]["resourceUri"] for r in reference.resources if r["type"] == SETTING}
    lake = "/providers/storage/StorageAccount/contosolakeref"
    assert {u.split("/resourceGroups/")[-1].split("/", 1)[-1] for u in uris if lake in u} == {
        f"providers/storage/StorageAccount/contosolakeref{suffix}"
        for suffix in ("", "/blobServices/default", "/queueServices/default", "/tableServices/default",
                       "/fileServices/default")}
    assert any(u.endswith("/providers/sql/Server/contoso-sql-ref/databases/master") for u in uris)
    assert not any(u.endswith("/providers/sql/Server/contoso-sql-ref") for u in uris)


def test_each_setting_belongs_to_its_resources_component_under_a_name_of_its_own(reference):
    settings = [r for r in reference.resources if r["type"] == SETTING]
    assert all(r["component"] for r in settings)
    assert not [name for name, n in Counter(r["name"] for r in settings).items() if n > 1]
    by_name = {r["name"]: r for r in reference.resources}
    firewall = by_name["connectivity-fw-diagnostics"]
    assert firewall["component"] == by_name["connectivity-fw"]["component"]
    # Azure Firewall's structured logs and Azure Backup's reports read resource-specific tables.
    assert reference.inputs[firewall["urn"]]["logAnalyticsDestinationType"] == "Dedicated"


def test_a_setting_has_the_payload_shape_of_azures_example(reference):
    properties = example(CREATE)["parameters"]["parameters"]["properties"]
    (log_shape,), (metric_shape,) = properties["logs"], properties["metrics"]
    assert log_shape["categoryGroup"] == ALL_LOGS
    for resource in reference.resources:
        if resource["type"] != SETTING:
            continue
        given = dict(reference.inputs[resource["urn"]])
        # The name and the target are the URL's ({resourceUri}/providers/.../diagnosticSettings/{name}).
        assert given.pop("name") == "platform-log-analytics" and given.pop("resourceUri")
        assert set(given) <= set(properties), resource["name"]
        assert all(set(entry) <= set(log_shape) for entry in given.get("logs", []))
        assert all(set(entry) <= set(metric_shape) for entry in given.get("metrics", []))
