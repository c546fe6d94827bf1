"""The azure target's database checks, driven by the REST API specs' example payloads.

The management clients run for real (serialisation, pipeline, polling) through AzureSession;
only the socket is replaced (tests/azure_fixtures.ExampleTransport). Nothing leaves the process.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import sys

import pytest
from psycopg.conninfo import conninfo_to_dict

from orchestrator.model import PermanentError, TransientError
from orchestrator.redact import MASK, REDACTOR
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.errors import call
from orchestrator.targets.azure.stores.databases import (
    cosmos_failover,
    entra_token,
    postgres_conninfo,
    postgres_server_ready,
    sql_recovery_point,
)
from orchestrator.targets.azure.tls import POSTGRES_ROOT_CERTS
from smoke_tests.event_hubs_geo_dr import AliasProbe, alias_resolves_to_secondary
from smoke_tests.probe import ServiceProbe
from smoke_tests.sql_database import database_online
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example, example_body


def sql_database_online(s: AzureSession, group: str, server: str, database: str) -> dict:
    """smoke_tests/sql_database.py's database-online, as the azure target probes it: the database its
    deploy step recorded, read through ARM."""
    database_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Sql/servers/{server}/databases/{database}"
    return database_online(ServiceProbe("sql_database", call, FakeCredential(), s.resources(),
                                        ({"type": "azure-native:sql:Database", "id": database_id, "api_version": "2023-08-01"},)))


def event_hubs_alias_failover(eventhub, group: str, namespace: str, alias: str) -> dict:
    """smoke_tests/event_hubs_geo_dr.py's alias-resolves-to-secondary, as the azure target probes it."""
    return alias_resolves_to_secondary(AliasProbe(call, eventhub, group, namespace, alias))


SQL_RECOVERABLE = "sql/resource-manager/Microsoft.Sql/stable/2025-01-01/examples/RecoverableDatabaseGet.json"
SQL_RECOVERY_CREATE = ("sql/resource-manager/Microsoft.Sql/SQL/stable/2025-01-01/examples/"
                       "CreateDwDatabaseCrossSubscriptionRecovery.json")
PG_SERVER = "postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/ServersGet.json"
PG_ADMINS = ("postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2025-08-01/examples/"
             "AdministratorsListByServer.json")
# The list example's Group administrator: the stack's entraAdmin in these tests.
EXAMPLE_GROUP = ("gggggggg-gggg-gggg-gggg-gggggggggggg", "examplegroup@contoso.com")
COSMOS = "cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/stable/2026-07-15/examples/"
COSMOS_GET, COSMOS_MAX = COSMOS + "CosmosDBDatabaseAccountGet.json", COSMOS + "CosmosDBDatabaseAccountCreateMax.json"
COSMOS_FAILOVER = COSMOS + "CosmosDBDatabaseAccountFailoverPriorityChange.json"
EH = "eventhub/resource-manager/Microsoft.EventHub/Eventhub/examples/2026-01-01/disasterRecoveryConfigs/"
EH_GET, EH_FAILOVER = EH + "EHAliasGet.json", EH + "EHAliasFailOver.json"

RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"


def session(*routes: Route) -> tuple[AzureSession, ExampleTransport]:
    transport = ExampleTransport(list(routes))
    # retry_total=0: the engine retries whole steps; an SDK retry would hide what the step decides.
    # polling_interval=0: long-running operations are polled without waiting between polls.
    return AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0, polling_interval=0), transport


def only_local(transport: ExampleTransport) -> None:
    """Every request went to the test double at Azure Resource Manager's address, nowhere else."""
    hosts = {r.url.split("/")[2] for r in transport.requests}
    assert hosts <= {"management.azure.com", "centraluseuap.management.azure.com"}, hosts


# -- Azure SQL -------------------------------------------------------------------------------------
def test_the_recoverable_database_gives_the_rpo_watermark():
    s, transport = session(Route("GET", f"{RG}/providers/Microsoft.Sql/servers/contoso-sql-aue/recoverableDatabases/platform",
                                 body=example_body(SQL_RECOVERABLE)))
    point = sql_recovery_point(s.sql(), "rg", "contoso-sql-aue", "platform")
    assert point["last_available_backup_date"] == "2017-05-26T01:06:29Z"
    assert point["recoverable_database_id"].endswith("/recoverableDatabases/recoverabledatabasetest-9187")
    assert point["edition"] == "Basic"
    assert "api-version=2" in transport.requests[0].url
    only_local(transport)


