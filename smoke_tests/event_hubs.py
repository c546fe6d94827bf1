"""Event Hubs' checks, on Azure, against the namespace the deploy step created (its ARM GET gives the
`serviceBusEndpoint` the data plane is reached at):

- smoke `send-receive-event` (azure-eventhub): one canary event, its body and its `drctl-canary`
  property a fresh token, sent to the first partition of the stack's first hub and read back there on
  the `$Default` consumer group (every hub has it; a group of drctl's own would need declaring in the
  program), from just after the partition's last sequence number. Not received within
  RECEIVE_TIMEOUT_S: a failure, "missing event";
- data `hubs-and-partitions` (azure-mgmt-eventhub, management plane): every hub the baseline recorded,
  else every hub the stack's settings declare, exists, is Active and has its partition count;
- data `replayed-event-count` (azure-eventhub): events enqueued in each hub since the recovered
  watermark, against what the replay sent, both from the baseline (`hubs: {hub: {sent, sequence_at_watermark:
  {partition: n}}}`). Per partition the count is its last enqueued sequence number minus the one at the
  watermark (-1 when not recorded: a redeployed hub numbers from 0), which retention cannot shrink, as
  it would a count of the events still held. More than was sent is expected (live producers, canaries);
  fewer is a loss. Without a record the hubs are counted for the report only.

AMQP has no example payloads: the tests inject doubles of EventHubProducerClient and
EventHubConsumerClient through `probe.connector` (tests/smoke_tests/eventhub_double.py).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from smoke_tests.arm_rest import resource_group_and_name
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, enum_text, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "event_hubs"
NAMESPACE_TYPE = "azure-native:eventhub:Namespace"
HUB_TYPE = "azure-native:eventhub:EventHub"
CONSUMER_GROUP = "$Default"
CANARY_PROPERTY = "drctl-canary"
RECEIVE_TIMEOUT_S = 60.0
AMQP_DOUBLE = TRANSPORT_DOUBLE + ("doubles of EventHubProducerClient/EventHubConsumerClient injected through "
                                  "probe.connector: AMQP has no spec payloads")
NO_PAYLOAD = TRANSPORT_DOUBLE + "hand-written Event Hubs ARM bodies: the spec examples kept here have no hub list"
T = TypeVar("T")


def namespace_host(probe: ServiceProbe) -> str:
    """The namespace's fully qualified name, from its serviceBusEndpoint."""
    namespace = probe.resource(NAMESPACE_TYPE)
    endpoint = (probe.get(namespace).get("properties") or {}).get("serviceBusEndpoint")
    host = urlparse(str(endpoint or "")).hostname
    if not host:
        raise PermanentError(f"event hubs: namespace {namespace['id']} reports no serviceBusEndpoint")
    return host


def hub_names(probe: ServiceProbe) -> list[str]:
    """The stack's hubs: its settings, else what the deploy step created."""
    hubs = [hub.name for hub in getattr(probe.settings, "hubs", ())]
    hubs = hubs or [str(r["id"]).rsplit("/", 1)[-1] for r in probe.resources_of(HUB_TYPE)]
    if not hubs:
        raise PermanentError("event hubs: the stack declares no hub to check")
    return hubs


def producer(probe: ServiceProbe, host: str, hub: str) -> Any:
    from azure.eventhub import EventHubProducerClient

    return probe.connector("eventhub_producer", EventHubProducerClient)(
        fully_qualified_namespace=host, eventhub_name=hub, credential=probe.credential)


def consumer(probe: ServiceProbe, host: str, hub: str) -> Any:
    from azure.eventhub import EventHubConsumerClient

    return probe.connector("eventhub_consumer", EventHubConsumerClient)(
        fully_qualified_namespace=host, eventhub_name=hub, consumer_group=CONSUMER_GROUP, credential=probe.credential)


