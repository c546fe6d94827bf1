"""The checks of `drctl coverage`: the DR coverage of a stack, as a gate a CI pipeline can fail on.

Offline, like preview and plan: the stack and its paired stack run under Pulumi's mock runtime,
and the checks read their graphs, their stack files and the components' DR profiles. One result
per check per component:

- dr-profile: every resource belongs to a component that has a DR profile;
- smoke-check: every component and service of the stack has a smoke check (a SaaS service with
  no API to ask has a person confirm it instead: the plan's manual gate);
- backup-source, data-check, replay-path: every stateful store declares where its data comes
  back from (DRProfile.data_recovery), how it is validated, and how the delta is replayed; where
  the stack file decides whether that source exists (the lake's GRS), it must be on in the primary;
- check-implemented: every smoke and data check a profile declares has an implementation, and says
  what its tests run it against (a declared check with no function is a claim nothing can make good);
- counterpart: every component and service of the primary stack is in the secondary's plan;
- security-baseline: the resources of each component keep the baseline (orchestrator/program/baseline.py).

A result with gaps is a failure; any gap fails the gate (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.profile import DRProfile, RecoveryAction
from orchestrator.paths.assess import assess_paths
from orchestrator.paths.model import PathResult
from orchestrator.program.baseline import assess_graph
from orchestrator.program.owners import owner, unowned_line
from orchestrator.stack import load_stack, stack_profiles
from smoke_tests.check import Target

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph, GraphResource
    from stacks.config import StackConfig

CHECKS = ("dr-profile", "smoke-check", "check-implemented", "backup-source", "data-check", "replay-path", "counterpart",
          "security-baseline", "data-path")
UNOWNED = "(no component)"


@dataclass(frozen=True)
class Result:
    check: str
    component: str
    gaps: tuple[str, ...] = ()
    detail: str = ""
    excepted: tuple[str, ...] = ()  # security-baseline: violations a listed exception covers, with its reason
    # data-path: access made by hand that the paths rest on, as the stack declares it (runner.grantedOutOfBand)
    prerequisites: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackView:
    """One stack as coverage reads it: its captured graph and its validated config."""

    graph: Graph
    config: StackConfig

    @property
    def name(self) -> str:
        return self.config.stack

    def paths(self, paired: StackView) -> list[PathResult]:
        """Every data-plane path of the stack's plans (orchestrator/paths), over both graphs."""
        return assess_paths(self.config, self.graph, paired.graph)

    def profiles(self) -> list[DRProfile]:
        # Read on every call, not cached: the profiles are looked up in the registry at that time.
        return stack_profiles(self.graph, self.config)


def load_views(project_dir: Path, stack: str) -> tuple[StackView, StackView]:
    """The stack and its paired stack; bad input (unknown stack, invalid file) raises before any run."""
    model = load_stack(project_dir, stack)  # its config names the paired stack, whose file must exist
    paired = load_stack(project_dir, model.config.paired_stack)
    return StackView(model.graph, model.config), StackView(paired.graph, paired.config)


def assess(view: StackView, paired: StackView) -> list[Result]:
    profiles = view.profiles()
    primary = view if view.config.role == "primary" or paired.config.role != "primary" else paired
    postures = _postures([primary.config, view.config])
    results = _ownership(view.graph)
    results += [_smoke(profile) for profile in profiles]
    results += [_implemented(profile) for profile in profiles if profile.checks]
    for profile in profiles:
        if profile.stateful and profile.recovery_action != RecoveryAction.SAAS:
            results += _data_recovery(profile, postures)
    results += _counterparts(view, paired)
    results += _baseline(view.graph)
    results += _data_paths(view.paths(paired))
    order = {check: index for index, check in enumerate(CHECKS)}
    return sorted(results, key=lambda r: order[r.check])  # stable: components keep plan order


