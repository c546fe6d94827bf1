"""Checks as objects: a check cannot claim to run without an implementation, a profile holds only its
own component's checks, and every service finds its checks under its own stem."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from components.catalog import CATALOG
from components.registry import SERVICES
from smoke_tests.check import AZURE, Check, CheckKind, SameFact, Target, data, smoke

REPO = Path(__file__).resolve().parents[2]


def test_a_check_runs_somewhere_only_with_an_implementation():
    declared = smoke("lake", "canary")
    assert not declared.implemented and not declared.runs_on_target(Target.LOCAL)
    with pytest.raises(ValueError, match="runs_on and function go together"):
        Check("lake", "canary", CheckKind.SMOKE, AZURE, None)
    with pytest.raises(ValueError, match="runs_on and function go together"):
        Check("lake", "canary", CheckKind.SMOKE, frozenset(), lambda probe: {})


def test_a_profile_refuses_another_components_check():
    lake = next(spec.profile for spec in SERVICES if spec.profile.key == "lake")
    with pytest.raises(ValueError, match="checks of another component"):
        dataclasses.replace(lake, checks=(*lake.checks, smoke("postgres", "select-1")))


def test_same_fact_names_the_fact_and_both_values():
    blobs = SameFact("blobs")
    assert blobs({"blobs": 3, "bytes": 9}, {"blobs": 3, "bytes": 1}) is None
    assert blobs({"blobs": 3}, {"blobs": 2}) == "blobs expected 3, found 2"


@pytest.mark.parametrize("spec", SERVICES, ids=[spec.key for spec in SERVICES])
def test_every_service_declares_its_checks_under_its_own_stem(spec):
    stem = spec.deploy.__module__.removeprefix("components.")
    assert (REPO / "components" / f"{stem}.py").is_file() and (REPO / "smoke_tests" / f"{stem}.py").is_file()
    module = importlib.import_module(f"smoke_tests.{stem}")
    assert spec.profile.checks == module.CHECKS
    assert {check.component for check in module.CHECKS} == {spec.profile.key}
    assert {check.kind for check in spec.profile.checks} <= {CheckKind.SMOKE, CheckKind.DATA}


def test_the_catalogs_readiness_checks_are_declared_and_none_claims_to_run():
    readiness = [check for profile in CATALOG for check in profile.checks]
    assert readiness and all(check.kind == CheckKind.SMOKE and not check.implemented for check in readiness)


def test_what_runs_today_is_exactly_what_has_an_implementation():
    implemented = {(check.component, check.name, check.kind) for spec in SERVICES for check in spec.profile.checks
                   if check.implemented}
    assert implemented == {
        ("lake", "blob-write-read-delete", "smoke"), ("lake", "container-counts", "data"), ("lake", "bytes", "data"),
        ("lake", "content-md5", "data"), ("postgres", "select-1", "smoke"), ("postgres", "row-counts", "data"),
        ("postgres", "table-checksums", "data"), ("postgres", "max-timestamp", "data"),
        ("sql_database", "database-online", "smoke"), ("event_hubs_geo_dr", "alias-resolves-to-secondary", "smoke"),
        ("data_explorer", "cluster-running", "smoke"), ("data_explorer", "kql-print-1", "smoke"),
        ("data_explorer", "row-counts", "data"), ("data_explorer", "max-ingestion-time", "data"),
        ("event_hubs", "send-receive-event", "smoke"), ("event_hubs", "hubs-and-partitions", "data"),
        ("event_hubs", "replayed-event-count", "data"), ("event_hubs_geo_dr", "hubs-and-consumer-groups-match", "data"),
        ("cosmos_db", "account-read", "smoke"), ("cosmos_db", "canary-upsert-read", "smoke"),
        ("cosmos_db", "document-count", "data"), ("cosmos_db", "max-ts-watermark", "data"),
        ("iot_hub", "hub-active", "smoke"), ("iot_hub", "endpoint-health", "smoke"), ("iot_hub", "device-count", "data"),
        ("stream_analytics", "job-running", "smoke"), ("stream_analytics", "input-output-test", "smoke"),
        ("stream_analytics", "output-watermark-advancing", "data"),
    }
    local = {(check.component, check.name) for spec in SERVICES for check in spec.profile.checks
             if check.runs_on_target(Target.LOCAL)}
    assert {component for component, _ in local} == {"lake", "postgres"}
    assert data("x", "y").kind == CheckKind.DATA
