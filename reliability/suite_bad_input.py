"""Bad input: invalid stack files, CLI invocations and damaged run directories.

Every case must end with exit code 2 and exactly one line on stderr that names the problem
(`drctl: ...`, no traceback), nothing on stdout, and nothing touched: the project and run
directory hash the same before and after, and no work directory appears.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestrator.run.rundir import RunDir
from reliability.drctl import DRCTL
from reliability.pytest_suite import run_test_files

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml", "pipelines", "kql", "dr")
STACK = "Pulumi.secondary.yaml"
NS = "dataplatform"
TOUCHED = "something was touched"


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]  # {project} and {run} are replaced by the case's folders
    expect: str  # a fragment of the one stderr line
    edit: Callable[[Path], None] | None = None  # changes the project copy (config cases)
    damage: Callable[[Path], None] | None = None  # changes the run directory (run-dir cases)


def _set(key: str, value: str) -> Callable[[Path], None]:
    """Set `<ns>:<key>` in the secondary stack file to a YAML value."""
    def edit(project: Path) -> None:
        path = project / STACK
        document = yaml.safe_load(path.read_text())
        document["config"][f"{NS}:{key}"] = yaml.safe_load(value)
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return edit


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text)


PLAN = ("plan", "--stack", "secondary", "--project-dir", "{project}")
CONFIG_CASES = [
    Case("unknown key", PLAN, "dataplatform:bogus", _set("bogus", "1")),
    Case("key with a line break", PLAN, "dataplatform:bo\\ngus: unknown key", _set("bo\ngus", "1")),
    Case("unknown region", PLAN, "unknown Azure region", _set("pairedRegion", "atlantis")),
    Case("public address space", PLAN, "private IPv4", _set("addressSpace", "8.8.8.0/22")),
    Case("address space not CIDR", PLAN, "addressSpace", _set("addressSpace", "10.20.0.0/33")),
    Case("overlapping address space", PLAN, "overlaps", _set("addressSpace", "10.10.0.0/16")),
    Case("prefix with capitals", PLAN, "prefix", _set("prefix", "Contoso")),
    Case("suffix equal to the pair's", PLAN, "nameSuffix", _set("nameSuffix", "aue")),
    Case("bad role", PLAN, "role", _set("role", "tertiary")),
    Case("paired stack missing", PLAN, "pairedStack", _set("pairedStack", "ghost")),
    Case("service toggle not boolean", PLAN, "services", _set("services", "{lake: 'yes please'}")),
    Case("RTO of zero", PLAN, "rtoMinutes", _set("recovery", "{rtoMinutes: 0}")),
    Case("PostgreSQL 9", PLAN, "version", _set("postgres", "{version: 9}")),
    Case("unknown lake redundancy", PLAN, "redundancy", _set("lake", "{redundancy: Standard_XRS}")),
    Case("unknown optional service", PLAN, "fooService", _set("services", "{fooService: true}")),
    Case("bad Data Explorer SKU", PLAN, "SKU", _set("dataExplorer", "{sku: Huge_X1}")),
    Case("unknown restore source", PLAN, "source", _set("restore", "{lake: {source: tape}}")),
    Case("unknown fallback strategy", PLAN, "secondaryStrategy", _set("fallback", "{secondaryStrategy: burn}")),
    Case("tag name with <", PLAN, "tag name", _set("foundation", "{tags: {'a<b': x}}")),
    Case("unknown SaaS entry", PLAN, "saas", _set("saas", "[nope]")),
    Case("YAML syntax error", PLAN, STACK, lambda p: (p / STACK).write_text("config: [unclosed\n")),
    Case("stack file is a list", PLAN, STACK, lambda p: (p / STACK).write_text("- a\n- b\n")),
    Case("empty stack file", PLAN, STACK, lambda p: (p / STACK).write_text("")),
    Case("YAML alias bomb outside config", PLAN, "aliases expand to more than", lambda p: _append(p, _bomb())),
    Case("invalid UTF-8", PLAN, "not valid UTF-8", lambda p: _append(p, "# caf\udce9\n")),
    Case("pipelinesDir absolute", PLAN, "dataFactory.pipelinesDir", _set("dataFactory", "{pipelinesDir: /usr}")),
    Case("pipelinesDir up and out", PLAN, "dataFactory.pipelinesDir", _set("dataFactory", "{pipelinesDir: ../..}")),
    Case("pipelinesDir through a symlink out", PLAN, "resolves outside the project", lambda p: _link_out(p)),
    Case("PostgreSQL database name of 300 characters", PLAN, "postgres.databases.0",
         _set("postgres", "{databases: [" + "p" * 300 + "]}")),
    Case("event hub name ending in '-'", PLAN, "eventHubs.hubs.0.name", _set("eventHubs", "{hubs: [{name: telemetry-}]}")),
]

CLI_CASES = [
    Case("plan without --stack", ("plan",), "--stack"),
    Case("stack name with a path", ("plan", "--stack", "../etc", "--project-dir", "{project}"), "unknown stack"),
    Case("drill without --local", ("drill",), "drill needs --local"),
    Case("drill scale 0", ("drill", "--local", "--scale", "0"), "--scale"),
    Case("drill workers 0", ("drill", "--local", "--workers", "0"), "--workers"),
    Case("parallel run without fallback", ("drill", "--local", "--parallel-run-s", "3"), "--with-fallback"),
    Case("recovery point without a timezone", ("drill", "--local", "--recovery-point", "2026-01-01T01:15:00"),
         "has no timezone"),
    Case("recovery point in the future", ("failover", "--dry-run", "--recovery-point", "2999-01-01T00:00:00Z",
                                          "--project-dir", "{project}"), "is in the future"),
    Case("recovery point not a time", ("drill", "--local", "--recovery-point", "last tuesday"),
         "is not an ISO 8601 time"),
    Case("approve a gate not reached", ("approve", "{run}", "platform.gate"), "is not reached yet"),
    Case("resume of no run", ("resume", "no-such-run", "--workdir", "{project}"), "RUN: no run directory"),
    Case("status of no run", ("status", "/nonexistent/run"), "RUN: no run directory"),
    Case("unknown verb", ("bogus-verb",), "No such command"),
    Case("coverage of no stack", ("coverage", "--stack", "nosuch", "--project-dir", "{project}"), "unknown stack"),
    Case("fallback to a secondary", ("fallback", "--stack", "secondary", "--dry-run", "--project-dir", "{project}"),
         "a fallback returns to a primary"),
    Case("--state-url on a dry run", ("failover", "--dry-run", "--state-url", "file:///tmp/state", "--project-dir",
                                      "{project}"), "--state-url: a dry run"),
]

RUN_CASES = [
    Case("run.json not JSON", ("resume", "{run}"), "run.json", damage=_write(RunDir.RUN, "{not json")),
    Case("run.json lacks keys", ("resume", "{run}"), "lacks", damage=_write(RunDir.RUN, '{"kind": "drill-local"}')),
    Case("plan.json missing", ("resume", "{run}"), "plan.json", damage=lambda r: RunDir(r).plan_json.unlink()),
    Case("plan with a cycle", ("resume", "{run}"), "cycle", damage=lambda r: _cycle(RunDir(r).plan_json)),
    Case("journal damaged mid-file", ("status", "{run}"), "journal damaged",
         damage=lambda r: _corrupt_line(RunDir(r).journal, 0)),
    Case("journal of another plan", ("resume", "{run}"), "another plan",
         damage=lambda r: _other_plan(RunDir(r).journal)),
    Case("approve a step that is no gate", ("approve", "{run}", "lake.deploy", "--by", "Ada"), "not a gate"),
    Case("verify an unsealed run", ("verify-evidence", "{run}"), "has no SHA256SUMS"),
]

CASES = CONFIG_CASES + CLI_CASES + RUN_CASES


def _append(project: Path, text: str) -> None:
    """Append `text` to the stack file; lone surrogates become the raw bytes they stand for."""
    with (project / STACK).open("ab") as handle:
        handle.write(text.encode("utf-8", "surrogateescape"))


def _bomb() -> str:
    """A "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded."""
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
    return "\n".join(lines) + "\n"


