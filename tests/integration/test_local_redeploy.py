"""The secondary region is redeployed from code after the disaster (issue 15, item 4), on real servers.

One world for the module: a copy of the project whose secondary stack declares a second database
(`analytics`), the prelude staged on a real local region pair (orchestrator/targets/local/prelude.py),
then the two deploy steps run as the drill runs them, from the secondary's captured graph. The
disaster is watched where it happens: what runs at the moment the primary is stopped is recorded
then, not inferred afterwards.

Workdirs come from tempfile.mkdtemp, not pytest's tmp_path: the emulators' PostgreSQL runs as
another user, and every pytest session resets /tmp/pytest-of-<user> to 0700.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
import yaml

from orchestrator.stack import load_stack
from orchestrator.targets.local.declared import (
    CONTAINER,
    SecondaryDeclarations,
    declared_for,
    lake_account_name,
)
from orchestrator.targets.local.deploy import deploy_lake, deploy_postgres
from orchestrator.targets.local.prelude import DrillData, run_prelude
from orchestrator.targets.local.region import LocalRegionPair
from reliability.leftovers import cleanup_case, describe, processes_of

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DATABASE, ADDED = "platform", "analytics"


def _project(root: Path) -> Path:
    """The repository's project, its secondary stack declaring one more database than it ships with."""
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    path = root / "Pulumi.secondary.yaml"
    document = yaml.safe_load(path.read_text())
    assert ADDED not in document["config"]["dataplatform:postgres"]["databases"]  # the shipped stack lacks it
    document["config"]["dataplatform:postgres"]["databases"] = [DATABASE, ADDED]
    path.write_text(yaml.safe_dump(document))
    return root


@pytest.fixture(scope="module")
def world():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-redeploy-")).resolve()
    project = _project(workdir / "project")
    secondary, primary = load_stack(project, "secondary"), load_stack(project, "primary")
    graph = secondary.graph
    local = workdir / "local"
    pair = LocalRegionPair(local, lake_account_name(primary.graph), lake_account_name(graph))
    out: dict = {"pair": pair, "graph": graph}
    disaster = pair.stop_primary

    def stop_primary(abrupt: bool = False) -> None:  # the disaster: what runs at that very moment
        out["at_disaster"] = {
            "running": {name: server.running for name, server in pair.servers().items()},
            "secondary_processes": describe(processes_of(local / "secondary")),
            "secondary_dir": (local / "secondary").exists(),
        }
        disaster(abrupt)

    pair.stop_primary = stop_primary  # type: ignore[method-assign]
    run_dir = workdir / "run"
    run_dir.mkdir()
    try:
        run_prelude(pair, DrillData(local_dir=local, database=DATABASE, scale=1), run_dir, lambda line: None)
        out["after_prelude"] = {name: server.running for name, server in pair.servers().items()}
        declared = SecondaryDeclarations.from_graph(graph)
        out["lake"] = deploy_lake(pair, declared.lake)
        out["postgres"] = deploy_postgres(pair, declared.postgres, DATABASE)
        # a resumed run whose deploy steps had not been journaled yet runs them again
        out["again"] = (deploy_lake(pair, declared.lake), deploy_postgres(pair, declared.postgres, DATABASE))
        yield out
    finally:
        pair.stop()
        cleanup_case(workdir)


def _graph_urns(graph, component_type: str) -> set[str]:
    return {r.urn for r in declared_for(graph, component_type).resources}


def _accounted(evidence: dict) -> list[str]:
    """The graph resources a deploy step's evidence names, created or not (outputs left out)."""
    return [item["graph"]["urn"] for item in evidence["created"] if "urn" in item["graph"]] + \
        [item["graph"]["urn"] for item in evidence["not_created"]]


def test_the_secondary_region_is_not_running_before_the_disaster(world):
    at = world["at_disaster"]
    assert at["running"]["secondary.azurite"] is False and at["running"]["secondary.postgres"] is False
    assert at["secondary_processes"] == []
    assert at["secondary_dir"] is False, "a secondary server was started (and stopped) before the disaster"
    # What Azure keeps in the paired region is there: the geo copy's store, beside the backups.
    assert at["running"]["geo.azurite"] is True and at["running"]["primary.postgres"] is True
    after = world["after_prelude"]
    assert after["geo.azurite"] is True and after["primary.azurite"] is after["primary.postgres"] is False


