"""Crash and resume: `drctl drill --local` killed with SIGKILL, then `drctl resume RUN`.

Kill points (full run): every step boundary of the plan (right after each step's success is
journaled, and after run_finished, before the report), seeded random moments inside the steps
that take measurable time (a delay drawn below the step's duration in a baseline drill, counted
from its journaled start), and seeded moments in the prelude (staging the disaster). The quick
run (CI) takes one point of each kind plus the end of the run.

How a kill lands: steps and the end of the run through DRCTL_TEST_KILL_AT (orchestrator/
crashpoint.py), with which drctl SIGKILLs itself at the exact journal transition or on a timer
started by it: local steps last milliseconds, too short for a timer here to hit one by watching
stderr. The prelude lasts seconds and has no journal, so the suite kills it from outside after a
seeded delay from the `run:` line. Either way it is SIGKILL: nothing in drctl runs afterwards.

After a kill some journals are torn on purpose: the last record cut mid-line (a crash during its
write: that transition never took effect) or a partial next record appended. Then per case:
`drctl status` reads the journal (reporting the torn line); `drctl resume` exits 0 and recovers;
both stores validate exactly; every step succeeds exactly once and none starts again after its
success; what was journaled before the kill is kept as it was; no emulator process is left.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from orchestrator.run.rundir import RunDir
from reliability.crash_support import (
    DRCTL_ENV_KILL,
    drctl,
    journal_records,
    running_at_end,
    start_drill,
    tear,
    wait_for,
)
from reliability.drctl import why_it_failed
from reliability.leftovers import cleanup_case, processes_of

SEED = 20260707
EXERCISED = ("lake", "postgres")
FULL_PRELUDE, FULL_INSIDE = 3, 10
MIN_FULL_POINTS = 30
# Two drills at once: each is one Python process at a time plus its emulators, so two keep two
# cores busy; more would only stretch every step (and the kills' timing) on a shared machine.
PARALLEL_CASES = 2
# postgres.rehydrate takes about a second on a busy machine but can finish in under 0.25 s on an
# idle one (a fresh CI clone missed once at 0.246 s); the kill must land inside it, so it comes
# early: pg_verifybackup's check of the base backups and copying one into the data directory take
# longer than this.
QUICK_INSIDE_MIN_S, QUICK_INSIDE_MAX_S = 0.01, 0.06


@dataclass
class Point:
    where: str  # "prelude", "boundary" or "inside"
    kill_at: str | None  # the DRCTL_TEST_KILL_AT value; None: killed from outside after delay_s
    delay_s: float = 0.0
    tear: str | None = None  # "cut" (last record cut mid-line) or "partial" (a partial record appended)

    @property
    def label(self) -> str:
        return self.kill_at or f"prelude+{self.delay_s:.2f}s"


def quick_points(rng: random.Random) -> list[Point]:
    return [Point("prelude", None, round(rng.uniform(0.5, 3.0), 2)),
            Point("boundary", "lake.rehydrate:end", tear="cut"),
            Point("inside", f"postgres.rehydrate:{rng.uniform(QUICK_INSIDE_MIN_S, QUICK_INSIDE_MAX_S):.3f}", tear="partial"),
            Point("boundary", "run:end")]


def full_points(rng: random.Random, steps: list[str], durations: dict[str, float], prelude_s: float) -> list[Point]:
    points = [Point("prelude", None, round(rng.uniform(0.5, max(1.0, 0.9 * prelude_s)), 2))
              for _ in range(FULL_PRELUDE)]
    points += [Point("boundary", f"{step}:end") for step in steps] + [Point("boundary", "run:end")]
    timed = sorted(step for step in steps if durations.get(step, 0.0) >= 0.05)
    for _ in range(FULL_INSIDE):
        step = rng.choice(timed)
        # In the first half: the same step may run faster than in the baseline (a lighter load).
        points.append(Point("inside", f"{step}:{rng.uniform(0.0, 0.5 * durations[step]):.3f}"))
    # A quarter of the journaled points get a torn journal, alternating the two kinds of tear.
    for n, point in enumerate(p for p in points if p.where != "prelude"):
        if n % 4 == 1:
            point.tear = "cut" if n % 8 == 1 else "partial"
    return points


def baseline(workdir: Path) -> tuple[list[str], dict[str, float], float]:
    """A drill straight through: the plan's steps, each step's duration, and the prelude's."""
    proc = start_drill(workdir, env={})
    code = proc.wait(timeout=300)
    run_dir = Path(proc.stderr_text().splitlines()[0].removeprefix("run: "))
    if code != 0:
        raise RuntimeError(f"the baseline drill failed ({code}): {proc.stderr_text()[-2000:]}")
    steps = [step["id"] for step in json.loads(RunDir(run_dir).plan_json.read_text())["steps"]]
    durations = {r["step"]: float(r.get("duration_s") or 0) for r in journal_records(run_dir)[0]
                 if r["event"] == "step_succeeded"}
    prelude_s = RunDir(run_dir).prelude_json.stat().st_mtime - RunDir(run_dir).run_json.stat().st_mtime
    cleanup_case(workdir)
    return steps, durations, prelude_s


