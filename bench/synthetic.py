"""Synthetic recovery plans shaped like the reference stack, of any size, from a seed.

The plans come out of drctl's own plan builder (orchestrator/plan/recovery.py build_plan) from synthetic
DR profiles, so they have the reference stack's structure: SaaS readiness checks first, a
foundation, then networking, then components of every recovery kind (stateless: deploy, smoke;
redeployed stateful: deploy, replay, smoke; service failover: deploy, validate, replay, smoke;
rehydrated: deploy, rehydrate, validate, replay, smoke), some waiting for another component's
deploy or for its data (as Data Explorer waits for the lake), then the gate and the handover.
Estimates are drawn from the values the reference stack's profiles use.
"""

from __future__ import annotations

import random

from components.profile import Dependency, DRProfile, Estimates, RecoveryAction
from orchestrator.model import Plan
from orchestrator.plan.recovery import build_plan
from smoke_tests.check import data, smoke

# Seconds, as the reference stack's profiles estimate their phases.
DEPLOY_S = (30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2400, 2700, 3600)
REHYDRATE_S = (0, 600, 1800, 3600)
VALIDATE_S = (120, 300, 600)
REPLAY_S = (60, 300, 600, 900, 1800)
SMOKE_S = (30, 60, 120, 180, 300)
PLATFORM_STEPS = 2  # the gate and the handover
# steps per component kind: SaaS check 1, stateless 2, redeployed stateful 3, failover 4, rehydrated 5
KINDS = {1: "saas", 2: "stateless", 3: "redeploy", 4: "failover", 5: "rehydrate"}
WEIGHTS = {"saas": 15, "stateless": 40, "redeploy": 15, "failover": 12, "rehydrate": 18}


def _profile(key: str, kind: str, rng: random.Random, depends_on: tuple[Dependency, ...]) -> DRProfile:
    stateful = kind in ("redeploy", "failover", "rehydrate")
    action = {"saas": RecoveryAction.SAAS, "stateless": RecoveryAction.REDEPLOY, "redeploy": RecoveryAction.REDEPLOY,
              "failover": RecoveryAction.SERVICE_FAILOVER, "rehydrate": RecoveryAction.REDEPLOY_REHYDRATE}[kind]
    estimates = Estimates(deploy=rng.choice(DEPLOY_S), rehydrate=rng.choice(REHYDRATE_S),
                          validate=rng.choice(VALIDATE_S), replay=rng.choice(REPLAY_S), smoke=rng.choice(SMOKE_S))
    return DRProfile(key=key, title=key, stateful=stateful, recovery_action=action,
                     checks=(smoke(key, "synthetic"),) + ((data(key, "synthetic"),) if stateful else ()),
                     depends_on=depends_on, priority=rng.randint(1, 9), estimates=estimates, seed=())


def synthetic_profiles(steps: int, seed: int = 8, components: int | None = None) -> list[DRProfile]:
    """Profiles whose plan has exactly `steps` steps (at least 7); or, given `components`, that
    many profiles whatever their steps."""
    if components is not None:
        steps = components * 5 + 7  # never the limit: the count of profiles is
    if steps < 7:
        raise ValueError("a synthetic plan needs at least 7 steps")
    rng = random.Random(seed)
    foundation = Dependency("foundation", "everything deploys into its resource groups")
    network = Dependency("connectivity", "private endpoints need the hub")
    profiles = [
        _profile("entra", "saas", rng, ()),
        _profile("foundation", "stateless", rng, (Dependency("entra", "sign-in"),)),
        _profile("connectivity", "stateless", rng, (foundation,)),
    ]
    deployed, stores = ["foundation", "connectivity"], []
    left = steps - PLATFORM_STEPS - 5
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while left > 0 and (components is None or len(profiles) < components):
        kind = rng.choices(kinds, weights)[0]
        size = next(size for size, name in KINDS.items() if name == kind)
        if size > left:
            kind, size = KINDS[left], left
        key = f"c{len(profiles):05d}_{kind}"
        if kind == "saas":
            deps: tuple[Dependency, ...] = (Dependency("entra", "sign-in"),)
        else:
            deps = (foundation,) + ((network,) if rng.random() < 0.7 else ())
            if rng.random() < 0.1:
                deps += (Dependency(rng.choice(deployed), "deploys next to it"),)
            if kind == "rehydrate" and stores and rng.random() < 0.15:
                deps += (Dependency(rng.choice(stores), "rebuilt from its data", needs_data=True),)
            deployed.append(key)
            if kind == "rehydrate":
                stores.append(key)
        profiles.append(_profile(key, kind, rng, tuple({d.component: d for d in deps}.values())))
        left -= size
    return profiles


def synthetic_plan(steps: int, seed: int = 8, *, gate_estimate_s: float = 300, rto_target_s: float = 4 * 3600) -> Plan:
    plan = build_plan(f"synthetic-{steps}", synthetic_profiles(steps, seed), rto_target_s=rto_target_s,
                      rpo_target_s=900, gate_estimate_s=gate_estimate_s, handover_estimate_s=60)
    if len(plan.steps) != steps:  # the generator's arithmetic and build_plan's chains must agree
        raise AssertionError(f"asked for {steps} steps, built {len(plan.steps)}")
    return plan


def synthetic_components(components: int, seed: int = 10) -> list[DRProfile]:
    """`components` profiles (for planning at scale rather than running)."""
    return synthetic_profiles(0, seed, components=max(3, components))
