"""Preflight as a whole: the planned checks, a full run over the real program, the command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ClientAuthenticationError
from preflight_support import (
    PROJECT_DIR,
    STORAGE_CAN_FAILOVER,
    body,
    config_for,
    hosts,
    names_routes,
    permissions_routes,
    platform_routes,
    project_copy,
    readiness_routes,
    session_for,
    storage_list_route,
)

from orchestrator.errors import BadInput
from orchestrator.targets.azure.preflight.backend import classify
from orchestrator.targets.azure.preflight.needs import Needs
from orchestrator.targets.azure.preflight.readiness import Target
from orchestrator.targets.azure.preflight.run import (
    PreflightInputs,
    planned_checks,
    preflight_command,
    run_checks,
    run_preflight,
    subscription_id_for,
)
from stacks.config import load_stack_config

NOW = datetime(2018, 10, 30, 0, 40, tzinfo=UTC)  # 15 minutes after the storage examples' last sync


class RefusingCredential:
    def get_token(self, *scopes, **kwargs):
        raise ClientAuthenticationError("EnvironmentCredential authentication unavailable.")


def test_planned_checks_need_no_azure():
    config = load_stack_config(PROJECT_DIR, "secondary")
    planned = planned_checks(config)
    ids = [p["id"] for p in planned]
    assert ids[:2] == ["credentials", "subscription"]
    assert {"region.pair", "provider", "sku.compute", "quota.public-ips", "readiness.storage", "readiness.postgres",
            "readiness.recovery-vault", "backend", "backend.state", "credentials.provider", "sku.postgres",
            "permissions.role-assignments", "name", "backend.passphrase"} <= set(ids)
    # Services the shipped secondary does not switch on are not planned.
    assert "readiness.sql" not in ids and "readiness.cosmos" not in ids
    assert all(p["calls"] and p["title"] for p in planned)
    assert "australiasoutheast is Azure's pair of australiaeast" in {p["title"] for p in planned}
    json.dumps(planned)


def test_full_run_over_the_real_program(tmp_path, monkeypatch):
    # Secondary in eastus, primary in eastus2: the regions of the locations example.
    project = project_copy(tmp_path, secondary="eastus", primary="eastus2")
    monkeypatch.setenv("PULUMI_BACKEND_URL", "azblob://state?storage_account=sto8596")
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET",
                 "ARM_USE_MSI", "ARM_USE_OIDC", "ARM_USE_DEFAULT_AZURE_CREDENTIAL"):
        monkeypatch.delenv(name, raising=False)
    routes = (platform_routes() + readiness_routes() + [storage_list_route("eastus2", "Standard_LRS")]
              + names_routes() + permissions_routes())
    session, transport = session_for(routes)
    report = run_preflight(project, "secondary", session, now=NOW)
    checks = {c.id: c for c in report.checks}

    assert checks["credentials"].status == checks["subscription"].status == checks["region"].status == "pass"
    assert checks["region.pair"].severity == "warning"  # eastus2's pair is centralus
    # The providers example knows none of the platform's namespaces.
    assert checks["provider:Microsoft.Storage"].blocks
    # PostgreSQL's SKU is asked of PostgreSQL's capabilities (the example offers it), not of Compute
    # (whose example offers A0 and A1 only: the false blocker this used to be).
    assert "sku.compute:Standard_D2ds_v5" not in checks
    assert checks["sku.postgres:Standard_D2ds_v5"].status == "pass"
    assert checks["sku.storage:Standard_RAGRS"].blocks  # the example offers Premium_LRS in centraluseuap
    assert checks["quota.vcpu"].status == "pass"  # nothing in the stack draws on Compute vCPUs
    assert checks["quota.public-ips"].evidence["needed"] == 1  # the firewall's address
    # DR readiness of the primary, named from the primary program.
    assert checks["readiness.storage:contosolakeaue"].blocks  # GRS, cannot fail over now
    assert checks["readiness.postgres:contoso-pg-aue"].status == "pass"
    assert checks["readiness.recovery-vault:rsv-contoso-aue"].status == "pass"
    backend = checks["backend"]
    assert backend.blocks and backend.evidence["account_location"] == "eastus2"
    assert checks["backend.state"].severity == "info"
    assert checks["backend.passphrase"].blocks  # azblob:// without PULUMI_CONFIG_PASSPHRASE
    assert checks["credentials.provider"].severity == "warning"  # no ARM_*: the provider would use az login
    # The examples' empty permissions entry: no right to create the lake's role assignment.
    assert checks["permissions.role-assignments:rg-contoso-data-ase"].blocks
    # Every global name of the program was asked about, and each example says it is free.
    assert {i for i in checks if i.startswith("name:")} == {
        "name:contosolakease", "name:contoso-pg-ase", "name:contoso-evh-ase", "name:kv-contoso-ase", "name:contoso-adf-ase"}
    assert all(checks[i].status == "pass" for i in ("name:contosolakease", "name:contoso-pg-ase", "name:kv-contoso-ase"))

    assert report.blocked
    document = report.to_json()
    assert document["blocked"] is True and "backend" in document["blockers"]
    assert document["summary"]["pass"] + document["summary"]["finding"] + document["summary"]["error"] == len(report.checks)
    assert "fake-token" not in json.dumps(document)
    assert hosts(transport) == {"management.azure.com"}
    # Read-only: preflight never writes to Azure (its only POSTs ask whether a name is free).
    assert {r.method for r in transport.requests} == {"GET", "POST"}
    assert all(r.url.split("?")[0].endswith("/checkNameAvailability") for r in transport.requests if r.method == "POST")


def _healthy_inputs() -> PreflightInputs:
    config = config_for(region="eastus", paired_region="eastus2")
    needs = Needs(region="eastus", located_types=("Microsoft.Resources/subscriptions",), providers=("Microsoft.Resources",),
                  public_ips=2)
    targets = (
        Target("storage", "contosolakeaue", "rg-contoso-data-aue", "lake"),
        Target("postgres", "contoso-pg-aue", "rg-contoso-data-aue", "postgres"),
        Target("recovery-vault", "rsv-contoso-aue", "rg-contoso-foundation-aue", "foundation"),
    )
    return PreflightInputs(config, needs, targets, classify("https://api.pulumi.com", "test", {}))


def test_a_ready_setup_is_not_blocked():
    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"  # test-built: the example account with read access
    session, transport = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    report = run_checks(_healthy_inputs(), session, now=NOW, state_readable=lambda: True)
    assert not report.blocked, [c.to_json() for c in report.blockers()]
    assert report.by_id("backend").status == "pass" and report.by_id("backend.state").status == "pass"
    assert report.by_id("readiness.storage:contosolakeaue").status == "pass"
    assert hosts(transport) == {"management.azure.com"}


def test_transient_failures_alone_do_not_block():
    from azure_fixtures import Route
    from preflight_support import SUB, arm_error

    throttled = Route("GET", SUB + "/providers", status=429, body=arm_error("TooManyRequests"), headers={"Retry-After": "5"})
    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"
    session, _ = session_for([throttled, *platform_routes(), *readiness_routes(storage=ra_grs)])
    report = run_checks(_healthy_inputs(), session, now=NOW)
    provider = report.by_id("provider")
    assert (provider.status, provider.retriable, provider.evidence["retry_after_s"]) == ("error", True, 5.0)
    assert not report.blocked


def test_the_state_hook_failing_blocks():
    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"
    session, _ = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    report = run_checks(_healthy_inputs(), session, now=NOW, state_readable=lambda: False)
    assert [c.id for c in report.blockers()] == ["backend.state"]


def test_without_a_token_nothing_else_is_asked():
    session, transport = session_for(platform_routes(), credential=RefusingCredential())
    report = run_checks(_healthy_inputs(), session, now=NOW)
    assert [c.id for c in report.checks] == ["credentials"]
    assert report.blocked and transport.requests == []
    assert "subscription" in report.skipped and "backend" in report.skipped


def test_preflight_command_returns_the_report(tmp_path, monkeypatch):
    project = project_copy(tmp_path)
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    seen = {}

    def factory(config):
        seen["stack"] = config.stack
        return session_for(platform_routes() + readiness_routes())[0]

    result = preflight_command(project, "secondary", session_factory=factory)
    assert seen == {"stack": "secondary"}
    assert result["stack"] == "secondary" and result["region"] == "eastus"
    assert isinstance(result["blocked"], bool) and result["checks"]


def test_preflight_command_bad_input(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match=r"Pulumi.nosuch.yaml"):
        preflight_command(PROJECT_DIR, "nosuch", session_factory=lambda config: None)
    for name in ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BadInput, match=r"no Azure subscription for stack 'secondary'"):
        preflight_command(PROJECT_DIR, "secondary")


def test_subscription_id_sources(tmp_path):
    project = project_copy(tmp_path)
    assert subscription_id_for(project, "secondary", {"AZURE_SUBSCRIPTION_ID": "a"}) == "a"
    assert subscription_id_for(project, "secondary", {"AZURE_SUBSCRIPTION_ID": "a", "ARM_SUBSCRIPTION_ID": "b"}) == "b"
    path = project / "Pulumi.secondary.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("config:\n", "config:\n  azure-native:subscriptionId: c\n", 1),
                    encoding="utf-8")
    assert subscription_id_for(project, "secondary", {"ARM_SUBSCRIPTION_ID": "b"}) == "c"


def test_rpo_estimates_use_the_clock_given():
    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"
    session, _ = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    later = run_checks(_healthy_inputs(), session, now=NOW + timedelta(hours=2))
    check = later.by_id("readiness.storage:contosolakeaue")
    assert check.evidence["rpo_estimate_s"] == pytest.approx((NOW + timedelta(hours=2) - datetime(2018, 10, 30, 0, 25, 34, tzinfo=UTC)).total_seconds())
    assert check.severity == "warning"


def test_importing_preflight_builds_no_client_and_imports_no_management_sdk():
    import subprocess
    import sys

    code = (
        "import sys, orchestrator.targets.azure.preflight.run as p, orchestrator.targets.azure.clients as c; "
        "print(sorted(m for m in sys.modules if m.startswith('azure.mgmt')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_session_builds_each_client_once_on_first_use():
    session, transport = session_for(platform_routes())
    assert session._clients == {}
    first = session.compute()
    assert session.compute() is first and list(session._clients) == ["compute"]
    assert transport.requests == []  # building a client calls nothing
    list(session.network().usages.list("westus"))
    assert [r.method for r in transport.requests] == ["GET"]  # the injected transport answered
    with pytest.raises(KeyError, match=r"no client 'nosuch'"):
        session.client("nosuch")
    with pytest.raises(ValueError):
        type(session)(object(), "/subscriptions/x")


def test_a_first_failover_into_a_stack_never_initialised_is_not_blocked():
    # What PulumiStack.state_readable raises for a stack the backend lacks: the Automation API's
    # StackNotFoundError under the engine's PermanentError (orchestrator/targets/azure/deploy/stack.py).
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import StackNotFoundError

    from orchestrator.targets.azure.deploy.stack import pulumi_errors

    def never_initialised() -> bool:
        with pulumi_errors("stack export"):
            raise StackNotFoundError(CommandResult("", "error: no stack named 'secondary' found", 255))

    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"
    session, _ = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    report = run_checks(_healthy_inputs(), session, now=NOW, state_readable=never_initialised)
    assert not report.blocked, [c.to_json() for c in report.blockers()]
    assert report.by_id("backend.state").severity == "info"


def test_environment_kept_for_the_checks_is_only_what_they_read(tmp_path):
    from orchestrator.targets.azure.preflight.run import gather_inputs

    project = project_copy(tmp_path)
    env = {"AZURE_CLIENT_ID": "a", "ARM_CLIENT_ID": "b", "PULUMI_CONFIG_PASSPHRASE": "p", "HOME": "/root",
           "GITHUB_TOKEN": "ghp-never-kept"}
    inputs = gather_inputs(project, "secondary", env)
    assert dict(inputs.env) == {"AZURE_CLIENT_ID": "a", "ARM_CLIENT_ID": "b", "PULUMI_CONFIG_PASSPHRASE": "p"}
    # The data group (the factory's and the runner's roles) and the foundation group (the runner's on Key Vault).
    assert inputs.needs.role_assignment_groups == ("rg-contoso-data-ase", "rg-contoso-foundation-ase")
    assert inputs.secrets_provider is None and inputs.provider_config == {"azure-native:location": "eastus"}


def test_the_command_reads_the_environment_the_deploy_will_have(tmp_path):
    # What `drctl failover` passes once it maps AZURE_* to ARM_* for the Pulumi CLI (provider_environment).
    from orchestrator.targets.azure.preflight.provider_auth import provider_environment

    project = project_copy(tmp_path)
    own = {"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_SECRET": "s",
           "PULUMI_BACKEND_URL": "https://api.pulumi.com"}

    def run(env):
        result = preflight_command(project, "secondary", env=env,
                                   session_factory=lambda config: session_for(platform_routes() + readiness_routes())[0])
        return next(c for c in result["checks"] if c["id"] == "credentials.provider")

    assert run(own)["severity"] == "warning"  # the provider alone would use az login
    mapped = run({**own, **provider_environment(own)})
    assert mapped["status"] == "pass" and mapped["evidence"]["provider_sign_in"] == "service-principal"


def test_the_redeploy_audit_runs_with_a_pulumi_stack_to_read_and_only_then():
    import dataclasses

    from orchestrator.program.graph import Graph

    ra_grs = body(STORAGE_CAN_FAILOVER)
    ra_grs["sku"]["name"] = "Standard_RAGRS"  # test-built, as above
    inputs = _healthy_inputs()
    primary = (Graph(stack="primary", region="eastus2", resources=[]), inputs.config)
    inputs = dataclasses.replace(inputs, primary=primary)
    asked: list[str] = []

    def no_cli(name: str):
        asked.append(name)
        raise RuntimeError("no pulumi on PATH")

    session, _ = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    audited = run_checks(inputs, session, now=NOW, state_readable=lambda: True, primary_stack=no_cli)
    audit = audited.by_id("readiness.state")
    assert asked == [inputs.config.stack] and audit.severity == "warning" and not audit.blocks
    session, _ = session_for(platform_routes() + readiness_routes(storage=ra_grs))
    plain = run_checks(inputs, session, now=NOW, state_readable=lambda: True)
    assert "readiness.state" not in {c.id for c in plain.checks}
