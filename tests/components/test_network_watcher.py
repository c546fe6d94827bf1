"""Network Watcher service: never creates the region's watcher; derives, looks up or adopts it."""

from __future__ import annotations

from dataclasses import replace

import pulumi
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from service_harness import config_with, resolved_outputs, run_service, spec

from components.spec import ClientConfig
from orchestrator.program.capture import AzureMocks
from stacks.config import ConfigError

KEY = "networkWatcher"
WATCHER = "azure-native:network:NetworkWatcher"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
INVOKE = "azure-native:network:getNetworkWatcher"


def expected_id(region: str, subscription: str = SUBSCRIPTION) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/NetworkWatcherRG"
        f"/providers/Microsoft.Network/networkWatchers/NetworkWatcher_{region}"
    )


class WatcherMocks(AzureMocks):
    """drctl's mocks, plus an answer for the watcher lookup, and a record of import ids."""

    def __init__(self, answer: dict | None = None) -> None:
        super().__init__()
        self.answer = answer
        self.lookups: list[dict] = []
        self.imports: dict[str, str] = {}

    def new_resource(self, args: MockResourceArgs):
        if args.resource_id:
            self.imports[args.typ] = args.resource_id
        return super().new_resource(args)

    def call(self, args: MockCallArgs):
        if args.token == INVOKE and self.answer is not None:
            self.lookups.append(dict(args.args))
            return self.answer
        return super().call(args)


def resolved(settings: dict, stack: str = "primary", mocks=None, output_subscription: bool = False, config=None):
    """Deploy under `mocks` and return the resolved stack outputs."""
    def subscription_as_output(context):  # as in the real program, where it comes from getClientConfig
        client = ClientConfig(tenant_id=context.tenant_id, subscription_id=pulumi.Output.from_input(SUBSCRIPTION))
        return replace(context, client=client)

    return resolved_outputs(KEY, stack, settings, mocks=mocks, config=config,
                            adapt_context=subscription_as_output if output_subscription else None)


@pytest.mark.parametrize("stack, region", [("primary", "australiaeast"), ("secondary", "australiasoutheast")])
def test_default_declares_nothing_and_derives_the_azure_created_id(stack, region):
    run, _ = run_service(KEY, stack, settings={})
    assert run.resources == []  # a second watcher in a region fails: never create one
    assert resolved({}, stack)["networkWatcherId"] == expected_id(region)


def test_adopt_imports_the_existing_watcher_and_keeps_it_on_destroy():
    mocks = WatcherMocks()
    outputs = resolved({"adopt": True}, "secondary", mocks=mocks)
    assert mocks.imports == {WATCHER: expected_id("australiasoutheast")}
    assert outputs["networkWatcherAdopted"] is True
    run, _ = run_service(KEY, "secondary", settings={"adopt": True})
    watcher = run.one(WATCHER).inputs
    # An import must match what Azure created, to the letter.
    assert watcher == {
        "networkWatcherName": "NetworkWatcher_australiasoutheast",
        "resourceGroupName": "NetworkWatcherRG",
        "location": "australiasoutheast",
    }


def test_adopt_needs_a_subscription_id_known_before_the_program_runs():
    with pytest.raises(ConfigError) as raised:
        resolved({"adopt": True}, output_subscription=True)
    assert raised.value.key == "azure-native:subscriptionId"
    other = "11111111-1111-1111-1111-111111111111"
    mocks = WatcherMocks()
    resolved({"adopt": True}, mocks=mocks, output_subscription=True, config={"azure-native:subscriptionId": other})
    assert mocks.imports[WATCHER] == expected_id("australiaeast", other)


def test_lookup_reads_the_watcher_and_falls_back_to_the_derived_id():
    found = "/subscriptions/s/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_australiaeast"
    mocks = WatcherMocks(answer={"id": found, "name": "NetworkWatcher_australiaeast"})
    assert resolved({"lookup": True}, mocks=mocks)["networkWatcherId"] == found
    assert mocks.lookups == [{"networkWatcherName": "NetworkWatcher_australiaeast", "resourceGroupName": "NetworkWatcherRG"}]
    # An answer without an id (as a bare mock gives) keeps the derived id.
    assert resolved({"lookup": True}, mocks=WatcherMocks(answer={}))["networkWatcherId"] == expected_id("australiaeast")


def test_lookup_is_off_by_default_because_drctl_preview_has_no_answer_for_it():
    # drctl's mocks refuse unknown invokes (asked directly: a failed invoke inside a mock run
    # leaves Pulumi tasks behind that break the next run).
    with pytest.raises(NotImplementedError, match=INVOKE):
        AzureMocks().call(MockCallArgs(INVOKE, {}, None))
    mocks = WatcherMocks(answer={"id": "/unused"})
    resolved(spec(KEY).example, mocks=mocks)
    assert spec(KEY).example["lookup"] is False and mocks.lookups == []


def test_invalid_settings_are_refused_naming_the_key():
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, {"adopt": "sometimes"})
    assert raised.value.key == "dataplatform:networkWatcher.adopt"


def test_profile_and_posture_follow_the_seed_row():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "Network Watcher"
    assert str(seed.component_responsibility) == str(seed.workload_responsibility) == "Microsoft"
    config = config_with("primary", KEY, {})
    assert spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled == (None,)