def test_a_recoverable_database_without_a_backup_date_is_permanent():
    body = copy.deepcopy(example_body(SQL_RECOVERABLE))
    body["properties"].pop("lastAvailableBackupDate")
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.Sql/servers/x/recoverableDatabases/platform", body=body))
    with pytest.raises(PermanentError, match="no geo-replicated backup"):
        sql_recovery_point(s.sql(), "rg", "x", "platform")


def test_a_missing_recoverable_database_is_permanent_with_the_service_code():
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.Sql/servers/x/recoverableDatabases/platform", status=404,
                         body={"error": {"code": "ResourceNotFound", "message": "The requested resource was not found."}}))
    with pytest.raises(PermanentError) as caught:
        sql_recovery_point(s.sql(), "rg", "x", "platform")
    assert caught.value.evidence["error_code"] == "ResourceNotFound" and caught.value.evidence["status"] == 404


def _sql_db(status: str) -> dict:
    body = copy.deepcopy(example_body(SQL_RECOVERY_CREATE))
    body["properties"]["status"] = status
    return body


@pytest.mark.parametrize("status, verdict", [("Online", None), ("Restoring", TransientError),
                                             ("Creating", TransientError), ("Suspect", PermanentError),
                                             ("Paused", PermanentError)])
def test_the_geo_restored_database_must_be_online(status, verdict):
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.Sql/servers/s/databases/testdw", body=_sql_db(status)))
    if verdict is None:
        evidence = sql_database_online(s, "rg", "s", "testdw")
        assert evidence["status"] == "Online" and evidence["backup_storage_redundancy"] == "Geo"
    else:
        with pytest.raises(verdict, match=status):
            sql_database_online(s, "rg", "s", "testdw")


def test_throttling_is_retriable_with_retry_after():
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.Sql/servers/s/databases/db", status=429,
                         headers={"Retry-After": "17"},
                         body={"error": {"code": "TooManyRequests", "message": "throttled"}}))
    with pytest.raises(TransientError) as caught:
        sql_database_online(s, "rg", "s", "db")
    assert caught.value.retry_after_s == 17.0


# -- PostgreSQL --------------------------------------------------------------------------------------
def _pg(state: str | None = None) -> dict:
    body = copy.deepcopy(example_body(PG_SERVER))
    if state:
        body["properties"]["state"] = state
    return body


def test_the_geo_restored_server_is_ready():
    s, transport = session(Route("GET", f"{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver",
                                 body=_pg()))
    evidence = postgres_server_ready(s.postgres(), "rg", "exampleserver")
    assert evidence["state"] == "Ready" and evidence["fqdn"] == "exampleserver.postgres.database.azure.com"
    assert evidence["geo_redundant_backup"] == "Enabled" and evidence["entra_auth"] == "Disabled"
    only_local(transport)


@pytest.mark.parametrize("state, verdict", [("Provisioning", TransientError), ("Updating", TransientError),
                                            ("Stopped", PermanentError), ("Inaccessible", PermanentError)])
def test_a_server_not_ready_is_retried_or_refused(state, verdict):
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/exampleserver",
                         body=_pg(state)))
    with pytest.raises(verdict, match=state):
        postgres_server_ready(s.postgres(), "rg", "exampleserver")


def test_a_server_error_is_retriable():
    s, _ = session(Route("GET", f"{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/x", status=503,
                         headers={"x-ms-retry-after-ms": "2500"},
                         body={"error": {"code": "ServiceUnavailable", "message": "busy"}}))
    with pytest.raises(TransientError) as caught:
        postgres_server_ready(s.postgres(), "rg", "x")
    assert caught.value.retry_after_s == 2.5


