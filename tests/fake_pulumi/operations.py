"""`up`, `refresh`, `preview` and `destroy` as the fake CLI runs them: the scripted engine events,
streamed as the real CLI streams them, with what the real engine and azure-native do around them:

- azure-native (2.x, 3.x) checks that a resource does not exist before it creates one: a create
  whose ARM id Azure already has, while the stack's state does not, fails with the provider's
  "cannot create already existing resource '<id>'" (pulumi-azure-native, provider/pkg/azure,
  CanCreate). A scripted create of a resource the state already has is the update the engine
  would make of it instead.
- An update killed mid-way (`"crash": true`: the fake SIGKILLs itself after its events) leaves a
  pending "creating" operation for each create it started and did not finish; `"azure_finishes"`
  lists what Azure completed anyway (a geo-restore goes on without the CLI).
- The next `up` warns about pending operations and goes on (the engine's behaviour since Pulumi
  3.29, pulumi/pulumi#9293), keeping the pending creates in the state: only a refresh resolves
  them, with --import-pending-creates URN ID (the create finished: the refresh reads the resource
  into the state) or --clear-pending-creates (dropped; pulumi/pulumi#10394). Non-interactive,
  with neither flag, they stay.
- An `up` whose update is cancelled (`pulumi cancel` on a service backend) stops at its next event.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from fake_pulumi.state import (
    CONFIG_CONTEXT,
    State,
    arm_key,
    fail,
    option,
    options,
    stack_of,
    unlock,
)

WAIT_MAX_S = float(os.environ.get("FAKE_PULUMI_WAIT_MAX_S", "60"))  # a test that forgets to say go fails instead of hanging
HISTORY_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# What the service answers a cancelled update's next call (its 409 for an update that has ended).
CANCELLED = "error: [409] Conflict: The Update has already completed"


def pending_warning(pending: list[dict[str, Any]]) -> dict[str, Any]:
    """The engine's diagnostic when an update starts on a state with pending operations."""
    lines = "".join(f"  * {op['resource']['urn']}, interrupted while {op['type']}\n" for op in pending)
    message = (f"Attempting to deploy or update resources with {len(pending)} pending operations from previous "
               f"deployment.\n{lines}These resources are in an unknown state because the Pulumi CLI was "
               "interrupted while waiting for changes to these resources to complete.")
    return {"diagnosticEvent": {"message": message, "color": "never", "severity": "warning"}}


