"""Azure Functions: an Elastic Premium Linux plan, a function app and the app's own storage account.

The seeds class Azure Functions as stateless: redeployed from source control, then smoke-tested
before it rejoins the system. The app's storage (triggers, leases, Durable state) is redeployed
empty with it. The host reaches that storage as the app's managed identity
(`AzureWebJobsStorage__accountName`), so the account has shared-key access off and no Azure Files
content share, which would need a key (https://learn.microsoft.com/azure/azure-functions/storage-considerations);
code therefore ships as a package (`WEBSITE_RUN_FROM_PACKAGE=1`, zip deploy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import storage, web
from pydantic import Field

from components import naming, roles
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.function_app import CHECKS, HEALTH_PATH

TYPE_TOKEN = "dataplatform:compute:FunctionApp"

# Web app names are DNS labels under azurewebsites.net: 2-60 letters, digits and '-', not at either end.
SITE_NAME = naming.NameRule(
    2, 60, r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", "letters, digits and '-', not at either end"
)
PLAN_NAME = naming.NameRule(1, 60, r"[A-Za-z0-9-]+", "letters, digits and '-'")

# Built-in roles the host needs on its storage when it connects with an identity: blobs (keys,
# leases, timers) and queues (blob-trigger and Durable work items).
HOST_STORAGE_ROLES = {
    "blob-owner": roles.STORAGE_BLOB_DATA_OWNER,
    "queue-contributor": roles.STORAGE_QUEUE_DATA_CONTRIBUTOR,
}
# linuxFxVersion stack names per FUNCTIONS_WORKER_RUNTIME.
LINUX_STACKS = {
    "python": "Python",
    "node": "Node",
    "dotnet-isolated": "DOTNET-ISOLATED",
    "java": "Java",
    "powershell": "PowerShell",
}

PROFILE = DRProfile(
    key="function_app",
    title="Azure Functions app (Elastic Premium, Linux)",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("foundation", "the plan, app and storage live in the data resource group"),),
    priority=4,
    # Plan, storage account and app deploy in parallel in a few minutes; the code package follows.
    estimates=Estimates(deploy=300, smoke=120),
    seed=(
        SeedFacts(
            service="Azure Functions",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Elastic Premium EP1",
            uplift_options=(
                "Zone-redundant Elastic Premium plan",
                "Redeploy from source control into the paired region, with a smoke test",
            ),
        ),
    ),
    notes=(
        "Stateless: redeployed from source control, then GET /api/health must answer 200 before the "
        "app rejoins the system.",
        "Triggers restart from the new storage account: Durable orchestrations in flight at the "
        "disaster are lost and re-submitted by their callers.",
    ),
)


class FunctionAppSettings(ServiceSettings):
    sku: Literal["EP1", "EP2", "EP3"] = "EP1"
    zone_redundant: bool = Field(False, alias="zoneRedundant")
    maximum_elastic_workers: int = Field(20, alias="maximumElasticWorkers", ge=1, le=100)
    runtime: Literal["python", "node", "dotnet-isolated", "java", "powershell"] = "python"
    runtime_version: str = Field("3.11", alias="runtimeVersion", pattern=r"^\d+(\.\d+)?$")
    # Disabled (the default: the security baseline wants no public access): the app (and its
    # deployment site) only through Private Link, from the hub and the runner; Enabled: callers on
    # the internet reach it, the runner through its egress.
    public_network_access: Literal["Enabled", "Disabled"] = Field("Disabled", alias="publicNetworkAccess")


@dataclass(frozen=True)
class FunctionAppArgs(Placement):
    subscription_id: pulumi.Input[str]
    settings: FunctionAppSettings


def app_name(prefix: str, suffix: str) -> str:
    return naming.check_name("function app", f"func-{prefix}-{suffix}", SITE_NAME)


def storage_name(prefix: str, suffix: str) -> str:
    return naming.check_name("storage account", f"{prefix}func{suffix}")


class FunctionApp(pulumi.ComponentResource):
    def __init__(self, name: str, args: FunctionAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.storage = self._host_storage(name, args)
        self.plan = self._plan(name, args)
        self.app = self._app(name, args)
        self._host_storage_access(name, args)
        # Basic-auth publishing (FTP and the SCM site with a password) off: deployments use Entra tokens.
        for kind, resource in (("ftp", web.WebAppFtpAllowed), ("scm", web.WebAppScmAllowed)):
            resource(
                f"{name}-{kind}-basic-auth",
                name=self.app.name,
                resource_group_name=args.resource_group_name,
                allow=False,
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.app_name: pulumi.Output[str] = self.app.name
        # Azure reports the host name once the app exists; until then it is the default <name>.azurewebsites.net.
        self.health_url: pulumi.Output[str] = pulumi.Output.all(self.app.default_host_name, self.app.name).apply(
            lambda parts: f"https://{parts[0] or parts[1] + '.azurewebsites.net'}{HEALTH_PATH}"
        )
        self.register_outputs({"app_name": self.app_name, "health_url": self.health_url})

    def _host_storage(self, name: str, args: FunctionAppArgs) -> storage.StorageAccount:
        return storage.StorageAccount(
            f"{name}-storage",
            account_name=storage_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            # Host state only (leases, queues): rebuilt empty on a redeploy, so locally redundant.
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # The host authenticates with its identity; no key exists to leak.
            allow_shared_key_access=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _plan(self, name: str, args: FunctionAppArgs) -> web.AppServicePlan:
        settings = args.settings
        return web.AppServicePlan(
            f"{name}-plan",
            name=naming.check_name("app service plan", f"asp-{args.prefix}-func-{args.name_suffix}", PLAN_NAME),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="elastic",
            reserved=True,  # Linux
            sku=web.SkuDescriptionArgs(name=settings.sku, tier="ElasticPremium"),
            zone_redundant=settings.zone_redundant,
            maximum_elastic_worker_count=settings.maximum_elastic_workers,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _app(self, name: str, args: FunctionAppArgs) -> web.WebApp:
        settings = args.settings
        return web.WebApp(
            f"{name}-app",
            name=app_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="functionapp,linux",
            server_farm_id=self.plan.id,
            reserved=True,
            https_only=True,
            public_network_access=settings.public_network_access,
            identity=web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            site_config=web.SiteConfigArgs(
                linux_fx_version=f"{LINUX_STACKS[settings.runtime]}|{settings.runtime_version}",
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
                health_check_path=HEALTH_PATH,
                app_settings=[
                    web.NameValuePairArgs(name="FUNCTIONS_EXTENSION_VERSION", value="~4"),
                    web.NameValuePairArgs(name="FUNCTIONS_WORKER_RUNTIME", value=settings.runtime),
                    # Identity-based host storage: the account name, no connection string.
                    web.NameValuePairArgs(name="AzureWebJobsStorage__accountName", value=self.storage.name),
                    web.NameValuePairArgs(name="WEBSITE_RUN_FROM_PACKAGE", value="1"),
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _host_storage_access(self, name: str, args: FunctionAppArgs) -> None:
        principal = roles.principal_of(self.app)
        for role, definition in HOST_STORAGE_ROLES.items():
            roles.grant(
                f"{name}-storage-{role}",
                seed=f"{args.prefix}/{args.name_suffix}/func/{role}",
                scope=self.storage.id,
                subscription_id=args.subscription_id,
                role=definition,
                principal_id=principal,
                opts=pulumi.ResourceOptions(parent=self),
            )


def deploy(context: Platform, settings: FunctionAppSettings) -> dict[str, Any]:
    app = FunctionApp(
        "function-app",
        FunctionAppArgs.from_context(context, subscription_id=context.subscription_id, settings=settings),
    )
    if settings.public_network_access == "Disabled":
        context.open_privately(app, "function_app", context.data_group, app.app.id, ("sites", "sites"))
    return {
        "functionAppName": app.app_name,
        "functionAppHealthUrl": app.health_url,
        "functionAppStorageAccountName": app.storage.name,
    }


def posture(config: StackFacts, settings: FunctionAppSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None, None)),)
    # Both stacks declare the app from the same code, so redeployment into the pair is built in.
    return (Posture(sku=f"Elastic Premium {settings.sku}", uplift_enabled=(settings.zone_redundant, True)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="functionApp",
    settings=FunctionAppSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"sku": "EP1", "zoneRedundant": True, "runtime": "python", "runtimeVersion": "3.11",
             "publicNetworkAccess": "Disabled"},
    physical_names={"azure-native:web:WebApp": "name", "azure-native:web:AppServicePlan": "name"},
    globally_unique=frozenset({"azure-native:web:WebApp"}),
    # Basic-auth policies are children of the site with fixed names ("ftp", "scm").
    subresources=frozenset({"azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"}),
)
