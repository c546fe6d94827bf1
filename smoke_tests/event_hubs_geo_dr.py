"""The Event Hubs Geo-DR alias's checks. `alias-resolves-to-secondary` runs on Azure, from the
SECONDARY namespace (the primary may be unreachable): where the alias does not resolve there yet, it
fails the alias over first, once, as the seed's recovery of this service says; afterwards the
secondary's role is PrimaryNotReplicating and the pairing is gone.
https://learn.microsoft.com/azure/event-hubs/event-hubs-geo-dr"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smoke_tests.check import AZURE, SPEC_EXAMPLES, Call, PermanentError, TransientError, data, enum_text, smoke

COMPONENT = "event_hubs_geo_dr"


@dataclass(frozen=True)
class AliasProbe:
    call: Call
    eventhub: Any  # azure.mgmt.eventhub.EventHubManagementClient
    resource_group: str
    secondary_namespace: str
    alias: str


def alias_resolves_to_secondary(probe: AliasProbe) -> dict:
    """Idempotent: an alias whose secondary is already primary is left alone (a second failover is
    an error in Azure)."""
    what = f"Event Hubs alias {probe.alias} on {probe.secondary_namespace}"
    configs = probe.eventhub.disaster_recovery_configs
    before = probe.call(what, configs.get, probe.resource_group, probe.secondary_namespace, probe.alias)
    role = enum_text(before.role)
    evidence: dict[str, Any] = {"alias": probe.alias, "namespace": probe.secondary_namespace, "role_before": role,
                                "partner_namespace": before.partner_namespace}
    if role in ("Primary", "PrimaryNotReplicating"):
        return {**evidence, "action": "none: the secondary namespace already holds the alias", "role": role}
    if role != "Secondary":
        raise PermanentError(f"{what}: unexpected role {role}", evidence)
    probe.call(f"{what}: failover", configs.fail_over, probe.resource_group, probe.secondary_namespace, probe.alias)
    after = probe.call(what, configs.get, probe.resource_group, probe.secondary_namespace, probe.alias)
    role_after = enum_text(after.role)
    evidence.update(role=role_after, provisioning_state=enum_text(after.provisioning_state))
    if role_after == "Secondary":
        # Accepted, not applied yet: the next attempt sees it done and does not fail over twice.
        raise TransientError(f"{what}: failover accepted, the namespace is not primary yet")
    return {**evidence, "action": "failed over: the alias now resolves to the secondary namespace"}


CHECKS = (
    smoke(COMPONENT, "alias-resolves-to-secondary", alias_resolves_to_secondary, AZURE, fails_over=True, plane="management",
          tested_against=SPEC_EXAMPLES),
    data(COMPONENT, "hubs-and-consumer-groups-match", plane="management"),
)
