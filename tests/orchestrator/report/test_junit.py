"""junit.xml from a real engine run, read back with a JUnit parser as CI reporters read it: one
testcase per smoke check and data check, failures and skips counted; plus the evidence shapes of
the Azure and fallback targets, and the builders `drctl coverage --junit` shares."""

from __future__ import annotations

from junitparser import Failure, JUnitXml, Skipped

from orchestrator.coverage.checks import CHECKS
from orchestrator.model import PermanentError, Plan, StepKind, StepOutcome
from orchestrator.report.junit import coverage_junit, step_cases, to_text
from tests.report_runs import run_and_finish, step

K = StepKind


def lake_validated(s, clock):
    clock.t += 4
    # validate_lake's evidence (orchestrator/data/manifest.py ValidationResult.to_evidence)
    return StepOutcome(outputs={"exact": True}, evidence={
        "store": "lake", "exact": True, "mismatches": [], "watermark": {"expected": 7, "actual": 7},
        "details": {"raw": {"exact": True}, "curated": {"exact": True}}})


def db_mismatch(s, clock):
    clock.t += 2
    raise PermanentError("postgres does not match its manifest: events: rows expected 10, found 9", {
        "store": "postgres", "exact": False, "mismatches": ["events: rows expected 10, found 9"],
        "watermark": {"expected": 7, "actual": 7}, "details": {"devices": {"exact": True}, "events": {"exact": False}}})


def lake_smoked(s, clock):
    clock.t += 2
    # smoke_tests/lake.py's blob-write-read-delete evidence
    return StepOutcome(evidence={"ok": True, "account": "dev", "checks": [
        {"check": "container raw exists", "ok": True}, {"check": "write canary", "ok": True},
        {"check": "read canary back intact", "ok": True}]})


def db_smoke_failed(s, clock):
    clock.t += 1
    raise PermanentError("smoke test failed: table events present and readable", {"ok": False, "checks": [
        {"check": "SELECT 1", "ok": True}, {"check": "table events present and readable", "ok": False}]})


def not_exercised(s, clock):
    return StepOutcome(exercised=False, evidence={"note": "declared, not exercised locally: no local emulator"})


def test_one_testcase_per_check_with_failures_and_skips_counted(tmp_path):
    plan = Plan("dev", (
        step("lake.deploy", K.DEPLOY), step("lake.validate", K.VALIDATE, ("lake.deploy",)),
        step("lake.smoke", K.SMOKE, ("lake.validate",)),
        step("db.deploy", K.DEPLOY), step("db.validate", K.VALIDATE, ("db.deploy",)),
        step("db.smoke", K.SMOKE, ("db.deploy",)), step("reports.smoke", K.SMOKE, ("db.validate",)),
        step("eventhubs.smoke", K.SMOKE),
        step("platform.gate", K.GATE, ("lake.smoke", "db.smoke", "reports.smoke", "eventhubs.smoke")),
    ), 3600, 900)
    done = run_and_finish(tmp_path, plan, {
        "lake.validate": lake_validated, "lake.smoke": lake_smoked, "db.validate": db_mismatch,
        "db.smoke": db_smoke_failed, "eventhubs.smoke": not_exercised})
    assert done.summary["outcome"] == "partial"

    xml = JUnitXml.fromfile(str(done.run_dir / "junit.xml"))
    suites = {suite.name: suite for suite in xml}
    # Deploys and gates are not checks; reports.smoke was blocked by db.validate's failure.
    assert set(suites) == {"lake.validate", "lake.smoke", "db.validate", "db.smoke", "reports.smoke",
                           "eventhubs.smoke"}
    cases = {(suite.name, case.name): case for suite in xml for case in suite}
    assert set(cases) == {
        ("lake.validate", "lake: raw"), ("lake.validate", "lake: curated"), ("lake.validate", "lake: watermark"),
        ("lake.smoke", "container raw exists"), ("lake.smoke", "write canary"),
        ("lake.smoke", "read canary back intact"),
        ("db.validate", "postgres: devices"), ("db.validate", "postgres: events"),
        ("db.validate", "postgres: watermark"),
        ("db.smoke", "SELECT 1"), ("db.smoke", "table events present and readable"),
        ("reports.smoke", "smoke"), ("eventhubs.smoke", "smoke"),
    }
    failures = {key: r.message for key, c in cases.items() for r in c.result if isinstance(r, Failure)}
    skips = {key: r.message for key, c in cases.items() for r in c.result if isinstance(r, Skipped)}
    assert failures == {("db.validate", "postgres: events"): "events: rows expected 10, found 9",
                        ("db.smoke", "table events present and readable"): "table events present and readable: failed"}
    assert set(skips) == {("reports.smoke", "smoke"), ("eventhubs.smoke", "smoke")}
    assert "not exercised" in skips[("eventhubs.smoke", "smoke")] and "no local emulator" in skips[
        ("eventhubs.smoke", "smoke")]
    assert skips[("reports.smoke", "smoke")].startswith("skipped: ") and "db.validate" in skips[
        ("reports.smoke", "smoke")]
    assert (xml.tests, xml.failures, xml.skipped, xml.errors) == (13, 2, 2, 0)
    assert (suites["db.smoke"].tests, suites["db.smoke"].failures) == (2, 1)


