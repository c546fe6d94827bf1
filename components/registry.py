"""Every service the platform can deploy, in one explicit list: adding a service means adding it here.

Importing this module imports every service module (and so Pulumi): offline commands that can be
answered from the cache import it only when they need a service.
"""

from __future__ import annotations

from components import (
    ai_search,
    ai_services,
    analysis_services,
    cosmos_db,
    data_explorer,
    data_share,
    databricks,
    ddos,
    event_hubs_geo_dr,
    express_route,
    fabric_capacity,
    function_app,
    iot_hub,
    load_balancer,
    machine_learning,
    mysql,
    network_watcher,
    public_dns,
    purview,
    sql_database,
    sql_managed_instance,
    sql_server_vm,
    stream_analytics,
    synapse,
    traffic_manager,
    vpn_gateway,
)
from components.spec import ServiceSpec

# Optional services, switched on per stack with `dataplatform:services.<key>`, in this order.
OPTIONAL: tuple[ServiceSpec, ...] = (
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
