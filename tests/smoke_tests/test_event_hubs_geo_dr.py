"""The Geo-DR alias's data check through the real azure-mgmt-eventhub client: the alias answers with the
specs' EHAliasGet example; the hub and consumer-group lists have no example kept here, so those bodies
are hand-written minimal answers of the documented shape (a transport double)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.eventhub import EventHubManagementClient

from components.event_hubs import EventHub, EventHubsSettings
from components.event_hubs_geo_dr import EventHubsGeoDrSettings
from components.stream_analytics import StreamAnalyticsSettings
from orchestrator.targets.azure.errors import call
from smoke_tests.check import PermanentError
from smoke_tests.event_hubs_geo_dr import CHECKS, AliasProbe, expected_hubs, hubs_and_consumer_groups_match
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example_body

ALIAS_GET = "eventhub/resource-manager/Microsoft.EventHub/Eventhub/examples/2026-01-01/disasterRecoveryConfigs/EHAliasGet.json"
NAMESPACE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.EventHub/namespaces/contoso-evh-ase"
EXPECTED = {"telemetry": ("$Default", "asa"), "alerts": ("$Default",)}


def _lists(hubs: dict[str, list[str]]) -> list[Route]:
    routes = [Route("GET", f"(?i){NAMESPACE}/eventhubs", body={"value": [
        {"id": f"{NAMESPACE}/eventhubs/{hub}", "name": hub, "properties": {"partitionCount": 4, "status": "Active"}}
        for hub in hubs]})]
    routes += [Route("GET", f"(?i){NAMESPACE}/eventhubs/{hub}/consumergroups", body={"value": [
        {"id": f"{NAMESPACE}/eventhubs/{hub}/consumergroups/{g}", "name": g, "properties": {}} for g in groups]})
        for hub, groups in hubs.items()]
    return routes


def _alias(pending: int = 0, status: int = 200) -> Route:
    body = copy.deepcopy(example_body(ALIAS_GET))
    body["properties"]["pendingReplicationOperationsCount"] = pending
    if status != 200:
        body = {"error": {"code": "NotFound", "message": "alias not found"}}
    return Route("GET", f"(?i){NAMESPACE}/disasterRecoveryConfigs/contoso-evh-geo-aue", status=status, body=body)


def _probe(*routes: Route, expected=EXPECTED, baseline=None) -> tuple[AliasProbe, ExampleTransport]:
    transport = ExampleTransport(list(routes))
    client = EventHubManagementClient(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0)
    return AliasProbe(call, client, "rg-data", "contoso-evh-ase", "contoso-evh-geo-aue", expected_hubs=expected,
                      baseline=baseline or {}), transport


def test_every_hub_and_group_replicated_passes_with_the_alias_state():
    probe, _ = _probe(*_lists({"telemetry": ["$Default", "asa"], "alerts": ["$Default"]}), _alias())
    mismatches, facts = hubs_and_consumer_groups_match(probe)
    assert mismatches == [] and facts["judged_against"] == "settings"
    assert facts["found"] == {"alerts": ["$Default"], "telemetry": ["$Default", "asa"]}
    assert facts["alias_role"] == "Secondary" and facts["pending_replication_operations"] == 0


def test_a_missing_hub_and_a_missing_consumer_group_are_mismatches():
    probe, _ = _probe(*_lists({"telemetry": ["$Default"]}), _alias())
    assert hubs_and_consumer_groups_match(probe)[0] == [
        "hub alerts missing from contoso-evh-ase", "hub telemetry on contoso-evh-ase lacks consumer group(s) asa"]


def test_a_mismatch_says_when_the_alias_had_not_finished_replicating():
    probe, _ = _probe(*_lists({"telemetry": ["$Default", "asa"]}), _alias(pending=3))
    assert hubs_and_consumer_groups_match(probe)[0] == [
        "hub alerts missing from contoso-evh-ase (the alias has 3 replication operation(s) pending)"]


def test_an_alias_gone_after_a_break_pairing_is_reported_not_failed():
    probe, _ = _probe(*_lists({"telemetry": ["$Default", "asa"], "alerts": ["$Default"]}), _alias(status=404))
    mismatches, facts = hubs_and_consumer_groups_match(probe)
    assert mismatches == [] and facts["alias"].startswith("not readable")


def test_the_baseline_is_judged_instead_of_the_settings():
    baseline = {"hubs-and-consumer-groups-match": {"hubs": {"orders": ["$Default", "billing"]}}}
    probe, _ = _probe(*_lists({"orders": ["$Default"], "telemetry": ["$Default"]}), _alias(), baseline=baseline)
    mismatches, facts = hubs_and_consumer_groups_match(probe)
    assert mismatches == ["hub orders on contoso-evh-ase lacks consumer group(s) billing"]
    assert facts["judged_against"] == "baseline"


def test_nothing_to_compare_is_a_mismatch_not_a_pass():
    probe, _ = _probe(*_lists({}), _alias(), expected={})
    assert hubs_and_consumer_groups_match(probe)[0] == [
        "nothing to compare: no baseline recorded and the stack declares no hub"]


def test_the_expected_groups_are_default_plus_the_stream_analytics_reader():
    hubs = (EventHub(name="telemetry"), EventHub(name="alerts"))
    assert expected_hubs(hubs, ("telemetry", "asa")) == EXPECTED
    assert expected_hubs(hubs, ("telemetry", "$Default")) == {"telemetry": ("$Default",), "alerts": ("$Default",)}
    assert expected_hubs(hubs, ("elsewhere", "asa")) == {"telemetry": ("$Default",), "alerts": ("$Default",)}


class _Steps:
    """What AzureProbes.event_hubs_geo_dr reads of the azure target's data steps."""

    def __init__(self, config: Any, eventhub: Any) -> None:
        self.config, self.data_group = config, "rg-data"
        self.session = type("Session", (), {"eventhub": lambda _self: eventhub})()

    def paired_names(self) -> tuple[str, str]:
        return "contoso", "aue"

    def _settings(self, component: str) -> Any:
        return EventHubsGeoDrSettings.model_validate({})

    def baseline(self, component: str) -> dict:
        return {"hubs-and-consumer-groups-match": {"hubs": {"telemetry": ["$Default"]}}}


