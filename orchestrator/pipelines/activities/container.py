"""A container of activities (a pipeline's, a ForEach iteration's, an IfCondition branch's): checked
when the definitions are loaded, then run in dependency order.

Every dependency the repository's pipelines declare is on success, and a failed activity fails the
run (no dependency on failure or completion handles it), so running the activities one at a time in
an order that respects dependsOn gives the service's outcome.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from orchestrator.pipelines.activities import control, copy, metadata
from orchestrator.pipelines.activities.state import ActivityKind, RunState
from orchestrator.pipelines.errors import PipelineError, unsupported, where
from orchestrator.pipelines.expressions import Scope, check_supported
from orchestrator.pipelines.expressions.scope import NO_ITEM

ACTIVITIES: dict[str, ActivityKind] = {**control.KINDS, **metadata.KINDS, **copy.KINDS}
# Properties every activity may carry. The policy's timeout and retries are the service's; locally
# the SDK's retries and the step's bounded retries stand in for them.
COMMON = frozenset({"name", "type", "dependsOn", "userProperties", "policy", "description"})
CONDITIONS = frozenset({"Succeeded"})


def _dependencies(activity: dict[str, Any]) -> list[str]:
    names = []
    for dependency in activity.get("dependsOn") or []:
        conditions = dependency.get("dependencyConditions") or []
        for condition in conditions:
            if condition not in CONDITIONS:
                raise unsupported(f"the dependency condition {condition!r}")
        names.append(dependency.get("activity"))
    return names


def ordered(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The activities in declaration order, each after those it depends on."""
    by_name = {a["name"]: a for a in activities}
    done: list[dict[str, Any]] = []
    placed: set[str] = set()
    pending = list(activities)
    while pending:
        ready = [a for a in pending if all(d in placed for d in _dependencies(a))]
        if not ready:
            names = ", ".join(a["name"] for a in pending)
            unknown = sorted({d for a in pending for d in _dependencies(a) if d not in by_name})
            raise PipelineError(f"activities {names} depend on {', '.join(unknown)}, which is not in their container"
                                if unknown else f"activities {names} depend on each other in a cycle")
        for activity in ready:
            done.append(activity)
            placed.add(activity["name"])
            pending.remove(activity)
    return done


def check_container(activities: Any, path: str) -> None:
    """Refuse, naming it, an activity type, property or dependency the runner does not implement."""
    if not isinstance(activities, list):
        raise PipelineError(f"{path or 'the pipeline'}: activities must be a list")
    names = [a.get("name") for a in activities]
    if len(set(names)) != len(names):
        raise PipelineError(f"{path or 'the pipeline'}: two activities share a name")
    for activity in activities:
        place = f"{path}/{activity['name']}" if path else activity["name"]
        with where(f"activity {place}", activity=True):
            kind = ACTIVITIES.get(activity["type"])
            if kind is None:
                raise unsupported(f"the activity type {activity['type']!r}")
            for key in sorted(set(activity) - COMMON - kind.properties):
                raise unsupported(f"the {activity['type']} property {key!r}")
            _dependencies(activity)
            kind.check(activity)
            check_supported({k: v for k, v in activity.items() if k not in kind.nested})
        for key in kind.nested:
            if key in activity:
                check_container(activity[key], f"{place}/{key}" if key != "activities" else place)
    ordered(activities)


def run_container(activities: list[dict[str, Any]], scope: Scope, state: RunState,
                  path: str) -> Mapping[str, Mapping[str, Any]]:
    ran: dict[str, dict[str, Any]] = {}
    for activity in ordered(activities):
        place = f"{path}/{activity['name']}" if path else activity["name"]
        record: dict[str, Any] = {"activity": place, "type": activity["type"]}
        if scope.item is not NO_ITEM:
            record["item"] = scope.item
        started = time.monotonic()
        try:
            with where(f"activity {place}", activity=True):
                output, detail = ACTIVITIES[activity["type"]].run(activity, scope.after(ran), state, place)
        except Exception as exc:
            state.activity_runs.append({**record, "status": "Failed", "error": str(exc),
                                        "duration_ms": round((time.monotonic() - started) * 1000)})
            raise
        state.activity_runs.append({**record, "status": "Succeeded", "output": output, **detail,
                                    "duration_ms": round((time.monotonic() - started) * 1000)})
        ran[activity["name"]] = {"output": output, "status": "Succeeded"}
    return ran
