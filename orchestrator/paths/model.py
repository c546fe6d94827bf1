"""A data-plane path: one operation of the plan, who performs it, against which endpoint, and
whether the graph gives that caller a network route and a role with the data action it needs.

`drctl coverage --json` lists them as `paths`, and a path that is not ok is a coverage gap;
`drctl failover --dry-run` prints the same table; the Azure preflight checks them against live
state. See docs/reference/paths.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# The runner (drctl), the factory (its replay copies), or the new lake's storage service (which
# fetches a server-side copy's source itself).
Actor = Literal["runner", "data_factory", "storage_service"]


@dataclass(frozen=True)
class Access:
    """What an operation needs of its target: a way in, and the right to do what it does.

    The way in is a private link sub-resource (`group_id`, registered in `zone`), or, for a service
    with no private link or one left open to the internet, its public host (`public_host`) through
    the runner's egress; `routed` instead names a route made by hand (a VNet outside the stacks,
    components/runner_settings.OUT_OF_BAND).

    The right is an Azure RBAC action or data action (`action`, and every one of `also`); or, with
    `admin`, an entry in the service's own principal list (a PostgreSQL or MySQL Entra administrator,
    a Kusto principal assignment, a Cosmos DB SQL role assignment), of one of `entry_roles` when the
    list has roles; or access granted by hand (`granted`, an OUT_OF_BAND key), which also stands in
    for a single administrator entry the runner cannot take; or none (`anonymous`)."""

    group_id: str  # the private link sub-resource: blob, blob_secondary, postgresqlServer, namespace, ...
    zone: str  # components/private_endpoint.PRIVATE_DNS_ZONES key of its privatelink zone
    action: str = ""
    admin: bool = False
    also: tuple[str, ...] = ()
    entry_roles: tuple[str, ...] = ()
    granted: str = ""
    anonymous: bool = False
    public_host: str = ""  # with {name}, {region}: the host reached when the target is open (or has no link)
    routed: str = ""

    @property
    def actions(self) -> tuple[str, ...]:
        return (self.action, *self.also) if self.action else self.also


@dataclass(frozen=True)
class Operation:
    name: str  # e.g. "lake.list_source"
    actor: Actor
    component: str  # the service key it belongs to
    stack: str  # the stack whose resource it calls (the pair's for the geo copy)
    target_type: str  # type token suffix of the target, e.g. "storage:StorageAccount"
    target_component: str  # the component that declares the target
    access: Access | None  # None: a public Azure endpoint (ARM, Entra, the state backend)
    endpoint: str = ""  # filled in from the target's name
    fqdn: str = ""  # for a public endpoint


@dataclass
class Link:
    ok: bool
    via: str = ""
    missing: list[str] = field(default_factory=list)
    through: str = ""  # the private endpoint's logical name, or the role definition's GUID
    prerequisite: str = ""  # the access made by hand (OUT_OF_BAND) this link rests on, as said

    def to_json(self, role_key: str) -> dict[str, Any]:
        return {"ok": self.ok, role_key: self.via or None, "missing": list(self.missing)}


@dataclass
class PathResult:
    operation: str
    actor: str
    target: str
    endpoint: str
    network: Link
    identity: Link
    component: str = ""
    # The target as the live checks look it up: {stack, type, group, name}; the private endpoint the
    # network link goes through (its logical name), when it does.
    target_ref: dict[str, str] = field(default_factory=dict)
    private_endpoint: str = ""
    role_definition: str = ""

    @property
    def ok(self) -> bool:
        return self.network.ok and self.identity.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "actor": self.actor,
            "target": self.target,
            "endpoint": self.endpoint,
            "network": self.network.to_json("via"),
            "identity": self.identity.to_json("role"),
        }

    @property
    def prerequisites(self) -> list[str]:
        return [link.prerequisite for link in (self.network, self.identity) if link.ok and link.prerequisite]

    def gap(self) -> str:
        """The coverage gap line: the operation and its missing links."""
        missing = [*self.network.missing, *self.identity.missing]
        return f"path {self.operation} ({self.actor} -> {self.endpoint}): missing {'; '.join(missing)}"
