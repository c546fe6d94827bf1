"""Fault injection: local drills at a 20% fault rate, every one recovered with exact validation.

Each drill is `drctl drill --local --inject-faults 0.2 --fault-seed N` (all four kinds), run
in-process through orchestrator/verbs/drill.py's run_local_drill at scale 1, in a fresh mkdtemp
workdir (not pytest's tmp_path: PostgreSQL runs as another system user and must reach it).
Seeds 1..20 in the full run, 1..3 in the quick one. Per drill the suite checks, from the run
directory rather than drctl's summary alone:

- the outcome is `recovered`, and both stores' validate steps succeeded with `exact` evidence;
- faults were injected (report.json "faults", the same counts as faults.json);
- every step's retries are in its evidence/<step>.json (`retries`, one per failed attempt, as
  many as the journal's step_retrying events), `attempts` is retries + 1 and never above the
  engine's bound (orchestrator/engine/retry.py RetryPolicy.max_attempts), and a retry after a throttled
  attempt waited what its Retry-After asked;
- no process is left running in the drill's workdir.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from orchestrator.data.faults import KINDS, RETRY_AFTER_S, FaultSettings
from orchestrator.engine.retry import RetryPolicy
from orchestrator.run.rundir import RunDir
from orchestrator.stack import load_stack
from reliability.leftovers import leftover_problems

REPO = Path(__file__).resolve().parents[1]
RATE = 0.2
FULL_DRILLS, QUICK_DRILLS = 20, 3
VALIDATED = ("lake.validate", "postgres.validate")


def run(full: bool, workdir: Path) -> dict:
    seeds = range(1, (FULL_DRILLS if full else QUICK_DRILLS) + 1)
    started = time.monotonic()
    results = [run_drill(seed) for seed in seeds]
    by_kind = Counter()
    for result in results:
        by_kind.update(result["faults"].get("by_kind", {}))
    retries_per_step = [n for r in results for n in r["retries_by_step"].values()]
    figures = {
        "drills": len(results),
        "recovered, validation exact": sum(not r["problems"] for r in results),
        "fault rate": RATE,
        "calls (blob requests and database connections)": sum(r["faults"].get("calls", 0) for r in results),
        "faults injected": sum(by_kind.values()),
        **{f"faults injected: {kind}": by_kind[kind] for kind in KINDS},
        "step retries": sum(retries_per_step),
        "step retries, most in one step": max(retries_per_step, default=0),
        "attempts, most of one step": max((r["max_attempts"] for r in results), default=0),
        "attempts allowed per step": RetryPolicy().max_attempts,
        "duration (s)": round(time.monotonic() - started, 1),
        "slowest drill (s)": max((r["duration_s"] for r in results), default=0),
    }
    notes = [f"seed {r['seed']}: {r['outcome']} in {r['duration_s']}s, {r['faults'].get('injected', 0)} faults "
             f"in {r['faults'].get('calls', 0)} calls ({_kinds(r['faults'])}), step retries {_retries(r)}"
             for r in results]
    notes += [f"seed {r['seed']}: {problem}" for r in results for problem in r["problems"]]
    return {"suite": "faults", "figures": figures, "notes": notes,
            "outcome": "passed" if all(not r["problems"] for r in results) else "failed"}


def run_drill(seed: int) -> dict:
    from orchestrator.verbs.drill import run_local_drill

    workdir = Path(tempfile.mkdtemp(prefix=f"drctl-faults-{seed}-"))
    started = time.monotonic()
    result = {"seed": seed, "outcome": None, "faults": {}, "retries_by_step": {}, "max_attempts": 0, "problems": []}
    try:
        summary = run_local_drill(load_stack(REPO, "secondary"), load_stack(REPO, "primary"), workdir, scale=1,
                                  workers=4, inject_faults=FaultSettings(rate=RATE, seed=seed, kinds=KINDS))
        result["outcome"] = summary["outcome"]
        result.update(check_run(Path(summary["run_dir"])))
    except Exception as exc:
        result["problems"].append(f"the drill raised {type(exc).__name__}: {exc}")
    result["problems"] += leftover_problems(workdir)
    result["duration_s"] = round(time.monotonic() - started, 1)
    if result["problems"]:
        result["problems"].append(f"kept for investigation: {workdir}")
        print(f"suite faults: seed {seed} failed, kept {workdir}", file=sys.stderr, flush=True)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def check_run(run_dir: Path) -> dict:
    """What the run directory says about its faults and retries, and what is wrong with it."""
    problems = []
    report = json.loads(RunDir(run_dir).report_json.read_text())
    faults = report.get("faults") or {}
    if report["outcome"] != "recovered":
        failed = [f"{s['id']}: {s.get('error')}" for s in report.get("steps", []) if s.get("state") == "failed"]
        problems.append(f"outcome {report['outcome']}: " + "; ".join(failed)[:600])
    if faults != json.loads(RunDir(run_dir).faults_json.read_text()):
        problems.append("report.json's faults differ from faults.json")
    if not faults.get("injected"):
        problems.append("no fault was injected")
    evidence = {p.stem: json.loads(p.read_text()) for p in RunDir(run_dir).evidence.glob("*.json")}
    for step in VALIDATED:
        record = evidence.get(step) or {}
        if record.get("state") != "succeeded" or (record.get("evidence") or {}).get("exact") is not True:
            problems.append(f"{step}: not exact ({record.get('state')})")
    journaled = Counter(e["step"] for e in _journal(run_dir) if e["event"] == "step_retrying")
    bound = RetryPolicy().max_attempts
    retries_by_step, max_attempts = {}, 0
    for step, record in evidence.items():
        retries = record.get("retries", [])
        max_attempts = max(max_attempts, record.get("attempts") or 0)
        if retries:
            retries_by_step[step] = len(retries)
        if len(retries) != journaled.get(step, 0):
            problems.append(f"{step}: {len(retries)} retries in its evidence, {journaled.get(step, 0)} journaled")
        if record.get("state") == "succeeded" and record.get("attempts") != len(retries) + 1:
            problems.append(f"{step}: {record.get('attempts')} attempts for {len(retries)} retries")
        if (record.get("attempts") or 0) > bound:
            problems.append(f"{step}: {record['attempts']} attempts, above the bound of {bound}")
        for retry in retries:
            if "throttled" in retry["error"] and retry["delay_s"] != RETRY_AFTER_S:
                problems.append(f"{step}: waited {retry['delay_s']}s after a throttle asking {RETRY_AFTER_S}s")
    if faults.get("retries_by_step") != retries_by_step:
        problems.append(f"report.json's retries_by_step {faults.get('retries_by_step')} != evidence {retries_by_step}")
    return {"faults": faults, "retries_by_step": retries_by_step, "max_attempts": max_attempts, "problems": problems}


def _journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in RunDir(run_dir).journal.read_text().splitlines() if line.strip()]


def _kinds(faults: dict) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in (faults.get("by_kind") or {}).items())


def _retries(result: dict) -> str:
    steps = result["retries_by_step"]
    return ", ".join(f"{step} {n}" for step, n in sorted(steps.items())) if steps else "none"