def _link_out(project: Path) -> None:
    """pipelinesDir names a folder in the project that is a symlink to one outside it."""
    outside = project.parent / "outside"
    outside.mkdir(exist_ok=True)
    (project / "linked").symlink_to(outside)
    _set("dataFactory", "{pipelinesDir: linked}")(project)


def _cycle(path: Path) -> None:
    plan = json.loads(path.read_text())
    plan["steps"][0]["depends_on"] = [plan["steps"][-1]["id"]]
    path.write_text(json.dumps(plan))


def _corrupt_line(path: Path, index: int) -> None:
    lines = path.read_text().splitlines()
    lines[index] = lines[index][: len(lines[index]) // 2]
    path.write_text("\n".join(lines) + "\n")


def _other_plan(path: Path) -> None:
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["plan"]["steps"] = first["plan"]["steps"][:1]
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        elif source.is_file():
            shutil.copy2(source, folder / name)
    return folder


def make_run(folder: Path) -> Path:
    """A resumable-looking local drill run directory: run.json, plan.json, a started journal."""
    from orchestrator.engine.journal import Journal
    from orchestrator.model import Plan, Step, StepKind
    from orchestrator.plan.recovery import plan_to_json

    steps = (Step("lake.deploy", "lake", StepKind.DEPLOY, (), 60), Step("lake.smoke", "lake", StepKind.SMOKE,
                                                                        ("lake.deploy",), 60),
             Step("platform.gate", "platform", StepKind.GATE, ("lake.smoke",), 60))
    plan = Plan("secondary", steps, 3600, 600)
    folder.mkdir(parents=True)
    run = {"run_id": folder.name, "kind": "drill-local", "stack": "secondary", "scale": 1, "local_dir": str(folder / "x"),
           "database": "platform", "primary_account": "a1", "secondary_account": "b1", "targets": {"rto_s": 1, "rpo_s": 1}}
    RunDir(folder).run_json.write_text(json.dumps(run))
    RunDir(folder).plan_json.write_text(json.dumps(plan_to_json(plan)))
    journal = Journal.open(folder)
    try:
        journal.append("run_started", plan=plan_to_json(plan))
        journal.append("step_started", step="lake.deploy", attempt=1)
    finally:
        journal.close()
    return folder


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def prepare(case: Case, workdir: Path) -> tuple[list[str], Path, Path]:
    project, run = make_project(workdir / "project"), make_run(workdir / "runs" / "secondary" / "drill-x")
    if case.edit:
        case.edit(project)
    if case.damage:
        case.damage(run)
    argv = [a.replace("{project}", str(project)).replace("{run}", str(run)) for a in case.argv]
    return argv, project, run


def check(case: Case, code: int, out: str, err: str) -> list[str]:
    """What is wrong with how drctl answered `case`, if anything."""
    problems = []
    if code != 2:
        problems.append(f"exit {code}, not 2")
    if out:
        problems.append(f"stdout not empty: {out[:80]!r}")
    if err.count("\n") != 1 or not err.startswith("drctl: "):
        problems.append(f"stderr is not one 'drctl: ' line: {err[:200]!r}")
    if "Traceback" in err:
        problems.append("a traceback")
    if case.expect not in err:
        problems.append(f"{case.expect!r} not named in {err.strip()!r}")
    return problems


PROPERTY_TESTS = ["tests/reliability/test_bad_input.py::test_any_stack_file_value_is_loaded_or_refused_with_a_config_error",
                  "tests/reliability/test_bad_input.py::test_any_command_line_ends_in_an_exit_code_not_an_exception"]
PROPERTY_EXAMPLES = 2000  # per property test in the full run; CI runs 150 of each through pytest


def run(full: bool, workdir: Path) -> dict:
    """The corpus (the same in full and quick runs: it is small), then, in a full run, the
    hypothesis property tests over the config loader and the command line at PROPERTY_EXAMPLES."""
    corpus = run_corpus(workdir)
    if not full:
        return corpus
    properties = run_test_files("bad input", PROPERTY_TESTS, workdir / "properties",
                                env={"DRCTL_PROPERTY_EXAMPLES": str(PROPERTY_EXAMPLES)})
    failed = properties["figures"]["failed"] + properties["figures"]["skipped"]
    corpus["figures"].update({"property tests (hypothesis)": properties["figures"]["cases"],
                              "examples per property test": PROPERTY_EXAMPLES,
                              "property tests with an unhandled exception or failure": failed})
    if properties["outcome"] != "passed":
        corpus["outcome"] = "failed"
        corpus["notes"] += [note for note in properties["notes"] if not note.startswith("reproduce:")]
    return corpus


def run_case(case: Case, folder: Path, env: dict[str, str]) -> list[str]:
    """The problems with drctl's answer to `case`, run in `folder` (its own: cases run side by side)."""
    argv, project, run_dir = prepare(case, folder)
    before = (digest(project), digest(run_dir))
    done = subprocess.run([*DRCTL, *argv], capture_output=True, text=True, cwd=folder, env=env, timeout=120)
    problems = check(case, done.returncode, done.stdout, done.stderr)
    if (digest(project), digest(run_dir)) != before or (folder / ".drill").exists():
        problems.append(TOUCHED)
    return problems


def run_corpus(workdir: Path) -> dict:
    # The case's folder is the working directory, so this checkout goes first on the path: else an
    # installed (editable) drctl of another checkout would answer.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": path}
    # Each case is a drctl process of about a second, nearly all of it Python starting and importing:
    # one per core at a time. Each has its own folder, so nothing one does is seen by another's check.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        answers = list(pool.map(lambda numbered: run_case(numbered[1], workdir / f"case-{numbered[0]:02d}", env),
                                enumerate(CASES)))
    failures = [f"{case.name}: " + "; ".join(problems) for case, problems in zip(CASES, answers, strict=True) if problems]
    touched = sum(TOUCHED in problems for problems in answers)
    return {"suite": "bad input", "outcome": "passed" if not failures else "failed",
            "figures": {"cases": len(CASES), "config files": len(CONFIG_CASES), "CLI invocations": len(CLI_CASES),
                        "run directories": len(RUN_CASES), "exit 2 with one line": len(CASES) - len(failures),
                        "touched anything": touched},
            "notes": failures}
