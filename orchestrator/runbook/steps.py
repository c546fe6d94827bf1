"""The runbook's technical recovery: one numbered step per plan step, in the plan's run order.

Each step's prerequisites are its plan dependencies (with the profile's reason where the edge comes
from one); its actions and checks are derived from the step kind and the component's DR profile
(recovery action, data source and replay path, smoke and data checks, notes); its expected time is
the plan's estimate (history included) with the contingency history.py plans with; what to do on
failure is drctl's retry policy and `drctl resume`; escalation is the contacts file's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.engine.retry import RetryPolicy
from orchestrator.model import StepKind
from orchestrator.plan.history import CONTINGENCY
from orchestrator.plan.recovery import BUSINESS_GATE, PLATFORM, critical_path, plan_from_json
from orchestrator.runbook.exercise import TARGET, Exercise, azure_exercise
from orchestrator.runbook.model import (
    RUN,
    SECTION_TITLES,
    Block,
    Context,
    Fields,
    Para,
    RecoveryStep,
    Section,
    Subsection,
    chain,
    duration,
)
from smoke_tests.check import Check, Target

NOT_EXERCISED = ("If drctl records the step 'declared, not exercised' (it has nothing to run it against here), "
                 "it proved nothing: do the action by hand, and keep what shows it was done with the run's evidence.")


def _checks(checks: tuple[Check, ...]) -> str:
    return ", ".join(f"`{check.name}`" for check in checks) or "none declared"


def _key_resources(ctx: Context, key: str) -> str:
    from components.registry import globally_unique_types

    unique = globally_unique_types()
    found = [f"`{r['physical_name']}` ({r['type'].rsplit(':', 1)[-1]})" for r in ctx.resources_by_key.get(key, [])
             if r["type"] in unique and r["physical_name"]]
    return ", ".join(found)


def _profile(step: dict[str, Any], profile: DRProfile | None) -> DRProfile:
    """The component's DR profile, for the steps that read it (every component's but the platform's)."""
    if profile is None:
        raise LookupError(f"step {step['id']}: component {step['component']!r} has no DR profile")
    return profile


def _gate_actions(ctx: Context, step: dict[str, Any], profile: DRProfile | None) -> list[str]:
    sid, key = step["id"], step["component"]
    if key != PLATFORM:
        return [f"No API answers for {_profile(step, profile).title}: a person confirms from its status page (Azure "
                "Service Health, or the Microsoft 365 admin centre's service health) or from its owner that it is "
                f"available for {ctx.config.region}.",
                f"Then `drctl approve {RUN} {sid} --by NAME --note \"what was checked\"` and `drctl resume {RUN}`."]
    who = "business approvers" if sid == BUSINESS_GATE else "technical approvers"
    by_hand = [ctx.step_ref(s["id"]) for s in ctx.document["steps"]
               if not azure_exercise(ctx, s, ctx.profiles.get(s["component"])).exercised]
    checks = ("the business SMEs test the recovered solutions they use against the recorded data timestamps "
              "(see Business Stakeholder Review and Approval)" if sid == BUSINESS_GATE else
              f"`drctl status {RUN}` shows every earlier step that drctl exercises on {TARGET} succeeded; every "
              "smoke and data check in `evidence/` passed; each recovered data timestamp is within the RPO target of "
              f"{duration(ctx.document['rpo_target_s'])}; "
              + (f"the {len(by_hand)} step(s) drctl does not exercise on {TARGET} ({', '.join(by_hand)}) were "
                 "confirmed by hand, with what shows it kept in the run's evidence: `drctl status` lists them "
                 "'declared, not exercised', which proves nothing" if by_hand else
                 "no step is left to a person"))
    return [f"The run waits here (`waiting`). The {who} check: {checks}.",
            f"Then `drctl approve {RUN} {sid} --by NAME --note \"what was checked\"` and `drctl resume {RUN}`."]