def test_the_entra_conninfo_uses_the_token_as_password_and_verifies_the_servers_certificate():
    token = entra_token(FakeCredential())
    dsn = postgres_conninfo("contoso-pg-ase.postgres.database.azure.com", "platform", "pg-admins", token)
    parts = conninfo_to_dict(dsn)
    assert parts == {"host": "contoso-pg-ase.postgres.database.azure.com", "port": "5432", "dbname": "platform",
                     "user": "pg-admins", "password": token, "sslmode": "verify-full",
                     "sslrootcert": str(POSTGRES_ROOT_CERTS), "connect_timeout": "15"}
    assert token not in REDACTOR.text(dsn) and MASK in REDACTOR.text(dsn)
    with pytest.raises(PermanentError, match="Entra principal"):
        postgres_conninfo("h", "platform", "", token)


# -- Cosmos DB ---------------------------------------------------------------------------------------
ACCOUNT = f"{RG}/providers/Microsoft.DocumentDB/databaseAccounts/ddb1"


class CosmosAccount:
    """An account whose priorities change when the failover priority change is posted."""

    def __init__(self, body: dict) -> None:
        self.body = copy.deepcopy(body)
        self.posted: list[dict] = []

    def get(self, request):
        return 200, self.body, {}

    def change(self, request):
        wanted = json.loads(request.body)["failoverPolicies"]
        self.posted.append(wanted)
        priority = {p["locationName"]: p["failoverPriority"] for p in wanted}
        for key in ("failoverPolicies", "locations"):
            for location in self.body["properties"][key]:
                location["failoverPriority"] = priority[location["locationName"]]
        return 202, None, example(COSMOS_FAILOVER)["responses"]["202"]["headers"]

    def routes(self) -> list[Route]:
        return [Route("GET", ACCOUNT, respond=self.get),
                Route("POST", f"{ACCOUNT}/failoverPriorityChange", respond=self.change),
                Route("GET", r"/subscriptions/[^/]+/providers/Microsoft.DocumentDB/locations/[^/]+/operationsStatus/[^/]+",
                      body={"status": "Succeeded"})]


def test_a_recovery_region_already_first_needs_no_failover():
    account = CosmosAccount(example_body(COSMOS_MAX))
    s, transport = session(*account.routes())
    evidence = cosmos_failover(s.cosmos(), "rg", "ddb1", "southcentralus")
    assert evidence["action"].startswith("none")
    assert account.posted == [] and [r.method for r in transport.requests] == ["GET"]


def test_a_recovery_region_not_first_is_failed_over_and_polled():
    account = CosmosAccount(example_body(COSMOS_MAX))
    s, transport = session(*account.routes())
    evidence = cosmos_failover(s.cosmos(), "rg", "ddb1", "eastus")
    assert account.posted == [[{"locationName": "East US", "failoverPriority": 0},
                               {"locationName": "South Central US", "failoverPriority": 1}]]
    assert evidence["priorities_before"] == {"South Central US": 0, "East US": 1}
    assert evidence["priorities_after"] == {"South Central US": 1, "East US": 0}
    assert any("operationsStatus" in r.url for r in transport.requests)  # the 202 was polled to its end
    only_local(transport)


def test_an_account_without_the_recovery_region_cannot_fail_over():
    s, _ = session(*CosmosAccount(example_body(COSMOS_GET)).routes())
    with pytest.raises(PermanentError, match="no region australiasoutheast") as caught:
        cosmos_failover(s.cosmos(), "rg", "ddb1", "australiasoutheast")
    assert caught.value.evidence["priorities_before"] == {"East US": 0}


def test_a_failed_failover_operation_is_permanent():
    account = CosmosAccount(example_body(COSMOS_MAX))
    routes = [*account.routes()[:2], Route("GET", r"/subscriptions/[^/]+/providers/Microsoft.DocumentDB/locations/[^/]+/operationsStatus/[^/]+", body={"status": "Failed", "error": {"code": "ServiceUnavailable", "message": "region offline"}})]
    s, _ = session(*routes)
    with pytest.raises(PermanentError):
        cosmos_failover(s.cosmos(), "rg", "ddb1", "eastus")


# -- Event Hubs Geo-DR ---------------------------------------------------------------------------------
ALIAS = f"{RG}/providers/Microsoft.EventHub/namespaces/contoso-evh-ase/disasterRecoveryConfigs/contoso-evh-geo"