def coverage_document(view: StackView, paired: StackView, results: list[Result]) -> dict[str, Any]:
    gaps = [f"{r.component}: {r.check}: {gap}" for r in results for gap in r.gaps]
    summary = {
        check: {
            "passed": sum(1 for r in results if r.check == check and not r.gaps),
            "failed": sum(1 for r in results if r.check == check and r.gaps),
        }
        for check in CHECKS
    }
    return {
        "stack": view.name,
        "role": view.config.role,
        "paired_stack": paired.name,
        "passed": not gaps,
        "summary": summary,
        "checks": [
            {"check": r.check, "component": r.component, "passed": not r.gaps, "gaps": list(r.gaps), "detail": r.detail,
             "excepted": list(r.excepted)}
            for r in results
        ],
        "gaps": gaps,
        "excepted": [f"{r.component}: {r.check}: {line}" for r in results for line in r.excepted],
        "prerequisites": [f"{r.component}: {line}" for r in results for line in r.prerequisites],
        "declared_checks": declared_checks(view.profiles()),
        "paths": [path.to_json() for path in view.paths(paired)],
    }


def declared_checks(profiles: list[DRProfile]) -> list[dict[str, Any]]:
    """Every smoke and data check the stack's profiles declare, and whether drctl can run it at all
    (`implemented`) and where (`runs_on`): a declared check with no implementation shows here."""
    return [
        {"component": check.component, "check": check.name, "kind": str(check.kind), "implemented": check.implemented,
         "runs_on": sorted(str(target) for target in check.runs_on),
         "exercised_locally": check.runs_on_target(Target.LOCAL), "tested_against": check.tested_against or None}
        for profile in profiles
        for check in profile.checks
    ]


# -- the checks ---------------------------------------------------------------------------------------


def _owned(graph: Graph) -> dict[str, list[GraphResource]]:
    """Resources by the key of the profile that owns them; unowned ones under their component's name."""
    owned: dict[str, list[GraphResource]] = {}
    for resource in graph.resources:
        profile = owner(graph, resource["component"])
        label = profile.key if profile else f"{resource['component'] or UNOWNED} (no DR profile)"
        owned.setdefault(label, []).append(resource)
    return owned


def _ownership(graph: Graph) -> list[Result]:
    results = []
    for label, resources in _owned(graph).items():
        if label.endswith("(no DR profile)"):
            gaps = tuple(unowned_line(r) for r in resources)
            results.append(Result("dr-profile", label, gaps))
        else:
            results.append(Result("dr-profile", label, detail=f"{len(resources)} resources"))
    return results


def _smoke(profile: DRProfile) -> Result:
    if profile.smoke_checks:
        return Result("smoke-check", profile.key, detail=", ".join(check.name for check in profile.smoke_checks))
    if profile.recovery_action == RecoveryAction.SAAS:
        # Nothing deployed and no API to ask: the plan gives it a gate where a person confirms.
        return Result("smoke-check", profile.key, detail="manual gate: a person confirms the service is available")
    return Result("smoke-check", profile.key, ("no smoke check declared (DRProfile.smoke_checks is empty)",))


def _postures(configs: list[StackConfig]) -> list[tuple[str, dict[str, list[dict]]]]:
    """Per config (first the primary's): stack name, and its posture rows by component key."""
    from orchestrator.verbs.posture import posture_document

    found: list[tuple[str, dict[str, list[dict]]]] = []
    for config in configs:
        if any(name == config.stack for name, _ in found):
            continue
        rows: dict[str, list[dict]] = {}
        for row in posture_document(config)["services"]:
            rows.setdefault(row["component"], []).append(row)
        found.append((config.stack, rows))
    return found


def _source_off(profile: DRProfile, postures: list[tuple[str, dict[str, list[dict]]]]) -> str | None:
    """Why the declared source does not exist in the stack that holds the data, if its file says so.

    The primary's stack file decides (its lake must be geo-redundant before the disaster); a
    service the primary does not run is read from this stack's file. An uplift the file cannot
    tell about (posture None) is not held against the store."""
    uplifts = profile.data_recovery.source_uplifts if profile.data_recovery else ()
    for stack, rows_by_key in postures:
        rows = rows_by_key.get(profile.key, [])
        if not uplifts or not rows or not rows[0]["in_stack"]:
            continue
        states = [(rows[r]["uplift_options"][o], rows[r]["uplift_enabled"][o]) for r, o in uplifts]
        if any(enabled is not False for _, enabled in states):
            return None
        options = "; ".join(option for option, _ in states)
        return f"its source is switched off in stack '{stack}': none of these is on: {options}"
    return None


