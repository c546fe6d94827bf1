"""Azure AI Services (Cognitive Services): a multi-service account, private and Entra-only, with
optional model deployments.

The APIs run in Microsoft-managed data centres and keep no platform data, so the account and its
deployments are redeployed in the secondary; what matters on the day is that the secondary region
offers the models and the quota. Custom or fine-tuned models would need retraining or copying.
https://learn.microsoft.com/azure/ai-services/cognitive-services-container-support
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import cognitiveservices
from pydantic import Field, field_validator

from components import naming, roles
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.ai_services import CHECKS

TYPE_TOKEN = "dataplatform:ai:Services"

PROFILE = DRProfile(
    key="ai_services",
    title="Azure AI Services account and model deployments",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("foundation", "the account lives in the data resource group"),),
    priority=5,
    # The account takes about a minute; each model deployment one to a few more, one at a time.
    estimates=Estimates(deploy=300, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Cognitive Services",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="Pay As You Go",
            uplift_options=("N/A, the APIs are hosted in Microsoft-managed data centres",),
        ),
    ),
    notes=(
        "Services run from customer-deployed Docker containers would be the customer's to recover.",
        "A deleted account is soft-deleted and keeps its name and subdomain reserved: every name "
        "carries the stack's suffix so the secondary never needs the primary's.",
        "Before relying on the secondary, check that its region offers each deployed model, version "
        "and SKU, with quota.",
    ),
)

# Account names and custom subdomains: 2-64 letters, digits and '-', alphanumeric at both ends.
# The subdomain is a global DNS label (<subdomain>.cognitiveservices.azure.com).
ACCOUNT_NAME = naming.NameRule(
    2, 64, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits and '-', alphanumeric at both ends"
)
DeploymentSku = Literal["Standard", "GlobalStandard", "DataZoneStandard", "ProvisionedManaged", "GlobalProvisionedManaged"]


class ModelDeployment(ServiceSettings):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    model_format: str = Field("OpenAI", alias="modelFormat", min_length=1)
    model_name: str = Field(alias="modelName", min_length=1)
    model_version: str = Field(alias="modelVersion", min_length=1)
    sku_name: DeploymentSku = Field("GlobalStandard", alias="skuName")
    capacity: int = Field(10, ge=1, le=100000)


class AiServicesSettings(ServiceSettings):
    sku: Literal["S0"] = "S0"
    deployments: tuple[ModelDeployment, ...] = ()

    @field_validator("deployments")
    @classmethod
    def _unique_names(cls, deployments: tuple[ModelDeployment, ...]) -> tuple[ModelDeployment, ...]:
        names = [deployment.name for deployment in deployments]
        if len(names) != len(set(names)):
            raise ValueError(f"deployment names must be unique: {names}")
        return deployments


@dataclass(frozen=True)
class AiServicesArgs(Placement):
    settings: AiServicesSettings


def account_name(prefix: str, suffix: str) -> str:
    return naming.check_name("ai services account", f"ais-{prefix}-{suffix}", ACCOUNT_NAME)


class AiServices(pulumi.ComponentResource):
    def __init__(self, name: str, args: AiServicesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        account = account_name(args.prefix, args.name_suffix)
        self.account = cognitiveservices.Account(
            f"{name}-account",
            account_name=account,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="AIServices",
            sku=cognitiveservices.SkuArgs(name=settings.sku),
            identity=cognitiveservices.IdentityArgs(type="SystemAssigned"),
            properties=cognitiveservices.AccountPropertiesArgs(
                # Entra tokens need a custom subdomain; it is set once and cannot be changed.
                custom_sub_domain_name=account,
                public_network_access="Disabled",
                # Entra ID only: the account's keys stop working.
                disable_local_auth=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.deployments: list[cognitiveservices.Deployment] = []
        previous: list[pulumi.Resource] = []
        for deployment in settings.deployments:
            created = cognitiveservices.Deployment(
                f"{name}-deployment-{deployment.name}",
                deployment_name=deployment.name,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                properties=cognitiveservices.DeploymentPropertiesArgs(
                    model=cognitiveservices.DeploymentModelArgs(
                        format=deployment.model_format, name=deployment.model_name, version=deployment.model_version
                    ),
                    # Pinned: the secondary must serve the same version as the primary.
                    version_upgrade_option="NoAutoUpgrade",
                ),
                sku=cognitiveservices.SkuArgs(name=deployment.sku_name, capacity=deployment.capacity),
                # Azure refuses concurrent writes to one account's deployments: create them in turn.
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous),
            )
            self.deployments.append(created)
            previous = [created]
        self.account_name: pulumi.Output[str] = self.account.name
        self.endpoint: pulumi.Output[str] = pulumi.Output.concat("https://", account, ".cognitiveservices.azure.com/")
        self.deployment_names: list[str] = [deployment.name for deployment in settings.deployments]
        self.register_outputs(
            {"account_name": self.account_name, "endpoint": self.endpoint, "deployment_names": self.deployment_names}
        )


def deploy(context: Platform, settings: AiServicesSettings) -> dict[str, Any]:
    services = AiServices(
        "ai-services",
        AiServicesArgs.from_context(context, settings=settings),
    )
    context.open_privately(services, "ai_services", context.data_group, services.account.id,
                           ("account", "cognitiveservices"))
    # inference-one-token calls a deployment as the runner: the OpenAI data actions, nothing to manage.
    context.grant_runner("ai_services", services.account.id, roles.COGNITIVE_SERVICES_OPENAI_USER)
    return {
        "aiServicesAccountName": services.account_name,
        "aiServicesEndpoint": services.endpoint,
        "aiServicesDeployments": services.deployment_names,
    }


def posture(config: StackFacts, settings: AiServicesSettings | None) -> tuple[Posture, ...]:
    # The seed lists no uplift: the APIs are Microsoft-hosted.
    return (Posture(sku=f"{settings.sku} (pay as you go)" if settings else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="aiServices",
    settings=AiServicesSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "sku": "S0",
        "deployments": [
            {
                "name": "gpt-4o-mini",
                "modelFormat": "OpenAI",
                "modelName": "gpt-4o-mini",
                "modelVersion": "2024-07-18",
                "skuName": "GlobalStandard",
                "capacity": 10,
            }
        ],
    },
    physical_names={
        "azure-native:cognitiveservices:Account": "accountName",
        "azure-native:cognitiveservices:Deployment": "deploymentName",
    },
    globally_unique=frozenset({"azure-native:cognitiveservices:Account"}),
    # Deployments live inside the account and have no location of their own.
    subresources=frozenset({"azure-native:cognitiveservices:Deployment"}),
)
