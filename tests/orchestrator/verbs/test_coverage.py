"""drctl coverage: the DR coverage gate, over the real program and stack files, offline.

Gaps are planted by putting a service with a modified DR profile in the registry for the length of
one test (the registry is what the program's components are looked up in), or in a temporary copy of
the project's stack files; the repository's own profiles and stack files are never edited.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml
from project_files import copy_project, edit_stack

from components import registry
from components.catalog import CATALOG
from components.profile import RecoveryAction
from orchestrator.cli.main import main
from orchestrator.coverage.checks import CHECKS, StackView, assess, coverage_document, load_views
from orchestrator.report.junit import write_coverage_junit
from stacks.schema import DEFAULT_SAAS

REPO = Path(__file__).resolve().parents[3]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
LAKE = "dataplatform:data:Lake"
POSTGRES = "dataplatform:data:PostgresServer"


def drctl(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([*DRCTL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def views(repo_graphs) -> tuple[StackView, StackView]:
    repo_graphs.warm_cache(REPO, "secondary", "primary")
    return load_views(REPO, "secondary")  # the secondary, and its paired primary


def gaps_of(view: StackView, paired: StackView) -> list[str]:
    return coverage_document(view, paired, assess(view, paired))["gaps"]


def replace_profile(monkeypatch, token: str, **changes) -> None:
    """The service of component type `token` has a modified profile until the test ends."""
    spec = registry._BY_TYPE[token]
    changed = dataclasses.replace(spec, profile=dataclasses.replace(spec.profile, **changes))
    monkeypatch.setitem(registry._BY_TYPE, token, changed)


# -- the repository's stacks --------------------------------------------------------------------------


def test_the_real_pair_has_no_gap_from_either_side(views):
    secondary, primary = views
    assert gaps_of(secondary, primary) == []
    assert gaps_of(primary, secondary) == []


def test_every_check_runs_over_the_components_it_concerns(views):
    secondary, primary = views
    document = coverage_document(secondary, primary, assess(secondary, primary))
    by_check: dict[str, set[str]] = {}
    for result in document["checks"]:
        by_check.setdefault(result["check"], set()).add(result["component"])
    assert set(by_check) == set(CHECKS)
    core = {"foundation", "connectivity", "lake", "postgres", "event_hubs", "data_factory"}
    assert by_check["dr-profile"] == by_check["security-baseline"] == core
    assert core <= by_check["smoke-check"] and core <= by_check["counterpart"]
    assert by_check["backup-source"] == by_check["data-check"] == by_check["replay-path"] == {
        "lake", "postgres", "event_hubs"
    }
    assert document["passed"] is True and document["paired_stack"] == "primary"


def test_every_stateful_profile_declares_its_recovery_with_valid_seed_uplifts():
    profiles = [spec.profile for spec in registry.SERVICES]
    for profile in profiles:
        if not profile.stateful:
            continue
        recovery = profile.data_recovery
        assert recovery and recovery.source.strip() and recovery.replay.strip(), profile.key
        for row, option in recovery.source_uplifts:
            assert option < len(profile.seed[row].uplift_options), (profile.key, row, option)
    assert all(profile.recovery_action == RecoveryAction.SAAS for profile in CATALOG)


# -- the acceptance: a removed smoke check or backup source fails the gate, naming the component -------


def test_a_component_without_smoke_check_exits_1_naming_it(monkeypatch, capsys):
    replace_profile(monkeypatch, LAKE, checks=registry.profile_for(LAKE).data_checks)
    with pytest.raises(SystemExit) as exited:
        main(["coverage", "--stack", "secondary"])
    assert exited.value.code == 1
    out = capsys.readouterr().out
    gap_lines = [line for line in out.splitlines() if line.startswith("gap: ")]
    assert gap_lines == ["gap: lake: smoke-check: no smoke check declared (DRProfile.smoke_checks is empty)"]


def test_a_declared_check_without_implementation_is_a_gap_naming_it(views, monkeypatch):
    from smoke_tests.check import data

    secondary, primary = views
    lake = registry.profile_for(LAKE)
    declared_only = data("lake", "tier-counts")
    untested = dataclasses.replace(lake.checks[0], name="unlabelled", tested_against="")
    replace_profile(monkeypatch, LAKE, checks=(*lake.checks, declared_only, untested))
    assert gaps_of(secondary, primary) == [
        "lake: check-implemented: check 'tier-counts' is declared but not implemented",
        "lake: check-implemented: check 'unlabelled' does not say what its tests run it against "
        "(Check.tested_against)",
    ]


def test_a_store_without_backup_source_is_a_gap_naming_it(views, monkeypatch):
    secondary, primary = views
    replace_profile(monkeypatch, POSTGRES, data_recovery=None)
    assert gaps_of(secondary, primary) == [
        "postgres: backup-source: no backup or redundancy source declared (DRProfile.data_recovery)",
        "postgres: replay-path: no replay path declared (DRProfile.data_recovery)",
    ]


def test_an_empty_source_or_missing_data_check_is_a_gap(views, monkeypatch):
    secondary, primary = views
    lake = registry.profile_for(LAKE)
    replace_profile(monkeypatch, LAKE, data_recovery=dataclasses.replace(lake.data_recovery, source="  "))
    replace_profile(monkeypatch, POSTGRES, checks=registry.profile_for(POSTGRES).smoke_checks)
    assert gaps_of(secondary, primary) == [
        "lake: backup-source: no backup or redundancy source declared (DRProfile.data_recovery)",
        "postgres: data-check: no data check declared (DRProfile.data_checks is empty)",
    ]


def test_a_resource_outside_any_profiled_component_is_a_gap(views):
    secondary, primary = views
    graph = secondary.graph
    stray = {**graph.resources[0], "urn": "urn:stray", "name": "stray-account", "component": None}
    helper = {"urn": "urn:helper", "type": "dataplatform:misc:Helper", "name": "helper", "component": None}
    inside = {**graph.resources[0], "urn": "urn:inside", "name": "helper-vnet", "component": "helper"}
    changed = dataclasses.replace(
        graph, resources=[*graph.resources, stray, inside], components=[*graph.components, helper]
    )
    gaps = gaps_of(StackView(changed, secondary.config), primary)
    kind = graph.resources[0]["type"]
    assert gaps == [
        f"(no component) (no DR profile): dr-profile: {kind} 'stray-account' belongs to no component with a DR profile",
        f"helper (no DR profile): dr-profile: {kind} 'helper-vnet' belongs to no component with a DR profile",
    ]


def test_a_broken_baseline_is_a_gap_naming_the_component(views):
    secondary, primary = views
    graph = secondary.graph
    (account,) = [r for r in graph.resources if r["type"] == "azure-native:storage:StorageAccount"]
    inputs = {**graph.inputs, account["urn"]: {**graph.inputs[account["urn"]], "allowBlobPublicAccess": True}}
    gaps = gaps_of(StackView(dataclasses.replace(graph, inputs=inputs), secondary.config), primary)
    assert gaps == [
        f"lake: security-baseline: no public blob access: storage:StorageAccount {account['name']!r} "
        "allowBlobPublicAccess is True, wants False"
    ]


# -- the stack files decide: geo-redundancy off in the primary, a service missing in the secondary -----


def _primary_edits(config: dict) -> None:
    config["dataplatform:lake"]["redundancy"] = "Standard_LRS"  # no geo copy to rehydrate from
    config["dataplatform:services"].update({"eventHubsGeoDr": True, "ddos": True})
    config["dataplatform:eventHubsGeoDr"] = {}
    config["dataplatform:ddos"] = {"mode": "plan"}


def _secondary_edits(config: dict) -> None:
    # The alias deploys on the primary only; switched on here it is failed over from here.
    config["dataplatform:services"]["eventHubsGeoDr"] = True
    config["dataplatform:eventHubsGeoDr"] = {}


@pytest.fixture(scope="module")
def gapped(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    project = copy_project(tmp_path_factory.mktemp("coverage") / "project")
    edit_stack(project, "primary", _primary_edits)
    edit_stack(project, "secondary", _secondary_edits)
    junit = project / "reports" / "coverage.xml"
    result = drctl("coverage", "--stack", "secondary", "--project-dir", str(project), "--junit", str(junit))
    return result, junit


def test_gaps_from_the_stack_files_exit_1_one_line_each(gapped):
    result, _ = gapped
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    gaps = [line for line in result.stdout.splitlines() if line.startswith("gap: ")]
    assert len(gaps) == 2, result.stdout
    assert gaps[0].startswith("gap: lake: backup-source: its source is switched off in stack 'primary'")
    assert "Geo-redundant storage" in gaps[0]
    assert gaps[1] == (
        "gap: ddos: counterpart: in the primary stack 'primary' but not in the secondary stack 'secondary' "
        "(switch it on in Pulumi.secondary.yaml)"
    )
    assert result.stdout.splitlines()[-1] == "2 gaps: the coverage gate fails"


def test_junit_has_one_testcase_per_check_per_component_and_a_failure_per_gap(gapped):
    _, junit = gapped
    xml = JUnitXml.fromfile(str(junit))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {f"coverage.{check}" for check in CHECKS}
    failures = {}
    for suite in suites.values():
        names = [case.name for case in suite]
        assert len(names) == len(set(names)), suite.name  # one testcase per component
        assert suite.tests == len(names)
        for case in suite:
            failed = [r for r in case.result if isinstance(r, Failure)]
            if failed:
                failures[(suite.name, case.name)] = failed[0].message
    assert set(failures) == {("coverage.backup-source", "lake"), ("coverage.counterpart", "ddos")}
    assert suites["coverage.counterpart"].failures == 1
    # The alias deploys on the primary only, yet has its counterpart: the secondary fails it over.
    assert "event_hubs_geo_dr" in [case.name for case in suites["coverage.counterpart"]]


def test_json_is_one_document_with_the_gaps(views, tmp_path):
    secondary, primary = views
    document = coverage_document(secondary, primary, assess(secondary, primary))
    write_coverage_junit(document, tmp_path / "nested" / "out.xml")
    xml = JUnitXml.fromfile(str(tmp_path / "nested" / "out.xml"))
    assert xml.tests == len(document["checks"]) and xml.failures == 0
    assert json.loads(json.dumps(document)) == document


# -- bad input: one line, exit 2 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (["--stack", "nosuch"], "unknown stack 'nosuch'"),
        (["--stack", "../secondary"], "unknown stack"),
        ([], "Missing option '--stack'"),
        (["--stack", "secondary", "--junit", "."], "--junit"),
    ],
    ids=["unknown-stack", "path-stack", "no-stack", "junit-is-a-directory"],
)
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    result = drctl("coverage", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_json_lists_every_declared_check_and_whether_it_is_implemented(views):
    secondary, primary = views
    document = coverage_document(secondary, primary, assess(secondary, primary))
    listed = document["declared_checks"]
    declared = [check for profile in secondary.profiles() for check in profile.checks]
    assert [(c["component"], c["check"], c["kind"]) for c in listed] == [
        (check.component, check.name, str(check.kind)) for check in declared]
    saas = {profile.key for profile in CATALOG}
    assert {(c["component"], c["check"]) for c in listed if c["implemented"] and c["component"] not in saas} == {
        ("lake", "blob-write-read-delete"), ("lake", "container-counts"), ("lake", "bytes"), ("lake", "content-md5"),
        ("postgres", "select-1"), ("postgres", "row-counts"), ("postgres", "table-checksums"),
        ("postgres", "max-timestamp"),
        ("data_factory", "factory-provisioned"), ("data_factory", "pipeline-parity"),
        ("data_factory", "smoke-pipeline-run"), ("event_hubs", "send-receive-event"),
        ("event_hubs", "hubs-and-partitions"), ("event_hubs", "replayed-event-count"),
        ("foundation", "resource-groups-present"), ("foundation", "log-analytics-ready"),
        ("foundation", "key-vault-reachable"), ("foundation", "recovery-vault-ready"),
        ("connectivity", "vnet-subnets-present"), ("connectivity", "firewall-provisioned"),
        ("connectivity", "private-dns-zones-linked"),
    }
    local = {("lake", name) for name in ("blob-write-read-delete", "container-counts", "bytes", "content-md5")} | \
        {("postgres", name) for name in ("select-1", "row-counts", "table-checksums", "max-timestamp")} | \
        {("data_factory", "pipeline-parity"), ("data_factory", "smoke-pipeline-run")}
    assert all(c["runs_on"] == (["azure", "local"] if (c["component"], c["check"]) in local else ["azure"])
               for c in listed if c["implemented"] and c["component"] not in saas)
    # The stack's SaaS services (dataplatform:saas) each have a readiness check, run on Azure only.
    assert {c["component"] for c in listed if c["component"] in saas and c["implemented"]} == set(DEFAULT_SAAS)
    assert all(c["runs_on"] == ["azure"] for c in listed if c["component"] in saas)
    # Every declared check is implemented and says what its tests run it against: the gate passes.
    assert all(c["implemented"] and c["tested_against"] for c in listed)
    assert document["passed"] is True


# -- the reference pair: every data path real, access made by hand named --------------------------------


def test_the_reference_pair_has_no_data_path_gap_and_names_what_was_made_by_hand(repo_graphs):
    repo_graphs.warm_cache(REPO, "reference-secondary", "reference")
    secondary, primary = load_views(REPO, "reference-secondary")
    document = coverage_document(secondary, primary, assess(secondary, primary))
    assert document["summary"]["data-path"]["failed"] == 0, document["gaps"]
    assert ("databricks: a step after the deploy, outside ARM: the runner is a user of the Databricks workspace: a "
            "SCIM entry (the workspace's admin settings, or the account console's workspace assignment), made once "
            "the workspace exists") in document["prerequisites"]
    assert {line.split(":", 1)[0] for line in document["prerequisites"]} == {
        "databricks", "purview", "mysql", "sql_database", "synapse", "sql-managed-instance", "sql-server-vm"}


def test_access_made_by_hand_but_not_declared_is_a_gap_and_fails_the_gate(tmp_path):
    project = copy_project(tmp_path, ("reference", "reference-secondary"))
    (project / "kql").mkdir()
    (project / "kql" / "events.kql").write_text((REPO / "kql" / "events.kql").read_text())
    edit_stack(project, "reference-secondary", lambda c: c["dataplatform:runner"].pop("grantedOutOfBand"))
    result = drctl("coverage", "--stack", "reference-secondary", "--project-dir", str(project))
    assert result.returncode == 1, result.stderr
    gaps = [line for line in result.stdout.splitlines() if line.startswith("gap: ")]
    assert gaps and all(": data-path: " in line for line in gaps)
    assert any("dataplatform:runner.grantedOutOfBand purview-data-reader" in line for line in gaps)
    assert "made by hand, declared in dataplatform:runner.grantedOutOfBand" not in result.stdout
