"""Overhead: what drctl adds to a local drill beyond the work of its steps.

`drctl drill --local` runs at the default scale in a process of its own (a fresh workdir). Its
measured RTO runs from the staged disaster to the handover. The work is the critical path of the
plan's DAG with each step's own measured duration (from the journal: the engine's clock around the
step, retries included): what unlimited workers and a free scheduler would take. The difference is
drctl's: scheduling, journaling (fsync), evidence, and the gap between the disaster and the run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench.report import Result
from orchestrator.engine.journal import Journal
from orchestrator.plan.recovery import critical_path, plan_from_json
from orchestrator.run.rundir import RunDir

PROJECT = Path(__file__).resolve().parents[1]


def measured_critical_path(run_dir: Path) -> tuple[float, list[str]]:
    """The plan's critical path over the steps' measured durations (a step that measured nothing,
    declared but not exercised, counts what it took, which is about nothing)."""
    plan = plan_from_json(json.loads(RunDir(run_dir).plan_json.read_text()))
    state = Journal.open(run_dir).state
    durations = {sid: record.duration_s or 0.0 for sid, record in state.steps.items()}
    measured = replace(plan, steps=tuple(replace(step, estimate_s=float(durations.get(step.id, 0.0)))
                                         for step in plan.steps))
    return critical_path(measured)


def drill(workdir: Path, scale: int = 1) -> tuple[float, float, list[str]]:
    """One local drill: (RTO, critical path of measured durations, that path)."""
    result = subprocess.run([sys.executable, "-m", "orchestrator.cli", "drill", "--local", "--json",
                             "--scale", str(scale), "--workdir", str(workdir)],
                            cwd=PROJECT, env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"drctl drill exited {result.returncode}: {result.stderr[-1500:]}")
    summary = json.loads(result.stdout)
    work_s, path = measured_critical_path(Path(summary["run_dir"]))
    return float(summary["rto_s"]), work_s, path


def run(quick: bool, runs: int | None = None) -> list[Result]:
    runs = runs or (1 if quick else 3)
    samples = []
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        for n in range(runs):
            samples.append(drill(Path(tmp) / f"drill-{n}"))
    # the run whose share is the median, so RTO, work and path come from one and the same drill
    shares = [(rto - work) / rto for rto, work, _ in samples]
    rto, work, path = samples[shares.index(statistics.median_low(shares))]
    return [
        Result("overhead.drill_rto_s", round(rto, 3), "s", None,
               f"local drill at the default scale, disaster to handover (median of {runs})"),
        Result("overhead.drill_work_s", round(work, 3), "s", None,
               f"critical path of the steps' measured durations: {' > '.join(path)}"),
        Result("overhead.share_of_rto", round((rto - work) / rto, 4), "ratio", "< 0.05",
               f"(RTO - work) / RTO: {1000 * (rto - work):.0f} ms of scheduling, journaling and evidence"),
    ]
