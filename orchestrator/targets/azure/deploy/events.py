"""Per-resource evidence from the Pulumi engine's event stream (`Stack.up(on_event=...)`).

The engine reports each resource step as a ResourcePreEvent (started), then a ResOutputsEvent
(done) or a ResOpFailedEvent (failed); the failure's message comes separately, as an error
DiagnosticEvent on the same URN. The SummaryEvent closes the update with its change counts.
Shapes: pulumi/automation/events.py.

Not thread-safe on its own: the caller serialises `on_event` and the readers under one lock
(events arrive on the Automation API's watcher or gRPC threads).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.redact import REDACTOR

# Ops that clean up after a replacement or a pending replace: they come after the resource's
# new state is in place (delete-replaced often at the very end), so they do not re-open it.
_CLEANUP_OPS = frozenset({"delete-replaced", "discard-replaced", "remove-pending-replace"})
# A replacement is create-replacement then replace: the resource is done at the second.
_UNFINISHED_OPS = frozenset({"create-replacement"})
# Outputs kept for dependent steps: how to reach and identify the resource. Everything else a
# provider returns (keys, connection strings, full ARM bodies) stays out of the journal.
OUTPUT_KEYS = (
    "name", "location", "provisioningState", "primaryEndpoints", "secondaryEndpoints", "primaryLocation",
    "secondaryLocation", "fullyQualifiedDomainName", "serviceBusEndpoint", "documentEndpoint", "vaultUri",
    "createMode", "statusOfPrimary", "statusOfSecondary",
)
_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker on a serialised secret value
_COLOR = re.compile(r"<\{%[^%]*%\}>|\x1b\[[0-9;]*m")  # Pulumi's raw colour tags and ANSI codes


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clean_message(text: str) -> str:
    """One diagnostic as plain, redacted text (no colour tags, no trailing newline)."""
    return REDACTOR.text(_COLOR.sub("", text)).strip()


def urn_parts(urn: str) -> tuple[tuple[str, ...], str]:
    """(type chain, logical name) of `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return (), urn
    return tuple(parts[2].split("$")), "::".join(parts[3:])


@dataclass
class ResourceRecord:
    urn: str
    type: str
    name: str  # the logical name, the URN's last part
    op: str | None = None
    ops: list[str] = field(default_factory=list)
    status: str = "running"  # running | done | failed
    started_at: float | None = None
    finished_at: float | None = None
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_evidence(self) -> dict[str, Any]:
        duration = None
        if self.started_at is not None and self.finished_at is not None:
            duration = round(self.finished_at - self.started_at, 3)
        return {
            "urn": self.urn, "type": self.type, "name": self.name, "op": self.op, "ops": list(self.ops),
            "status": self.status, "id": self.id, "error": self.error,
            "started_at": iso(self.started_at) if self.started_at is not None else None,
            "finished_at": iso(self.finished_at) if self.finished_at is not None else None,
            "duration_s": duration,
        }


class EngineEvidence:
    """Collects the resource records of one `up` (or `refresh`), keyed by URN."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        # The receiving clock, not the event's own timestamp: the engine stamps whole seconds.
        self._clock = clock
        self.records: dict[str, ResourceRecord] = {}
        self.summary: dict[str, Any] | None = None
        self.errors: list[str] = []  # error diagnostics not tied to a resource (the program's own)
        self._pending_errors: dict[str, str] = {}  # diagnostics that came before their failure event

    def _record(self, metadata: Any) -> ResourceRecord:
        record = self.records.get(metadata.urn)
        if record is None:
            _, name = urn_parts(metadata.urn)
            record = self.records[metadata.urn] = ResourceRecord(urn=metadata.urn, type=metadata.type, name=name)
        return record

    def on_event(self, event: Any) -> None:
        now = self._clock()
        if event.resource_pre_event is not None and not event.resource_pre_event.planning:
            meta = event.resource_pre_event.metadata
            record, op = self._record(meta), str(meta.op.value)
            record.ops.append(op)
            if record.started_at is None:
                record.started_at = now  # a delete-before-replace starts with its delete
            if op in _CLEANUP_OPS:
                return
            if record.status != "failed":
                record.status, record.op = "running", _stronger(record.op, op)
        elif event.res_outputs_event is not None and not event.res_outputs_event.planning:
            meta = event.res_outputs_event.metadata
            record, op = self._record(meta), str(meta.op.value)
            if op in _CLEANUP_OPS or record.status == "failed":
                return
            if op not in _UNFINISHED_OPS:
                record.status, record.finished_at = "done", now
            if meta.new is not None:
                record.id = meta.new.id or record.id
                record.outputs = _kept_outputs(meta.new.outputs or {})
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            record = self._record(meta)
            record.status, record.finished_at = "failed", now
            record.op = _stronger(record.op, str(meta.op.value))
            record.error = self._pending_errors.pop(meta.urn, None) or record.error or "the resource operation failed"
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            diag = event.diagnostic_event
            message = clean_message(diag.message)
            if not diag.urn or "pulumi:pulumi:Stack" in diag.urn:
                self.errors.append(message)
            elif diag.urn in self.records and self.records[diag.urn].status == "failed":
                self.records[diag.urn].error = message
            else:
                self._pending_errors[diag.urn] = message
        elif event.summary_event is not None:
            self.summary = {
                "resource_changes": {str(k): v for k, v in (event.summary_event.resource_changes or {}).items()},
                "duration_s": event.summary_event.duration_seconds,
                "maybe_corrupt": bool(event.summary_event.maybe_corrupt),
            }

    def failed(self) -> list[ResourceRecord]:
        return [r for r in self.records.values() if r.status == "failed"]


def _stronger(current: str | None, new: str) -> str:
    """The op that says most about what happened to the resource (a replace beats its create)."""
    rank = {"same": 0, "read": 1, "refresh": 1, "update": 2, "create": 3, "import": 3, "create-replacement": 4,
            "replace": 5}
    if current is None:
        return new
    return new if rank.get(new, 2) >= rank.get(current, 2) else current


def _kept_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    kept = {key: outputs[key] for key in OUTPUT_KEYS if key in outputs and not _secret(outputs[key])}
    return REDACTOR(kept)


def _secret(value: Any) -> bool:
    return value == "[secret]" or (isinstance(value, dict) and _SECRET_SIG in value)