class Alias:
    def __init__(self, role: str = "Secondary", applies: bool = True) -> None:
        self.body = copy.deepcopy(example_body(EH_GET))
        self.body["properties"]["role"] = role
        self.applies, self.failovers = applies, 0

    def get(self, request):
        return 200, self.body, {}

    def fail_over(self, request):
        self.failovers += 1
        if self.applies:
            self.body["properties"].update(role="PrimaryNotReplicating", provisioningState="Succeeded")
        return 200, example(EH_FAILOVER)["responses"]["200"].get("body"), {}

    def routes(self) -> list[Route]:
        return [Route("GET", ALIAS, respond=self.get), Route("POST", f"{ALIAS}/failover", respond=self.fail_over)]


def test_the_alias_fails_over_to_the_secondary_namespace_once():
    alias = Alias()
    s, transport = session(*alias.routes())
    evidence = event_hubs_alias_failover(s.eventhub(), "rg", "contoso-evh-ase", "contoso-evh-geo")
    assert evidence["role_before"] == "Secondary" and evidence["role"] == "PrimaryNotReplicating"
    assert alias.failovers == 1
    again = event_hubs_alias_failover(s.eventhub(), "rg", "contoso-evh-ase", "contoso-evh-geo")
    assert again["action"].startswith("none") and alias.failovers == 1  # never twice
    only_local(transport)


def test_a_failover_not_applied_yet_is_retriable_and_not_repeated():
    alias = Alias(applies=False)
    s, _ = session(*alias.routes())
    with pytest.raises(TransientError, match="not primary yet"):
        event_hubs_alias_failover(s.eventhub(), "rg", "contoso-evh-ase", "contoso-evh-geo")
    assert alias.failovers == 1


def test_a_namespace_without_the_alias_is_permanent():
    s, _ = session(Route("GET", ALIAS, status=404, body={"error": {"code": "NotFound", "message": "no alias"}}))
    with pytest.raises(PermanentError) as caught:
        event_hubs_alias_failover(s.eventhub(), "rg", "contoso-evh-ase", "contoso-evh-geo")
    assert caught.value.evidence["error_code"] == "NotFound"


# -- the azure target's database steps ---------------------------------------------------------------
def _runner(tmp_path, *routes: Route, services: dict | None = None, entra_admin: bool = True,
            runner: bool = False):
    import dataclasses
    from pathlib import Path

    from components.cosmos_db import CosmosDbSettings
    from components.event_hubs_geo_dr import EventHubsGeoDrSettings
    from components.roles import EntraAdmin
    from components.sql_database import SqlDatabaseSettings
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.data_steps import AzureDataSteps
    from stacks.config import load_stack_config

    config = load_stack_config(Path(__file__).resolve().parents[4], "secondary")
    admin = EntraAdmin(objectId=EXAMPLE_GROUP[0], principalName=EXAMPLE_GROUP[1]) if entra_admin else None
    optional = {"sqlDatabase": SqlDatabaseSettings.model_validate(
                    {"adminLogin": "sql-admins", "adminObjectId": "44444444-4444-4444-4444-444444444444", "restore": {}}),
                "cosmosDb": CosmosDbSettings.model_validate({}), "eventHubsGeoDr": EventHubsGeoDrSettings.model_validate({})}
    assert not config.optional_services  # the shipped secondary switches none on: the test chooses
    postgres = config.postgres.model_copy(update={"entra_admin": admin})
    config = dataclasses.replace(config, settings={**config.settings, "postgres": postgres})
    if not runner:  # sign in as the configured admin group, as a stack without dataplatform:runner does
        config = dataclasses.replace(config, runner=None)
    config = config.with_services(services if services is not None else optional)
    types = {"postgres": "dataplatform:data:PostgresServer", "sql_database": "dataplatform:data:SqlDatabase",
             "cosmos_db": "dataplatform:data:CosmosDb", "event_hubs_geo_dr": "dataplatform:data:EventHubsGeoDr"}
    graph = Graph(stack="secondary", region=config.region, resources=[],
                  components=[{"urn": f"urn:{k}", "type": t, "name": k, "component": None} for k, t in types.items()])
    s, transport = session(*routes)
    return AzureDataSteps(s, config, graph, tmp_path), transport


class _Context:
    def __init__(self, run_dir) -> None:
        self.run_dir = run_dir

    def outputs_of(self, step_id: str) -> dict:
        return {}


