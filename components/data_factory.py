"""Data Factory: the factory, and the pipelines and datasets held in the repository's pipelines folder.

The seeds class ADF pipelines as stateless: they are redeployed from source control. So the
definitions live in the repository in ADF's own JSON shape (`{"name", "properties": {...}}`, as ADF's
Git integration writes them): `<pipelinesDir>/*.json` are pipelines, `<pipelinesDir>/datasets/*.json`
datasets. They are read and checked before anything is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import pulumi
from pulumi_azure_native import authorization, datafactory
from pydantic import Field, field_validator

from components import naming, roles
from components.data_factory_network import FactoryNetwork, managed_network
from components.data_factory_pipelines import (
    LAKE_LINKED_SERVICE,
    PIPELINE_FIELDS,
    FactoryDefinitions,
    PipelineDefinitionError,
    load_factory_definitions,
    pipeline_order,
    references,
)
from components.data_factory_triggers import ingest_trigger
from components.profile import (
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.data_factory import CHECKS

TYPE_TOKEN = "dataplatform:data:DataFactory"

PROFILE = DRProfile(
    key="data_factory",
    title="Azure Data Factory and the repository's pipelines",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(
        Dependency("foundation", "the factory lives in the data resource group"),
        Dependency("connectivity", "its private endpoint zone (privatelink.datafactory) is in the hub"),
        Dependency("lake", "the lake linked service and the pipelines' datasets point at the lake"),
        Dependency("postgres", "pipelines load into and read from the relational store"),
        Dependency("event_hubs", "replay re-runs ingestion, which must find the hubs in place"),
    ),
    priority=4,
    # Factory, linked service, datasets and pipelines: a couple of minutes; smoke = one short run.
    estimates=Estimates(deploy=120, smoke=120),
    seed=(
        SeedFacts(
            service="Microsoft Fabric: Data Factory",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Fabric Capacity",
            uplift_options=("Cross-region pipeline deployment (pipelines redeployed through CI/CD)",),
        ),
    ),
    notes=(
        "Implemented with Azure Data Factory, which the seeds allow as the physical ELT service and "
        "class as stateless: redeployed from source control, then smoke-tested.",
        "Run history and trigger state stay in the primary; the secondary's ingestion trigger is deployed "
        "stopped and drctl starts it after handover.",
        "Copies reach the lake through a managed virtual network's integration runtime and managed private "
        "endpoints, whose connections drctl approves on the lake before a replay.",
    ),
)

# Stack outputs, read by drctl and the smoke tests.
FACTORY_NAME_OUTPUT = "dataFactoryName"
PIPELINES_OUTPUT = "dataFactoryPipelines"
SMOKE_PIPELINE_OUTPUT = "smokePipeline"


class DataFactorySettings(ServiceSettings):
    # Relative to the project (where Pulumi.yaml is), and inside it: drctl reads and hashes every file
    # there. A symlink out of the project is refused where the project is known (stacks/config.py).
    pipelines_dir: str = Field("pipelines", alias="pipelinesDir", min_length=1, max_length=255)

    @field_validator("pipelines_dir")
    @classmethod
    def _inside_the_project(cls, value: str) -> str:
        path = PurePosixPath(value.replace("\\", "/"))
        if path.is_absolute() or value[1:3] == ":\\" or ".." in path.parts or "\x00" in value:
            raise ValueError("must be a folder inside the project, relative to it (no absolute path, no '..')")
        return value


@dataclass(frozen=True)
class DataFactoryArgs:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]
    definitions: FactoryDefinitions
    # The lake's dfs endpoint and id: the linked service's URL and the role assignment's scope.
    lake_dfs_endpoint: pulumi.Input[str] | None = None
    lake_account_id: pulumi.Input[str] | None = None


class DataFactory(pulumi.ComponentResource):
    """Factory with a system-assigned identity, the lake linked service (through a managed virtual
    network's integration runtime and managed private endpoints), datasets, pipelines and the
    ingestion schedule."""

    def __init__(self, name: str, args: DataFactoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = args.resource_group_name

        self.factory = datafactory.Factory(
            f"{name}-factory",
            factory_name=naming.data_factory_name(args.prefix, args.name_suffix),
            resource_group_name=group,
            location=args.location,
            # The factory reaches the lake with its own identity: no keys in linked services.
            identity=datafactory.FactoryIdentityArgs(type="SystemAssigned"),
            public_network_access="Disabled",
            opts=child,
        )

        # The lake is closed to public traffic: its linked service runs on the managed network's runtime.
        self.network: FactoryNetwork | None = None
        if args.lake_account_id is not None:
            self.network = managed_network(name, self.factory, group, args.location, args.lake_account_id, self)
        self.linked_services: list[datafactory.LinkedService] = []
        if args.lake_dfs_endpoint is not None:
            self.linked_services.append(self._lake_access(name, args, child))
        self.datasets = self._datasets(name, args)
        self.pipelines = self._pipelines(name, args)
        self.ingest_trigger = ingest_trigger(name, self.factory, group, self.pipelines,
                                             args.definitions.pipelines, self)

        self.factory_name: pulumi.Output[str] = self.factory.name
        self.pipeline_names: list[str] = sorted(self.pipelines)
        self.smoke_pipeline: str | None = "smoke" if "smoke" in self.pipelines else None
        self.register_outputs(
            {
                "factory_name": self.factory_name,
                "pipeline_names": self.pipeline_names,
                "smoke_pipeline": self.smoke_pipeline,
            }
        )

    def _datasets(self, name: str, args: DataFactoryArgs) -> dict[str, datafactory.Dataset]:
        deployed = {LAKE_LINKED_SERVICE} if self.linked_services else set()
        for d in args.definitions.datasets:
            missing = {n for k, n in references(d.properties) if k == "linked service"} - deployed
            if missing:
                raise PipelineDefinitionError(f"{d.path}: refers to linked service {sorted(missing)}, not deployed")

        # Definitions refer to each other by name only, so the order is made explicit.
        after_links = pulumi.ResourceOptions(parent=self, depends_on=self.linked_services)
        return {
            d.name: datafactory.Dataset(
                f"{name}-dataset-{d.name}",
                dataset_name=d.name,
                factory_name=self.factory.name,
                resource_group_name=args.resource_group_name,
                properties=d.properties,
                opts=after_links,
            )
            for d in args.definitions.datasets
        }

    def _pipelines(self, name: str, args: DataFactoryArgs) -> dict[str, datafactory.Pipeline]:
        """In call order (pipeline_order): a pipeline is declared after the pipelines it calls, and
        after every dataset."""
        pipelines: dict[str, datafactory.Pipeline] = {}
        for d in pipeline_order(args.definitions):
            called = [pipelines[n] for k, n in references(d.properties) if k == "pipeline"]
            fields = {PIPELINE_FIELDS[key]: value for key, value in d.properties.items()}
            pipelines[d.name] = datafactory.Pipeline(
                f"{name}-pipeline-{d.name}",
                pipeline_name=d.name,
                factory_name=self.factory.name,
                resource_group_name=args.resource_group_name,
                **fields,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.datasets.values(), *called]),
            )
        return pipelines

    def _lake_access(
        self, name: str, args: DataFactoryArgs, child: pulumi.ResourceOptions
    ) -> datafactory.LinkedService:
        if args.lake_account_id is not None:
            client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
            roles.grant(
                f"{name}-lake-access",
                seed=None,
                scope=args.lake_account_id,
                subscription_id=client.subscription_id,
                role=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                principal_id=roles.principal_of(self.factory),
                opts=child,
            )
        network = self.network
        # ADLS Gen2 with only a URL means: authenticate as the factory's system-assigned identity.
        return datafactory.LinkedService(
            f"{name}-ls-{LAKE_LINKED_SERVICE}",
            linked_service_name=LAKE_LINKED_SERVICE,
            factory_name=self.factory.name,
            resource_group_name=args.resource_group_name,
            properties=datafactory.AzureBlobFSLinkedServiceArgs(
                type="AzureBlobFS", url=args.lake_dfs_endpoint,
                connect_via=network.runtime_reference if network is not None else None),
            opts=child if network is None else pulumi.ResourceOptions(parent=self, depends_on=[network.runtime]),
        )


def prepare(platform: Platform, settings: DataFactorySettings) -> FactoryDefinitions:
    """Read the factory's pipelines first: a bad file stops the program before anything is declared."""
    if platform.project_dir is None:
        raise PipelineDefinitionError("the project folder is unknown: nowhere to read the pipelines from")
    linked = (LAKE_LINKED_SERVICE,) if platform.config.enabled("lake") else ()
    return load_factory_definitions(platform.project_dir / settings.pipelines_dir, linked_services=linked)


def deploy(platform: Platform, settings: DataFactorySettings) -> dict[str, object]:
    """The factory last of the core: its linked service and datasets point at the lake."""
    factory = DataFactory(
        "data_factory",
        DataFactoryArgs(
            location=platform.region,
            prefix=platform.prefix,
            name_suffix=platform.suffix,
            resource_group_name=platform.data_group,
            definitions=platform.prepared[SERVICE.key],
            lake_dfs_endpoint=platform.lake_dfs_endpoint,
            lake_account_id=platform.lake_account_id,
        ),
    )
    outputs: dict[str, object] = {FACTORY_NAME_OUTPUT: factory.factory_name, PIPELINES_OUTPUT: factory.pipeline_names}
    # The factory's own API (authoring, runs); the "portal" group id is for ADF Studio only.
    platform.open_privately(factory, "data_factory", platform.data_group, factory.factory.id,
                            ("dataFactory", "datafactory"))
    if factory.smoke_pipeline is not None:
        outputs[SMOKE_PIPELINE_OUTPUT] = factory.smoke_pipeline
    return outputs


def posture(config: StackFacts, settings: DataFactorySettings) -> tuple[Posture, ...]:
    # The pipelines are in the repository and deployed by both stacks.
    return (Posture(sku="Azure Data Factory", uplift_enabled=(True,)),)


SERVICE = ServiceSpec(
    key="dataFactory",
    type_token=TYPE_TOKEN,
    profile=PROFILE,
    settings=DataFactorySettings,
    deploy=deploy,
    posture=posture,
    switch="on",
    prepare=prepare,
    physical_names={
        "azure-native:datafactory:Factory": "factoryName",
        "azure-native:datafactory:LinkedService": "linkedServiceName",
        "azure-native:datafactory:Dataset": "datasetName",
        "azure-native:datafactory:Pipeline": "pipelineName",
        "azure-native:datafactory:IntegrationRuntime": "integrationRuntimeName",
        "azure-native:datafactory:ManagedPrivateEndpoint": "managedPrivateEndpointName",
        "azure-native:datafactory:Trigger": "triggerName",
        # The factory's managed virtual network, the only generic ARM resource of the program.
        "azure-native:resources:Resource": "resourceName",
    },
    globally_unique=frozenset({"azure-native:datafactory:Factory"}),
    subresources=frozenset(
        {"azure-native:datafactory:LinkedService", "azure-native:datafactory:Dataset", "azure-native:datafactory:Pipeline",
         "azure-native:datafactory:IntegrationRuntime", "azure-native:datafactory:ManagedPrivateEndpoint",
         "azure-native:datafactory:Trigger", "azure-native:resources:Resource"}
    ),
)
