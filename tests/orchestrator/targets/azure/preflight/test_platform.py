"""Preflight's platform and capacity checks, driven by the REST API spec examples through the SDKs."""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure_fixtures import Route
from preflight_support import (
    COMPUTE_SKUS,
    LOCATIONS,
    STORAGE_SKUS,
    SUB,
    arm_error,
    body,
    config_for,
    hosts,
    platform_routes,
    quota_error,
    session_for,
)

from orchestrator.targets.azure.preflight import capacity, platform
from orchestrator.targets.azure.preflight.needs import Needs, VmNeed


def needs(region: str = "eastus", **kwargs) -> Needs:
    return Needs(region=region, located_types=kwargs.pop("located_types", ()), providers=kwargs.pop("providers", ()), **kwargs)


class RefusingCredential:
    def get_token(self, *scopes, **kwargs):
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included credentials.")


def test_credentials_pass_without_putting_the_token_in_evidence():
    session, transport = session_for([])
    check = platform.check_credentials(session)
    assert (check.status, check.blocks) == ("pass", False)
    assert check.evidence["scope"] == "https://management.azure.com/.default"
    assert "fake-token" not in json.dumps(check.to_json())
    assert transport.requests == []  # a token is the credential's business, not ARM's


def test_credentials_that_cannot_get_a_token_are_a_permanent_error():
    session, _ = session_for([], credential=RefusingCredential())
    check = platform.check_credentials(session)
    assert (check.status, check.retriable, check.blocks) == ("error", False, True)
    assert "DefaultAzureCredential failed" in check.message


def test_subscription_enabled_passes_and_disabled_blocks():
    session, _ = session_for(platform_routes())
    assert platform.check_subscription(session).status == "pass"
    disabled = dict(platform_routes()[0].body, state="Disabled")
    session, _ = session_for(platform_routes(subscription=disabled))
    check = platform.check_subscription(session)
    assert (check.status, check.severity, check.evidence["state"]) == ("finding", "blocker", "Disabled")


def test_forbidden_is_a_permanent_error_with_the_service_code():
    session, _ = session_for([Route("GET", SUB, status=403, body=arm_error("AuthorizationFailed"))])
    [check] = platform.safely("subscription", "t", "reading the subscription", lambda: platform.check_subscription(session))
    assert (check.status, check.retriable, check.blocks) == ("error", False, True)
    assert check.evidence["code"] == "AuthorizationFailed" and check.evidence["status"] == 403
    assert "Reader" in check.fix


@pytest.mark.parametrize(
    "status,headers,retry_after",
    [(429, {"Retry-After": "7"}, 7.0), (503, {}, None), (500, {}, None)],
)
def test_throttling_and_unavailability_are_retriable_errors(status, headers, retry_after):
    routes = [Route("GET", SUB + "/providers", status=status, body=arm_error("TooManyRequests" if status == 429 else "ServerBusy"), headers=headers)]
    session, _ = session_for(routes)
    [check] = platform.safely("provider", "t", "listing providers",
                              lambda: platform.check_providers(session, needs(providers=("Microsoft.Storage",)), platform.Regions({}, {})))
    assert (check.status, check.retriable, check.blocks) == ("error", True, False)
    assert check.evidence.get("retry_after_s") == retry_after


def test_a_dropped_connection_is_retriable():
    def drop(request):
        raise requests.ConnectionError("connection reset by peer")

    session, _ = session_for([Route("GET", SUB + "/locations", respond=drop)])
    [check] = platform.safely("region", "t", "listing locations", lambda: platform.list_regions(session))
    assert (check.status, check.retriable) == ("error", True)


def test_the_quota_examples_error_code_is_kept_for_a_permanent_failure():
    session, _ = session_for([Route("GET", SUB + "/providers/Microsoft.Network/locations/[^/]+/usages", status=400, body=quota_error())])
    [check] = platform.safely("quota.public-ips", "t", "listing usage",
                              lambda: capacity.check_public_ip_quota(session, needs(public_ips=1)))
    assert (check.status, check.retriable, check.evidence["code"]) == ("error", False, "ContactSupport")


def test_regions_and_pairs_come_from_list_locations():
    session, transport = session_for(platform_routes())
    regions = platform.list_regions(session)
    assert regions.display == {"eastus": "East US", "eastus2": "East US 2"}
    assert regions.pairs == {"eastus": ("westus",), "eastus2": ("centralus",)}
    assert hosts(transport) == {"management.azure.com"}