def report_step(sid: str, kind: str, state: str = "succeeded", exercised: bool = True, error: str | None = None):
    return {"id": sid, "component": sid.split(".")[0], "kind": kind, "state": state, "exercised": exercised,
            "error": error, "duration_s": 1.0}


def test_an_azure_smoke_step_gives_its_management_plane_data_plane_and_unexercised_checks():
    evidence = {
        "management_plane": {"check": "provisioningState Succeeded", "checked": 2, "resources": [
            {"id": "/subscriptions/s/resourceGroups/g/providers/x/y/lake1", "ok": True},
            {"id": "/subscriptions/s/resourceGroups/g/providers/x/y/lake2", "ok": False}]},
        "data_plane": {"blob-write-read-delete": {"ok": True, "checks": [{"check": "write canary", "ok": True}]},
                       "database-online": {"status": "Online"}},
        "not_exercised": ["kql-print-1"],
    }
    cases = step_cases(report_step("lake.smoke", "smoke", "failed", error="not provisioned: lake2"), evidence)
    by_name = {c.name: c for c in cases}
    assert set(by_name) == {"management plane: provisioningState Succeeded", "blob-write-read-delete: write canary",
                            "database-online", "kql-print-1"}
    assert by_name["management plane: provisioningState Succeeded"].failure == "not provisioned: lake2"
    assert by_name["kql-print-1"].skipped and not by_name["database-online"].failure
    assert sum(1 for c in cases if c.failure) == 1  # the step's own error is that failure, not another


def test_a_fallback_comparison_has_a_case_per_table_and_for_the_secondarys_time():
    evidence = {"store": "postgres", "exact": False, "tables": {"primary": {}, "secondary": {"devices": {}, "events": {}}},
                "secondary_time": {}, "mismatches": [
                    "events written during the secondary's time: primary {...} != secondary {...}"]}
    cases = step_cases(report_step("postgres.validate", "validate", "failed", error="does not match"), evidence)
    assert [(c.name, bool(c.failure)) for c in cases] == [
        ("postgres: devices", False), ("postgres: events", False),
        ("postgres: written during the secondary's time", True)]
    # A parallel run compares each store again: those comparisons are data checks too.
    nested = {"batches": [1, 2], "lake": {"store": "lake", "exact": True, "mismatches": [], "details": {"raw": {}}},
              "postgres": {"store": "postgres", "exact": True, "mismatches": [], "details": {"events": {}}}}
    assert [c.name for c in step_cases(report_step("platform.parallel-run", "parallel-run"), nested)] == [
        "lake: raw", "postgres: events"]
    # A step that is no check gives no case.
    assert step_cases(report_step("lake.deploy", "deploy"), {"account": "x"}) == []


def test_coverage_junit_is_built_by_the_same_builders():
    document = {"stack": "secondary", "paired_stack": "primary", "checks": [
        {"check": "smoke-check", "component": "lake", "gaps": [], "detail": "blob-write-read-delete"},
        {"check": "smoke-check", "component": "web", "gaps": ["no smoke check declared"], "detail": ""},
        {"check": "replay-path", "component": "lake", "gaps": [], "detail": "pipeline"},
    ], "summary": {check: {} for check in CHECKS}}  # the checks, in coverage's order
    path_text = to_text(coverage_junit(document))
    xml = JUnitXml.fromstring(path_text.encode())
    suites = {suite.name: suite for suite in xml}
    assert suites["coverage.smoke-check"].tests == 2 and suites["coverage.smoke-check"].failures == 1
    assert suites["coverage.dr-profile"].tests == 0  # every check has its suite, empty or not
    [failed] = [r for case in suites["coverage.smoke-check"] for r in case.result if isinstance(r, Failure)]
    assert failed.message == "no smoke check declared" and failed.type == "coverage-gap"
    assert (xml.tests, xml.failures) == (3, 1)
