"""The azure target's data steps: rehydrate, validate, replay, smoke and the gates, per component.

Deploy steps are the deploy runner's (Pulumi); this performs what follows them, its smoke and data
checks through check_steps.py (a mixin). Steps are dispatched on the component's DR profile: its key picks the store-specific handlers below (the
profile carries no Azure-specific field yet), its recovery action and smoke checks decide the
rest. Every non-SaaS component gets the generic management-plane smoke check (provisioningState
of each resource its deploy step recorded); anything without an Azure implementation yet
returns `exercised=False` with a note, never a pass. Replay re-runs the stack's Data Factory
ingestion pipeline from the store's recovered data timestamp (replay.py); Data Explorer is
re-ingested from the recovered lake (explorer_steps.py). The handover then starts the factory's
triggers (stores/factory_triggers.py).

Names (accounts, servers, groups) follow components/naming.py exactly as the program does, so
nothing here needs the stack's outputs except the resource ids the deploy recorded:
`context.outputs_of("<component>.deploy")["resources"]`, a list of {"urn", "type", "id"}.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from azure.storage.blob import BlobServiceClient

from components import naming
from components.profile import DRProfile, RecoveryAction
from orchestrator.data.manifest import validated
from orchestrator.data.postgres.recovery import validate_postgres
from orchestrator.model import PermanentError, Step, StepContext, StepKind, StepOutcome
from orchestrator.plan.zones import zone_of
from orchestrator.run.approvals import recorded_approval
from orchestrator.run.rundir import RunDir, utc_now
from orchestrator.targets.azure.check_steps import NOT_YET, CheckSteps
from orchestrator.targets.azure.explorer_steps import ExplorerSteps
from orchestrator.targets.azure.lake_steps import LakeSteps
from orchestrator.targets.azure.probes import AzureProbes
from orchestrator.targets.azure.stores import databases as db
from orchestrator.targets.azure.stores import factory_endpoints, factory_triggers
from orchestrator.targets.azure.stores import replay as adf_replay
from orchestrator.targets.azure.stores.lake import aad_blob_service
from orchestrator.targets.azure.stores.management import ApiVersions
from smoke_tests.sql_database import database_online

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from stacks.config import StackConfig

REPLAY_NOT_YET = ("declared, not exercised on Azure: replay re-runs the platform's ingestion (a Data Factory "
                  "pipeline) from the store's recovered data timestamp, and here there is none to run")
PG_NO_MANIFEST = "validation skipped: no manifest"
PG_NO_MANIFEST_WHY = ("nothing on Azure records the primary's per-table facts at the geo-restore's point: Azure "
                      "picks it (the last geo-replicated backup) while restoring, when the primary may be gone")


class AzureDataSteps(CheckSteps):
    def __init__(self, session: AzureSession, config: StackConfig, graph: Graph, run_dir: Path, *,
                 blob_service: Callable[[str], BlobServiceClient] | None = None,
                 copy_timeout_s: float = 6 * 3600, poll_interval_s: float = 5.0, max_in_flight: int = 16,
                 replay_timeout_s: float = 2 * 3600, now: Callable[[], datetime] | None = None,
                 kusto: Callable[[str], Any] | None = None, project_dir: Path | None = None) -> None:
        from orchestrator.stack import stack_profiles

        self.session, self.config, self.graph, self.run_dir = session, config, graph, Path(run_dir)
        self.project_dir = project_dir  # where the stack's files are (the pipelines a parity check reads)
        self.profiles: dict[str, DRProfile] = {p.key: p for p in stack_profiles(graph, config)}
        self.blob_service = blob_service or (lambda endpoint: aad_blob_service(endpoint, session.credential))
        self.copy_timeout_s, self.poll_interval_s, self.max_in_flight = copy_timeout_s, poll_interval_s, max_in_flight
        self.replay_timeout_s, self.now = replay_timeout_s, now or (lambda: datetime.now(UTC))
        self.api_versions = ApiVersions(session.resources())
        self.data_group = naming.resource_group_name(config.prefix, "data", config.name_suffix)
        self.explorer = ExplorerSteps(self, kusto)
        self.lake = LakeSteps(self)
        self.probes = AzureProbes(self)

    # -- dispatch ---------------------------------------------------------------------------------
    def run(self, step: Step, context: StepContext) -> StepOutcome:
        if step.kind == StepKind.GATE:
            return self.gate(step)
        if step.kind == StepKind.HANDOVER:
            return self.handover()
        if step.kind == StepKind.DEPLOY:
            raise PermanentError(f"{step.id}: deploy steps belong to the deploy runner, not AzureDataSteps")
        profile = self.profiles.get(step.component)
        if profile is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET})
        if profile.recovery_action == RecoveryAction.SAAS:
            # Nothing of it is deployed or restored; its readiness check (smoke_tests/catalog.py) proves it answers.
            return self.smoke(step, profile, context) if step.kind == StepKind.SMOKE else StepOutcome(
                exercised=False, evidence={"note": NOT_YET})
        if zone_of(step):
            return StepOutcome(exercised=False, evidence={"note": NOT_YET, "zone": zone_of(step)})
        if step.kind == StepKind.SMOKE:
            return self.smoke(step, profile, context)
        if step.kind == StepKind.REPLAY:
            return self.replay(step.component, context)
        handler = {("lake", StepKind.REHYDRATE): lambda: self.lake.rehydrate(context),
                   ("lake", StepKind.VALIDATE): self.lake.validate,
                   ("postgres", StepKind.REHYDRATE): self.postgres_rehydrate,
                   ("postgres", StepKind.VALIDATE): self.postgres_validate,
                   ("sql_database", StepKind.REHYDRATE): self.sql_rehydrate,
                   ("data_explorer", StepKind.REHYDRATE): self.explorer.rehydrate,
                   ("data_explorer", StepKind.VALIDATE): self.explorer.validate,
                   ("cosmos_db", StepKind.VALIDATE): lambda: self.cosmos_validate(context)}.get((profile.key, step.kind))
        if handler is None and step.kind == StepKind.VALIDATE and self.data_checks(profile.key):
            return self.validate_checks(step.component, profile, context)
        if handler is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET})
        return handler()

    __call__ = run

    def paired_names(self) -> tuple[str, str]:
        """The paired stack's prefix and name suffix, which name its resources (the program needs them too)."""
        prefix, suffix = self.config.paired_prefix, self.config.paired_name_suffix
        if not prefix or not suffix:
            raise PermanentError("the paired stack's prefix/nameSuffix are unknown: cannot name its resources")
        return prefix, suffix

    def gate(self, step: Step) -> StepOutcome:
        """On Azure a person approves (`drctl approve`); the run waits until then."""
        return recorded_approval(self.run_dir, step.id)

    # -- replay: the stores a Data Factory pipeline loads -----------------------------------------------
    def replay(self, component: str, context: StepContext) -> StepOutcome:
        if component == "data_explorer":  # re-ingests from the lake, not through a pipeline
            return self.explorer.replay(context)
        if component not in adf_replay.REPLAYED_BY_PIPELINE:
            return _not_replayed(f"no pipeline of the repository loads {component}")
        if not self.config.enabled("dataFactory"):
            return _not_replayed("the Data Factory service is not in this stack")
        try:
            rehydrated = context.outputs_of(f"{component}.{StepKind.REHYDRATE}")
        except KeyError:  # no rehydrate step upstream in this plan
            rehydrated = {}
        if not rehydrated:
            return _not_replayed(f"{component}.rehydrate recorded nothing (not exercised): no recovered point")
        factory, account = self.factory_name(), naming.storage_account_name(self.config.prefix, self.config.name_suffix)
        # The pipeline reaches the lake through the factory's managed private endpoints: Approved first.
        endpoints = factory_endpoints.declared_endpoints(self.graph.resources)
        return adf_replay.replay_store(
            self.session.datafactory(), component, rehydrated, resource_group=self.data_group, factory=factory,
            record_dir=RunDir(self.run_dir).replay, now=self.now, disaster_at=adf_replay.disaster_at(self.run_dir),
            lake_raw=lambda: self._lake_dest().get_container_client(adf_replay.RAW_CONTAINER),
            before_run=lambda: factory_endpoints.lake_endpoints_approved(
                self.session.datafactory(), self.session.storage(), resource_group=self.data_group, factory=factory,
                account=account, account_group=self.data_group, endpoints=endpoints,
                poll_interval_s=self.poll_interval_s),
            poll_interval_s=self.poll_interval_s, timeout_s=self.replay_timeout_s)

    def factory_name(self) -> str:
        return naming.data_factory_name(self.config.prefix, self.config.name_suffix)

    # -- handover: then the factory's schedule goes live ------------------------------------------------
    def handover(self) -> StepOutcome:
        """Handed over, then the stack's Data Factory triggers started (factory_triggers.py)."""
        handed_over = utc_now()
        started = factory_triggers.after_handover(self.session.datafactory, self.data_group, self.factory_name(),
                                                  self.graph.resources if self.config.enabled("dataFactory") else [])
        return StepOutcome(outputs={"handover_at": handed_over},
                           evidence={"handover": "platform handed over", "after_handover": started})

    # -- the lake ---------------------------------------------------------------------------------------
    def _lake_dest(self) -> BlobServiceClient:
        account = naming.storage_account_name(self.config.prefix, self.config.name_suffix)
        return self.blob_service(f"https://{account}.blob.core.windows.net")

    # -- PostgreSQL -------------------------------------------------------------------------------------
    def _postgres(self) -> tuple[dict, str]:
        server = naming.postgres_server_name(self.config.prefix, self.config.name_suffix)
        ready = db.postgres_server_ready(self.session.postgres(), self.data_group, server)
        # drctl signs in as the runner, its own administrator entry (components/runner.py); without a
        # runner, as the configured admin group, which its token's principal must then be a member of.
        admin = self.config.runner.as_admin if self.config.runner is not None else self.config.postgres.entra_admin
        if admin is None:
            raise PermanentError("postgres.entraAdmin is not set: drctl has no Entra principal to sign in as")
        # A restored server has the primary's admins: without ours, sign-in fails saying only "password".
        db.require_admin(db.postgres_admins(self.session.postgres(), self.data_group, server),
                         admin.object_id, admin.principal_name, server)
        token = db.entra_token(self.session.credential)
        return ready, db.postgres_conninfo(ready["fqdn"], self.config.postgres.databases[0], admin.principal_name, token)

    def postgres_rehydrate(self) -> StepOutcome:
        ready, dsn = self._postgres()
        watermark, data_end = db.postgres_watermark(dsn)
        return StepOutcome(outputs={"watermark": watermark, "recovered_data_timestamp": data_end},
                           evidence={"server": ready, "method": "geo-restore (the deploy step, create_mode GeoRestore)",
                                     "watermark": watermark, "data_end": data_end})

    def postgres_validate(self) -> StepOutcome:
        # Only a manifest of the point the restore holds (its watermark) can prove or disprove it.
        path = RunDir(self.run_dir).manifest(f"postgres-{self.config.postgres.databases[0]}.json")
        if not path.is_file():
            return StepOutcome(exercised=False, evidence={"note": PG_NO_MANIFEST, "reason": PG_NO_MANIFEST_WHY,
                                                          "manifest": path.name})
        manifest = json.loads(path.read_text(encoding="utf-8"))
        _, dsn = self._postgres()
        restored, _ = db.postgres_watermark(dsn)
        if manifest.get("watermark") != restored:
            return StepOutcome(exercised=False, evidence={
                "note": f"{PG_NO_MANIFEST} at the restored point", "manifest": path.name,
                "manifest_watermark": manifest.get("watermark"), "restored_watermark": restored})
        return validated(validate_postgres(dsn, manifest, self.data_checks("postgres")).to_evidence())

    # -- Azure SQL, Cosmos DB, Event Hubs Geo-DR --------------------------------------------------------
    def _settings(self, component: str) -> Any:
        from components.registry import SERVICES

        for spec in SERVICES:
            if spec.profile.key == component and self.config.enabled(spec.key):
                return self.config.settings_of(spec.key)
        raise PermanentError(f"{component} is not enabled in the stack's services")

    def sql_rehydrate(self) -> StepOutcome:
        settings = self._settings("sql_database")
        if settings.restore is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET + " (failover-group recovery)"})
        from components.sql_database import server_name

        online = database_online(self.probes.sql_database([])[0])
        paired = self.paired_names()
        group = naming.resource_group_name(paired[0], "data", paired[1])
        point = db.sql_recovery_point(self.session.sql(), group, server_name(*paired), settings.database)
        return StepOutcome(outputs={"recovered_data_timestamp": point["last_available_backup_date"]},
                           evidence={"database": online, "recovery_point": point,
                                     "method": "geo-restore (the deploy step, create_mode Recovery)"})

    def cosmos_account(self) -> tuple[str, str]:
        """(resource group, name) of the account recovery uses: the primary's own, whose write region a
        service-managed failover moves here (it keeps its name and endpoint); a restored account (the
        stack's `restore:`) is this stack's."""
        if self._settings("cosmos_db").restore is not None:
            return self.data_group, f"{self.config.prefix}-cosmos-{self.config.name_suffix}"
        prefix, suffix = self.paired_names()
        return naming.resource_group_name(prefix, "data", suffix), f"{prefix}-cosmos-{suffix}"

    def cosmos_resources(self) -> list[dict]:
        group, account = self.cosmos_account()
        return [{"type": "azure-native:cosmosdb:DatabaseAccount", "urn": f"drctl:cosmos:{account}",
                 "id": f"/subscriptions/{self.session.subscription_id}/resourceGroups/{group}/providers/"
                       f"Microsoft.DocumentDB/databaseAccounts/{account}"}]

    def cosmos_validate(self, context: StepContext) -> StepOutcome:
        """The account's write region moved here first (a service-managed failover), then its data checks."""
        group, account = self.cosmos_account()
        failover = db.cosmos_failover(self.session.cosmos(), group, account, self.config.region)
        judged = self.judge_data(self.profiles["cosmos_db"], self.cosmos_resources())
        return StepOutcome(evidence={"failover": failover, **judged})



def _not_replayed(reason: str) -> StepOutcome:
    return StepOutcome(exercised=False, evidence={"note": REPLAY_NOT_YET, "reason": reason})
