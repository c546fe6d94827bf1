"""The Event Hubs Geo-DR alias's checks. `alias-resolves-to-secondary` runs on Azure, from the
SECONDARY namespace (the primary may be unreachable): where the alias does not resolve there yet, it
fails the alias over first, once, as the seed's recovery of this service says; afterwards the
secondary's role is PrimaryNotReplicating and the pairing is gone.
https://learn.microsoft.com/azure/event-hubs/event-hubs-geo-dr

`hubs-and-consumer-groups-match` (management plane) reads the SECONDARY namespace too: the alias
replicates the primary's metadata (hubs, consumer groups) there, so every hub and consumer group the
primary had must be listed on it. What the primary had is the baseline's `hubs: {hub: [groups]}`
when recorded before the disaster, else what the stack declares (`expected_hubs`: its Event Hubs
hubs, each with $Default and the consumer group Stream Analytics reads it with). The alias's pending
replication count is reported beside a missing entity, since it says the copy was not finished."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smoke_tests.check import (
    AZURE,
    SPEC_EXAMPLES,
    TRANSPORT_DOUBLE,
    Call,
    PermanentError,
    TransientError,
    data,
    enum_text,
    smoke,
)

COMPONENT = "event_hubs_geo_dr"
DEFAULT_GROUP = "$Default"
HUBS_MATCH = "hubs-and-consumer-groups-match"


@dataclass(frozen=True)
class AliasProbe:
    call: Call
    eventhub: Any  # azure.mgmt.eventhub.EventHubManagementClient
    resource_group: str
    secondary_namespace: str
    alias: str
    # What the primary is expected to have had, by hub: the consumer groups (expected_hubs()).
    expected_hubs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    baseline: Mapping[str, Any] = field(default_factory=dict)  # facts recorded before the disaster, by check


def expected_hubs(hubs: Iterable[Any], stream_input: tuple[str, str] | None = None) -> dict[str, tuple[str, ...]]:
    """Each declared hub (components/event_hubs.py's EventHub) with $Default, plus the consumer group a
    Stream Analytics job reads it with: `stream_input` (its inputHub, its consumerGroup)."""
    expected: dict[str, tuple[str, ...]] = {hub.name: (DEFAULT_GROUP,) for hub in hubs}
    if stream_input and stream_input[0] in expected and stream_input[1] != DEFAULT_GROUP:
        expected[stream_input[0]] += (stream_input[1],)
    return expected


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


def hubs_and_consumer_groups_match(probe: AliasProbe) -> tuple[list[str], dict]:
    """(mismatches, facts): every expected hub and consumer group is on the secondary namespace."""
    recorded = (probe.baseline.get(HUBS_MATCH) or {}).get("hubs")
    expected = {str(h): sorted(set(g)) for h, g in (recorded if recorded else probe.expected_hubs).items()}
    group, namespace, client = probe.resource_group, probe.secondary_namespace, probe.eventhub
    listed = probe.call(f"list the hubs of {namespace}", lambda: list(client.event_hubs.list_by_namespace(group, namespace)))
    found: dict[str, list[str]] = {}
    for hub in sorted(h.name for h in listed):
        if hub in expected:
            groups = probe.call(f"list the consumer groups of {namespace}/{hub}",
                                lambda hub=hub: list(client.consumer_groups.list_by_event_hub(group, namespace, hub)))
            found[hub] = sorted(g.name for g in groups)
        else:
            found[hub] = []
    facts: dict[str, Any] = {"namespace": namespace, "expected": expected, "found": found,
                             "judged_against": "baseline" if recorded else "settings", **_replication(probe)}
    mismatches = [] if expected else ["nothing to compare: no baseline recorded and the stack declares no hub"]
    for hub, groups in sorted(expected.items()):
        if hub not in found:
            mismatches.append(f"hub {hub} missing from {namespace}")
            continue
        missing = [g for g in groups if g not in found[hub]]
        if missing:
            mismatches.append(f"hub {hub} on {namespace} lacks consumer group(s) {', '.join(missing)}")
    pending = facts.get("pending_replication_operations")
    if mismatches and pending:
        mismatches = [f"{m} (the alias has {pending} replication operation(s) pending)" for m in mismatches]
    return mismatches, facts


def _replication(probe: AliasProbe) -> dict[str, Any]:
    """The alias as the secondary sees it: gone after a break-pairing, which is no mismatch by itself."""
    try:
        alias = probe.call(f"Event Hubs alias {probe.alias} on {probe.secondary_namespace}",
                           probe.eventhub.disaster_recovery_configs.get, probe.resource_group,
                           probe.secondary_namespace, probe.alias)
    except PermanentError as err:
        return {"alias": f"not readable: {err}"}
    return {"alias_role": enum_text(alias.role),
            "pending_replication_operations": alias.pending_replication_operations_count}


CHECKS = (
    smoke(COMPONENT, "alias-resolves-to-secondary", alias_resolves_to_secondary, AZURE, fails_over=True, plane="management",
          tested_against=SPEC_EXAMPLES),
    data(COMPONENT, HUBS_MATCH, hubs_and_consumer_groups_match, AZURE, plane="management",
         tested_against=TRANSPORT_DOUBLE + "hand-written hub and consumer-group lists (the spec examples kept here have "
         "none) beside the alias GET example"),
)