def _step(component: str, kind: str):
    from orchestrator.model import Step, StepKind

    return Step(id=f"{component}.{kind}", component=component, kind=StepKind(kind), depends_on=(), estimate_s=1)


SECONDARY_RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase"
PRIMARY_RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-aue"
PG_ASE = f"{SECONDARY_RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-ase"


def _restored_pg(state: str | None = None, admins: dict | None = None) -> list[Route]:
    """The restored server (the Get example) and its Entra administrators (the list example)."""
    return [Route("GET", PG_ASE, body=_pg(state)),
            Route("GET", f"{PG_ASE}/administrators", body=admins or example_body(PG_ADMINS))]


def test_sql_rehydration_reports_the_last_backup_as_the_recovered_data_timestamp(tmp_path, monkeypatch):
    server = f"{SECONDARY_RG}/providers/Microsoft.Sql/servers/contoso-sql-ase"
    runner, transport = _runner(tmp_path,
        Route("GET", f"{server}/databases/platform", body=_sql_db("Online")),
        # No Microsoft.Sql server GET example is kept: a minimal body with the address the SQL checks read.
        Route("GET", server, body={"id": server, "name": "contoso-sql-ase", "location": "australiasoutheast",
                                   "properties": {"fullyQualifiedDomainName": "contoso-sql-ase.database.windows.net"}}),
        Route("GET", f"{PRIMARY_RG}/providers/Microsoft.Sql/servers/contoso-sql-aue/recoverableDatabases/platform",
              body=example_body(SQL_RECOVERABLE)))
    outcome = runner.run(_step("sql_database", "rehydrate"), _Context(tmp_path))
    assert outcome.outputs == {"recovered_data_timestamp": "2017-05-26T01:06:29Z"}
    assert outcome.evidence["database"]["status"] == "Online"
    only_local(transport)
    # Validation runs the SQL data checks (smoke_tests/sql_database.py) at the server's address; without
    # a TDS driver that signs in with an Entra token, it fails saying which one to install.
    monkeypatch.setitem(sys.modules, "mssql_python", None)
    with pytest.raises(PermanentError, match="install mssql-python"):
        runner.run(_step("sql_database", "validate"), _Context(tmp_path))


def test_postgres_steps_sign_in_with_an_entra_token_and_reuse_the_local_sql_checks(tmp_path, monkeypatch):
    from orchestrator.data.manifest import ValidationResult
    from orchestrator.targets.azure import data_steps as runner_data
    from orchestrator.targets.azure import probes

    dsns: list[str] = []
    monkeypatch.setattr(runner_data.db, "postgres_watermark", lambda dsn: dsns.append(dsn) or (41, "2026-01-01T10:00:00Z"))
    monkeypatch.setattr(runner_data, "validate_postgres",
                        lambda dsn, manifest, checks: dsns.append(dsn) or ValidationResult("postgres", True, {}, [], {}))

    class Answers:  # select-1's queries, answered: SELECT 1, then each platform table is present
        def execute(self, query, *args):
            return self

        def fetchone(self):
            return (1,)

    @contextlib.contextmanager
    def connect(dsn, site):
        dsns.append(dsn)
        yield Answers()

    monkeypatch.setattr(probes, "pg_connect", connect)
    runner, transport = _runner(tmp_path, *_restored_pg())
    outcome = runner.run(_step("postgres", "rehydrate"), _Context(tmp_path))
    assert outcome.outputs == {"watermark": 41, "recovered_data_timestamp": "2026-01-01T10:00:00Z"}
    parts = conninfo_to_dict(dsns[0])
    assert (parts["host"], parts["user"], parts["dbname"], parts["sslmode"]) == (
        "exampleserver.postgres.database.azure.com", "examplegroup@contoso.com", "platform", "verify-full")
    assert parts["password"] == FakeCredential().get_token().token and "fake-token" not in json.dumps(outcome.evidence)
    # without a manifest of the primary at the restore point, validation is declared, not exercised
    assert not runner.run(_step("postgres", "validate"), _Context(tmp_path)).exercised
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "postgres-platform.json").write_text(
        json.dumps({"kind": "postgres", "tables": {}, "watermark": 41}))
    assert runner.run(_step("postgres", "validate"), _Context(tmp_path)).outputs == {"exact": True}
    smoke = runner.run(_step("postgres", "smoke"), _Context(tmp_path))
    assert smoke.evidence["data_plane"]["select-1"]["ok"] and len(dsns) == 4  # rehydrate; validate: watermark, comparison; smoke
    admin_lists = [r for r in transport.requests if r.url.split("?")[0].endswith("/contoso-pg-ase/administrators")]
    assert len(admin_lists) == 3  # before each sign-in
    only_local(transport)