class Update:
    """What the engine does to the scripted events of one operation, with the state as it stands."""

    def __init__(self, state: State, stack: str, command: str) -> None:
        self.state, self.stack, self.command = state, stack, command
        self.started: dict[str, dict[str, Any]] = {}  # creates started and not finished: urn -> metadata
        self.as_update: set[str] = set()
        self.failed = self.cancelled = False

    def cancel_requested(self) -> bool:
        if self.command != "up":
            return False
        running = self.state.peek()["running"].get(self.stack) or {}
        self.cancelled = self.cancelled or bool(running.get("cancel"))
        return self.cancelled

    def translate(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self.command != "up":
            return [event]
        key = "resourcePreEvent" if "resourcePreEvent" in event else "resOutputsEvent"
        body = event.get(key)
        if body is None or body.get("planning") or body["metadata"]["op"] != "create":
            return [event]
        meta, urn = body["metadata"], body["metadata"]["urn"]
        if urn in self.as_update or (key == "resourcePreEvent" and self._in_state(urn)):
            self.as_update.add(urn)
            return [{key: {**body, "metadata": {**meta, "op": "update"}}}]
        if key == "resourcePreEvent":
            self.started[urn] = meta
            return [event]
        self.started.pop(urn, None)
        arm_id = (meta.get("new") or {}).get("id")
        with self.state as data:
            if arm_id and arm_key(arm_id) in data["azure"]:
                self.failed = True
                message = f"cannot create already existing resource '{arm_id}'"
                return [{"diagnosticEvent": {"urn": urn, "message": message, "color": "never", "severity": "error"}},
                        {"resOpFailedEvent": {"metadata": meta, "status": 1, "steps": 0}}]
            if arm_id:
                data["azure"][arm_key(arm_id)] = arm_id
            data["stacks"][self.stack]["resources"].append({"urn": urn, "type": meta["type"], "id": arm_id})
        return [event]

    def _in_state(self, urn: str) -> bool:
        return any(r.get("urn") == urn for r in self.state.peek()["stacks"][self.stack]["resources"])


def _stamped(events: list[dict[str, Any]], update: Update, crash: bool):
    sequence = 0
    for item in events:
        if "wait_for_file" in item:
            deadline = time.monotonic() + WAIT_MAX_S
            while not os.path.exists(item["wait_for_file"]) and time.monotonic() < deadline:
                if update.cancel_requested():
                    break
                time.sleep(0.02)
        if update.cancel_requested():
            break
        for event in ([] if "wait_for_file" in item else update.translate(item)):
            sequence += 1
            yield {"sequence": sequence, "timestamp": int(time.time()), **event}
    if not crash:  # a killed CLI never closes its stream
        yield {"sequence": sequence + 1, "timestamp": int(time.time()), "cancelEvent": {}}


def emit_events(target: str | None, events: list[dict[str, Any]], update: Update, crash: bool) -> None:
    stream = _stamped(events, update, crash)
    if not target:
        for _ in stream:  # nobody listens; still honour the pauses and the engine's rules
            pass
        return
    if target.startswith("tcp://"):
        # Newer CLIs stream events to the Automation API's gRPC server instead of a file.
        import grpc
        from pulumi.runtime.proto import events_pb2, events_pb2_grpc

        with grpc.insecure_channel(target.removeprefix("tcp://")) as channel:
            stub = events_pb2_grpc.EventsStub(channel)
            stub.StreamEvents(events_pb2.EventRequest(event=json.dumps(e)) for e in stream)
        return
    with open(target, "a", encoding="utf-8") as handle:
        for event in stream:
            handle.write(json.dumps(event) + "\n")
            handle.flush()


def history_entry(kind: str, result: str, started: float, changes: dict[str, Any]) -> dict[str, Any]:
    def fmt(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz=UTC).strftime(HISTORY_FORMAT)

    return {"kind": kind, "startTime": fmt(started), "endTime": fmt(time.time()), "message": "",
            "environment": {"exec.kind": "auto.local"}, "config": {}, "result": result, "version": 1,
            "resourceChanges": changes}


def settle_pending_creates(data: dict[str, Any], stack: dict[str, Any], args: list[str]) -> list[str]:
    """A refresh's handling of pending creates (pulumi/pkg/cmd/pulumi refresh); returns the URNs given
    to --import-pending-creates that matched no pending create."""
    clear, skip = "--clear-pending-creates" in args, "--skip-pending-creates" in args
    if clear and skip:
        fail("error: cannot set both --skip-pending-creates and --clear-pending-creates")
    pairs = options(args, "--import-pending-creates")
    if len(pairs) % 2:
        fail("error: each URN must be followed by an ID: found an odd number of entries")
    wanted = dict(zip(pairs[::2], pairs[1::2], strict=True))
    kept = []
    for operation in stack["pending_operations"]:
        if operation["type"] != "creating":
            continue  # a refresh resolves the other pending operations
        resource = operation["resource"]
        arm_id = wanted.pop(resource["urn"], None)
        if arm_id is not None:
            # Now a pending import: the refresh reads it, into the state if Azure has it.
            if arm_key(arm_id) in data["azure"]:
                stack["resources"].append({"urn": resource["urn"], "type": resource["type"], "id": arm_id})
        elif not clear:
            kept.append(operation)
    stack["pending_operations"] = kept
    return list(wanted)


def run_operation(state: State, command: str, args: list[str]) -> None:
    name = option(args, "--stack")
    unused: list[str] = []
    if command == "refresh" and "--preview-only" in args:
        command = "preview_refresh"  # changes nothing, records no history: a preview of a refresh
    dry_run = command in ("preview", "preview_refresh")
    with state as data:
        stack = stack_of(data, args)
        unlock(stack, CONFIG_CONTEXT)
        known = len(stack["resources"] or stack["outputs"])
        pending = list(stack["pending_operations"])
        if command == "refresh":
            unused = settle_pending_creates(data, stack, args)
        if command == "up":
            data["running"][name] = {"pid": os.getpid(), "cancel": False}
    run = state.next_run(command)
    started = time.time()
    crash = bool(run.get("crash"))
    events = list(run.get("events", []))
    if command == "up" and pending:
        events.insert(0, pending_warning(pending))
    if dry_run and not any("summaryEvent" in e for e in events):
        events.append({"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 0,
                                        "resourceChanges": {"same": known}, "PolicyPacks": {}}})
    update = Update(state, name, command)
    emit_events(option(args, "--event-log"), events, update, crash)
    code = int(run.get("exit_code", 0))
    stderr = run.get("stderr", f"error: {command} failed")
    if update.cancelled:
        code, stderr = 255, CANCELLED
    elif update.failed and code == 0:
        code = 255
    changes: dict[str, Any] = {}
    for event in events:
        changes = event.get("summaryEvent", {}).get("resourceChanges", changes)
    for urn in unused:
        sys.stderr.write(f'warning: "{urn}" did not correspond to a pending create\n')
    if dry_run:
        if code == 0 and "--expect-no-changes" in args and any(n for op, n in changes.items() if op != "same"):
            code, stderr = 255, "error: no changes were expected but changes were proposed"
        sys.stdout.write(run.get("stdout", "preview done\n"))
        if code:
            fail(stderr, code)
        return
    _record(state, command, args, run, update, started, code, changes, crash)
    if crash:
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdout.write(run.get("stdout", f"{command} done\n"))
    if code:
        fail(stderr, code)


