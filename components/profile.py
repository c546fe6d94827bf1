"""The DR profile declared beside every component: how it is recovered, checked and timed.

drctl's plan, the posture and coverage reports, the runbook and the smoke tests all read these
profiles; nothing keeps a second list of components.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from smoke_tests.check import Check, CheckKind


class Responsibility(StrEnum):
    MICROSOFT = "Microsoft"
    CUSTOMER = "Customer"
    SHARED = "Customer and Microsoft"


class RecoveryAction(StrEnum):
    REDEPLOY = "redeploy"
    REDEPLOY_REHYDRATE = "redeploy + rehydrate"
    GEO_RESTORE = "geo-restore"
    SERVICE_FAILOVER = "service-managed failover"
    SAAS = "SaaS: nothing to deploy"


@dataclass(frozen=True)
class Dependency:
    """Recovery order as data: `component` must be deployed first, for the reason given.

    `needs_data`: this component's own data steps read the other's data (Data Explorer re-ingests
    from the lake), so they also wait until that component's data is back and caught up."""

    component: str
    why: str
    needs_data: bool = False


@dataclass(frozen=True)
class SeedFacts:
    """One row of the seed tables (../shared/seeds): what Contoso selected and how to uplift it."""

    service: str
    component_responsibility: Responsibility
    workload_responsibility: Responsibility
    sku_selected: str
    uplift_options: tuple[str, ...]
    # The seed's own heading for this service (stateful or stateless), where it differs from the
    # profile's: drctl's recovery model groups services (the foundation holds Key Vault) or restores
    # what the seed rebuilds (Synapse pools). None: the profile's `stateful` is the seed's too.
    stateful: bool | None = None

    def seed_stateful(self, profile_stateful: bool) -> bool:
        return profile_stateful if self.stateful is None else self.stateful


@dataclass(frozen=True)
class Estimates:
    """Expected duration of each recovery phase in seconds, before contingency."""

    deploy: int
    rehydrate: int = 0
    validate: int = 0
    replay: int = 0
    smoke: int = 60


@dataclass(frozen=True)
class DataRecovery:
    """Where a stateful store's data comes back from after the disaster, and how it catches up.

    `drctl coverage` reports a stateful store without one (or with either text empty) as a gap.
    `source`: the backup or redundant copy recovery reads (a geo-redundant copy, a geo-backup, the
    replica a service fails over to) or, for a store redeployed empty, the upstream system its data
    is rebuilt from. `replay`: how the delta written after the source's point in time comes back.
    `source_uplifts`: when the stack file decides whether that source exists at all (the lake's
    GRS, a server's geo-redundant backup), the (seed row, uplift option) indexes of the seed
    uplifts that provide it: where the primary's posture can tell, at least one must be on.
    """

    source: str
    replay: str
    source_uplifts: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class DRProfile:
    key: str  # stable component key, used in step ids ("lake" -> "lake.deploy")
    title: str
    stateful: bool
    recovery_action: RecoveryAction
    # The smoke and data checks that prove it recovered (smoke_tests/<stem>.py).
    checks: tuple[Check, ...]
    depends_on: tuple[Dependency, ...]
    priority: int  # lower recovers first when steps compete for workers
    estimates: Estimates
    seed: tuple[SeedFacts, ...]
    notes: tuple[str, ...] = field(default=())
    # Stateful stores: their backup or redundancy source and replay path (None: not declared).
    data_recovery: DataRecovery | None = None

    def __post_init__(self) -> None:
        strays = [check.name for check in self.checks if check.component != self.key]
        if strays:
            raise ValueError(f"{self.key}: checks of another component in its profile: {', '.join(strays)}")

    @property
    def smoke_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.kind == CheckKind.SMOKE)

    @property
    def data_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.kind == CheckKind.DATA)

    @property
    def rehydrates(self) -> bool:
        return self.stateful and self.recovery_action in (
            RecoveryAction.REDEPLOY_REHYDRATE,
            RecoveryAction.GEO_RESTORE,
        )