def test_with_a_runner_drctl_signs_in_as_the_runner_and_needs_its_own_admin_entry(tmp_path):
    # The example's server lists a user and a group, not the runner: refused before any sign-in.
    steps, _ = _runner(tmp_path, *_restored_pg(), runner=True)
    with pytest.raises(PermanentError) as caught:
        steps.run(_step("postgres", "rehydrate"), _Context(tmp_path))
    assert "drctl-runner (11111111-1111-1111-1111-111111111111)" in str(caught.value)


def test_postgres_without_an_entra_admin_or_not_ready_fails_before_connecting(tmp_path):
    runner, _ = _runner(tmp_path, *_restored_pg(), entra_admin=False)
    with pytest.raises(PermanentError, match="entraAdmin"):
        runner.run(_step("postgres", "rehydrate"), _Context(tmp_path))
    runner, _ = _runner(tmp_path, *_restored_pg("Provisioning"))
    with pytest.raises(TransientError, match="Provisioning"):
        runner.run(_step("postgres", "rehydrate"), _Context(tmp_path))


def _no_sign_in(monkeypatch) -> list:
    from orchestrator.targets.azure import data_steps as runner_data

    tokens: list = []
    monkeypatch.setattr(runner_data.db, "entra_token", lambda credential: tokens.append(credential) or "token")
    monkeypatch.setattr(runner_data.db, "postgres_watermark", lambda dsn: pytest.fail("connected to the server"))
    return tokens


def test_a_restored_server_without_the_configured_admin_fails_before_signing_in(tmp_path, monkeypatch):
    tokens = _no_sign_in(monkeypatch)
    admins = example_body(PG_ADMINS)
    admins["value"] = admins["value"][:1]  # test-built: only the example's User administrator
    runner, _ = _runner(tmp_path, *_restored_pg(admins=admins))
    with pytest.raises(PermanentError, match=re.escape("no Entra administrator examplegroup@contoso.com")) as caught:
        runner.run(_step("postgres", "rehydrate"), _Context(tmp_path))
    assert [a["principal_name"] for a in caught.value.evidence["administrators"]] == ["exampleuser@contoso.com"]
    assert not tokens


def test_a_restored_admin_registered_under_another_name_fails_before_signing_in(tmp_path, monkeypatch):
    tokens = _no_sign_in(monkeypatch)
    admins = example_body(PG_ADMINS)
    admins["value"][1]["properties"]["principalName"] = "old-pg-admins"  # test-built: the group renamed
    runner, _ = _runner(tmp_path, *_restored_pg(admins=admins))
    with pytest.raises(PermanentError, match=re.escape("as 'old-pg-admins', not 'examplegroup@contoso.com'")):
        runner.run(_step("postgres", "rehydrate"), _Context(tmp_path))
    assert not tokens


def _validation(tmp_path, monkeypatch, manifest: dict | None, restored: int | None = 41):
    """postgres.validate against a restored server holding watermark `restored`; which manifests reached
    the comparison (a real comparison of watermarks: facts and checks are the local path's, tested there)."""
    from orchestrator.data.manifest import compare
    from orchestrator.targets.azure import data_steps as runner_data

    compared: list[dict] = []
    monkeypatch.setattr(runner_data.db, "postgres_watermark", lambda dsn: (restored, "2026-01-01T10:00:00Z"))
    monkeypatch.setattr(runner_data, "validate_postgres", lambda dsn, wanted, checks: compared.append(wanted) or compare(
        "postgres", wanted["tables"], {}, checks, wanted.get("watermark"), restored))
    if manifest is not None:
        (tmp_path / "manifests").mkdir()
        (tmp_path / "manifests" / "postgres-platform.json").write_text(json.dumps(manifest))
    runner, _ = _runner(tmp_path, *_restored_pg())
    return runner.run(_step("postgres", "validate"), _Context(tmp_path)), compared


