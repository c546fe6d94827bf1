"""Which plan steps drctl exercises on Azure, and what a person confirms for the ones it does not.

A step drctl has no Azure implementation of still ends as "succeeded" in `drctl status`, marked
"declared, not exercised": that proves nothing, so the runbook must not send an approver to it.
The rules below follow the Azure data steps' dispatch (targets/azure/data_steps.py, AzureDataSteps.run:
SaaS components run their readiness checks; lake re-processing zones are not exercised; rehydrate and validate only where a
store has a handler; replay only where a pipeline or re-ingestion loads the store; smoke wherever the
stack deploys resources or a smoke check runs on Azure). tests/orchestrator/runbook pins them to
that module's tables so the two cannot drift apart silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.model import StepKind
from orchestrator.plan.zones import LAKE
from smoke_tests.check import Target

if TYPE_CHECKING:
    from orchestrator.runbook.model import Context

TARGET = "Azure"

# AzureDataSteps.run's store handlers, (profile key, kind): the steps with an Azure implementation.
REHYDRATED = frozenset({"lake", "postgres", "sql_database", "data_explorer"})
VALIDATED = frozenset({"lake", "postgres", "data_explorer", "cosmos_db"})  # and validated_on_azure()
# Replayed: by the ingestion pipeline (stores/replay.py REPLAYED_BY_PIPELINE) or re-ingested from the
# recovered lake (explorer_steps.py).
REPLAYED_BY_PIPELINE = frozenset({"lake"})
REINGESTED = frozenset({"data_explorer"})


@dataclass(frozen=True)
class Exercise:
    exercised: bool
    reason: str = ""  # why drctl does not exercise it (empty when it does)
    by_hand: str = ""  # what a person checks: the whole step when not exercised, else the part drctl skips


def _checks(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none declared"


def _not(reason: str, by_hand: str) -> Exercise:
    return Exercise(False, reason, by_hand)


def _smoke(ctx: Context, key: str, profile: DRProfile) -> Exercise:
    checks = [check.name for check in profile.smoke_checks]
    skipped = [check.name for check in profile.smoke_checks if not check.runs_on_target(Target.AZURE)]
    if profile.recovery_action == RecoveryAction.SAAS and (not checks or skipped):
        return _not("no API answers for this service", f"from Azure Service Health or the service's owner, that "
                    f"{profile.title} is available for {ctx.config.region}; its readiness checks: {_checks(checks)}")
    if profile.recovery_action == RecoveryAction.SAAS:  # its readiness checks run with nothing deployed
        return Exercise(True)
    if not ctx.resources_by_key.get(key) and len(skipped) == len(checks):
        return _not("nothing of it is deployed on this stack and none of its checks runs on Azure",
                    f"that {profile.title} works for {ctx.config.region}: {_checks(checks)}")
    return Exercise(True, by_hand=f"the checks drctl has no Azure implementation of: {_checks(skipped)}"
                    if skipped else "")


def _rehydrate(ctx: Context, key: str, profile: DRProfile) -> Exercise:
    source = profile.data_recovery.source if profile.data_recovery else "its backup"
    by_hand = (f"{profile.title} holds the data recovered from {source}; note its watermark and latest data "
               "timestamp in the post requisites' table")
    if key not in REHYDRATED:
        return _not("drctl has no Azure implementation of this store's rehydration", by_hand)
    if key == "sql_database" and _settings(ctx, key) is not None and _settings(ctx, key).restore is None:
        return _not("the database recovers by its failover group, which drctl does not read", by_hand)
    return Exercise(True)


def validated_on_azure(key: str, profile: DRProfile) -> bool:
    """A store-specific validation, or (AzureDataSteps.validate_checks) data checks that run on Azure."""
    return key in VALIDATED or any(check.runs_on_target(Target.AZURE) for check in profile.data_checks)


def _validate(key: str, profile: DRProfile) -> Exercise:
    checks = [check.name for check in profile.data_checks]
    by_hand = f"the recovered {profile.title} matches its copy: {_checks(checks)}"
    if not validated_on_azure(key, profile):
        return _not("drctl has no Azure implementation of this store's validation", by_hand)
    if key == "postgres":
        # data_steps.PG_NO_MANIFEST_WHY: no manifest of the geo-restore's point exists on Azure.
        return _not("nothing on Azure records the primary's per-table facts at the geo-restore's point", by_hand)
    skipped = [check.name for check in profile.data_checks if not check.runs_on_target(Target.AZURE)]
    return Exercise(True, by_hand=f"the data checks it does not run: {_checks(skipped)}" if skipped else "")


def _replay(ctx: Context, key: str, profile: DRProfile) -> Exercise:
    replay = profile.data_recovery.replay if profile.data_recovery else "ingestion re-run from the recovered watermark"
    by_hand = f"the replay ({replay}) ran from the recovered watermark, and the store's new watermark"
    if key in REINGESTED:
        return Exercise(True)
    if key not in REPLAYED_BY_PIPELINE:
        return _not("no pipeline of the repository loads this store", by_hand)
    if not ctx.config.enabled("dataFactory"):
        return _not("the Data Factory service is not in this stack", by_hand)
    return Exercise(True)


def _settings(ctx: Context, key: str) -> Any:
    from components.registry import SERVICES

    for spec in SERVICES:
        if spec.profile.key == key and ctx.config.enabled(spec.key):
            return ctx.config.settings_of(spec.key)
    return None


def azure_exercise(ctx: Context, step: dict[str, Any], profile: DRProfile | None) -> Exercise:
    """Whether a `drctl failover` on Azure exercises `step`, and what is left to a person."""
    kind, key = step["kind"], step["component"]
    if kind in (StepKind.DEPLOY, StepKind.GATE, StepKind.HANDOVER):
        return Exercise(True)
    if key == LAKE and step["id"].startswith(f"{LAKE}.reprocess-"):
        return _not("drctl has no Azure implementation of re-processing a lake zone", step["description"])
    if profile is None:
        return _not("the component has no DR profile", step["description"])
    if kind == StepKind.SMOKE:
        return _smoke(ctx, key, profile)
    if profile.recovery_action == RecoveryAction.SAAS:
        return _not("no API answers for this service", step["description"])
    if kind == StepKind.REHYDRATE:
        return _rehydrate(ctx, key, profile)
    if kind == StepKind.VALIDATE:
        return _validate(key, profile)
    if kind == StepKind.REPLAY:
        return _replay(ctx, key, profile)
    return _not("drctl has no Azure implementation of this step", step["description"])