def _implemented(profile: DRProfile) -> Result:
    gaps = [f"check {check.name!r} is declared but not implemented"
            for check in profile.checks if not check.implemented]
    gaps += [f"check {check.name!r} does not say what its tests run it against (Check.tested_against)"
             for check in profile.checks if check.implemented and not check.tested_against]
    return Result("check-implemented", profile.key, tuple(gaps), detail=f"{len(profile.checks)} check(s)")


def _data_recovery(profile: DRProfile, postures) -> list[Result]:
    recovery = profile.data_recovery
    source = (recovery.source if recovery else "").strip()
    replay = (recovery.replay if recovery else "").strip()
    off = _source_off(profile, postures) if source else None
    return [
        Result("backup-source", profile.key, (off,) if off else (), source)
        if source
        else Result("backup-source", profile.key, ("no backup or redundancy source declared (DRProfile.data_recovery)",)),
        Result("data-check", profile.key, detail=", ".join(check.name for check in profile.data_checks))
        if profile.data_checks
        else Result("data-check", profile.key, ("no data check declared (DRProfile.data_checks is empty)",)),
        Result("replay-path", profile.key, detail=replay)
        if replay
        else Result("replay-path", profile.key, ("no replay path declared (DRProfile.data_recovery)",)),
    ]


def _counterparts(view: StackView, paired: StackView) -> list[Result]:
    if {view.config.role, paired.config.role} != {"primary", "secondary"}:
        gap = f"stacks '{view.name}' and '{paired.name}' are both {view.config.role}: no primary and secondary to compare"
        return [Result("counterpart", f"stack {view.name}", (gap,))]
    primary, secondary = (view, paired) if view.config.role == "primary" else (paired, view)
    # Plan profiles on both sides: a service that deploys on one role only still has recovery
    # work on the other (stack_profiles lists it there), so it counts as present.
    present = {profile.key for profile in secondary.profiles()}
    results = []
    for profile in primary.profiles():
        if profile.key in present:
            results.append(Result("counterpart", profile.key, detail=f"in stack '{secondary.name}'"))
        else:
            gap = (
                f"in the primary stack '{primary.name}' but not in the secondary stack '{secondary.name}' "
                f"(switch it on in Pulumi.{secondary.name}.yaml)"
            )
            results.append(Result("counterpart", profile.key, (gap,)))
    return results


def _data_paths(paths: list[PathResult]) -> list[Result]:
    """One result per component: its operations' paths (orchestrator/paths), each missing link a gap."""
    by_component: dict[str, list[PathResult]] = {}
    for path in paths:
        by_component.setdefault(path.component, []).append(path)
    return [Result("data-path", component, tuple(p.gap() for p in found if not p.ok),
                   detail=f"{len(found)} paths: " + ", ".join(p.operation for p in found),
                   prerequisites=tuple(dict.fromkeys(line for p in found for line in p.prerequisites)))
            for component, found in by_component.items()]


def _baseline(graph: Graph) -> list[Result]:
    violations: dict[str, list[str]] = {}
    excepted: dict[str, list[str]] = {}
    for violation in assess_graph(graph):
        profile = owner(graph, violation.component)
        label = profile.key if profile else f"{violation.component or UNOWNED} (no DR profile)"
        (excepted if violation.excepted else violations).setdefault(label, []).append(violation.line())
    return [
        Result("security-baseline", label, tuple(violations.get(label, ())),
               f"{len(resources)} resources checked" + "".join(f"\n{line}" for line in excepted.get(label, ())),
               tuple(excepted.get(label, ())))
        for label, resources in _owned(graph).items()
    ]
