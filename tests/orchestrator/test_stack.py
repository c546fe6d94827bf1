"""StackModel: a stack is read once per command, at the CLI's edge, and passed down.

The loads are counted at stacks.config.load_stack_config, whatever module imported it by name, so
a verb, target or report that reads the stack file again makes these tests fail.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from stack_loads import count_stack_loads

from orchestrator.cli.main import main
from orchestrator.errors import BadInput
from orchestrator.stack import build_stack_plan, load_stack

# Imported before the load counter patches the modules that took load_stack_config by name.
from orchestrator.targets.azure.preflight.run import gather_inputs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def loads(monkeypatch) -> Counter:
    return count_stack_loads(monkeypatch)


@pytest.fixture(params=["cached", "uncached"])
def graph_cache(request, monkeypatch, tmp_path, repo_graphs):
    """Both ways a graph is had: from the cache, and by running the program (which needs the config)."""
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(tmp_path / "cache"))
    if request.param == "uncached":
        monkeypatch.setenv("DRCTL_CACHE", "off")
    else:
        monkeypatch.delenv("DRCTL_CACHE", raising=False)
        for stack in ("secondary", "primary"):
            repo_graphs.warm_cache(REPO, stack)
            assert load_stack(REPO, stack).graph.stack == stack  # warm: the graphs are in the cache
    return request.param


def drctl(capsys, *args: str) -> dict:
    try:
        main([*args, "--json"])
    except SystemExit as ended:
        assert ended.code in (None, 0)
    return json.loads(capsys.readouterr().out)


def test_a_failover_dry_run_reads_the_stack_once(graph_cache, loads, capsys):
    document = drctl(capsys, "failover", "--stack", "secondary", "--dry-run")
    assert document["dry_run"] is True and document["plan"]["steps"]
    # Each file once: the primary's too, for the graph the geo copy's paths go into (orchestrator/paths).
    assert loads == {"secondary": 1, "primary": 1}


def test_a_fallback_dry_run_reads_the_primary_once(graph_cache, loads, capsys):
    document = drctl(capsys, "fallback", "--stack", "primary", "--dry-run")
    assert document["plan"]["stack"] == "primary"
    assert loads == {"primary": 1}


def test_the_model_holds_what_the_verbs_read(loads):
    model = load_stack(REPO, "secondary")
    assert loads == {"secondary": 1}
    assert model.name == "secondary" and model.graph.stack == "secondary" and model.project_dir == REPO
    assert list(model.profiles_by_key) == [profile.key for profile in model.profiles]
    assert model.recovery_plan is model.recovery_plan  # built once, on first use
    assert {step.component for step in model.recovery_plan.steps} >= set(model.profiles_by_key) - {"platform"}
    assert loads == {"secondary": 1}


def test_a_stack_of_the_wrong_role_is_refused_before_its_program_runs(tmp_path):
    from orchestrator.verbs.failover import failover_command
    from orchestrator.verbs.fallback import dry_run_document

    primary, secondary = load_stack(REPO, "primary"), load_stack(REPO, "secondary")
    with pytest.raises(BadInput, match="primary is a primary stack"):
        failover_command(primary, workdir=tmp_path, dry_run=True)
    with pytest.raises(BadInput, match="secondary is a secondary stack"):
        dry_run_document(secondary)
    # Refused on the config alone: no graph captured, so not even the graph cache was touched.
    assert "graph" not in vars(primary) and "graph" not in vars(secondary)


def test_preflight_given_the_model_reads_only_the_paired_stack(monkeypatch, loads):
    # A secondary's preflight reads its primary's resources from the primary's own program.
    model = load_stack(REPO, "secondary")
    inputs = gather_inputs(REPO, "secondary", env={}, model=model)
    assert inputs.config is model.config and inputs.targets_error is None
    assert loads == {"secondary": 1, "primary": 1}


def test_build_stack_plan_is_the_models_plan_by_name():
    built = build_stack_plan(REPO, "secondary")
    plan, graph, config = built
    assert built.plan == plan and config.stack == graph.stack == "secondary"
    assert [s.id for s in plan.steps] == [s.id for s in load_stack(REPO, "secondary").recovery_plan.steps]
