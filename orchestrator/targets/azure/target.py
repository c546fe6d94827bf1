"""The azure target: performs each plan step against a real subscription.

Deploy steps go through the run's shared DeploymentSession (one `pulumi up` for the stack, each
component's step waiting for its own resources). Every other step kind (rehydrate, validate,
replay, smoke, gate, handover) is handed to `other_steps`; without one, such a step succeeds as
"declared, not exercised", never as passed, so the report cannot claim what did not run.
"""

from __future__ import annotations

from orchestrator.model import Step, StepContext, StepKind, StepOutcome, StepRunner
from orchestrator.targets.azure.deploy.session import DeploymentSession

NOT_EXERCISED = "declared, not exercised: the Azure data and smoke steps are not available in this drctl"


class AzureTarget:
    def __init__(self, session: DeploymentSession, other_steps: StepRunner | None = None) -> None:
        self.session, self.other_steps = session, other_steps

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        if step.kind == StepKind.DEPLOY:
            return self.session.deploy(step.component, cancelled=lambda: bool(getattr(context, "cancelled", False)))
        if self.other_steps is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
        return self.other_steps(step, context)
