"""A smoke or data check, as an object: which component it proves, how, and where drctl runs it.

Each service's checks are declared in smoke_tests/<stem>.py and its DR profile refers to them
(components/<stem>.py). A check with no function is declared only: drctl cannot run it anywhere,
and `drctl coverage` lists it as not implemented rather than pretending it passed.

- A smoke check's function takes the service's probe (the clients and names it needs, built by the
  target that runs it: Azurite or Azure for the lake, a local or an Azure PostgreSQL server) and
  returns `{"ok": bool, "checks": [{"check": ..., "ok": ...}, ...]}`, or raises.
- A data check's function compares one fact of every object of a recovered store (a container's
  blob count, a table's checksum) with the backup's manifest: see `SameFact`.

A check that fails raises one of the two errors defined here, which every recovery step raises too
(orchestrator/model.py takes them from here): TransientError to be retried (a server not Online yet),
PermanentError to stop (a canary read back wrong).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Literal


class TransientError(Exception):
    """Worth retrying: throttling, a 5xx, a timeout, a reset connection, a concurrent update."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(Exception):
    """Retrying cannot help: bad data, a missing source, a refused request.

    `evidence` (JSON-able, no secrets) is journaled with the failure, e.g. a validation's mismatches.
    """

    def __init__(self, message: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence


class CheckKind(StrEnum):
    SMOKE = "smoke"  # the service answers: write and read a canary, SELECT 1, a query
    DATA = "data"  # the recovered data is complete and accurate: counts, checksums, watermarks


Plane = Literal["data", "management", "public"]
# Where a smoke check's result goes in a step's evidence, by the plane it calls (Check.plane).
PLANE_KEYS = {"data": "data_plane", "management": "management_checks", "public": "public_checks"}


class Target(StrEnum):
    LOCAL = "local"  # drctl drill --local: the emulators of the local region pair
    AZURE = "azure"  # drctl failover / fallback on a real subscription


@dataclass(frozen=True)
class SameFact:
    """A data check: fact `fact` of every object (container, table) equals the manifest's.

    The facts are what the store's listing or SQL gives without moving the data: a container's
    `blobs`, `bytes` and `digest`, a table's `rows`, `checksum` and `max_ts` (orchestrator/data/manifest.py)."""

    fact: str

    def __call__(self, want: Mapping[str, Any], got: Mapping[str, Any]) -> str | None:
        """None when equal, else the mismatch in words."""
        if want.get(self.fact) == got.get(self.fact):
            return None
        return f"{self.fact} expected {want.get(self.fact)!r}, found {got.get(self.fact)!r}"


@dataclass(frozen=True)
class Check:
    component: str  # the DR profile key it belongs to
    name: str  # as declared, e.g. "select-1"
    kind: CheckKind
    runs_on: frozenset[Target] = frozenset()  # the targets on which drctl runs it
    function: Callable[..., Any] | None = None  # None: declared, not implemented anywhere yet
    # Running it changes the service, not only reads it (the Event Hubs alias's failover): never run
    # it where only a read is wanted (a fallback's checks of the primary).
    fails_over: bool = False
    # Where it calls the service: its data plane (through the runner's private endpoints, with a data
    # role), only Azure Resource Manager (a provisioning state, a list of subnets), or public DNS.
    plane: Plane = "data"
    # What its tests run it against, where no Azure is at hand: "local server" (Azurite, PostgreSQL),
    # "spec examples" (the REST API specs' payloads through the real SDK), or "transport double: <why>"
    # (no payload exists: a thin double at the SDK's transport, e.g. AMQP). Shown by `drctl coverage`.
    tested_against: str = ""

    def __post_init__(self) -> None:
        # A check cannot claim a target without something to run there, nor hide an implementation.
        if (self.function is None) != (not self.runs_on):
            raise ValueError(f"{self.component}: check {self.name!r}: runs_on and function go together")

    @property
    def implemented(self) -> bool:
        return self.function is not None

    def runs_on_target(self, target: Target) -> bool:
        return target in self.runs_on


# How an Azure check makes one SDK call: call(what, fn, *args, **kwargs), the SDK's errors turned into
# the two above with `what` in the message (the azure target's orchestrator/targets/azure/errors.py).
Call = Callable[..., Any]


def enum_text(value: Any) -> str | None:
    """An SDK enum (or plain string) field as text."""
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


LOCAL_SERVER = "local server"
SPEC_EXAMPLES = "spec examples"
TRANSPORT_DOUBLE = "transport double: "  # followed by what it stands in for and why no payload exists

LOCAL_AND_AZURE = frozenset({Target.LOCAL, Target.AZURE})
AZURE = frozenset({Target.AZURE})


def smoke(component: str, name: str, function: Callable[..., Any] | None = None,
          runs_on: frozenset[Target] = frozenset(), *, fails_over: bool = False, plane: Plane = "data",
          tested_against: str = "") -> Check:
    return Check(component, name, CheckKind.SMOKE, runs_on, function, fails_over, plane, tested_against)


def data(component: str, name: str, function: Callable[..., Any] | None = None,
         runs_on: frozenset[Target] = frozenset(), *, plane: Plane = "data", tested_against: str = "") -> Check:
    return Check(component, name, CheckKind.DATA, runs_on, function, plane=plane, tested_against=tested_against)