def _component_actions(ctx: Context, kind: str, key: str, profile: DRProfile) -> list[str]:
    """A component's deploy, smoke, rehydrate and validate steps, as its profile describes them."""
    if kind == StepKind.DEPLOY:
        count = len(ctx.resources_by_key.get(key, []))
        lines = [f"drctl runs one `pulumi up --stack {ctx.stack}` (Automation API) for every deploy step; this step "
                 f"ends when the {count} resource(s) of {profile.title} are created in {ctx.config.region}."
                 if count else f"Nothing of {profile.title} is declared on this stack: the step records that."]
        if profile.recovery_action == RecoveryAction.GEO_RESTORE and profile.data_recovery:
            lines.append(f"The stack file's `restore` section makes this deploy a restore from "
                         f"{profile.data_recovery.source}.")
        if _key_resources(ctx, key):
            lines.append(f"In the Azure portal: {_key_resources(ctx, key)}.")
        return lines
    recovery = profile.data_recovery
    if kind == StepKind.SMOKE and profile.recovery_action == RecoveryAction.SAAS:
        return [f"The readiness check {_checks(profile.smoke_checks)} proves {profile.title} is available.",
                "Where drctl records it 'declared, not exercised' (no implementation of the check to run), confirm "
                "by hand from the service's status page (Azure Service Health) or its owner, and keep the evidence."]
    if kind == StepKind.SMOKE:
        return [f"drctl checks that every resource the deploy recorded for {profile.title} reports provisioningState "
                f"Succeeded, then runs its data-plane checks: {_checks(profile.smoke_checks)}. A check it has no "
                "implementation of is listed as not exercised in the evidence: run that one by hand.",
                f"The checks by hand: `pulumi stack output --stack {ctx.stack} --json > outputs.json`, then "
                "`.venv/bin/python -m pytest smoke_tests --outputs outputs.json`."]
    if kind == StepKind.REHYDRATE:
        source = recovery.source if recovery else "its backup"
        lines = ([f"The restore itself ran in the deploy step ({source}); drctl reads the restored data's watermark "
                  "and latest timestamp and records them."] if profile.recovery_action == RecoveryAction.GEO_RESTORE
                 else [f"drctl brings the data back from {source}, recording the source's manifest (counts, sizes, "
                       "checksums, watermark) for validation, and the recovered watermark and data timestamp."])
        return [*lines, NOT_EXERCISED]
    against = ("what the service replicated" if profile.recovery_action == RecoveryAction.SERVICE_FAILOVER
               else "the manifest of its backup or geo-redundant copy")
    return [f"drctl compares the recovered {profile.title} with {against}: {_checks(profile.data_checks)}. "
            "Any mismatch fails the step.", NOT_EXERCISED]


_COMPONENT_KINDS = (StepKind.DEPLOY, StepKind.SMOKE, StepKind.REHYDRATE, StepKind.VALIDATE)


def _not_exercised_actions(step: dict[str, Any], exercise: Exercise) -> list[str]:
    return [f"Not exercised by drctl on {TARGET} ({exercise.reason}): a person does this step. "
            f"By hand: {exercise.by_hand}.",
            f"`drctl status {RUN}` lists `{step['id']}` as 'declared, not exercised': that proves nothing, so keep "
            "what shows it was done with the run's evidence."]


def _actions(ctx: Context, step: dict[str, Any], profile: DRProfile | None, exercise: Exercise) -> list[str]:
    if not exercise.exercised:
        return _not_exercised_actions(step, exercise)
    lines = _exercised_actions(ctx, step, profile)
    if exercise.by_hand:
        lines.append(f"Not exercised by drctl on {TARGET}: {exercise.by_hand}: confirm by hand.")
    return lines


def _exercised_actions(ctx: Context, step: dict[str, Any], profile: DRProfile | None) -> list[str]:
    kind, key = step["kind"], step["component"]
    if kind == StepKind.GATE:
        return _gate_actions(ctx, step, profile)
    if kind == StepKind.HANDOVER:
        return ["drctl records the handover time, writes `report.md` and `report.json` (per component status, "
                "recovered data timestamp, endpoints, RTO and RPO against the targets) and seals the run "
                "directory with `SHA256SUMS`.",
                "Then hand over as the post requisites below say: data timestamps and connection details."]
    if kind in _COMPONENT_KINDS:
        return _component_actions(ctx, kind, key, _profile(step, profile))
    if step["id"].startswith(f"{key}.reprocess-"):
        return [step["description"] + ".", NOT_EXERCISED]
    recovery = profile.data_recovery if profile else None
    replay = recovery.replay if recovery else "ingestion re-run from the recovered watermark"
    return [f"Replay: {replay}.", "The sources must be able to send again from the watermark the earlier steps "
            "recorded: upstream support confirms it (contact listing).", NOT_EXERCISED]


