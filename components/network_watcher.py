"""Network Watcher: the region's watcher is Azure's, not ours. Find it, or adopt it; never create it.

Azure creates `NetworkWatcher_<region>` in the resource group `NetworkWatcherRG` when the first
virtual network of a subscription appears in a region, and allows one watcher per region per
subscription: a second create fails. https://learn.microsoft.com/azure/network-watcher/network-watcher-create

Three ways to refer to it, by setting:
- default: the id is derived from Azure's naming convention. Nothing is declared or asked, so it
  works offline and under `drctl preview`; if the watcher is missing (auto-creation opted out),
  nothing notices until something uses the id.
- `lookup: true`: a `getNetworkWatcher` invoke reads it during preview, so a missing watcher fails
  the deployment early. drctl's preview mocks answer no such invoke today (orchestrator/program/capture.py
  raises for unknown invokes), hence off by default; an answer without an id falls back to the
  derived one.
- `adopt: true`: import it (`ResourceOptions(import_=<id>)`) so the stack tracks it and can hang
  settings off it. Trade-offs: the import runs at create time and fails if the watcher does not exist
  yet (the first `pulumi up` of a brand-new region creates the VNet in the same run, so adopt on a
  later run); the declared inputs must match Azure's (name, group, location, no tags) or the import
  fails; and `retain_on_delete` is set so destroying a stack never deletes the subscription's watcher,
  which every VNet of the region shares. An import id is a plain string, so the stack file must set
  `azure-native:subscriptionId` (the program's own subscription id only arrives as an Output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import network

from components import naming
from components.errors import ConfigError
from components.profile import Dependency, DRProfile, Estimates, RecoveryAction, Responsibility, SeedFacts
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.network_watcher import CHECKS

TYPE_TOKEN = "dataplatform:connectivity:NetworkWatcher"

PROFILE = DRProfile(
    key="network_watcher",
    title="Network Watcher (the region's Azure-created watcher)",
    stateful=False,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    depends_on=(Dependency("connectivity", "Azure creates the region's watcher with its first VNet"),),
    priority=2,
    # Nothing to provision: a read (or an import) of an existing resource takes seconds.
    estimates=Estimates(deploy=30, smoke=30),
    seed=(
        SeedFacts(
            service="Network Watcher",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="N/A",
            uplift_options=("N/A, covered as part of the Azure service",),
        ),
    ),
    notes=(
        "NetworkWatcherRG sits in the region of the subscription's first VNet: if that is the primary "
        "region, the secondary's watcher cannot be changed during a primary outage (its resource "
        "group's metadata is unavailable), though it keeps working.",
    ),
)

WATCHER_GROUP = naming.NETWORK_WATCHER_GROUP


class NetworkWatcherSettings(ServiceSettings):
    adopt: bool = False
    lookup: bool = False


watcher_name = naming.network_watcher_name
watcher_id = naming.network_watcher_id


@dataclass(frozen=True)
class NetworkWatcherArgs:
    location: str
    subscription_id: pulumi.Input[str]
    settings: NetworkWatcherSettings


class NetworkWatcher(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkWatcherArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        location, settings = args.location, args.settings
        derived = pulumi.Output.from_input(args.subscription_id).apply(lambda sub: watcher_id(sub, location))
        self.watcher_id: pulumi.Output[str] = derived
        self.watcher: network.NetworkWatcher | None = None

        if settings.lookup:
            found = network.get_network_watcher_output(
                network_watcher_name=watcher_name(location),
                resource_group_name=WATCHER_GROUP,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            # An answer without an id (a mock, a partial response) keeps the derived id.
            self.watcher_id = pulumi.Output.all(found, derived).apply(lambda pair: pair[0].id or pair[1])

        if settings.adopt:
            assert isinstance(args.subscription_id, str), "deploy() checks the import id can be built"
            self.watcher = network.NetworkWatcher(
                f"{name}-watcher",
                network_watcher_name=watcher_name(location),
                resource_group_name=WATCHER_GROUP,
                location=location,
                opts=pulumi.ResourceOptions(
                    parent=self, import_=watcher_id(args.subscription_id, location), retain_on_delete=True
                ),
            )
            self.watcher_id = self.watcher.id

        self.register_outputs({"watcher_id": self.watcher_id, "adopted": settings.adopt})


def _known_subscription(context: Platform) -> pulumi.Input[str]:
    """The subscription id as a plain string when it can be had without waiting: an import id
    cannot be an Output. The program's context holds an Output (from getClientConfig); the
    provider's own `azure-native:subscriptionId` setting, when the stack file has it, is plain."""
    if isinstance(context.subscription_id, str):
        return context.subscription_id
    return pulumi.Config("azure-native").get("subscriptionId") or context.subscription_id


def deploy(context: Platform, settings: NetworkWatcherSettings) -> dict[str, Any]:
    subscription = _known_subscription(context)
    if settings.adopt and not isinstance(subscription, str):
        raise ConfigError(
            context.config.source,
            "azure-native:subscriptionId",
            "required by networkWatcher.adopt: the import id must be known before the program runs",
        )
    watcher = NetworkWatcher(
        "network-watcher", NetworkWatcherArgs(location=context.region, subscription_id=subscription, settings=settings)
    )
    return {"networkWatcherId": watcher.watcher_id, "networkWatcherAdopted": settings.adopt}


def posture(config: StackFacts, settings: NetworkWatcherSettings | None) -> tuple[Posture, ...]:
    # Nothing to choose: the watcher is part of the platform Azure runs.
    return (Posture(sku="N/A" if settings else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="networkWatcher",
    settings=NetworkWatcherSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={"adopt": True, "lookup": False},
    physical_names={"azure-native:network:NetworkWatcher": "networkWatcherName"},
)
