"""Azure Stream Analytics: a Standard job reading the core event hub and writing to the lake.

Stream Analytics has no geo-failover: geo-redundancy means identical jobs in each region
(https://learn.microsoft.com/azure/stream-analytics/geo-redundancy). So each stack deploys the same
job from this module against its own hub and lake, and recovery is a redeploy. Window state is
transient; what matters is where the output restarts: on the secondary, `outputStartMode: CustomTime`
with `outputStartTime` set to the replay watermark starts the new job from there, with no gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import authorization, streamanalytics
from pydantic import Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from components import naming, roles
from components.child_names import ConsumerGroupName, EventHubName
from components.lake import ZONES
from components.placement import Placement
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.stream_analytics import CHECKS

TYPE_TOKEN = "dataplatform:data:StreamAnalytics"

JOB_NAME = naming.NameRule(3, 63, r"[A-Za-z0-9][A-Za-z0-9_-]*", "letters, digits, '-' and '_'")
# Built-in roles the job's identity needs: read the hub, write the lake.
INPUT_NAME, OUTPUT_NAME = "events", "lake"
# Read only when the job is created (it starts at once from there); Azure refuses to update a
# running job, so a later change must not reach it.
CREATE_TIME_FIELDS = ("outputStartMode", "outputStartTime")

PROFILE = DRProfile(
    key="stream_analytics",
    title="Azure Stream Analytics job",
    # The query is code and window state is rebuilt from the input: nothing to restore.
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(
        Dependency("foundation", "the job lives in the data resource group"),
        Dependency("lake", "the job writes to the lake's containers"),
        Dependency("event_hubs", "the job reads the core event hub"),
    ),
    priority=4,
    # Creating a job is a metadata call (~1 min); starting it takes 1-3 minutes.
    estimates=Estimates(deploy=120, smoke=180),
    seed=(
        SeedFacts(
            service="Azure Stream Analytics",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.CUSTOMER,
            sku_selected="Standard",
            uplift_options=("Identical jobs deployed in multiple regions (no automatic geo-failover)",),
            stateful=True,  # the seed's heading: a job keeps its query state and output position
        ),
    ),
    notes=(
        "Set outputStartMode CustomTime and outputStartTime to the replay watermark on the secondary.",
        "Changing the query or inputs of a running job needs the job stopped first (Azure refuses otherwise).",
    ),
)


class StreamAnalyticsSettings(ServiceSettings):
    # No default: the query is the workload's logic. Inputs are [events], the output is [lake].
    query: str = Field(min_length=1)
    streaming_units: int = Field(3, alias="streamingUnits")
    input_hub: EventHubName = Field("telemetry", alias="inputHub", pattern=r"^[a-z0-9][a-z0-9._-]{0,49}$")
    consumer_group: ConsumerGroupName = Field("$Default", alias="consumerGroup", min_length=1)
    output_container: str = Field("enriched", alias="outputContainer")
    output_start_mode: Literal["JobStartTime", "CustomTime"] = Field("JobStartTime", alias="outputStartMode")
    output_start_time: str | None = Field(
        None, alias="outputStartTime", pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
    )

    @field_validator("streaming_units")
    @classmethod
    def _units(cls, value: int) -> int:
        # API 2020-03-01: 1, 3, then multiples of 6.
        if value in (1, 3) or (value % 6 == 0 and 6 <= value <= 396):
            return value
        raise ValueError("must be 1, 3 or a multiple of 6 up to 396")

    @field_validator("output_container")
    @classmethod
    def _lake_zone(cls, value: str) -> str:
        if value not in ZONES:
            raise ValueError(f"must be a lake zone ({', '.join(ZONES)})")
        return value

    @model_validator(mode="after")
    def _time_for_custom_mode(self) -> StreamAnalyticsSettings:
        if self.output_start_mode == "CustomTime" and self.output_start_time is None:
            # Raised against outputStartTime itself, so the config error names the key to add.
            problem = PydanticCustomError("missing", "required when outputStartMode is CustomTime (the replay watermark, UTC)")
            raise ValidationError.from_exception_data(
                type(self).__name__, [InitErrorDetails(type=problem, loc=("outputStartTime",), input=None)]
            )
        return self


@dataclass(frozen=True)
class StreamAnalyticsArgs(Placement):
    subscription_id: pulumi.Input[str]
    settings: StreamAnalyticsSettings
    event_hubs_namespace_id: pulumi.Input[str] | None = None
    lake_account_id: pulumi.Input[str] | None = None
    lake_account_name: pulumi.Input[str] | None = None


def _job_inputs(args: StreamAnalyticsArgs) -> list[streamanalytics.InputArgs]:
    if args.event_hubs_namespace_id is None:
        return []
    settings = args.settings
    namespace = pulumi.Output.from_input(args.event_hubs_namespace_id).apply(lambda i: i.rsplit("/", 1)[-1])
    return [
        streamanalytics.InputArgs(
            name=INPUT_NAME,
            properties=streamanalytics.StreamInputPropertiesArgs(
                type="Stream",
                datasource=streamanalytics.EventHubV2StreamInputDataSourceArgs(
                    type="Microsoft.EventHub/EventHub",
                    service_bus_namespace=namespace,
                    event_hub_name=settings.input_hub,
                    consumer_group_name=settings.consumer_group,
                    # The job's managed identity: the namespace has local (SAS) auth off.
                    authentication_mode="Msi",
                ),
                serialization=streamanalytics.JsonSerializationArgs(type="Json", encoding="UTF8"),
            ),
        )
    ]


def _job_outputs(args: StreamAnalyticsArgs) -> list[streamanalytics.OutputArgs]:
    if args.lake_account_name is None:
        return []
    return [
        streamanalytics.OutputArgs(
            name=OUTPUT_NAME,
            datasource=streamanalytics.BlobOutputDataSourceArgs(
                type="Microsoft.Storage/Blob",
                storage_accounts=[streamanalytics.StorageAccountArgs(account_name=args.lake_account_name)],
                container=args.settings.output_container,
                path_pattern="streamanalytics/{date}/{time}",
                date_format="yyyy/MM/dd",
                time_format="HH",
                authentication_mode="Msi",
            ),
            serialization=streamanalytics.JsonSerializationArgs(type="Json", encoding="UTF8", format="LineSeparated"),
        )
    ]


class StreamAnalyticsJob(pulumi.ComponentResource):
    def __init__(self, name: str, args: StreamAnalyticsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        inputs, outputs = _job_inputs(args), _job_outputs(args)
        self.job = streamanalytics.StreamingJob(
            f"{name}-job",
            job_name=naming.check_name("stream analytics job", f"asa-{args.prefix}-{args.name_suffix}", JOB_NAME),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=streamanalytics.SkuArgs(name="Standard"),
            identity=streamanalytics.IdentityArgs(type="SystemAssigned"),
            compatibility_level="1.2",
            data_locale="en-US",
            events_out_of_order_policy="Adjust",
            # Stop rather than drop: a silently skipped event would be a gap no watermark shows.
            output_error_policy="Stop",
            transformation=streamanalytics.TransformationArgs(
                name="main", query=settings.query, streaming_units=settings.streaming_units
            ),
            inputs=inputs,
            outputs=outputs,
            # Setting a start mode starts the job as soon as it is created, from that point. Its
            # role assignments follow the job (they need its identity): if the first start races
            # them, drctl restarts the job with the same mode (verify in a drill).
            output_start_mode=settings.output_start_mode,
            output_start_time=settings.output_start_time,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=list(CREATE_TIME_FIELDS)),
        )
        principal = roles.principal_of(self.job)
        if args.event_hubs_namespace_id is not None:
            self._grant(name, args, "hub-read", args.event_hubs_namespace_id, roles.EVENT_HUBS_DATA_RECEIVER, principal)
        if args.lake_account_id is not None and args.lake_account_name is not None:
            self._grant(name, args, "lake-write", args.lake_account_id, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, principal)

        self.job_name: pulumi.Output[str] = self.job.name
        self.job_id: pulumi.Output[str] = self.job.id
        self.input_names = [INPUT_NAME] if inputs else []
        self.output_names = [OUTPUT_NAME] if outputs else []
        self.register_outputs(
            {"job_name": self.job_name, "job_id": self.job_id, "inputs": self.input_names, "outputs": self.output_names}
        )

    def _grant(
        self,
        name: str,
        args: StreamAnalyticsArgs,
        purpose: str,
        scope: pulumi.Input[str],
        role: str,
        principal: pulumi.Output[Any],
    ) -> authorization.RoleAssignment:
        return roles.grant(
            f"{name}-{purpose}",
            seed=f"dataplatform/{args.prefix}/{args.name_suffix}/asa/{purpose}",
            scope=scope,
            subscription_id=args.subscription_id,
            role=role,
            principal_id=principal,
            # Same name for a replaced job's new identity: the old assignment must go first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )


def deploy(context: Platform, settings: StreamAnalyticsSettings) -> dict[str, Any]:
    job = StreamAnalyticsJob(
        "stream_analytics",
        StreamAnalyticsArgs.from_context(
            context,
            subscription_id=context.subscription_id,
            settings=settings,
            event_hubs_namespace_id=context.event_hubs_namespace_id,
            lake_account_id=context.lake_account_id,
            lake_account_name=context.lake_account_name,
        ),
    )
    return {
        "streamAnalyticsJobName": job.job_name,
        "streamAnalyticsInputs": job.input_names,
        "streamAnalyticsOutputs": job.output_names,
        "streamAnalyticsOutputStartMode": settings.output_start_mode,
    }


def posture(config: StackFacts, settings: StreamAnalyticsSettings | None) -> tuple[Posture, ...]:
    if settings is None:
        return (Posture(sku="none", uplift_enabled=(None,)),)
    # Whether the paired region runs the identical job is the paired stack's config, not this one's.
    return (Posture(sku=f"Standard ({settings.streaming_units} SU)", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="streamAnalytics",
    settings=StreamAnalyticsSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={
        "query": f"SELECT * INTO [{OUTPUT_NAME}] FROM [{INPUT_NAME}]",
        "streamingUnits": 3,
        "inputHub": "telemetry",
        "outputContainer": "enriched",
        "outputStartMode": "JobStartTime",
    },
    physical_names={"azure-native:streamanalytics:StreamingJob": "jobName"},
)