def test_the_azure_target_builds_the_probe_from_the_stacks_hubs_and_stream_analytics():
    from orchestrator.targets.azure.probes import AzureProbes
    from stacks.config import load_stack_config

    config = load_stack_config(Path(__file__).resolve().parents[2], "secondary").with_services({
        "eventHubs": EventHubsSettings(hubs=(EventHub(name="telemetry"), EventHub(name="alerts"))),
        "streamAnalytics": StreamAnalyticsSettings.model_validate({"query": "SELECT 1", "consumerGroup": "asa"})})
    probe, _ = AzureProbes(_Steps(config, eventhub="the client")).event_hubs_geo_dr([])
    assert probe.expected_hubs == EXPECTED and probe.eventhub == "the client"
    assert probe.baseline == {"hubs-and-consumer-groups-match": {"hubs": {"telemetry": ["$Default"]}}}
    assert (probe.secondary_namespace, probe.alias) == ("contoso-evh-ase", "contoso-evh-geo-aue")


def test_every_check_is_implemented_and_says_what_it_was_tested_against():
    assert all(check.implemented and check.tested_against for check in CHECKS)


def test_a_namespace_that_refuses_the_list_fails_the_check():
    refused = Route("GET", f"(?i){NAMESPACE}/eventhubs", status=403,
                    body={"error": {"code": "AuthorizationFailed", "message": "no"}})
    with pytest.raises(PermanentError, match="list the hubs of contoso-evh-ase"):
        hubs_and_consumer_groups_match(_probe(refused, _alias())[0])
