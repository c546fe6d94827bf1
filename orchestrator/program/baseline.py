"""The security baseline, checked offline over the inputs of the program's resource graph.

The rules: over one resource's inputs in orchestrator/program/rules.py (HTTPS, TLS, public access,
Key Vault, NSGs, identities over keys, firewall threat intelligence, hardening), across resources in
orchestrator/program/graph_rules.py (private endpoints, MySQL parameters, diagnostic settings to
the workspace, SQL auditing). `drctl coverage` reports every violation as a gap, and the tests run
these rules over every stack file of the repository.

A resource that must break a rule for a reason is listed in EXCEPTIONS with that reason: its
violation is reported as excepted (never silently passed), and the tests fail on an exception
that no longer matches a violation. Hardening the baseline deliberately does not ask for is in
DECLINED, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from orchestrator.program.graph_rules import GRAPH_RULES
from orchestrator.program.rules import (
    AUDITING,
    CUSTOM,
    DIAGNOSTICS,
    DOUBLE_ENCRYPTION,
    EXFILTRATION,
    HTTPS,
    IDENTITY,
    KEY_VAULT,
    MISSING,
    NSG,
    PRIVATE_DATA,
    PRIVATE_SERVICE,
    PRIVATE_STORAGE,
    PUBLIC_BLOB,
    RULES,
    THREAT_INTEL,
    TLS,
    Custom,
    Expect,
    check_resource,
)

if TYPE_CHECKING:
    from orchestrator.program.graph import Graph, GraphResource

__all__ = [
    "AUDITING", "CUSTOM", "DECLINED", "DIAGNOSTICS", "DOUBLE_ENCRYPTION", "EXCEPTIONS", "EXFILTRATION", "GRAPH_RULES",
    "HTTPS", "IDENTITY", "KEY_VAULT", "MISSING", "NSG", "PRIVATE_DATA", "PRIVATE_SERVICE", "PRIVATE_STORAGE",
    "PUBLIC_BLOB", "RULES", "THREAT_INTEL", "TLS", "Custom", "Declined", "Excepted", "Expect", "Violation",
    "assess_graph", "check_graph", "check_resource", "stale_exceptions",
]

# -- justified exceptions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excepted:
    """`rule` does not apply to the `type` resources whose logical name matches `name` (a glob), where
    the violation's detail matches `detail` (a glob: the case the reason stands for), because `reason`."""

    type: str
    name: str
    rule: str
    reason: str
    detail: str = "*"

    def matches(self, violation: Violation) -> bool:
        return (violation.type == self.type and violation.rule == self.rule and fnmatchcase(violation.name, self.name)
                and fnmatchcase(violation.detail, self.detail))


_STORAGE = "azure-native:storage:StorageAccount"
_AAS_NETWORK_FAQ = "https://learn.microsoft.com/azure/analysis-services/analysis-services-network-faq"

EXCEPTIONS: tuple[Excepted, ...] = (
    Excepted(_STORAGE, "machine-learning-storage", IDENTITY,
             "Azure Machine Learning's default datastores and compute file shares sign in with the account's "
             "shared key; a workspace on an account without shared keys is a preview Microsoft does not "
             "recommend for production (https://learn.microsoft.com/azure/machine-learning/"
             "how-to-disable-local-auth-storage; components/machine_learning.py)"),
    Excepted(_STORAGE, "analysis-services-backups", IDENTITY,
             "Azure Analysis Services writes and reads its backups through a SAS, which only the account's "
             "shared key signs (components/analysis_services.py)"),
    Excepted(_STORAGE, "analysis-services-backups", PRIVATE_STORAGE,
             "Azure Analysis Services joins no VNet and has no private link or service tag, and a storage "
             "account's IP rules do not apply to a server in its own region: Microsoft's answer is that the "
             f"backup account's firewall must allow all networks ({_AAS_NETWORK_FAQ}); shared-key SAS is "
             "still needed to get in"),
    Excepted(_STORAGE, "function-app-storage", PRIVATE_STORAGE,
             "The Functions host reaches its storage from App Service's outbound addresses, which no storage "
             "firewall rule can name; closing the account needs the app's regional VNet integration into a "
             "subnet delegated to Microsoft.Web/serverFarms, which the hub does not carve. Shared keys are off: "
             "only identities with a role on the account get in (components/function_app.py)"),
    Excepted("azure-native:databricks:Workspace", "databricks-workspace", PRIVATE_SERVICE,
             "Azure accepts publicNetworkAccess Disabled only for a VNet-injected workspace, and the hub "
             "carves no subnets delegated to Microsoft.Databricks/workspaces: a stack without vnetInjection "
             "must ask for Enabled (components/databricks.py). Sign-in is Entra ID only, nodes have no public "
             "IP; an injected workspace left public is not excepted",
             detail="*not VNet-injected*"),
)


