"""Lake zone policies in the plan: a zone recreated from source is re-processed, not copied.

The plan builder works per component; the lake's zone policies (stack config, seed defaults in
components/lake.py) refine its chain: `lake.rehydrate` copies only the zones recovered by copy,
and each zone recovered by re-processing gets its own step between validation and replay.
"""

from __future__ import annotations

from dataclasses import replace

from components.lake import LakeSettings, ZoneName
from orchestrator.model import Plan, Step, StepKind

LAKE = "lake"


def reprocess_step_id(zone: str) -> str:
    return f"{LAKE}.reprocess-{zone}"


def zone_of(step: Step) -> str | None:
    """The zone a lake re-processing step rebuilds, or None for any other step."""
    prefix = f"{LAKE}.reprocess-"
    return step.id[len(prefix):] if step.component == LAKE and step.id.startswith(prefix) else None


def copied_zones(lake: LakeSettings) -> list[ZoneName]:
    return [zone for zone, policy in lake.zones.items() if policy.recovery == "copy"]


def recreated_zones(lake: LakeSettings) -> list[ZoneName]:
    return [zone for zone, policy in lake.zones.items() if policy.recovery == "recreate"]


def apply_zone_policies(plan: Plan, lake: LakeSettings) -> Plan:
    """The plan with the lake's chain following its zone policies (unchanged without a lake)."""
    ids = {step.id for step in plan.steps}
    validate, replay = f"{LAKE}.{StepKind.VALIDATE}", f"{LAKE}.{StepKind.REPLAY}"
    if not {validate, replay} <= ids:
        return plan
    copied, recreated = copied_zones(lake), recreated_zones(lake)
    steps: list[Step] = []
    for step in plan.steps:
        if step.id == f"{LAKE}.{StepKind.REHYDRATE}":
            step = replace(step, description=f"{step.description} (zones copied: {', '.join(copied) or 'none'})")
        if step.id == replay and recreated:
            step = replace(step, depends_on=step.depends_on + tuple(reprocess_step_id(z) for z in recreated))
        steps.append(step)
        if step.id == validate:
            for zone in recreated:
                policy = lake.zones[zone]
                steps.append(
                    Step(
                        id=reprocess_step_id(zone),
                        component=LAKE,
                        kind=StepKind.REPLAY,
                        depends_on=(validate,),
                        estimate_s=float(policy.reprocess_minutes * 60),
                        description=(
                            f"Re-process the {zone} zone from source up to the recovered watermark "
                            f"({policy.load} load, {policy.partitioning} partitions): its policy recreates it instead of copying"
                        ),
                    )
                )
    return replace(plan, steps=tuple(steps))
