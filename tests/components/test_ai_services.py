"""Azure AI Services (components/ai_services.py): private, key-less account and model deployments."""

from __future__ import annotations

import pytest
from private_link import assert_opened_privately, runner_roles_on
from service_harness import config_with, run_service, spec

from components import ai_services, roles
from stacks.config import ConfigError

KEY = "aiServices"
ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
MODEL = {"name": "embed", "modelName": "text-embedding-3-small", "modelVersion": "1"}


@pytest.mark.parametrize(("stack", "name"), [("primary", "ais-contoso-aue"), ("secondary", "ais-contoso-ase")])
def test_account_is_private_key_less_with_its_own_subdomain(stack, name):
    run, outputs = run_service(KEY, stack)
    inputs = run.one(ACCOUNT).inputs
    assert inputs["accountName"] == name
    assert (inputs["kind"], inputs["sku"]) == ("AIServices", {"name": "S0"})
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert inputs["properties"] == {
        "customSubDomainName": name,
        "publicNetworkAccess": "Disabled",
        "disableLocalAuth": True,
    }
    assert set(outputs) == {"aiServicesAccountName", "aiServicesEndpoint", "aiServicesDeployments"}


def test_deployments_follow_the_settings_and_are_pinned():
    run, outputs = run_service(KEY)
    (deployment,) = run.of_type(DEPLOYMENT)
    inputs = deployment.inputs
    assert inputs["deploymentName"] == "gpt-4o-mini"
    assert inputs["properties"]["model"] == {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}
    assert inputs["properties"]["versionUpgradeOption"] == "NoAutoUpgrade"
    assert inputs["sku"] == {"name": "GlobalStandard", "capacity": 10}
    assert outputs["aiServicesDeployments"] == ["gpt-4o-mini"]


def test_no_deployments_by_default():
    run, outputs = run_service(KEY, settings={})
    assert not run.of_type(DEPLOYMENT)
    assert outputs["aiServicesDeployments"] == []


def test_deployments_are_created_one_after_another(monkeypatch):
    # Azure refuses concurrent writes to one account's deployments: each waits for the previous.
    real = ai_services.cognitiveservices.Deployment
    waits: dict[str, list[str]] = {}

    def recording(name, **kwargs):
        waits[kwargs["deployment_name"]] = [r._name for r in (kwargs["opts"].depends_on or [])]
        return real(name, **kwargs)

    monkeypatch.setattr(ai_services.cognitiveservices, "Deployment", recording)
    run_service(KEY, settings={"deployments": [{**MODEL, "name": "a"}, {**MODEL, "name": "b"}, {**MODEL, "name": "c"}]})
    assert waits == {"a": [], "b": ["ai-services-deployment-a"], "c": ["ai-services-deployment-b"]}


def test_posture_has_no_uplift():
    config = config_with("primary", KEY)
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "S0 (pay as you go)"
    assert row.uplift_enabled == (None,)


def test_seed_row_is_cognitive_services_not_ai_foundry():
    (seed,) = spec(KEY).profile.seed
    assert seed.service == "Azure Cognitive Services"
    assert not spec(KEY).profile.stateful


def test_invalid_sku_names_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"sku": "F0"})
    assert raised.value.key == "dataplatform:aiServices.sku"


def test_deployment_needs_a_model_name():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"deployments": [{"name": "x", "modelVersion": "1"}]})
    assert raised.value.key == "dataplatform:aiServices.deployments.0.modelName"


def test_deployment_names_are_unique():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"deployments": [MODEL, MODEL]})
    assert raised.value.key == "dataplatform:aiServices.deployments"


def test_the_runner_reaches_the_account_privately_and_may_call_a_deployment():
    run, _ = run_service(KEY, runner=True)
    config = config_with("primary", KEY)
    account = run.one(ACCOUNT).id
    assert_opened_privately(run, config, account, ("account", "cognitiveservices"))
    assert runner_roles_on(run, config, account) == {roles.COGNITIVE_SERVICES_OPENAI_USER}
