"""Control activities: ForEach, IfCondition and Wait.

ForEach runs its iterations one after the other, whatever isSequential and batchCount say: the
service runs them in parallel in no promised order, so an order is one of the service's, and the
results the repository's pipelines produce (one hour each) do not depend on it.
"""

from __future__ import annotations

from typing import Any

from orchestrator.pipelines.activities.state import ActivityKind, RunState
from orchestrator.pipelines.errors import PipelineError
from orchestrator.pipelines.expressions import Scope, evaluate

# The service's bounds on a Wait (seconds) and a ForEach's batchCount.
WAIT_MAX_S = 86_400
BATCH_COUNT_MAX = 50


def for_each(activity: dict[str, Any], scope: Scope, state: RunState, path: str) -> tuple[dict, dict]:
    items = evaluate(activity.get("items"), scope)
    if not isinstance(items, list):
        raise PipelineError(f"items must evaluate to an array, got {items!r}")
    for index, item in enumerate(items):
        state.run_container(activity.get("activities") or [], scope.for_item(item), state, f"{path}[{index}]")
    return {}, {"items": items}


def _check_for_each(activity: dict[str, Any]) -> None:
    count = activity.get("batchCount", 20)
    if not isinstance(count, int) or not 1 <= count <= BATCH_COUNT_MAX:
        raise PipelineError(f"batchCount must be an integer from 1 to {BATCH_COUNT_MAX}, got {count!r}")


def if_condition(activity: dict[str, Any], scope: Scope, state: RunState, path: str) -> tuple[dict, dict]:
    condition = evaluate(activity.get("expression"), scope)
    if not isinstance(condition, bool):
        raise PipelineError(f"the expression must evaluate to a boolean, got {condition!r}")
    branch = "ifTrueActivities" if condition else "ifFalseActivities"
    state.run_container(activity.get(branch) or [], scope, state, f"{path}/{branch}")
    return {}, {"branch": branch}


def wait(activity: dict[str, Any], scope: Scope, state: RunState, path: str) -> tuple[dict, dict]:
    seconds = evaluate(activity.get("waitTimeInSeconds"), scope)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= WAIT_MAX_S:
        raise PipelineError(f"waitTimeInSeconds must be an integer from 0 to {WAIT_MAX_S}, got {seconds!r}")
    state.sleep(seconds)
    return {}, {"waited_s": seconds}


KINDS = {
    "ForEach": ActivityKind(frozenset({"items", "isSequential", "batchCount", "activities"}), for_each,
                            nested=("activities",), check=_check_for_each),
    "IfCondition": ActivityKind(frozenset({"expression", "ifTrueActivities", "ifFalseActivities"}), if_condition,
                                nested=("ifTrueActivities", "ifFalseActivities")),
    "Wait": ActivityKind(frozenset({"waitTimeInSeconds"}), wait),
}