def _validation(ctx: Context, step: dict[str, Any], profile: DRProfile | None, exercise: Exercise) -> list[str]:
    kind, sid = step["kind"], step["id"]
    if not exercise.exercised:
        # Only what drctl ran may be called verified by `drctl status`: this step it did not.
        return [f"Not exercised by drctl on {TARGET}: confirm by hand: {exercise.by_hand}.",
                f"`evidence/{sid}.json` holds only drctl's note that it did not run the step: keep the proof of the "
                "check by hand beside it."]
    lines = [f"`drctl status {RUN}` shows `{sid}` succeeded; `evidence/{sid}.json` in the run directory holds its "
             "outputs, checks, timings, attempts and any error."]
    if kind == StepKind.DEPLOY:
        lines.append("The step's outputs list the resource id of every resource it deployed.")
    elif kind == StepKind.REHYDRATE:
        lines.append("Outputs `watermark` and `recovered_data_timestamp`: copy the timestamp into the post "
                     "requisites' table.")
    elif kind == StepKind.VALIDATE and exercise.by_hand:
        lines.append("What drctl read of the recovery in the evidence.")
    elif kind == StepKind.VALIDATE:
        lines.append(f"Every data check exact ({_checks(_profile(step, profile).data_checks)}); a mismatch is listed in "
                     "the evidence.")
    elif kind == StepKind.REPLAY:
        lines.append("The replay's run and the store's new watermark in the evidence.")
    elif kind == StepKind.SMOKE:
        run = tuple(c for c in _profile(step, profile).smoke_checks if c.runs_on_target(Target.AZURE))
        lines.append(f"Every resource provisioningState Succeeded; checks passed: {_checks(run)}.")
    elif kind == StepKind.GATE:
        lines.append(f"`approvals/{sid}.json`: who approved, when, and the note.")
    elif kind == StepKind.HANDOVER:
        lines.append(f"`report.md` says the run recovered, and `drctl verify-evidence {RUN}` exits 0.")
    if exercise.by_hand:
        lines.append(f"Not exercised by drctl on {TARGET}: confirm by hand: {exercise.by_hand}.")
    return lines


def _expected(step: dict[str, Any]) -> str:
    estimate, source = step["estimate_s"], step.get("estimate_source", "profile")
    if source == "profile":
        return (f"{duration(estimate)} (estimate from the component's profile); with {CONTINGENCY:.0%} contingency: "
                f"{duration(estimate * (1 + CONTINGENCY))}")
    return f"{duration(estimate)} ({source}: contingency included)"


def _with_contingency(step: dict[str, Any]) -> float:
    # A history estimate already carries the contingency (history.StepHistory.estimate_s).
    return step["estimate_s"] * (1 + CONTINGENCY) if step.get("estimate_source", "profile") == "profile" \
        else step["estimate_s"]


def _on_failure(step: dict[str, Any], profile: DRProfile | None, policy: RetryPolicy) -> list[str]:
    kind = step["kind"]
    if kind == StepKind.GATE:
        lines = ["A gate does not fail: the run waits until it is approved. If the check does not pass, do not "
                 "approve; the DR lead decides what happens next and records it in the DR ticket."]
    else:
        lines = [f"drctl retries transient errors (throttling, server errors, timeouts, dropped connections): up to "
                 f"{policy.max_attempts} attempts within {duration(policy.max_total_s)}, waiting "
                 f"{policy.initial_backoff_s:g}s doubling up to {policy.max_backoff_s:g}s between them. Any other error "
                 "fails the step at once: the steps after it do not start, the others go on.",
                 f"Read the error (`drctl status {RUN}`, `evidence/{step['id']}.json`), fix its cause, then "
                 f"`drctl resume {RUN}`: steps that succeeded are not run again."]
    if kind == StepKind.DEPLOY:
        lines.append("A `pulumi up` cut off mid-way is refreshed before the resumed run deploys again.")
    if kind == StepKind.VALIDATE:
        lines.append("A mismatch means the recovered data is not what the copy holds: do not replay on top of it. "
                     "The DR lead decides whether to recover from an earlier point in time instead.")
    if profile is not None and profile.recovery_action == RecoveryAction.SAAS:
        lines.append("Check Azure Service Health in the portal (status.azure.com when the portal is unreachable); "
                     "if the service shows no incident but does not work, raise a Microsoft support request.")
    lines += [f"Known constraint: {note}" for note in (profile.notes if profile else ())]
    return lines


def _escalation(ctx: Context, step: dict[str, Any], profile: DRProfile | None) -> list[str]:
    c = ctx.contacts
    lead = chain(c.dr_lead, "DR lead", short=True)
    microsoft = chain(c.microsoft_support, "Azure-side failures (capacity, quota, service errors): Microsoft support",
                      short=True)
    if step["component"] == PLATFORM:
        if step["kind"] == StepKind.HANDOVER:
            return [chain(entry, f"Downstream: {entry.area}", short=True) for entry in c.downstream_support] + [lead]
        approvers = c.business_approvers if step["id"] == BUSINESS_GATE else c.technical_approvers
        return [chain(entry, f"Approver: {entry.area}", short=True) for entry in approvers] + [lead]
    sme = c.sme_for(step["component"])
    first = chain(sme, f"SME: {sme.area}", short=True) if sme else \
        f"No technical SME lists `{step['component']}` in the contacts file: go straight to the DR lead."
    return [first, lead, microsoft]


