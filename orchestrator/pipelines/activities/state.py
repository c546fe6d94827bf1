"""What every activity of one run shares: the datasets, the clock it waits on, the record of what ran
and what was copied, and the way to run a nested container of activities (ForEach, IfCondition)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.pipelines.datasets import Datasets
from orchestrator.pipelines.expressions import Scope

# Run a container's activities in `scope`, under the path given; returns each one's {"output": ...}.
RunContainer = Callable[[list[dict[str, Any]], Scope, "RunState", str], Mapping[str, Mapping[str, Any]]]


@dataclass
class RunState:
    datasets: Datasets
    sleep: Callable[[float], None]
    run_container: RunContainer
    activity_runs: list[dict[str, Any]] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ActivityKind:
    """One activity type the runner implements: the type-specific properties it reads (any other is
    refused when the definitions are loaded), how it runs, and which properties hold nested activities."""

    properties: frozenset[str]
    # (activity, scope, state, path) -> (its output, as activity('name').output reads it; what the
    # evidence says of it besides)
    run: Callable[[dict[str, Any], Scope, RunState, str], tuple[dict[str, Any], dict[str, Any]]]
    nested: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], None] = lambda activity: None
