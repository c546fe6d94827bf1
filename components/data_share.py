"""Azure Data Share: the provider account in the stack's region.

Shares, datasets and invitations are the workload's (they name the consumers and the data), so only
the account is declared here. The secondary stack has its own account: after a redeploy the shares
are recreated and every consumer must accept a new invitation, which is a person's step on their side
(https://learn.microsoft.com/azure/data-share/disaster-recovery).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import datashare

from components import naming
from components.placement import Placement
from components.profile import (
    DataRecovery,
    Dependency,
    DRProfile,
    Estimates,
    RecoveryAction,
    Responsibility,
    SeedFacts,
)
from components.spec import Platform, Posture, ServiceSettings, ServiceSpec, StackFacts
from smoke_tests.data_share import CHECKS

TYPE_TOKEN = "dataplatform:sharing:DataShare"

# Conservative rule: letters and digits only, which every Data Share account name accepts.
DATA_SHARE_NAME = naming.NameRule(3, 90, r"[A-Za-z0-9]+", "letters and digits only")

PROFILE = DRProfile(
    key="data_share",
    title="Azure Data Share account",
    # The seeds list Data Share with the stateful services: shares, invitations and snapshot
    # schedules are configuration the account remembers (the data stays in the stores).
    stateful=True,
    recovery_action=RecoveryAction.REDEPLOY,
    checks=CHECKS,
    data_recovery=DataRecovery(
        source="share definitions from code; the shared data stays in its source stores (the lake)",
        replay="snapshot syncs re-run once the shares are recreated",
    ),
    depends_on=(
        Dependency("foundation", "the account lives in the data resource group"),
        Dependency("lake", "shares publish the lake's containers as datasets"),
    ),
    priority=5,
    # An account with no shares is a metadata object: a minute or two. Replay is re-running the
    # snapshot syncs once the shares are recreated.
    estimates=Estimates(deploy=120, replay=900, smoke=60),
    seed=(
        SeedFacts(
            service="Azure Data Share",
            component_responsibility=Responsibility.MICROSOFT,
            workload_responsibility=Responsibility.MICROSOFT,
            sku_selected="N/A",
            uplift_options=("HA deployment into a secondary region",),
        ),
    ),
    notes=(
        "After a redeploy the shares are recreated and every consumer must accept a new invitation: "
        "consumers are told as part of the handover.",
        "Snapshot schedules restart from the next trigger; the data check reads the latest sync status.",
    ),
)


class DataShareSettings(ServiceSettings):
    """No knobs: the account has no SKU or redundancy setting; shares are the workload's."""


def account_name(prefix: str, suffix: str) -> str:
    return naming.check_name("data share account", f"{prefix}share{suffix}", DATA_SHARE_NAME)


class DataShareAccount(pulumi.ComponentResource):
    def __init__(self, name: str, args: Placement, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.account = datashare.Account(
            f"{name}-account",
            account_name=account_name(args.prefix, args.name_suffix),
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Required by the API: snapshot copies authenticate to source and target stores as this
            # identity, so no storage keys or SQL passwords change hands.
            identity=datashare.IdentityArgs(type=datashare.Type.SYSTEM_ASSIGNED),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.account_name: pulumi.Output[str] = self.account.name
        self.account_id: pulumi.Output[str] = self.account.id
        self.register_outputs({"account_name": self.account_name, "account_id": self.account_id})


def deploy(context: Platform, settings: DataShareSettings) -> dict[str, Any]:
    account = DataShareAccount(
        "data-share",
        Placement.from_context(context),
    )
    return {"dataShareAccountName": account.account_name, "dataShareAccountId": account.account_id}


def posture(config: StackFacts, settings: DataShareSettings | None) -> tuple[Posture, ...]:
    # Whether an account with the same shares runs in the other region is the paired stack's
    # config and the consumers' acceptance, neither visible from this stack: unknown.
    return (Posture(sku="N/A" if settings is not None else "none", uplift_enabled=(None,)),)


SERVICE = ServiceSpec(
    type_token=TYPE_TOKEN,
    key="dataShare",
    settings=DataShareSettings,
    profile=PROFILE,
    deploy=deploy,
    posture=posture,
    example={},
    physical_names={"azure-native:datashare:Account": "accountName"},
)