def recovery_steps(ctx: Context) -> tuple[RecoveryStep, ...]:
    policy = RetryPolicy()  # the engine's policy when a failover is given none
    reasons = {(key, dep.component): dep.why for key, p in ctx.profiles.items() for dep in p.depends_on}
    components = {step["id"]: step["component"] for step in ctx.document["steps"]}
    steps = []
    for number, step in enumerate(ctx.document["steps"], start=1):
        profile = ctx.profiles.get(step["component"])
        exercise = azure_exercise(ctx, step, profile)
        prerequisites = []
        for dep in sorted(step["depends_on"], key=lambda sid: ctx.numbers.get(sid, 0)):
            dep_component = components.get(dep)
            why = reasons.get((step["component"], dep_component)) if dep_component is not None else None
            prerequisites.append(ctx.step_ref(dep) + (f" done: {why}" if why else " done"))
        steps.append(RecoveryStep(
            number=number, step_id=step["id"], kind=step["kind"], component=step["component"],
            title=step["description"].split("; after ")[0],
            prerequisites=tuple(prerequisites) or ("None: it can start as soon as the failover starts.",),
            actions=tuple(_actions(ctx, step, profile, exercise)),
            validation=tuple(_validation(ctx, step, profile, exercise)),
            estimate_s=step["estimate_s"], estimate_source=step.get("estimate_source", "profile"),
            expected=_expected(step), on_failure=tuple(_on_failure(step, profile, policy)),
            escalation=tuple(_escalation(ctx, step, profile)),
        ))
    return tuple(steps)


def _summary(ctx: Context) -> Fields:
    doc = ctx.document
    plan = plan_from_json(doc)
    padded = {step["id"]: _with_contingency(step) for step in doc["steps"]}
    with_contingency = replace(plan, steps=tuple(replace(s, estimate_s=padded[s.id]) for s in plan.steps))
    critical_c, _ = critical_path(with_contingency)
    verdict = "within" if critical_c <= doc["rto_target_s"] else "OVER"
    items = [
        ("Start", (f"`drctl preflight --stack {ctx.stack}`, then `drctl failover --stack {ctx.stack}`. Its first line "
                   f"on stderr is `run: <run directory>`: that directory (or its run id) is `{RUN}` below.",)),
        ("Run order", (f"{len(doc['steps'])} steps, numbered as the plan lists them. drctl starts each step as soon as "
                       "its prerequisites are done, several at once (`--workers`, default 4), so numbers are an order "
                       "to read and check, not a queue to wait in.",)),
        ("Total time", (f"critical path {duration(doc['critical_path_s'])}, with contingency "
                        f"{duration(critical_c)}: {verdict} the RTO target of {duration(doc['rto_target_s'])}.",
                        f"One step at a time it would take {duration(sum(padded.values()))} with contingency.",
                        f"Critical path: {' → '.join(f'`{s}`' for s in doc['critical_path'])}.")),
    ]
    levers = (doc.get("rto_levers") or {}).get("levers") or []
    if levers:
        items.append(("Over the RTO: the levers `drctl plan` computes",
                      tuple(f"{lever['lever']}: {lever.get('detail', '')}" for lever in levers)))
    elif critical_c > doc["rto_target_s"]:
        # The plan's estimates fit, so `drctl plan` computes no lever; only the contingency tips it over.
        items.append(("Over the RTO with contingency", (
            "The estimates fit the target but leave less than the contingency: automate manual steps, run more "
            "steps in parallel, move components to service tiers the provider recovers, or agree a longer RTO "
            "with the stakeholders.",)))
    return Fields(tuple(items))


def recovery_section(ctx: Context) -> tuple[tuple[RecoveryStep, ...], Section]:
    steps = recovery_steps(ctx)
    blocks: list[Block] = [_summary(ctx), Para("Each step below: its prerequisites, what drctl does (and what to do by hand when "
                                  "it cannot), the evidence that proves it, the expected time, what to do if it fails "
                                  "and whom to call.")]
    for step in steps:
        blocks.append(Subsection(f"Step {step.number}. `{step.step_id}`: {step.title}", (Fields((
            ("Component and kind", (f"`{step.component}`, {step.kind}",)),
            ("Prerequisite", step.prerequisites),
            ("Detailed actions", step.actions),
            ("Validation and evidence required", step.validation),
            ("Expected time", (step.expected,)),
            ("If the step fails", step.on_failure),
            ("Escalation", step.escalation),
        )),), anchor=f"step-{step.number}"))
    return steps, Section(SECTION_TITLES[5], tuple(blocks))
