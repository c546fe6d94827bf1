"""Corrupt or missing backups: `drctl drill --local --corrupt-latest-backup STORE[:HOW]`.

The drill's prelude takes two backup generations per store (g001 at batch 3, g002 at batch 5;
batches 6 to 8 come after, orchestrator/targets/local/prelude.py) and then damages what the case
names. Per case, as a user runs it (a separate drctl process against the real emulators):

- a damaged newest generation is found before anything is restored (pg_verifybackup for a
  PostgreSQL base backup; its snapshots' listing for the lake), skipped with the generation and
  the reason in the rehydrate step's evidence, and the older good one is restored;
- the lake is restored to that generation's watermark. PostgreSQL replays its WAL archive after the
  base backup, so falling back to an older base backup costs it no data: it reaches the batch the
  rehydrate step names (`restored_batch`), at least the newest generation's watermark, whichever
  base backup it started from;
- validation is exact at the watermark restored;
- the RPO before replay is the data age of that watermark (source's newest data end minus its data
  end), computed here from the prelude's constants; replay starts from it and brings the RPO to 0;
- with no good generation at all the step fails permanently (one attempt) naming each generation
  and why, its dependents are skipped, the other store still recovers exactly, the run ends
  partial with exit 1;
- no process is left running.

The same cases run in CI and in the full run: they are few, and each is one drill.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.prelude import BATCH_INTERVAL_S, BATCHES_AFTER_BACKUP, GENERATIONS_AT_BATCHES
from reliability.drctl import DRCTL
from reliability.leftovers import leftover_problems

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300
STORES = ("lake", "postgres")
OLDER, NEWEST = "g001", "g002"
# the watermark (last batch) of each generation, and the source's newest batch at the disaster
WATERMARKS = {f"g{n + 1:03d}": at - 1 for n, at in enumerate(GENERATIONS_AT_BATCHES)}
LATEST = GENERATIONS_AT_BATCHES[-1] + BATCHES_AFTER_BACKUP - 1
# what the skipped generation's reason must say, per damage
REASONS = {("postgres", "corrupt"): "is corrupt: pg_verifybackup", ("postgres", "missing"): "is missing",
           ("lake", "corrupt"): "blob snapshots missing", ("lake", "missing"): "blob snapshots missing"}


@dataclass(frozen=True)
class Case:
    name: str
    spec: str | None  # the --corrupt-latest-backup value
    damaged: tuple[str, ...]  # stores whose newest generation is bad
    how: str = "corrupt"
    every_generation: bool = False  # no good generation: the store fails permanently

    def restored(self, store: str) -> str | None:
        if store not in self.damaged:
            return NEWEST
        return None if self.every_generation else OLDER


CASES = (
    Case("control (no damage)", None, ()),
    Case("latest postgres base backup corrupt", "postgres", ("postgres",)),
    Case("latest postgres base backup missing", "postgres:missing", ("postgres",), how="missing"),
    Case("latest lake generation lost blobs", "lake", ("lake",)),
    Case("latest of both stores damaged", "all", STORES),
    Case("every postgres generation corrupt", "postgres:every-generation", ("postgres",), every_generation=True),
)


def data_age_s(generation: str) -> float:
    """The RPO of a store restored to `generation`'s watermark: the batches it lacks, in simulated time."""
    return age_of(WATERMARKS[generation])


def age_of(watermark: int) -> float:
    return float((LATEST - watermark) * BATCH_INTERVAL_S)


def restored_watermark(store: str, generation: str, outputs: dict) -> int | None:
    """The watermark `store` must be at once rehydrated from `generation`: the generation's for the
    lake; for PostgreSQL the batch its WAL replay reached, which must lie between the newest
    generation's watermark (the archive holds at least that) and the source's newest batch."""
    if store != "postgres":
        return WATERMARKS[generation]
    reached = outputs.get("restored_batch")
    return reached if isinstance(reached, int) and WATERMARKS[NEWEST] <= reached <= LATEST else None


