"""The fallback plan: back to the primary region once it is healthy, as the seed (003) lays it out.

1. smoke-test the recovered primary, component by component;
2. validate its configuration against the code (drift), redeploying the deltas;
3. establish the system date of each stateful store in the primary (its own watermark), and bring
   it up to date from the secondary: copy what the secondary holds that it lacks (rehydrate), then
   replay ingestion from that date (replay);
4. validate the primary against the secondary, by count and checksum;
5. a parallel run of configurable length, both regions ingesting, compared again at its end;
6. business and technical approval of the switch (a gate), then switch traffic to the primary;
7. decommission or strip back the secondary, per the stack's `fallback.secondaryStrategy`.
"""

from __future__ import annotations

from components.profile import DRProfile, RecoveryAction
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.recovery import PLATFORM, step_id, topological_order

# Seconds, for the plan's estimate: a person compares and signs off; DNS/Traffic Manager TTLs.
GATE_ESTIMATE_S = 900
SWITCH_ESTIMATE_S = 300
DRIFT_ESTIMATE_S = 300


def build_fallback_plan(stack: str, profiles: list[DRProfile], *, rto_target_s: float, rpo_target_s: float,
                        parallel_run_s: float, secondary_strategy: str) -> Plan:
    """The fallback DAG for the primary stack's components (SaaS services are not moved back)."""
    owned = [p for p in profiles if p.recovery_action != RecoveryAction.SAAS]
    steps: list[Step] = []
    for profile in owned:
        steps.append(Step(step_id(profile.key, StepKind.SMOKE), profile.key, StepKind.SMOKE, (),
                          float(profile.estimates.smoke),
                          f"Smoke-test the recovered primary's {profile.title}"))
    smokes = tuple(s.id for s in steps)
    drift = Step(step_id(PLATFORM, StepKind.DRIFT), PLATFORM, StepKind.DRIFT, smokes, DRIFT_ESTIMATE_S,
                 "Validate the primary's configuration against the code; redeploy the deltas")
    steps.append(drift)
    synced: list[str] = []
    for profile in owned:
        if not profile.stateful:
            continue
        rehydrate = Step(step_id(profile.key, StepKind.REHYDRATE), profile.key, StepKind.REHYDRATE, (drift.id,),
                         float(profile.estimates.rehydrate),
                         f"Establish the system date of the primary's {profile.title}; copy what the secondary "
                         "holds that it lacks")
        replay = Step(step_id(profile.key, StepKind.REPLAY), profile.key, StepKind.REPLAY, (rehydrate.id,),
                      float(profile.estimates.replay),
                      f"Replay ingestion into the primary's {profile.title} from its established date")
        validate = Step(step_id(profile.key, StepKind.VALIDATE), profile.key, StepKind.VALIDATE, (replay.id,),
                        float(profile.estimates.validate),
                        f"Validate the primary's {profile.title} against the secondary (count and checksum)")
        steps += [rehydrate, replay, validate]
        synced.append(validate.id)
    parallel = Step(step_id(PLATFORM, StepKind.PARALLEL_RUN), PLATFORM, StepKind.PARALLEL_RUN,
                    tuple(synced) or (drift.id,), float(parallel_run_s),
                    "Parallel run: both regions ingest; compare them at the end of the window")
    gate = Step(step_id(PLATFORM, StepKind.GATE), PLATFORM, StepKind.GATE, (parallel.id,), GATE_ESTIMATE_S,
                "Business and technical approval to switch back to the primary")
    switch = Step(step_id(PLATFORM, StepKind.SWITCH), PLATFORM, StepKind.SWITCH, (gate.id,), SWITCH_ESTIMATE_S,
                  "Switch traffic to the primary region")
    handover = Step(step_id(PLATFORM, StepKind.HANDOVER), PLATFORM, StepKind.HANDOVER, (switch.id,), 0.0,
                    "Hand the primary back to its users")
    retire = Step(step_id("secondary", StepKind.DECOMMISSION), "secondary", StepKind.DECOMMISSION, (handover.id,),
                  SWITCH_ESTIMATE_S,
                  "Decommission the secondary region" if secondary_strategy == "decommission"
                  else "Strip back the secondary region (data services emptied and stopped; foundation kept)")
    steps += [parallel, gate, switch, handover, retire]
    return Plan(stack=stack, steps=tuple(topological_order(steps)), rto_target_s=float(rto_target_s),
                rpo_target_s=float(rpo_target_s))
