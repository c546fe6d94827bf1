"""The primary's readiness audit of what a redeploy from code would miss: resources and PostgreSQL
administrators its stack does not manage, and its drift from its code.

Azure is the real SDK pipeline answered at the transport (tests/azure_fixtures.py); the stack's state
and the refresh preview come from the fake `pulumi` CLI through the real Automation API
(tests/fake_pulumi, scenario key "preview_refresh").
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from azure_fixtures import SUBSCRIPTION, Route, example_body
from fake_pulumi import scenario as fake
from preflight_support import PROJECT_DIR, session_for

from components.roles import EntraAdmin
from orchestrator.targets.azure.preflight.readiness_drift import select_stack
from orchestrator.targets.azure.preflight.redeploy_audit import redeploy_audit
from stacks.config import load_stack_config

SUB = f"/subscriptions/{SUBSCRIPTION}"
DATA = f"{SUB}/resourceGroups/rg-contoso-data-aue"
ADMINS = "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/AdministratorsListByServer.json"
LAKE = f"{DATA}/providers/Microsoft.Storage/storageAccounts/contosolakeaue"
SERVER = f"{DATA}/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-aue"
ENDPOINT = f"{DATA}/providers/Microsoft.Network/privateEndpoints/pe-contoso-pg-aue"
JUMPBOX = f"{DATA}/providers/Microsoft.Compute/virtualMachines/vm-jumpbox"
JUMPBOX_DISK = f"{DATA}/providers/Microsoft.Compute/disks/vm-jumpbox-osdisk"
ENDPOINT_NIC = f"{DATA}/providers/Microsoft.Network/networkInterfaces/pe-contoso-pg-aue.nic.0f2c7a1e"
NSG = f"{SUB}/resourceGroups/rg-contoso-connectivity-aue/providers/Microsoft.Network/networkSecurityGroups/nsg-data"
# The list example's administrators (their ids name the example's server, as ARM returned them).
ADMIN_USER, ADMIN_GROUP = (admin["id"] for admin in example_body(ADMINS)["value"])
EXAMPLE_GROUP = EntraAdmin(objectId="gggggggg-gggg-gggg-gggg-gggggggggggg", principalName="examplegroup@contoso.com")


def generic(resource_id: str, managed_by: str | None = None) -> dict:
    """One item of Resources_ListByResourceGroup: the specs have no example of that operation, so this is
    a thin double built from its documented GenericResourceExpanded shape (id, name, type, location)."""
    provider_path = resource_id.split("/providers/", 1)[1].split("/")
    item = {"id": resource_id, "name": provider_path[-1], "type": "/".join(provider_path[:2]), "location": "australiaeast"}
    return {**item, "managedBy": managed_by} if managed_by else item


def azure(data_group: list[dict]) -> list[Route]:
    return [
        # The SDK spells this operation's path with "resourcegroups" in lower case.
        Route("GET", f"{SUB}/resourcegroups/rg-contoso-data-aue/resources", body={"value": data_group}),
        Route("GET", f"{SUB}/resourcegroups/rg-contoso-(foundation|connectivity)-aue/resources", body={"value": []}),
        Route("GET", f"{SERVER}/administrators", body=example_body(ADMINS)),
    ]


def state(*ids: str) -> dict:
    """The primary stack in the fake backend, its state holding `ids`."""
    resources = [{"urn": fake.urn("primary", "azure-native:x:Y", i.rsplit("/", 1)[-1]), "type": "azure-native:x:Y",
                  "id": i} for i in ids]
    return {"primary": {"resources": resources, "outputs": {"region": "australiaeast"}}}


def refreshed(resource_id: str, type_: str, op: str, diffs: list[str]) -> list[dict]:
    """What the engine sends for one resource of a refresh preview: the step starts as a refresh and
    its outputs event carries what the refresh found (a deleted resource has only its old state)."""
    urn = fake.urn("primary", type_, resource_id.rsplit("/", 1)[-1])
    state_ = {"type": type_, "urn": urn, "id": resource_id, "custom": True}
    start = {"op": "refresh", "urn": urn, "type": type_, "provider": "", "old": state_, "new": state_}
    found = {**start, "op": op, "diffs": diffs, "new": None if op == "delete" else state_}
    return [{"resourcePreEvent": {"metadata": start, "planning": True}},
            {"resOutputsEvent": {"metadata": found, "planning": True}}]


@pytest.fixture(scope="module")
def primary_graph(repo_graphs):
    return repo_graphs.get("primary")


def audit(tmp_path: Path, graph, data_group: list[dict], stacks: dict, preview_refresh: list[dict] | None = None,
          admin: EntraAdmin = EXAMPLE_GROUP, stack_name: str = "primary"):
    directory = tmp_path / "fake"
    directory.mkdir(parents=True)
    (directory / "scenario.json").write_text(json.dumps({"stacks": stacks, "preview_refresh": preview_refresh or []}))
    env = fake.fake_env(directory / "scenario.json")
    primary = load_stack_config(PROJECT_DIR, "primary")
    primary = dataclasses.replace(primary, settings={**primary.settings,
                                                     "postgres": primary.postgres.model_copy(update={"entra_admin": admin})})
    session, transport = session_for(azure(data_group))
    checks = redeploy_audit(session, graph, primary,
                            lambda: select_stack(PROJECT_DIR, stack_name, command=fake.FAKE_BIN, env_vars=env))
    assert {request.method for request in transport.requests} <= {"GET"}  # an audit only reads
    return {check.id: check for check in checks}, fake.calls(directory)


MANAGED = (LAKE, SERVER, ENDPOINT, ADMIN_GROUP)


def test_resources_the_stack_does_not_manage_are_findings_with_their_ids(tmp_path, primary_graph):
    listed = [generic(LAKE), generic(ENDPOINT), generic(JUMPBOX), generic(JUMPBOX_DISK, JUMPBOX), generic(ENDPOINT_NIC),
              generic(SERVER.replace("/resourceGroups/", "/resourcegroups/"))]  # ARM's casing may differ from the state's
    checks, _ = audit(tmp_path, primary_graph, listed, state(*MANAGED))
    data = checks["readiness.unmanaged:rg-contoso-data-aue"]
    assert (data.status, data.severity, data.blocks) == ("finding", "warning", False)
    assert [r["id"] for r in data.evidence["unmanaged"]] == [JUMPBOX, JUMPBOX_DISK]  # the disk of an unmanaged VM too
    assert data.evidence["created_by_azure_for_managed"] == [ENDPOINT_NIC]
    assert JUMPBOX in data.message
    assert {checks[f"readiness.unmanaged:rg-contoso-{layer}-aue"].status for layer in ("foundation", "connectivity")} == {"pass"}


def test_admins_the_stack_does_not_manage_are_findings_and_a_missing_declared_one_blocks(tmp_path, primary_graph):
    checks, _ = audit(tmp_path, primary_graph, [], state(*MANAGED))
    admins = checks["readiness.postgres-admins:contoso-pg-aue"]
    assert (admins.status, admins.severity) == ("finding", "warning")
    assert admins.evidence["unmanaged"] == [ADMIN_USER]
    checks, _ = audit(tmp_path / "declared", primary_graph, [], state(*MANAGED),
                      admin=EntraAdmin(objectId="00000000-0000-0000-0000-000000000000", principalName="pg-admins"))
    missing = checks["readiness.postgres-admins:contoso-pg-aue"]
    assert missing.blocks and "import would fail" in missing.message


def test_drift_is_reported_per_changed_resource_from_a_refresh_preview(tmp_path, primary_graph):
    events = [fake.prelude(),
              *refreshed(LAKE, "azure-native:storage:StorageAccount", "update", ["networkRuleSet"]),
              *refreshed(NSG, "azure-native:network:NetworkSecurityGroup", "delete", []),
              *refreshed(SERVER, "azure-native:dbforpostgresql:Server", "same", []),
              fake.summary({"update": 1, "delete": 1, "same": 1})]
    checks, calls = audit(tmp_path, primary_graph, [], state(*MANAGED), [{"events": events}])
    drift = checks["readiness.drift"]
    assert (drift.status, drift.severity) == ("finding", "warning")
    assert [(r["id"], r["op"], r["diffs"]) for r in drift.evidence["changed"]] == [
        (LAKE, "update", ["networkRuleSet"]), (NSG, "delete", [])]
    assert LAKE in drift.message and NSG in drift.message
    refresh = [c for c in calls if c[:1] == ["refresh"]]
    assert refresh and all("--preview-only" in c for c in refresh)  # a dry run: nothing refreshed
    assert not [c for c in calls if c[:1] == ["up"]]


def test_a_primary_that_matches_its_code_passes(tmp_path, primary_graph):
    checks, _ = audit(tmp_path, primary_graph, [generic(LAKE)], state(*MANAGED))
    assert checks["readiness.drift"].status == "pass"
    assert checks["readiness.unmanaged:rg-contoso-data-aue"].status == "pass"


def test_a_stack_that_cannot_be_read_is_a_warning_not_a_blocker(tmp_path, primary_graph):
    checks, _ = audit(tmp_path, primary_graph, [], state(*MANAGED), stack_name="nosuchstack")
    assert list(checks) == ["readiness.state"]
    assert (checks["readiness.state"].severity, checks["readiness.state"].blocks) == ("warning", False)


def test_a_failed_refresh_preview_is_a_warning_with_the_cli_error(tmp_path, primary_graph):
    failed = [{"events": [], "exit_code": 255, "stderr": "error: failed to read resource: AuthorizationFailed"}]
    checks, _ = audit(tmp_path, primary_graph, [], state(*MANAGED), failed)
    drift = checks["readiness.drift"]
    assert (drift.severity, drift.blocks) == ("warning", False)
    assert "AuthorizationFailed" in json.dumps(drift.evidence)
