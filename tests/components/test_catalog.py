"""The SaaS and Microsoft-recovered catalog (components/catalog.py) against the seed tables."""

from __future__ import annotations

import pytest

from components.catalog import CATALOG, catalog_profile
from components.profile import RecoveryAction, Responsibility
from components.registry import SERVICES, profile_for
from orchestrator.model import StepKind
from orchestrator.plan.recovery import build_plan
from smoke_tests.check import Target
from stacks.schema import DEFAULT_SAAS

MS, CUSTOMER = Responsibility.MICROSOFT, Responsibility.CUSTOMER

# The seed services the catalog carries, each exactly once.
SEED_SERVICES = {
    "Microsoft Entra ID including role entitlements",
    "Azure DevOps",
    "GitHub",
    "Subscriptions",
    "Management Groups",
    "Azure Monitor",
    "Azure Cost Management",
    "Microsoft Defender for Cloud",
    "Power BI",
    "Dataverse",
    "Microsoft Fabric: OneLake",
    "Microsoft Fabric: SQL database in Fabric",
    "Microsoft Fabric: Data Engineering",
    "Microsoft Fabric: Data Warehouse",
    "Microsoft Fabric: SQL Analytics Endpoint",
    "Microsoft Fabric: Mirrored Database",
    "Microsoft Fabric: Real-Time Intelligence",
    "Microsoft Fabric: Data Science",
    "Azure AI Foundry",
    "Azure Site Recovery",
}

# key: (service, component, workload, SKU, stateful, readiness check or None for a manual gate)
SPOT_CHECKS = {
    "entra_id": ("Microsoft Entra ID including role entitlements", MS, MS, "Premium P1", True, "token-acquisition"),
    "azure_devops": ("Azure DevOps", MS, MS, "DevOps Services", True, "devops-status-api"),
    "github": ("GitHub", MS, MS, "GitHub Enterprise Cloud", True, "github-status-api"),
    "subscriptions": ("Subscriptions", MS, MS, "N/A", False, "subscription-reachable"),
    "management_groups": ("Management Groups", MS, MS, "N/A", False, "management-group-readable"),
    "azure_monitor": ("Azure Monitor", MS, MS, "N/A", False, "log-analytics-query"),
    "cost_management": ("Azure Cost Management", MS, MS, "N/A", False, "cost-query"),
    "defender_for_cloud": ("Microsoft Defender for Cloud", MS, MS, "N/A", False, "secure-score-readable"),
    "power_bi": ("Power BI", MS, MS, "Power BI Pro", True, "powerbi-rest-reachable"),
    "dataverse": ("Dataverse", MS, MS, "N/A", True, None),
    "fabric_onelake": ("Microsoft Fabric: OneLake", MS, CUSTOMER, "Fabric Capacity", True, "fabric-rest-reachable"),
    "fabric_data_engineering": (
        "Microsoft Fabric: Data Engineering",
        MS,
        CUSTOMER,
        "Fabric Capacity (Memory Optimized SKU)",
        True,
        "fabric-rest-reachable",
    ),
    "fabric_real_time_intelligence": (
        "Microsoft Fabric: Real-Time Intelligence",
        MS,
        CUSTOMER,
        "Fabric Capacity",
        False,
        "fabric-rest-reachable",
    ),
    "ai_foundry": ("Azure AI Foundry", MS, CUSTOMER, "Pay As You Go", False, "foundry-project-reachable"),
    "site_recovery": (
        "Azure Site Recovery",
        MS,
        CUSTOMER,
        "N/A (for the IaaS footprint)",
        True,
        "recovery-plan-readable",
    ),
}


def test_every_seed_service_is_present_exactly_once():
    services = [seed.service for profile in CATALOG for seed in profile.seed]
    assert sorted(services) == sorted(SEED_SERVICES)
    assert all(len(profile.seed) == 1 for profile in CATALOG)


@pytest.mark.parametrize("key", sorted(SPOT_CHECKS))
def test_facts_match_the_seed_tables(key):
    service, component, workload, sku, stateful, readiness = SPOT_CHECKS[key]
    profile = catalog_profile(key)
    (seed,) = profile.seed
    assert (seed.service, seed.component_responsibility, seed.workload_responsibility) == (service, component, workload)
    assert seed.sku_selected == sku
    assert profile.stateful is stateful
    assert tuple(c.name for c in profile.smoke_checks) == ((readiness,) if readiness else ())


def test_seed_uplift_options_are_kept():
    assert len(catalog_profile("github").seed[0].uplift_options) == 2
    assert len(catalog_profile("dataverse").seed[0].uplift_options) == 2
    assert len(catalog_profile("fabric_sql_analytics_endpoint").seed[0].uplift_options) == 3
    assert "BCDR" in catalog_profile("fabric_onelake").seed[0].uplift_options[0]


def test_every_entry_is_saas_with_nothing_to_deploy():
    for profile in CATALOG:
        assert profile.recovery_action == RecoveryAction.SAAS, profile.key
        # Nothing local stands in for a SaaS service: its readiness check runs on Azure only.
        assert profile.priority == 0 and all(check.runs_on == {Target.AZURE} for check in profile.checks)
        assert (profile.estimates.deploy, profile.estimates.smoke) == (0, 300)
        assert profile.data_checks == ()
        assert len(profile.smoke_checks) <= 1


def test_services_the_project_deploys_are_not_in_the_catalog():
    services = {seed.service for profile in CATALOG for seed in profile.seed}
    assert not services & {"Microsoft Purview", "Azure DNS", "Microsoft Fabric: Data Factory"}
    deployed = [seed.service for spec in SERVICES for seed in spec.profile.seed]
    assert not services & set(deployed)


def test_keys_are_unique_and_clash_with_no_component_or_service():
    keys = [profile.key for profile in CATALOG]
    assert len(keys) == len(set(keys))
    assert all(key == key.lower() and " " not in key for key in keys)
    taken = {spec.profile.key for spec in SERVICES}
    assert not set(keys) & taken


def test_each_entry_is_found_by_its_key_and_is_no_component_of_the_program():
    for profile in CATALOG:
        assert catalog_profile(profile.key) is profile
        assert profile_for(f"dataplatform:catalog:{profile.key}") is None


def test_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="entra_id"):
        catalog_profile("teleporter")


def test_dependencies_name_known_components():
    known = {p.key for p in CATALOG} | {spec.profile.key for spec in SERVICES}
    for profile in CATALOG:
        for dependency in profile.depends_on:
            assert dependency.component in known, (profile.key, dependency.component)
            assert dependency.why


def test_the_default_saas_selection_is_in_the_catalog():
    assert set(DEFAULT_SAAS) <= {profile.key for profile in CATALOG}


def test_the_whole_catalog_plans_to_readiness_checks_and_manual_gates():
    plan = build_plan("dev", list(CATALOG), 4 * 3600, 3600)
    ids = {step.id for step in plan.steps}
    assert not any(step_id.endswith(".deploy") for step_id in ids if not step_id.startswith("platform."))
    assert "entra_id.smoke" in ids and "dataverse.gate" in ids
    assert plan.step("dataverse.gate").kind == StepKind.GATE
    # Dependents wait for the readiness step of what they rely on.
    assert "entra_id.smoke" in plan.step("subscriptions.smoke").depends_on
