"""Event Hubs' checks. The namespace and its hubs are read through the real ARM and azure-mgmt-eventhub
clients, but the spec examples kept here have no namespace GET or hub list, so those bodies are
hand-written minimal answers of the documented shape (a transport double). AMQP has no payloads at
all: the data-plane checks get doubles of the azure-eventhub clients (eventhub_double.py)."""

from __future__ import annotations

import pytest
from azure.eventhub import EventHubConsumerClient, EventHubProducerClient

from components.event_hubs import EventHub, EventHubsSettings
from smoke_tests import event_hubs
from smoke_tests.check import PermanentError, TransientError
from smoke_tests.event_hubs import (
    CHECKS,
    HUB_TYPE,
    NAMESPACE_TYPE,
    hubs_and_partitions,
    replayed_event_count,
    send_receive_event,
)
from tests.azure_fixtures import SUBSCRIPTION, Route
from tests.smoke_tests.eventhub_double import FakeEventHubs
from tests.smoke_tests.probe_support import GROUP, arm_id, deployed, service_probe

NAMESPACE_ID = arm_id("Microsoft.EventHub/namespaces", "dp-evh-sec")
HOST = "dp-evh-sec.servicebus.windows.net"
SETTINGS = EventHubsSettings(hubs=(EventHub(name="telemetry", partitions=4), EventHub(name="alerts", partitions=2)))
NAMESPACE = Route("GET", f"(?i){NAMESPACE_ID}", body={
    "id": NAMESPACE_ID, "name": "dp-evh-sec", "type": "Microsoft.EventHub/Namespaces", "location": "westus",
    "properties": {"provisioningState": "Succeeded", "status": "Active",
                   "serviceBusEndpoint": f"https://{HOST}:443/"}})


def _probe(service: FakeEventHubs | None = None, *routes: Route, settings=SETTINGS, baseline=None):
    connectors = {"eventhub_producer": service.producer, "eventhub_consumer": service.consumer} if service else None
    return service_probe("event_hubs", [NAMESPACE, *routes], [deployed(NAMESPACE_TYPE, NAMESPACE_ID)],
                         settings=settings, connectors=connectors, baseline=baseline)[0]


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(event_hubs, "RECEIVE_TIMEOUT_S", 0.5)


def test_the_canary_is_sent_and_received_back_on_the_default_group():
    service = FakeEventHubs({"telemetry": 4})
    service.enqueue("telemetry", "0", "an earlier event")
    evidence = send_receive_event(_probe(service))
    assert evidence["hub"] == "telemetry" and evidence["partition"] == "0" and evidence["namespace"] == HOST
    assert evidence["after_sequence_number"] == 0 and evidence["sequence_number"] == 1
    assert {(o["client"], o["fully_qualified_namespace"], o["eventhub_name"]) for o in service.opened} == {
        ("producer", HOST, "telemetry"), ("consumer", HOST, "telemetry")}
    assert next(o for o in service.opened if o["client"] == "consumer")["consumer_group"] == "$Default"


def test_a_canary_that_never_arrives_fails_as_a_missing_event(quick):
    service = FakeEventHubs({"telemetry": 4})
    service.drop_sends = True
    with pytest.raises(PermanentError, match="missing event: the canary sent to telemetry partition 0 was not "
                                             "received on \\$Default"):
        send_receive_event(_probe(service))


def test_an_event_with_another_token_is_not_taken_for_the_canary(quick):
    service = FakeEventHubs({"telemetry": 1})
    service.rewrite_sends = ('{"drctl_canary": "another run\'s token"}', {"drctl-canary": "another run's token"})
    with pytest.raises(PermanentError, match="missing event"):
        send_receive_event(_probe(service))


def test_a_refused_token_is_a_failure_not_a_retry():
    service = FakeEventHubs({"telemetry": 4})
    service.refuse_auth = True
    with pytest.raises(PermanentError, match="AuthenticationError"):
        send_receive_event(_probe(service))


def test_a_namespace_without_an_endpoint_fails_naming_it():
    route = Route("GET", f"(?i){NAMESPACE_ID}", body={"id": NAMESPACE_ID, "name": "dp-evh-sec", "properties": {}})
    probe = service_probe("event_hubs", [route], [deployed(NAMESPACE_TYPE, NAMESPACE_ID)], settings=SETTINGS)[0]
    with pytest.raises(PermanentError, match="reports no serviceBusEndpoint"):
        send_receive_event(probe)


def test_without_settings_the_deployed_hubs_are_used():
    service = FakeEventHubs({"orders": 2})
    probe = service_probe("event_hubs", [NAMESPACE], [deployed(NAMESPACE_TYPE, NAMESPACE_ID),
                                                      deployed(HUB_TYPE, f"{NAMESPACE_ID}/eventhubs/orders")],
                          connectors={"eventhub_producer": service.producer,
                                      "eventhub_consumer": service.consumer})[0]
    assert send_receive_event(probe)["hub"] == "orders"


def test_the_real_clients_take_the_arguments_the_check_gives_them():
    # Built, not connected: azure-eventhub opens the AMQP connection on the first call.
    probe = _probe()
    sender, receiver = event_hubs.producer(probe, HOST, "telemetry"), event_hubs.consumer(probe, HOST, "telemetry")
    assert isinstance(sender, EventHubProducerClient) and isinstance(receiver, EventHubConsumerClient)
    assert sender.eventhub_name == receiver.eventhub_name == "telemetry"
    # The SDK keeps the namespace only in the AMQP auth URI it builds.
    assert receiver._auth_uri == f"sb://{HOST}/telemetry/consumergroups/$Default"
    sender.close()
    receiver.close()


