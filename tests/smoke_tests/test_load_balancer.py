"""The load balancer's checks through the real ARM client, on hand-written load balancer and Azure
Monitor metrics bodies: no example of either is kept with the specs."""

from __future__ import annotations

import copy
from urllib.parse import parse_qs, urlsplit

import pytest

from components.load_balancer import LoadBalancerSettings
from smoke_tests import load_balancer
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

GROUP = "rg-dp-connectivity-sec"
LB_ID = arm_id("Microsoft.Network/loadBalancers", "lbi-dp-sec", GROUP)
GLOBAL_ID = arm_id("Microsoft.Network/loadBalancers", "lbg-dp-sec", GROUP)
NIC = arm_id("Microsoft.Network/networkInterfaces", "nic-app-1", "rg-dp-data-sec") + "/ipConfigurations/ipconfig1"


def _regional(state="Succeeded", probe=None, members=(NIC,), rule_probe="health"):
    probe = probe or {"protocol": "Https", "port": 443, "requestPath": "/health", "intervalInSeconds": 5}
    return {"id": LB_ID, "name": "lbi-dp-sec", "type": "Microsoft.Network/loadBalancers", "location": "westus",
            "sku": {"name": "Standard", "tier": "Regional"},
            "properties": {
                "provisioningState": state,
                "frontendIPConfigurations": [{"name": "frontend", "properties": {"privateIPAddress": "10.20.0.10"}}],
                "backendAddressPools": [{"name": "backend",
                                         "properties": {"backendIPConfigurations": [{"id": m} for m in members]}}],
                "probes": [{"name": "health", "properties": probe}],
                "loadBalancingRules": [{"name": "default", "properties": {
                    "probe": {"id": f"{LB_ID}/probes/{rule_probe}"}}}]}}


def _global():
    return {"id": GLOBAL_ID, "name": "lbg-dp-sec", "type": "Microsoft.Network/loadBalancers", "location": "westus",
            "sku": {"name": "Standard", "tier": "Global"},
            "properties": {"provisioningState": "Succeeded",
                           "frontendIPConfigurations": [{"name": "frontend", "properties": {
                               "publicIPAddress": {"id": arm_id("Microsoft.Network/publicIPAddresses", "pip-lbg")}}}]}}


def _metrics(resource_id, metric, series):
    """A Metrics - List answer: one timeseries per (dimension value, averages), oldest first."""
    return {"cost": 0, "interval": "PT1M", "namespace": "Microsoft.Network/loadBalancers", "resourceregion": "westus",
            "value": [{"id": f"{resource_id}/providers/Microsoft.Insights/metrics/{metric}",
                       "type": "Microsoft.Insights/metrics", "name": {"value": metric}, "unit": "Count",
                       "timeseries": [{"metadatavalues": ([{"name": {"value": "backendipaddress"}, "value": label}]
                                                          if label != "all" else []),
                                       "data": [{"timeStamp": f"2026-01-01T00:0{i}:00Z", "average": value}
                                                for i, value in enumerate(values)]}
                                      for label, values in series.items()]}]}


def _probe(lbs, metrics=None, settings=None):
    asked = []

    def answer(request):
        query = parse_qs(urlsplit(request.url).query)
        asked.append({**query, "host": urlsplit(request.url).netloc, "auth": request.headers.get("Authorization")})
        resource_id = urlsplit(request.url).path.split("/providers/Microsoft.Insights")[0]
        metric = query["metricnames"][0]
        return 200, _metrics(resource_id, metric, (metrics or {}).get((resource_id.lower(), metric), {})), {}

    routes = [Route("GET", r"(?i).*/providers/Microsoft.Insights/metrics", respond=answer)]
    routes += [Route("GET", f"(?i){body['id']}", body=body) for body in lbs]
    records = [deployed(load_balancer.LOAD_BALANCER, body["id"]) for body in lbs]
    probe, _ = service_probe("load_balancer", routes, records, settings=settings or LoadBalancerSettings())
    return probe, asked


