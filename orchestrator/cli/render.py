"""Human-readable output of the verbs (the --json forms are the contract; these are for people)."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.report.durations import human_duration


def _console(stderr: bool = False) -> Console:
    # soft_wrap: a line longer than the terminal stays one line. Piped output has no terminal width:
    # rich would assume 80 columns and fold every table cell, so allow a wide page.
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, no_color="NO_COLOR" in os.environ, highlight=False, soft_wrap=True, width=width)


def print_preview(document: dict) -> None:
    table = Table(title=f"stack {document['stack']} ({document['region']})")
    for column in ("component", "type", "name", "physical name", "location"):
        table.add_column(column)
    for resource in document["resources"]:
        table.add_row(
            resource["component"] or "",
            resource["type"],
            resource["name"],
            resource["physical_name"] or "-",
            resource["location"] or "global",
        )
    _console().print(table)
    _console().print(f"{len(document['resources'])} resources")


def print_plan(document: dict) -> None:
    table = Table(title=f"recovery plan for stack {document['stack']}")
    for column in ("step", "kind", "depends on", "estimate", "estimate from"):
        table.add_column(column)
    labels = {step["id"]: _estimate_label(step) for step in document["steps"]}
    for step in document["steps"]:
        table.add_row(step["id"], step["kind"], ", ".join(step["depends_on"]), human_duration(step["estimate_s"]),
                      labels[step["id"]])
    console = _console()
    console.print(table)
    history = document.get("history")
    if history:
        console.print(f"history: {history['runs']} {history['target']} run(s) in {history['file'] or '-'}")
        if history.get("faulted_runs"):
            console.print(f"  {history['faulted_runs']} of them with injected faults: recorded, not used")
        if history.get("runs_before_conditions"):
            console.print(f"  {history['runs_before_conditions']} recorded before history said scale and faults: "
                          "compared only with each other")
    if document.get("estimate_mix"):
        console.print(document["estimate_mix"])
    for flagged in document.get("regressions") or []:
        console.print(
            f"REGRESSION {flagged['step']}: latest run {human_duration(flagged['latest_s'])} vs median "
            f"{human_duration(flagged['earlier_median_s'])} of the {flagged['earlier_runs']} runs before it "
            f"({flagged['run_id']})"
        )
    verdict = "within" if document["within_target"] else "OVER"
    console.print(
        f"critical path {human_duration(document['critical_path_s'])} ({verdict} the RTO target of "
        f"{human_duration(document['rto_target_s'])}); run one by one it would take "
        f"{human_duration(document['sequential_s'])}"
    )
    levers = document.get("rto_levers")
    if levers:
        _print_levers(console, levers, labels)


def _estimate_label(step: dict) -> str:
    """Where the estimate came from, in words (a document from before estimate_basis: its source)."""
    basis = step.get("estimate_basis")
    return basis["label"] if basis else step.get("estimate_source", "profile")


def _print_levers(console: Console, levers: dict, labels: dict[str, str]) -> None:
    console.print(f"over the RTO by {human_duration(levers['over_by_s'])}; the critical path:")
    for entry in levers["critical_path"]:
        console.print(f"  {entry['step']}  {human_duration(entry['estimate_s'])}  "
                      f"({labels.get(entry['step'], entry['estimate_source'])})")
    console.print("levers (from the seed's DR plan guidance):")
    for lever in levers["levers"]:
        if "rto_needed_s" in lever:  # not a saving: what the target would have to become
            console.print(f"  {lever['lever']}: {lever['detail']}")
            continue
        saving = (f"saves {human_duration(lever['saving_s'])}" if lever.get("saving_s") is not None
                  else "saving not computed")
        if lever.get("saving_is_upper_bound"):
            saving = saving.replace("saves", "saves at most")
        console.print(f"  {lever['lever']}: {saving}; {lever['detail']}")
        for component in lever.get("components", []):
            part = (f"saves {human_duration(component['saving_s'])}" if component["saving_s"] is not None
                    else "saving not computed")
            options = "; ".join(component["seed_uplift_options"]) or "none in the seed"
            console.print(f"    {component['component']} ({component['recovery_action']}): {part}; "
                          f"{component['detail']}. Seed uplift options: {options}")


def print_posture(document: dict) -> None:
    title = f"DR posture of stack {document['stack']} ({document['region']})" if document["stack"] else "DR posture: the seed tables"
    table = Table(title=title, show_lines=True)
    for column in ("service", "in stack", "state", "component / workload recovery", "SKU", "DR uplift options", "recovery"):
        table.add_column(column)
    marks = {True: "on", False: "off", None: "?"}
    for row in document["services"]:
        uplifts = "\n".join(
            f"[{marks[enabled]}] {option}" if row["in_stack"] else option
            for option, enabled in zip(row["uplift_options"], row["uplift_enabled"], strict=False)
        )
        # rich reads `[on]`, `[off]` (and any bracket in the seed's text) as markup and drops it.
        table.add_row(*(escape(cell) for cell in (
            row["service"],
            {True: "yes", False: "no", None: "-"}[row["in_stack"]],
            "stateful" if row["stateful"] else "stateless",
            f"{row['component_responsibility']} / {row['workload_responsibility']}",
            row["sku"],
            uplifts,
            row["recovery_action"],
        )))
    _console().print(table)


def print_dry_run(document: dict) -> None:
    console = _console()
    console.print(f"dry run of a failover to stack {document['stack']} ({document['region']}): {document['note']}")
    console.print("would check first: " + "; ".join(c["description"] for c in document["preconditions"]))
    if document.get("recovery_point"):
        console.print(f"recovery point {document['recovery_point']} (UTC): the lake would be restored from its blob "
                      "snapshots at or before it")
    table = Table(title="preflight checks it would run")
    for column in ("check", "calls"):
        table.add_column(column)
    for check in document["preflight_checks"]:
        calls = check.get("calls")
        table.add_row(check.get("title") or check["id"], ", ".join(calls) if isinstance(calls, list) else str(calls or ""))
    console.print(table)
    print_plan(document["plan"])
    print_paths(document.get("paths", []))


def print_paths(paths: list[dict]) -> None:
    """The data-plane paths: each operation's network route and role, or what is missing."""
    table = Table(title="data-plane paths (network route and role of every call)")
    for column in ("operation", "actor", "endpoint", "network", "identity"):
        table.add_column(column)
    for path in paths:
        network, identity = path["network"], path["identity"]
        table.add_row(path["operation"], path["actor"], path["endpoint"],
                      network["via"] if network["ok"] else "MISSING " + "; ".join(network["missing"]),
                      identity["role"] if identity["ok"] else "MISSING " + "; ".join(identity["missing"]))
    console = _console()
    console.print(table)
    bad = sum(1 for path in paths if not (path["network"]["ok"] and path["identity"]["ok"]))
    console.print(f"{len(paths)} paths, {bad} not ok" + (" (drctl coverage fails on them)" if bad else ""))