def test_postgres_validation_without_a_manifest_says_it_was_skipped(tmp_path, monkeypatch):
    outcome, compared = _validation(tmp_path, monkeypatch, None)
    assert not outcome.exercised and not compared
    assert outcome.evidence["note"] == "validation skipped: no manifest"
    assert "geo-restore's point" in outcome.evidence["reason"]


def test_a_manifest_of_another_point_is_not_compared_with_the_restored_server(tmp_path, monkeypatch):
    outcome, compared = _validation(tmp_path, monkeypatch, {"kind": "postgres", "tables": {}, "watermark": 40})
    assert not outcome.exercised and not compared
    assert (outcome.evidence["manifest_watermark"], outcome.evidence["restored_watermark"]) == (40, 41)
    assert outcome.evidence["note"] == "validation skipped: no manifest at the restored point"


def test_a_manifest_of_the_restored_point_is_compared_exactly(tmp_path, monkeypatch):
    tables = {"events": {"rows": 3, "checksum": "md5:x", "max_ts": None}}
    with pytest.raises(PermanentError, match="events: missing"):  # the double's server holds no table
        _validation(tmp_path, monkeypatch, {"kind": "postgres", "tables": tables, "watermark": 41})


def test_cosmos_validation_fails_the_account_over_to_the_recovery_region(tmp_path):
    body = copy.deepcopy(example_body(COSMOS_MAX))
    for key in ("locations", "failoverPolicies", "readLocations"):
        for location in body["properties"].get(key, []):
            if location["locationName"] == "East US":
                location["locationName"] = "Australia Southeast"
    account = CosmosAccount(body)
    # The primary's account: a service-managed failover moves its write region here, keeping its name.
    routes = [Route(r.method, r.path.replace(RG, PRIMARY_RG).replace("ddb1", "contoso-cosmos-aue"),
                    respond=r.respond, body=r.body) for r in account.routes()]
    runner, transport = _runner(tmp_path, *routes)
    judged = []  # the data checks themselves are tested on the Cosmos server (tests/smoke_tests/test_cosmos_db.py)
    runner.judge_data = lambda profile, resources: judged.append(profile.key) or {"checks": {"document-count": {}}}
    outcome = runner.run(_step("cosmos_db", "validate"), _Context(tmp_path))
    assert outcome.evidence["failover"]["priorities_after"] == {"South Central US": 1, "Australia Southeast": 0}
    assert judged == ["cosmos_db"] and "not_exercised" not in outcome.evidence  # its data checks ran after it
    first = transport.requests[0]  # the account read before the failover: the primary's
    assert first.method == "GET" and "/rg-contoso-data-aue/" in first.url and "/contoso-cosmos-aue" in first.url
    only_local(transport)


def test_the_event_hubs_smoke_fails_the_alias_over_and_checks_its_role(tmp_path):
    alias = Alias()
    path = ALIAS.replace(RG, SECONDARY_RG).replace("contoso-evh-geo", "contoso-evh-geo-aue")
    runner, _ = _runner(tmp_path, Route("GET", path, respond=alias.get), Route("POST", f"{path}/failover",
                                                                                respond=alias.fail_over))
    # Its data check (hubs and consumer groups) runs in the same step, after the failover: tested on
    # its own in tests/smoke_tests/test_event_hubs_geo_dr.py.
    judged = []
    runner.judge_data = lambda profile, resources: judged.append(alias.failovers) or {"checks": {}}
    smoke = runner.run(_step("event_hubs_geo_dr", "smoke"), _Context(tmp_path))
    assert smoke.evidence["management_checks"]["alias-resolves-to-secondary"]["role"] == "PrimaryNotReplicating"
    assert alias.failovers == 1 and judged == [1]


def test_a_service_not_enabled_in_the_stack_is_permanent(tmp_path):
    runner, _ = _runner(tmp_path, services={})
    with pytest.raises(PermanentError, match="not enabled"):
        runner.run(_step("sql_database", "rehydrate"), _Context(tmp_path))