def test_every_load_balancer_is_provisioned_with_a_frontend():
    evidence = load_balancer.load_balancer_provisioned(_probe([_regional(), _global()])[0])
    assert evidence["load_balancers"]["lbi-dp-sec"]["frontends"] == {"frontend": "10.20.0.10"}
    assert evidence["load_balancers"]["lbg-dp-sec"]["tier"] == "Global"


def test_a_failed_or_frontendless_load_balancer_fails():
    with pytest.raises(PermanentError, match="lbi-dp-sec: provisioningState Failed"):
        load_balancer.load_balancer_provisioned(_probe([_regional("Failed")])[0])
    bare = copy.deepcopy(_regional())
    bare["properties"]["frontendIPConfigurations"][0]["properties"] = {}
    with pytest.raises(PermanentError, match="has no frontend address"):
        load_balancer.load_balancer_provisioned(_probe([bare])[0])


HEALTHY_DIP = {(LB_ID.lower(), "DipAvailability"): {"10.20.0.4": [0.0, 100.0], "10.20.0.5": [100.0, 0.0]}}


def test_probe_health_passes_with_the_declared_probe_members_and_one_backend_answering():
    probe, asked = _probe([_regional(), _global()], HEALTHY_DIP)
    evidence = load_balancer.probe_health(probe)
    assert evidence["backend_members"] == 1
    assert evidence["dip_availability"] == {"10.20.0.4": 100.0, "10.20.0.5": 0.0}
    assert asked[0]["$filter"] == ["BackendIPAddress eq '*'"] and asked[0]["aggregation"] == ["Average"]
    # Metrics - List is an ARM API: the ARM client's endpoint and token carry it.
    assert asked[0]["host"] == "management.azure.com" and asked[0]["auth"] == "Bearer fake-token-for-tests"


@pytest.mark.parametrize(("body", "settings", "message"), [
    (_regional(members=()), None, "backend pool 'backend' has no members"),
    (_regional(rule_probe="other"), None, "no load-balancing rule uses the probe 'health'"),
    (_regional(), LoadBalancerSettings(probe={"protocol": "Http", "port": 80, "path": "/"}),
     r"probe is \('Https', 443, '/health'\) in Azure, \('Http', 80, '/'\) in the stack"),
])
def test_probe_health_fails_when_the_probe_cannot_find_a_backend(body, settings, message):
    with pytest.raises(PermanentError, match=message):
        load_balancer.probe_health(_probe([body], HEALTHY_DIP, settings)[0])


def test_probe_health_fails_when_no_backend_answers_and_waits_for_first_data():
    down = {(LB_ID.lower(), "DipAvailability"): {"10.20.0.4": [100.0, 0.0]}}
    with pytest.raises(PermanentError, match="no backend answers its health probe"):
        load_balancer.probe_health(_probe([_regional()], down)[0])
    with pytest.raises(TransientError, match="no DipAvailability data point in the last 15 minutes yet"):
        load_balancer.probe_health(_probe([_regional()], {})[0])


def test_data_path_availability_reads_vip_availability_of_every_load_balancer():
    metrics = {(LB_ID.lower(), "VipAvailability"): {"all": [99.0, 100.0]},
               (GLOBAL_ID.lower(), "VipAvailability"): {"all": [100.0]}}
    probe, asked = _probe([_regional(), _global()], metrics)
    assert load_balancer.data_path_availability(probe)["vip_availability"] == {"lbi-dp-sec": 100.0, "lbg-dp-sec": 100.0}
    assert {q["metricnames"][0] for q in asked} == {"VipAvailability"} and "$filter" not in asked[0]


def test_a_frontend_losing_its_data_path_fails_and_no_data_yet_waits():
    low = {(LB_ID.lower(), "VipAvailability"): {"all": [100.0, 40.0]}}
    with pytest.raises(PermanentError, match=r"data path availability 40\.0%, under 90\.0%"):
        load_balancer.data_path_availability(_probe([_regional()], low)[0])
    with pytest.raises(TransientError, match="no VipAvailability data point"):
        load_balancer.data_path_availability(_probe([_regional()], {})[0])
