"""Azure Functions (components/function_app.py): EP plan, hardened Linux app, identity-based storage."""

from __future__ import annotations

import pulumi
import pytest
from private_link import assert_opened_privately, endpoints_for
from pulumi_mocks import deploy
from service_harness import config_with, context_for, run_service, spec

from stacks.config import ConfigError

KEY = "functionApp"
PLAN = "azure-native:web:AppServicePlan"
APP = "azure-native:web:WebApp"
STORAGE = "azure-native:storage:StorageAccount"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def _with(**changes) -> dict:
    return {**spec(KEY).example, **changes}


def app_settings(run) -> dict[str, str]:
    return {pair["name"]: pair["value"] for pair in run.one(APP).inputs["siteConfig"]["appSettings"]}


def outputs_of(stack: str, settings: dict | None = None) -> dict:
    config = config_with(stack, KEY, settings)
    values: dict = {}

    def program():
        for name, value in spec(KEY).deploy(context_for(config), config.optional_services[KEY]).items():
            pulumi.Output.from_input(value).apply(lambda v, n=name: values.__setitem__(n, v))

    deploy(program, stack=stack)
    return values


def test_plan_is_linux_elastic_premium():
    run, _ = run_service(KEY)
    plan = run.one(PLAN).inputs
    assert plan["sku"] == {"name": "EP1", "tier": "ElasticPremium"}
    assert plan["kind"] == "elastic" and plan["reserved"] is True


@pytest.mark.parametrize("zone_redundant", [True, False])
def test_zone_redundancy_follows_config_and_posture(zone_redundant):
    settings = _with(zoneRedundant=zone_redundant, sku="EP2")
    run, _ = run_service(KEY, settings=settings)
    assert run.one(PLAN).inputs["zoneRedundant"] is zone_redundant
    config = config_with("primary", KEY, settings)
    (posture,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert posture.sku == "Elastic Premium EP2"
    assert posture.uplift_enabled == (zone_redundant, True)


def test_app_is_https_only_tls12_no_ftp_no_basic_auth_with_identity():
    run, _ = run_service(KEY)
    app = run.one(APP).inputs
    assert app["kind"] == "functionapp,linux"
    assert app["httpsOnly"] is True
    assert app["identity"] == {"type": "SystemAssigned"}
    site = app["siteConfig"]
    assert site["minTlsVersion"] == "1.2" and site["scmMinTlsVersion"] == "1.2"
    assert site["ftpsState"] == "Disabled"
    assert site["linuxFxVersion"] == "Python|3.11"
    assert site["healthCheckPath"] == "/api/health"
    for policy in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        assert run.one(policy).inputs == {
            "allow": False,
            "name": "func-contoso-aue",
            "resourceGroupName": "rg-test-data",
        }


def test_host_storage_is_its_own_account_reached_by_identity():
    run, _ = run_service(KEY)
    storage = run.one(STORAGE).inputs
    assert storage["accountName"] == "contosofuncaue"
    assert storage["kind"] == "StorageV2"
    assert storage["enableHttpsTrafficOnly"] is True
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["allowBlobPublicAccess"] is False
    assert storage["allowSharedKeyAccess"] is False
    settings = app_settings(run)
    assert settings["AzureWebJobsStorage__accountName"] == "contosofuncaue"
    # No connection strings: nothing carrying an account key, and no Azure Files content share.
    assert "AzureWebJobsStorage" not in settings
    assert not {"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE"} & set(settings)
    assert settings["FUNCTIONS_EXTENSION_VERSION"] == "~4"


def test_app_identity_gets_blob_and_queue_data_roles_on_its_storage():
    run, _ = run_service(KEY)
    assignments = [r.inputs for r in run.of_type(ASSIGNMENT)]
    roles = {a["roleDefinitionId"].rsplit("/", 1)[1] for a in assignments}
    assert roles == {"b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"}
    for assignment in assignments:
        assert assignment["scope"].endswith("/contosofuncaue")
        assert assignment["principalType"] == "ServicePrincipal"
        assert assignment["roleDefinitionId"].startswith("/subscriptions/00000000-0000-0000-0000-000000000000/")
    # Names are GUIDs fixed per stack, so the secondary never asks for the primary's assignments.
    secondary, _ = run_service(KEY, "secondary")
    names = {a["roleAssignmentName"] for a in assignments}
    assert len(names) == 2
    assert not names & {r.inputs["roleAssignmentName"] for r in secondary.of_type(ASSIGNMENT)}


def test_runtime_setting_drives_the_stack():
    run, _ = run_service(KEY, settings=_with(runtime="node", runtimeVersion="20"))
    assert run.one(APP).inputs["siteConfig"]["linuxFxVersion"] == "Node|20"
    assert app_settings(run)["FUNCTIONS_WORKER_RUNTIME"] == "node"


def test_outputs_name_the_app_and_its_health_endpoint():
    values = outputs_of("secondary")
    assert values["functionAppName"] == "func-contoso-ase"
    assert values["functionAppHealthUrl"] == "https://func-contoso-ase.azurewebsites.net/api/health"
    assert values["functionAppStorageAccountName"] == "contosofuncase"


@pytest.mark.parametrize("field, value", [("sku", "Y1"), ("runtime", "cobol"), ("maximumElasticWorkers", 0)])
def test_invalid_values_are_refused_naming_the_key(field, value):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, _with(**{field: value}))
    assert raised.value.key == f"dataplatform:functionApp.{field}"


def test_profile_is_stateless_with_a_health_smoke_test():
    profile = spec(KEY).profile
    assert not profile.stateful
    assert "function-health-endpoint" in [c.name for c in profile.smoke_checks]


def test_a_closed_app_is_reached_through_its_sites_endpoint_from_the_hub_and_the_runner():
    run, _ = run_service(KEY, runner=True)
    app = run.one(APP)
    assert app.inputs["publicNetworkAccess"] == "Disabled"
    assert_opened_privately(run, config_with("primary", KEY), app.id, ("sites", "sites"))


def test_an_open_app_has_no_endpoint():
    run, _ = run_service(KEY, settings={**spec(KEY).example, "publicNetworkAccess": "Enabled"}, runner=True)
    app = run.one(APP)
    assert app.inputs["publicNetworkAccess"] == "Enabled" and not endpoints_for(run, app.id)


def test_an_app_is_closed_to_the_internet_unless_the_stack_opens_it():
    # The security baseline's default: a stack that says nothing gets the private app.
    settings = {k: v for k, v in spec(KEY).example.items() if k != "publicNetworkAccess"}
    run, _ = run_service(KEY, settings=settings)
    assert run.one(APP).inputs["publicNetworkAccess"] == "Disabled"
