"""Builders for the fake `pulumi` CLI's scenario files (tests/fake_pulumi/bin/pulumi).

Events are built in the shapes the engine writes them (pulumi/automation/events.py reads the
same JSON), so what reaches drctl went through the Automation API's own parsing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FAKE_ROOT = Path(__file__).resolve().parent
FAKE_BIN = FAKE_ROOT / "bin" / "pulumi"
PROJECT = "dataplatform"
CONFLICT = "error: [409] Conflict: Another update is currently in progress.\nTo learn more about possible reasons and resolution, visit https://www.pulumi.com/docs/common-errors/#conflict"


def urn(stack: str, type_: str, name: str, parents: tuple[str, ...] = (), project: str = PROJECT) -> str:
    """A URN as the real engine builds it: the parent types, then the type, then the logical name
    (the root stack's type is not part of a child's chain)."""
    return f"urn:pulumi:{stack}::{project}::{'$'.join((*parents, type_))}::{name}"


def _metadata(urn_: str, type_: str, op: str, new: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"op": op, "urn": urn_, "type": type_, "provider": "", "old": None,
            "new": {"type": type_, "urn": urn_, "custom": True, **(new or {})}, "logical": True}


def started(urn_: str, type_: str, op: str = "create", inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A step starting; `inputs` are the resource's (what a pending create keeps in the state)."""
    new = {"inputs": inputs} if inputs is not None else None
    return {"resourcePreEvent": {"metadata": _metadata(urn_, type_, op, new), "planning": False}}


def finished(urn_: str, type_: str, op: str = "create", *, id_: str | None = None,
             outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    new = {"id": id_ or f"/fake/{urn_.rsplit('::', 1)[-1]}", "outputs": outputs or {}}
    return {"resOutputsEvent": {"metadata": _metadata(urn_, type_, op, new), "planning": False}}


def failed(urn_: str, type_: str, message: str, op: str = "create") -> list[dict[str, Any]]:
    """What the engine sends for a resource operation that failed: the error as a diagnostic on the
    resource, then the failure itself (which carries no message)."""
    return [
        {"diagnosticEvent": {"urn": urn_, "message": message, "color": "never", "severity": "error"}},
        {"resOpFailedEvent": {"metadata": _metadata(urn_, type_, op), "status": 1, "steps": 0}},
    ]


def resource(urn_: str, type_: str, op: str = "create", **kwargs: Any) -> list[dict[str, Any]]:
    return [started(urn_, type_, op), finished(urn_, type_, op, **kwargs)]


def prelude() -> dict[str, Any]:
    return {"preludeEvent": {"config": {}}}


def summary(changes: dict[str, int], duration_s: int = 1) -> dict[str, Any]:
    return {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": duration_s,
                             "resourceChanges": changes, "PolicyPacks": {}}}


def pending_create(urn_: str, type_: str, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A create an interrupted update left in the checkpoint (`pending_operations`, type "creating")."""
    return {"resource": {"urn": urn_, "custom": True, "type": type_, "inputs": inputs or {}}, "type": "creating"}


def wait_for(path: Path) -> dict[str, Any]:
    """Pause the fake's event stream until `path` exists (a test's go signal; no sleeps in tests)."""
    return {"wait_for_file": str(path)}


def write_scenario(directory: Path, *, stacks: dict[str, dict[str, Any]], up: list[dict[str, Any]] | None = None,
                   refresh: list[dict[str, Any]] | None = None, destroy: list[dict[str, Any]] | None = None,
                   preview: list[dict[str, Any]] | None = None, azure: list[str] | None = None) -> Path:
    """`azure`: the ARM ids Azure has when the test starts (outside any stack's state)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "scenario.json"
    document = {"stacks": stacks, "up": up or [], "refresh": refresh or [], "destroy": destroy or [],
                "preview": preview or [], "azure": azure or []}
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


SERVICE_BACKEND = "https://api.pulumi.com"


def fake_env(scenario: Path, backend: str = SERVICE_BACKEND) -> dict[str, str]:
    """What the CLI subprocesses need to find the scenario and an interpreter with grpcio; the
    backend is named so that the developer's own PULUMI_BACKEND_URL never leaks into a test."""
    return {"FAKE_PULUMI_SCENARIO": str(scenario), "FAKE_PULUMI_PYTHON": sys.executable,
            "PULUMI_BACKEND_URL": backend}


def state(directory: Path) -> dict[str, Any]:
    """The fake backend as it stands: stacks (resources, pending operations...), `azure`, `cancelled_updates`."""
    path = directory / "fake_pulumi_state.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def calls(directory: Path) -> list[list[str]]:
    """Every command line the fake answered, in order."""
    path = directory / "fake_pulumi_calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["args"] for line in path.read_text(encoding="utf-8").splitlines() if line]


def operations(directory: Path) -> list[list[str]]:
    """Only the `up` and `refresh` command lines."""
    return [args for args in calls(directory) if args[:1] in (["up"], ["refresh"])]


def lifecycle(directory: Path) -> list[str]:
    """The stack's life as the fake saw it, e.g. ["stack init", "up", "destroy", "stack rm"]."""
    wanted = (["stack", "init"], ["stack", "rm"], ["up"], ["destroy"], ["refresh"])
    return [" ".join(prefix) for args in calls(directory) for prefix in wanted if args[:len(prefix)] == prefix]
