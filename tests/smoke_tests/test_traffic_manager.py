"""Traffic Manager's checks on the spec example's profile (Profile-GET-WithEndpoints) through the real ARM
client, its states and endpoints varied; name resolution through dnspython's real resolver answered by an
in-memory nameserver (tests/smoke_tests/dns_double.py): no test queries real DNS."""

from __future__ import annotations

import copy

import pytest

from components.traffic_manager import TrafficManagerSettings
from smoke_tests import traffic_manager
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import SUBSCRIPTION, Route, example_body
from tests.smoke_tests.dns_double import resolver_for
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

EXAMPLE = "trafficmanager/resource-manager/Microsoft.Network/stable/2022-04-01/examples/Profile-GET-WithEndpoints.json"
PROFILE_ID = arm_id("Microsoft.Network/trafficManagerProfiles", "tm-dp-pri", "rg-dp-connectivity-pri")
FQDN = "azuresdkfornetautoresttrafficmanager3880.tmpreview.watmtest.azure-test.net"  # the example's
HERE = "northeurope"  # the example's endpoint is in "North Europe": this test's recovering region
PRIMARY_TARGET, SECONDARY_TARGET = "app-weu.contoso.com", "foobar.contoso.com"


def _body(profile_status="Online", here="Online", there="Degraded", here_enabled=True, there_target=PRIMARY_TARGET):
    """The example's profile: its own endpoint (North Europe, priority 1 there) plays this region's; a
    copy of it in West Europe plays the region failed away from."""
    body = copy.deepcopy(example_body(EXAMPLE))
    props = body["properties"]
    props["monitorConfig"]["profileMonitorStatus"] = profile_status
    mine = props["endpoints"][0]
    mine["properties"].update(endpointMonitorStatus=here, endpointStatus="Enabled" if here_enabled else "Disabled")
    other = copy.deepcopy(mine)
    other["name"] = "primary"
    other["properties"].update(endpointLocation="West Europe", target=there_target, endpointMonitorStatus=there,
                               endpointStatus="Enabled", priority=2)
    props["endpoints"].append(other)
    return body


def _probe(body, public=None, owner=True, names=None):
    connector, nameserver = resolver_for(public or {})
    settings = TrafficManagerSettings(owner=owner, endpoints=[
        {"name": "secondary", "target": SECONDARY_TARGET, "region": HERE, "priority": 1}] if owner else [])
    resources = [deployed(traffic_manager.PROFILE, PROFILE_ID)] if owner else []
    probe, transport = service_probe("traffic_manager", [Route("GET", f"(?i){PROFILE_ID}", body=body)], resources,
                                     settings=settings, connectors={"dns": connector},
                                     names={"region": HERE, **(names or {})})
    return probe, transport, nameserver


def test_an_online_profile_passes():
    evidence = traffic_manager.profile_monitor_online(_probe(_body())[0])
    assert evidence["profileMonitorStatus"] == "Online" and len(evidence["endpoints"]) == 2


def test_degraded_by_the_region_failed_away_from_passes_and_says_so():
    evidence = traffic_manager.profile_monitor_online(_probe(_body("Degraded"))[0])
    assert "Degraded only by the endpoints of westeurope" in evidence["note"]


@pytest.mark.parametrize(("body", "error", "message"), [
    (example_body(EXAMPLE), TransientError, "CheckingEndpoints"),  # the example as it is
    (_body("Degraded", here="Degraded"), TransientError, "no endpoint in northeurope is Online yet"),
    (_body("Inactive"), PermanentError, "profileMonitorStatus Inactive"),
])
def test_a_profile_not_online_here_waits_or_fails(body, error, message):
    with pytest.raises(error, match=message):
        traffic_manager.profile_monitor_online(_probe(body)[0])


def test_the_owning_stacks_profile_is_read_by_the_paired_names():
    probe, transport, _ = _probe(_body(), owner=False, names={"paired_prefix": "dp", "paired_suffix": "pri"})
    assert traffic_manager.profile_monitor_online(probe)["id"] == PROFILE_ID
    assert f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dp-connectivity-pri/" in transport.requests[0].url


def test_endpoints_online_here_and_degraded_elsewhere_pass():
    evidence = traffic_manager.endpoints_online(_probe(_body())[0])
    assert evidence["degraded_elsewhere"] == ["primary"]


@pytest.mark.parametrize(("body", "error", "message"), [
    (_body(here_enabled=False), PermanentError, "no enabled endpoint in northeurope"),
    (_body(there="Stopped"), PermanentError, r"endpoint primary \(westeurope\) is enabled but Stopped"),
    (_body(here="Degraded"), TransientError, r"My external endpoint \(northeurope\) is Degraded, not Online yet"),
    (example_body(EXAMPLE), TransientError, "is CheckingEndpoint"),
])
def test_endpoints_not_serving_here_fail_or_wait(body, error, message):
    with pytest.raises(error, match=message):
        traffic_manager.endpoints_online(_probe(body)[0])


def test_the_fqdn_resolves_to_this_regions_endpoint():
    probe, _, nameserver = _probe(_body(), {(FQDN, "CNAME"): [SECONDARY_TARGET]})
    evidence = traffic_manager.fqdn_resolves_to_secondary(probe)
    assert evidence["resolved"] == [SECONDARY_TARGET] and nameserver.asked == [(FQDN, "CNAME")]


def test_an_address_endpoint_is_matched_by_its_a_record():
    body = _body()
    body["properties"]["endpoints"][0]["properties"]["target"] = "203.0.113.44"
    probe, _, nameserver = _probe(body, {(FQDN, "A"): ["203.0.113.44"]})
    assert traffic_manager.fqdn_resolves_to_secondary(probe)["resolved"] == ["203.0.113.44"]
    assert nameserver.asked == [(FQDN, "CNAME"), (FQDN, "A")]


def test_still_resolving_to_the_primary_is_retried_after_the_profiles_ttl():
    probe, _, _ = _probe(_body(), {(FQDN, "CNAME"): [PRIMARY_TARGET]})
    with pytest.raises(TransientError, match=r"still resolves to app-weu\.contoso\.com \(westeurope\)") as raised:
        traffic_manager.fqdn_resolves_to_secondary(probe)
    assert raised.value.retry_after_s == 35  # the example's dnsConfig.ttl


def test_resolving_to_no_endpoint_or_not_at_all_fails():
    with pytest.raises(PermanentError, match=r"resolves to \['elsewhere\.example\.net'\], no endpoint of the profile"):
        traffic_manager.fqdn_resolves_to_secondary(_probe(_body(), {(FQDN, "CNAME"): ["elsewhere.example.net"]})[0])
    with pytest.raises(PermanentError, match="resolves to nothing"):
        traffic_manager.fqdn_resolves_to_secondary(_probe(_body())[0])
