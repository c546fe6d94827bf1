"""The load balancer's checks, on Azure Resource Manager and Azure Monitor's metrics (read through ARM):

- `load-balancer-provisioned`: every deployed load balancer (the regional one, and the cross-region
  one where the stack has it) Succeeded, with a frontend address.
- `probe-health`: ARM reports no per-probe state, only metrics. So: the regional load balancer's
  health probe is as the stack declares it, its rule uses that probe, its backend pool has members,
  and the DipAvailability metric (health probe status, by backend address) shows at least one backend
  answering. Proves the rule has somewhere to send traffic; not that the application behind answers
  more than its probe path.
- `data-path-availability`: the VipAvailability metric (Azure's own in-band probing of each frontend)
  of every deployed load balancer. Proves the frontend forwards; not that a client outside reaches it.

The metrics come from Metrics - List on the load balancer's id (Microsoft.Insights, an ARM API), sent
through the probe's ARM client: azure-monitor-query 2.x no longer has MetricsQueryClient, and its
successors (azure-monitor-querymetrics, azure-mgmt-monitor) are not dependencies of this project.
A new load balancer's metrics lag a few minutes: no data point yet is worth another attempt.
https://learn.microsoft.com/azure/load-balancer/load-balancer-standard-diagnostics
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from smoke_tests.arm_state import judge, name_of, properties
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, smoke
from smoke_tests.probe import ServiceProbe

COMPONENT = "load_balancer"
LOAD_BALANCER = "azure-native:network:LoadBalancer"
METRICS_API_VERSION = "2023-10-01"
WINDOW = timedelta(minutes=15)
WINDOW_TEXT = "15 minutes"
HEALTHY_PERCENT = 90.0  # the latest minute's average, of probes answered (Dip) or in-band probes through (Vip)


def _load_balancers(probe: ServiceProbe) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    return [(lb, probe.get(lb)) for lb in probe.resources_of(LOAD_BALANCER) or [probe.resource(LOAD_BALANCER)]]


def _regional(found: list[tuple[Mapping[str, Any], dict[str, Any]]]) -> tuple[Mapping[str, Any], dict[str, Any]]:
    regional = [(lb, got) for lb, got in found if (got.get("sku") or {}).get("tier", "Regional") == "Regional"]
    if not regional:
        raise PermanentError(f"{COMPONENT}: the deploy recorded no regional load balancer", {})
    return regional[0]


def load_balancer_provisioned(probe: ServiceProbe) -> dict:
    checked = {}
    for lb, got in _load_balancers(probe):
        name, props = name_of(str(lb["id"])), properties(got)
        frontends = {n: p.get("privateIPAddress") or (p.get("publicIPAddress") or {}).get("id")
                     for n, p in _by_name(props.get("frontendIPConfigurations")).items()}
        checked[name] = {"tier": (got.get("sku") or {}).get("tier"), "provisioningState": props.get("provisioningState"),
                         "frontends": frontends}
        judge(f"{COMPONENT}: {name}", "provisioningState", props.get("provisioningState"), {"load_balancers": checked})
        if not any(frontends.values()):
            raise PermanentError(f"{COMPONENT}: {name} has no frontend address", {"load_balancers": checked})
    return {"check": "load-balancer-provisioned", "ok": True, "load_balancers": checked}


def _by_name(items: Any) -> dict[str, dict[str, Any]]:
    return {str(item.get("name")): dict(item.get("properties") or {}) for item in items or ()}


def _probe_mismatch(declared: Any, health: Mapping[str, Any]) -> str | None:
    if declared is None:
        return None
    want = (declared.protocol, declared.port, declared.path if declared.protocol != "Tcp" else None)
    got = (health.get("protocol"), health.get("port"), health.get("requestPath"))
    return None if want == got else f"probe is {got} in Azure, {want} in the stack (protocol, port, path)"


def probe_health(probe: ServiceProbe) -> dict:
    from components.load_balancer_wiring import BACKEND, PROBE

    lb, got = _regional(_load_balancers(probe))
    name, props = name_of(str(lb["id"])), properties(got)
    what = f"{COMPONENT}: {name}"
    health = _by_name(props.get("probes")).get(PROBE)
    if health is None:
        raise PermanentError(f"{what}: no health probe {PROBE!r}", {"probes": sorted(_by_name(props.get("probes")))})
    evidence: dict[str, Any] = {"id": lb["id"], "probe": {k: health.get(k) for k in ("protocol", "port", "requestPath")}}
    mismatch = _probe_mismatch(getattr(probe.settings, "probe", None), health)
    if mismatch:
        raise PermanentError(f"{what}: {mismatch}", evidence)
    rules = _by_name(props.get("loadBalancingRules"))
    if not any(str((rule.get("probe") or {}).get("id", "")).endswith(f"/probes/{PROBE}") for rule in rules.values()):
        raise PermanentError(f"{what}: no load-balancing rule uses the probe {PROBE!r}", {**evidence, "rules": sorted(rules)})
    pool = _by_name(props.get("backendAddressPools")).get(BACKEND) or {}
    members = len(pool.get("backendIPConfigurations") or ()) + len(pool.get("loadBalancerBackendAddresses") or ())
    evidence["backend_members"] = members
    if not members:
        raise PermanentError(f"{what}: backend pool {BACKEND!r} has no members: nothing for the probe to find healthy",
                             evidence)
    backends = latest_by_series(probe, str(lb["id"]), "DipAvailability", split="BackendIPAddress")
    evidence["dip_availability"] = backends
    if not any(value is not None for value in backends.values()):
        raise TransientError(f"{what}: no DipAvailability data point in the last {WINDOW_TEXT} yet")
    if not any(value is not None and value >= HEALTHY_PERCENT for value in backends.values()):
        raise PermanentError(f"{what}: no backend answers its health probe (DipAvailability {backends})", evidence)
    return {"check": "probe-health", "ok": True, **evidence}


def data_path_availability(probe: ServiceProbe) -> dict:
    measured = {}
    for lb, _ in _load_balancers(probe):
        name = name_of(str(lb["id"]))
        value = latest_by_series(probe, str(lb["id"]), "VipAvailability").get("all")
        measured[name] = value
        if value is None:
            raise TransientError(f"{COMPONENT}: {name}: no VipAvailability data point in the last {WINDOW_TEXT} yet")
        if value < HEALTHY_PERCENT:
            raise PermanentError(f"{COMPONENT}: {name}: data path availability {value}%, under {HEALTHY_PERCENT}%",
                                 {"vip_availability": measured})
    return {"check": "data-path-availability", "ok": True, "vip_availability": measured}


def latest_by_series(probe: ServiceProbe, resource_id: str, metric: str, split: str | None = None) -> dict[str, float | None]:
    """The latest minute's average of `metric` over the last WINDOW, per value of the `split` dimension
    (one series "all" without a split)."""
    from azure.core.rest import HttpRequest

    end = datetime.now(UTC).replace(microsecond=0)
    params = {"api-version": METRICS_API_VERSION, "metricnames": metric, "aggregation": "Average", "interval": "PT1M",
              "timespan": f"{(end - WINDOW).isoformat()}/{end.isoformat()}".replace("+00:00", "Z")}
    if split:
        params["$filter"] = f"{split} eq '*'"
    request = HttpRequest("GET", f"{resource_id}/providers/Microsoft.Insights/metrics", params=params)

    def send() -> Any:
        response = probe.arm.send_request(request)
        response.raise_for_status()
        return response.json()

    body = probe.call(f"{COMPONENT}: {metric} of {name_of(resource_id)}", send)
    series: dict[str, float | None] = {}
    for found in body.get("value") or ():
        for timeseries in found.get("timeseries") or ():
            label = next((str(m.get("value")) for m in timeseries.get("metadatavalues") or ()), "all")
            points = [p.get("average") for p in timeseries.get("data") or () if p.get("average") is not None]
            series[label] = float(points[-1]) if points else None
    return series


_DOUBLE = TRANSPORT_DOUBLE + "{}: no load balancer or Azure Monitor metrics example in the specs kept here"
CHECKS = (
    smoke(COMPONENT, "load-balancer-provisioned", load_balancer_provisioned, AZURE, plane="management",
          tested_against=_DOUBLE.format("a load balancer GET body")),
    smoke(COMPONENT, "probe-health", probe_health, AZURE, plane="management",
          tested_against=_DOUBLE.format("load balancer GET and DipAvailability metrics bodies")),
    # What it measures is the data path; it reads it from Azure Monitor through ARM, hence management.
    smoke(COMPONENT, "data-path-availability", data_path_availability, AZURE, plane="management",
          tested_against=_DOUBLE.format("VipAvailability metrics bodies")),
)