def amqp(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """An azure-eventhub call, its errors (not azure-core's) as the engine's two kinds."""
    from azure.eventhub.exceptions import (
        AuthenticationError,
        ConnectError,
        ConnectionLostError,
        EventHubError,
        OperationTimeoutError,
    )

    try:
        return fn(*args, **kwargs)
    except AuthenticationError as err:
        raise PermanentError(f"{what}: {type(err).__name__}: {err}") from None
    except (ConnectError, ConnectionLostError, OperationTimeoutError) as err:
        raise TransientError(f"{what}: {type(err).__name__}: {err}") from None
    except EventHubError as err:  # a hub that does not exist, a refused send
        raise PermanentError(f"{what}: {type(err).__name__}: {err}") from None


def send_receive_event(probe: ServiceProbe) -> dict:
    from azure.eventhub import EventData

    host, hub = namespace_host(probe), hub_names(probe)[0]
    token = f"{uuid.uuid4()}"
    what = f"event hub {hub} on {host}"
    with producer(probe, host, hub) as send, consumer(probe, host, hub) as receive:
        partition = str(amqp(what, send.get_partition_ids)[0])
        before = int(amqp(what, receive.get_partition_properties, partition)["last_enqueued_sequence_number"])
        event = EventData(json.dumps({"drctl_canary": token}))
        event.properties = {CANARY_PROPERTY: token}
        sent_at = time.monotonic()
        amqp(f"{what}: send", send.send_batch, [event], partition_id=partition)
        got, errors = _receive_canary(receive, partition, before, token)
    evidence: dict[str, Any] = {"namespace": host, "hub": hub, "partition": partition,
                                "consumer_group": CONSUMER_GROUP, "after_sequence_number": before}
    if got is None:
        why = f"; the receiver reported {type(errors[0]).__name__}: {errors[0]}" if errors else ""
        raise PermanentError(f"event hubs: missing event: the canary sent to {hub} partition {partition} was not "
                             f"received on {CONSUMER_GROUP} within {RECEIVE_TIMEOUT_S:.0f} s{why}", evidence)
    return {**evidence, "sequence_number": got.sequence_number, "round_trip_s": round(time.monotonic() - sent_at, 3)}


def _receive_canary(client: Any, partition: str, after: int, token: str) -> tuple[Any, list[Exception]]:
    """The canary event as received, or None; receive() blocks until the client closes, so it runs in
    a thread that closing the client ends (the SDK's documented pattern)."""
    found: list[Any] = []
    errors: list[Exception] = []
    done = threading.Event()

    def on_event(context: Any, event: Any) -> None:
        if event is not None and _is_canary(event, token):
            found.append(event)
            done.set()

    receiver = threading.Thread(target=client.receive, daemon=True, kwargs={
        "on_event": on_event, "on_error": lambda context, error: errors.append(error), "partition_id": partition,
        "starting_position": after, "starting_position_inclusive": False, "max_wait_time": 1})
    receiver.start()
    done.wait(RECEIVE_TIMEOUT_S)
    client.close()
    receiver.join(10)
    return (found[0] if found else None), errors


def _is_canary(event: Any, token: str) -> bool:
    # Received application properties come back as bytes (AMQP strings), sent ones as str.
    properties = {_text(k): _text(v) for k, v in (event.properties or {}).items()}
    if properties.get(CANARY_PROPERTY) == token:
        return True
    try:
        return bool(json.loads(event.body_as_str()).get("drctl_canary") == token)
    except (ValueError, AttributeError, TypeError):
        return False


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def hubs_and_partitions(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Judged against the baseline's `hubs: {name: partitions}` when recorded, else the settings."""
    from azure.mgmt.eventhub import EventHubManagementClient

    namespace_id = str(probe.resource(NAMESPACE_TYPE)["id"])
    group, namespace = resource_group_and_name(namespace_id)
    client = probe.client(EventHubManagementClient, subscription_id=namespace_id.split("/")[2])
    listed = probe.call(f"list the hubs of {namespace}", lambda: list(client.event_hubs.list_by_namespace(group, namespace)))
    found = {hub.name: {"partitions": hub.partition_count, "status": enum_text(hub.status)} for hub in listed}
    recorded = (probe.baseline.get("hubs-and-partitions") or {}).get("hubs")
    expected = ({str(k): int(v) for k, v in recorded.items()} if recorded else
                {hub.name: hub.partitions for hub in getattr(probe.settings, "hubs", ())})
    mismatches = []
    for name, partitions in sorted(expected.items()):
        got = found.get(name)
        if got is None:
            mismatches.append(f"hub {name} missing from namespace {namespace}")
            continue
        if got["partitions"] != partitions:
            mismatches.append(f"hub {name} has {got['partitions']} partitions, expected {partitions}")
        if got["status"] not in (None, "Active"):
            mismatches.append(f"hub {name} is {got['status']}, not Active")
    return mismatches, {"namespace": namespace, "hubs": found, "expected": expected,
                        "judged_against": "baseline" if recorded else "settings"}


def replayed_event_count(probe: ServiceProbe) -> tuple[list[str], dict]:
    recorded = (probe.baseline.get("replayed-event-count") or {}).get("hubs") or {}
    host = namespace_host(probe)
    facts: dict[str, Any] = {}
    mismatches = []
    for hub in sorted(set(hub_names(probe)) | set(recorded)):
        record = recorded.get(hub) or {}
        at_watermark = {str(k): int(v) for k, v in (record.get("sequence_at_watermark") or {}).items()}
        with consumer(probe, host, hub) as client:
            what = f"event hub {hub} on {host}"
            partitions = [str(p) for p in amqp(what, client.get_eventhub_properties)["partition_ids"]]
            last = {p: int(amqp(what, client.get_partition_properties, p)["last_enqueued_sequence_number"])
                    for p in partitions}
        since = sum(last[p] - at_watermark.get(p, -1) for p in partitions)
        facts[hub] = {"enqueued_since_watermark": since, "last_sequence_numbers": last}
        if "sent" not in record:
            continue
        sent = int(record["sent"])
        facts[hub]["replay_sent"] = sent
        if since < sent:
            mismatches.append(f"hub {hub}: {since} event(s) enqueued since the recovered watermark, the replay sent "
                              f"{sent} ({sent - since} missing)")
    return mismatches, {"hubs": facts, "judged_against": "baseline" if recorded else
                        "no baseline recorded: counted for the report"}


CHECKS = (
    smoke(COMPONENT, "send-receive-event", send_receive_event, AZURE, tested_against=AMQP_DOUBLE),
    data(COMPONENT, "hubs-and-partitions", hubs_and_partitions, AZURE, plane="management", tested_against=NO_PAYLOAD),
    data(COMPONENT, "replayed-event-count", replayed_event_count, AZURE, tested_against=AMQP_DOUBLE),
)
