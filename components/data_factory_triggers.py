"""Data Factory's ingestion schedule: the trigger that runs `ingest_events` every hour.

ARM creates every trigger Stopped (`runtimeState` is read-only; starting is a POST action), so
the trigger is deployed stopped in both stacks. In the secondary that is what DR wants: it must
not ingest before the platform is handed over. drctl starts it after the handover
(orchestrator/targets/azure/stores/factory_triggers.py, from the handover step); the primary's
is started once when the platform goes live. A started trigger cannot be updated: stop it before
a `pulumi up` that changes it.
https://learn.microsoft.com/azure/data-factory/how-to-create-schedule-trigger

The pipeline copies event-time partitions (pipelines/ingest_events.json): each run takes the
window [scheduled time - INGEST_LOOKBACK_HOURS, scheduled time), so an hour is copied twice and a
file that lands up to an hour late is still ingested. Copying an hour again overwrites the same
blob names, so the overlap duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi
from pulumi_azure_native import datafactory

from components.data_factory_pipelines import Definition, PipelineDefinitionError

INGEST_PIPELINE = "ingest_events"
INGEST_TRIGGER = "ingest_events_hourly"
# The pipeline's parameters: the event-time window whose hourly partitions it copies.
WINDOW_START, WINDOW_END = "windowStart", "windowEnd"
# How far back each scheduled run reaches; the replay reaches as far back behind its watermark,
# because the hours that close that window may not have been ingested for the last time yet.
INGEST_LOOKBACK_HOURS = 2
# A schedule trigger never backfills: a start in the past only sets the hourly grid on :00 UTC.
_GRID_START = "2024-01-01T00:00:00Z"


def ingest_trigger(name: str, factory: datafactory.Factory, resource_group_name: pulumi.Input[str],
                   pipelines: dict[str, datafactory.Pipeline], definitions: Iterable[Definition],
                   parent: pulumi.Resource) -> datafactory.Trigger | None:
    """The hourly trigger of the ingestion pipeline, when the repository has that pipeline."""
    definition = next((d for d in definitions if d.name == INGEST_PIPELINE), None)
    if definition is None:
        return None
    declared = set(definition.properties.get("parameters") or {})
    missing = {WINDOW_START, WINDOW_END} - declared
    if missing:
        raise PipelineDefinitionError(f"{definition.path}: the ingestion trigger passes {WINDOW_START} and "
                                      f"{WINDOW_END}; the pipeline does not declare {', '.join(sorted(missing))}")
    return datafactory.Trigger(
        f"{name}-trigger-{INGEST_TRIGGER}",
        trigger_name=INGEST_TRIGGER,
        factory_name=factory.name,
        resource_group_name=resource_group_name,
        properties=datafactory.ScheduleTriggerArgs(
            type="ScheduleTrigger",
            description=f"Runs {INGEST_PIPELINE} every hour over the last {INGEST_LOOKBACK_HOURS} hours of event "
                        "time. Deployed stopped; drctl starts it after a failover's handover.",
            recurrence=datafactory.ScheduleTriggerRecurrenceArgs(frequency="Hour", interval=1, start_time=_GRID_START,
                                                                 time_zone="UTC"),
            pipelines=[datafactory.TriggerPipelineReferenceArgs(
                pipeline_reference=datafactory.PipelineReferenceArgs(reference_name=INGEST_PIPELINE,
                                                                     type="PipelineReference"),
                parameters={WINDOW_START: f"@addHours(trigger().scheduledTime, -{INGEST_LOOKBACK_HOURS})",
                            WINDOW_END: "@trigger().scheduledTime"},
            )],
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[pipelines[INGEST_PIPELINE]]),
    )