def run_case(point: Point, case_dir: Path) -> dict:
    case = {"point": point.label, "where": point.where, "killed": False, "ok": False, "problems": [],
            "torn": None, "reruns": 0, "exact": False, "leftover": 0}
    problems = case["problems"]
    try:
        proc = start_drill(case_dir, env={DRCTL_ENV_KILL: point.kill_at} if point.kill_at else {})
        run_dir = Path(wait_for(proc, lambda text: text.startswith("run: ")).splitlines()[0].removeprefix("run: "))
        if point.kill_at is None:
            time.sleep(point.delay_s)
            proc.kill()
        code = proc.wait(timeout=300)
        case["killed"] = code == -signal.SIGKILL
        if not case["killed"]:
            # Exit 0: the drill ended before the timer fired, a miss of the harness, not a failure of
            # drctl; counted apart. Anything else is a failure.
            case["missed"] = code == 0
            if not case["missed"]:
                problems.append(f"the drill was neither killed nor recovered: exit {code}")
            return case
        _check_resume(point, run_dir, case)
    except Exception as exc:  # a case that breaks the harness is a failed case, not a dead suite
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        case["leftover"] = cleanup_case(case_dir)  # what the case left running, killed now
    case["ok"] = case["killed"] and not problems
    return case


def _check_resume(point: Point, run_dir: Path, case: dict) -> None:
    problems = case["problems"]
    has_journal = RunDir(run_dir).journal.is_file()
    case["landed"] = "prelude" if not RunDir(run_dir).prelude_json.exists() else sorted(running_at_end(run_dir))
    if point.where == "inside":
        case["landed_inside"] = point.kill_at.rpartition(":")[0] in case["landed"]
    if has_journal:
        if point.tear:
            tear(RunDir(run_dir).journal, point.tear)
            case["torn"] = point.tear
        elif not RunDir(run_dir).journal.read_bytes().endswith(b"\n"):
            case["torn"] = "by the kill"
        before, torn = journal_records(run_dir)
        if bool(torn) != bool(case["torn"]):
            problems.append(f"torn tail {torn!r} but expected {case['torn']!r}")
        if case["torn"]:  # only then: each drctl process costs CI seconds, and resume reads it anyway
            status = drctl("status", str(run_dir), "--json")
            if status.returncode != 0:
                problems.append(f"drctl status failed ({status.returncode}): {status.stderr.strip()[-300:]}")
            elif len(json.loads(status.stdout)["torn_lines"]) != 1:
                problems.append("drctl status did not report the torn line")
    else:
        before = []
    resume = drctl("resume", str(run_dir), "--json")
    if resume.returncode != 0 or "Traceback" in resume.stderr:
        problems.append(f"resume exited {resume.returncode}: {why_it_failed(resume.stderr)}")
        return
    summary = json.loads(resume.stdout)
    if resume.stderr.splitlines()[0] != f"run: {run_dir}":
        problems.append(f"the resume's first stderr line is not `run: {run_dir}`")
    # The killed drill left its stack lease behind (a SIGKILL releases nothing): the resume must take
    # it over, its holder being dead, and release it at the end.
    case["lease_taken_over"] = "lease: took stack secondary's lease from run" in resume.stderr
    if not case["lease_taken_over"] or (run_dir.parents[2] / "leases" / "secondary.json").exists():
        problems.append("the killed drill's lease was not taken over by the resume, or not released after it")
    components = {c["name"]: c for c in summary["components"]}
    if summary["outcome"] != "recovered" or summary["rpo_s_after_replay"] != 0:
        problems.append(f"outcome {summary['outcome']}, RPO after replay {summary['rpo_s_after_replay']}")
    after, torn_after = journal_records(run_dir)
    if torn_after:
        problems.append("the journal still has a torn line after the resume")
    if after[: len(before)] != before:
        problems.append("the resume rewrote what was journaled before the kill")
    if case["torn"] and not any(r["event"] == "run_resumed" and r.get("torn_lines") for r in after):
        problems.append("the resume did not record the torn line it cut")
    case["reruns"], step_problems = _step_history(after, json.loads(RunDir(run_dir).plan_json.read_text()))
    problems.extend(step_problems)
    done = {r["step"]: r for r in after if r["event"] == "step_succeeded"}
    case["exact"] = all(components.get(s, {}).get("validation") == "exact"
                        and (done.get(f"{s}.validate") or {}).get("evidence", {}).get("exact") is True
                        for s in EXERCISED)
    if not case["exact"]:
        problems.append("validation not exact: " + ", ".join(f"{s}={components.get(s, {}).get('validation')}"
                                                             for s in EXERCISED))
    left = processes_of(run_dir.parents[2])
    if left:
        problems.append(f"{len(left)} processes left running after the resume")


