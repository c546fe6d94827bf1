"""`dataplatform:runner`: who runs drctl on the day, from which network, and what it was granted by hand.

Most of what the runner needs on a service's data plane the stacks make (components/runner.py): a
private endpoint and an Azure role. Some access Azure Resource Manager cannot grant: a Databricks
workspace user is a SCIM entry, a Purview collection role is Purview's own, membership of a
server's Entra administrator group is Entra's, a route into a VNet outside the stacks is the
network team's. Those are made by people, and the stack file says which were made
(`grantedOutOfBand`), so the path model (orchestrator/paths) can tell a declared prerequisite
from a gap. docs/how-to/day-0-prerequisites.md lists them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.child_names import SubnetName
from components.hub_layout import RUNNER_SUBNET
from components.roles import EntraAdmin
from components.settings import GUID, ServiceSettings

# Addresses the internet never sees a packet from (RFC 1918, shared, loopback, link-local): a private
# range given as egress is the subnet's, not what a public endpoint's firewall sees.
_NOT_INTERNET = tuple(ipaddress.ip_network(block) for block in
                      ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16"))
VNET_ID = r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/virtualNetworks/[^/]+$"


@dataclass(frozen=True)
class OutOfBand:
    """Access to the runner that no ARM call can give: what it is, and when it can be made."""

    what: str
    day0: bool = True  # False: only once the resource exists (on the day, for a recovered one)

    @property
    def said(self) -> str:
        when = "a day-0 prerequisite" if self.day0 else "a step after the deploy, outside ARM"
        return f"{when}: {self.what}"


OUT_OF_BAND: dict[str, OutOfBand] = {
    # MySQL flexible server, Azure SQL, SQL MI and Synapse take one Entra administrator each (a group).
    "mysql-admin-group": OutOfBand(
        "the runner is a member of the MySQL server's Entra administrator group (mysql.adminLogin), which "
        "the checks sign in as: the server takes one Entra administrator, and group membership is Entra's"),
    "sql-database-user": OutOfBand(
        "the runner is a member of Azure SQL's Entra administrator group (sqlDatabase.adminLogin), or a "
        "contained user of the database (CREATE USER ... FROM EXTERNAL PROVIDER) reading every table"),
    "sql-managed-instance-login": OutOfBand(
        "the runner is a member of the managed instance's Entra administrator group "
        "(sqlManagedInstance.entraAdmin), or a login (CREATE LOGIN ... FROM EXTERNAL PROVIDER) reading "
        "every user database"),
    "sql-managed-instance-network": OutOfBand(
        "a route from the runner's VNet to the managed instance's VNet (sqlManagedInstance.subnetId) on "
        "port 1433, e.g. peering: the instance's endpoint is in that VNet, which the stacks do not own"),
    "synapse-sql-user": OutOfBand(
        "the runner is a member of Synapse's Entra administrator group (synapse.entraAdmin), or a user "
        "of the dedicated SQL pool (CREATE USER ... FROM EXTERNAL PROVIDER)"),
    "sql-server-vm-network": OutOfBand(
        "a route from the runner's VNet to the VNet Site Recovery fails the SQL Server VMs over into "
        "(the vault's network mapping, made outside the program), on port 1433"),
    "sql-server-vm-login": OutOfBand(
        "the runner is a Microsoft Entra login of each replicated VM's SQL Server (CREATE LOGIN ... FROM "
        "EXTERNAL PROVIDER) reading every user database"),
    "databricks-workspace-user": OutOfBand(
        "the runner is a user of the Databricks workspace: a SCIM entry (the workspace's admin settings, "
        "or the account console's workspace assignment), made once the workspace exists", day0=False),
    "purview-data-reader": OutOfBand(
        "the runner holds Data Reader on the Purview account's root collection: a Purview collection "
        "role (governance portal or metadata policy API), made once the account exists", day0=False),
}


class RunnerNetwork(ServiceSettings):
    kind: Literal["vnet", "hub"]
    # kind vnet: the existing VNet and the runner's subnet in it.
    vnet_id: str | None = Field(None, alias="vnetId", pattern=VNET_ID)
    subnet: SubnetName = RUNNER_SUBNET
    # The runner's addresses: the firewall rules' source (hub), the subnet's range (both kinds).
    address_prefix: str = Field(alias="addressPrefix")
    # The public IPv4 addresses (or ranges) the runner's internet traffic leaves from, e.g. its NAT
    # gateway's: a service with no private link (Analysis Services) must admit them in its firewall.
    egress_addresses: tuple[str, ...] = Field((), alias="egressAddresses")

    @field_validator("address_prefix")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a CIDR block ({exc})") from None
        return value

    @field_validator("egress_addresses")
    @classmethod
    def _public_ipv4(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            try:
                network = ipaddress.ip_network(value, strict=True)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not an IPv4 address or CIDR block ({exc})") from None
            if network.version != 4 or any(network.overlaps(block) for block in _NOT_INTERNET):
                raise ValueError(f"{value!r} is not a public IPv4 address: the runner's egress is seen from the internet")
        return values

    @model_validator(mode="after")
    def _vnet_named(self) -> RunnerNetwork:
        if self.kind == "vnet" and self.vnet_id is None:
            raise ValueError("kind vnet needs vnetId: the resource id of the runner's existing VNet")
        if self.kind == "hub" and self.vnet_id is not None:
            raise ValueError("kind hub takes no vnetId: the runner's subnet is carved in the DR hub")
        return self

    def egress_ranges(self) -> list[tuple[str, str]]:
        """(first, last) address of each egress address or block: what IPv4 firewall rules take."""
        return [(str(n[0]), str(n[-1])) for n in map(ipaddress.ip_network, self.egress_addresses)]


class RunnerSettings(ServiceSettings):
    """`dataplatform:runner`: who runs drctl on the day, and from which network."""

    object_id: str = Field(alias="objectId", pattern=GUID)
    # The principal's display name: PostgreSQL registers an Entra administrator under it, and drctl
    # signs in with it as the user name.
    principal_name: str = Field(alias="principalName", min_length=1)
    principal_type: Literal["ServicePrincipal", "User", "Group"] = Field("ServicePrincipal", alias="principalType")
    # A service principal's application (client) id: Analysis Services names its administrators by it.
    client_id: str | None = Field(None, alias="clientId", pattern=GUID)
    network: RunnerNetwork
    # Access made by hand that no ARM call can make (OUT_OF_BAND's keys).
    granted_out_of_band: tuple[str, ...] = Field((), alias="grantedOutOfBand")

    @field_validator("granted_out_of_band")
    @classmethod
    def _known(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [key for key in keys if key not in OUT_OF_BAND]
        if unknown:
            raise ValueError(f"unknown {', '.join(map(repr, unknown))}: one of {', '.join(OUT_OF_BAND)}")
        return keys

    @property
    def as_admin(self) -> EntraAdmin:
        """The runner as a server's Entra administrator (PostgreSQL): its own entry, no group membership."""
        return EntraAdmin.model_validate({"objectId": self.object_id, "principalName": self.principal_name,
                                          "principalType": self.principal_type})

    @property
    def subnet_id(self) -> str | None:
        return f"{self.network.vnet_id}/subnets/{self.network.subnet}" if self.network.vnet_id else None

    def analysis_services_admin(self, tenant_id: str) -> str | None:
        """The runner as Analysis Services writes an administrator: a user by name, a group by object id,
        a service principal by application id; None for a service principal without `clientId`."""
        if self.principal_type == "User":
            return self.principal_name
        if self.principal_type == "Group":
            return f"obj:{self.object_id}@{tenant_id}"
        return f"app:{self.client_id}@{tenant_id}" if self.client_id else None

    def kusto_principal(self) -> tuple[str, str] | None:
        """(principalId, principalType) of the runner in a Kusto principal assignment: Kusto names an
        application by its application id, a user by its sign-in name; None for a service principal
        without `clientId`."""
        if self.principal_type == "ServicePrincipal":
            return (self.client_id, "App") if self.client_id else None
        return (self.principal_name if self.principal_type == "User" else self.object_id, self.principal_type)

    def granted(self, key: str) -> OutOfBand | None:
        return OUT_OF_BAND[key] if key in self.granted_out_of_band else None
