"""The readiness checks of the SaaS and Microsoft-recovered services the platform relies on
(components/catalog.py): one per service whose API can prove it is available; the others get a
person's confirmation in the plan (a manual gate) instead of a check.

Declared, not implemented yet: drctl runs none of them, and `drctl coverage --json` lists each
with `implemented: false`."""

from __future__ import annotations

from smoke_tests.check import Check, smoke

# By catalog key.
READINESS: dict[str, tuple[Check, ...]] = {
    "entra_id": (smoke("entra_id", "token-acquisition"),),
    "azure_devops": (smoke("azure_devops", "devops-status-api"),),
    "github": (smoke("github", "github-status-api"),),
    "subscriptions": (smoke("subscriptions", "subscription-reachable"),),
    "management_groups": (smoke("management_groups", "management-group-readable"),),
    "azure_monitor": (smoke("azure_monitor", "log-analytics-query"),),
    "cost_management": (smoke("cost_management", "cost-query"),),
    "defender_for_cloud": (smoke("defender_for_cloud", "secure-score-readable"),),
    "power_bi": (smoke("power_bi", "powerbi-rest-reachable"),),
    "fabric_onelake": (smoke("fabric_onelake", "fabric-rest-reachable"),),
    "fabric_sql_database": (smoke("fabric_sql_database", "fabric-rest-reachable"),),
    "fabric_data_engineering": (smoke("fabric_data_engineering", "fabric-rest-reachable"),),
    "fabric_data_warehouse": (smoke("fabric_data_warehouse", "fabric-rest-reachable"),),
    "fabric_sql_analytics_endpoint": (smoke("fabric_sql_analytics_endpoint", "fabric-rest-reachable"),),
    "fabric_mirrored_database": (smoke("fabric_mirrored_database", "fabric-rest-reachable"),),
    "ai_foundry": (smoke("ai_foundry", "foundry-project-reachable"),),
    "fabric_real_time_intelligence": (smoke("fabric_real_time_intelligence", "fabric-rest-reachable"),),
    "fabric_data_science": (smoke("fabric_data_science", "fabric-rest-reachable"),),
    "site_recovery": (smoke("site_recovery", "recovery-plan-readable"),),
}
