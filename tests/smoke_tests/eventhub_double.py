"""A thin double of azure-eventhub's two clients, for the checks' tests: AMQP has no example payloads
to replay, so the seam is the clients the checks open through `probe.connector("eventhub_producer" /
"eventhub_consumer", ...)`. They take the SDK's constructor arguments, hand out the SDK's own EventData
(received ones with bytes application properties and the sequence-number annotation, as the AMQP
decoder gives them), and block in receive() until closed, as the real consumer does."""

from __future__ import annotations

import threading
import time
from typing import Any

from azure.eventhub import EventData
from azure.eventhub.exceptions import AuthenticationError, EventHubError


class FakeEventHubs:
    """The namespace's side: hubs, their partitions and the events enqueued in each."""

    def __init__(self, hubs: dict[str, int], *, first_sequence: dict[str, int] | None = None) -> None:
        self.events: dict[str, dict[str, list[EventData]]] = {
            hub: {str(p): [] for p in range(count)} for hub, count in hubs.items()}
        # A partition's next sequence number (a hub that already carried events before the test).
        self.next_sequence = {(hub, p): (first_sequence or {}).get(p, 0) for hub in hubs for p in self.events[hub]}
        self.opened: list[dict[str, Any]] = []  # the constructor arguments of every client
        self.drop_sends = False  # accepted, never enqueued: the consumer never sees them
        self.rewrite_sends: tuple[str, dict[str, str]] | None = None  # what is enqueued instead of what was sent
        self.refuse_auth = False

    def producer(self, **kwargs: Any) -> FakeProducer:
        self.opened.append({"client": "producer", **kwargs})
        return FakeProducer(self, kwargs["eventhub_name"])

    def consumer(self, **kwargs: Any) -> FakeConsumer:
        self.opened.append({"client": "consumer", **kwargs})
        return FakeConsumer(self, kwargs["eventhub_name"])

    def enqueue(self, hub: str, partition: str, body: str, properties: dict[str, str] | None = None) -> None:
        sequence = self.next_sequence[(hub, partition)]
        self.next_sequence[(hub, partition)] = sequence + 1
        received = EventData(body)
        received.properties = {k.encode(): v.encode() for k, v in (properties or {}).items()}
        received.raw_amqp_message.annotations = {b"x-opt-sequence-number": sequence,
                                                 b"x-opt-enqueued-time": int(time.time() * 1000)}
        self.events[hub][partition].append(received)

    def partitions(self, hub: str) -> dict[str, list[EventData]]:
        if self.refuse_auth:
            raise AuthenticationError("CBS token refused: Unauthorized")
        if hub not in self.events:
            raise EventHubError(f"The messaging entity '{hub}' could not be found")
        return self.events[hub]


class _Client:
    def __init__(self, service: FakeEventHubs, hub: str) -> None:
        self.service, self.hub = service, hub
        self.closed = threading.Event()

    def get_partition_ids(self) -> list[str]:
        return list(self.service.partitions(self.hub))

    def get_eventhub_properties(self) -> dict[str, Any]:
        return {"eventhub_name": self.hub, "partition_ids": self.get_partition_ids()}

    def get_partition_properties(self, partition_id: str) -> dict[str, Any]:
        held = self.service.partitions(self.hub)[partition_id]
        last = self.service.next_sequence[(self.hub, partition_id)] - 1
        return {"eventhub_name": self.hub, "id": partition_id, "is_empty": not held,
                "beginning_sequence_number": held[0].sequence_number if held else last + 1,
                "last_enqueued_sequence_number": last}

    def close(self) -> None:
        self.closed.set()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeProducer(_Client):
    def send_batch(self, events: list[EventData], *, partition_id: str | None = None, **kwargs: Any) -> None:
        partition = partition_id if partition_id is not None else self.get_partition_ids()[0]
        if self.service.drop_sends:
            return
        for event in events:
            body, properties = self.service.rewrite_sends or (
                event.body_as_str(), {str(k): str(v) for k, v in (event.properties or {}).items()})
            self.service.enqueue(self.hub, partition, body, properties)


class FakeConsumer(_Client):
    def receive(self, on_event: Any, *, partition_id: str, starting_position: int = -1,
                starting_position_inclusive: bool = False, max_wait_time: float | None = None,
                on_error: Any = None, **kwargs: Any) -> None:
        """Calls on_event for each event past the starting sequence number, and with None after each
        quiet max_wait_time, until the client is closed."""
        delivered = 0
        while not self.closed.is_set():
            try:
                held = self.service.partitions(self.hub)[partition_id]
            except EventHubError as err:
                if on_error is not None:
                    on_error(None, err)
                self.closed.wait(0.05)
                continue
            fresh = [e for e in held if e.sequence_number > starting_position or
                     (starting_position_inclusive and e.sequence_number == starting_position)][delivered:]
            for event in fresh:
                on_event(None, event)
            delivered += len(fresh)
            if not fresh and self.closed.wait(max_wait_time or 0.05):
                return
            if not fresh:
                on_event(None, None)
