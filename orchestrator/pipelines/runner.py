"""Running one of the repository's pipelines with the local pipeline runner, as the service runs it
on `createRun`: its parameters checked against the pipeline's declarations (defaults applied), its
activities run, and a run record kept (run id, status, each activity's run, each copy).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from azure.storage.blob import BlobServiceClient

from orchestrator.model import TransientError
from orchestrator.pipelines import RUNNER
from orchestrator.pipelines.activities.container import run_container
from orchestrator.pipelines.activities.state import RunState
from orchestrator.pipelines.datasets import Datasets
from orchestrator.pipelines.definitions import Definitions
from orchestrator.pipelines.errors import PipelineError
from orchestrator.pipelines.expressions import Scope
from orchestrator.run.rundir import utc_now

_TYPES: dict[str, type] = {"String": str, "Int": int}


def run_parameters(declared: Mapping[str, Any], given: Mapping[str, Any], pipeline: str) -> dict[str, Any]:
    """The run's parameters: each declared one given or defaulted, of its declared type; nothing undeclared."""
    undeclared = sorted(set(given) - set(declared))
    if undeclared:
        raise PipelineError(f"pipeline {pipeline!r} declares no parameter {', '.join(map(repr, undeclared))}")
    values = {}
    for name, spec in declared.items():
        if name not in given and "defaultValue" not in spec:
            raise PipelineError(f"pipeline {pipeline!r}: parameter {name!r} has no value and no default")
        value = given.get(name, spec.get("defaultValue"))
        wanted = _TYPES[spec["type"]]
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise PipelineError(f"pipeline {pipeline!r}: parameter {name!r} is a {spec['type']}, got {value!r}")
        values[name] = value
    return values


class PipelineRunner:
    """Runs the loaded definitions; `linked_services` maps each linked service to the account that stands
    for it here (the program's `lake` -> the recovered region's Azurite account)."""

    def __init__(self, definitions: Definitions, linked_services: Mapping[str, BlobServiceClient], *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.definitions, self.linked_services, self.sleep = definitions, dict(linked_services), sleep

    def run(self, pipeline: str, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The run's evidence once it succeeded; PipelineError with that evidence (status Failed) if not."""
        definition = self.definitions.pipeline(pipeline)
        run_id, started, clock = str(uuid.uuid4()), utc_now(), time.monotonic()
        record: dict[str, Any] = {"runner": RUNNER, "pipeline": pipeline, "file": str(definition.path), "run_id": run_id,
                                  "parameters": dict(parameters or {}), "run_start": started,
                                  "linked_services": {name: f"Azurite account {service.account_name}"
                                                      for name, service in self.linked_services.items()}}
        state = RunState(Datasets(self.definitions.datasets, self.linked_services), self.sleep, run_container)
        try:
            values = run_parameters(definition.properties.get("parameters") or {}, parameters or {}, pipeline)
            record["parameters"] = values
            scope = Scope(pipeline={"parameters": values, "Pipeline": pipeline, "RunId": run_id})
            run_container(definition.properties["activities"], scope, state, "")
        except TransientError:
            raise  # the SDK's retries ran out on a busy or unreachable emulator: the step tries again
        except Exception as exc:
            record.update(self._ended(state, clock, "Failed", str(exc)))
            raise PipelineError(f"{pipeline} (run by the {RUNNER}) failed: {exc}", record) from exc
        record.update(self._ended(state, clock, "Succeeded", None))
        return record

    @staticmethod
    def _ended(state: RunState, clock: float, status: str, message: str | None) -> dict[str, Any]:
        return {"status": status, "message": message, "run_end": utc_now(),
                "duration_ms": round((time.monotonic() - clock) * 1000),
                "activity_runs": state.activity_runs, "copies": state.copies}