def _record(state: State, command: str, args: list[str], run: dict[str, Any], update: Update, started: float,
            code: int, changes: dict[str, Any], crash: bool) -> None:
    name = option(args, "--stack")
    with state as data:
        stack = data["stacks"][name]
        data["running"].pop(name, None)
        if command == "up":
            # The engine carries pending creates over to the new state until a refresh resolves them.
            carried = [op for op in stack["pending_operations"] if op["type"] == "creating"]
            left = [{"resource": {"urn": urn, "custom": True, "type": meta["type"],
                                  "inputs": (meta.get("new") or {}).get("inputs") or {}}, "type": "creating"}
                    for urn, meta in update.started.items()] if (crash or update.cancelled) else []
            stack["pending_operations"] = carried + left
        if update.cancelled:
            data["cancelled_updates"].append({"stack": name, "pid": os.getpid(), "at": time.time()})
        if "pending_operations" in run:
            stack["pending_operations"] = run["pending_operations"]
        for arm_id in run.get("azure_finishes", []):
            data["azure"][arm_key(arm_id)] = arm_id
        if code == 0 and "outputs" in run:
            stack["outputs"] = run["outputs"]
        if code == 0 and command == "destroy":
            targets = options(args, "--target")
            gone = [r for r in stack["resources"] if not targets or r.get("urn") in targets]
            for resource in gone:
                data["azure"].pop(arm_key(resource.get("id") or ""), None)
            # Only the targets: their dependents are the test's to list as targets too.
            stack["resources"] = [r for r in stack["resources"] if r not in gone]
            if not targets:
                stack["outputs"] = {}
        if not crash:  # a killed CLI records no end to its update
            result = "succeeded" if code == 0 else "failed"
            stack["history"].insert(0, history_entry(command, result, started, changes))
