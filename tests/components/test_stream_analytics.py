"""streamAnalytics: the job, its managed-identity access to the hub and the lake, and its restart point."""

from __future__ import annotations

import dataclasses

import pytest
from pulumi_mocks import Deployment, deploy
from service_harness import config_with, context_for, run_service, spec

from components.profile import RecoveryAction
from stacks.config import ConfigError

KEY = "streamAnalytics"
JOB = "azure-native:streamanalytics:StreamingJob"
ROLE = "azure-native:authorization:RoleAssignment"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
NAMESPACE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/evh"
LAKE_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/lake"
WATERMARK = "2030-01-02T03:00:00Z"


def test_job_is_standard_with_identity_query_and_streaming_units():
    run, outputs = run_service(KEY, "primary")
    job = run.one(JOB)
    assert job.inputs["jobName"] == "asa-contoso-aue"
    assert job.inputs["sku"] == {"name": "Standard"}
    assert job.inputs["identity"] == {"type": "SystemAssigned"}
    assert job.inputs["transformation"] == {
        "name": "main", "query": "SELECT * INTO [lake] FROM [events]", "streamingUnits": 3,
    }
    assert job.inputs["outputErrorPolicy"] == "Stop"
    assert outputs["streamAnalyticsInputs"] == ["events"] and outputs["streamAnalyticsOutputs"] == ["lake"]


def test_input_and_output_authenticate_with_the_managed_identity():
    run, _ = run_service(KEY, "primary")
    job = run.one(JOB)
    (source,) = job.inputs["inputs"]
    assert source["properties"]["datasource"] == {
        "type": "Microsoft.EventHub/EventHub",
        "serviceBusNamespace": "evh",
        "eventHubName": "telemetry",
        "consumerGroupName": "$Default",
        "authenticationMode": "Msi",
    }
    (sink,) = job.inputs["outputs"]
    assert sink["datasource"]["authenticationMode"] == "Msi"
    assert sink["datasource"]["storageAccounts"] == [{"accountName": "contosolakeaue"}]
    assert sink["datasource"]["container"] == "enriched"
    assert "accountKey" not in sink["datasource"]["storageAccounts"][0]


def test_identity_is_granted_receive_on_the_hub_and_write_on_the_lake():
    run, _ = run_service(KEY, "primary")
    roles = {r.inputs["scope"]: r.inputs for r in run.of_type(ROLE)}
    assert set(roles) == {NAMESPACE_ID, LAKE_ID}
    prefix = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    assert roles[NAMESPACE_ID]["roleDefinitionId"] == prefix + "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
    assert roles[LAKE_ID]["roleDefinitionId"] == prefix + "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert all(r["principalType"] == "ServicePrincipal" for r in roles.values())


def test_role_assignment_names_are_stable_per_stack_and_differ_between_stacks():
    names = {}
    for stack in ("primary", "secondary"):
        first = sorted(r.inputs["roleAssignmentName"] for r in run_service(KEY, stack)[0].of_type(ROLE))
        again = sorted(r.inputs["roleAssignmentName"] for r in run_service(KEY, stack)[0].of_type(ROLE))
        assert first == again
        names[stack] = set(first)
    assert not names["primary"] & names["secondary"]


def test_the_start_point_is_a_create_time_field():
    run, outputs = run_service(KEY, "primary")
    job = run.one(JOB)
    assert job.inputs["outputStartMode"] == "JobStartTime" and "outputStartTime" not in job.inputs
    assert {"outputStartMode", "outputStartTime"} <= set(job.ignore_changes)
    assert outputs["streamAnalyticsOutputStartMode"] == "JobStartTime"


def test_secondary_restarts_the_output_from_the_replay_watermark():
    settings = {**spec(KEY).example, "outputStartMode": "CustomTime", "outputStartTime": WATERMARK}
    run, _ = run_service(KEY, "secondary", settings)
    job = run.one(JOB)
    assert job.inputs["outputStartMode"] == "CustomTime"
    assert job.inputs["outputStartTime"] == WATERMARK
    assert job.inputs["location"] == "australiasoutheast"


def test_without_hub_or_lake_the_job_has_no_inputs_outputs_or_grants():
    config = config_with("primary", KEY)
    context = dataclasses.replace(
        context_for(config), event_hubs_namespace_id=None, lake_account_id=None, lake_account_name=None
    )
    exported: dict = {}
    run: Deployment = deploy(lambda: exported.update(spec(KEY).deploy(context, config.optional_services[KEY])))
    job = run.one(JOB)
    assert not job.inputs.get("inputs") and not job.inputs.get("outputs")
    assert run.of_type(ROLE) == []
    assert exported["streamAnalyticsInputs"] == []


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"streamingUnits": 3}, "query"),  # the query is required
        ({"query": "SELECT 1", "streamingUnits": 4}, "streamingUnits"),
        ({"query": "SELECT 1", "outputStartMode": "CustomTime"}, "outputStartTime"),
        ({"query": "SELECT 1", "outputStartMode": "LastOutputEventTime"}, "outputStartMode"),
        ({"query": "SELECT 1", "outputStartTime": "yesterday"}, "outputStartTime"),
        ({"query": "SELECT 1", "outputContainer": "scratch"}, "outputContainer"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, field):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == f"dataplatform:{KEY}.{field}"


def test_posture_and_profile():
    config = config_with("primary", KEY, {**spec(KEY).example, "streamingUnits": 6})
    (row,) = spec(KEY).posture(config, config.optional_services[KEY])
    assert row.sku == "Standard (6 SU)" and row.uplift_enabled == (None,)
    profile = spec(KEY).profile
    assert profile.recovery_action is RecoveryAction.REDEPLOY and not profile.stateful
    assert {d.component for d in profile.depends_on} >= {"event_hubs", "lake"}
