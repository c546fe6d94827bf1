"""What each service's checks run against on Azure, by service stem: the clients, names and ids the
check functions in smoke_tests/<stem>.py take, built from the stack's config and the session, and how
their SDK errors become the engine's."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from azure.storage.blob import BlobServiceClient

from components import naming
from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.ingest import ZONES
from orchestrator.model import PermanentError
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.errors import call
from orchestrator.targets.azure.explorer_steps import ExplorerSteps
from orchestrator.targets.azure.stores.management import ApiVersions
from orchestrator.targets.azure.stores.replay import run_pipeline
from smoke_tests.data_explorer import ExplorerProbe
from smoke_tests.event_hubs_geo_dr import AliasProbe, expected_hubs
from smoke_tests.lake import LakeProbe
from smoke_tests.postgres import PostgresProbe
from smoke_tests.probe import ServiceProbe
from stacks.config import StackConfig

CLUSTER_TYPE = "azure-native:kusto:Cluster"
# Checks that read what this stack does not deploy: the region's Network Watcher (Azure creates it), and
# the Traffic Manager profile and public DNS zone the paired stack owns (smoke_tests/<stem>.py).
FINDS_ITS_OWN = frozenset({"network_watcher", "traffic_manager", "public_dns"})


class ProbeSource(Protocol):
    """What the probes read of the target's data steps (targets/azure/data_steps.py)."""

    config: StackConfig
    session: AzureSession
    data_group: str
    api_versions: ApiVersions
    explorer: ExplorerSteps

    def _lake_dest(self) -> BlobServiceClient: ...
    def _postgres(self) -> tuple[dict, str]: ...
    def _settings(self, component: str) -> Any: ...
    def baseline(self, component: str) -> dict[str, Any]: ...
    project_dir: Path | None
    def paired_names(self) -> tuple[str, str]: ...


class AzureProbes:
    def __init__(self, steps: ProbeSource) -> None:
        self.steps = steps  # the target's data steps: config, session, clients
        self.own: dict[str, Callable[[list[dict]], tuple[Any, AbstractContextManager[None]]]] = {
            "lake": self.lake, "postgres": self.postgres, "sql_database": self.sql_database,
            "event_hubs_geo_dr": self.event_hubs_geo_dr, "data_explorer": self.data_explorer}

    def has_own(self, component: str) -> bool:
        """Whether `component`'s checks run with nothing of it deployed here: it has a probe of its own
        (it needs no deployed resource ids to build), or its checks find what they read by Azure's or the
        owning stack's names (FINDS_ITS_OWN)."""
        return component in self.own or component in FINDS_ITS_OWN

    def probe(self, component: str, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        """(probe, the block its SDK errors are translated in): the service's own probe where it has
        one, else the generic ServiceProbe (smoke_tests/probe.py)."""
        build = self.own.get(component)
        if build is not None:
            return build(resources)
        return self.service(component, resources), azure_errors(f"{component} check")

    def service(self, component: str, resources: list[dict]) -> ServiceProbe:
        steps, config = self.steps, self.steps.config
        session = steps.session
        try:
            settings = steps._settings(component)
        except PermanentError:  # a catalog service: the platform relies on it, the stack declares no settings
            settings = None
        names = {"prefix": config.prefix, "suffix": config.name_suffix, "region": config.region,
                 "subscription": session.subscription_id, "data_group": steps.data_group,
                 "paired_prefix": config.paired_prefix or "", "paired_suffix": config.paired_name_suffix or ""}
        if steps.project_dir is not None:
            names["project_dir"] = str(steps.project_dir)
        return ServiceProbe(
            component, call, session.credential, session.resources(), tuple(resources),
            api_version=lambda r: steps.api_versions.for_resource(str(r["id"]), r.get("type"), r.get("api_version"))[0],
            settings=settings, names=names,
            client_kwargs={"transport": session.transport} if session.transport is not None else {},
            connectors={"run_pipeline": run_pipeline},
            baseline=steps.baseline(component))

    def lake(self, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        return LakeProbe(self.steps._lake_dest(), ZONES), azure_errors("lake smoke test")

    def postgres(self, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        dsn = self.steps._postgres()[1]
        return PostgresProbe(lambda: pg_connect(dsn, site="postgres: smoke test")), pg_errors("postgres smoke test")

    def sql_database(self, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        """The generic probe; without the deploy's records (the rehydrate step reads the restored
        database before any smoke step), the server and database the program names."""
        from components.sql_database import server_path

        config = self.steps.config
        if not resources:
            server = (f"/subscriptions/{self.steps.session.subscription_id}/resourceGroups/{self.steps.data_group}"
                      f"/providers/{server_path(config.prefix, config.name_suffix)}")
            database = self.steps._settings("sql_database").database
            resources = [{"type": "azure-native:sql:Server", "id": server},
                         {"type": "azure-native:sql:Database", "id": f"{server}/databases/{database}"}]
        return self.service("sql_database", resources), azure_errors("sql_database check")

    def event_hubs_geo_dr(self, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        from components.event_hubs_geo_dr import alias_name

        config = self.steps.config
        alias = alias_name(*self.steps.paired_names(), self.steps._settings("event_hubs_geo_dr"))
        namespace = naming.event_hubs_namespace_name(config.prefix, config.name_suffix)
        hubs = getattr(config.settings_of("eventHubs"), "hubs", ()) if config.enabled("eventHubs") else ()
        stream = config.settings_of("streamAnalytics") if config.enabled("streamAnalytics") else None
        expected = expected_hubs(hubs, (stream.input_hub, stream.consumer_group) if stream is not None else None)
        probe = AliasProbe(call, self.steps.session.eventhub(), self.steps.data_group, namespace, alias,
                           expected_hubs=expected, baseline=self.steps.baseline("event_hubs_geo_dr"))
        return probe, nullcontext()

    def data_explorer(self, resources: list[dict]) -> tuple[Any, AbstractContextManager[None]]:
        explorer = self.steps.explorer
        clusters = [r for r in resources if r.get("type") == CLUSTER_TYPE]
        cluster_id, version = None, None
        if clusters:
            cluster_id = clusters[0]["id"]
            version, _ = self.steps.api_versions.for_resource(cluster_id, CLUSTER_TYPE, clusters[0].get("api_version"))
        probe = ExplorerProbe(call, explorer._client(), explorer._database(), self.steps.session.resources(),
                              cluster_id, version)
        return probe, nullcontext()
