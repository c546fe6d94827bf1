"""Preflight on the target platform: identity, subscription, region and its pair, providers, types.

Each function asks Azure one kind of question and answers with checks; an SDK error escapes to
the caller (preflight.py), which turns it into a retriable or permanent error check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, Severity, error_check, finding, passed
from orchestrator.targets.azure.preflight.needs import Needs, namespace_of, norm_location, type_in_namespace
from stacks.config import StackConfig


def text(value: Any) -> str | None:
    """An SDK value as its wire text (enums print as `Name.MEMBER` otherwise)."""
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def check_credentials(session: AzureSession) -> Check:
    title = "Credentials acquire a management token"
    try:
        token = session.management_token()
    except Exception as exc:
        return error_check("credentials", title, exc, "no token for Azure Resource Manager")
    expires_on = getattr(token, "expires_on", None)
    evidence = {"scope": session.management_scope}
    if isinstance(expires_on, (int, float)):
        evidence["expires_on"] = datetime.fromtimestamp(expires_on, UTC).isoformat()
    # The token itself never goes into the evidence.
    return passed("credentials", title, "a token for Azure Resource Manager was acquired", evidence)


def check_subscription(session: AzureSession) -> Check:
    title = "The subscription is reachable and enabled"
    subscription = session.subscriptions().subscriptions.get(session.subscription_id)
    state = text(subscription.state)
    evidence = {"subscription_id": session.subscription_id, "state": state}
    if state == "Enabled":
        return passed("subscription", title, f"subscription {subscription.display_name!r} is Enabled", evidence)
    # Warned and PastDue subscriptions still work for now; Disabled and Deleted refuse writes.
    # https://learn.microsoft.com/azure/cost-management-billing/manage/subscription-states
    severity: Severity = "warning" if state in {"Warned", "PastDue"} else "blocker"
    return finding(
        "subscription", title, severity, f"the subscription is {state}",
        fix="re-enable the subscription (billing) before failing over into it", evidence=evidence,
    )


@dataclass(frozen=True)
class Regions:
    """What `list_locations` says: programmatic name -> display name, and Azure's pairs."""

    display: dict[str, str]
    pairs: dict[str, tuple[str, ...]]


def list_regions(session: AzureSession) -> Regions:
    display: dict[str, str] = {}
    pairs: dict[str, tuple[str, ...]] = {}
    for location in session.subscriptions().subscriptions.list_locations(session.subscription_id):
        display[location.name] = location.display_name or location.name
        metadata = location.metadata
        pairs[location.name] = tuple(p.name for p in (getattr(metadata, "paired_region", None) or []) if p.name)
    return Regions(display, pairs)


def check_region(config: StackConfig, needs: Needs, regions: Regions) -> Check:
    title = f"The target region {config.region} exists and the program deploys into it"
    evidence: dict[str, Any] = {"region": config.region, "available": config.region in regions.display}
    if config.region not in regions.display:
        return finding(
            "region", title, "blocker",
            f"{config.region} is not among the {len(regions.display)} regions this subscription can use",
            fix="choose a region the subscription offers (azure-native:location), or ask for access to it",
            evidence=evidence,
        )
    if needs.misplaced:
        evidence["misplaced"] = [{"resource": name, "location": where} for name, where in needs.misplaced]
        return finding(
            "region", title, "blocker",
            f"{len(needs.misplaced)} resource(s) are declared outside {config.region}, e.g. "
            f"{needs.misplaced[0][0]} in {needs.misplaced[0][1]}",
            fix="declare every regional resource with the stack's location",
            evidence=evidence,
        )
    return passed("region", title, f"{config.region} ({regions.display[config.region]}) is available", evidence)


def primary_region(config: StackConfig) -> str:
    """The region whose loss is being recovered from: the paired stack's for a secondary."""
    return config.paired_region if config.is_secondary else config.region


