"""Record drctl's observable behaviour in a checkout, normalised so two checkouts can be compared
(`diff -r`): before and after a change that must not change behaviour (a move, a refactoring).

    python3 tools/record_behaviour.py CHECKOUT OUTDIR [--only offline|runs]

CHECKOUT is a checkout with its own .venv (./dev setup). Offline: coverage, posture, preview, plan
(no history) and runbook of the three stacks. Runs (about five minutes): a local drill, one with
--with-fallback, a fault-injected one (rate 0.2, seed 7), one killed by SIGKILL after
lake.validate and resumed, and a local rehearsal; for each, the JSON summary, the run directory's
file list, report.json, plan.json, run.json, junit.xml's cases, the journal's final states, the
report's Markdown, the evidence files' keys, `drctl status` and `drctl verify-evidence`.
Timestamps, run ids, ports, durations and temporary paths are normalised away; what still differs
between two runs of the same code is timing noise (a fallback's rpo_s_before_replay).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

if __name__ == "__main__":
    checkout, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    only = sys.argv[4] if len(sys.argv) > 3 and sys.argv[3] == "--only" else None
    out.mkdir(parents=True, exist_ok=True)
    DRCTL = str(checkout / ".venv/bin/drctl")
STACKS = ("primary", "secondary", "reference")

TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
TSC = re.compile(r"\d{8}T\d{6}Z")
RUNID = re.compile(r"(drill|failover|fallback|rehearse|rehearsal)-\d{8}T\d{6}Z-[0-9a-f]{6}")
HEX6 = re.compile(r"-[0-9a-f]{6}\b")
PORT = re.compile(r"127\.0\.0\.1:\d+")
TMP = re.compile(r"/tmp/rec-[A-Za-z0-9_.-]+")
CLOCK = re.compile(r"\b\d{2}:\d{2}:\d{2}\b")
DUR = re.compile(r"\b\d+(\.\d+)?\s?(s|ms)\b")
RATIO = re.compile(r"\b\d[\d.]*(e-\d+)?x\b")
FLOATRE = re.compile(r"\b\d+\.\d+\b")
KEEP_NUM = re.compile(r"rpo|estimate|target|count|rows|blobs|bytes|batches|watermark|scale|workers|priority|partitions|seconds_per|ttl")


def norm_text(s):
    s = RUNID.sub("<RUN>", s)
    s = TMP.sub("<TMP>", s)
    s = TS.sub("<TS>", s)
    s = TSC.sub("<TS>", s)
    s = PORT.sub("127.0.0.1:<PORT>", s)
    return s


def norm(v, key=""):
    if isinstance(v, dict):
        return {norm_text(str(k)): norm(x, str(k)) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, list):
        return [norm(x, key) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        k = key.lower()
        if "port" in k or "pid" in k:
            return "<N>"
        if isinstance(v, float) and not KEEP_NUM.search(k):
            return "<F>"
        if re.search(r"(_at|time|elapsed|duration|_ms|started|finished|rto_s|took)", k) and not KEEP_NUM.search(k):
            return "<N>"
        return v
    if isinstance(v, str):
        return norm_text(v)
    return v


def dump(name, obj):
    (out / name).write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def run(args, cwd=None, env=None, timeout=900):
    e = dict(os.environ, **(env or {}))
    p = subprocess.run([DRCTL, *args], cwd=cwd or checkout, capture_output=True, text=True, env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def offline():
    for stack in STACKS:
        for verb, extra in (("coverage", ["--json"]), ("posture", ["--json"]), ("preview", ["--json"]),
                            ("plan", ["--json", "--history-from", "none"]), ("runbook", ["--history-from", "none"])):
            wd = tempfile.mkdtemp(prefix="rec-offline-")
            if verb in ("plan", "runbook"):
                extra = [*extra, "--workdir", wd]
            rc, so, se = run([verb, "--stack", stack, *extra])
            try:
                body = norm(json.loads(so))
            except json.JSONDecodeError:
                body = norm_text(so)
            dump(f"offline.{verb}.{stack}.json", {"rc": rc, "stdout": body, "stderr": norm_text(se).splitlines()[-3:]})
            shutil.rmtree(wd, ignore_errors=True)
    rc, so, se = run(["posture", "--json"])
    dump("offline.posture.none.json", {"rc": rc, "stdout": norm(json.loads(so)) if rc == 0 else so})


def run_dir_facts(name, run_dir):
    rd = Path(run_dir)
    facts = {"files": sorted(norm_text(str(p.relative_to(rd))) for p in rd.rglob("*") if p.is_file())}
    for f in ("report.json", "plan.json", "run.json"):
        if (rd / f).exists():
            facts[f] = norm(json.loads((rd / f).read_text()))
    if (rd / "junit.xml").exists():
        root = ET.parse(rd / "junit.xml").getroot()
        cases = []
        for tc in root.iter("testcase"):
            res = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
            cases.append([tc.get("classname"), tc.get("name"), res[0] if res else "passed"])
        facts["junit"] = sorted(cases)
    if (rd / "journal.jsonl").exists():
        final = {}
        events = []
        for line in (rd / "journal.jsonl").read_text().splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            events.append(e.get("event"))
            if e.get("step"):
                final[e["step"]] = e.get("event")
        facts["journal_final"] = dict(sorted(final.items()))
        facts["journal_event_counts"] = {k: events.count(k) for k in sorted(set(map(str, events)))}
    if (rd / "report.md").exists():
        md = norm_text((rd / "report.md").read_text())
        md = CLOCK.sub("<CLOCK>", md)
        md = DUR.sub("<DUR>", md)
        md = RATIO.sub("<RATIO>", md)
        facts["report.md"] = md.splitlines()
    ev = rd / "evidence"
    if ev.is_dir():
        facts["evidence_keys"] = {}
        for p in sorted(ev.glob("*.json")):
            try:
                d = json.loads(p.read_text())
            except Exception:
                continue
            facts["evidence_keys"][p.name] = sorted(d) if isinstance(d, dict) else type(d).__name__
    rc, so, se = run(["status", str(rd), "--json"])
    facts["status"] = {"rc": rc, "json": norm(json.loads(so)) if so.strip().startswith("{") else norm_text(so)}
    rc, so, se = run(["verify-evidence", str(rd)])
    facts["verify"] = {"rc": rc, "out": norm_text(so + se).splitlines()[:3]}
    dump(f"run.{name}.facts.json", facts)


def drill(name, args, env=None):
    wd = f"/tmp/rec-{name}"
    shutil.rmtree(wd, ignore_errors=True)
    rc, so, se = run(["drill", "--local", "--json", "--workdir", wd, *args], env=env)
    body = json.loads(so) if so.strip().startswith("{") else None
    dump(f"run.{name}.stdout.json", {"rc": rc, "stdout": norm(body) if body else norm_text(so),
                                      "stderr_first": norm_text(se.splitlines()[0]) if se else ""})
    first = se.splitlines()[0] if se else ""
    run_dir = first.removeprefix("run: ").strip()
    return rc, run_dir, wd


def runs():
    rc, rd, _ = drill("drill", [])
    run_dir_facts("drill", rd)
    rc, rd, wd = drill("fallback", ["--with-fallback"])
    run_dir_facts("fallback", rd)
    # the fallback's own run directory
    for p in sorted(Path(wd, "runs").glob("*/*")):
        if p != Path(rd) and p.is_dir():
            run_dir_facts("fallback.back", p)
    rc, rd, _ = drill("faults", ["--inject-faults", "0.2", "--fault-seed", "7"])
    run_dir_facts("faults", rd)
    if (Path(rd) / "faults.json").exists():
        dump("run.faults.faultsjson.json", norm(json.loads((Path(rd) / "faults.json").read_text())))
    # killed drill, then resume
    rc, rd, wd = drill("killed", [], env={"DRCTL_TEST_KILL_AT": "lake.validate:end"})
    dump("run.killed.rc.json", {"rc": rc})
    # The emulators outlive a killed drctl; stop them as a machine restart would: resume starts them again.
    subprocess.run(["pkill", "-f", wd], check=False)
    rc2, so, _ = run(["resume", rd, "--json", "--workdir", wd])
    dump("run.resumed.stdout.json", {"rc": rc2, "stdout": norm(json.loads(so)) if so.strip().startswith("{") else norm_text(so)})
    run_dir_facts("resumed", rd)
    wd = "/tmp/rec-rehearse"
    shutil.rmtree(wd, ignore_errors=True)
    rc, so, _se = run(["rehearse", "--local", "--json", "--workdir", wd])
    dump("run.rehearse.stdout.json", {"rc": rc, "stdout": norm(json.loads(so)) if so.strip().startswith("{") else norm_text(so)})
    for p in sorted(Path(wd, "runs").glob("*/*")):
        if p.is_dir():
            run_dir_facts("rehearse", p)


if __name__ == "__main__":
    if only in (None, "offline"):
        offline()
    if only in (None, "runs"):
        runs()
    print("recorded", out)