def run(full: bool, workdir: Path) -> dict:
    results = [run_case(case, Path(workdir) / f"case-{n}") for n, case in enumerate(CASES)]
    figures: dict[str, object] = {"cases": len(results), "cases passed": sum(not r["problems"] for r in results)}
    for result in results:
        figures.update({f"{result['case']}: {key}": value for key, value in result["figures"].items()})
    notes = [f"{r['case']}: {problem}" for r in results for problem in r["problems"]]
    notes += ["The lake's generations are blob snapshots of its geo copy; a snapshot cannot be rewritten, so the "
              "lake's damage is loss (snapshots deleted), checked from listings (names, sizes, Content-MD5)."]
    return {"suite": "backups", "figures": figures,
            "outcome": "passed" if all(not r["problems"] for r in results) else "failed", "notes": notes}


def run_case(case: Case, workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    args = [*DRCTL, "drill", "--local", "--json", "--workdir", str(workdir)]
    if case.spec:
        args += ["--corrupt-latest-backup", case.spec]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}, "NO_COLOR": "1"}
    started = time.monotonic()
    try:
        proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"case": case.name, "figures": {"outcome": "timed out"},
                "problems": [f"no answer within {TIMEOUT_S}s", *leftover_problems(workdir)]}
    duration = round(time.monotonic() - started, 1)
    try:
        summary = json.loads(proc.stdout)
        run_dir = Path(summary["run_dir"])
        evidence = {p.stem: json.loads(p.read_text()) for p in RunDir(run_dir).evidence.glob("*.json")}
        prelude = json.loads(RunDir(run_dir).prelude_json.read_text())
    except (ValueError, KeyError, OSError) as exc:
        return {"case": case.name, "figures": {"outcome": f"exit {proc.returncode}, no summary"},
                "problems": [f"unreadable run: {exc}; stderr: {proc.stderr[-800:]}", *leftover_problems(workdir)]}
    problems = check(case, proc.returncode, proc.stderr, summary, evidence, prelude) + leftover_problems(workdir)
    return {"case": case.name, "figures": figures_of(case, summary, evidence, duration), "problems": problems}


def figures_of(case: Case, summary: dict, evidence: dict[str, dict], duration_s: float) -> dict:
    restored = []
    for store in STORES:
        record = evidence.get(f"{store}.rehydrate") or {}
        generation = (record.get("outputs") or {}).get("backup_generation")
        restored.append(f"{store} {generation or 'none (' + str(record.get('state')) + ')'}")
    return {"outcome": summary.get("outcome"), "restored": ", ".join(restored),
            "rpo before replay (s)": summary.get("rpo_s_before_replay"),
            "rpo after replay (s)": summary.get("rpo_s_after_replay"),
            "validation": ", ".join(f"{c['name']} {c['validation']}" for c in summary.get("components", [])
                                    if c["name"] in STORES),
            "duration (s)": duration_s}


def check(case: Case, code: int, stderr: str, summary: dict, evidence: dict[str, dict], prelude: dict) -> list[str]:
    """Every way the case can be wrong, as one line each (empty: it passed)."""
    problems = []
    partial = case.every_generation
    if code != (1 if partial else 0):
        problems.append(f"exit {code}, expected {1 if partial else 0}")
    if "Traceback" in stderr:
        problems.append("a traceback on stderr")
    if summary.get("outcome") != ("partial" if partial else "recovered"):
        problems.append(f"outcome {summary.get('outcome')}")
    damaged = {(d.get("store"), d.get("generation")) for d in (prelude.get("backup") or {}).get("damaged", [])}
    want_damaged = {(s, g) for s in case.damaged for g in ((NEWEST, OLDER) if case.every_generation else (NEWEST,))}
    if damaged != want_damaged:
        problems.append(f"the prelude damaged {sorted(damaged)}, expected {sorted(want_damaged)}")
    for store in STORES:
        problems += [f"{store}: {p}" for p in _check_store(case, store, evidence, prelude)]
    restored = {s: case.restored(s) for s in STORES}
    marks = [restored_watermark(s, g, (evidence.get(f"{s}.rehydrate") or {}).get("outputs") or {})
             for s, g in restored.items() if g]
    if not partial and None not in marks:
        want_rpo = max(age_of(m) for m in marks if m is not None)
        if summary.get("rpo_s_before_replay") != want_rpo:
            problems.append(f"reported RPO before replay {summary.get('rpo_s_before_replay')}, expected {want_rpo}")
        if summary.get("rpo_s_after_replay") != 0:
            problems.append(f"reported RPO after replay {summary.get('rpo_s_after_replay')}, expected 0")
    return problems


