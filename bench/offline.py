"""The offline work: `drctl preview` and `drctl plan` against Pulumi's own floor, the cache, scale.

1. `drctl preview` and `drctl plan` of the full reference stack, each in a process of its own
   with an empty cache (the cold case), timed, with the process's peak RSS; against the same
   for bench/bare_program.py declaring the same azure-native resources (the graph drctl
   captured: each resource's type and inputs, under as many components) under the same mock
   runtime: the floor.
2. preview, plan, posture and coverage again on unchanged code and config: what the content-keyed
   cache (orchestrator/program/cache.py) gives, process start included.
3. The plan of a synthetic 10,000-component graph, in-process: build_plan, the history, the
   critical path, the RTO levers and the JSON `drctl plan --json` prints.

Peak RSS is getrusage(RUSAGE_CHILDREN) in a small launcher whose only child is the command:
the kernel's peak for exactly that process.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Result

PROJECT = Path(__file__).resolve().parents[1]
STACK = "reference"
WARM_RUNS = 3
VERBS = ("preview", "plan", "posture", "coverage")


# Runs the measured command as its only child and reports the child's peak RSS and time. A
# launcher of its own because Linux charges an exec'd process with the peak RSS of the memory its
# exec replaced, and by then this benchmark process holds gigabytes (the lake benchmarks).
_LAUNCHER = (
    "import json, resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "wall = time.perf_counter() - started\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(json.dumps({'wall': wall, 'maxrss_kib': usage.ru_maxrss, 'code': code}))\n"
)


def measure(argv: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, int]:
    """Run `argv` in a child process: (wall seconds, peak RSS in MiB, exit code), or RuntimeError
    when it exits with a code not in `ok`."""
    with open(os.devnull, "wb") as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, report.name, *argv], cwd=PROJECT, env=env,
                       stdout=out, stderr=err, check=True)
        found = json.loads(Path(report.name).read_text())
        if found["code"] not in ok:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv[2:])} exited {found['code']}: "
                                       f"{err.read().decode(errors='replace')[-800:]}")
    return found["wall"], found["maxrss_kib"] / 1024, found["code"]  # ru_maxrss is in KiB on Linux


def drctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestrator.cli", *args]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "DRCTL_CACHE_DIR": str(cache), "NO_COLOR": "1", "PYTHONPATH": str(PROJECT)}


def cold_and_floor(tmp: Path, stack: str, runs: int, verbs: tuple[str, ...]) -> list[Result]:
    """Preview and plan with an empty cache each time, and the floor, interleaved; the median of
    `runs` each (the best of two had the floor's luckiest run against drctl's usual one: on this
    machine one cold run varies by 10% or more)."""
    seen: dict[str, list[tuple[float, float]]] = {}
    workdir = tmp / "workdir"  # no history: the profiles' estimates
    commands = {name: args for name, args in (("preview", ["preview", "--stack", stack, "--json"]),
                                              ("plan", ["plan", "--stack", stack, "--json", "--workdir", str(workdir)]))
                if name == "preview" or name in verbs}  # preview lists the resources the floor declares
    for n in range(runs):
        for name, args in commands.items():
            wall, rss, _ = measure(drctl(*args), _env(tmp / f"cold-{name}-{n}"))
            seen.setdefault(name, []).append((wall, rss))
        # The floor declares the resources of the graph drctl captured, with their own inputs.
        graph = json.loads((tmp / f"cold-preview-{n}" / f"graph-{stack}.json").read_text())["value"]
        resources = [{"type": r["type"], "inputs": graph["inputs"].get(r["urn"], {})} for r in graph["resources"]]
        components = len(graph["components"])
        trivial = [{"type": "azure-native:resources:ResourceGroup", "inputs": {}}] * len(resources)
        for floor, declared in (("floor", resources), ("floor_resource_groups", trivial)):
            spec = tmp / f"{floor}.json"
            spec.write_text(json.dumps({"resources": declared, "components": components}))
            wall, rss, _ = measure([sys.executable, "-m", "bench.bare_program", str(spec)], _env(tmp / "unused"))
            seen.setdefault(floor, []).append((wall, rss))
    best = {name: (statistics.median(w for w, _ in runs_of), statistics.median(r for _, r in runs_of))
            for name, runs_of in seen.items()}
    floor_s, floor_mib = best["floor"]
    count = f"{len(resources)} resources under {components} components"
    results = [
        Result("offline.floor_s", round(floor_s, 2), "s", None,
               f"bare program: stack {stack}'s {count}, same SDK classes and inputs, same mock runtime"),
        Result("offline.floor_peak_rss", round(floor_mib, 1), "MiB", None, "the same bare program's peak RSS"),
        Result("offline.floor_resource_groups_s", round(best["floor_resource_groups"][0], 2), "s", None,
               f"{len(resources)} resource groups instead (the issue's 'N trivial resources'), "
               f"{best['floor_resource_groups'][1]:.0f} MiB"),
    ]
    for name in commands:
        wall, rss = best[name]
        results += [
            Result(f"offline.{name}_cold_s", round(wall, 2), "s", None, f"drctl {name} --stack {stack}, empty cache"),
            Result(f"offline.{name}_time_over_floor", round(wall / floor_s, 3), "ratio", "<= 1.2",
                   f"{wall:.2f}s against the floor's {floor_s:.2f}s (medians of {runs})"),
            Result(f"offline.{name}_peak_rss_over_floor", round(rss / floor_mib, 3), "ratio", "<= 1.2",
                   f"{rss:.0f} MiB against the floor's {floor_mib:.0f} MiB"),
        ]
    return results


def warm(tmp: Path, stack: str, runs: int, verbs: tuple[str, ...]) -> list[Result]:
    """Each verb once to fill the cache (the graphs are there from a cold preview), then `runs`
    more: the median, with how many were under the goal."""
    cache = tmp / "warm"
    commands = {name: args for name, args in {
        "preview": ["preview", "--stack", stack, "--json"],
        "plan": ["plan", "--stack", stack, "--json", "--workdir", str(tmp / "workdir")],
        "posture": ["posture", "--stack", stack, "--json"],
        "coverage": ["coverage", "--stack", stack, "--json"]}.items() if name in verbs}
    results = []
    for name, args in commands.items():
        ok = (0, 1) if name == "coverage" else (0,)  # the reference stack's coverage gaps are on purpose
        measure(drctl(*args), _env(cache), ok)
        times = [measure(drctl(*args), _env(cache), ok)[0] for _ in range(runs)]
        under = sum(t < 0.5 for t in times)
        results.append(Result(f"offline.{name}_repeated_s", round(statistics.median(times), 3), "s", "< 0.5",
                              f"median of {runs} on unchanged code and config ({under} under 0.5 s; the cache is "
                              "keyed by the sources' bytes, so a concurrent edit of the checkout misses it)"))
    return results


def plan_at_scale(components: int, runs: int) -> list[Result]:
    # In a process of its own, as `drctl plan` runs: in the benchmark's process, what the earlier
    # benchmarks left on the heap made each full garbage collection slower (1.06 s against 0.87 s).
    code = f"import json; from bench.offline import time_plan; print(json.dumps(time_plan({components}, {runs})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    timed = json.loads(done.stdout)
    return [
        Result(f"offline.plan_{components}_components_s", round(statistics.median(timed["plan_s"]), 3), "s", "< 1",
               f"build_plan + history + critical path + RTO levers + JSON, {timed['size']}; median of {runs} "
               f"(slowest {max(timed['plan_s']):.3f}), in a process of its own"),
        Result(f"offline.plan_{components}_components_redaction_s", round(min(timed["redaction_s"]), 3), "s", None,
               "then the CLI's redaction pass over that JSON before printing it (orchestrator/redact.py)"),
    ]


def time_plan(components: int, runs: int) -> dict:
    from bench.synthetic import synthetic_components
    from orchestrator.plan.history import apply_history, step_histories
    from orchestrator.plan.recovery import build_plan, plan_to_json
    from orchestrator.plan.rto_levers import rto_levers
    from orchestrator.redact import REDACTOR

    profiles = synthetic_components(components)
    by_key = {profile.key: profile for profile in profiles}
    timings, redaction = [], []
    for _ in range(runs):
        # Each run on the heap a fresh `drctl plan` process has: with the previous run's plan and
        # JSON still alive, every full collection rescanned them (0.77 s first, 1.34 s by the 8th).
        plan = document = text = None
        gc.collect()
        started = time.perf_counter()
        # What plan_command does once the graph is read (commands.py), over the RTO so the levers
        # are all computed, then the JSON `drctl plan --json` prints.
        plan = build_plan("synthetic", profiles, rto_target_s=3600, rpo_target_s=900, gate_estimate_s=900,
                          business_gate_estimate_s=1800, handover_estimate_s=300)
        plan, sources, _ = apply_history(plan, step_histories([], "azure"))
        document = plan_to_json(plan)
        document["rto_levers"] = rto_levers(plan, by_key, sources)
        text = json.dumps(document, indent=2)
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        REDACTOR.text(text)
        redaction.append(time.perf_counter() - started)
    return {"plan_s": timings, "redaction_s": redaction,
            "size": f"{len(plan.steps):,} steps, {len(text) / 1e6:.1f} MB of JSON"}


def run(quick: bool, stack: str = STACK, components: int = 10_000, warm_runs: int = WARM_RUNS,
        verbs: tuple[str, ...] = VERBS) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        tmp_path = Path(tmp)
        results = cold_and_floor(tmp_path, stack, 1 if quick else 3, verbs)
        # The warm runs start from the graphs the cold preview left: copy them into their cache.
        (tmp_path / "warm").mkdir()
        for graph in (tmp_path / "cold-preview-0").glob("graph-*.json"):
            (tmp_path / "warm" / graph.name).write_bytes(graph.read_bytes())
        results += warm(tmp_path, stack, warm_runs, verbs)
    results += plan_at_scale(components, runs=1 if quick else 5)
    return results