def _step_history(events: list[dict], plan: dict) -> tuple[int, list[str]]:
    """Steps started again after their success (the figure that must be 0), and what else is wrong."""
    problems, succeeded_at, reruns = [], {}, set()
    for n, record in enumerate(events):
        step = record.get("step")
        if record["event"] == "step_succeeded":
            if step in succeeded_at:
                problems.append(f"{step} succeeded twice")
            succeeded_at[step] = n
        elif record["event"] == "step_started" and step in succeeded_at:
            reruns.add(step)
    if reruns:
        problems.append(f"started again after succeeding: {', '.join(sorted(reruns))}")
    missing = {s["id"] for s in plan["steps"]} - set(succeeded_at)
    if missing:
        problems.append(f"never succeeded: {', '.join(sorted(missing))}")
    if not events or events[-1]["event"] != "run_finished" or events[-1].get("outcome") != "recovered":
        problems.append("the journal does not end with run_finished recovered")
    return len(reruns), problems


def _timed_case(n: int, point: Point, total: int, workdir: Path) -> dict:
    started = time.monotonic()
    case = run_case(point, workdir / f"case-{n:02d}")
    case["duration_s"] = round(time.monotonic() - started, 1)
    print(f"crash {n}/{total} {point.label}{' torn:' + case['torn'] if case['torn'] else ''}: "
          f"{'ok' if case['ok'] else 'missed' if case.get('missed') else 'FAILED'} in {case['duration_s']}s",
          file=sys.stderr, flush=True)
    return case


def run(full: bool, workdir: Path) -> dict:
    rng = random.Random(SEED)
    notes = [f"seed {SEED}"]
    if full:
        steps, durations, prelude_s = baseline(workdir / "baseline")
        points = full_points(rng, steps, durations, prelude_s)
        notes.append(f"plan of {len(steps)} steps; prelude {prelude_s:.1f}s in the baseline drill")
    else:
        points = quick_points(rng)
    cases = list(ThreadPoolExecutor(PARALLEL_CASES).map(
        lambda numbered: _timed_case(*numbered, len(points), workdir), enumerate(points, start=1)))
    notes += [f"{c['point']}: " + "; ".join(c["problems"]) for c in cases if c["problems"]]
    notes += [f"{c['point']}: missed, the drill ended before the kill" for c in cases if c.get("missed")]
    killed = [c for c in cases if c["killed"]]
    torn = [c for c in killed if c["torn"]]
    inside = [c for c in killed if c["where"] == "inside"]
    figures = {
        "kill points": len(killed),
        "kill points at step boundaries": sum(c["where"] == "boundary" for c in killed),
        "kill points inside steps": len(inside),
        "inside kills that landed while the step ran": sum(bool(c.get("landed_inside")) for c in inside),
        "kill points in the prelude": sum(c["where"] == "prelude" for c in killed),
        "kills missed (the drill ended first)": sum(bool(c.get("missed")) for c in cases),
        "resumed ok": sum(c["ok"] for c in killed),
        "steps re-run after success": sum(c["reruns"] for c in cases),
        "torn journals injected": sum(c["torn"] in ("cut", "partial") for c in torn),
        "torn journals by the kill itself": sum(c["torn"] == "by the kill" for c in torn),
        "torn journals handled": sum(c["ok"] for c in torn),
        "exact validations": sum(c["exact"] for c in cases),
        "stale leases taken over by the resume": sum(bool(c.get("lease_taken_over")) for c in cases),
        "processes left after resume": sum(c["leftover"] for c in cases),
    }
    passed = (all(c["ok"] or (c.get("missed") and not c["problems"]) for c in cases)
              and len(killed) >= (MIN_FULL_POINTS if full else len(points)) and figures["steps re-run after success"] == 0)
    return {"suite": "crash", "figures": figures, "outcome": "passed" if passed else "failed", "notes": notes,
            "cases": cases}
