"""The fake `pulumi` CLI answers where the real one would trip drctl up: a stack not created yet,
a self-managed backend without its passphrase, azure-native's existence check, an update killed
mid-way and its pending creates, `pulumi cancel`. Driven through the real Automation API
(PulumiStack), so what these tests see is what drctl sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_pulumi import scenario as fake
from pulumi import automation as auto

from orchestrator.model import PermanentError
from orchestrator.targets.azure.deploy.events import EngineEvidence
from orchestrator.targets.azure.deploy.stack import PulumiStack, pulumi_command

REPO = Path(__file__).resolve().parents[4]
STACK = "secondary"
SERVER = "azure-native:dbforpostgresql:Server"
SERVER_URN = fake.urn(STACK, SERVER, "postgres-server", ("dataplatform:data:PostgresServer",))
SERVER_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-data-ase"
             "/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-ase")
FIREWALL = "azure-native:network:AzureFirewall"
FIREWALL_URN = fake.urn(STACK, FIREWALL, "connectivity-fw", ("dataplatform:connectivity:Connectivity",))
FIREWALL_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-contoso-connectivity-ase"
               "/providers/Microsoft.Network/azureFirewalls/afw-contoso-ase")


@pytest.fixture(autouse=True)
def no_passphrase_from_the_developer(monkeypatch):
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)


def stack(directory: Path, **env: str) -> PulumiStack:
    return PulumiStack(REPO, STACK, command=fake.FAKE_BIN, env_vars={**fake.fake_env(directory / "scenario.json"), **env})


def test_selecting_a_stack_that_does_not_exist_is_stack_not_found(tmp_path):
    fake.write_scenario(tmp_path, stacks={})
    options = auto.LocalWorkspaceOptions(env_vars=fake.fake_env(tmp_path / "scenario.json"),
                                         pulumi_command=pulumi_command(fake.FAKE_BIN))
    with pytest.raises(auto.StackNotFoundError, match="no stack named 'secondary' found"):
        auto.select_stack(STACK, work_dir=str(REPO), opts=options)
    created = auto.create_or_select_stack(STACK, work_dir=str(REPO), opts=options)
    assert created.name == STACK and ["stack", "init", STACK] in fake.calls(tmp_path)


def test_a_self_managed_backend_needs_the_passphrase(tmp_path):
    fake.write_scenario(tmp_path, stacks={}, up=[{"events": [fake.prelude()]}])
    backend = f"file://{tmp_path / 'state'}"

    with pytest.raises(PermanentError) as missing:
        stack(tmp_path, PULUMI_BACKEND_URL=backend).up()
    assert "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE" in str(missing.value)
    assert not fake.state(tmp_path).get("stacks")  # `stack init` refused: nothing was created

    stack(tmp_path, PULUMI_BACKEND_URL=backend, PULUMI_CONFIG_PASSPHRASE="correct horse").up()
    with pytest.raises(PermanentError, match="incorrect passphrase"):
        stack(tmp_path, PULUMI_BACKEND_URL=backend, PULUMI_CONFIG_PASSPHRASE="wrong").up()
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse\n")
    stack(tmp_path, PULUMI_BACKEND_URL=backend, PULUMI_CONFIG_PASSPHRASE_FILE=str(phrase)).up()
    # Pulumi Cloud keeps the secrets itself: no passphrase asked.
    fake.write_scenario(tmp_path / "cloud", stacks={}, up=[{"events": [fake.prelude()]}])
    stack(tmp_path / "cloud").up()


def test_creating_what_azure_already_has_fails_with_azure_natives_existence_check(tmp_path):
    fake.write_scenario(tmp_path, stacks={STACK: {}}, azure=[SERVER_ID],
                        up=[{"events": [fake.prelude(), *fake.resource(SERVER_URN, SERVER, id_=SERVER_ID),
                                        *fake.resource(FIREWALL_URN, FIREWALL, id_=FIREWALL_ID)]}])
    evidence = EngineEvidence()

    with pytest.raises(PermanentError, match="pulumi up failed"):
        stack(tmp_path).up(on_event=evidence.on_event)

    [failed] = evidence.failed()
    assert failed.urn == SERVER_URN and failed.error == f"cannot create already existing resource '{SERVER_ID}'"
    assert evidence.records[FIREWALL_URN].status == "done"  # the others go on
    assert [r["urn"] for r in fake.state(tmp_path)["stacks"][STACK]["resources"]] == [FIREWALL_URN]


def test_a_killed_update_leaves_pending_creates_that_the_next_up_keeps_and_warns_about(tmp_path):
    inputs = {"resourceGroupName": "rg-contoso-data-ase", "serverName": "contoso-pg-ase"}
    crashed = {"events": [fake.prelude(), fake.started(SERVER_URN, SERVER, inputs=inputs),
                          *fake.resource(FIREWALL_URN, FIREWALL, id_=FIREWALL_ID)],
               "crash": True, "azure_finishes": [SERVER_ID]}  # the geo-restore goes on without the CLI
    again = {"events": [fake.prelude(), *fake.resource(SERVER_URN, SERVER, id_=SERVER_ID),
                        *fake.resource(FIREWALL_URN, FIREWALL, id_=FIREWALL_ID)]}
    fake.write_scenario(tmp_path, stacks={STACK: {}}, up=[crashed, again])

    with pytest.raises(PermanentError, match="exit -9"):
        stack(tmp_path).up()
    assert stack(tmp_path).pending_operations() == [{"urn": SERVER_URN, "type": SERVER, "op": "creating",
                                                     "inputs": inputs}]

    evidence = EngineEvidence()
    with pytest.raises(PermanentError):
        stack(tmp_path).up(on_event=evidence.on_event)
    assert evidence.records[SERVER_URN].error == f"cannot create already existing resource '{SERVER_ID}'"
    assert evidence.records[FIREWALL_URN].op == "update"  # already in the state: no second create
    assert [op["urn"] for op in stack(tmp_path).pending_operations()] == [SERVER_URN]  # still pending


def test_a_refresh_imports_the_pending_creates_it_is_given_and_clears_the_rest(tmp_path):
    pending = [fake.pending_create(SERVER_URN, SERVER), fake.pending_create(FIREWALL_URN, FIREWALL)]
    fake.write_scenario(tmp_path, stacks={STACK: {"pending_operations": pending}}, azure=[SERVER_ID],
                        refresh=[{"events": [fake.summary({"same": 1})]}])

    summary = stack(tmp_path).refresh(import_pending_creates=[(SERVER_URN, SERVER_ID)], clear_pending_creates=True)

    assert summary["kind"] == "refresh" and summary["result"] == "succeeded"
    [refresh] = fake.operations(tmp_path)
    imports = [refresh[i + 1] for i, arg in enumerate(refresh) if arg == "--import-pending-creates"]
    assert imports == [SERVER_URN, SERVER_ID] and "--clear-pending-creates" in refresh
    assert stack(tmp_path).pending_operations() == []
    assert stack(tmp_path).resources() == [{"urn": SERVER_URN, "type": SERVER, "id": SERVER_ID}]


def test_without_a_resolution_a_refresh_keeps_the_pending_creates(tmp_path):
    pending = [fake.pending_create(SERVER_URN, SERVER)]
    fake.write_scenario(tmp_path, stacks={STACK: {"pending_operations": pending}}, refresh=[{}])
    stack(tmp_path).refresh(clear_pending_creates=False)
    assert [op["urn"] for op in stack(tmp_path).pending_operations()] == [SERVER_URN]


def test_cancel_with_no_update_running_is_the_services_conflict(tmp_path):
    fake.write_scenario(tmp_path, stacks={STACK: {}})
    with pytest.raises(PermanentError, match=r"\[409\] Conflict: The Update has already completed"):
        stack(tmp_path).cancel()
    # A self-managed backend's cancel would only delete the lock: drctl does not issue it.
    diy = stack(tmp_path, PULUMI_BACKEND_URL=f"file://{tmp_path}", PULUMI_CONFIG_PASSPHRASE="x").cancel()
    assert diy["issued"] is False and "lock" in diy["reason"]
    assert [args[0] for args in fake.calls(tmp_path)].count("cancel") == 1
