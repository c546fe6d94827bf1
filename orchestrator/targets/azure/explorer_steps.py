"""The Data Explorer steps of the azure target: rehydrate, validate and replay (its smoke checks are in smoke_tests/data_explorer.py).

Rehydrate re-ingests the recovered lake (the plan runs it after the lake's replay: the profile's
lake dependency has needs_data); replay ingests the files that landed in the lake since, so the
cluster ends as current as the lake. The logic is in explorer.py; this binds it to the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from azure.storage.blob import BlobServiceClient

from orchestrator.data.event_time import as_utc
from orchestrator.data.manifest import validated
from orchestrator.model import StepContext, StepKind, StepOutcome
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.stores import data_explorer as explorer
from orchestrator.targets.azure.stores.kusto import KustoClient, cluster_uri
from smoke_tests.check import Check
from stacks.config import StackConfig

COMPONENT = "data_explorer"


class ExplorerSource(Protocol):
    """What the explorer's steps read of the target's data steps (targets/azure/data_steps.py)."""

    session: AzureSession
    config: StackConfig
    poll_interval_s: float
    now: Callable[[], datetime]

    def _lake_dest(self) -> BlobServiceClient: ...
    def _settings(self, component: str) -> Any: ...
    def data_checks(self, component: str) -> Sequence[Check]: ...


class ExplorerSteps:
    def __init__(self, data_steps: ExplorerSource, kusto: Callable[[str], KustoClient] | None = None, *,
                 max_in_flight: int = 8, timeout_s: float = 3600.0) -> None:
        self.data = data_steps
        self.kusto = kusto or (lambda uri: KustoClient(uri, data_steps.session.credential))
        self.max_in_flight, self.timeout_s = max_in_flight, timeout_s

    def _client(self) -> KustoClient:
        from components.data_explorer import cluster_name

        config = self.data.config
        return self.kusto(cluster_uri(cluster_name(config.prefix, config.name_suffix), config.region))

    def _database(self) -> str:
        return self.data._settings(COMPONENT).database

    def _ingest(self) -> tuple[dict, dict, list]:
        client, database = self._client(), self._database()
        files = explorer.lake_event_files(self.data._lake_dest())
        evidence = explorer.reingest(client, database, files, max_in_flight=self.max_in_flight,
                                     poll_interval_s=self.data.poll_interval_s, timeout_s=self.timeout_s)
        return evidence, explorer.table_state(client, database), files

    def rehydrate(self) -> StepOutcome:
        evidence, state, _ = self._ingest()
        return StepOutcome(outputs={"recovered_data_timestamp": state["max_ts"], "rows": state["rows"]},
                           evidence={**evidence, "table": state, "method": "re-ingestion from the recovered lake"})

    def validate(self) -> StepOutcome:
        files = explorer.lake_event_files(self.data._lake_dest())
        return validated(explorer.validate(self._client(), self._database(), files, self.data.data_checks(COMPONENT)))

    def replay(self, context: StepContext) -> StepOutcome:
        rehydrated = _outputs(context, f"{COMPONENT}.{StepKind.REHYDRATE}")
        evidence, state, _ = self._ingest()
        outputs: dict[str, Any] = {"data_timestamp": state["max_ts"], "rows": state["rows"]}
        recovered = rehydrated.get("recovered_data_timestamp")
        lake = _outputs(context, f"lake.{StepKind.REPLAY}")
        # The cluster holds what the lake holds: once every lake file is in, it is as far behind
        # as the lake was after its own replay, and no further.
        if recovered and "rpo_after_replay_s" in lake:
            outputs["rpo_before_replay_s"] = round((as_utc(self.data.now()) - as_utc(recovered)).total_seconds(), 3)
            outputs["rpo_after_replay_s"] = lake["rpo_after_replay_s"]
        return StepOutcome(outputs=outputs, evidence={**evidence, "table": state, "recovered_data_timestamp": recovered,
                                                      "lake_replay": {k: lake.get(k) for k in ("rpo_after_replay_s",
                                                                                               "data_timestamp")}})


def _outputs(context: StepContext, step_id: str) -> dict:
    try:
        return context.outputs_of(step_id) or {}
    except KeyError:  # that step is not in this plan
        return {}