@dataclass(frozen=True)
class Declined:
    """Hardening the baseline deliberately does not require, because `reason`."""

    hardening: str
    reason: str


DECLINED: tuple[Declined, ...] = (
    Declined("customer-managed keys (CMK) for data at rest",
             "Every store is encrypted at rest with platform-managed keys. A customer-managed key puts a Key "
             "Vault key in the path of every restore: the recovery region's stores could not decrypt their "
             "geo-replicated backups until the key, its vault and the identities granted on it were recovered "
             "first, and a lost or purged key makes every backup unreadable. Where a regulator asks for CMK, it "
             "comes with a per-region key plan and drills of its own"),
    Declined("SQL auditing of a managed instance",
             "A managed instance is audited by a server audit made in T-SQL (CREATE SERVER AUDIT ... TO "
             "EXTERNAL_MONITOR), not an ARM resource the program can declare; the instance's diagnostic setting "
             "(allLogs) carries its SQLSecurityAuditEvents once the audit exists"),
    Declined("Microsoft Defender for Cloud plans and alerts",
             "Defender plans are priced and switched on per subscription, not per stack: the platform team's "
             "subscription policy, outside this program"),
)


@dataclass(frozen=True)
class Violation:
    urn: str
    type: str
    name: str
    component: str | None  # the logical name of the enclosing component
    rule: str
    detail: str
    excepted: str | None = None  # the reason of the EXCEPTIONS entry that covers it

    def line(self) -> str:
        line = f"{self.rule}: {self.type.split(':', 1)[-1]} {self.name!r} {self.detail}"
        return f"{line}; excepted: {self.excepted}" if self.excepted else line


def check_graph(graph: Graph, exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Violation]:
    """Every violation in a captured graph (orchestrator.preview.Graph) no exception covers."""
    return [v for v in assess_graph(graph, exceptions) if not v.excepted]


def assess_graph(graph: Graph, exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Violation]:
    """Every violation in the graph, in resource order, each excepted one carrying its reason."""
    found = []
    for violation in _violations(list(graph.resources), graph.inputs):
        cover = next((e for e in exceptions if e.matches(violation)), None)
        found.append(replace(violation, excepted=cover.reason) if cover else violation)
    return found


def stale_exceptions(graphs: Iterable[Graph], exceptions: tuple[Excepted, ...] = EXCEPTIONS) -> list[Excepted]:
    """The exceptions that cover no violation of any of `graphs`: the reason they stood for is gone."""
    violations = [v for graph in graphs for v in _violations(list(graph.resources), graph.inputs)]
    return [e for e in exceptions if not any(e.matches(v) for v in violations)]


def _violations(resources: list[GraphResource], inputs: dict[str, dict[str, Any]]) -> Iterable[Violation]:
    found = [(r, rule, detail) for r in resources for rule, detail in check_resource(r["type"], inputs.get(r["urn"], {}))]
    found += [hit for graph_rule in GRAPH_RULES for hit in graph_rule(resources, inputs)]
    order = {r["urn"]: index for index, r in enumerate(resources)}
    for resource, rule, detail in sorted(found, key=lambda hit: order[hit[0]["urn"]]):
        yield Violation(resource["urn"], resource["type"], resource["name"], resource["component"], rule, detail)