def test_region_exists_or_blocks_and_resources_must_be_declared_in_it():
    regions = platform.list_regions(session_for(platform_routes())[0])
    assert platform.check_region(config_for(region="eastus"), needs("eastus"), regions).status == "pass"
    missing = platform.check_region(config_for(region="westus", paired_region="eastus"), needs("westus"), regions)
    assert (missing.status, missing.severity) == ("finding", "blocker")
    misplaced = platform.check_region(config_for(), needs(misplaced=(("lake-account", "eastus2"),)), regions)
    assert misplaced.severity == "blocker" and misplaced.evidence["misplaced"][0]["location"] == "eastus2"


def test_secondary_that_is_not_azures_pair_of_the_primary_is_a_warning():
    regions = platform.list_regions(session_for(platform_routes())[0])
    # Primary eastus2 is paired with centralus, so eastus is not its pair.
    check = platform.check_pair(config_for(region="eastus", paired_region="eastus2"), regions)
    assert (check.status, check.severity, check.blocks) == ("finding", "warning", False)
    assert "centralus" in check.fix and check.rpo_consequence
    # Primary eastus is paired with westus.
    assert platform.check_pair(config_for(region="westus", paired_region="eastus"), regions).status == "pass"
    # Seen from the primary stack, the same question.
    assert platform.check_pair(config_for("primary", region="eastus", paired_region="westus"), regions).status == "pass"


def test_a_primary_without_a_pair_is_information():
    locations = body(LOCATIONS)
    locations["value"][1]["metadata"]["pairedRegion"] = []  # test-built: eastus2 without a pair
    regions = platform.list_regions(session_for(platform_routes(locations=locations))[0])
    check = platform.check_pair(config_for(region="eastus", paired_region="eastus2"), regions)
    assert (check.status, check.severity) == ("finding", "info")


def test_providers_registered_registering_and_not_registered():
    session, _ = session_for(platform_routes())
    wanted = needs(
        "eastus",
        providers=("Microsoft.Resources", "Microsoft.Storage", "Microsoft.TestRP1", "Microsoft.TestRP2"),
        unmapped=("azure-native:new:Thing",),
    )
    checks = {c.id: c for c in platform.check_providers(session, wanted, platform.Regions({"eastus": "East US"}, {}))}
    assert checks["provider:Microsoft.Resources"].status == "pass"
    registering = checks["provider:Microsoft.TestRP1"]
    assert (registering.severity, registering.retriable, registering.blocks) == ("warning", True, False)
    not_registered = checks["provider:Microsoft.TestRP2"]
    assert (not_registered.severity, not_registered.blocks) == ("blocker", True)
    assert "az provider register --namespace Microsoft.TestRP2" in not_registered.fix
    assert checks["provider:Microsoft.Storage"].blocks  # unknown to the subscription
    assert checks["resource-type:unmapped"].severity == "info"


def test_resource_types_offered_in_the_region_compare_display_names():
    session, _ = session_for(platform_routes())
    wanted = needs(
        "westus",
        providers=("Microsoft.Resources", "Microsoft.TestRP1"),
        located_types=("Microsoft.Resources/subscriptions", "Microsoft.Resources/resourceGroups",
                       "Microsoft.Resources/deployments", "Microsoft.TestRP1/TestResourceType",
                       "Microsoft.TestRP1/NoSuchType"),
    )
    checks = {c.id: c for c in platform.check_providers(session, wanted, platform.Regions({"westus": "West US"}, {}))}
    assert checks["resource-type:Microsoft.Resources/subscriptions"].status == "pass"
    # The example offers resourceGroups in centralus, eastasia and southeastasia only.
    assert checks["resource-type:Microsoft.Resources/resourceGroups"].blocks
    # No locations listed: a type not bound to a location.
    assert checks["resource-type:Microsoft.Resources/deployments"].status == "pass"
    # Listed as the display name "West US".
    assert checks["resource-type:Microsoft.TestRP1/TestResourceType"].status == "pass"
    assert checks["resource-type:Microsoft.TestRP1/NoSuchType"].severity == "warning"


def test_compute_sizes_offered_restricted_or_missing():
    session, transport = session_for(platform_routes())
    wanted = needs("westus", vm_sizes=(VmNeed("Standard_A1", "test", compute_quota=True), VmNeed("Standard_D2ds_v5", "postgres")))
    checks, families = capacity.check_compute_skus(session, wanted)
    by_id = {c.id: c for c in checks}
    assert by_id["sku.compute:Standard_A1"].status == "pass"
    assert by_id["sku.compute:Standard_D2ds_v5"].blocks
    assert families == {"standardA0_A7Family": 1}
    assert "location%20eq%20%27westus%27" in transport.requests[0].url