def test_the_lake_deploy_starts_a_new_azurite_with_the_graph_s_account_and_containers(world):
    pair, graph, outcome = world["pair"], world["graph"], world["lake"]
    evidence = outcome.evidence
    assert evidence["server"]["state"] == "created" and evidence["server"]["start_s"] > 0
    assert evidence["server"]["pid"] == pair.secondary_azurite.pid and pair.secondary_azurite.running
    lake = SecondaryDeclarations.from_graph(graph).lake
    account = next(item for item in evidence["created"] if item["what"] == "storage account")
    assert account["name"] == pair.secondary_account == lake.one("azure-native:storage:StorageAccount").physical_name
    declared = {r.physical_name for r in lake.of_type(CONTAINER)}
    assert {c.name for c in pair.secondary_lake().list_containers()} == declared == set(evidence["containers"])
    # everything the graph declares for the lake is accounted for, once: created, or not and why
    accounted = _accounted(evidence)
    assert sorted(accounted) == sorted(_graph_urns(graph, "dataplatform:data:Lake"))
    assert {item["graph"]["type"] for item in evidence["not_created"]} == {
        "azure-native:network:PrivateEndpoint", "azure-native:network:PrivateDnsZoneGroup",
        "azure-native:monitor:DiagnosticSetting"}
    assert all(item["why"] for item in evidence["not_created"])
    assert {s["setting"] for s in evidence["settings_not_emulated"]} >= {"sku", "isHnsEnabled"}
    assert outcome.outputs["endpoints"]["blob"].endswith(f"/{pair.secondary_account}")


def test_the_postgres_deploy_creates_the_server_and_the_databases_and_roles_the_graph_declares(world):
    pair, graph, outcome = world["pair"], world["graph"], world["postgres"]
    evidence = outcome.evidence
    assert evidence["server"]["state"] == "created" and pair.secondary_postgres.running
    databases = [item for item in evidence["created"] if item["what"] == "database"]
    # the secondary's geo-restore brings its databases: the program lists them as a stack output
    assert [(d["name"], d["graph"], d["state"]) for d in databases] == [
        (DATABASE, {"output": "postgresDatabases"}, "created"), (ADDED, {"output": "postgresDatabases"}, "created")]
    assert outcome.outputs["databases"] == [DATABASE, ADDED]
    with psycopg.connect(pair.secondary_postgres.dsn("postgres")) as conn:
        present = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        admins = {row[0]: row[1] for row in conn.execute(
            "SELECT r.rolname, r.rolcanlogin FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = 'azure_pg_admin'")}
    assert {DATABASE, ADDED} <= present  # the database the project added is there, before any restore
    principals = {r.inputs["principalName"] for r in SecondaryDeclarations.from_graph(graph).postgres.of_type(
        "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")}
    assert principals == {"pg-admins", "drctl-runner"} and admins == dict.fromkeys(principals, True)
    roles = {item["name"]: item for item in evidence["created"] if item["what"] == "role"}
    assert set(roles) == principals | {"azure_pg_admin"}
    assert all("not emulated" in roles[name]["note"] for name in principals)
    accounted = _accounted(evidence)
    # the server's URN names both the server and Azure's built-in role; every other resource once
    assert set(accounted) == _graph_urns(graph, "dataplatform:data:PostgresServer")
    assert {item["graph"]["type"] for item in evidence["not_created"]} == {
        "azure-native:network:PrivateEndpoint", "azure-native:network:PrivateDnsZoneGroup",
        "azure-native:monitor:DiagnosticSetting"}
    assert {s["setting"] for s in evidence["settings_not_emulated"]} >= {"authConfig", "createMode", "network"}


def test_deploying_again_creates_nothing_and_finds_everything(world):
    lake, postgres = world["again"]
    for evidence in (lake.evidence, postgres.evidence):
        assert evidence["server"]["state"] == "existed" and evidence["server"]["start_s"] is None
        assert {item["state"] for item in evidence["created"]} == {"existed"}
    assert postgres.evidence["server"]["pid"] == world["postgres"].evidence["server"]["pid"]
