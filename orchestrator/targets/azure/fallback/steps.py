"""The azure target of a fallback: the fallback plan's steps (orchestrator/plan/fallback.py) on the
primary stack, mirroring the local target (orchestrator/targets/local/fallback.py).

What already exists is reused: the failover's data steps (runner_data.AzureDataSteps) built for
the primary's config give the lake and PostgreSQL clients, the data-plane smoke checks, the Data
Factory replay and the approvals file; the same class built for the secondary's config signs in to
the secondary's PostgreSQL. Resource ids come from the primary stack's own state (`pulumi stack
export`), since a fallback deploys nothing before its smoke tests. The Pulumi work (preview, up,
destroy) goes through deploy.PulumiStack, whose errors are already the engine's.

Both stacks are assumed to be in the session's subscription (the primary's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from azure.storage.blob import BlobServiceClient

from components import naming
from components.profile import DRProfile, RecoveryAction
from orchestrator.data.errors import azure_errors, pg_errors
from orchestrator.data.ingest import LakeSink
from orchestrator.data.lake.relay import relay_lake
from orchestrator.data.manifest import compare, lake_facts, table_facts
from orchestrator.model import GateWaiting, PermanentError, Step, StepContext, StepKind, StepOutcome, TransientError
from orchestrator.plan.zones import copied_zones
from orchestrator.run.rundir import RunDir
from orchestrator.targets.azure.data_steps import NOT_YET, AzureDataSteps
from orchestrator.targets.azure.deploy.events import urn_parts
from orchestrator.targets.azure.deploy.session import ComponentIndex
from orchestrator.targets.azure.deploy.stack import PulumiStack
from orchestrator.targets.azure.fallback.traffic import DNS_NOT_YET, prioritise_region, profile_id
from orchestrator.targets.azure.lake_steps import RELAY_JOURNAL, RELAY_MAX_IN_FLIGHT
from orchestrator.targets.azure.stores import databases as db
from orchestrator.targets.azure.stores.management import check_provisioning, is_arm_id

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from stacks.config import StackConfig

# Strip-back empties and removes these; the foundation and network stay for the next failover.
DATA_COMPONENTS = ("lake", "postgres", "event_hubs", "data_factory")
# Preview operations that change nothing: reading a resource the program only looks up, and the
# refresh itself (a refreshing preview may count it).
NO_CHANGE = frozenset({"same", "read", "refresh"})
NO_RESUME = "a fallback run cannot be resumed in this version, so this run waits for the file"


class AzureFallbackSteps:
    def __init__(self, session: AzureSession, primary_config: StackConfig, secondary_config: StackConfig, graph: Graph,
                 run_dir: Path, *, stack: PulumiStack, secondary_stack: PulumiStack,
                 blob_service: Callable[[str], BlobServiceClient] | None = None,
                 now: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, slice_s: float = 5.0,
                 approval_poll_s: float | None = None, say: Callable[[str], None] = lambda line: None,
                 pg_dsn: Callable[[str], str] | None = None, **data_options: Any) -> None:
        self.session, self.config, self.secondary_config = session, primary_config, secondary_config
        self.graph, self.run_dir = graph, Path(run_dir)
        self.stack, self.secondary_stack = stack, secondary_stack
        self.sleep, self.clock, self.slice_s, self.say = sleep, clock, slice_s, say
        # None: a gate not yet approved ends the run `waiting` (GateWaiting); seconds: poll for it.
        self.approval_poll_s = approval_poll_s
        self.data = AzureDataSteps(session, primary_config, graph, run_dir, blob_service=blob_service, now=now,
                                   **data_options)
        self._blob_service, self._now = blob_service, now  # the secondary's AzureDataSteps, when it is needed
        self._secondary_data: AzureDataSteps | None = None
        self.profiles: dict[str, DRProfile] = self.data.profiles
        self.index = ComponentIndex.from_graph(graph)
        self._pg_dsn = pg_dsn
        self._lock = threading.Lock()
        self._state: list[dict] | None = None

    # -- dispatch ---------------------------------------------------------------------------------
    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        platform = {StepKind.DRIFT: self.drift, StepKind.PARALLEL_RUN: lambda: self.parallel_run(context),
                    StepKind.GATE: lambda: self.approval(step, context), StepKind.SWITCH: lambda: self.switch(step, context),
                    StepKind.DECOMMISSION: self.decommission,
                    StepKind.HANDOVER: self.handover}
        if step.kind in platform:
            return platform[step.kind]()
        profile = self.profiles.get(step.component)
        if profile is None or profile.recovery_action == RecoveryAction.SAAS:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET})
        if step.kind == StepKind.SMOKE:
            return self.smoke(step, profile)
        if step.kind == StepKind.REPLAY and profile.key in ("lake", "postgres"):
            # The failover's replay as is: the lake's pipeline from the recovered timestamp, and
            # PostgreSQL not exercised (no pipeline of the repository loads it).
            return self.data.replay(profile.key, context)
        handler = {("lake", StepKind.REHYDRATE): self.lake_rehydrate, ("lake", StepKind.VALIDATE): self.lake_validate,
                   ("postgres", StepKind.REHYDRATE): self.postgres_rehydrate,
                   ("postgres", StepKind.VALIDATE): self.postgres_validate}.get((profile.key, step.kind))
        if handler is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET})
        return handler()

    def handover(self) -> StepOutcome:
        """The primary handed back, then its factory's schedule started again (as a failover's handover
        starts the secondary's): until then nothing ingests into the primary."""
        outcome = self.data.handover()
        outcome.evidence["handover"] = "primary handed back to its users"
        return outcome

    # -- the primary's state and health ----------------------------------------------------------------
    def primary_resources(self) -> list[dict]:
        with self._lock:
            if self._state is None:
                self._state = self.stack.resources()
            return list(self._state)

    def smoke(self, step: Step, profile: DRProfile) -> StepOutcome:
        mine = [r for r in self.primary_resources() if self.index.component_of(r.get("urn") or "") == step.component]
        resources = [r for r in mine if is_arm_id(r.get("id"))]
        # Not a failure here: a resource the state lacks is a delta, and the drift step redeploys it.
        missing = sorted(f"{t} {n}" for t, n in self.index.expected(step.component)
                         - {(r.get("type"), urn_parts(r["urn"])[1]) for r in mine})
        evidence: dict[str, Any] = {"resources_from": f"the state of stack {self.stack.name}", "not_in_state": missing}
        if resources:
            evidence["management_plane"] = check_provisioning(self.session.resources(), resources, self.data.api_versions)
        # Only the checks that read: the failover's Event Hubs check fails the Geo-DR alias over,
        # which must never run against the primary.
        done, skipped = self.data.run_smoke_checks(profile, resources, runs=lambda check: not check.fails_over)
        evidence.update(data_plane=done, not_exercised=skipped)
        if not resources and not done:
            return StepOutcome(exercised=False, evidence={"note": NOT_YET, **evidence})
        return StepOutcome(evidence=evidence)

    def drift(self) -> StepOutcome:
        """The primary's configuration against the code: `pulumi preview --refresh` (the resources
        as Azure has them after the disaster, not as the state last saw them); any change is a
        delta, and one `pulumi up --refresh` redeploys them all."""
        preview = self.stack.preview(refresh=True)
        deltas = {op: n for op, n in preview.items() if op not in NO_CHANGE and n}
        evidence: dict[str, Any] = {"stack": self.stack.name, "command": "pulumi preview --refresh",
                                    "preview": preview, "deltas": deltas}
        if not deltas:
            return StepOutcome(outputs={"deltas": 0}, evidence={**evidence, "redeployed": False})
        self.say(f"platform.drift: {sum(deltas.values())} change(s) on stack {self.stack.name}; running pulumi up")
        result = self.stack.up(refresh=True)
        with self._lock:
            self._state = None  # the update changed the state: read it again when asked
        return StepOutcome(outputs={"deltas": sum(deltas.values())},
                           evidence={**evidence, "redeployed": True, "update": result.summary})

    # -- the lake ----------------------------------------------------------------------------------------
    def _account(self, config: StackConfig) -> str:
        return naming.storage_account_name(config.prefix, config.name_suffix)

    def _lake(self, config: StackConfig) -> BlobServiceClient:
        return self.data.blob_service(f"https://{self._account(config)}.blob.core.windows.net")

    def lake_rehydrate(self) -> StepOutcome:
        """System date first (the primary's own watermark), then a copy through the runner of whatever
        the primary lacks: the secondary lake is private-only, so the primary's storage service could
        not fetch a server-side copy's source (orchestrator/data/lake/relay.py)."""
        zones = copied_zones(self.config.lake)
        primary, secondary = self._lake(self.config), self._lake(self.secondary_config)
        before = LakeSink(primary).watermark_record()
        evidence = relay_lake(secondary, primary, zones, min(self.data.max_in_flight, RELAY_MAX_IN_FLIGHT),
                              journal=RunDir(self.run_dir).manifest(RELAY_JOURNAL))
        after = LakeSink(primary).watermark_record()
        return StepOutcome(
            outputs={"watermark": after and after["batch"], "system_date": before and before["data_end"],
                     "recovered_data_timestamp": after and after["data_end"]},
            evidence={**evidence, "zones_copied": zones, "source_endpoint": secondary.url,
                      "system_date_watermark": before, "watermark_after_copy": after})

    def lake_validate(self) -> StepOutcome:
        zones = copied_zones(self.config.lake)
        primary, secondary = self._lake(self.config), self._lake(self.secondary_config)
        with azure_errors("lake: the primary against the secondary"):
            facts = {"primary": lake_facts(primary, zones), "secondary": lake_facts(secondary, zones)}
            marks = {"primary": LakeSink(primary).watermark(), "secondary": LakeSink(secondary).watermark()}
        result = compare("lake", facts["secondary"], facts["primary"], self.data.data_checks("lake"), marks["secondary"],
                         marks["primary"])
        return _compared(result.to_evidence(), zones=zones)

    # -- PostgreSQL --------------------------------------------------------------------------------------
    def _dsn(self, region: str) -> str:
        if self._pg_dsn is not None:
            return self._pg_dsn(region)
        if region == "primary":
            return self.data._postgres()[1]
        with self._lock:
            if self._secondary_data is None:
                self._secondary_data = AzureDataSteps(self.session, self.secondary_config, self.graph, self.run_dir,
                                                      blob_service=self._blob_service, now=self._now)
        return self._secondary_data._postgres()[1]

    def postgres_rehydrate(self) -> StepOutcome:
        watermark, data_end = db.postgres_watermark(self._dsn("primary"))
        return StepOutcome(outputs={"watermark": watermark, "system_date": data_end, "recovered_data_timestamp": data_end},
                           evidence={"system_date_watermark": watermark, "data_end": data_end,
                                     "method": "the store's own watermark; replay would bring the delta, but no "
                                               "pipeline of the repository loads PostgreSQL, so validation shows "
                                               "whatever the primary still lacks"})

    def postgres_validate(self) -> StepOutcome:
        facts = {}
        for region in ("primary", "secondary"):
            with pg_errors(f"postgres: the {region}'s tables"), psycopg.connect(self._dsn(region)) as conn:
                facts[region] = table_facts(conn)
        checks = self.data.data_checks("postgres")
        return _compared(compare("postgres", facts["secondary"], facts["primary"], checks, None, None).to_evidence())

    # -- the parallel run, the approvals, the switch, the secondary --------------------------------------
    def parallel_run(self, context: StepContext) -> StepOutcome:
        """Both regions ingest on their own schedules for the window; at its end they must hold the same data."""
        window = self.config.fallback.parallel_run_minutes * 60
        deadline = self.clock() + window
        self.say(f"platform.parallel-run: both regions ingest for {window / 60:g} min, then they are compared")
        while (left := deadline - self.clock()) > 0:
            if getattr(context, "cancelled", False):
                raise TransientError("the run was interrupted during the parallel run")
            self.sleep(min(self.slice_s, left))
        compared = {}
        for store, check in (("lake", self.lake_validate), ("postgres", self.postgres_validate)):
            if store in self.profiles:
                compared[store] = check().evidence
        return StepOutcome(outputs={"window_s": window, "compared": sorted(compared)}, evidence=compared)

    def approval(self, step: Step, context: StepContext, waiting_for: str | None = None) -> StepOutcome:
        """The failover's approvals file (`approvals/<step id>.json`), read by AzureDataSteps.gate."""
        if waiting_for is None:
            message = f"{step.id} waits for approval: record it with `drctl approve {self.run_dir} {step.id} --by NAME`"
        else:  # not a gate, so `drctl approve` refuses it: the file by hand
            message = (f"{step.id} waits for {waiting_for}: record it in {RunDir(self.run_dir).approval(step.id)} "
                       '({"approved_by": ..., "note": "what was switched"})')
        told = False
        while True:
            try:
                return self.data.gate(step)
            except GateWaiting:
                if self.approval_poll_s is None:
                    raise GateWaiting(message) from None
            if not told:
                self.say(f"{message}; {NO_RESUME}")
                told = True
            if getattr(context, "cancelled", False):
                raise TransientError(f"the run was interrupted while {step.id} waited")
            self.sleep(self.approval_poll_s)

    def switch(self, step: Step, context: StepContext) -> StepOutcome:
        mode = self.config.fallback.traffic_switch
        if mode == "manual":
            outcome = self.approval(step, context, "a person to switch traffic to the primary region")
            return StepOutcome(outputs={"active_region": self.config.region, **outcome.outputs},
                               evidence={"traffic_switch": mode, **outcome.evidence})
        if mode == "dns":
            return StepOutcome(exercised=False, evidence={"traffic_switch": mode, "note": DNS_NOT_YET})
        outcome = prioritise_region(self.session.resources(), profile_id(self.session.subscription_id, self.config),
                                    self.config.region)
        outcome.evidence["traffic_switch"] = mode
        return outcome

    def decommission(self) -> StepOutcome:
        """decommission: `pulumi destroy` of the secondary stack; strip-back: only its data
        components' resources (and what depends on them), the foundation and network stay."""
        strategy = self.config.fallback.secondary_strategy
        state = [r for r in self.secondary_stack.resources() if is_arm_id(r.get("id"))]
        evidence: dict[str, Any] = {"strategy": strategy, "stack": self.secondary_stack.name}
        if strategy == "decommission":
            removed = state
            evidence["destroy"] = self.secondary_stack.destroy() if state else None
        else:
            removed = [r for r in state if self.index.component_of(r.get("urn") or "") in DATA_COMPONENTS]
            evidence["destroy"] = self.secondary_stack.destroy([r["urn"] for r in removed]) if removed else None
            evidence["kept"] = "the secondary's foundation and network (its Pulumi stack stays)"
            evidence["note"] = ("the secondary stack's program still declares the data services: its next "
                                "`pulumi up` (the next failover) creates them again")
        evidence["removed"] = [{"urn": r["urn"], "type": r.get("type"), "id": r.get("id")} for r in removed]
        if not removed:
            evidence["destroy_skipped"] = "nothing of the kind in the secondary's state"
        return StepOutcome(outputs={"strategy": strategy, "removed": len(removed)}, evidence=evidence)


def _compared(evidence: dict, **extra: Any) -> StepOutcome:
    evidence = {**evidence, "compared": "the primary (actual) against the secondary (expected)", **extra}
    if not evidence["exact"]:
        raise PermanentError(f"{evidence['store']}: the primary does not match the secondary: "
                             + "; ".join(evidence["mismatches"][:3]), evidence)
    return StepOutcome(outputs={"exact": True}, evidence=evidence)