def _restricted_compute_skus(restriction: dict) -> dict:
    # The example has no SKU with restrictions: this copies its Standard_A0 object and adds one.
    skus = body(COMPUTE_SKUS)
    restricted = dict(skus["value"][0], restrictions=[restriction])
    return {"value": [restricted]}


def test_compute_size_not_available_for_the_subscription_blocks():
    restriction = {"type": "Location", "values": ["westus"], "reasonCode": "NotAvailableForSubscription",
                   "restrictionInfo": {"locations": ["westus"]}}
    session, _ = session_for(platform_routes(compute_skus=_restricted_compute_skus(restriction)))
    checks, families = capacity.check_compute_skus(session, needs("westus", vm_sizes=(VmNeed("Standard_A0", "t", True),)))
    assert (checks[0].severity, checks[0].blocks) == ("blocker", True)
    assert "NotAvailableForSubscription" in checks[0].message
    assert checks[0].evidence["restrictions"][0]["reason_code"] == "NotAvailableForSubscription"
    assert families == {}  # nothing counted for a size that cannot be had


def test_compute_size_restricted_in_a_zone_is_a_warning():
    restriction = {"type": "Zone", "values": ["westus"], "reasonCode": "NotAvailableForSubscription",
                   "restrictionInfo": {"locations": ["westus"], "zones": ["2"]}}
    session, _ = session_for(platform_routes(compute_skus=_restricted_compute_skus(restriction)))
    checks, _ = capacity.check_compute_skus(session, needs("westus", vm_sizes=(VmNeed("Standard_A0", "t"),)))
    assert (checks[0].status, checks[0].severity) == ("finding", "warning")


def test_storage_skus_offered_missing_or_restricted():
    session, _ = session_for(platform_routes())
    checks = {c.id: c for c in capacity.check_storage_skus(
        session, needs("centraluseuap", storage_skus={"Premium_LRS": "x", "Standard_RAGRS": "lake"}))}
    assert checks["sku.storage:Premium_LRS"].status == "pass"
    assert checks["sku.storage:Standard_RAGRS"].blocks
    # Copied from the example's only SKU, with a restriction added (the example's list is empty).
    skus = body(STORAGE_SKUS)
    skus["value"][0]["restrictions"] = [{"type": "Location", "values": ["centraluseuap"], "reasonCode": "NotAvailableForSubscription"}]
    session, _ = session_for(platform_routes(storage_skus=skus))
    [check] = capacity.check_storage_skus(session, needs("centraluseuap", storage_skus={"Premium_LRS": "x"}))
    assert check.blocks and "NotAvailableForSubscription" in check.message


def test_vcpu_quota_headroom_follows_the_usage_pages_on_management_azure_com():
    # The generated example: one family "aaaaaaaaaaaaaaaaaa", 17 of 19 used.
    session, transport = session_for(platform_routes())
    [ok] = capacity.check_vcpu_quota(session, "westus", {"aaaaaaaaaaaaaaaaaa": 2})
    assert ok.status == "pass" and ok.evidence["free"] == 2
    [short] = capacity.check_vcpu_quota(session, "westus", {"aaaaaaaaaaaaaaaaaa": 3})
    assert short.blocks and "request a quota increase" in short.fix
    [unknown] = capacity.check_vcpu_quota(session, "westus", {"standardDSv5Family": 2})
    assert unknown.severity == "warning"
    assert any(r.url.startswith("https://management.azure.com/aaaaaaaaaaaaaaaaaaaaaaaaaaa") for r in transport.requests)
    assert hosts(transport) == {"management.azure.com"}


def test_no_vcpu_need_asks_azure_nothing():
    session, transport = session_for(platform_routes())
    [check] = capacity.check_vcpu_quota(session, "westus", {})
    assert check.status == "pass" and transport.requests == []


def test_public_ip_quota_counts_the_graphs_addresses():
    # UsageList: PublicIPAddresses 8 of 60.
    session, _ = session_for(platform_routes())
    [ok] = capacity.check_public_ip_quota(session, needs("westus", public_ips=4))
    assert ok.status == "pass" and ok.evidence["quota"] == "PublicIPAddresses"
    [short] = capacity.check_public_ip_quota(session, needs("westus", public_ips=53))
    assert short.blocks and short.evidence == {"quota": "PublicIPAddresses", "current": 8.0, "limit": 60.0, "needed": 53, "free": 52.0}