def _hubs(*hubs: tuple[str, int, str]) -> Route:
    return Route("GET", f"(?i){NAMESPACE_ID}/eventhubs", body={"value": [
        {"id": f"{NAMESPACE_ID}/eventhubs/{name}", "name": name, "type": "Microsoft.EventHub/Namespaces/EventHubs",
         "properties": {"partitionCount": partitions, "status": status, "partitionIds": [str(i) for i in range(partitions)]}}
        for name, partitions, status in hubs]})


def test_the_declared_hubs_are_there_with_their_partitions():
    probe = _probe(None, _hubs(("telemetry", 4, "Active"), ("alerts", 2, "Active"), ("extra", 1, "Active")))
    mismatches, facts = hubs_and_partitions(probe)
    assert mismatches == [] and facts["judged_against"] == "settings"
    assert facts["hubs"]["telemetry"] == {"partitions": 4, "status": "Active"}


def test_the_hub_list_is_asked_of_the_namespaces_group_through_azure_mgmt_eventhub():
    transport_probe, transport = service_probe("event_hubs", [_hubs(("telemetry", 4, "Active"))],
                                               [deployed(NAMESPACE_TYPE, NAMESPACE_ID)], settings=SETTINGS)
    hubs_and_partitions(transport_probe)
    url = transport.requests[0].url
    assert f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/" in url and "api-version=" in url


def test_a_missing_hub_a_wrong_partition_count_and_a_disabled_hub_are_mismatches():
    mismatches, _ = hubs_and_partitions(_probe(None, _hubs(("telemetry", 2, "SendDisabled"))))
    assert mismatches == ["hub alerts missing from namespace dp-evh-sec",
                          "hub telemetry has 2 partitions, expected 4", "hub telemetry is SendDisabled, not Active"]


def test_a_baseline_is_judged_instead_of_the_settings():
    baseline = {"hubs-and-partitions": {"hubs": {"telemetry": 4, "orders": 8}}}
    mismatches, facts = hubs_and_partitions(_probe(None, _hubs(("telemetry", 4, "Active")), baseline=baseline))
    assert mismatches == ["hub orders missing from namespace dp-evh-sec"] and facts["judged_against"] == "baseline"


def _replay_baseline(sent: int, at_watermark: dict[str, int] | None = None) -> dict:
    record: dict = {"sent": sent}
    if at_watermark is not None:
        record["sequence_at_watermark"] = at_watermark
    return {"replayed-event-count": {"hubs": {"telemetry": record}}}


def _replayed(counts: dict[str, int], hub: str = "telemetry", partitions: int = 4) -> FakeEventHubs:
    service = FakeEventHubs({hub: partitions, "alerts": 2})
    for partition, count in counts.items():
        for i in range(count):
            service.enqueue(hub, partition, f"event {i}")
    return service


def test_every_replayed_event_is_counted_in_the_redeployed_hub():
    service = _replayed({"0": 30, "1": 30, "2": 40})
    mismatches, facts = replayed_event_count(_probe(service, baseline=_replay_baseline(100)))
    assert mismatches == [] and facts["hubs"]["telemetry"]["enqueued_since_watermark"] == 100
    assert facts["hubs"]["telemetry"]["replay_sent"] == 100 and facts["hubs"]["alerts"]["enqueued_since_watermark"] == 0


def test_fewer_events_than_the_replay_sent_is_a_mismatch():
    mismatches, _ = replayed_event_count(_probe(_replayed({"0": 30, "1": 30, "2": 35}), baseline=_replay_baseline(100)))
    assert mismatches == ["hub telemetry: 95 event(s) enqueued since the recovered watermark, the replay sent 100 "
                          "(5 missing)"]


def test_events_before_the_watermark_are_not_counted_as_replayed():
    # The partitions carried 10 events each before the watermark: 40 of the 100 held are older.
    service = _replayed({"0": 25, "1": 25, "2": 25, "3": 25})
    mismatches, facts = replayed_event_count(_probe(service, baseline=_replay_baseline(
        100, {"0": 9, "1": 9, "2": 9, "3": 9})))
    assert facts["hubs"]["telemetry"]["enqueued_since_watermark"] == 60
    assert mismatches == ["hub telemetry: 60 event(s) enqueued since the recovered watermark, the replay sent 100 "
                          "(40 missing)"]


def test_a_hub_the_baseline_recorded_but_the_namespace_lacks_fails():
    service = FakeEventHubs({"alerts": 2})
    with pytest.raises(PermanentError, match="entity 'telemetry' could not be found"):
        replayed_event_count(_probe(service, baseline=_replay_baseline(1)))


def test_without_a_baseline_the_hubs_are_counted_for_the_report():
    mismatches, facts = replayed_event_count(_probe(_replayed({"3": 7})))
    assert mismatches == [] and facts["hubs"]["telemetry"]["enqueued_since_watermark"] == 7
    assert facts["judged_against"].startswith("no baseline")


def test_a_namespace_that_cannot_be_reached_is_retried(monkeypatch):
    from azure.eventhub.exceptions import ConnectError

    def unreachable(hub):
        raise ConnectError("no route to host")

    service = FakeEventHubs({"telemetry": 1})
    monkeypatch.setattr(service, "partitions", unreachable)
    with pytest.raises(TransientError, match="ConnectError: no route to host"):
        replayed_event_count(_probe(service))


def test_every_check_is_implemented_and_says_what_it_was_tested_against():
    assert all(check.implemented and check.tested_against.startswith("transport double: ") for check in CHECKS)
    assert [c.plane for c in CHECKS] == ["data", "management", "data"]
