"""The parts of the Azure target a drctl may be built without: the preflight and the data and smoke
steps. They are found at run time, so a failover without them still deploys, and says what it lacks
instead of failing to start (its dry run lists no preflight checks; its data steps are "declared,
not exercised")."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.model import Step, StepContext, StepOutcome, StepRunner

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph
    from stacks.config import StackConfig

PREFLIGHT_MODULE = "orchestrator.targets.azure.preflight.run"
DATA_STEPS_MODULE = "orchestrator.targets.azure.data_steps"

# (run_dir, config, graph) -> the runner of every step that is not a deploy, or None.
DataStepsFactory = Callable[[Path, "StackConfig", "Graph"], StepRunner | None]


def _optional_module(name: str) -> Any | None:
    # find_spec, not `except ImportError`: a module that exists but fails to import must fail loudly.
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def planned_preflight(config: StackConfig) -> tuple[list[dict[str, Any]], str | None]:
    """The preflight checks a real run makes for `config`, and a note when they cannot be listed."""
    module = _optional_module(PREFLIGHT_MODULE)
    if module is None or not hasattr(module, "planned_checks"):
        return [], f"{PREFLIGHT_MODULE}.planned_checks is not available in this drctl: no preflight checks listed"
    return list(module.planned_checks(config)), None


def azure_data_steps(project_dir: Path, stack: str) -> DataStepsFactory | None:
    """The Azure data and smoke steps (runner_data.AzureDataSteps), or None when this drctl has
    none. The subscription they work in is resolved here, before anything runs: a missing one is
    bad input (preflight.subscription_id_for names where to set it)."""
    module = _optional_module(DATA_STEPS_MODULE)
    if module is None or not hasattr(module, "AzureDataSteps"):
        return None
    subscription = importlib.import_module(PREFLIGHT_MODULE).subscription_id_for(Path(project_dir), stack)

    def factory(run_dir: Path, config: StackConfig, graph: Graph) -> StepRunner:
        from orchestrator.targets.azure.clients import AzureSession

        azure = AzureSession.from_environment(subscription)
        return _ClosingRunner(module.AzureDataSteps(azure, config, graph, run_dir, project_dir=Path(project_dir)).run, azure.close)

    return factory


class _ClosingRunner:
    """A step runner with resources to release when the run ends (the Azure clients)."""

    def __init__(self, run: StepRunner, close: Callable[[], None]) -> None:
        self._run, self.close = run, close

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        return self._run(step, context)
