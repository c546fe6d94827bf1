"""The local target: performs each plan step against the local region pair.

Steps are dispatched on the component's key to the store that runs it here (targets/local/stores/,
one per service stem); smoke and data checks run through the Check objects of the component's DR
profile. Components without a local store succeed as "declared, not exercised locally", never as
passed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile
from orchestrator.model import Plan, Step, StepContext, StepKind, StepOutcome
from orchestrator.plan.zones import zone_of
from orchestrator.run.approvals import auto_approval, recorded_approval
from orchestrator.run.rundir import utc_now
from orchestrator.stack import StackModel
from orchestrator.targets.local.checks import NOT_EXERCISED, run_smoke
from orchestrator.targets.local.declared import SecondaryDeclarations
from orchestrator.targets.local.prelude import DrillData
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.stores.cosmos import CosmosStore
from orchestrator.targets.local.stores.data_factory import DataFactoryStore
from orchestrator.targets.local.stores.lake import LakeStore
from orchestrator.targets.local.stores.postgres import PostgresStore
from orchestrator.targets.local.stores.run import LocalRun
from smoke_tests.check import Target

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph


class LocalTarget:
    def __init__(
        self, pair: LocalRegionPair, data: DrillData, run_dir: Path, profiles: dict[str, DRProfile], plan: Plan,
        graph: Graph, *, require_approval: bool = False, stack: StackModel | None = None,
        recovery_point: datetime | None = None,
    ):
        """`graph`: the secondary stack's, whose declarations the deploy steps build. `recovery_point`:
        the backups restored are the newest at or before it (--recovery-point), on the drill's data clock."""
        self.run_dir, self.profiles, self.require_approval = Path(run_dir), profiles, require_approval
        pipelines_dir = _pipelines_dir(stack)
        self.local = LocalRun(pair, data, run_dir, plan, SecondaryDeclarations.from_graph(graph), pipelines_dir,
                              recovery_point=recovery_point)
        # The stores this machine really runs, by component key (the service's stem).
        self.stores: dict[str, Any] = {"lake": LakeStore(self.local), "postgres": PostgresStore(self.local)}
        if stack is not None and pipelines_dir is not None:  # Data Factory, by the local pipeline runner
            self.stores["data_factory"] = DataFactoryStore(self.local, stack.graph.resources, pipelines_dir)
        if pair.cosmos is not None:  # the stack has Cosmos DB and the local server is installed
            self.stores["cosmos_db"] = CosmosStore(self.local, pair.cosmos, graph)
        self.step_ids = {s.id for s in plan.steps}

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        if step.kind == StepKind.GATE:
            if self.require_approval:  # --require-approval: a person signs off, as on the day
                return recorded_approval(self.run_dir, step.id)
            return auto_approval("drctl (local drill)", "an unattended local drill records its gates as approved "
                                 "(drctl drill --require-approval makes it wait for drctl approve)", step.component)
        if step.kind == StepKind.HANDOVER:
            return StepOutcome(outputs={"handover_at": utc_now()}, evidence={"handover": "platform handed over"})
        profile, store = self.profiles.get(step.component), self.stores.get(step.component)
        if profile is None or store is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
        if step.kind == StepKind.SMOKE:
            return run_smoke(profile, store.probe, store.errors)
        # What the recovery brought back: the rehydrate step's outputs, or the deploy step's where a
        # service failover recovers the data in it (Cosmos DB has no rehydrate step).
        rehydrate = f"{step.component}.{StepKind.REHYDRATE}"
        recovered_by = rehydrate if rehydrate in self.step_ids else f"{step.component}.{StepKind.DEPLOY}"
        recovered = (context.outputs_of(recovered_by)
                     if step.kind in (StepKind.VALIDATE, StepKind.REPLAY) or zone_of(step) else {})
        self.local.current.recovered = recovered
        data_checks = [check for check in profile.data_checks if check.runs_on_target(Target.LOCAL)]
        if zone_of(step):
            return store.reprocess(zone_of(step), recovered.get("watermark"), data_checks)
        if step.kind == StepKind.REPLAY:
            # Replay's RPO is measured from what rehydration recovered, as journaled: an attempt cut
            # short by a crash may already have written part of the delta into the store.
            return store.replay(recovered.get("watermark"))
        if step.kind == StepKind.VALIDATE:
            return store.validate(data_checks)
        # A store has the steps its component's chain has: a stateless one (Data Factory) deploys only.
        return getattr(store, {StepKind.DEPLOY: "deploy", StepKind.REHYDRATE: "rehydrate"}[step.kind])()


def _pipelines_dir(stack: StackModel | None) -> Path | None:
    """The stack's Data Factory pipelines folder (dataFactory.pipelinesDir, relative to the project),
    or None when the stack has no factory."""
    if stack is None or not stack.config.enabled("dataFactory"):
        return None
    return stack.project_dir / stack.config.settings_of("dataFactory").pipelines_dir