def print_preflight(document: dict) -> None:
    table = Table(title=f"preflight of stack {document.get('stack')} ({document.get('region')})")
    for column in ("check", "status", "severity", "message", "fix"):
        table.add_column(column)
    for check in document.get("checks", []):
        table.add_row(check["id"], check["status"], check.get("severity") or "", check.get("message") or "", check.get("fix") or "")
    console = _console()
    console.print(table)
    if document.get("skipped"):
        console.print("skipped (an earlier check failed): " + ", ".join(document["skipped"]))
    console.print("BLOCKED: fix the blockers before failing over" if document.get("blocked") else "no blockers")


def print_status(document: dict) -> None:
    liveness = document.get("liveness") or {}
    table = Table(title=f"run {document.get('run_id', '')}: {document.get('outcome_line') or document.get('outcome') or liveness.get('state') or 'in progress'}")
    for column in ("step", "state", "attempts", "duration", "detail"):
        table.add_column(column)
    for step in document.get("steps", []):
        duration = step.get("duration_s")
        declared_only = step["state"] == "succeeded" and step.get("exercised") is False
        table.add_row(
            step["id"],
            "not exercised" if declared_only else step["state"],
            str(step.get("attempts", 0)),
            human_duration(duration) if duration is not None else "",
            step.get("error") or step.get("reason") or ("declared, not exercised on this target" if declared_only else ""),
        )
    console = _console()
    console.print(table)
    if document.get("recovery_point"):
        console.print(f"recovery point asked for: {document['recovery_point']}", markup=False)
    for restored in document.get("restored") or []:
        console.print(f"{restored['step']} restored backup generation {restored['backup_generation']} "
                      f"(its point: data through {restored['backup_point'] or '-'})", markup=False)
    if liveness.get("reason"):
        console.print(f"{liveness['state']}: {liveness['reason']}", markup=False)
    for command in liveness.get("next") or []:
        console.print(f"next: {command}", markup=False)


def print_summary(summary: dict) -> None:
    console = _console()
    console.print(f"outcome: {summary.get('outcome_line') or summary['outcome']}")
    for gate in summary.get("waiting_for", []):
        console.print(f"waiting for approval: drctl approve {summary['run_id']} {gate} --by NAME [--note TEXT], "
                      f"then drctl resume {summary['run_id']}")
    console.print(
        f"RTO measured {human_duration(summary['rto_s'])}; "
        f"RPO before replay {human_duration(summary['rpo_s_before_replay'])}, "
        f"after replay {human_duration(summary['rpo_s_after_replay'])}"
    )
    table = Table()
    for column in ("component", "status", "stateful", "exercised", "smoke", "validation"):
        table.add_column(column)
    for component in summary["components"]:
        table.add_row(
            component["name"],
            component.get("status", ""),
            "yes" if component["stateful"] else "no",
            "yes" if component["exercised"] else "no (declared)",
            component["smoke"],
            component["validation"],
        )
    console.print(table)
    console.print(f"report: {summary['run_dir']}/report.md")
    fallback = summary.get("fallback")
    if fallback:
        console.print(f"fallback to the primary: {fallback['outcome']} in {human_duration(fallback['rto_s'])}")
        for store, facts in sorted(fallback.get("secondary_time", {}).get("stores", {}).items()):
            console.print(f"  {store}: {_secondary_time_line(facts)}")
        console.print(f"fallback report: {fallback['run_dir']}/report.md")


def _secondary_time_line(facts: dict) -> str:
    """What the primary holds of the records written while the secondary served."""
    if "blobs" in facts:
        present = sum(1 for blob in facts["blobs"] if blob["in_primary"])
        return f"{present} of {len(facts['blobs'])} raw batches written during the secondary's time, same MD5"
    inside = facts.get("in_primary", {})
    same = inside.get("checksum") == facts.get("checksum") and inside.get("events") == facts.get("events")
    return (f"{inside.get('events')} of {facts.get('events')} events written during the secondary's time, "
            f"checksum {'matches' if same else 'DIFFERS'}")
