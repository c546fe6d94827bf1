"""Every service the platform can deploy, in one explicit list: adding a service means adding it here.

The order is the program's: a service may attach to what an earlier one declared (the foundation's
resource groups, the hub's subnets and DNS zones, the lake's account), and the stack's outputs,
preview and posture list services in this order. Nothing registers itself on import.

Importing this module imports every service module (and so Pulumi): offline commands that can be
answered from the cache import it only when they need a service.
"""

from __future__ import annotations

from components import (
    ai_search,
    ai_services,
    analysis_services,
    connectivity,
    cosmos_db,
    data_explorer,
    data_factory,
    data_share,
    databricks,
    ddos,
    diagnostics,
    event_hubs,
    event_hubs_geo_dr,
    express_route,
    fabric_capacity,
    foundation,
    function_app,
    iot_hub,
    lake,
    load_balancer,
    machine_learning,
    mysql,
    network_watcher,
    postgres,
    private_endpoint,
    public_dns,
    purview,
    roles,
    sql_database,
    sql_managed_instance,
    sql_server_vm,
    stream_analytics,
    synapse,
    traffic_manager,
    vpn_gateway,
)
from components.profile import DRProfile
from components.spec import ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (
    # The platform's core, in dependency order: on in every stack unless switched off.
    foundation.SERVICE,
    connectivity.SERVICE,
    lake.SERVICE,
    postgres.SERVICE,
    event_hubs.SERVICE,
    data_factory.SERVICE,
    # Optional services, switched on per stack with `dataplatform:services.<key>`.
    ai_search.SERVICE,
    ai_services.SERVICE,
    analysis_services.SERVICE,
    cosmos_db.SERVICE,
    data_explorer.SERVICE,
    data_share.SERVICE,
    databricks.SERVICE,
    ddos.SERVICE,
    event_hubs_geo_dr.SERVICE,
    express_route.SERVICE,
    fabric_capacity.SERVICE,
    function_app.SERVICE,
    iot_hub.SERVICE,
    load_balancer.SERVICE,
    machine_learning.SERVICE,
    mysql.SERVICE,
    network_watcher.SERVICE,
    public_dns.SERVICE,
    purview.SERVICE,
    sql_database.SERVICE,
    sql_managed_instance.SERVICE,
    sql_server_vm.SERVICE,
    stream_analytics.SERVICE,
    synapse.SERVICE,
    traffic_manager.SERVICE,
    vpn_gateway.SERVICE,
)

_BY_KEY = {spec.key: spec for spec in SERVICES}
_BY_TYPE = {spec.type_token: spec for spec in SERVICES}
if len(_BY_KEY) != len(SERVICES) or len(_BY_TYPE) != len(SERVICES):
    raise ValueError("two services share a config key or a component type")


def service(key: str) -> ServiceSpec:
    """The service whose config key is `key` (e.g. "eventHubs"); KeyError names the known keys."""
    if key not in _BY_KEY:
        raise KeyError(f"no service {key!r} (known: {', '.join(_BY_KEY)})")
    return _BY_KEY[key]


def profile_for(type_token: str) -> DRProfile | None:
    """The DR profile of a component type of the program (None: a type no service declares)."""
    spec = _BY_TYPE.get(type_token)
    return spec.profile if spec is not None else None


def profile_by_key(key: str) -> DRProfile:
    """The profile whose component key is `key` (e.g. "lake"); KeyError names the known keys."""
    profiles = {spec.profile.key: spec.profile for spec in SERVICES}
    if key not in profiles:
        raise KeyError(f"no component {key!r} (known: {', '.join(profiles)})")
    return profiles[key]


def physical_name_inputs() -> dict[str, str]:
    """Per azure-native type, the input that carries its Azure name, over every service."""
    merged: dict[str, str] = {**private_endpoint.PHYSICAL_NAMES, **roles.PHYSICAL_NAMES}
    for spec in SERVICES:
        merged.update(spec.physical_names)
    return merged


def globally_unique_types() -> frozenset[str]:
    return frozenset().union(*(spec.globally_unique for spec in SERVICES))


def subresource_types() -> frozenset[str]:
    """Types Azure only knows inside a parent (a container in an account): no location of their own."""
    shared = private_endpoint.SUBRESOURCES | roles.SUBRESOURCES | diagnostics.SUBRESOURCES
    return shared.union(*(spec.subresources for spec in SERVICES))