def check_pair(config: StackConfig, regions: Regions) -> Check:
    """Geo-redundant storage and PostgreSQL geo-backups are kept in Azure's pair of the primary:
    https://learn.microsoft.com/azure/reliability/cross-region-replication-azure"""
    title = "The secondary region is Azure's pair of the primary"
    primary = primary_region(config)
    secondary = config.region if config.is_secondary else config.paired_region
    evidence: dict[str, Any] = {"primary": primary, "secondary": secondary}
    if primary not in regions.pairs:
        return finding(
            "region.pair", title, "warning",
            f"the primary region {primary} is not listed for this subscription: its pair is unknown",
            evidence=evidence,
        )
    pairs = regions.pairs[primary]
    evidence["azure_pairs"] = list(pairs)
    if secondary in pairs:
        return passed("region.pair", title, f"{secondary} is Azure's pair of {primary}", evidence)
    if not pairs:
        return finding(
            "region.pair", title, "info",
            f"Azure pairs {primary} with no region: geo-redundant copies follow the service's own choice",
            evidence=evidence,
        )
    return finding(
        "region.pair", title, "warning",
        f"{secondary} is not Azure's pair of {primary} (that is {', '.join(pairs)})",
        fix=f"deploy the secondary into {pairs[0]}, or accept restoring across regions",
        rpo_consequence=(
            f"the geo-redundant copies (RA-GRS secondary, PostgreSQL geo-backups) are in {', '.join(pairs)}: "
            "a restore reads across regions and takes longer; no data is lost for it"
        ),
        evidence=evidence,
    )


def check_providers(session: AzureSession, needs: Needs, regions: Regions) -> list[Check]:
    """Providers registered, and every located type offered in the region.

    Provider `resourceTypes[].locations` are display names ("West US"): compared normalised.
    """
    providers = {p.namespace.lower(): p for p in session.resources().providers.list() if p.namespace}
    checks: list[Check] = []
    for namespace in needs.providers:
        checks.append(_registration(namespace, providers.get(namespace.lower())))
    wanted = {norm_location(needs.region), norm_location(regions.display.get(needs.region, needs.region))}
    for arm_type in needs.located_types:
        provider = providers.get(namespace_of(arm_type).lower())
        if provider is not None:
            checks.append(_offered(arm_type, provider, needs.region, wanted))
    if needs.unmapped:
        checks.append(
            finding(
                "resource-type:unmapped", "Types preflight cannot map to ARM", "info",
                f"{len(needs.unmapped)} type(s) have no ARM mapping and were not checked: {', '.join(needs.unmapped)}",
                fix="add them to orchestrator/targets/azure/preflight/needs.py ARM_TYPES",
                evidence={"types": list(needs.unmapped)},
            )
        )
    return checks


def _registration(namespace: str, provider: Any) -> Check:
    check_id, title = f"provider:{namespace}", f"Resource provider {namespace} is registered"
    if provider is None:
        return finding(
            check_id, title, "blocker", f"{namespace} is not a provider this subscription knows",
            fix=f"check the namespace; register it with: az provider register --namespace {namespace}",
        )
    state = text(provider.registration_state)
    evidence = {"namespace": namespace, "registration_state": state}
    if state == "Registered":
        return passed(check_id, title, f"{namespace} is Registered", evidence)
    if state == "Registering":
        return finding(
            check_id, title, "warning", f"{namespace} is still Registering",
            fix="wait for the registration to finish (minutes), then run preflight again",
            retriable=True, evidence=evidence,
        )
    # Registering needs Microsoft.<ns>/register/action, which a least-privilege DR identity may lack.
    return finding(
        check_id, title, "blocker", f"{namespace} is {state}: deploying its resources would fail",
        fix=f"az provider register --namespace {namespace} (needs the */register/action permission)",
        evidence=evidence,
    )


def _offered(arm_type: str, provider: Any, region: str, wanted: set[str]) -> Check:
    check_id, title = f"resource-type:{arm_type}", f"{arm_type} is offered in {region}"
    name = type_in_namespace(arm_type).lower()
    resource_type = next(
        (t for t in provider.resource_types or [] if (t.resource_type or "").lower() == name), None
    )
    if resource_type is None:
        return finding(
            check_id, title, "warning", f"{provider.namespace} does not list the type {type_in_namespace(arm_type)}",
            evidence={"type": arm_type},
        )
    locations = list(resource_type.locations or [])
    evidence = {"type": arm_type, "locations": locations}
    if not locations or wanted & {norm_location(x) for x in locations}:
        # An empty list is a type that is not location-bound (global, or an extension type).
        return passed(check_id, title, f"{arm_type} is offered in {region}", evidence)
    return finding(
        check_id, title, "blocker", f"{arm_type} is not offered in {region}",
        fix="choose a region that offers it, or switch the service off in the secondary stack",
        evidence=evidence,
    )


def safely(check_id: str, title: str, what: str, run: Any) -> list[Check]:
    """Run a check family; an SDK error becomes one error check for the family."""
    try:
        result = run()
    except Exception as exc:
        return [error_check(check_id, title, exc, what)]
    return result if isinstance(result, list) else [result]