def _check_store(case: Case, store: str, evidence: dict[str, dict], prelude: dict) -> list[str]:
    rehydrate = evidence.get(f"{store}.rehydrate") or {}
    checked = (rehydrate.get("evidence") or {}).get("backup_generations_checked") or []
    verdicts = {c.get("generation"): c for c in checked}
    problems = []
    if store in case.damaged:
        bad = verdicts.get(NEWEST) or {}
        expect = REASONS[(store, case.how)]
        if bad.get("good") is not False or expect not in str(bad.get("reason")):
            problems.append(f"{NEWEST} not skipped for {expect!r}: {bad}")
    want = case.restored(store)
    if want is None:  # no good generation: a permanent failure naming each one, nothing restored
        error = str(rehydrate.get("error") or "")
        if rehydrate.get("state") != "failed" or rehydrate.get("attempts") != 1:
            problems.append(f"rehydrate {rehydrate.get('state')} after {rehydrate.get('attempts')} attempt(s), "
                            "expected one failed attempt")
        for generation in (NEWEST, OLDER):
            if f"{generation}: " not in error or verdicts.get(generation, {}).get("good") is not False:
                problems.append(f"the failure does not name {generation} and why: {error[:300]}")
        if "method" in (rehydrate.get("evidence") or {}):
            problems.append("a restore ran although no generation was good")
        for kind in ("validate", "replay", "smoke"):
            if (evidence.get(f"{store}.{kind}") or {}).get("state") != "skipped":
                problems.append(f"{store}.{kind} not skipped")
        return problems
    outputs = rehydrate.get("outputs") or {}
    if outputs.get("backup_generation") != want or (want == OLDER and verdicts.get(OLDER, {}).get("good") is not True):
        problems.append(f"restored {outputs.get('backup_generation')}, expected {want}")
    mark = restored_watermark(store, want, outputs)
    if mark is None:
        return [*problems, f"restored to batch {outputs.get('restored_batch')}, expected {WATERMARKS[NEWEST]} "
                           f"to {LATEST} (the WAL archive after {want}'s base backup)"]
    if outputs.get("watermark") != mark:
        problems.append(f"recovered watermark {outputs.get('watermark')}, expected {mark}")
    recorded = next((g for g in (prelude.get("backup") or {}).get("generations", []) if g["generation"] == want), {})
    if (recorded.get("stores") or {}).get(store, {}).get("watermark") != WATERMARKS[want]:
        problems.append(f"the prelude recorded {want} at {recorded}, expected watermark {WATERMARKS[want]}")
    validate = evidence.get(f"{store}.validate") or {}
    detail = validate.get("evidence") or {}
    if validate.get("state") != "succeeded" or detail.get("exact") is not True \
            or (detail.get("watermark") or {}).get("expected") != mark:
        problems.append(f"validation not exact at watermark {mark}: {detail.get('mismatches')} "
                        f"{detail.get('watermark')}")
    replay = evidence.get(f"{store}.replay") or {}
    out, replayed = replay.get("outputs") or {}, replay.get("evidence") or {}
    if out.get("rpo_before_replay_s") != age_of(mark):
        problems.append(f"RPO before replay {out.get('rpo_before_replay_s')}, expected {age_of(mark)} "
                        f"(batch {mark}'s data age)")
    if out.get("rpo_after_replay_s") != 0 or replayed.get("from_watermark") != mark \
            or out.get("batches_replayed") != LATEST - mark:
        problems.append(f"replay from {replayed.get('from_watermark')} ({out.get('batches_replayed')} batches) "
                        f"to RPO {out.get('rpo_after_replay_s')}, expected from {mark} to 0")
    return problems
