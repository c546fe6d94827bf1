"""The azure target's smoke and data checks, per component: the deployed resources a check reads,
every smoke check a profile runs on Azure (its result filed under the plane it calls), and the data
checks judged against a recorded baseline or the stack's settings. A mixin of AzureDataSteps
(data_steps.py), which holds the session, the graph, the profiles and the probes it uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.model import PermanentError, Step, StepContext, StepKind, StepOutcome
from orchestrator.plan.recovery import chain
from orchestrator.run.rundir import RunDir
from orchestrator.targets.azure.stores.management import check_provisioning, is_arm_id
from smoke_tests.check import PLANE_KEYS, Check, Target

if TYPE_CHECKING:
    from pathlib import Path

    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.probes import AzureProbes
    from orchestrator.targets.azure.stores.management import ApiVersions

NOT_YET = "declared, not exercised on Azure: drctl has no Azure implementation of this step yet"


class CheckSteps:
    session: AzureSession
    graph: Graph
    run_dir: Path
    profiles: dict[str, DRProfile]
    probes: AzureProbes
    api_versions: ApiVersions

    def cosmos_resources(self) -> list[dict]:
        """The account Cosmos DB's checks call (AzureDataSteps: the primary's, after its failover)."""
        raise NotImplementedError

    # -- smoke: every component ------------------------------------------------------------------------
    def deployed_resources(self, component: str, context: StepContext) -> list[dict]:
        names = {name for name, p in self.graph.component_profiles().items() if p.key == component}
        urns = {r["urn"] for r in self.graph.resources if r["component"] in names}
        if not urns:
            return []
        recorded = context.outputs_of(f"{component}.{StepKind.DEPLOY}").get("resources")
        if not isinstance(recorded, list):
            raise PermanentError(f"{component}: its deploy step recorded no resource ids to smoke-test")
        mine = [r for r in recorded if r.get("urn") in urns]
        missing = sorted(urns - {r.get("urn") for r in mine})
        failed = sorted(r["urn"] for r in mine if r.get("status") == "failed")
        if missing or failed:
            raise PermanentError(f"{component}: {len(missing)} resource(s) of the program not deployed, "
                                 f"{len(failed)} failed", {"missing_urns": missing[:20], "failed_urns": failed[:20]})
        return [r for r in mine if is_arm_id(r.get("id"))]

    def smoke(self, step: Step, profile: DRProfile, context: StepContext) -> StepOutcome:
        evidence: dict[str, Any] = {}
        saas = profile.recovery_action == RecoveryAction.SAAS
        resources = [] if saas else self.deployed_resources(step.component, context)
        if profile.key == "cosmos_db" and resources:  # its checks call the account recovery uses
            resources = [r for r in resources if r.get("type") != "azure-native:cosmosdb:DatabaseAccount"] + \
                self.cosmos_resources()
        if resources:
            evidence["management_plane"] = check_provisioning(self.session.resources(), resources, self.api_versions)
        # A component the program declares nothing of here has no resource a generic probe could read.
        done, skipped = self.run_smoke_checks(
            profile, resources, lambda check: saas or bool(resources) or self.probes.has_own(profile.key))
        if StepKind.VALIDATE not in chain(profile) and not saas:
            # A redeployed or stateless component's plan has no validate step: its data checks
            # (parity with what it held) run here, or they would be declared and never run.
            judged = self.judge_data(profile, resources)
            if judged:
                evidence["data_checks"] = judged
        planes = {check.name: check.plane for check in profile.smoke_checks}
        for plane, key in PLANE_KEYS.items():
            evidence[key] = {name: result for name, result in done.items() if planes.get(name) == plane}
        evidence["not_exercised"] = skipped
        if not resources and not done:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET, **evidence})
        if not evidence["data_plane"]:  # never let a provisioning state read as the service answering
            evidence["planes_checked"] = ("management plane only: no check reached the service's data plane"
                                          + (f" ({', '.join(skipped)} not exercised)" if skipped else ""))
        return StepOutcome(evidence=evidence)

    def run_smoke_checks(self, profile: DRProfile, resources: list[dict],
                         runs: Callable[[Check], bool] = lambda check: True) -> tuple[dict, list[str]]:
        """Every smoke check of `profile` that runs on Azure (and that `runs` allows), through its Check
        object against the component's probe: (results by name, the names not exercised)."""
        done: dict[str, Any] = {}
        for check in profile.smoke_checks:
            built = self.probes.probe(profile.key, resources) if check.runs_on_target(Target.AZURE) else None
            if built is None or check.function is None or not runs(check):
                continue
            probe, errors = built
            with errors:
                done[check.name] = _passed(check.function(probe))
        return done, [check.name for check in profile.smoke_checks if check.name not in done]

    def data_checks(self, component: str) -> list[Check]:
        return [check for check in self.profiles[component].data_checks if check.runs_on_target(Target.AZURE)]

    def validate_checks(self, component: str, profile: DRProfile, context: StepContext) -> StepOutcome:
        """Every Azure data check of a service with no store-specific validation: each returns
        (mismatches, facts); any mismatch fails the step, naming the check."""
        return StepOutcome(evidence=self.judge_data(profile, self.deployed_resources(component, context)))

    def judge_data(self, profile: DRProfile, resources: list[dict]) -> dict[str, Any]:
        checks = self.data_checks(profile.key)
        if not checks:
            return {}
        probe, errors = self.probes.probe(profile.key, resources)
        facts: dict[str, Any] = {}
        mismatches: dict[str, list[str]] = {}
        with errors:
            for check in checks:
                assert check.function is not None  # runs_on AZURE implies a function (Check.__post_init__)
                found, facts[check.name] = check.function(probe)
                if found:
                    mismatches[check.name] = list(found)
        evidence = {"checks": facts,
                    "baseline": "recorded" if probe_baseline(probe) else "none: judged on the stack's settings"}
        if mismatches:
            first = next(iter(mismatches.items()))
            raise PermanentError(f"{profile.key}: {sum(map(len, mismatches.values()))} mismatch(es), first in "
                                 f"{first[0]}: {first[1][0]}", {**evidence, "mismatches": mismatches})
        return evidence

    def baseline(self, component: str) -> dict[str, Any]:
        """Facts recorded of `component` before the disaster (manifests/<component>.json), by check name."""
        path = RunDir(self.run_dir).manifest(f"{component}.json")
        if not path.is_file():
            return {}
        recorded = json.loads(path.read_text(encoding="utf-8"))
        return recorded.get("checks", {}) if isinstance(recorded, dict) else {}


def probe_baseline(probe: Any) -> bool:
    return bool(getattr(probe, "baseline", None))


def _passed(evidence: dict) -> dict:
    if evidence.get("ok") is False:
        failed = [c["check"] for c in evidence["checks"] if not c["ok"]]
        raise PermanentError("smoke test failed: " + ", ".join(failed), evidence)
    return evidence
