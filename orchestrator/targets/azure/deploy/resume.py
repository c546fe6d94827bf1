"""Before the `pulumi up` of a resumed run: the creates the interrupted one left pending.

A create the CLI started and never saw finish stays in the checkpoint as a pending "creating"
operation. Azure may well have finished it meanwhile (a 30-minute geo-restore, a firewall): drop
it from the state (`refresh --clear-pending-creates`) and the next `up` creates it again, which
azure-native refuses ("cannot create already existing resource"). So each pending create's ARM id
is rebuilt (deploy/arm_ids.py) and looked up in ARM with the API version azure-native uses;
those Azure has are imported by the refresh (`--import-pending-creates URN ID`, read into the
state with their real properties), the others are cleared. Both lists go to the journal as the
deploy step's evidence (`update.refresh_first`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.deploy.arm_ids import arm_id, provider_api_version
from orchestrator.targets.azure.deploy.events import urn_parts

if TYPE_CHECKING:
    from pathlib import Path

    from orchestrator.program.graph import Graph
    from orchestrator.targets.azure.clients import AzureSession
    from orchestrator.targets.azure.deploy.stack import PulumiStack

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Lookup:
    """What ARM says of one pending create: found (import it), absent (clear it) or unknown (why)."""

    arm_id: str | None
    found: bool
    detail: dict[str, Any] = field(default_factory=dict)


class PendingCreates(Protocol):
    def lookup(self, pending: dict[str, Any]) -> Lookup: ...

    def close(self) -> None: ...


class ArmPendingCreates:
    """Looks pending creates up in ARM: the id from the recorded inputs (else the preview graph's),
    the resource by `resources.get_by_id` with azure-native's API version for its type. The Azure
    session is opened on first use: a resume with nothing pending never signs in."""

    def __init__(self, session_factory: Callable[[], AzureSession], graph: Graph | None = None) -> None:
        self._factory, self._graph = session_factory, graph
        self._session: AzureSession | None = None
        self._lock = threading.Lock()

    def lookup(self, pending: dict[str, Any]) -> Lookup:
        type_token = str(pending.get("type"))
        session = self._azure()
        inputs = pending.get("inputs") or self._graph_inputs(str(pending.get("urn")), type_token)
        resource_id = arm_id(type_token, inputs, session.subscription_id)
        if resource_id is None:
            return Lookup(None, False, {"reason": "no ARM id can be built for it from its inputs"})
        version = provider_api_version(type_token)
        if version is None:
            return Lookup(resource_id, False, {"reason": f"no API version known for {type_token}"})
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

        try:
            resource = session.resources().resources.get_by_id(resource_id, api_version=version)
        except ResourceNotFoundError:
            return Lookup(resource_id, False, {"reason": "Azure has no such resource", "api_version": version})
        except (ServiceRequestError, HttpResponseError) as exc:
            status = getattr(exc, "status_code", None)
            message = f"could not look up {resource_id} in ARM: {type(exc).__name__}: {exc}".splitlines()[0]
            if status is None or status == 429 or status >= 500:
                raise TransientError(message) from exc
            raise PermanentError(message) from exc
        properties = resource.properties if isinstance(resource.properties, dict) else {}
        # What it was doing when looked up: most types say provisioningState, some (flexible servers) state.
        status = {key: properties[name] for key, name in (("provisioning_state", "provisioningState"),
                                                          ("state", "state")) if name in properties}
        return Lookup(resource_id, True, {"api_version": version, **status})

    def _azure(self) -> AzureSession:
        with self._lock:
            if self._session is None:
                self._session = self._factory()
            return self._session

    def _graph_inputs(self, urn: str, type_token: str) -> dict[str, Any]:
        """The program's inputs for the resource at `urn`, matched by its type chain and name (the
        mock runtime's URNs carry the root stack in the chain, the engine's do not)."""
        if self._graph is None:
            return {}
        chain, name = urn_parts(urn)
        for resource in self._graph.resources:
            their_chain, their_name = urn_parts(resource["urn"])
            if their_name == name and tuple(t for t in their_chain if t != STACK_TYPE) == chain:
                return dict(self._graph.inputs.get(resource["urn"], {}))
        same = [r for r in self._graph.resources if r["type"] == type_token and r["name"] == name]
        return dict(self._graph.inputs.get(same[0]["urn"], {})) if len(same) == 1 else {}

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


def settle_pending_creates(stack: PulumiStack, pending: list[dict[str, Any]],
                           creates: PendingCreates | None) -> dict[str, Any]:
    """One refresh that imports the pending creates Azure finished and clears the rest; returns
    what it did, for the journal. Without a way to look them up, all are cleared (and said so)."""
    imported: list[dict[str, Any]] = []
    cleared: list[dict[str, Any]] = []
    try:
        for operation in pending:
            if operation.get("op") != "creating":
                continue  # a refresh resolves the others itself
            found = creates.lookup(operation) if creates is not None else Lookup(
                None, False, {"reason": "this run has no Azure lookup for pending creates"})
            entry = {"urn": operation.get("urn"), "type": operation.get("type"), "id": found.arm_id, **found.detail}
            (imported if found.found else cleared).append(entry)
    finally:
        if creates is not None:
            creates.close()
    summary = stack.refresh(clear_pending_creates=True,
                            import_pending_creates=[(str(i["urn"]), str(i["id"])) for i in imported])
    return {"imported": imported, "cleared": cleared, "summary": summary}


def azure_pending_creates(project_dir: Path, stack: str, graph: Graph | None) -> ArmPendingCreates:
    """The lookup a failover uses: DefaultAzureCredential on the stack's subscription (its
    azure-native:subscriptionId, else ARM_/AZURE_SUBSCRIPTION_ID), resolved only when a pending
    create needs it."""

    def session() -> AzureSession:
        from orchestrator.targets.azure.clients import AzureSession
        from orchestrator.targets.azure.preflight.run import subscription_id_for

        return AzureSession.from_environment(subscription_id_for(project_dir, stack), retry_total=2)

    return ArmPendingCreates(session, graph)
