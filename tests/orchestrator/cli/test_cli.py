"""drctl as a user runs it: a separate process, exit codes, stdout and stderr (no emulators).

The --json forms are the contract: stdout holds exactly one JSON document. Bad input gives exit
code 2, exactly one line on stderr naming what is wrong, no traceback, and nothing written.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.registry import globally_unique_types, subresource_types

REPO = Path(__file__).resolve().parents[3]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
STEP_KINDS = {"deploy", "rehydrate", "validate", "replay", "smoke", "gate", "handover"}
ADDRESS_SPACE = "dataplatform:addressSpace"
TIMEOUT_S = 120


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}
    env["NO_COLOR"] = "1"
    return env


def drctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S)


def drctl_many(invocations: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Several drctl processes at once (each preview runs the whole program: seconds of CPU)."""
    procs = [
        subprocess.Popen([*DRCTL, *args], cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for args in invocations
    ]
    results = []
    for args, proc in zip(invocations, procs, strict=False):
        out, err = proc.communicate(timeout=TIMEOUT_S)
        results.append(subprocess.CompletedProcess([*DRCTL, *args], proc.returncode, out, err))
    return results


def json_document(result: subprocess.CompletedProcess) -> dict:
    """stdout is one JSON document and nothing else (json.loads refuses trailing text)."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stdout.strip(), "nothing on stdout"
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def stack_config(stack: str, project_dir: Path = REPO) -> dict:
    return yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text())["config"]


# -- the offline views of the real stacks -----------------------------------------------------------


@pytest.fixture(scope="module")
def views(repo_graphs) -> dict[str, dict]:
    repo_graphs.warm_cache(REPO, "primary", "secondary")  # else each process runs the program
    preview_primary, preview_secondary, plan_secondary = drctl_many(
        [
            ["preview", "--stack", "primary", "--json"],
            ["preview", "--stack", "secondary", "--json"],
            ["plan", "--stack", "secondary", "--json"],
        ]
    )
    return {
        "preview_primary": json_document(preview_primary),
        "preview_secondary": json_document(preview_secondary),
        "plan_secondary": json_document(plan_secondary),
    }


RESOURCE_KEYS = {"urn", "type", "name", "physical_name", "location", "component"}


def test_preview_json_shape(views):
    for stack in ("primary", "secondary"):
        document = views[f"preview_{stack}"]
        assert {"stack", "region", "resources"} <= set(document)
        assert document["stack"] == stack
        assert document["region"] == stack_config(stack)["azure-native:location"]
        assert len(document["resources"]) >= 10
        for resource in document["resources"]:
            assert set(resource) >= RESOURCE_KEYS, resource
            assert resource["type"].startswith("azure-native:"), resource
        urns = [r["urn"] for r in document["resources"]]
        assert len(urns) == len(set(urns))
        assert all(f"urn:pulumi:{stack}::" in urn for urn in urns)


def test_every_regional_resource_of_the_secondary_is_in_the_secondary_region(views):
    secondary, primary = views["preview_secondary"], views["preview_primary"]
    region = stack_config("secondary")["azure-native:location"]
    assert secondary["region"] == region != primary["region"]
    located = [r for r in secondary["resources"] if r["location"] not in (None, "global")]
    assert located, "no regional resource at all"
    assert {r["location"] for r in located} == {region}
    for resource in secondary["resources"]:
        if resource["type"] in subresource_types() or resource["type"].startswith("azure-native:privatedns:"):
            continue  # lives inside a parent, or is global by nature
        assert resource["location"] == region, resource


def test_no_globally_unique_name_of_the_secondary_is_one_of_the_primary(views):
    def unique_names(document: dict) -> dict[str, set[str]]:
        names: dict[str, set[str]] = {}
        for resource in document["resources"]:
            if resource["type"] in globally_unique_types():
                assert resource["physical_name"], resource  # a globally unique name must be chosen, not left to chance
                names.setdefault(resource["type"], set()).add(resource["physical_name"].lower())
        return names

    primary, secondary = unique_names(views["preview_primary"]), unique_names(views["preview_secondary"])
    assert set(primary) == set(secondary)
    assert {"azure-native:storage:StorageAccount", "azure-native:keyvault:Vault"} <= set(secondary)
    all_primary = set().union(*primary.values())
    all_secondary = set().union(*secondary.values())
    assert all_primary.isdisjoint(all_secondary), all_primary & all_secondary


def test_plan_json_shape_and_consistency(views):
    plan = views["plan_secondary"]
    assert {"stack", "steps", "critical_path_s", "sequential_s", "rto_target_s", "within_target"} <= set(plan)
    assert plan["stack"] == "secondary"
    steps = plan["steps"]
    assert steps
    ids = [s["id"] for s in steps]
    assert len(ids) == len(set(ids)), "duplicate step ids"
    by_id = {s["id"]: s for s in steps}
    for step in steps:
        assert {"id", "component", "kind", "depends_on", "estimate_s"} <= set(step), step
        assert step["kind"] in STEP_KINDS, step
        assert isinstance(step["depends_on"], list)
        for dep in step["depends_on"]:
            assert dep in by_id, f"{step['id']} depends on unknown step {dep}"
            assert dep != step["id"]
        assert isinstance(step["estimate_s"], (int, float)) and step["estimate_s"] >= 0

    # The figures follow from the steps: longest path through the DAG, and the plain sum.
    finish: dict[str, float] = {}

    def finish_of(step_id: str, seen: tuple[str, ...] = ()) -> float:
        assert step_id not in seen, f"dependency cycle through {step_id}"
        if step_id not in finish:
            step = by_id[step_id]
            finish[step_id] = step["estimate_s"] + max(
                (finish_of(d, (*seen, step_id)) for d in step["depends_on"]), default=0.0
            )
        return finish[step_id]

    critical = max(finish_of(i) for i in ids)
    assert plan["critical_path_s"] == pytest.approx(critical)
    assert plan["sequential_s"] == pytest.approx(sum(s["estimate_s"] for s in steps))
    assert plan["critical_path_s"] <= plan["sequential_s"]
    assert plan["rto_target_s"] == stack_config("secondary")["dataplatform:recovery"]["rtoMinutes"] * 60
    assert plan["within_target"] is (plan["critical_path_s"] <= plan["rto_target_s"])

    # The plan is read from the program: every component it recovers is one the preview shows,
    # and each stateful store the drill exercises is rehydrated, validated and replayed.
    # The SaaS and Microsoft-recovered services the stack relies on (dataplatform:saas) come first.
    from stacks.schema import DEFAULT_SAAS

    components = {r["component"] for r in views["preview_secondary"]["resources"]}
    assert {s["component"] for s in steps} - {"platform"} <= components | set(DEFAULT_SAAS)
    assert {s["component"] for s in steps} >= set(DEFAULT_SAAS)
    for store in ("lake", "postgres"):
        for kind in ("deploy", "rehydrate", "validate", "replay", "smoke"):
            assert f"{store}.{kind}" in by_id
    assert [s["kind"] for s in steps].count("handover") == 1


def test_plan_without_json_is_for_people():
    result = drctl("plan", "--stack", "secondary")
    assert result.returncode == 0, result.stderr
    assert "critical path" in result.stdout
    assert "lake.rehydrate" in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


# -- bad input: exit 2, one line, no traceback, nothing touched --------------------------------------


def _copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "pipelines", dest / "pipelines")
    return dest


def _overlapping_space() -> str:
    """Half of the primary's address space: overlaps it without being equal."""
    primary = ipaddress.ip_network(stack_config("primary")[ADDRESS_SPACE])
    return str(list(primary.subnets(prefixlen_diff=1))[1])


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli-sandbox")
    _copy_project(root / "clean")

    overlap = _copy_project(root / "overlap")
    text = (overlap / "Pulumi.secondary.yaml").read_text()
    text, count = re.subn(
        rf"^(\s*{re.escape(ADDRESS_SPACE)}:\s*)\S+\s*$", rf"\g<1>{_overlapping_space()}", text, flags=re.M
    )
    assert count == 1
    (overlap / "Pulumi.secondary.yaml").write_text(text)

    bad_yaml = _copy_project(root / "bad-yaml")
    (bad_yaml / "Pulumi.secondary.yaml").write_text("config:\n  azure-native:location: [australiasoutheast\n")

    (root / "no-pulumi-yaml").mkdir()
    shutil.copy2(REPO / "Pulumi.secondary.yaml", root / "no-pulumi-yaml" / "Pulumi.secondary.yaml")

    runs = root / "runs"
    (runs / "empty").mkdir(parents=True)
    (runs / "corrupt-run").mkdir()
    (runs / "corrupt-run" / "run.json").write_text('{"run_id": "x", "kind": ')
    (runs / "corrupt-journal").mkdir()
    (runs / "corrupt-journal" / "journal.jsonl").write_text(
        '{"seq":1,"ts":"2026-01-01T00:00:00Z","event":"run_started","plan":{}}\nnot json\n'
        '{"seq":3,"ts":"2026-01-01T00:00:01Z","event":"run_finished","outcome":"recovered"}\n'
    )
    run = {
        "run_id": "drill-x", "kind": "drill-local", "stack": "secondary", "paired_stack": "primary", "scale": 1,
        "local_dir": str(root / "local-never-created"), "database": "platform",
        "primary_account": "contosolakeaue", "secondary_account": "contosolakease",
        "targets": {"rto_s": 14400.0, "rpo_s": 3600.0},
    }
    (runs / "corrupt-plan").mkdir()
    (runs / "corrupt-plan" / "run.json").write_text(json.dumps(run))
    (runs / "corrupt-plan" / "plan.json").write_text(json.dumps({"stack": "secondary", "steps": [{"id": "a"}]}))
    (runs / "other-plan").mkdir()
    (runs / "other-plan" / "run.json").write_text(json.dumps(run))
    plan = {"stack": "secondary", "rto_target_s": 60.0, "rpo_target_s": 60.0, "steps": [
        {"id": "lake.deploy", "component": "lake", "kind": "deploy", "depends_on": [], "estimate_s": 1.0}]}
    (runs / "other-plan" / "plan.json").write_text(json.dumps(plan))
    (runs / "other-plan" / "journal.jsonl").write_text(json.dumps({
        "seq": 1, "ts": "2026-01-01T00:00:00Z", "event": "run_started",
        "plan": {"steps": [{"id": "x.deploy", "depends_on": [], "kind": "deploy"}]}}) + "\n")
    (runs / "not-a-dir").write_text("{}")
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    snap = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        snap[str(path.relative_to(root))] = (stat.st_size if path.is_file() else -1, stat.st_mtime_ns)
    return snap


# (id, argv with {root} for the sandbox, words the one line must contain)
BAD_INVOCATIONS = [
    ("unknown-stack", ["preview", "--stack", "nope"], ["--stack", "nope"]),
    ("approve-unknown-run", ["approve", "{root}/no-such-run", "platform.gate", "--by", "Ada"], ["RUN", "no-such-run"]),
    ("approve-a-step-of-no-plan", ["approve", "{root}/runs/other-plan", "platform.gate", "--by", "Indy Example"],
     ["STEP", "platform.gate", "not a step"]),
    ("failover-unknown-stack", ["failover", "--stack", "tertiary", "--dry-run"], ["--stack", "tertiary"]),
    ("preflight-unknown-stack", ["preflight", "--stack", "tertiary"], ["--stack", "tertiary"]),
    ("unknown-stack-plan-json", ["plan", "--stack", "tertiary", "--json"], ["--stack", "tertiary"]),
    ("stack-with-path", ["preview", "--stack", "../primary", "--json"], ["--stack"]),
    ("stack-with-slash", ["plan", "--stack", "secondary/../primary"], ["--stack"]),
    ("missing-stack", ["plan"], ["--stack"]),
    ("project-dir-without-pulumi-yaml", ["preview", "--stack", "secondary", "--project-dir", "{root}/no-pulumi-yaml"],
     ["--project-dir", "Pulumi.yaml"]),
    ("project-dir-missing", ["plan", "--stack", "secondary", "--project-dir", "{root}/nowhere"],
     ["--project-dir", "Pulumi.yaml"]),
    ("overlapping-address-space-preview", ["preview", "--stack", "secondary", "--project-dir", "{root}/overlap"],
     [ADDRESS_SPACE, "Pulumi.secondary.yaml"]),
    ("overlapping-address-space-json", ["preview", "--stack", "secondary", "--json", "--project-dir", "{root}/overlap"],
     [ADDRESS_SPACE]),
    ("overlapping-address-space-plan", ["plan", "--stack", "secondary", "--json", "--project-dir", "{root}/overlap"],
     [ADDRESS_SPACE]),
    ("overlapping-address-space-drill", ["drill", "--local", "--project-dir", "{root}/overlap", "--workdir",
                                         "{root}/wd-overlap"], [ADDRESS_SPACE]),
    ("invalid-yaml", ["preview", "--stack", "secondary", "--project-dir", "{root}/bad-yaml"],
     ["Pulumi.secondary.yaml"]),
    ("drill-without-local", ["drill", "--workdir", "{root}/wd-nolocal"], ["--local"]),
    ("drill-scale-zero", ["drill", "--local", "--scale", "0", "--workdir", "{root}/wd-scale"], ["--scale"]),
    ("drill-workers-zero", ["drill", "--local", "--workers", "0", "--workdir", "{root}/wd-workers"], ["--workers"]),
    ("drill-stack-with-path", ["drill", "--local", "--stack", "../secondary", "--workdir", "{root}/wd-path"],
     ["--stack"]),
    ("status-nonexistent", ["status", "{root}/runs/nothing-here"], ["nothing-here"]),
    ("resume-nonexistent", ["resume", "{root}/runs/nothing-here"], ["nothing-here"]),
    ("resume-without-run-json", ["resume", "{root}/runs/empty"], ["run.json"]),
    ("status-without-journal", ["status", "{root}/runs/empty", "--json"], ["journal.jsonl"]),
    ("resume-corrupt-run-json", ["resume", "{root}/runs/corrupt-run", "--json"], ["run.json"]),
    ("resume-a-file", ["resume", "{root}/runs/not-a-dir"], ["not-a-dir"]),
    ("status-corrupt-journal", ["status", "{root}/runs/corrupt-journal"], ["journal.jsonl", "line 2"]),
    ("resume-corrupt-plan", ["resume", "{root}/runs/corrupt-plan"], ["plan.json"]),
    ("resume-journal-of-another-plan", ["resume", "{root}/runs/other-plan"], ["journal.jsonl"]),
    ("unknown-option", ["preview", "--stack", "secondary", "--bogus"], ["--bogus"]),
    ("unknown-command", ["failover-now"], ["failover-now"]),
    ("scale-not-a-number", ["drill", "--local", "--scale", "big", "--workdir", "{root}/wd-big"], ["--scale"]),
]


@pytest.fixture(scope="module")
def bad_results(sandbox) -> dict[str, tuple[subprocess.CompletedProcess, dict, dict]]:
    """Each bad invocation, run one at a time so 'nothing written' is attributable to it."""
    results = {}
    for case_id, argv, _ in BAD_INVOCATIONS:
        args = [a.replace("{root}", str(sandbox)) for a in argv]
        before = _snapshot(sandbox)
        result = drctl(*args)
        results[case_id] = (result, before, _snapshot(sandbox))
    return results


@pytest.mark.parametrize("case_id, argv, words", BAD_INVOCATIONS, ids=[c[0] for c in BAD_INVOCATIONS])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(bad_results, sandbox, case_id, argv, words):
    result, before, after = bad_results[case_id]
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("drctl: ") and len(line) > len("drctl: ") + 5, line
    for word in words:
        assert word.replace("{root}", str(sandbox)) in line, (word, line)
    assert result.stdout == "", result.stdout
    assert after == before, "a bad invocation wrote to the sandbox"
    assert not (sandbox / "local-never-created").exists()


def test_the_sandbox_project_is_valid_apart_from_the_planted_faults(sandbox):
    """The faults, not the copying, are what the table above is refused for."""
    clean = drctl("preview", "--stack", "secondary", "--json", "--project-dir", str(sandbox / "clean"))
    assert json_document(clean)["region"] == stack_config("secondary")["azure-native:location"]


def test_the_overlap_is_named_from_both_sides(sandbox):
    result = drctl("preview", "--stack", "primary", "--project-dir", str(sandbox / "overlap"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and ADDRESS_SPACE in result.stderr
    assert "Pulumi.primary.yaml" in result.stderr
